// Waiting for a container process in the foreground (`run`, `exec`): signals
// forwarded, a terminal proxied, the exit status returned for the shell.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "common/syscalls.h"
#include "container/internal.h"

namespace nsbox::container {

Result<Forwarding> block_signals_for_forwarding() {
  Forwarding f;
  sigset_t all;
  sigfillset(&all);
  for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) sigdelset(&all, s);
  ::sigprocmask(SIG_BLOCK, &all, &f.orig);
  f.sigfd.reset(::signalfd(-1, &all, SFD_CLOEXEC));
  if (!f.sigfd) {
    int err = errno;
    ::sigprocmask(SIG_SETMASK, &f.orig, nullptr);
    return sys_error("signalfd", err);
  }
  return f;
}

namespace {

// SIGCHLD: reap (every orphan too when we are a subreaper); true once `pid`
// has exited, with its shell status.
bool reap(pid_t pid, bool reap_all, int* status) {
  for (;;) {
    int st = 0;
    pid_t p = ::waitpid(reap_all ? -1 : pid, &st, WNOHANG);
    if (p <= 0) return false;
    if (p != pid) continue;
    *status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    return true;
  }
}

}  // namespace

int wait_forwarding(pid_t pid, int sigfd, process::TerminalProxy* tty, bool reap_all) {
  UniqueFd pidfd(sys::pidfd_open(pid, 0));
  bool master_open = tty != nullptr;
  for (;;) {
    pollfd fds[3] = {{sigfd, POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
    if (tty != nullptr) {
      fds[1].fd = tty->stdin_fd();
      if (master_open) fds[2].fd = tty->master_fd();
    }
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return 255;
    }
    if (fds[1].revents != 0) tty->on_stdin();
    if (fds[2].revents != 0) master_open = tty->on_master();
    if (fds[0].revents == 0) continue;
    signalfd_siginfo si{};
    if (::read(sigfd, &si, sizeof si) != sizeof si) continue;
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      int status = 0;
      if (!reap(pid, reap_all, &status)) continue;
      if (tty != nullptr && master_open) tty->drain();
      return status;
    }
    if (sig == SIGWINCH) {
      if (tty != nullptr) tty->on_window_change();
      continue;
    }
    if (sig != SIGURG) (void)sys::pidfd_send_signal(pidfd.get(), sig, nullptr, 0);
  }
}

}  // namespace nsbox::container
