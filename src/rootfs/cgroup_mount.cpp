// "cgroup"/"cgroup2" mounts, the way runc does them: cgroup2 on a unified
// host; on a v1 host a tmpfs with each hierarchy below it.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs::detail {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
constexpr unsigned long kDefaultFlags = MS_NOEXEC | MS_NOSUID | MS_NODEV;

Result<UniqueFd> mount_cgroup2(const Ctx& ctx, const MountReq& req) {
  MountReq fresh = req;
  fresh.fstype = "cgroup2";
  if (fresh.source.empty()) fresh.source = "cgroup2";
  auto st = fs_mount(ctx, fresh, false);
  if (st || (st.error().code != EPERM && st.error().code != EBUSY)) return st;
  // In a user namespace without a cgroup namespace cgroup2 cannot be mounted:
  // bind the host's hierarchy instead (runc).
  MountReq bind = req;
  bind.source = kCgroupRoot;
  bind.fstype = "bind";
  bind.mf.flags |= MS_BIND;
  return bind_mount(ctx, bind);
}

// The hierarchies mounted directly below /sys/fs/cgroup (v1 ones and the
// hybrid "unified" cgroup2), one entry per directory name.
std::vector<MountInfo> v1_hierarchies(const std::vector<MountInfo>& all) {
  std::vector<MountInfo> out;
  const std::string prefix = std::string(kCgroupRoot) + "/";
  for (const auto& mi : all) {
    if (mi.fstype != "cgroup" && mi.fstype != "cgroup2") continue;
    if (!starts_with(mi.mountpoint, prefix)) continue;
    std::string name = mi.mountpoint.substr(prefix.size());
    if (name.empty() || name.find('/') != std::string::npos) continue;
    auto same = [&](const MountInfo& o) { return o.mountpoint == mi.mountpoint; };
    if (std::none_of(out.begin(), out.end(), same)) out.push_back(mi);
  }
  return out;
}

std::string base_name(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// This process's cgroup in the hierarchy `mi` (a /proc/self/cgroup line whose
// controllers all appear in the mount's super options; "0::" for cgroup2).
Result<std::string> own_cgroup(const MountInfo& mi, const std::string& proc_cgroup) {
  auto opts = split(mi.super_opts, ',');
  for (const auto& line : split(proc_cgroup, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    std::string path = line.substr(f[0].size() + f[1].size() + 2);
    if (mi.fstype == "cgroup2") {
      if (f[0] == "0" && f[1].empty()) return path;
      continue;
    }
    if (f[1].empty()) continue;
    auto ctrls = split(f[1], ',');
    auto has = [&](const std::string& c) {
      return std::find(opts.begin(), opts.end(), c) != opts.end();
    };
    if (std::all_of(ctrls.begin(), ctrls.end(), has)) return path;
  }
  return make_error("no cgroup of this process in hierarchy \"" + mi.mountpoint + "\"");
}

// Without a cgroup namespace: bind the host directory of our own cgroup.
Status bind_own_cgroup(const Ctx& ctx, const MountReq& req, const MountInfo& mi,
                       const std::string& proc_cgroup, const std::string& dest, int target_fd) {
  auto own = own_cgroup(mi, proc_cgroup);
  if (!own) return std::move(own).error();
  std::string rel = *own;
  if (mi.root != "/") {
    if (rel != mi.root && !starts_with(rel, mi.root + "/")) {
      return make_error("cgroup \"" + rel + "\" is outside mount root \"" + mi.root + "\"");
    }
    rel = rel.substr(mi.root.size());
  }
  MountReq bind{dest, join_path(mi.mountpoint, rel), "bind", req.mf};
  bind.mf.flags |= MS_BIND | MS_REC;
  bind.mf.rec_attr_set = bind.mf.rec_attr_clr = 0;
  UniqueFd src(::open(bind.source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!src) return sys_error("bind source \"" + bind.source + "\"");
  auto fd = bind_mount_at(ctx, bind, src.get(), target_fd);
  return fd ? Status{} : Status{std::move(fd).error()};
}

// With a cgroup namespace: a fresh mount of the same hierarchy shows our own
// cgroup as its root.
Status mount_fresh_cgroup(const Ctx& ctx, const MountReq& req, const MountInfo& mi,
                          const std::string& dest, int target_fd) {
  std::string name = base_name(mi.mountpoint);
  MountReq fresh{dest, "cgroup", mi.fstype, MountFlags{}};
  fresh.mf.flags = kDefaultFlags | (req.mf.flags & MS_RDONLY);
  fresh.mf.propagation = req.mf.propagation;
  if (mi.fstype == "cgroup") fresh.mf.data = name == "systemd" ? "name=systemd" : name;
  auto fd = fs_mount_at(ctx, fresh, target_fd, false);
  return fd ? Status{} : Status{std::move(fd).error()};
}

// A directory of the fresh tmpfs `dir_fd` (nobody else can reach it: no
// lookup from the rootfs), as a mount target.
Result<UniqueFd> tmpfs_subdir(int dir_fd, const std::string& name, const std::string& shown) {
  if (::mkdirat(dir_fd, name.c_str(), 0755) < 0 && errno != EEXIST) {
    return sys_error("mkdir \"" + shown + "\"");
  }
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return sys_error("open \"" + shown + "\"");
  return fd;
}

// "cpu,cpuacct" mounted together: cpu -> cpu,cpuacct and cpuacct -> cpu,cpuacct.
Status link_comounted(int dir_fd, const std::string& dest, const std::string& name) {
  if (name.find(',') == std::string::npos) return {};
  for (const auto& ctrl : split(name, ',')) {
    if (::symlinkat(name.c_str(), dir_fd, ctrl.c_str()) < 0 && errno != EEXIST) {
      return sys_error("symlink \"" + join_path(dest, ctrl) + "\"");
    }
  }
  return {};
}

Result<UniqueFd> mount_cgroup_v1(const Ctx& ctx, const MountReq& req) {
  auto all = read_mountinfo();
  if (!all) return std::move(all).error();
  auto proc_cgroup = read_file("/proc/self/cgroup");
  if (!proc_cgroup) return std::move(proc_cgroup).error();
  bool cgroupns = ctx.cfg.linux_ && ctx.cfg.linux_->has_ns(spec::NsType::kCgroup);

  MountReq tmpfs{req.dest, "tmpfs", "tmpfs", MountFlags{}};
  tmpfs.mf.flags = kDefaultFlags;
  tmpfs.mf.data = "mode=755";
  tmpfs.mf.propagation = req.mf.propagation;
  auto root = fs_mount(ctx, tmpfs, false);
  if (!root) return root;
  // Below the tmpfs everything goes through its fd.
  for (const auto& mi : v1_hierarchies(*all)) {
    std::string name = base_name(mi.mountpoint);
    std::string dest = join_path(req.dest, name);
    auto dir = tmpfs_subdir(root->get(), name, dest);
    if (!dir) return std::move(dir).error();
    NSBOX_TRY(cgroupns ? mount_fresh_cgroup(ctx, req, mi, dest, dir->get())
                       : bind_own_cgroup(ctx, req, mi, *proc_cgroup, dest, dir->get()));
    NSBOX_TRY(link_comounted(root->get(), req.dest, name));
  }
  if (req.mf.flags & MS_RDONLY) {
    NSBOX_TRY(remount_fd(req.dest, root->get(), kDefaultFlags | MS_RDONLY, 0));
  }
  return root;
}

}  // namespace

Result<UniqueFd> mount_cgroup(const Ctx& ctx, const MountReq& req) {
  struct statfs sf {};
  if (::statfs(kCgroupRoot, &sf) < 0) return sys_error(std::string("statfs ") + kCgroupRoot);
  if (req.fstype == "cgroup2" || sf.f_type == CGROUP2_SUPER_MAGIC) return mount_cgroup2(ctx, req);
  return mount_cgroup_v1(ctx, req);
}

}  // namespace nsbox::rootfs::detail
