// Container root filesystem setup, run by the container's init process after
// clone(), inside its new mount namespace (and possibly a new user namespace).
// No exceptions: every call returns Status/Result. Every fd is O_CLOEXEC.
//
// Preconditions:
//  - The caller is already in its own mount namespace (CLONE_NEWNS).
//  - prepare(): cwd is the bundle directory (relative bind-mount sources and a
//    relative `rootfs` are resolved against it); the host's /proc is mounted.
//    On success cwd is the rootfs (its self bind mount), ready for enter().
//  - enter()/switch_root(): called after prepare() (hooks may run in between)
//    with cwd left where prepare() put it. Afterwards cwd is the container's "/".
//  - finalize(): maskedPaths/readonlyPaths and deferred read-only remounts go
//    through /proc/self/fd/N, so they need the container's /proc mounted
//    (missing paths are skipped, so configs without /proc masks are fine).
//    prepare() keeps fds of the mounts whose read-only remount is deferred
//    (tmpfs, /dev) for finalize() in the same process, which closes them.
//
// Every mount is attached to the fd of its resolved destination and then
// configured (remount, propagation, recursive attributes) through its own fd
// (open_tree/fsopen/fsmount + move_mount, Linux 5.2+): the destination is
// looked up once, so a path swapped meanwhile cannot redirect a later step.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "spec/config.h"

namespace nsbox::rootfs {

// An annotation nsbox reads: "true" makes the whole rootfs tree (the self
// bind mount and every mount below it) read-only before the config's mounts
// are made, so that no mount target is created in it. `nsbox sandbox` sets it
// for the host's root filesystem. root.readonly only covers the top mount.
inline constexpr const char* kRecursiveReadonlyAnnotation = "io.github.nsbox.rootfs.rro";

struct Options {
  bool no_pivot = false;    // --no-pivot: MS_MOVE + chroot instead of pivot_root
  bool in_user_ns = false;  // mknod not allowed: bind-mount host device nodes instead
};

// Step 1 (before pivot): root propagation, rootfs self bind mount, every
// cfg.mounts entry in order, then /dev content (default devices, symlinks,
// /dev/ptmx) unless /dev is a bind mount, and linux.devices.
Status prepare(const spec::Config& cfg, const std::string& rootfs, const Options& opt);

// Step 2: enter() = switch_root() + finalize(). Callers that write /proc/sys
// (linux.sysctl) must do it between the two, as runc does, because
// readonlyPaths usually makes /proc/sys read-only.
Status enter(const spec::Config& cfg, const Options& opt);
// pivot_root (or MS_MOVE + chroot with no_pivot) into the cwd set by
// prepare(); cwd becomes "/". Then rootfsPropagation, stdio fds on the host's
// /dev/null moved to the container's, and process.cwd created (in-root).
Status switch_root(const spec::Config& cfg, const Options& opt);
// readonlyPaths, maskedPaths, read-only remounts deferred by prepare() (tmpfs
// and /dev mounts), and last root.readonly (keeping the mount's locked flags).
Status finalize(const spec::Config& cfg);

// Open `path` inside the tree rooted at `rootfd` like openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS): absolute symlinks and ".." stay inside the root.
// Falls back to a component-by-component walk when openat2 is missing.
// O_CLOEXEC is always added. Error code is the errno of the failure.
Result<UniqueFd> open_in_root(int rootfd, const std::string& path, int flags, mode_t mode = 0);

// mkdir -p inside the root, each component resolved in-root (a dangling
// symlink gets its target created in-root). Returns an O_PATH fd of the final
// directory; ENOTDIR when an existing component is not a directory.
Result<UniqueFd> mkdir_all_in_root(int rootfd, const std::string& path, mode_t mode);

// Parsed "options" of a mount entry (exported for unit tests).
struct MountFlags {
  unsigned long flags = 0;  // MS_* set
  unsigned long clear = 0;  // MS_* explicitly cleared ("rw", "suid", "dev", "exec", ...)
  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (|MS_REC); the last one given wins.
  unsigned long propagation = 0;
  bool bind = false, rbind = false;
  uint64_t rec_attr_set = 0;  // MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE): "rro", "rnosuid"...
  uint64_t rec_attr_clr = 0;
  std::string data;  // unknown options joined with ',' as fs data (mode=755,size=...)
  // "tmpcopyup" (tmpfs only): the destination's content in the rootfs is
  // copied into the new tmpfs before it is attached (runc, crun).
  bool tmpcopyup = false;
};
// Errors: `mount option "idmap": not supported yet` (idmap, ridmap).
Result<MountFlags> parse_mount_options(const std::vector<std::string>& options);

// Every option name parse_mount_options() takes as a flag, propagation,
// recursive attribute or tmpcopyup (not filesystem data, not the unsupported
// idmap/ridmap), sorted: the "mountOptions" of the features document.
std::vector<std::string> known_mount_options();

}  // namespace nsbox::rootfs
