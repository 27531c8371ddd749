// Internal to src/container: what the lifecycle (container.cpp) shares with
// the resource verbs (resources.cpp).
#pragma once

#include <signal.h>

#include <memory>
#include <string>

#include "cgroup/cgroup.h"
#include "common/result.h"
#include "container/container.h"
#include "container/store.h"
#include "process/terminal.h"

namespace nsbox::container {

// An existing container, locked (shared or exclusive), with its record and
// the status recomputed from /proc.
struct Opened {
  ContainerDir dir;
  Record rec;
  std::string status;
};
Result<Opened> open_container(const Runtime& rt, const std::string& id, bool exclusive);

// Foreground waiting (wait.cpp): every signal that can be is blocked and
// read from a signalfd, to be forwarded; `orig` is the mask before, for the
// container's process.
struct Forwarding {
  sigset_t orig;
  UniqueFd sigfd;
};
Result<Forwarding> block_signals_for_forwarding();
// Wait for our child `pid`, forwarding signals to it (SIGWINCH resizes the
// terminal instead) and proxying `tty` (nullptr: none); returns the shell
// status (128+signal when killed). reap_all: as a subreaper, reap orphans.
int wait_forwarding(pid_t pid, int sigfd, process::TerminalProxy* tty, bool reap_all);

// NOTIFY_SOCKET (notify.cpp), when set in our environment: at create, the
// container's socket directory bind-mounted at /run/notify and
// NOTIFY_SOCKET in process.env; at start, the socket bound (empty fd when
// not asked for) and, after the start, READY=1 forwarded with MAINPID.
Status add_notify_socket(const ContainerDir& dir, spec::Config* cfg);
Result<UniqueFd> bind_notify_socket(const ContainerDir& dir);
Status forward_ready(int sock, pid_t init);

// The container's cgroup manager, restored from its record.
Result<std::unique_ptr<cgroup::Manager>> cgroup_of(const Record& r);

}  // namespace nsbox::container
