#include "common/syscalls.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace nsbox::sys {
namespace {

struct Injection {
  bool armed = false;
  int err = 0;
  int after = 0;
};
std::array<Injection, 3> g_inject{};

bool injected(Call c) {
  auto& in = g_inject[static_cast<size_t>(c)];
  if (!in.armed) return false;
  if (in.after > 0) {
    --in.after;
    return false;
  }
  in.armed = false;
  errno = in.err;
  return true;
}

}  // namespace

void inject_failure(Call which, int err, int after) {
  g_inject[static_cast<size_t>(which)] = Injection{true, err, after};
}

void clear_failures() { g_inject.fill(Injection{}); }

pid_t clone3(CloneArgs* args) {
  if (injected(Call::kClone3)) return -1;
  long r = ::syscall(SYS_clone3, args, sizeof(CloneArgs));
  if (r >= 0 || errno != ENOSYS) return static_cast<pid_t>(r);
  // Old kernel: plain clone works when no clone3-only field is used.
  if (args->cgroup != 0 || args->set_tid != 0 || args->pidfd != 0) {
    errno = ENOSYS;
    return -1;
  }
  return static_cast<pid_t>(
      ::syscall(SYS_clone, args->flags | args->exit_signal, nullptr, nullptr, nullptr, nullptr));
}

void reset_all_signal_dispositions() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } sa{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::syscall(SYS_rt_sigaction, sig, &sa, nullptr, sizeof sa.mask);
  }
}

int pidfd_open(pid_t pid, unsigned flags) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}

int pidfd_send_signal(int pidfd, int sig, siginfo_t* info, unsigned flags) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags));
}

int openat2(int dirfd, const char* path, const open_how* how) {
  if (injected(Call::kOpenat2)) return -1;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, sizeof(open_how)));
}

int pivot_root(const char* new_root, const char* put_old) {
  if (injected(Call::kPivotRoot)) return -1;
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

}  // namespace nsbox::sys
