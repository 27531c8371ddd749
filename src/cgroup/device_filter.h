// Internal: the cgroup v2 device controller. The effective rule list
// (devices.h) is compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program, loaded
// with the raw bpf(2) syscall and attached to the container's cgroup2
// directory with BPF_F_ALLOW_MULTI (no libbpf).
//
// Semantics (same as devices.h): for each access bit of a request (mknod,
// read, write; open(O_RDWR) asks for read and write at once), the last rule
// matching the device's type, major, minor and that bit decides; a bit no rule
// matches is denied; the request is allowed only when every bit is. The
// program walks the rules from last to first, clearing the bits that allow
// rules grant, and returns 0 at the first deny rule sharing a still-undecided
// bit, 1 once no bit is left, 0 after the first rule (default deny).
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "cgroup/devices.h"
#include "common/result.h"

namespace nsbox::cgroup {

// The program's instructions. Rules listed before one that covers every
// device and access are never reached (that rule always returns) and are not
// emitted: the verifier rejects dead code. Rules naming a major or minor
// above INT32_MAX can match no device (majors are < 2^12, minors < 2^20) and
// are skipped. Fails on a rule with an invalid type or access.
Result<std::vector<bpf_insn>> device_filter_program(const std::vector<DeviceAccessRule>& rules);

// Load the program for rules and attach it to the cgroup2 directory
// cgroup_dirfd (opened O_RDONLY|O_DIRECTORY; O_PATH fds are refused by the
// kernel). Device programs attached directly to that cgroup before are
// detached once the new one is in place, so calling this again replaces the
// filter and there is never a window without one. The kernel keeps the
// program while it is attached; removing the cgroup detaches it. Errors carry
// the bpf(2) errno (EPERM without CAP_SYS_ADMIN/CAP_BPF, ENOSYS or EINVAL
// without BPF_CGROUP_DEVICE support) and, for a rejected program, the tail of
// the verifier log.
Status attach_device_filter(int cgroup_dirfd, const std::vector<DeviceAccessRule>& rules);

}  // namespace nsbox::cgroup
