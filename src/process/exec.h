// `exec`: a new process in a running container. The parent enters the
// container's PID namespace for its children and clones the exec child
// straight into the container's cgroup2 leaf; the child joins the v1
// cgroups, then every other namespace of the container's init in one
// setns(pidfd) (the kernel orders user first), and goes on like the init
// after `start` (process/launch.h).
//
// Child side of the protocol in process/sync.h: kSeccompFd (a notify
// filter's listener for the agent), kConsoleFd (the pty master of
// process.terminal), kError. A successful execve closes the channel.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "security/capabilities.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::process {

struct ExecContext {
  // The container's config with `process` replaced by the exec'd process
  // (linux.personality applies, as in the init).
  const spec::Config* cfg = nullptr;
  int init_pidfd = -1;            // setns(pidfd, ns_flags)
  int ns_flags = 0;               // CLONE_NEW* to join, CLONE_NEWPID excluded
  int pid_ns_fd = -1;             // the container's PID namespace; -1: the host's
  int cgroup_fd = -1;             // the cgroup2 leaf (CLONE_INTO_CGROUP); -1: none
  std::vector<int> v1_tasks_fds;  // written "0" by the child
  security::CapSets caps;
  const security::SeccompFilter* seccomp = nullptr;  // nullptr: none
  const sigset_t* sigmask = nullptr;                 // for the program; nullptr: ours
  int preserve_fds = 0;                              // fds 3 .. 3+N-1 reach the program
  // A new session keyring, unless the container was created with
  // --no-new-keyring (runc).
  bool new_keyring = true;
};

struct ExecCallbacks {
  // A notify filter was loaded: hand the listener to the seccomp agent.
  std::function<Status(pid_t, UniqueFd)> on_seccomp_fd;
  // process.terminal: the pty master.
  std::function<Status(UniqueFd)> on_console_fd;
};

// Returns the pid (our PID namespace) once the child has exec'd. On failure
// the child is killed and reaped.
Result<pid_t> spawn_exec(const ExecContext& ctx, const ExecCallbacks& cb);

}  // namespace nsbox::process
