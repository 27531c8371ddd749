// `nsbox sandbox`: options -> an OCI config -> run (see sandbox.h).
#include "container/sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/util.h"
#include "rootfs/rootfs.h"
#include "spec/config.h"
#include "spec/default_spec.h"

namespace nsbox::container {

namespace {

using ojson = nlohmann::ordered_json;
using Strings = std::vector<std::string>;
using spec::NsType;

constexpr uint32_t kUserNsSize = 65536;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's default capability set.
const Strings& default_caps() {
  static const Strings caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

ojson mount_json(const std::string& dest, const std::string& type, const std::string& source,
                 const Strings& options) {
  ojson m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = options;
  return m;
}

// Which namespaces the sandbox has and how.
struct NsPlan {
  const SandboxOptions& opt;
  bool has_new(NsType t) const { return opt.create.count(t) != 0; }
  bool has_joined(NsType t) const { return opt.join.count(t) != 0; }
  // In a user namespace of its own or joined: filesystems tied to a
  // namespace can only be mounted for namespaces owned by it (new ones).
  bool in_user_ns() const { return has_new(NsType::kUser) || has_joined(NsType::kUser); }
  bool can_mount_for(NsType t) const { return has_new(t) || !in_user_ns(); }
};

Status check_plan(const SandboxOptions& opt) {
  for (const auto& [t, where] : opt.join) {
    std::string flag = std::string("--join ") + spec::ns_proc_name(t) + "=" + where;
    if (opt.create.count(t) != 0) {
      return make_error(flag + ": the namespace is also to be created (--ns)");
    }
    if (t == NsType::kMount) {
      return make_error(flag +
                        ": not supported (the sandbox's mounts need a mount namespace of its "
                        "own; use `nsbox enter` to run in a container's)");
    }
  }
  NsPlan plan{opt};
  if (!plan.has_new(NsType::kMount)) {
    auto needs = [](const std::string& what) {
      return make_error(what + ": needs a mount namespace (it is shared with the host)");
    };
    if (!opt.rootfs.empty()) return needs("--rootfs");
    if (!opt.binds.empty()) return needs("--bind");
    if (!opt.tmpfs.empty()) return needs("--tmpfs");
    if (opt.terminal) return needs("--tty");
  } else if (plan.in_user_ns() && !plan.has_new(NsType::kPid) && !plan.has_joined(NsType::kPid)) {
    return make_error(std::string(plan.has_new(NsType::kUser) ? "--ns user" : "--join user") +
                      ": needs a new pid namespace too (a user namespace can only mount a /proc "
                      "of a PID namespace it owns)");
  }
  if (opt.hostname && !plan.has_new(NsType::kUts)) {
    return make_error("--hostname: needs a new uts namespace (it is shared)");
  }
  if (plan.has_new(NsType::kUser)) {
    if ((opt.uid && *opt.uid >= kUserNsSize) || (opt.gid && *opt.gid >= kUserNsSize)) {
      return make_error("--user: IDs above 65535 are not mapped in the sandbox's user namespace");
    }
  }
  if (opt.args.empty()) return make_error("sandbox: a command is required (-- CMD [ARGS...])");
  return {};
}

// Under one of the tmpfs mounts the sandbox makes (where missing paths can
// be created), or not.
bool under_tmpfs(const SandboxOptions& opt, const std::string& path) {
  auto under = [&](const std::string& dir) {
    return path == dir || starts_with(path, dir == "/" ? dir : dir + "/");
  };
  if (under("/tmp") || under("/dev")) return true;
  for (const auto& t : opt.tmpfs) {
    if (path != clean_path(t) && under(clean_path(t))) return true;
  }
  return false;
}

// The host's root is read-only all the way down: a destination that does not
// exist cannot be created, say so before anything is made.
Status check_target(const SandboxOptions& opt, const std::string& flag, const std::string& path) {
  if (path.empty() || path[0] != '/') return make_error(flag + ": must be an absolute path");
  if (!opt.rootfs.empty() || under_tmpfs(opt, clean_path(path))) return {};
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) {
    return make_error(flag + ": " + path +
                      " does not exist in the rootfs (the host's root, read-only: it cannot "
                      "be created)");
  }
  return {};
}

Result<ojson> mounts_json(const SandboxOptions& opt) {
  ojson mounts = ojson::array();
  NsPlan plan{opt};
  if (!plan.has_new(NsType::kMount)) return mounts;
  bool user = plan.in_user_ns();
  Strings devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!user) devpts.push_back("gid=5");
  mounts.push_back(mount_json("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(
      mount_json("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount_json("/dev/pts", "devpts", "devpts", devpts));
  mounts.push_back(mount_json("/dev/shm", "tmpfs", "shm",
                              {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  if (plan.can_mount_for(NsType::kIpc)) {
    mounts.push_back(mount_json("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  }
  bool fresh_sysfs = plan.can_mount_for(NsType::kNet);
  if (fresh_sysfs) {
    mounts.push_back(mount_json("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    if (!user) {
      mounts.push_back(mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
                                  {"nosuid", "noexec", "nodev", "relatime", "ro"}));
    }
  } else if (!opt.rootfs.empty()) {
    mounts.push_back(
        mount_json("/sys", "bind", "/sys", {"rbind", "nosuid", "noexec", "nodev", "rro"}));
  }  // else (a user namespace, the host's network): the host's /sys, read-only
     // with the rest of the host's root
  mounts.push_back(mount_json("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}));
  for (const auto& b : opt.binds) {
    std::string flag = "--bind " + b.source + ":" + b.destination;
    char real[PATH_MAX];
    if (::realpath(b.source.c_str(), real) == nullptr) return sys_error(flag);
    NSBOX_TRY(check_target(opt, flag, b.destination));
    Strings o = {"rbind"};
    if (b.readonly) o.emplace_back("rro");
    mounts.push_back(mount_json(b.destination, "bind", real, o));
  }
  for (const auto& t : opt.tmpfs) {
    NSBOX_TRY(check_target(opt, "--tmpfs " + t, t));
    mounts.push_back(mount_json(t, "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}));
  }
  return mounts;
}

// KEY=VALUE entries: defaults, then the options' (replacing the same KEY;
// a bare KEY takes our value, as docker's -e).
Result<Strings> env_json(const SandboxOptions& opt) {
  Strings env;
  auto set = [&](const std::string& entry) {
    std::string key = entry.substr(0, entry.find('='));
    for (auto& e : env) {
      if (e.substr(0, e.find('=')) == key) {
        e = entry;
        return;
      }
    }
    env.push_back(entry);
  };
  const char* path = std::getenv("PATH");
  set(std::string("PATH=") + (path != nullptr && *path != '\0' ? path : kDefaultPath));
  const char* term = std::getenv("TERM");
  if (term != nullptr) {
    set(std::string("TERM=") + term);
  } else if (opt.terminal) {
    set("TERM=xterm");
  }
  set(opt.uid.value_or(0) == 0 ? "HOME=/root" : "HOME=/");
  for (const auto& e : opt.env) {
    if (e.empty() || e[0] == '=') return make_error("--env " + nsbox::quoted(e) + ": no name");
    if (e.find('=') != std::string::npos) {
      set(e);
    } else if (const char* v = std::getenv(e.c_str()); v != nullptr) {
      set(e + "=" + v);
    }
  }
  return env;
}

ojson process_json(const SandboxOptions& opt, Strings env) {
  uint32_t uid = opt.uid.value_or(0);
  const Strings& caps = default_caps();
  // A non-root user gets the bounding set only, as with docker.
  Strings granted = uid == 0 ? caps : Strings{};
  return {
      {"terminal", opt.terminal},
      {"user", {{"uid", uid}, {"gid", opt.gid.value_or(uid == 0 ? 0 : uid)}}},
      {"args", opt.args},
      {"env", std::move(env)},
      {"cwd", opt.cwd},
      {"capabilities", {{"bounding", caps}, {"effective", granted}, {"permitted", granted}}},
      {"noNewPrivileges", false},
  };
}

Result<ojson> namespaces_json(const Runtime& rt, const SandboxOptions& opt) {
  ojson out = ojson::array();
  for (int i = 0; i < spec::kNsTypeCount; ++i) {
    auto t = static_cast<NsType>(i);
    if (opt.create.count(t) != 0) out.push_back({{"type", spec::ns_type_name(t)}});
    auto j = opt.join.find(t);
    if (j == opt.join.end()) continue;
    std::string flag = std::string("--join ") + spec::ns_proc_name(t) + "=" + j->second;
    std::string path = j->second;
    if (path.empty()) return make_error(flag + ": expected a container ID or a namespace path");
    if (path[0] == '/') {
      struct stat st {};
      if (::stat(path.c_str(), &st) < 0) return sys_error(flag);
    } else {
      auto p = namespace_path(rt, path, t);
      if (!p) return std::move(p).error().wrap(flag);
      path = std::move(*p);
    }
    out.push_back({{"type", spec::ns_type_name(t)}, {"path", path}});
  }
  return out;
}

ojson id_map_json(uint32_t base) {
  return ojson::array({{{"containerID", 0}, {"hostID", base}, {"size", kUserNsSize}}});
}

ojson resources_json(const SandboxOptions& opt) {
  ojson r = {{"devices", ojson::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (opt.memory) r["memory"] = {{"limit", *opt.memory}};
  if (opt.pids_limit) r["pids"] = {{"limit", *opt.pids_limit}};
  if (opt.cpus) {
    constexpr long long kPeriod = 100000;
    r["cpu"] = {{"quota", std::llround(*opt.cpus * kPeriod)}, {"period", kPeriod}};
  }
  return r;
}

Result<ojson> linux_json(const Runtime& rt, const SandboxOptions& opt) {
  ojson lx = ojson::object();
  if (opt.create.count(NsType::kUser) != 0) {
    SubIds ids = subordinate_ids();
    lx["uidMappings"] = id_map_json(ids.uid_base);
    lx["gidMappings"] = id_map_json(ids.gid_base);
  }
  lx["resources"] = resources_json(opt);
  auto ns = namespaces_json(rt, opt);
  if (!ns) return std::move(ns).error();
  lx["namespaces"] = std::move(*ns);
  if (!opt.sysctls.empty()) {
    ojson s = ojson::object();
    for (const auto& [k, v] : opt.sysctls) s[k] = v;
    lx["sysctl"] = s;
  }
  if (opt.create.count(NsType::kMount) != 0) {
    lx["maskedPaths"] = spec::default_masked_paths();
    lx["readonlyPaths"] = spec::default_readonly_paths();
  }
  return lx;
}

// "NAME:START:COUNT" lines: the first of root's (by name or 0) with COUNT >= 65536.
std::optional<uint32_t> subordinate_base(const std::string& file) {
  auto text = read_file(file);
  if (!text) return std::nullopt;
  for (const auto& line : split(*text, '\n')) {
    auto f = split(line, ':');
    long long start = 0, count = 0;
    if (f.size() != 3 || (f[0] != "root" && f[0] != "0")) continue;
    if (!parse_int64(f[1], &start) || !parse_int64(f[2], &count)) continue;
    if (start > 0 && count >= kUserNsSize && start + kUserNsSize <= UINT32_MAX) {
      return static_cast<uint32_t>(start);
    }
  }
  return std::nullopt;
}

}  // namespace

SubIds subordinate_ids(const std::string& subuid_file, const std::string& subgid_file) {
  SubIds ids;
  if (auto u = subordinate_base(subuid_file)) ids.uid_base = *u;
  if (auto g = subordinate_base(subgid_file)) ids.gid_base = *g;
  return ids;
}

Result<std::string> sandbox_config(const Runtime& rt, const SandboxOptions& opt) {
  NSBOX_TRY(check_plan(opt));
  NSBOX_TRY(check_target(opt, "--cwd", opt.cwd));
  ojson cfg = ojson::object();
  cfg["ociVersion"] = "1.3.0";
  auto env = env_json(opt);
  if (!env) return std::move(env).error();
  cfg["process"] = process_json(opt, std::move(*env));
  std::string root = "/";
  if (!opt.rootfs.empty()) {
    char real[PATH_MAX];
    if (::realpath(opt.rootfs.c_str(), real) == nullptr) return sys_error("--rootfs " + opt.rootfs);
    root = real;
  }
  bool own_mounts = opt.create.count(NsType::kMount) != 0;
  cfg["root"] = {{"path", root}, {"readonly", own_mounts}};
  auto mounts = mounts_json(opt);
  if (!mounts) return std::move(mounts).error();
  cfg["mounts"] = std::move(*mounts);
  if (opt.create.count(NsType::kUts) != 0) {
    cfg["hostname"] = opt.hostname ? *opt.hostname : opt.id.substr(0, 63);
  }
  auto lx = linux_json(rt, opt);
  if (!lx) return std::move(lx).error();
  cfg["linux"] = std::move(*lx);
  if (own_mounts && opt.rootfs.empty()) {
    cfg["annotations"] = {{rootfs::kRecursiveReadonlyAnnotation, "true"}};
  }
  std::string text = cfg.dump(2);
  // What create would refuse, refused here too (--print-config).
  auto parsed = spec::parse_config(text);
  if (!parsed) return std::move(parsed).error();
  if (auto v = spec::validate_config(*parsed); !v) {
    // The sysctl checks speak of the config; name the option instead.
    std::string msg = v.error().msg;
    if (starts_with(msg, "linux.sysctl.")) return make_error("--sysctl " + msg.substr(13));
    return std::move(v).error();
  }
  return text;
}

std::string sandbox_id() {
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    auto v = static_cast<unsigned long long>(::getpid()) ^
             static_cast<unsigned long long>(::time(nullptr));
    for (auto& b : bytes) {
      b = static_cast<unsigned char>(v);
      v >>= 8;
    }
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id = "sandbox-";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

Result<int> sandbox(const Runtime& rt, const SandboxOptions& opt) {
  // The NOTIFY_SOCKET proxy binds its socket at /run/notify, which cannot be
  // created in the host's read-only root.
  const char* notify = std::getenv("NOTIFY_SOCKET");
  if (notify != nullptr && *notify != '\0' && opt.rootfs.empty() &&
      opt.create.count(NsType::kMount) != 0) {
    return make_error(
        "NOTIFY_SOCKET: sd_notify from a sandbox on the host's root is not supported yet (use "
        "--rootfs, or --share mnt)");
  }
  auto text = sandbox_config(rt, opt);
  if (!text) return std::move(text).error();
  CreateOptions c;
  c.id = opt.id;
  c.bundle = opt.rootfs.empty() ? "/" : opt.rootfs;
  c.config_text = std::move(*text);
  c.reexec_if_writable = opt.reexec_if_writable;
  return run(rt, c, false);
}

}  // namespace nsbox::container
