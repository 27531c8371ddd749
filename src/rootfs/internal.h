// Helpers shared by the rootfs/*.cpp files. Not part of the public API.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "rootfs/rootfs.h"
#include "spec/config.h"

namespace nsbox::rootfs::detail {

// umask(m) for the lifetime of the guard.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
  ~UmaskGuard() { ::umask(old_); }
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;

 private:
  mode_t old_;
};

// ---- paths (safe_path.cpp) ----

// "/proc/self/fd/N": the way to name an fd-resolved target for mount(2).
std::string fd_path(int fd);
// "/" + p, lexically cleaned: the in-container form of a destination.
std::string container_path(std::string_view p);
// Split "/a/b/c" into "/a/b" and "c" ("" for "/").
std::pair<std::string, std::string> split_last(const std::string& clean);
// Where an fd points, relative to `root_real` ("/x/y"); error when outside.
Result<std::string> path_in_root(int fd, const std::string& root_real);
// An O_PATH fd of `path` in-root; when missing, an empty file is created
// there (parents created as directories).
Result<UniqueFd> create_file_in_root(int rootfd, const std::string& path, mode_t mode);

// ---- mount syscalls (mount_util.cpp) ----

// mount(2) onto the object behind target_fd; errors are "<what>: <errno>".
Status mount_fd(const std::string& what, const char* source, int target_fd, const char* fstype,
                unsigned long flags, const char* data);
// Per-mount MS_* flags of the mount holding fd (fstatvfs f_flag translated).
Result<unsigned long> mount_flags_of(int fd);
// MS_REMOUNT|MS_BIND of the mount at fd. On EPERM, retry with the mount's
// locked flags added unless the request explicitly cleared one (runc).
Status remount_fd(const std::string& shown, int fd, unsigned long flags, unsigned long cleared);
// mount_setattr(AT_RECURSIVE) with the r* option attributes; no-op when none.
Status set_recursive_attrs(const std::string& shown, int fd, uint64_t set, uint64_t clr);

// The new mount API: a mount is built detached, attached to a target fd with
// move_mount(2), and its fd then names the attached mount, so nothing is
// looked up by path after the target was resolved. Error code ENOSYS means
// "use mount(2)": a kernel before 5.2, or flags/data fsconfig cannot carry.
//
// open_tree(OPEN_TREE_CLONE): a detached copy of the mount (tree) at src_fd.
Result<UniqueFd> clone_mount(const std::string& what, int src_fd, bool recursive);
// fsopen/fsconfig/fsmount: a detached new filesystem; `flags` (MS_*) and the
// comma-separated `data` are applied as mount(2) would.
Result<UniqueFd> create_fs_mount(const std::string& what, const std::string& fstype,
                                 const std::string& source, unsigned long flags,
                                 const std::string& data);
// move_mount(2) of the detached mount mnt_fd onto target_fd.
Status attach_mount(const std::string& what, int mnt_fd, int target_fd);
// After a mount(2) fallback: mnt_fd (the destination looked up again) must be
// the root of a mount other than the one holding target_fd (when statx can tell).
Status check_new_mount(const std::string& shown, int mnt_fd, int target_fd);

struct MountInfo {
  std::string root;        // root of the mount within its filesystem
  std::string mountpoint;  // relative to the process root
  std::string fstype;
  std::string source;
  std::string super_opts;
};
Result<std::vector<MountInfo>> read_mountinfo();

// ---- tmpcopyup (copy_up.cpp) ----

// Copy the content of src_dir (a directory of the rootfs) into dst_dir (the
// root of the new tmpfs): files, directories, symlinks (as links), device
// nodes and fifos, with owner, mode, times and extended attributes (best
// effort). Lookups are relative to directory fds with O_NOFOLLOW: the copy
// never leaves src_dir. `shown` is the destination, for errors.
Status copy_up(int src_dir, int dst_dir, const std::string& shown);

// ---- mounts (mounts.cpp) ----

// State of prepare() shared by the mount and device code.
struct Ctx {
  const spec::Config& cfg;
  const Options& opt;
  int rootfd;             // O_PATH of the rootfs (after its self bind mount)
  std::string root_real;  // canonical host path of the rootfs
};

// One mount request with a cleaned in-container destination.
struct MountReq {
  std::string dest;
  std::string source;
  std::string fstype;
  MountFlags mf;
};

bool is_bind(const spec::Mount& m, const MountFlags& mf);
// tmpfs and /dev mounts stay writable until enter() (devices, chmod, ...).
bool defers_ro(const spec::Mount& m, const MountFlags& mf);
// Each returns an fd of the new (topmost) mount it made: everything done to
// the mount afterwards (remount, propagation, mount_setattr) goes through it.
Result<UniqueFd> mount_entry(const Ctx& ctx, const spec::Mount& m);
Result<UniqueFd> bind_mount(const Ctx& ctx, const MountReq& req);
Result<UniqueFd> fs_mount(const Ctx& ctx, const MountReq& req, bool defer_ro);
// The same onto an already resolved target (a directory fd or a file fd);
// src_fd is the bind source (O_PATH).
Result<UniqueFd> bind_mount_at(const Ctx& ctx, const MountReq& req, int src_fd, int target_fd);
Result<UniqueFd> fs_mount_at(const Ctx& ctx, const MountReq& req, int target_fd, bool defer_ro);
// Resolve an existing destination in-root (after a mount: the new top mount).
// Only for the mount(2) fallback: a path can be swapped under our feet.
Result<UniqueFd> reopen_target(const Ctx& ctx, const std::string& dest);

// ---- cgroup mounts (cgroup_mount.cpp) ----
Result<UniqueFd> mount_cgroup(const Ctx& ctx, const MountReq& req);

// ---- devices (devices.cpp) ----

// False when a mount of "/dev" is a bind mount (runc: the host's /dev is used).
bool needs_dev_setup(const spec::Config& cfg);
Status setup_devices(const Ctx& ctx);
// After pivot: point fds 0-2 that are the host's /dev/null at the container's.
Status reopen_dev_null();

// ---- switching root (pivot.cpp) ----
Status pivot_to_cwd();
Status move_root_to_cwd();

}  // namespace nsbox::rootfs::detail
