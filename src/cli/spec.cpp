#include <fcntl.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cli/commands.h"
#include "common/util.h"
#include "spec/default_spec.h"

namespace nsbox::cli {

namespace {

int run_spec(const Global&, const Parsed& p) {
  auto rootless = flag_bool(p, "rootless");
  if (!rootless) return fail(rootless.error());
  auto seccomp = flag_bool(p, "seccomp-default");
  if (!seccomp) return fail(seccomp.error());
  // runc adds a cgroup namespace on cgroup v2 hosts only.
  auto layout = cgroup::probe();
  bool cgroup_ns = layout && layout->mode == cgroup::Mode::kV2;
  std::string path = join_path(p.get("bundle", "."), "config.json");
  if (::access(path.c_str(), F_OK) == 0) {
    return fail(make_error("File " + path + " exists. Remove it first"));
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return fail(sys_error("create " + path));
  if (auto r = write_all(fd.get(), spec::default_spec_json(*rootless, cgroup_ns, *seccomp) + "\n");
      !r) {
    return fail(r.error());
  }
  return 0;
}

}  // namespace

Command spec_command() {
  return {"spec",
          "spec [OPTIONS]",
          "Write a default config.json (runc's, with terminal false) into the bundle",
          {{"bundle", "b", true, "bundle directory (default: current directory)"},
           {"rootless", "", false, "a config for a rootless container"},
           {"seccomp-default", "", false,
            "add a Docker-like default seccomp profile (allow-list, EPERM otherwise)"}},
          run_spec,
          0,
          0};
}

}  // namespace nsbox::cli
