// `exec`: a new process in a created, running (or, asked for, paused)
// container. The process is the container's own with runc's overrides, or
// a whole process object (`--process`); it joins the init's namespaces and
// cgroups and goes through the same last steps as the init (caps, user,
// rlimits, no_new_privs, seccomp, LSM label). `enter` is the same path
// with a subset of the namespaces (ExecOptions::join_ns).
#include "process/exec.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "common/syscalls.h"
#include "common/util.h"
#include "container/internal.h"
#include "process/sealed_exe.h"
#include "process/spawn.h"
#include "process/terminal.h"
#include "security/lsm.h"
#include "security/rlimits.h"
#include "spec/state.h"

namespace nsbox::container {

namespace {

void add_caps(std::vector<std::string>* set, const std::vector<std::string>& caps) {
  for (const auto& c : caps) {
    if (std::find(set->begin(), set->end(), c) == set->end()) set->push_back(c);
  }
}

bool wants_ns(const ExecOptions& opt, spec::NsType t) {
  return !opt.join_ns ||
         std::find(opt.join_ns->begin(), opt.join_ns->end(), t) != opt.join_ns->end();
}

// `enter` without the mount namespace: the command comes from our
// filesystem, so it runs as we do (see ExecOptions::join_ns).
bool host_process(const ExecOptions& opt) { return !wants_ns(opt, spec::NsType::kMount); }

Result<spec::Process> caller_process(const ExecOptions& opt, bool joins_user) {
  if (opt.args.empty()) return make_error("enter: a command is required");
  spec::Process p;
  p.args = opt.args;
  p.env = opt.env;
  if (opt.cwd) {
    p.cwd = *opt.cwd;
  } else {
    char buf[PATH_MAX];
    if (::getcwd(buf, sizeof buf) == nullptr) return sys_error("getcwd");
    p.cwd = buf;
  }
  // In a joined user namespace we are its root (join_container); else ourselves.
  if (!joins_user) {
    p.user.uid = ::geteuid();
    p.user.gid = ::getegid();
    std::vector<gid_t> groups(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)));
    int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
    if (n < 0) return sys_error("getgroups");
    p.user.additional_gids.assign(groups.begin(), groups.begin() + n);
  }
  if (opt.tty) p.terminal = *opt.tty;
  return p;
}

// The exec'd process: --process as given, else the container's process with
// runc's overrides.
Result<spec::Process> exec_process(const spec::Config& cfg, const ExecOptions& opt) {
  if (!opt.process_json.empty()) {
    auto p = spec::parse_process(opt.process_json);
    if (!p) return std::move(p).error();
    if (p->args.empty()) return make_error("process.args: must not be empty");
    return p;
  }
  if (!cfg.process) return make_error("process: the container has none to base exec on");
  spec::Process p = *cfg.process;
  if (opt.args.empty()) return make_error("exec: a command is required (or --process)");
  p.args = opt.args;
  p.env.insert(p.env.end(), opt.env.begin(), opt.env.end());
  if (opt.cwd) p.cwd = *opt.cwd;
  if (opt.uid) p.user.uid = *opt.uid;
  if (opt.gid) p.user.gid = *opt.gid;
  p.user.additional_gids.insert(p.user.additional_gids.end(), opt.additional_gids.begin(),
                                opt.additional_gids.end());
  if (!opt.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    auto& c = *p.capabilities;
    for (auto* set : {&c.bounding, &c.effective, &c.permitted}) add_caps(set, opt.caps);
    // Ambient needs inheritable: only when the process already has some (runc).
    if (!c.inheritable.empty()) add_caps(&c.ambient, opt.caps);
  }
  if (opt.tty) p.terminal = *opt.tty;
  if (opt.no_new_privs) p.no_new_privileges = *opt.no_new_privs;
  if (opt.apparmor) p.apparmor_profile = *opt.apparmor;
  if (opt.process_label) p.selinux_label = *opt.process_label;
  return p;
}

Status check_console(const spec::Process& p, const ExecOptions& opt) {
  if (p.terminal && opt.detach && opt.console_socket.empty()) {
    return make_error("cannot allocate a tty when detaching without --console-socket");
  }
  if (!p.terminal && !opt.console_socket.empty()) {
    return make_error("--console-socket: the process has no terminal (use --tty)");
  }
  return {};
}

bool same_ns(pid_t pid, const char* name) {
  struct stat a {
  }, b{};
  std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
  std::string ours = std::string("/proc/self/ns/") + name;
  return ::stat(theirs.c_str(), &a) == 0 && ::stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

// Everything exec needs that can fail before a process exists.
struct ExecPlan {
  spec::Config cfg;  // the container's, process replaced
  security::CapSets caps;
  std::optional<security::SeccompFilter> seccomp;
  UniqueFd init_pidfd;
  int ns_flags = 0;
  bool join_pid = false;
  std::unique_ptr<cgroup::Manager> cg;
  UniqueFd leaf;
  std::vector<UniqueFd> v1_tasks;
};

// opt.join_ns: each one the container must have; with the mount namespace
// comes the user namespace (its owner: the container's files and ids only
// make sense in it).
Result<std::vector<spec::NsType>> wanted_namespaces(const spec::Config& cfg,
                                                    const ExecOptions& opt) {
  std::vector<spec::NsType> out;
  for (const auto& n : cfg.linux_->namespaces) out.push_back(n.type);
  if (!opt.join_ns) return out;
  for (auto t : *opt.join_ns) {
    if (!cfg.linux_->has_ns(t)) {
      return make_error(std::string("--ns ") + spec::ns_type_name(t) + ": container " + opt.id +
                        " has no " + spec::ns_type_name(t) + " namespace of its own");
    }
  }
  std::vector<spec::NsType> kept;
  for (auto t : out) {
    bool implied = t == spec::NsType::kUser && wants_ns(opt, spec::NsType::kMount);
    if (wants_ns(opt, t) || implied) kept.push_back(t);
  }
  return kept;
}

Status plan_namespaces(const Record& rec, const ExecOptions& opt, ExecPlan* x) {
  x->init_pidfd.reset(sys::pidfd_open(rec.pid, 0));
  if (!x->init_pidfd || proc_start_time(rec.pid) != rec.start_time) {
    return make_error("cannot exec in a stopped container");
  }
  auto wanted = wanted_namespaces(x->cfg, opt);
  if (!wanted) return std::move(wanted).error();
  for (const auto& n : x->cfg.linux_->namespaces) {
    if (std::find(wanted->begin(), wanted->end(), n.type) == wanted->end()) continue;
    if (same_ns(rec.pid, spec::ns_proc_name(n.type))) continue;
    if (n.type == spec::NsType::kPid) {
      x->join_pid = true;
    } else {
      x->ns_flags |= spec::ns_clone_flag(n.type);
    }
  }
  return {};
}

Status plan_cgroups(const Record& rec, ExecPlan* x) {
  if (rec.cgroup.empty()) return {};
  auto cg = cgroup_of(rec);
  if (!cg) return std::move(cg).error();
  x->cg = std::move(*cg);
  auto leaf = x->cg->open_v2_leaf();
  if (!leaf) return std::move(leaf).error();
  x->leaf = std::move(*leaf);
  auto v1 = x->cg->open_v1_tasks();
  if (!v1) return std::move(v1).error();
  x->v1_tasks = std::move(*v1);
  return {};
}

Result<ExecPlan> plan_exec(const Opened& c, const ExecOptions& opt) {
  ExecPlan x;
  auto text = c.dir.load_config();
  if (!text) return std::move(text).error();
  auto cfg = spec::parse_config(*text);
  if (!cfg) return std::move(cfg).error();
  x.cfg = std::move(*cfg);
  if (!x.cfg.linux_) x.cfg.linux_.emplace();
  bool host = host_process(opt);
  if (host) {
    // Nothing of the container's process setup applies (ExecOptions::join_ns).
    auto joins_user = wanted_namespaces(x.cfg, opt);
    if (!joins_user) return std::move(joins_user).error();
    bool user = std::find(joins_user->begin(), joins_user->end(), spec::NsType::kUser) !=
                    joins_user->end() &&
                !same_ns(c.rec.pid, "user");
    auto proc = caller_process(opt, user);
    if (!proc) return std::move(proc).error();
    x.cfg.process = std::move(*proc);
    x.cfg.linux_->seccomp.reset();
    x.cfg.linux_->personality.reset();
  } else {
    auto proc = exec_process(x.cfg, opt);
    if (!proc) return std::move(proc).error();
    x.cfg.process = std::move(*proc);
  }
  NSBOX_TRY(check_console(*x.cfg.process, opt));
  NSBOX_TRY(security::check_lsm_config(x.cfg, security::probe_lsms()));
  const auto& p = *x.cfg.process;
  if (p.capabilities) {
    std::vector<std::string> warnings;
    x.caps = security::resolve_caps(*p.capabilities, &warnings);
    for (const auto& w : warnings) log::warn(w);
  } else {
    auto cur = security::current_caps();
    if (!cur) return std::move(cur).error();
    x.caps = *cur;
  }
  NSBOX_TRY(security::check_rlimits(p.rlimits));
  if (x.cfg.linux_->seccomp) {
    auto filter = security::build_seccomp(*x.cfg.linux_->seccomp);
    if (!filter) return std::move(filter).error();
    x.seccomp = std::move(*filter);
  }
  NSBOX_TRY(plan_namespaces(c.rec, opt, &x));
  NSBOX_TRY(plan_cgroups(c.rec, &x));
  return x;
}

Status check_status(const std::string& status, bool ignore_paused) {
  if (status == "created" || status == "running") return {};
  if (status == "paused") {
    if (ignore_paused) return {};
    return make_error("cannot exec in a paused container (use --ignore-paused to override)");
  }
  return make_error("cannot exec in a " + status + " container");
}

}  // namespace

Result<int> exec(const Runtime& rt, const ExecOptions& opt) {
  if (opt.reexec_if_writable && !process::exe_is_protected()) {
    log::debug("exec: writable binary, re-executing from a protected image");
    return process::reexec_protected(nullptr);
  }
  if (!opt.cgroup.empty()) return make_error("--cgroup: not supported yet");
  auto c = open_container(rt, opt.id, false);
  if (!c) return std::move(c).error();
  NSBOX_TRY(check_status(c->status, opt.ignore_paused));
  auto x = plan_exec(*c, opt);
  if (!x) return std::move(x).error();

  std::optional<Forwarding> fwd;
  if (!opt.detach) {
    auto f = block_signals_for_forwarding();
    if (!f) return std::move(f).error();
    fwd = std::move(*f);
  }
  process::ExecContext ctx;
  ctx.cfg = &x->cfg;
  ctx.init_pidfd = x->init_pidfd.get();
  ctx.ns_flags = x->ns_flags;
  ctx.pid_ns_fd = x->join_pid ? x->init_pidfd.get() : -1;
  ctx.cgroup_fd = x->leaf.valid() ? x->leaf.get() : -1;
  for (const auto& fd : x->v1_tasks) ctx.v1_tasks_fds.push_back(fd.get());
  ctx.caps = x->caps;
  if (x->seccomp) ctx.seccomp = &*x->seccomp;
  ctx.sigmask = fwd ? &fwd->orig : nullptr;
  ctx.preserve_fds = opt.preserve_fds;
  ctx.new_keyring = !c->rec.no_new_keyring;

  std::unique_ptr<process::TerminalProxy> tty;
  process::ExecCallbacks cb;
  cb.on_console_fd = [&](UniqueFd master) -> Status {
    if (!opt.console_socket.empty()) {
      return process::send_to_console_socket(opt.console_socket, master.get());
    }
    tty = std::make_unique<process::TerminalProxy>(std::move(master));
    return {};
  };
  cb.on_seccomp_fd = [&](pid_t pid, UniqueFd listener) -> Status {
    spec::State s;
    s.id = c->rec.id;
    s.status = c->status;
    s.pid = c->rec.pid;
    s.bundle = c->rec.bundle;
    s.annotations = c->rec.annotations;
    return security::send_to_seccomp_agent(*x->cfg.linux_->seccomp, pid,
                                           spec::state_to_json(s, false), listener.get());
  };
  // The lock is not held while the process is made and runs: in a paused
  // container (--ignore-paused) the child is frozen as it is born, before its
  // exec could close an inherited lock fd, and `resume` must get the lock.
  c->dir = ContainerDir();
  auto pid = process::spawn_exec(ctx, cb);
  if (!pid) {
    if (fwd) ::sigprocmask(SIG_SETMASK, &fwd->orig, nullptr);
    return std::move(pid).error();
  }
  if (!opt.pid_file.empty()) {
    if (auto r = write_file_atomic(clean_path(opt.pid_file), std::to_string(*pid), 0644); !r) {
      process::kill_and_wait(*pid);
      return std::move(r).error();
    }
  }
  if (opt.detach) return 0;
  int status = wait_forwarding(*pid, fwd->sigfd.get(), tty.get(), false);
  tty.reset();
  ::sigprocmask(SIG_SETMASK, &fwd->orig, nullptr);
  return status;
}

}  // namespace nsbox::container
