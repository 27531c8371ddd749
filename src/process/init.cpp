#include "process/init.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/procfs.h"
#include "common/syscalls.h"
#include "common/util.h"
#include "container/hooks.h"
#include "process/terminal.h"
#include "security/process_attrs.h"
#include "security/user.h"
#include "spec/state.h"

namespace nsbox::process {

namespace {

[[noreturn]] void fail(Channel& chan, const Error& e) {
  (void)chan.send(Msg::kError, e.msg);
  ::_exit(1);
}

Status step(Channel& chan, Msg announce) {
  NSBOX_TRY(chan.send(announce));
  return chan.expect(Msg::kContinue);
}

// While our own code is pid 1 waiting for `start`, a signal from outside the
// PID namespace is only delivered when handled: exit as the default would.
void on_terminate(int sig) { ::_exit(128 + sig); }
void handle_termination_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_terminate;
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM}) {
    ::sigaction(s, &sa, nullptr);
  }
}

// Staged mode: join, then create the user namespace, then the rest. Returns
// in the process that goes on as init (after a fork for a new PID namespace).
Status enter_namespaces_staged(InitContext& ctx, int time_offsets_fd) {
  const auto& p = *ctx.plan;
  NSBOX_TRY(ns::join(p, true));
  NSBOX_TRY(ns::join(p, false));
  if (p.new_user) {
    if (::unshare(CLONE_NEWUSER) < 0) return sys_error("unshare user namespace");
    NSBOX_TRY(step(*ctx.chan, Msg::kNeedIdMaps));
  }
  if (p.new_user || !p.joins.empty()) NSBOX_TRY(security::become_root_in_user_ns());
  int flags = p.unshare_flags | (ctx.unshare_cgroup_ns ? CLONE_NEWCGROUP : 0);
  if (flags != 0 && ::unshare(flags) < 0) return sys_error("unshare namespaces");
  // The offsets fd names this process: write them before the fork.
  if (p.new_time) NSBOX_TRY(ns::unshare_time_ns(*ctx.cfg->linux_, time_offsets_fd));
  if (!p.new_pid) return p.new_time ? ns::enter_time_ns_for_children() : Status{};
  if (::unshare(CLONE_NEWPID) < 0) return sys_error("unshare pid namespace");
  pid_t child = ::fork();
  if (child < 0) return sys_error("fork into pid namespace");
  if (child > 0) ::_exit(0);  // the parent learns the init's pid from kHello
  return {};                  // born in the new time namespace, if any
}

Status enter_namespaces(InitContext& ctx) {
  const auto& p = *ctx.plan;
  UniqueFd time_offsets;
  if (p.new_time) {
    auto fd = ns::open_time_offsets();
    if (!fd) return std::move(fd).error();
    time_offsets = std::move(*fd);
  }
  if (p.staged) {
    NSBOX_TRY(enter_namespaces_staged(ctx, time_offsets.get()));
  } else {
    if (p.new_user) {
      NSBOX_TRY(step(*ctx.chan, Msg::kNeedIdMaps));
      NSBOX_TRY(security::become_root_in_user_ns());
    }
    NSBOX_TRY(ns::join(p, false));
    if (p.new_time) {
      NSBOX_TRY(ns::unshare_time_ns(*ctx.cfg->linux_, time_offsets.get()));
      NSBOX_TRY(ns::enter_time_ns_for_children());
    }
  }
  // Staged mode: the parent learns our pid from the credentials.
  NSBOX_TRY(ctx.chan->send(Msg::kHello, {}, p.staged));
  return ctx.chan->expect(Msg::kContinue);
}

// Hooks in the container namespace see the pid as the container sees it.
std::string hook_state(const InitContext& ctx, const char* status) {
  spec::State s;
  s.id = ctx.id;
  s.status = status;
  s.pid = ::getpid();
  s.bundle = ctx.bundle;
  s.annotations = ctx.cfg->annotations;
  return spec::state_to_json(s, false);
}

const std::vector<spec::Hook>& hooks_of(const InitContext& ctx,
                                        std::vector<spec::Hook> spec::Hooks::*list) {
  static const std::vector<spec::Hook> kNone;
  return ctx.cfg->hooks ? (*ctx.cfg->hooks).*list : kNone;
}

// Through a private procfs (common/procfs.h): a mount the bundle placed over
// /proc/sys cannot redirect the write to another file.
Status apply_sysctls(const spec::Linux& lx) {
  if (lx.sysctl.empty()) return {};
  auto proc = procfs::open_root();
  if (!proc) return std::move(proc).error().wrap("linux.sysctl");
  for (const auto& [key, value] : lx.sysctl) {
    std::string rel = "sys/" + key;
    for (size_t i = 4; i < rel.size(); ++i) {
      if (rel[i] == '.') rel[i] = '/';
    }
    NSBOX_TRY_CTX(procfs::write_file(proc->get(), rel, value),
                  "linux.sysctl." + nsbox::quoted(key));
  }
  return {};
}

Status apply_names(const spec::Config& cfg) {
  if (cfg.has_hostname && ::sethostname(cfg.hostname.data(), cfg.hostname.size()) < 0) {
    return sys_error("hostname: sethostname");
  }
  if (cfg.has_domainname && ::setdomainname(cfg.domainname.data(), cfg.domainname.size()) < 0) {
    return sys_error("domainname: setdomainname");
  }
  return {};
}

// Everything from the new namespaces to "created".
Status setup(InitContext& ctx, std::string* exe) {
  const auto& cfg = *ctx.cfg;
  NSBOX_TRY(enter_namespaces(ctx));
  // The cwd is the bundle (inherited from spawn_init): relative bind sources
  // and root.path resolve there.
  // Without a mount namespace (checked at create: no mounts, root "/"),
  // the container keeps the host's filesystem as it is.
  const bool own_mounts = cfg.linux_->has_ns(spec::NsType::kMount);
  if (own_mounts) NSBOX_TRY(rootfs::prepare(cfg, ctx.rootfs, ctx.rootfs_opts));
  // As runc: prestart/createRuntime hooks run once the mounts are prepared,
  // before pivot_root.
  NSBOX_TRY(step(*ctx.chan, Msg::kNamespacesReady));
  NSBOX_TRY(container::run_hooks(hooks_of(ctx, &spec::Hooks::create_container),
                                 hook_state(ctx, "creating"), "createContainer"));
  if (own_mounts) NSBOX_TRY(rootfs::switch_root(cfg, ctx.rootfs_opts));
  // process.terminal: the pty of the container's devpts becomes stdio and
  // /dev/console (before finalize: /dev may become read-only); the master
  // goes to the runtime.
  if (cfg.process->terminal) {
    auto pty = open_terminal(cfg.process->console_size);
    if (!pty) return std::move(pty).error();
    NSBOX_TRY(mount_console(pty->peer.get()));
    NSBOX_TRY(ctx.chan->send_fd(Msg::kConsoleFd, pty->master.get()));
  }
  // Before finalize(): readonlyPaths makes /proc/sys read-only.
  if (cfg.linux_) NSBOX_TRY(apply_sysctls(*cfg.linux_));
  NSBOX_TRY(apply_names(cfg));
  if (own_mounts) NSBOX_TRY(rootfs::finalize(cfg));
  const auto& proc = *cfg.process;
  if (::chdir(proc.cwd.c_str()) < 0) return sys_error("process.cwd: chdir " + proc.cwd);
  auto path = find_executable(proc.args[0], proc.env);
  if (!path) return std::move(path).error();
  *exe = std::move(*path);
  // personality, ioPriority, scheduler: inherited by everything started later.
  return security::apply_process_attrs(cfg);
}

// A filter with SCMP_ACT_NOTIFY rules is loaded at the end of create: its
// listener must reach the seccomp agent (listenerPath) while the container
// is being created. The parent sends it there and the init waits for that.
// As with runc, the filter then applies to the init itself while it waits
// for `start` (accept, startContainer hooks, the user switch).
Status load_notify_seccomp(InitContext& ctx) {
  if (ctx.seccomp == nullptr || !ctx.seccomp->notify) return {};
  auto listener = security::load_seccomp(*ctx.seccomp);
  if (!listener) return std::move(listener).error();
  NSBOX_TRY(ctx.chan->send_fd(Msg::kSeccompFd, listener->get()));
  listener->reset();
  return ctx.chan->expect(Msg::kContinue);
}

// After `start`: startContainer hooks, then the common last steps. Returns
// only on failure.
Error start_and_exec(InitContext& ctx, const std::string& exe) {
  auto r = container::run_hooks(hooks_of(ctx, &spec::Hooks::start_container),
                                hook_state(ctx, "created"), "startContainer");
  if (!r) return std::move(r).error();
  Launch l;
  l.proc = &*ctx.cfg->process;
  l.caps = ctx.caps;
  // A notify filter is already loaded (load_notify_seccomp).
  l.seccomp = ctx.seccomp != nullptr && !ctx.seccomp->notify ? ctx.seccomp : nullptr;
  l.sigmask = ctx.orig_sigmask;
  l.exe = exe;
  return launch(l);
}

// Wait for `start` on the listening socket, then exec.
[[noreturn]] void wait_for_start(InitContext& ctx, const std::string& exe) {
  for (;;) {
    int conn = ::accept4(ctx.start_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    char buf[16];
    ssize_t n = ::read(conn, buf, sizeof buf);
    if (n <= 0 || std::string_view(buf, static_cast<size_t>(n)).substr(0, 5) != "start") {
      ::close(conn);
      continue;
    }
    ::close(ctx.start_listen_fd);
    Error e = start_and_exec(ctx, exe);
    (void)write_all(conn, e.msg);
    ::_exit(1);
  }
}

}  // namespace

// Join the v1 cgroups (see InitContext::v1_tasks_fds), then create the
// cgroup namespace if one is new. In staged mode the intermediate does this
// and the init inherits both.
Status join_cgroups(InitContext& ctx) {
  for (int fd : ctx.v1_tasks_fds) {
    if (::write(fd, "0", 1) < 0) return sys_error("join cgroup");
    ::close(fd);
  }
  ctx.v1_tasks_fds.clear();
  // Staged mode unshares it with the others, owned by the new user namespace.
  if (ctx.unshare_cgroup_ns && !ctx.plan->staged && ::unshare(CLONE_NEWCGROUP) < 0) {
    return sys_error("unshare cgroup namespace");
  }
  return {};
}

// A session keyring of its own, named after the container as runc does:
// the container does not share the caller's keys. A kernel without keyrings
// (ENOSYS) or a policy that refuses it (EACCES) is not an error, as in runc.
Status join_session_keyring(const InitContext& ctx) {
  if (!ctx.new_keyring) return {};
  if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, ctx.id.c_str()) < 0 && errno != ENOSYS &&
      errno != EACCES) {
    return sys_error("join a new session keyring");
  }
  return {};
}

void container_init(InitContext& ctx) {
  // No host fd but ours and the preserved ones reaches the container: mark
  // everything else above stdio close-on-exec.
  close_unpreserved_fds(ctx.preserve_fds);
  if (ctx.close_in_child >= 0) ::close(ctx.close_in_child);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  reset_signals(ctx.orig_sigmask);
  Channel& chan = *ctx.chan;
  std::string exe;
  if (auto r = join_cgroups(ctx); !r) fail(chan, r.error());
  if (auto r = join_session_keyring(ctx); !r) fail(chan, r.error());
  if (auto r = setup(ctx, &exe); !r) fail(chan, r.error());
  handle_termination_signals();
  if (auto r = load_notify_seccomp(ctx); !r) fail(chan, r.error());
  if (auto r = chan.send(Msg::kCreated); !r) ::_exit(1);
  chan.close();
  wait_for_start(ctx, exe);
}

}  // namespace nsbox::process
