#include "container/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/syscalls.h"
#include "common/util.h"

namespace nsbox::container {

namespace {

std::vector<char*> cstrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Wait for the hook to exit; kill it after `timeout` seconds (-1: no limit).
Result<int> wait_hook(pid_t pid, int timeout_s) {
  UniqueFd pidfd(sys::pidfd_open(pid, 0));
  if (pidfd && timeout_s > 0) {
    pollfd pfd{pidfd.get(), POLLIN, 0};
    int r;
    do {
      r = ::poll(&pfd, 1, timeout_s * 1000);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return make_error("timed out after " + std::to_string(timeout_s) + "s");
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error("waitpid");
  }
  return status;
}

}  // namespace

Status run_hook(const spec::Hook& hook, const std::string& state_json, const char* phase,
                size_t index) {
  std::string what = std::string("hooks.") + phase + "[" + std::to_string(index) + "] " + hook.path;
  std::vector<std::string> args = hook.args;
  if (args.empty()) args.push_back(hook.path);
  std::vector<std::string> env = hook.env;
  auto argv = cstrings(args);
  auto envp = cstrings(env);
  // A hook without "env" gets the runtime's environment, as runc does.
  char** hook_env = hook.env.empty() ? environ : envp.data();
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return sys_error(what + ": pipe");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error(what + ": fork");
  if (pid == 0) {
    ::dup2(rd.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), hook_env);
    ::_exit(127);
  }
  rd.reset();
  // A hook that does not read its stdin must not fail the write: ignore EPIPE.
  (void)write_all(wr.get(), state_json);
  wr.reset();
  auto st = wait_hook(pid, hook.timeout.value_or(-1));
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
