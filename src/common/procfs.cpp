#include "common/procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/syscalls.h"
#include "common/util.h"

namespace nsbox::procfs {
namespace {

// The root directory of every procfs instance has inode 1.
constexpr ino_t kProcRootIno = 1;

bool on_procfs(int fd) {
  struct statfs sf {};
  return ::fstatfs(fd, &sf) == 0 && static_cast<unsigned long>(sf.f_type) == PROC_SUPER_MAGIC;
}

Result<UniqueFd> detached_procfs() {
  UniqueFd fs(::fsopen("proc", FSOPEN_CLOEXEC));
  if (!fs) return sys_error("fsopen proc");
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return sys_error("fsconfig proc");
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (!mnt) return sys_error("fsmount proc");
  return mnt;
}

}  // namespace

Result<UniqueFd> open_root() {
  auto detached = detached_procfs();
  if (detached) return detached;
  UniqueFd fd(::open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return sys_error("open /proc");
  struct stat st {};
  if (!on_procfs(fd.get()) || ::fstat(fd.get(), &st) != 0 || st.st_ino != kProcRootIno) {
    return make_error("/proc is not a procfs mount (" + detached.error().msg + ")");
  }
  return fd;
}

Result<UniqueFd> open_file(int root, const std::string& rel, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  UniqueFd fd(sys::openat2(root, rel.c_str(), &how));
  if (!fd) {
    if (errno == EXDEV) return make_error("/proc/" + rel + " is covered by another mount", EXDEV);
    if (errno == ELOOP) return make_error("/proc/" + rel + " goes through a symlink", ELOOP);
    return sys_error("open /proc/" + rel);
  }
  if (!on_procfs(fd.get())) return make_error("/proc/" + rel + " is not on procfs", EXDEV);
  return fd;
}

Status write_file(int root, const std::string& rel, std::string_view value) {
  auto fd = open_file(root, rel, O_WRONLY);
  if (!fd) return std::move(fd).error();
  return write_all(fd->get(), value);
}

Result<UniqueFd> open_verified(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
  if (!fd) return sys_error("open " + path);
  if (!on_procfs(fd.get())) return make_error(path + ": not on procfs", EXDEV);
  return fd;
}

Status write_verified(const std::string& path, std::string_view value) {
  auto fd = open_verified(path, O_WRONLY);
  if (!fd) return std::move(fd).error();
  return write_all(fd->get(), value);
}

}  // namespace nsbox::procfs
