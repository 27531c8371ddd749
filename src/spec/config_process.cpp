// Decoding of the "process" section.
#include <sys/resource.h>

#include <set>

#include "spec/config_decode.h"

namespace nsbox::spec {

namespace {

struct RlimitName {
  const char* name;
  int resource;
};

constexpr RlimitName kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

using CapList = std::vector<std::string> Capabilities::*;
constexpr std::pair<const char*, CapList> kCapSets[] = {
    {"bounding", &Capabilities::bounding},       {"effective", &Capabilities::effective},
    {"inheritable", &Capabilities::inheritable}, {"permitted", &Capabilities::permitted},
    {"ambient", &Capabilities::ambient},
};

// Set in the schema, but nsbox cannot apply them yet.
constexpr const char* kUnsupportedProcessFields[] = {"execCPUAffinity"};

}  // namespace

int rlimit_from_name(const std::string& name) {
  for (const auto& r : kRlimits) {
    if (name == r.name) return r.resource;
  }
  return -1;
}

Status decode(const json& v, const std::string& path, Rlimit* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "type", path, &out->type));
  out->resource = rlimit_from_name(out->type);
  if (out->resource < 0) {
    return path_error(field_path(path, "type"), "unknown rlimit " + quote(out->type));
  }
  NSBOX_TRY(get_required(v, "soft", path, &out->soft));
  NSBOX_TRY(get_required(v, "hard", path, &out->hard));
  if (out->soft > out->hard) return path_error(path, "soft limit exceeds hard limit");
  return {};
}

Status decode(const json& v, const std::string& path, Capabilities* out) {
  NSBOX_TRY(expect_object(v, path));
  for (const auto& [key, member] : kCapSets) NSBOX_TRY(get(v, key, path, &(out->*member)));
  return {};
}

Status decode(const json& v, const std::string& path, User* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get(v, "uid", path, &out->uid));
  NSBOX_TRY(get(v, "gid", path, &out->gid));
  NSBOX_TRY(get(v, "umask", path, &out->umask));
  NSBOX_TRY(get(v, "additionalGids", path, &out->additional_gids));
  std::string username;  // accepted, but ids are never derived from it
  return get(v, "username", path, &username);
}

Status decode(const json& v, const std::string& path, ConsoleSize* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "height", path, &out->height));
  return get_required(v, "width", path, &out->width);
}

namespace {

Status check_rlimits_unique(const std::vector<Rlimit>& rlimits, const std::string& path) {
  std::set<int> seen;
  for (size_t i = 0; i < rlimits.size(); ++i) {
    if (!seen.insert(rlimits[i].resource).second) {
      return path_error(field_path(index_path(path, i), "type"),
                        "duplicate rlimit " + quote(rlimits[i].type));
    }
  }
  return {};
}

Status decode_command(const json& v, const std::string& path, Process* out) {
  NSBOX_TRY(get_required(v, "args", path, &out->args));
  if (out->args.empty()) return path_error(field_path(path, "args"), "must not be empty");
  NSBOX_TRY(get_required(v, "cwd", path, &out->cwd));
  NSBOX_TRY(expect_absolute(out->cwd, field_path(path, "cwd")));
  NSBOX_TRY(get(v, "env", path, &out->env));
  return get(v, "user", path, &out->user);
}

Status decode_terminal(const json& v, const std::string& path, Process* out) {
  NSBOX_TRY(get(v, "terminal", path, &out->terminal));
  return get(v, "consoleSize", path, &out->console_size);
}

Status decode_security(const json& v, const std::string& path, Process* out) {
  NSBOX_TRY(get(v, "capabilities", path, &out->capabilities));
  NSBOX_TRY(get(v, "noNewPrivileges", path, &out->no_new_privileges));
  NSBOX_TRY(get(v, "oomScoreAdj", path, &out->oom_score_adj));
  NSBOX_TRY(get(v, "apparmorProfile", path, &out->apparmor_profile));
  NSBOX_TRY(get(v, "selinuxLabel", path, &out->selinux_label));
  NSBOX_TRY(get(v, "ioPriority", path, &out->io_priority));
  return get(v, "scheduler", path, &out->scheduler);
}

}  // namespace

Status decode(const json& v, const std::string& path, Process* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path,
                   {"terminal", "consoleSize", "cwd", "env", "args", "commandLine", "rlimits",
                    "apparmorProfile", "capabilities", "noNewPrivileges", "oomScoreAdj",
                    "scheduler", "selinuxLabel", "ioPriority", "execCPUAffinity", "user"});
  NSBOX_TRY(decode_terminal(v, path, out));
  NSBOX_TRY(decode_command(v, path, out));
  NSBOX_TRY(get(v, "rlimits", path, &out->rlimits));
  NSBOX_TRY(check_rlimits_unique(out->rlimits, field_path(path, "rlimits")));
  NSBOX_TRY(decode_security(v, path, out));
  for (const char* key : kUnsupportedProcessFields) NSBOX_TRY(reject_if_set(v, key, path));
  return {};
}

}  // namespace nsbox::spec
