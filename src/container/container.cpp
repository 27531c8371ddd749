#include "container/container.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/util.h"
#include "container/hooks.h"
#include "container/internal.h"
#include "ns/namespaces.h"
#include "process/sealed_exe.h"
#include "process/spawn.h"
#include "process/terminal.h"
#include "security/capabilities.h"
#include "security/lsm.h"
#include "security/oom.h"
#include "security/rlimits.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::container {

using nlohmann::json;

namespace {

const std::vector<spec::Hook>& hooks_of(const spec::Config& cfg,
                                        std::vector<spec::Hook> spec::Hooks::*list) {
  static const std::vector<spec::Hook> kNone;
  return cfg.hooks ? (*cfg.hooks).*list : kNone;
}

bool alive_with_start_time(pid_t pid, unsigned long long start_time) {
  if (pid <= 0) return false;
  std::string stat;
  auto s = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!s) return false;
  size_t p = s->rfind(')');
  if (p == std::string::npos || p + 2 >= s->size()) return false;
  char st = (*s)[p + 2];
  if (st == 'Z' || st == 'X') return false;  // exited, not yet reaped
  return proc_start_time(pid) == start_time;
}

std::unique_ptr<cgroup::Manager> manager_of(const Record& r) {
  if (r.cgroup.empty()) return nullptr;
  auto cg = cgroup::restore_manager(r.cgroup);
  return cg ? std::move(*cg) : nullptr;
}

bool is_frozen(const Record& r) {
  auto cg = manager_of(r);
  if (!cg) return false;
  auto f = cg->frozen();
  return f && *f;
}

// Recomputed from /proc every time: an init that died, or whose pid was
// recycled, while no nsbox ran is `stopped`.
std::string compute_status(const ContainerDir& dir, const Record& r) {
  if (r.status == "creating")
    return alive_with_start_time(r.pid, r.start_time) ? "creating" : "stopped";
  if (!alive_with_start_time(r.pid, r.start_time)) return "stopped";
  if (dir.has_start_socket()) return "created";
  return is_frozen(r) ? "paused" : "running";
}

State to_state(const Record& r, const std::string& status) {
  State s;
  s.id = r.id;
  s.status = status;
  s.pid = status == "stopped" ? 0 : r.pid;
  s.bundle = r.bundle;
  s.rootfs = r.rootfs;
  s.created = r.created;
  s.annotations = r.annotations;
  return s;
}

// The state hooks in the runtime namespace get on stdin.
std::string hook_state_json(const Record& r, const std::string& status) {
  State s = to_state(r, status);
  s.rootfs.clear();
  s.created.clear();
  return spec::state_to_json(s, false);
}

// The start socket: bound (listen) by create for the init, connected by start.
Result<UniqueFd> start_socket(const ContainerDir& dir, bool listen) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir.start_socket_path();  // short: goes through /proc/self/fd
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (listen) {
    if (::bind(fd.get(), sa, sizeof addr) < 0) return sys_error("bind start socket");
    if (::listen(fd.get(), 4) < 0) return sys_error("listen start socket");
  } else if (::connect(fd.get(), sa, sizeof addr) < 0) {
    return sys_error("connect to container init");
  }
  return fd;
}

// Without a mount namespace the container shares the host's mounts: nothing
// that would be mounted or changed there can be applied.
Status check_without_mount_ns(const spec::Config& cfg, const std::string& rootfs) {
  if (!cfg.linux_) return make_error("linux: required by create");
  if (!cfg.process) return make_error("process: required by create");
  if (cfg.linux_->has_ns(spec::NsType::kMount)) return {};
  const auto& lx = *cfg.linux_;
  auto needs = [](const std::string& field) {
    return make_error(field + ": needs a mount namespace (linux.namespaces has no \"mount\")");
  };
  if (rootfs != "/") return needs("root.path other than \"/\"");
  if (cfg.root.readonly) return needs("root.readonly");
  if (!cfg.mounts.empty()) return needs("mounts");
  if (!lx.masked_paths.empty()) return needs("linux.maskedPaths");
  if (!lx.readonly_paths.empty()) return needs("linux.readonlyPaths");
  if (!lx.devices.empty()) return needs("linux.devices");
  if (!lx.rootfs_propagation.empty()) return needs("linux.rootfsPropagation");
  if (!lx.mount_label.empty()) return needs("linux.mountLabel");
  if (cfg.process->terminal) return needs("process.terminal");
  return {};
}

struct Prepared {
  spec::Config cfg;
  std::string config_text;
  std::string bundle;
  std::string rootfs;
  security::CapSets caps;
  ns::Plan plan;
  std::optional<security::SeccompFilter> seccomp;  // compiled here, loaded by the init
};

// Everything that can fail before anything is created on the host.
Result<Prepared> prepare(const CreateOptions& opt) {
  Prepared p;
  char real[PATH_MAX];
  if (::realpath(opt.bundle.c_str(), real) == nullptr) return sys_error("bundle " + opt.bundle);
  p.bundle = real;
  if (opt.config_text.empty()) {
    auto text = read_file(p.bundle + "/config.json");
    if (!text) return std::move(text).error().wrap("bundle " + p.bundle);
    p.config_text = std::move(*text);
  } else {
    p.config_text = opt.config_text;
  }
  auto cfg = spec::parse_config(p.config_text);
  if (!cfg) return std::move(cfg).error();
  p.cfg = std::move(*cfg);
  NSBOX_TRY(spec::validate_config(p.cfg));
  NSBOX_TRY(security::check_lsm_config(p.cfg, security::probe_lsms()));
  std::string root = p.cfg.root.path;
  if (root.empty() || root[0] != '/') root = p.bundle + "/" + root;
  if (::realpath(root.c_str(), real) == nullptr) return sys_error("root.path " + p.cfg.root.path);
  struct stat st {};
  if (::stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
    return make_error("root.path " + p.cfg.root.path + ": not a directory");
  }
  p.rootfs = real;
  NSBOX_TRY(check_without_mount_ns(p.cfg, p.rootfs));
  const auto& proc = *p.cfg.process;
  if (proc.capabilities) {
    std::vector<std::string> warnings;
    p.caps = security::resolve_caps(*proc.capabilities, &warnings);
    for (const auto& w : warnings) log::warn(w);
  } else {
    auto cur = security::current_caps();
    if (!cur) return std::move(cur).error();
    p.caps = *cur;
  }
  NSBOX_TRY(security::check_rlimits(proc.rlimits));
  if (proc.terminal && opt.console_socket.empty() && opt.console_out == nullptr) {
    return make_error(
        "process.terminal: cannot allocate a tty when nsbox detaches without --console-socket");
  }
  if (!proc.terminal && !opt.console_socket.empty()) {
    return make_error("--console-socket: process.terminal is false");
  }
  p.cfg.process->env.insert(p.cfg.process->env.end(), opt.extra_env.begin(), opt.extra_env.end());
  auto plan = ns::plan(p.cfg);
  if (!plan) return std::move(plan).error();
  p.plan = std::move(*plan);
  if (p.cfg.linux_->seccomp) {
    auto filter = security::build_seccomp(*p.cfg.linux_->seccomp);
    if (!filter) return std::move(filter).error();
    p.seccomp = std::move(*filter);
  }
  return p;
}

// Undo a partly created container: used on every create failure path.
// Poststop hooks: failures are warnings and the rest still run.
void run_poststop_hooks(const spec::Config& cfg, const Record& r) {
  for (const auto& w : run_hooks_warn(hooks_of(cfg, &spec::Hooks::poststop),
                                      hook_state_json(r, "stopped"), "poststop")) {
    log::warn(w);
  }
}

// Undo a partly created container: used on every create failure path. As
// for delete (lifecycle steps 12-13), poststop hooks run last.
struct CreateGuard {
  ContainerDir* dir;
  std::unique_ptr<cgroup::Manager>* cg;
  const spec::Config* cfg;
  const Record* rec;
  bool armed = true;
  ~CreateGuard() {
    if (!armed) return;
    if (*cg) (void)(*cg)->destroy();
    run_poststop_hooks(*cfg, *rec);
    (void)dir->destroy();
  }
};

Status write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return {};
  std::string abs = clean_path(path);
  return write_file_atomic(abs, std::to_string(pid), 0644);
}

Status signal_pid(pid_t pid, unsigned long long start_time, int sig) {
  UniqueFd pidfd(sys::pidfd_open(pid, 0));
  if (!pidfd || proc_start_time(pid) != start_time) return make_error("container not running");
  if (sys::pidfd_send_signal(pidfd.get(), sig, nullptr, 0) < 0) return sys_error("kill");
  return {};
}

Status signal_all(const Record& r, int sig) {
  if (r.cgroup.empty()) return signal_pid(r.pid, r.start_time, sig);
  auto cg = cgroup::restore_manager(r.cgroup);
  if (!cg) return std::move(cg).error();
  auto pids = (*cg)->pids();
  if (!pids) return std::move(pids).error();
  for (pid_t p : *pids) ::kill(p, sig);
  return {};
}

// Kill everything and wait for the init to be gone. A frozen container is
// thawed first: its processes would not act on SIGKILL before that.
void kill_everything(const Record& r) {
  if (auto cg = manager_of(r); cg && is_frozen(r)) (void)cg->set_frozen(false);
  (void)signal_all(r, SIGKILL);
  if (alive_with_start_time(r.pid, r.start_time)) process::kill_and_wait(r.pid);
}

Status destroy(ContainerDir& dir, const Record& r) {
  kill_everything(r);
  Status result;
  if (!r.cgroup.empty()) {
    auto cg = cgroup::restore_manager(r.cgroup);
    if (cg) {
      if (auto d = (*cg)->destroy(); !d) result = std::move(d).error();
    } else {
      result = std::move(cg).error();
    }
  }
  if (r.has_late_hooks) {
    auto cfg_text = dir.load_config();
    auto cfg = cfg_text ? spec::parse_config(*cfg_text) : Result<spec::Config>(cfg_text.error());
    if (cfg) {
      run_poststop_hooks(*cfg, r);
    } else {
      log::warn("poststop hooks not run: " + cfg.error().msg);
    }
  }
  if (auto d = dir.destroy(); !d && result.ok()) result = std::move(d).error();
  return result;
}

Result<pid_t> create_locked(ContainerDir& dir, Prepared& p, const CreateOptions& opt) {
  std::unique_ptr<cgroup::Manager> cg;
  Record rec;
  CreateGuard guard{&dir, &cg, &p.cfg, &rec};
  rec.id = opt.id;
  rec.bundle = p.bundle;
  rec.rootfs = p.rootfs;
  rec.created = now_rfc3339();
  rec.status = "creating";
  rec.annotations = p.cfg.annotations;
  rec.no_new_keyring = opt.no_new_keyring;
  rec.has_late_hooks =
      p.cfg.hooks && (!p.cfg.hooks->poststart.empty() || !p.cfg.hooks->poststop.empty());
  NSBOX_TRY(dir.save_config(p.config_text));
  NSBOX_TRY(add_notify_socket(dir, &p.cfg));

  log::debug("create: config parsed, state claimed");
  auto layout = cgroup::probe();
  if (!layout) return std::move(layout).error();
  const auto& lx = *p.cfg.linux_;
  auto mgr = cgroup::make_manager(*layout, lx.cgroups_path, opt.id);
  if (!mgr) return std::move(mgr).error();
  cg = std::move(*mgr);
  rec.cgroup = cg->serialize();
  NSBOX_TRY(dir.save(rec));  // a crash from here on is cleaned by delete
  log::debug("create: making cgroups");
  NSBOX_TRY(cg->create());
  static const std::vector<spec::DeviceRule> kNoRules;
  NSBOX_TRY(cg->apply_devices(lx.resources ? lx.resources->devices : kNoRules, lx.devices));
  if (lx.resources) NSBOX_TRY(cg->apply_resources(*lx.resources));
  auto leaf = cg->open_v2_leaf();
  if (!leaf) return std::move(leaf).error();
  auto v1_tasks = cg->open_v1_tasks();
  if (!v1_tasks) return std::move(v1_tasks).error();
  auto listen_fd = start_socket(dir, true);
  if (!listen_fd) return std::move(listen_fd).error();

  sigset_t orig;
  ::sigprocmask(SIG_SETMASK, nullptr, &orig);
  process::InitContext ctx;
  ctx.cfg = &p.cfg;
  ctx.plan = &p.plan;
  ctx.rootfs = p.rootfs;
  ctx.bundle = p.bundle;
  ctx.id = opt.id;
  ctx.rootfs_opts.no_pivot = opt.no_pivot;
  ctx.rootfs_opts.in_user_ns = p.plan.new_user || !p.plan.joins.empty();
  ctx.caps = p.caps;
  ctx.start_listen_fd = listen_fd->get();
  ctx.close_in_child = dir.fd();
  if (p.seccomp) ctx.seccomp = &*p.seccomp;
  ctx.preserve_fds = opt.preserve_fds;
  ctx.new_keyring = !opt.no_new_keyring;
  for (const auto& fd : *v1_tasks) ctx.v1_tasks_fds.push_back(fd.get());
  ctx.orig_sigmask = opt.sigmask != nullptr ? opt.sigmask : &orig;

  process::SpawnCallbacks cb;
  cb.on_pid = [&](pid_t pid) -> Status {
    rec.pid = pid;
    rec.start_time = proc_start_time(pid);
    if (p.cfg.process->oom_score_adj) {
      NSBOX_TRY(security::set_oom_score_adj(pid, *p.cfg.process->oom_score_adj));
    }
    return {};
  };
  cb.on_namespaces_ready = [&](pid_t) -> Status {
    std::string st = hook_state_json(rec, "creating");
    NSBOX_TRY(run_hooks(hooks_of(p.cfg, &spec::Hooks::prestart), st, "prestart"));
    return run_hooks(hooks_of(p.cfg, &spec::Hooks::create_runtime), st, "createRuntime");
  };
  cb.on_warning = [](const std::string& w) { log::warn(w); };
  cb.on_seccomp_fd = [&](pid_t pid, UniqueFd listener) -> Status {
    // Our copy is closed on return: the agent holds the listener from now on.
    return security::send_to_seccomp_agent(*lx.seccomp, pid, hook_state_json(rec, "creating"),
                                           listener.get());
  };
  cb.on_console_fd = [&](UniqueFd master) -> Status {
    if (!opt.console_socket.empty()) {
      return process::send_to_console_socket(opt.console_socket, master.get());
    }
    *opt.console_out = std::move(master);
    return {};
  };
  log::debug("create: cloning the init");
  auto spawned = process::spawn_init(ctx, leaf->valid() ? leaf->get() : -1, cb);
  if (!spawned) return std::move(spawned).error();
  listen_fd->reset();
  auto finish = [&]() -> Status {
    rec.status = "created";
    NSBOX_TRY(dir.save(rec));
    return write_pid_file(opt.pid_file, spawned->pid);
  };
  if (auto r = finish(); !r) {
    process::kill_and_wait(spawned->pid);
    return std::move(r).error();
  }
  guard.armed = false;
  return spawned->pid;
}

}  // namespace

Result<Opened> open_container(const Runtime& rt, const std::string& id, bool exclusive) {
  auto dir = Store(rt.root).open(id, exclusive);
  if (!dir) return std::move(dir).error();
  auto rec = dir->load();
  if (!rec) return std::move(rec).error();
  std::string status = compute_status(*dir, *rec);
  return Opened{std::move(*dir), std::move(*rec), std::move(status)};
}

Result<std::unique_ptr<cgroup::Manager>> cgroup_of(const Record& r) {
  if (r.cgroup.empty()) return make_error("container " + r.id + " has no cgroup");
  return cgroup::restore_manager(r.cgroup);
}

Result<pid_t> create(const Runtime& rt, const CreateOptions& opt) {
  NSBOX_TRY(validate_id(opt.id));
  bool is_protected = process::exe_is_protected();
  if (!is_protected && opt.reexec_if_writable) {
    log::debug("create: writable binary, re-executing from a protected image");
    return process::reexec_protected(opt.sigmask);
  }
  auto p = prepare(opt);
  if (!p) return std::move(p).error();
  if (!p->plan.new_pid && !is_protected) {
    return make_error(
        "linux.namespaces: the init would share a PID namespace with other processes while "
        "running nsbox code, and this nsbox binary is writable (CVE-2019-5736)");
  }
  Store store(rt.root);
  auto dir = store.create(opt.id);
  if (!dir) return std::move(dir).error();
  return create_locked(*dir, *p, opt);
}

Status start(const Runtime& rt, const std::string& id) {
  auto c = open_container(rt, id, true);
  if (!c) return std::move(c).error();
  auto& [dir, rec, status] = *c;
  if (status != "created") {
    return make_error("cannot start a container that is " + status + " (only a created one)");
  }
  auto notify = bind_notify_socket(dir);
  if (!notify) return std::move(notify).error();
  auto conn = start_socket(dir, false);
  if (!conn) return std::move(conn).error();
  dir.remove_start_socket();
  NSBOX_TRY(write_all(conn->get(), "start"));
  auto reply = read_all(conn->get());
  if (!reply) return std::move(reply).error();
  if (!reply->empty()) return make_error(*reply);
  if (notify->valid()) NSBOX_TRY(forward_ready(notify->get(), rec.pid));
  // No record write: the status is recomputed (start.sock gone = running).
  if (!rec.has_late_hooks) return {};
  auto cfg_text = dir.load_config();
  if (!cfg_text) return std::move(cfg_text).error();
  auto cfg = spec::parse_config(*cfg_text);
  if (!cfg) return std::move(cfg).error();
  auto r = run_hooks(hooks_of(*cfg, &spec::Hooks::poststart), hook_state_json(rec, "running"),
                     "poststart");
  if (!r) kill_everything(rec);
  return r;
}

Result<State> state(const Runtime& rt, const std::string& id) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  return to_state(c->rec, c->status);
}

Status kill(const Runtime& rt, const std::string& id, int sig, bool all) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  auto& [dir, rec, status] = *c;
  if (status != "created" && status != "running" && status != "paused") {
    if (all) return {};
    return make_error("container not running");
  }
  if (all) return signal_all(rec, sig);
  return signal_pid(rec.pid, rec.start_time, sig);
}

Status remove(const Runtime& rt, const std::string& id, bool force) {
  Store store(rt.root);
  auto dir = store.open(id);
  if (!dir) {
    if (force && dir.error().code == ENOENT) {
      // Unknown ID, or the leftovers of a create that crashed before its record.
      if (validate_id(id)) (void)remove_tree(rt.root + "/" + id);
      return {};
    }
    return std::move(dir).error();
  }
  auto rec = dir->load();
  if (!rec) return std::move(rec).error();
  std::string status = compute_status(*dir, *rec);
  if ((status == "running" || status == "paused") && !force) {
    return make_error("cannot delete container " + id + " that is not stopped: " + status +
                      " (use --force)");
  }
  return destroy(*dir, *rec);
}

Status set_paused(const Runtime& rt, const std::string& id, bool paused) {
  auto c = open_container(rt, id, true);
  if (!c) return std::move(c).error();
  auto& [dir, rec, status] = *c;
  const char* want = paused ? "running" : "paused";
  if (status != want) {
    return make_error(std::string("container ") + (paused ? "not running" : "not paused") + " (" +
                      status + ")");
  }
  auto cg = manager_of(rec);
  if (!cg) return make_error("container has no cgroup to freeze");
  return cg->set_frozen(paused);
}

Result<std::vector<State>> list(const Runtime& rt) {
  Store store(rt.root);
  auto ids = store.list();
  if (!ids) return std::move(ids).error();
  std::vector<State> out;
  for (const auto& id : *ids) {
    auto s = state(rt, id);
    if (s) out.push_back(std::move(*s));
  }
  return out;
}

Result<int> run(const Runtime& rt, const CreateOptions& opt, bool detach) {
  if (detach) {
    auto pid = create(rt, opt);
    if (!pid) return std::move(pid).error();
    if (auto s = start(rt, opt.id); !s) {
      (void)remove(rt, opt.id, true);
      return std::move(s).error();
    }
    return 0;
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  auto fwd = block_signals_for_forwarding();
  if (!fwd) return std::move(fwd).error();
  CreateOptions o = opt;
  o.sigmask = &fwd->orig;
  UniqueFd master;
  if (o.console_socket.empty()) o.console_out = &master;
  auto pid = create(rt, o);
  if (!pid) return std::move(pid).error();
  std::unique_ptr<process::TerminalProxy> tty;
  if (master) tty = std::make_unique<process::TerminalProxy>(std::move(master));
  if (auto s = start(rt, opt.id); !s) {
    (void)remove(rt, opt.id, true);
    return std::move(s).error();
  }
  log::debug("run: started, waiting");
  int status = wait_forwarding(*pid, fwd->sigfd.get(), tty.get(), true);
  tty.reset();  // our terminal back to how it was
  log::debug("run: container exited, deleting");
  if (auto d = remove(rt, opt.id, true); !d) log::warn(d.error().msg);
  log::debug("run: deleted");
  ::sigprocmask(SIG_SETMASK, &fwd->orig, nullptr);
  return status;
}

}  // namespace nsbox::container
