// cfg.mounts entries: targets resolved in-root once; each mount is built
// detached and attached to the target's fd (move_mount), then configured
// through its own fd, so a path swapped after the lookup cannot redirect a
// remount, a propagation change or the recursive attributes (CVE-2021-30465
// class). Kernels without the new mount API mount through /proc/self/fd/N.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <string_view>

#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs::detail {
namespace {

// Entries under /proc that may be mount targets (lxcfs-style emulation; runc).
constexpr std::string_view kProcAllowed[] = {
    "/proc/cpuinfo",     "/proc/diskstats",       "/proc/meminfo",
    "/proc/stat",        "/proc/swaps",           "/proc/uptime",
    "/proc/loadavg",     "/proc/slabinfo",        "/proc/pressure/cpu",
    "/proc/pressure/io", "/proc/pressure/memory", "/proc/sys/kernel/ns_last_pid",
};

bool is_procfs(int fd) {
  struct statfs sf {};
  return fd >= 0 && ::fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

// /proc itself only takes a procfs (fresh or bound); below it only the allow list.
Status check_proc_dest(const std::string& path, const MountReq& req, bool bind, int src_fd) {
  if (path != "/proc" && !starts_with(path, "/proc/")) return {};
  if (path == "/proc") {
    if (bind ? is_procfs(src_fd) : req.fstype == "proc") return {};
    return make_error("\"" + path + "\" cannot be mounted because it is not of type proc");
  }
  for (auto ok : kProcAllowed) {
    if (path == ok) return {};
  }
  return make_error("\"" + path + "\" cannot be mounted because it is inside /proc");
}

struct Target {
  UniqueFd fd;
  std::string resolved;  // in-container path after symlink resolution
};

// Create (directory or empty file) and resolve the mount target in-root.
Result<Target> make_target(const Ctx& ctx, const MountReq& req, bool dir, bool bind, int src_fd) {
  NSBOX_TRY(check_proc_dest(req.dest, req, bind, src_fd));
  auto fd = dir ? mkdir_all_in_root(ctx.rootfd, req.dest, 0755)
                : create_file_in_root(ctx.rootfd, req.dest, 0644);
  if (!fd) return std::move(fd).error();
  auto where = path_in_root(fd->get(), ctx.root_real);
  if (!where) return std::move(where).error().wrap("destination \"" + req.dest + "\"");
  if (*where != req.dest) NSBOX_TRY(check_proc_dest(*where, req, bind, src_fd));
  return Target{std::move(fd).value(), std::move(where).value()};
}

// After the mount, on the new mount's fd: bind remount with flags (when
// non-zero), propagation, and the recursive attributes (when asked now).
Status finish_mount(const MountReq& req, int mnt_fd, unsigned long remount, bool rec_attrs) {
  if (remount) NSBOX_TRY(remount_fd(req.dest, mnt_fd, remount, req.mf.clear));
  if (req.mf.propagation != 0) {
    NSBOX_TRY(mount_fd("set propagation of \"" + req.dest + "\"", nullptr, mnt_fd, nullptr,
                       req.mf.propagation, nullptr));
  }
  if (rec_attrs) {
    NSBOX_TRY(set_recursive_attrs(req.dest, mnt_fd, req.mf.rec_attr_set, req.mf.rec_attr_clr));
  }
  return {};
}

// mount(2) fallback (no new mount API, or flags only mount(2) takes): the new
// mount is reached by looking the destination up again, then checked.
Result<UniqueFd> reopen_new_mount(const Ctx& ctx, const MountReq& req, int target_fd) {
  auto fd = reopen_target(ctx, req.dest);
  if (!fd) return fd;
  NSBOX_TRY(check_new_mount(req.dest, fd->get(), target_fd));
  return fd;
}

// runc: procfs and sysfs only go on an ordinary directory, never through a
// symlink (a hostile rootfs could otherwise move them, and the masks meant
// for them, somewhere else).
Status check_special_fs_dest(const Ctx& ctx, const MountReq& req) {
  if (req.fstype != "proc" && req.fstype != "sysfs") return {};
  auto fd = open_in_root(ctx.rootfd, req.dest, O_PATH | O_NOFOLLOW);
  if (!fd) return fd.error().code == ENOENT ? Status{} : Status{std::move(fd).error()};
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0) return sys_error("stat \"" + req.dest + "\"");
  if (S_ISDIR(st.st_mode)) return {};
  return make_error("\"" + req.dest + "\": filesystem \"" + req.fstype +
                    "\" must be mounted on an ordinary directory");
}

}  // namespace

bool is_bind(const spec::Mount& m, const MountFlags& mf) {
  return mf.bind || mf.rbind || m.type == "bind";
}

bool defers_ro(const spec::Mount& m, const MountFlags& mf) {
  return !is_bind(m, mf) && (m.type == "tmpfs" || container_path(m.destination) == "/dev");
}

Result<UniqueFd> reopen_target(const Ctx& ctx, const std::string& dest) {
  return open_in_root(ctx.rootfd, dest, O_PATH);
}

Result<UniqueFd> bind_mount_at(const Ctx& ctx, const MountReq& req, int src_fd, int target_fd) {
  std::string what = "bind mount \"" + req.source + "\" on \"" + req.dest + "\"";
  bool rec = (req.mf.flags & MS_REC) != 0;
  UniqueFd top;
  auto tree = clone_mount(what, src_fd, rec);
  if (tree) {
    NSBOX_TRY(attach_mount(what, tree->get(), target_fd));
    top = std::move(tree).value();
  } else if (tree.error().code != ENOSYS) {
    return std::move(tree).error();
  } else {
    NSBOX_TRY(mount_fd(what, fd_path(src_fd).c_str(), target_fd, nullptr,
                       MS_BIND | (req.mf.flags & MS_REC), nullptr));
    auto fd = reopen_new_mount(ctx, req, target_fd);
    if (!fd) return fd;
    top = std::move(fd).value();
  }
  // A bind mount ignores ro/nosuid/...: they need a remount (only when asked).
  bool extra = (req.mf.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0;
  NSBOX_TRY(finish_mount(req, top.get(), extra ? req.mf.flags : 0, true));
  return top;
}

Result<UniqueFd> bind_mount(const Ctx& ctx, const MountReq& req) {
  UniqueFd src(::open(req.source.c_str(), O_PATH | O_CLOEXEC));
  if (!src) return sys_error("bind source \"" + req.source + "\"");
  struct stat st {};
  if (::fstat(src.get(), &st) < 0) return sys_error("stat bind source \"" + req.source + "\"");
  auto target = make_target(ctx, req, S_ISDIR(st.st_mode), true, src.get());
  if (!target) return std::move(target).error();
  return bind_mount_at(ctx, req, src.get(), target->fd.get());
}

Result<UniqueFd> fs_mount_at(const Ctx& ctx, const MountReq& req, int target_fd, bool defer_ro) {
  unsigned long flags = defer_ro ? req.mf.flags & ~MS_RDONLY : req.mf.flags;
  std::string source = req.source.empty() ? "none" : req.source;
  std::string what = "mount \"" + req.dest + "\" (" + req.fstype + ")";
  // tmpcopyup: what the destination holds now, read before it is covered.
  UniqueFd copy_from;
  if (req.mf.tmpcopyup) {
    copy_from.reset(::openat(target_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!copy_from) return sys_error("tmpcopyup: open \"" + req.dest + "\"");
  }
  UniqueFd top;
  auto mnt = create_fs_mount(what, req.fstype, source, flags, req.mf.data);
  if (mnt) {
    // Filled while detached: the container never sees a half-copied tmpfs.
    if (copy_from) NSBOX_TRY(copy_up(copy_from.get(), mnt->get(), req.dest));
    NSBOX_TRY(attach_mount(what, mnt->get(), target_fd));
    top = std::move(mnt).value();
  } else if (mnt.error().code != ENOSYS) {
    return std::move(mnt).error();
  } else {
    const char* data = req.mf.data.empty() ? nullptr : req.mf.data.c_str();
    NSBOX_TRY(mount_fd(what, source.c_str(), target_fd, req.fstype.c_str(), flags, data));
    auto fd = reopen_new_mount(ctx, req, target_fd);
    if (!fd) return fd;
    top = std::move(fd).value();
    if (copy_from) NSBOX_TRY(copy_up(copy_from.get(), top.get(), req.dest));
  }
  NSBOX_TRY(finish_mount(req, top.get(), 0, !defer_ro));
  return top;
}

Result<UniqueFd> fs_mount(const Ctx& ctx, const MountReq& req, bool defer_ro) {
  NSBOX_TRY(check_special_fs_dest(ctx, req));
  auto target = make_target(ctx, req, true, false, -1);
  if (!target) return std::move(target).error();
  // The check above looked the path up on its own: the target we mount on
  // must still be that directory, reached through no symlink at all.
  if ((req.fstype == "proc" || req.fstype == "sysfs") && target->resolved != req.dest) {
    return make_error("\"" + req.dest + "\": filesystem \"" + req.fstype +
                      "\" must be mounted on an ordinary directory");
  }
  return fs_mount_at(ctx, req, target->fd.get(), defer_ro);
}

Result<UniqueFd> mount_entry(const Ctx& ctx, const spec::Mount& m) {
  if (m.destination.empty()) return make_error("destination is empty");
  auto mf = parse_mount_options(m.options);
  if (!mf) return std::move(mf).error();
  if (mf->tmpcopyup && (is_bind(m, *mf) || m.type != "tmpfs")) {
    return make_error("mount option \"tmpcopyup\": only for tmpfs mounts");
  }
  MountReq req{container_path(m.destination), m.source, m.type, *mf};
  if (is_bind(m, *mf)) {
    req.mf.flags |= MS_BIND;
    return bind_mount(ctx, req);
  }
  if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroup(ctx, req);
  auto r = fs_mount(ctx, req, defers_ro(m, *mf));
  if (r || m.type != "sysfs" || r.error().code != EPERM) return r;
  // As runc: a user namespace that does not own the network namespace may
  // not mount sysfs; bind the runtime's /sys instead, with the same flags.
  req.source = "/sys";
  req.mf.flags |= MS_BIND | MS_REC;
  req.mf.data.clear();
  return bind_mount(ctx, req);
}

}  // namespace nsbox::rootfs::detail
