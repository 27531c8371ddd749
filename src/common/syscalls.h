// Thin wrappers over syscalls glibc 2.36 lacks or wraps poorly. They return
// -1 and set errno like the libc calls. This is also the seam unit tests use
// to inject failures on error paths (see set_syscall_hook).
#pragma once

#include <linux/openat2.h>
#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace nsbox::sys {

struct CloneArgs {
  uint64_t flags = 0;
  uint64_t pidfd = 0;
  uint64_t child_tid = 0;
  uint64_t parent_tid = 0;
  uint64_t exit_signal = 0;
  uint64_t stack = 0;
  uint64_t stack_size = 0;
  uint64_t tls = 0;
  uint64_t set_tid = 0;
  uint64_t set_tid_size = 0;
  uint64_t cgroup = 0;
};

// clone3 without a new stack: returns twice like fork(). Falls back to
// clone(2) when clone3 is missing (ENOSYS) and the request allows it.
pid_t clone3(CloneArgs* args);
int pidfd_open(pid_t pid, unsigned flags);
int pidfd_send_signal(int pidfd, int sig, siginfo_t* info, unsigned flags);
int openat2(int dirfd, const char* path, const open_how* how);
int pivot_root(const char* new_root, const char* put_old);

// Every signal back to SIG_DFL, including the two real-time signals glibc
// keeps for itself (its sigaction() refuses them, yet a caller may have set
// them to SIG_IGN, and that survives execve).
void reset_all_signal_dispositions();

// Failure injection for unit tests: when set, the named wrapper returns -1
// with the given errno once its call counter reaches `after`.
enum class Call { kClone3, kOpenat2, kPivotRoot };
void inject_failure(Call which, int err, int after = 0);
void clear_failures();

}  // namespace nsbox::sys
