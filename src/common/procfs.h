// Writes nsbox makes to procfs from inside a container's mount namespace
// (sysctls, LSM attributes) must reach the kernel, not a file the bundle
// mounted over /proc (a bind mount of a host file over /proc/sys/..., a
// tmpfs, a symlink: the 2025 procfs-write races against runc). They go
// through a private procfs instance that no container mount can cover,
// with every path opened beneath it, never crossing a mount or following a
// symlink, and the result checked to be on procfs.
#pragma once

#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/result.h"

namespace nsbox::procfs {

// A detached procfs mount (fsopen/fsmount) of the caller's PID namespace;
// when the kernel refuses one (no new mount API; in a user namespace
// without a fully visible /proc), the /proc directory of the current root
// if it is the root of a procfs mount.
Result<UniqueFd> open_root();
// rel ("sys/kernel/msgmax") beneath root: RESOLVE_BENEATH, no symlinks, no
// mount crossings; the file must be on procfs.
Result<UniqueFd> open_file(int root, const std::string& rel, int flags);
Status write_file(int root, const std::string& rel, std::string_view value);
// For the runtime's own /proc (the host mount namespace, which no bundle
// can change): open path without following a final symlink and check that
// the file is on procfs.
Result<UniqueFd> open_verified(const std::string& path, int flags);
Status write_verified(const std::string& path, std::string_view value);

}  // namespace nsbox::procfs
