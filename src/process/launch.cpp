#include "process/launch.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "common/syscalls.h"
#include "common/util.h"
#include "security/lsm.h"
#include "security/rlimits.h"
#include "security/user.h"

namespace nsbox::process {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Status load_seccomp(const security::SeccompFilter* filter) {
  if (filter == nullptr) return {};
  auto none = security::load_seccomp(*filter);
  if (!none) return std::move(none).error();
  return {};
}

}  // namespace

void close_unpreserved_fds(int preserve_fds) {
  unsigned first = 3U + static_cast<unsigned>(preserve_fds);
  ::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd = 3; fd < 3 + preserve_fds; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
}

void reset_signals(const sigset_t* mask) {
  sys::reset_all_signal_dispositions();
  if (mask != nullptr) ::sigprocmask(SIG_SETMASK, mask, nullptr);
}

Error launch(const Launch& l) {
  const auto& proc = *l.proc;
  // Allocated first: a seccomp filter may refuse what malloc needs.
  std::vector<std::string> args = proc.args;
  std::vector<std::string> env = proc.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  if (auto r = security::set_exec_labels(proc); !r) return std::move(r).error();
  if (auto r = security::apply_rlimits(proc.rlimits); !r) return std::move(r).error();
  // seccomp without no_new_privs needs CAP_SYS_ADMIN: load before the user
  // switch drops it; with no_new_privs, right before execve.
  if (!proc.no_new_privileges) {
    if (auto r = load_seccomp(l.seccomp); !r) return std::move(r).error();
  }
  if (auto r = security::switch_user(proc.user, l.caps); !r) return std::move(r).error();
  if (proc.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return sys_error("process.noNewPrivileges");
  }
  reset_signals(l.sigmask);
  if (proc.no_new_privileges) {
    if (auto r = load_seccomp(l.seccomp); !r) return std::move(r).error();
  }
  ::execve(l.exe.c_str(), argv.data(), envp.data());
  return sys_error("exec " + l.exe);
}

// Messages as runc's (Go's exec.LookPath and os.Stat), which engines match:
// podman maps "no such file or directory" / "executable file not found in
// $PATH" to exit 127 and "permission denied" to 126.
Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env) {
  auto check = [](const std::string& p) -> Status {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) {
      int err = errno;
      std::string why = err == ENOENT ? "no such file or directory" : lower(std::strerror(err));
      return make_error("exec: \"" + p + "\": stat " + p + ": " + why, err);
    }
    if (S_ISDIR(st.st_mode) || ::access(p.c_str(), X_OK) < 0) {
      return make_error("exec: \"" + p + "\": permission denied", EACCES);
    }
    return {};
  };
  if (arg0.find('/') != std::string::npos) {
    NSBOX_TRY(check(arg0));
    return arg0;
  }
  std::string path = kDefaultPath;
  for (const auto& e : env) {
    if (starts_with(e, "PATH=")) path = e.substr(5);
  }
  // As LookPath: a candidate that is not an executable file is skipped.
  for (const auto& dir : split(path, ':')) {
    std::string cand = (dir.empty() ? "." : dir) + "/" + arg0;
    if (check(cand)) return cand;
  }
  return make_error("exec: \"" + arg0 + "\": executable file not found in $PATH", ENOENT);
}

}  // namespace nsbox::process
