// CVE-2019-5736: while nsbox's own code runs inside a container's PID
// namespace (the init waiting for `start`, the `exec` child before its
// execve), a process of the container that can ptrace it (CAP_SYS_PTRACE in
// the host user namespace: non-dumpable does not stop that) can open
// /proc/PID/exe, keep it, and write the host's nsbox binary once no nsbox
// runs any more. The defence is to run from an image that cannot be written:
// the binary on a read-only mount, or a sealed memfd copy of it.
//
// The CLI re-executes itself from such an image before create, run and exec
// whenever its binary is writable (installing nsbox on a read-only mount
// avoids the re-exec). The image is a detached read-only bind mount of the
// binary (open_tree + mount_setattr: no copy, the page cache is shared), or,
// when the kernel lacks those, a sealed memfd copy.
#pragma once

#include <signal.h>

#include "common/result.h"

namespace nsbox::process {

// /proc/self/exe is on a read-only mount or a sealed memfd (write seal).
bool exe_is_protected();
// execve this program again with the same argv and environment from a
// protected image of /proc/self/exe, with the signal mask `mask` (the
// caller's original one when it has blocked signals since; nullptr: as is).
// Returns only on failure.
Error reexec_protected(const sigset_t* mask);

}  // namespace nsbox::process
