#include "process/exec.h"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscalls.h"
#include "common/util.h"
#include "ns/namespaces.h"
#include "process/launch.h"
#include "process/spawn.h"
#include "process/sync.h"
#include "process/terminal.h"
#include "security/process_attrs.h"
#include "security/user.h"

namespace nsbox::process {

namespace {

Status join_container(const ExecContext& ctx) {
  for (int fd : ctx.v1_tasks_fds) {
    if (::write(fd, "0", 1) < 0) return sys_error("join cgroup");
  }
  // After the cgroups: a joined cgroup namespace is rooted where it was made.
  if (ctx.ns_flags != 0 && ::setns(ctx.init_pidfd, ctx.ns_flags) < 0) {
    return sys_error("join the container's namespaces");
  }
  if ((ctx.ns_flags & CLONE_NEWUSER) != 0) NSBOX_TRY(security::become_root_in_user_ns());
  // A new anonymous session keyring: not the caller's keys (as runc's exec).
  if (ctx.new_keyring && ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 &&
      errno != ENOSYS && errno != EACCES) {
    return sys_error("join a new session keyring");
  }
  return {};
}

Status prepare_process(const ExecContext& ctx, Channel& chan, std::string* exe) {
  const auto& proc = *ctx.cfg->process;
  NSBOX_TRY(join_container(ctx));
  if (proc.terminal) {
    auto pty = open_terminal(proc.console_size);
    if (!pty) return std::move(pty).error();
    NSBOX_TRY(chan.send_fd(Msg::kConsoleFd, pty->master.get()));
  }
  if (::chdir(proc.cwd.c_str()) < 0) return sys_error("process.cwd: chdir " + proc.cwd);
  auto path = find_executable(proc.args[0], proc.env);
  if (!path) return std::move(path).error();
  *exe = std::move(*path);
  NSBOX_TRY(security::apply_process_attrs(*ctx.cfg));
  if (ctx.seccomp != nullptr && ctx.seccomp->notify) {
    auto listener = security::load_seccomp(*ctx.seccomp);
    if (!listener) return std::move(listener).error();
    NSBOX_TRY(chan.send_fd(Msg::kSeccompFd, listener->get()));
    listener->reset();
    NSBOX_TRY(chan.expect(Msg::kContinue));
  }
  return {};
}

[[noreturn]] void exec_child(const ExecContext& ctx, Channel& chan) {
  close_unpreserved_fds(ctx.preserve_fds);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::string exe;
  auto r = prepare_process(ctx, chan, &exe);
  Error e;
  if (r) {
    Launch l;
    l.proc = &*ctx.cfg->process;
    l.caps = ctx.caps;
    l.seccomp = ctx.seccomp != nullptr && !ctx.seccomp->notify ? ctx.seccomp : nullptr;
    l.sigmask = ctx.sigmask;
    l.exe = exe;
    e = launch(l);
  } else {
    e = std::move(r).error();
  }
  (void)chan.send(Msg::kError, e.msg);
  ::_exit(1);
}

Result<pid_t> clone_exec(const ExecContext& ctx, Channel& parent_end, Channel& child_end) {
  auto own_pid_ns = ns::enter_pid_ns_for_children(ctx.pid_ns_fd);
  if (!own_pid_ns) return std::move(own_pid_ns).error();
  sys::CloneArgs args;
  args.exit_signal = SIGCHLD;
  if (ctx.cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(ctx.cgroup_fd);
  }
  pid_t pid = sys::clone3(&args);
  if (pid == 0) {
    parent_end.close();
    exec_child(ctx, child_end);
  }
  int err = errno;
  NSBOX_TRY(ns::restore_pid_ns(own_pid_ns->get()));
  if (pid < 0) return sys_error("clone3", err);
  return pid;
}

Status drive(Channel& chan, pid_t pid, const ExecCallbacks& cb) {
  for (;;) {
    auto p = chan.recv();
    if (!p) {
      if (p.error().code == kPeerClosed) return {};  // execve closed the channel
      return std::move(p).error();
    }
    switch (p->type) {
      case Msg::kError:
        return make_error(p->text);
      case Msg::kConsoleFd:
        if (!p->fd || !cb.on_console_fd) return make_error("sync: unexpected console fd");
        NSBOX_TRY(cb.on_console_fd(std::move(p->fd)));
        break;
      case Msg::kSeccompFd:
        if (!p->fd || !cb.on_seccomp_fd) return make_error("sync: unexpected seccomp listener");
        NSBOX_TRY(cb.on_seccomp_fd(pid, std::move(p->fd)));
        NSBOX_TRY(chan.send(Msg::kContinue));
        break;
      default:
        return make_error("sync: unexpected message from the exec child");
    }
  }
}

}  // namespace

Result<pid_t> spawn_exec(const ExecContext& ctx, const ExecCallbacks& cb) {
  auto pair = Channel::make_pair();
  if (!pair) return std::move(pair).error();
  auto& [parent_end, child_end] = *pair;
  auto pid = clone_exec(ctx, parent_end, child_end);
  if (!pid) return std::move(pid).error();
  child_end.close();
  if (auto r = drive(parent_end, *pid, cb); !r) {
    kill_and_wait(*pid);
    return std::move(r).error();
  }
  return *pid;
}

}  // namespace nsbox::process
