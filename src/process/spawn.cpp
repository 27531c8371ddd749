#include "process/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/log.h"
#include "common/syscalls.h"
#include "common/util.h"
#include "ns/namespaces.h"

namespace nsbox::process {

namespace {

Result<pid_t> clone_init(InitContext& ctx, Channel& parent_end, Channel& child_end, int cgroup_fd) {
  // The init starts in the bundle directory (relative bind sources and
  // root.path resolve there): it inherits our cwd, which clone/unshare
  // carry into its new mount namespace. Walking the path itself could fail:
  // as root of a new user namespace it may not pass private directories.
  UniqueFd saved_cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!saved_cwd) return sys_error("open current directory");
  if (::chdir(ctx.bundle.c_str()) < 0) return sys_error("chdir bundle " + ctx.bundle);
  auto own_pid_ns = ns::enter_pid_ns_for_children(*ctx.plan);
  if (!own_pid_ns) return std::move(own_pid_ns).error();
  sys::CloneArgs args;
  args.flags = ctx.plan->clone_flags;
  // A new cgroup namespace is rooted at the cgroups its creator is in: at
  // clone time only when CLONE_INTO_CGROUP places the init completely
  // (direct mode, no v1 hierarchy); otherwise the init unshares it after it
  // has joined its v1 cgroups.
  bool at_clone = cgroup_fd >= 0 && !ctx.plan->staged && ctx.v1_tasks_fds.empty();
  if (ctx.plan->new_cgroup && at_clone) args.flags |= CLONE_NEWCGROUP;
  ctx.unshare_cgroup_ns = ctx.plan->new_cgroup && !at_clone;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  pid_t pid = sys::clone3(&args);
  if (pid == 0) {
    parent_end.close();
    ctx.chan = &child_end;
    container_init(ctx);
  }
  int err = errno;
  if (::fchdir(saved_cwd.get()) < 0) return sys_error("restore current directory");
  NSBOX_TRY(ns::restore_pid_ns(own_pid_ns->get()));
  if (pid < 0) return sys_error("clone3", err);
  return pid;
}

struct Loop {
  InitContext& ctx;
  Channel& chan;
  const SpawnCallbacks& cb;
  pid_t child = 0;  // our direct child (the init, or the staged intermediate)
  pid_t init = 0;

  Status handle(Packet& p) {
    switch (p.type) {
      case Msg::kNeedIdMaps:
        NSBOX_TRY(ns::write_id_maps(child, *ctx.cfg->linux_));
        return chan.send(Msg::kContinue);
      case Msg::kHello:
        init = p.sender_pid != 0 ? p.sender_pid : child;
        if (init != child) reap_intermediate();
        if (cb.on_pid) NSBOX_TRY(cb.on_pid(init));
        return chan.send(Msg::kContinue);
      case Msg::kNamespacesReady:
        if (cb.on_namespaces_ready) NSBOX_TRY(cb.on_namespaces_ready(init));
        return chan.send(Msg::kContinue);
      case Msg::kSeccompFd:
        if (!p.fd) return make_error("sync: seccomp listener missing");
        if (!cb.on_seccomp_fd) return make_error("sync: unexpected seccomp listener");
        NSBOX_TRY(cb.on_seccomp_fd(init, std::move(p.fd)));
        return chan.send(Msg::kContinue);
      case Msg::kConsoleFd:
        if (!p.fd || !cb.on_console_fd) return make_error("sync: unexpected console fd");
        return cb.on_console_fd(std::move(p.fd));
      case Msg::kWarning:
        if (cb.on_warning) cb.on_warning(p.text);
        return {};
      case Msg::kError:
        return make_error(p.text);
      default:
        return make_error("sync: unexpected message from init");
    }
  }

  void reap_intermediate() {
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  Status run() {
    for (;;) {
      auto p = chan.recv();
      if (!p) return std::move(p).error();
      log::debug(std::string("init: ") + msg_name(p->type));
      if (p->type == Msg::kCreated) return {};
      if (auto r = handle(*p); !r) {
        (void)chan.send(Msg::kError, r.error().msg);
        return r;
      }
    }
  }
};

}  // namespace

void kill_and_wait(pid_t pid) {
  if (pid <= 0) return;
  UniqueFd pidfd(sys::pidfd_open(pid, 0));
  ::kill(pid, SIGKILL);
  // Our own child: reap it. Otherwise wait for the pidfd to report the exit.
  if (::waitpid(pid, nullptr, 0) == pid || !pidfd) return;
  pollfd pfd{pidfd.get(), POLLIN, 0};
  while (::poll(&pfd, 1, 5000) < 0 && errno == EINTR) {
  }
}

Result<Spawned> spawn_init(InitContext& ctx, int cgroup_fd, const SpawnCallbacks& cb) {
  auto pair = Channel::make_pair();
  if (!pair) return std::move(pair).error();
  auto& [parent_end, child_end] = *pair;
  auto pid = clone_init(ctx, parent_end, child_end, cgroup_fd);
  if (!pid) return std::move(pid).error();
  child_end.close();
  Loop loop{ctx, parent_end, cb, *pid, ctx.plan->staged ? 0 : *pid};
  if (auto r = loop.run(); !r) {
    if (loop.init != 0 && loop.init != loop.child) kill_and_wait(loop.init);
    kill_and_wait(loop.child);
    return std::move(r).error();
  }
  return Spawned{loop.init};
}

}  // namespace nsbox::process
