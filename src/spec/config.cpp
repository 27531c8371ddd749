#include "spec/config.h"

#include <sched.h>

#include <cctype>
#include <exception>
#include <string_view>

#include "common/util.h"
#include "spec/config_decode.h"

namespace nsbox::spec {

namespace {

constexpr int kCloneNewTime = 0x00000080;  // CLONE_NEWTIME; missing in older headers

struct NsInfo {
  NsType type;
  const char* oci_name;
  const char* proc_name;
  int clone_flag;
};

constexpr NsInfo kNamespaces[kNsTypeCount] = {
    {NsType::kMount, "mount", "mnt", CLONE_NEWNS},
    {NsType::kUts, "uts", "uts", CLONE_NEWUTS},
    {NsType::kIpc, "ipc", "ipc", CLONE_NEWIPC},
    {NsType::kPid, "pid", "pid", CLONE_NEWPID},
    {NsType::kNet, "network", "net", CLONE_NEWNET},
    {NsType::kUser, "user", "user", CLONE_NEWUSER},
    {NsType::kCgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
    {NsType::kTime, "time", "time", kCloneNewTime},
};

const NsInfo& ns_info(NsType t) { return kNamespaces[static_cast<int>(t)]; }

using HookList = std::vector<Hook> Hooks::*;
constexpr std::pair<const char*, HookList> kHookKinds[] = {
    {"prestart", &Hooks::prestart},
    {"createRuntime", &Hooks::create_runtime},
    {"createContainer", &Hooks::create_container},
    {"startContainer", &Hooks::start_container},
    {"poststart", &Hooks::poststart},
    {"poststop", &Hooks::poststop},
};

// "1.<minor>.<patch>" with an optional "-pre"/"+build" suffix.
bool supported_version(std::string_view v) {
  if (!starts_with(v, "1.")) return false;
  v.remove_prefix(2);
  for (int part = 0; part < 2; ++part) {
    size_t n = 0;
    while (n < v.size() && std::isdigit(static_cast<unsigned char>(v[n]))) ++n;
    if (n == 0) return false;
    v.remove_prefix(n);
    if (part == 0) {
      if (!starts_with(v, ".")) return false;
      v.remove_prefix(1);
    }
  }
  return v.empty() || v[0] == '-' || v[0] == '+';
}

}  // namespace

const char* ns_type_name(NsType t) { return ns_info(t).oci_name; }
const char* ns_proc_name(NsType t) { return ns_info(t).proc_name; }
int ns_clone_flag(NsType t) { return ns_info(t).clone_flag; }

std::optional<NsType> ns_type_from_name(const std::string& name) {
  for (const auto& ns : kNamespaces) {
    if (name == ns.oci_name) return ns.type;
  }
  return std::nullopt;
}

bool Linux::has_ns(NsType t) const { return find_ns(t) != nullptr; }

const Namespace* Linux::find_ns(NsType t) const {
  for (const auto& ns : namespaces) {
    if (ns.type == t) return &ns;
  }
  return nullptr;
}

Status decode(const json& v, const std::string& path, Root* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "path", path, &out->path));
  if (out->path.empty()) return path_error(field_path(path, "path"), "must not be empty");
  return get(v, "readonly", path, &out->readonly);
}

Status decode(const json& v, const std::string& path, Mount* out) {
  NSBOX_TRY(expect_object(v, path));
  // Relative destinations are accepted (runc resolves them against "/").
  NSBOX_TRY(get_required(v, "destination", path, &out->destination));
  if (out->destination.empty()) {
    return path_error(field_path(path, "destination"), "must not be empty");
  }
  NSBOX_TRY(get(v, "type", path, &out->type));
  NSBOX_TRY(get(v, "source", path, &out->source));
  NSBOX_TRY(get(v, "options", path, &out->options));
  NSBOX_TRY(reject_if_set(v, "uidMappings", path));
  return reject_if_set(v, "gidMappings", path);
}

Status decode(const json& v, const std::string& path, Hook* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "path", path, &out->path));
  NSBOX_TRY(expect_absolute(out->path, field_path(path, "path")));
  NSBOX_TRY(get(v, "args", path, &out->args));
  NSBOX_TRY(get(v, "env", path, &out->env));
  NSBOX_TRY(get(v, "timeout", path, &out->timeout));
  if (out->timeout && *out->timeout <= 0) {
    return path_error(field_path(path, "timeout"), "must be greater than zero");
  }
  return {};
}

Status decode(const json& v, const std::string& path, Hooks* out) {
  NSBOX_TRY(expect_object(v, path));
  for (const auto& [key, member] : kHookKinds) NSBOX_TRY(get(v, key, path, &(out->*member)));
  return {};
}

namespace {

Status decode_version(const json& doc, Config* cfg) {
  NSBOX_TRY(get_required(doc, "ociVersion", "", &cfg->oci_version));
  if (!supported_version(cfg->oci_version)) {
    return path_error("ociVersion", "unsupported version " + quote(cfg->oci_version));
  }
  return {};
}

Status decode_names(const json& doc, Config* cfg) {
  cfg->has_hostname = find_field(doc, "hostname") != nullptr;
  cfg->has_domainname = find_field(doc, "domainname") != nullptr;
  NSBOX_TRY(get(doc, "hostname", "", &cfg->hostname));
  return get(doc, "domainname", "", &cfg->domainname);
}

// Other platforms' sections ("windows", "solaris", "vm", ...) are ignored.
Status decode_config(const json& doc, Config* cfg) {
  if (!doc.is_object()) return make_error("config.json: expected a JSON object");
  log_unknown_keys(doc, "",
                   {"ociVersion", "root", "mounts", "process", "hostname", "domainname", "hooks",
                    "annotations", "linux", "solaris", "windows", "vm", "zos", "freebsd"});
  NSBOX_TRY(decode_version(doc, cfg));
  NSBOX_TRY(get_required(doc, "root", "", &cfg->root));
  NSBOX_TRY(get(doc, "mounts", "", &cfg->mounts));
  NSBOX_TRY(get(doc, "process", "", &cfg->process));
  NSBOX_TRY(decode_names(doc, cfg));
  NSBOX_TRY(get(doc, "hooks", "", &cfg->hooks));
  NSBOX_TRY(get(doc, "annotations", "", &cfg->annotations));
  return get(doc, "linux", "", &cfg->linux_);
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

namespace {

// Parse `text` as JSON and decode it with fn; `label` names the document in
// errors ("config.json").
template <typename T, typename Fn>
Result<T> parse_document(const std::string& text, const std::string& label, Fn fn) {
  try {
    json doc = json::parse(text);
    T out;
    NSBOX_TRY(fn(doc, &out));
    return out;
  } catch (const json::parse_error& e) {
    return make_error(label + ": invalid JSON: " + one_line(e.what()));
  } catch (const json::out_of_range& e) {  // a number beyond double range
    return make_error(label + ": invalid JSON: " + one_line(e.what()));
  } catch (const std::exception& e) {  // not expected: decoders check types first
    return make_error(label + ": " + one_line(e.what()));
  }
}

}  // namespace

Result<Config> parse_config(const std::string& json_text) {
  return parse_document<Config>(json_text, "config.json", decode_config);
}

Result<Process> parse_process(const std::string& json_text) {
  return parse_document<Process>(json_text, "process", [](const json& doc, Process* out) {
    return decode(doc, "process", out);
  });
}

Result<Config> load_config(const std::string& bundle_dir) {
  auto text = read_file(join_path(bundle_dir, "config.json"));
  if (!text) return std::move(text).error().wrap("bundle " + bundle_dir);
  return parse_config(*text);
}

}  // namespace nsbox::spec
