// CVE-2019-5736: while nsbox's own code runs inside a container's PID
// namespace (the init waiting for `start`), a process of the container that
// can ptrace it (CAP_SYS_PTRACE in the host user namespace: non-dumpable
// does not stop that) can open /proc/PID/exe, keep it, and write the host's
// nsbox binary once no nsbox runs any more. The defence is to run from an
// image that cannot be written: a sealed memfd copy of the binary, or a
// binary on a read-only mount.
//
// nsbox pays the re-exec only when the init is exposed at create time: its
// PID namespace is joined or the host's, so other processes are in it
// before `start`. A new PID namespace holds only the init until `start`.
#pragma once

#include <signal.h>

#include "common/result.h"

namespace nsbox::process {

// /proc/self/exe is a sealed memfd (write seal) or on a read-only mount.
bool exe_is_protected();
// execve this program again with the same argv and environment from a
// sealed memfd copy of /proc/self/exe, with the signal mask `mask` (the
// caller's original one when it has blocked signals since; nullptr: as is).
// Returns only on failure.
Error reexec_sealed(const sigset_t* mask);

}  // namespace nsbox::process
