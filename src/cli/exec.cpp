#include <cstdint>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

Result<uint32_t> parse_id(const std::string& flag, const std::string& text) {
  long long v = 0;
  if (!parse_int64(text, &v) || v < 0 || v > UINT32_MAX) {
    return make_error("--" + flag + ": expected a numeric id, got \"" + text + "\"");
  }
  return static_cast<uint32_t>(v);
}

Status parse_user(const Parsed& p, container::ExecOptions* o) {
  if (!p.has("user")) return {};
  std::string u = p.get("user");
  auto colon = u.find(':');
  auto uid = parse_id("user", u.substr(0, colon));
  if (!uid) return std::move(uid).error();
  o->uid = *uid;
  if (colon != std::string::npos) {
    auto gid = parse_id("user", u.substr(colon + 1));
    if (!gid) return std::move(gid).error();
    o->gid = *gid;
  }
  for (const auto& g : p.all("additional-gids")) {
    auto gid = parse_id("additional-gids", g);
    if (!gid) return std::move(gid).error();
    o->additional_gids.push_back(*gid);
  }
  return {};
}

Result<container::ExecOptions> exec_options(const Parsed& p) {
  container::ExecOptions o;
  o.id = p.positionals.at(0);
  o.args.assign(p.positionals.begin() + 1, p.positionals.end());
  if (p.has("process")) {
    std::string path = p.get("process");
    auto text = path == "-" ? read_all(0) : read_file(path);
    if (!text) return std::move(text).error().wrap("--process " + path);
    o.process_json = std::move(*text);
    if (!o.args.empty()) return make_error("--process: no command arguments with it");
  } else if (o.args.empty()) {
    return make_error("exec: a command is required (or --process)");
  }
  o.env = p.all("env");
  if (p.has("cwd")) o.cwd = p.get("cwd");
  NSBOX_TRY(parse_user(p, &o));
  for (auto c : p.all("cap")) {
    if (!starts_with(c, "CAP_")) c.insert(0, "CAP_");
    o.caps.push_back(c);
  }
  for (const char* f : {"tty", "no-new-privs"}) {
    if (!p.has(f)) continue;
    auto b = flag_bool(p, f);
    if (!b) return std::move(b).error();
    (std::string(f) == "tty" ? o.tty : o.no_new_privs) = *b;
  }
  if (p.has("apparmor")) o.apparmor = p.get("apparmor");
  if (p.has("process-label")) o.process_label = p.get("process-label");
  auto detach = flag_bool(p, "detach");
  if (!detach) return std::move(detach).error();
  o.detach = *detach;
  o.pid_file = p.get("pid-file");
  o.console_socket = p.get("console-socket");
  long long n = 0;
  if (!parse_int64(p.get("preserve-fds", "0"), &n) || n < 0 || n > 65535) {
    return make_error("--preserve-fds: expected a count, got \"" + p.get("preserve-fds") + "\"");
  }
  o.preserve_fds = static_cast<int>(n);
  o.ignore_paused = p.has("ignore-paused");
  o.cgroup = p.get("cgroup");
  o.reexec_if_writable = true;
  return o;
}

int run_exec(const Global& g, const Parsed& p) {
  auto opt = exec_options(p);
  if (!opt) return fail(opt.error());
  auto status = container::exec(g.rt, *opt);
  if (!status) return fail(status.error());
  return *status;
}

}  // namespace

Command exec_command() {
  return {"exec",
          "exec [OPTIONS] ID COMMAND [ARGS...] | exec [OPTIONS] --process FILE ID",
          "Run a new process inside a created or running container",
          {
              {"process", "p", true, "process.json with the whole process (- for stdin)"},
              {"tty", "t", false, "allocate a pseudo-terminal"},
              {"console-socket", "", true, "unix socket to receive the pty master"},
              {"detach", "d", false, "return once the process runs"},
              {"pid-file", "", true, "write the process's pid to this file"},
              {"cwd", "", true, "working directory inside the container"},
              {"env", "e", true, "add an environment variable (repeatable)"},
              {"user", "u", true, "UID[:GID]"},
              {"additional-gids", "g", true, "an additional group id (repeatable)"},
              {"cap", "c", true, "add a capability (repeatable)"},
              {"no-new-privs", "", false, "set no_new_privs"},
              {"preserve-fds", "", true, "pass fds 3 .. 3+N-1 to the process"},
              {"process-label", "", true, "SELinux exec label"},
              {"apparmor", "", true, "AppArmor profile"},
              {"ignore-paused", "", false, "allow exec in a paused container"},
              {"cgroup", "", true, "sub-cgroup to run in (not supported yet)"},
          },
          run_exec,
          1,
          SIZE_MAX,
          1};
}

}  // namespace nsbox::cli
