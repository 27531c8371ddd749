// The container init: what runs in the cloned child, from the first
// instruction after clone3() to the execve() of the user's program.
//
// Child side of the protocol in process/sync.h. Everything here returns
// errors as values; a failure is reported to the parent as kError and the
// child exits. It never returns.
#pragma once

#include <string>

#include "ns/namespaces.h"
#include "process/launch.h"
#include "process/sync.h"
#include "rootfs/rootfs.h"
#include "security/capabilities.h"
#include "security/seccomp.h"
#include "spec/config.h"

namespace nsbox::process {

struct InitContext {
  const spec::Config* cfg = nullptr;
  const ns::Plan* plan = nullptr;
  std::string rootfs;  // absolute path on the host
  std::string bundle;  // absolute, for hook state
  std::string id;
  rootfs::Options rootfs_opts;
  security::CapSets caps;
  Channel* chan = nullptr;   // child end
  int start_listen_fd = -1;  // accept()s the `start` request
  const sigset_t* orig_sigmask = nullptr;
  // v1 `tasks` files: the init (the intermediate in staged mode) places
  // itself first thing by writing "0" to each; the cgroup2 leaf is entered
  // with CLONE_INTO_CGROUP. A new cgroup namespace is unshared after that
  // (set by spawn), so that it is rooted there.
  std::vector<int> v1_tasks_fds;
  bool unshare_cgroup_ns = false;
  int close_in_child = -1;  // the locked state directory: the lock must not outlive create
  // fds 3 .. 3+N-1 reach the program (--preserve-fds, LISTEN_FDS).
  int preserve_fds = 0;
  // Join a new session keyring named after the container (not --no-new-keyring).
  bool new_keyring = true;
  // linux.seccomp, compiled before the clone; loaded by the init (nullptr: none).
  const security::SeccompFilter* seccomp = nullptr;
};

[[noreturn]] void container_init(InitContext& ctx);

}  // namespace nsbox::process
