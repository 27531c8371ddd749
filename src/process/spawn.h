// Parent side of container creation: clone3 the init and drive the sync
// protocol until it reports `created`.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/result.h"
#include "process/init.h"

namespace nsbox::process {

struct SpawnCallbacks {
  // The init's pid is known (runtime PID namespace): place it in cgroups,
  // ... It may run while the init prepares its mounts; always before hooks.
  std::function<Status(pid_t)> on_pid;
  // Namespaces exist, rootfs not yet prepared: prestart/createRuntime hooks.
  std::function<Status(pid_t)> on_namespaces_ready;
  std::function<void(const std::string&)> on_warning;
  // The init loaded a seccomp filter with SCMP_ACT_NOTIFY rules: hand its
  // listener to the seccomp agent. The init waits until this returns.
  std::function<Status(pid_t, UniqueFd)> on_seccomp_fd;
  // process.terminal: the pty master (the init does not wait for this).
  std::function<Status(UniqueFd)> on_console_fd;
};

struct Spawned {
  pid_t pid = 0;  // the container init
};

// `ctx.chan` is set by spawn. cgroup_fd >= 0 requests CLONE_INTO_CGROUP.
// On failure the init (and any intermediate) is killed and reaped.
Result<Spawned> spawn_init(InitContext& ctx, int cgroup_fd, const SpawnCallbacks& cb);

// Kill a process we may not be the parent of, and wait until it is gone.
void kill_and_wait(pid_t pid);

}  // namespace nsbox::process
