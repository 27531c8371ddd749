// The last steps before execve(), shared by the container init (after
// `start`) and the `exec` child: exec labels, rlimits, seccomp, the user
// and capability switch, no_new_privs, signal reset, execve.
#pragma once

#include <signal.h>

#include <string>

#include "common/result.h"
#include "security/capabilities.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::process {

struct Launch {
  const spec::Process* proc = nullptr;
  security::CapSets caps;
  // A filter loaded here (not a notify filter: that one is loaded earlier,
  // so that its listener reaches the agent); nullptr: none.
  const security::SeccompFilter* seccomp = nullptr;
  const sigset_t* sigmask = nullptr;  // restored before execve; nullptr: as is
  std::string exe;                    // from find_executable()
};

// Returns only on failure. Must run after the caller's last fork: the
// AppArmor/SELinux exec label would otherwise reach the forked process.
Error launch(const Launch& l);

// Find the executable for args[0] the way execvp does, with PATH from env
// (exported for tests). Relative to the current root and cwd.
Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env);

// Right after clone: only 0-2 and fds 3 .. 3+N-1 (--preserve-fds) reach the
// program; every other fd is marked close-on-exec.
void close_unpreserved_fds(int preserve_fds);

// Every signal disposition back to default, and the mask set (nullptr: kept).
void reset_signals(const sigset_t* mask);

}  // namespace nsbox::process
