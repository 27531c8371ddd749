#include <cstdio>

#include "cli/commands.h"

namespace nsbox::cli {

std::vector<Flag> create_flags() {
  return {
      {"bundle", "b", true, "path to the bundle (default: current directory)"},
      {"pid-file", "", true, "write the container init's pid to this file"},
      {"no-pivot", "", false, "MS_MOVE + chroot instead of pivot_root (for initramfs)"},
      {"console-socket", "", true, "not supported yet"},
      {"preserve-fds", "", true, "not supported yet"},
      {"no-new-keyring", "", false, "not supported yet"},
  };
}

Result<container::CreateOptions> create_options(const Parsed& p) {
  for (const char* f : {"console-socket", "preserve-fds", "no-new-keyring"}) {
    if (p.has(f) && !(std::string(f) == "preserve-fds" && p.get(f) == "0")) {
      return make_error(std::string("--") + f + ": not supported yet");
    }
  }
  container::CreateOptions o;
  o.id = p.positionals.at(0);
  o.bundle = p.get("bundle", ".");
  o.pid_file = p.get("pid-file");
  o.no_pivot = p.has("no-pivot");
  o.reexec_if_writable = true;
  return o;
}

namespace {

int run_create(const Global& g, const Parsed& p) {
  auto opt = create_options(p);
  if (!opt) return fail(opt.error());
  auto pid = container::create(g.rt, *opt);
  if (!pid) return fail(pid.error());
  return 0;
}

}  // namespace

Command create_command() {
  return {"create",
          "create [OPTIONS] ID",
          "Create a container from a bundle (stopped before the user's program)",
          create_flags(),
          run_create,
          1,
          1};
}

}  // namespace nsbox::cli
