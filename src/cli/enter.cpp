// `enter ID [--ns LIST] [-- CMD [ARGS...]]`: a command (default /bin/sh) in
// some or all of a running container's namespaces, the seed's "effective
// container" switch. The same library path as `exec`
// (container::ExecOptions::join_ns).
#include <unistd.h>

#include <algorithm>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

Result<container::ExecOptions> enter_options(const Parsed& p) {
  container::ExecOptions o;
  o.id = p.positionals.at(0);
  o.args.assign(p.positionals.begin() + 1, p.positionals.end());
  if (o.args.empty()) o.args = {"/bin/sh"};
  if (p.has("ns")) {
    auto list = parse_ns_list("--ns", p.get("ns"));
    if (!list) return std::move(list).error();
    o.join_ns = std::move(*list);
  }
  bool mount = !o.join_ns || std::find(o.join_ns->begin(), o.join_ns->end(),
                                       spec::NsType::kMount) != o.join_ns->end();
  // Without the mount namespace the command is ours: our environment too.
  if (!mount) {
    for (char** e = environ; *e != nullptr; ++e) o.env.emplace_back(*e);
  }
  for (const auto& e : p.all("env")) o.env.push_back(e);
  if (p.has("cwd")) o.cwd = p.get("cwd");
  o.tty = ::isatty(0) != 0 && ::isatty(1) != 0;
  o.ignore_paused = p.has("ignore-paused");
  o.reexec_if_writable = true;
  return o;
}

int run_enter(const Global& g, const Parsed& p) {
  auto opt = enter_options(p);
  if (!opt) return fail(opt.error());
  auto status = container::exec(g.rt, *opt);
  if (!status) return fail(status.error());
  return *status;
}

}  // namespace

Command enter_command() {
  return {"enter",
          "enter [OPTIONS] ID [-- COMMAND [ARGS...]]",
          "Run a command (default /bin/sh) in some or all of a running container's namespaces\n"
          "\n"
          "--ns LIST joins only those namespaces (mount,uts,ipc,pid,network,user,cgroup,time;\n"
          "also mnt,net); each must be one the container has. Default: all of them.\n"
          "The process always joins the container's cgroups: it is accounted to the container.\n"
          "With the mount namespace (and the default), the command comes from the container's\n"
          "filesystem and runs as the container's process (user, capabilities, rlimits,\n"
          "seccomp, LSM labels, env, cwd); a container with a user namespace brings it along.\n"
          "Without it, the command comes from the host's filesystem and runs as the caller:\n"
          "its root, cwd, environment, user and capabilities, no seccomp; without pid it stays\n"
          "in the host's PID namespace. A terminal is allocated when stdin and stdout are one.\n"
          "The exit status is the command's.",
          {
              {"ns", "n", true, "comma-separated namespaces to join (default: all)"},
              {"env", "e", true, "add an environment variable (repeatable)"},
              {"cwd", "", true, "working directory"},
              {"ignore-paused", "", false, "allow entering a paused container"},
          },
          run_enter,
          1,
          SIZE_MAX};
}

}  // namespace nsbox::cli
