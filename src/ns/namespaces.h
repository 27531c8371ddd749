// Namespaces: planning (parent side, before clone) and entering (child side).
//
// The init is created with one clone3() carrying every new namespace flag
// ("direct" mode). When a new user namespace must own namespaces that are
// joined by path, or a user namespace is joined, the order matters (join
// first, then create the user namespace, then the rest), so the child does it
// step by step with setns()/unshare() ("staged" mode) and forks once more when
// it needs a new PID namespace. Time namespaces are always unshared by the
// child, so that offsets are written before any process enters them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "spec/config.h"

namespace nsbox::ns {

struct Join {
  spec::NsType type;
  std::string path;
  UniqueFd fd;
};

struct Plan {
  uint64_t clone_flags = 0;  // flags for clone3 (direct mode)
  int unshare_flags = 0;     // flags the child unshares itself (staged mode), without user/pid/time
  bool staged = false;
  bool new_user = false;
  bool new_pid = false;
  bool new_time = false;
  // A new cgroup namespace is never in clone_flags/unshare_flags: it must be
  // created after the init is placed in its cgroups (see process/spawn.cpp).
  bool new_cgroup = false;
  std::vector<Join> joins;  // all joined namespaces except pid, user first
  UniqueFd pid_join;        // joined pid namespace: entered by the parent before clone
};

// Open and check every namespace path (its type must match), decide the mode.
Result<Plan> plan(const spec::Config& cfg);

// Parent side: enter the joined PID namespace for children only, returning
// a guard fd to restore the parent's own afterwards (restore_pid_ns).
Result<UniqueFd> enter_pid_ns_for_children(const Plan& p);
// The same for a PID namespace fd (a pidfd works too); -1: nothing to do.
Result<UniqueFd> enter_pid_ns_for_children(int pid_ns_fd);
Status restore_pid_ns(int own_pid_ns_fd);

// Child side: setns() into every joined namespace of the given types.
Status join(const Plan& p, bool user_only);
// Child side, before any credential change: open /proc/self/timens_offsets.
// Once we are root of a new user namespace (and not dumpable) the file is
// owned by the host's root and out of reach; the open fd keeps working.
Result<UniqueFd> open_time_offsets();
// Child side: create the time namespace (for children) and write its offsets
// through `offsets_fd` (from open_time_offsets() in this same process).
Status unshare_time_ns(const spec::Linux& lx, int offsets_fd);
// Child side: move into the time namespace unshare_time_ns() made. A fork
// after unshare_time_ns() puts the child there instead.
Status enter_time_ns_for_children();
// Parent side: write uid_map/gid_map of a process in a new user namespace.
Status write_id_maps(pid_t pid, const spec::Linux& lx);

}  // namespace nsbox::ns
