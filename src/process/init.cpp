#include "process/init.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
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
#include "security/lsm.h"
#include "security/process_attrs.h"
#include "security/rlimits.h"
#include "security/user.h"
#include "spec/state.h"

namespace nsbox::process {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

[[noreturn]] void fail(Channel& chan, const Error& e) {
  (void)chan.send(Msg::kError, e.msg);
  ::_exit(1);
}

Status step(Channel& chan, Msg announce) {
  NSBOX_TRY(chan.send(announce));
  return chan.expect(Msg::kContinue);
}

void reset_signals(const sigset_t* mask) {
  sys::reset_all_signal_dispositions();
  if (mask != nullptr) ::sigprocmask(SIG_SETMASK, mask, nullptr);
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

Status become_root_in_userns() {
  // Root of the new user namespace, so that files we create are owned by a
  // mapped id. An unmapped 0 is not an error: the user switch comes later.
  if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) return sys_error("setresgid(0)");
  if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return sys_error("setresuid(0)");
  return {};
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
  if (p.new_user || !p.joins.empty()) NSBOX_TRY(become_root_in_userns());
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
      NSBOX_TRY(become_root_in_userns());
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
  NSBOX_TRY(rootfs::prepare(cfg, ctx.rootfs, ctx.rootfs_opts));
  // As runc: prestart/createRuntime hooks run once the mounts are prepared,
  // before pivot_root.
  NSBOX_TRY(step(*ctx.chan, Msg::kNamespacesReady));
  NSBOX_TRY(container::run_hooks(hooks_of(ctx, &spec::Hooks::create_container),
                                 hook_state(ctx, "creating"), "createContainer"));
  NSBOX_TRY(rootfs::switch_root(cfg, ctx.rootfs_opts));
  // Before finalize(): readonlyPaths makes /proc/sys read-only.
  if (cfg.linux_) NSBOX_TRY(apply_sysctls(*cfg.linux_));
  NSBOX_TRY(apply_names(cfg));
  NSBOX_TRY(rootfs::finalize(cfg));
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

// Any other filter: as late as the kernel allows (see start_and_exec).
Status load_late_seccomp(const InitContext& ctx) {
  if (ctx.seccomp == nullptr || ctx.seccomp->notify) return {};
  auto none = security::load_seccomp(*ctx.seccomp);
  if (!none) return std::move(none).error();
  return {};
}

// After `start`: the last steps, then exec. Returns only on failure.
Error start_and_exec(InitContext& ctx, const std::string& exe) {
  const auto& proc = *ctx.cfg->process;
  // Allocated first: a seccomp filter may refuse what malloc needs.
  std::vector<std::string> args = proc.args;
  std::vector<std::string> env = proc.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  auto r = container::run_hooks(hooks_of(ctx, &spec::Hooks::start_container),
                                hook_state(ctx, "created"), "startContainer");
  if (!r) return std::move(r).error();
  if (auto l = security::set_exec_labels(proc); !l) return std::move(l).error();  // after forks
  if (auto rl = security::apply_rlimits(proc.rlimits); !rl) return std::move(rl).error();
  // seccomp without no_new_privs needs CAP_SYS_ADMIN: load before the user
  // switch drops it; with no_new_privs, right before execve.
  if (!proc.no_new_privileges) {
    if (auto s = load_late_seccomp(ctx); !s) return std::move(s).error();
  }
  if (auto u = security::switch_user(proc.user, ctx.caps); !u) return std::move(u).error();
  if (proc.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return sys_error("process.noNewPrivileges");
  }
  reset_signals(ctx.orig_sigmask);
  if (proc.no_new_privileges) {
    if (auto s = load_late_seccomp(ctx); !s) return std::move(s).error();
  }
  ::execve(exe.c_str(), argv.data(), envp.data());
  return sys_error("exec " + exe);
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

Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env) {
  auto check = [](const std::string& p) -> Status {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) return sys_error("exec \"" + p + "\"");
    if (S_ISDIR(st.st_mode)) return make_error("exec \"" + p + "\": is a directory", EISDIR);
    if (::access(p.c_str(), X_OK) < 0) return sys_error("exec \"" + p + "\"");
    return {};
  };
  if (arg0.find('/') != std::string::npos) {
    NSBOX_TRY(check(arg0));
    return arg0;
  }
  std::string path = kDefaultPath;
  for (const auto& e : env) {
    if (starts_with(e, "PATH=")) path = e.substr(5);
  }
  Error denied;
  for (const auto& dir : split(path, ':')) {
    std::string cand = (dir.empty() ? "." : dir) + "/" + arg0;
    auto r = check(cand);
    if (r) return cand;
    if (r.error().code == EACCES) denied = r.error();
  }
  if (denied.code == EACCES) return denied;
  return make_error("exec: \"" + arg0 + "\": executable file not found in $PATH", ENOENT);
}

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

void container_init(InitContext& ctx) {
  // No host fd but ours reaches the container: mark everything above stdio
  // close-on-exec (the sync channel and start socket already are).
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  if (ctx.close_in_child >= 0) ::close(ctx.close_in_child);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  reset_signals(ctx.orig_sigmask);
  Channel& chan = *ctx.chan;
  std::string exe;
  if (auto r = join_cgroups(ctx); !r) fail(chan, r.error());
  if (auto r = setup(ctx, &exe); !r) fail(chan, r.error());
  handle_termination_signals();
  if (auto r = load_notify_seccomp(ctx); !r) fail(chan, r.error());
  if (auto r = chan.send(Msg::kCreated); !r) ::_exit(1);
  chan.close();
  wait_for_start(ctx, exe);
}

}  // namespace nsbox::process
