#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

std::vector<Flag> create_flags() {
  return {
      {"bundle", "b", true, "path to the bundle (default: current directory)"},
      {"pid-file", "", true, "write the container init's pid to this file"},
      {"no-pivot", "", false, "MS_MOVE + chroot instead of pivot_root (for initramfs)"},
      {"console-socket", "", true, "unix socket to receive the pty master (process.terminal)"},
      {"preserve-fds", "", true, "pass fds 3 .. 3+N-1 (after LISTEN_FDS) to the container"},
      {"no-new-keyring", "", false, "keep the caller's session keyring"},
  };
}

namespace {

// systemd socket activation, as runc: LISTEN_FDS fds meant for us (LISTEN_PID
// is our pid) go to the container's process, which is pid 1 there.
int listen_fds(std::vector<std::string>* env) {
  const char* fds = std::getenv("LISTEN_FDS");
  const char* pid = std::getenv("LISTEN_PID");
  long long n = 0, for_pid = 0;
  if (fds == nullptr || pid == nullptr || !parse_int64(fds, &n) || !parse_int64(pid, &for_pid) ||
      for_pid != ::getpid() || n <= 0 || n > 65535) {
    return 0;
  }
  env->push_back("LISTEN_FDS=" + std::to_string(n));
  env->push_back("LISTEN_PID=1");
  return static_cast<int>(n);
}

}  // namespace

Result<container::CreateOptions> create_options(const Parsed& p) {
  container::CreateOptions o;
  o.id = p.positionals.at(0);
  o.bundle = p.get("bundle", ".");
  o.pid_file = p.get("pid-file");
  o.no_pivot = p.has("no-pivot");
  o.console_socket = p.get("console-socket");
  long long n = 0;
  if (!parse_int64(p.get("preserve-fds", "0"), &n) || n < 0 || n > 65535) {
    return make_error("--preserve-fds: expected a count, got \"" + p.get("preserve-fds") + "\"");
  }
  o.preserve_fds = listen_fds(&o.extra_env) + static_cast<int>(n);
  auto keyring = flag_bool(p, "no-new-keyring");
  if (!keyring) return std::move(keyring).error();
  o.no_new_keyring = *keyring;
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
