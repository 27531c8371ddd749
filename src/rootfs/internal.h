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

struct MountInfo {
  std::string root;        // root of the mount within its filesystem
  std::string mountpoint;  // relative to the process root
  std::string fstype;
  std::string source;
  std::string super_opts;
};
Result<std::vector<MountInfo>> read_mountinfo();

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
Status mount_entry(const Ctx& ctx, const spec::Mount& m);
Status bind_mount(const Ctx& ctx, const MountReq& req);
Status fs_mount(const Ctx& ctx, const MountReq& req, bool defer_ro);
// Resolve an existing destination in-root (after a mount: the new top mount).
Result<UniqueFd> reopen_target(const Ctx& ctx, const std::string& dest);

// ---- cgroup mounts (cgroup_mount.cpp) ----
Status mount_cgroup(const Ctx& ctx, const MountReq& req);

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
