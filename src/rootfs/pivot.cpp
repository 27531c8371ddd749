// Switching "/" to the rootfs (the cwd): pivot_root, or MS_MOVE + chroot.
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "common/syscalls.h"
#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs::detail {
namespace {

// The initramfs is the "rootfs" mount at the top of the mount tree; it
// cannot be pivoted away from (a tmpfs root after switch_root can).
bool root_is_initramfs() {
  auto mounts = read_mountinfo();
  if (!mounts) return false;
  std::string fstype;
  for (const auto& mi : *mounts) {
    if (mi.mountpoint == "/") fstype = mi.fstype;  // the last one is on top
  }
  return fstype == "rootfs";
}

Error pivot_error(int err) {
  if (err == EINVAL && root_is_initramfs()) {
    return sys_error(
        "pivot_root (the current root is an initramfs, which cannot be "
        "pivoted: use --no-pivot)",
        err);
  }
  return sys_error("pivot_root", err);
}

// chroot(2) leaves the host's procfs/sysfs mounts reachable in this mount
// namespace, which the kernel counts when checking later proc/sysfs mounts:
// detach the full ones outside the rootfs, or cover them (runc msMoveRoot).
Status hide_host_proc_sys(const std::string& rootfs) {
  auto mounts = read_mountinfo();
  if (!mounts) return std::move(mounts).error();
  for (const auto& mi : *mounts) {
    if (mi.root != "/" || (mi.fstype != "proc" && mi.fstype != "sysfs")) continue;
    const std::string& p = mi.mountpoint;
    if (p == rootfs || starts_with(p, rootfs + "/")) continue;
    if (::mount(nullptr, p.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // a parent is already gone
      return sys_error("make \"" + p + "\" rslave");
    }
    if (::umount2(p.c_str(), MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) return sys_error("unmount \"" + p + "\"");
    if (::mount("tmpfs", p.c_str(), "tmpfs", 0, nullptr) < 0) {
      return sys_error("cover \"" + p + "\" with tmpfs");
    }
  }
  return {};
}

}  // namespace

Status pivot_to_cwd() {
  UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!oldroot) return sys_error("open \"/\"");
  if (sys::pivot_root(".", ".") < 0) return pivot_error(errno);
  // The old root is now stacked on "."; detach it without propagating.
  if (::fchdir(oldroot.get()) < 0) return sys_error("fchdir to old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    return sys_error("make old root rslave");
  }
  if (::umount2(".", MNT_DETACH) < 0) return sys_error("unmount old root");
  if (::chdir("/") < 0) return sys_error("chdir \"/\"");
  return {};
}

Status move_root_to_cwd() {
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return sys_error("getcwd");
  NSBOX_TRY(hide_host_proc_sys(cwd));
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) {
    return sys_error("move rootfs \"" + std::string(cwd) + "\" to \"/\"");
  }
  if (::chroot(".") < 0) return sys_error("chroot");
  if (::chdir("/") < 0) return sys_error("chdir \"/\"");
  return {};
}

}  // namespace nsbox::rootfs::detail
