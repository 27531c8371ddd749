#include "container/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string_view>

#include "common/fd.h"
#include "common/syscalls.h"
#include "common/util.h"

namespace nsbox::container {

namespace {

int poll_ms(std::chrono::steady_clock::time_point deadline, int timeout_s) {
  if (timeout_s <= 0) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

Result<int> reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error("waitpid");
  }
  return status;
}

// SIGPIPE blocked for the lifetime of the guard, and a pending one discarded
// on the way out: the container init runs hooks with default dispositions,
// and a hook that closes its stdin unread must only cost us an EPIPE.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::sigprocmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    timespec zero{};
    while (::sigtimedwait(&pipe_, nullptr, &zero) > 0) {
    }
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
};

// Feed the state to the hook's stdin while waiting for it to exit, so that a
// hook that does not read its stdin (and a state larger than the pipe) cannot
// hold us past its timeout; kill it after `timeout_s` seconds (<= 0: no limit).
// `wr` is non-blocking. Returns the wait status.
Result<int> feed_and_wait(pid_t pid, UniqueFd wr, std::string_view data, int timeout_s) {
  SigpipeGuard no_sigpipe;
  UniqueFd pidfd(sys::pidfd_open(pid, 0));
  if (!pidfd) {  // no pidfd: no timeout either
    while (!data.empty()) {
      pollfd out{wr.get(), POLLOUT, 0};
      if (::poll(&out, 1, -1) < 0 && errno != EINTR) break;
      ssize_t n = ::write(wr.get(), data.data(), data.size());
      if (n < 0 && errno != EAGAIN && errno != EINTR) break;  // EPIPE: not read
      if (n > 0) data.remove_prefix(static_cast<size_t>(n));
    }
    wr.reset();
    return reap(pid);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  if (data.empty()) wr.reset();
  for (;;) {
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {wr.get(), POLLOUT, 0}};
    int r = ::poll(fds, wr ? 2 : 1, poll_ms(deadline, timeout_s));
    if (r < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll");
    }
    if (r == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return make_error("timed out after " + std::to_string(timeout_s) + "s");
    }
    if (fds[0].revents != 0) break;  // exited
    if (wr && fds[1].revents != 0) {
      ssize_t n = ::write(wr.get(), data.data(), data.size());
      if (n > 0) data.remove_prefix(static_cast<size_t>(n));
      // Done, or EPIPE: a hook that does not read its stdin is not an error.
      if (data.empty() || (n < 0 && errno != EAGAIN && errno != EINTR)) wr.reset();
    }
  }
  return reap(pid);
}

}  // namespace

Status run_hook(const spec::Hook& hook, const std::string& state_json, const char* phase,
                size_t index) {
  std::string what = std::string("hooks.") + phase + "[" + std::to_string(index) + "] " + hook.path;
  std::vector<std::string> args = hook.args;
  if (args.empty()) args.push_back(hook.path);
  std::vector<std::string> env = hook.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  // A hook without "env" gets the runtime's environment, as runc does.
  char** hook_env = hook.env.empty() ? environ : envp.data();
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return sys_error(what + ": pipe");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  if (::fcntl(wr.get(), F_SETFL, O_NONBLOCK) < 0) return sys_error(what + ": fcntl");
  sigset_t none;
  sigemptyset(&none);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error(what + ": fork");
  if (pid == 0) {
    // The runtime ignores SIGPIPE and may block signals (run): a hook starts
    // with default dispositions and nothing blocked, as a shell would run it.
    sys::reset_all_signal_dispositions();
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(rd.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), hook_env);
    ::_exit(127);
  }
  rd.reset();
  auto st = feed_and_wait(pid, std::move(wr), state_json, hook.timeout.value_or(-1));
  if (!st) return std::move(st).error().wrap(what);
  int s = *st;
  if (WIFEXITED(s) && WEXITSTATUS(s) == 0) return {};
  if (WIFEXITED(s) && WEXITSTATUS(s) == 127 && ::access(hook.path.c_str(), X_OK) < 0) {
    return sys_error(what + ": exec");
  }
  if (WIFSIGNALED(s)) return make_error(what + ": killed by signal " + std::to_string(WTERMSIG(s)));
  return make_error(what + ": exited with status " + std::to_string(WEXITSTATUS(s)));
}

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& state_json,
                 const char* phase) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    NSBOX_TRY(run_hook(hooks[i], state_json, phase, i));
  }
  return {};
}

std::vector<std::string> run_hooks_warn(const std::vector<spec::Hook>& hooks,
                                        const std::string& state_json, const char* phase) {
  std::vector<std::string> warnings;
  for (size_t i = 0; i < hooks.size(); ++i) {
    auto r = run_hook(hooks[i], state_json, phase, i);
    if (!r) warnings.push_back(r.error().msg);
  }
  return warnings;
}

}  // namespace nsbox::container
