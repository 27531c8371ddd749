// Cgroup manager: one container's cgroup in every mounted hierarchy.
// The host layout (pure v1, pure v2 or hybrid) is probed at run time from
// /proc/self/mountinfo; Manager implementations are chosen from it.
// No exceptions leave this API.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/stats.h"
#include "common/fd.h"
#include "common/result.h"
#include "spec/config.h"

namespace nsbox::cgroup {

enum class Mode { kV1, kV2, kHybrid };

struct Hierarchy {
  std::string mountpoint;                // "/sys/fs/cgroup/memory"
  std::vector<std::string> controllers;  // v1: mount options; v2: root cgroup.controllers
  bool v2 = false;
  std::string name;        // v1 named hierarchy ("systemd" for name=systemd), else empty
  std::string root = "/";  // cgroup path mounted at mountpoint (mountinfo field 4)
};

struct Layout {
  Mode mode = Mode::kV2;
  std::vector<Hierarchy> hierarchies;  // v1 ones plus the v2 one if mounted
};

// Parse /proc/self/mountinfo (mount types checked with statfs). Cached per
// process after the first success.
Result<Layout> probe();
const char* mode_name(Mode m);  // "v1", "v2", "hybrid"

class Manager {
 public:
  virtual ~Manager() = default;
  // mkdir -p the container's cgroup in every hierarchy. An existing empty
  // cgroup is reused; one holding processes is an error. v1 cpuset levels get
  // cpuset.cpus/mems from their parent. Concurrent destroy of a shared parent
  // is tolerated. On failure the cgroups created by this call are removed.
  virtual Status create() = 0;
  // Move pid into the cgroup in every hierarchy (cgroup.procs).
  virtual Status add_process(pid_t pid) = 0;
  // O_PATH|O_DIRECTORY fd of the cgroup2 leaf for clone3(CLONE_INTO_CGROUP)
  // (pure v2, or the cgroup2 mount of a hybrid host); an invalid UniqueFd
  // when no cgroup2 hierarchy is used.
  virtual Result<UniqueFd> open_v2_leaf() = 0;
  // The `tasks` file of every v1 hierarchy, opened for writing. The new
  // process writes "0" to each itself: moving one's own thread through
  // `tasks` skips the global threadgroup lock whose writers wait for an RCU
  // grace period (~10 ms), which cgroup.procs and moving another process
  // take. Empty on pure v2.
  virtual Result<std::vector<UniqueFd>> open_v1_tasks() = 0;
  // Device access rules: rules, then an rwm allow for each linux.devices entry,
  // then runc's default allow-list when rules start with a deny-all rule. An
  // empty rules list restricts nothing (no-op on every layout).
  virtual Status apply_devices(const std::vector<spec::DeviceRule>& rules,
                               const std::vector<spec::Device>& devices) = 0;
  // linux.resources other than devices: each controller is written through
  // its v1 hierarchy when it is mounted there, else through the cgroup2 leaf
  // (controllers enabled in the parents' cgroup.subtree_control on demand),
  // with v1 values converted for v2. Only the fields that are set are
  // written, so `update` passes just what changes. A controller or control
  // file the host lacks is an error naming the field, never skipped.
  virtual Status apply_resources(const spec::Resources& r) = 0;
  // Current usage, limits and failure counts (see stats.h).
  virtual Result<Stats> stats() = 0;
  // OOM notifications for the container's memory cgroup.
  virtual Result<OomWatch> watch_oom() = 0;
  // Pids in the container's cgroup and its descendants, sorted, no duplicates.
  virtual Result<std::vector<pid_t>> pids() = 0;
  // Freeze or thaw every process (v1 freezer.state, else v2 cgroup.freeze),
  // returning once the kernel reports the new state (bounded wait).
  virtual Status set_frozen(bool frozen) = 0;
  virtual Result<bool> frozen() = 0;
  // Remove the cgroup (descendants first) in every hierarchy, retrying EBUSY
  // for ~1 s; then the now-empty parents nsbox owns. Missing dirs are fine.
  virtual Status destroy() = 0;
  // JSON description for the container state; see restore_manager().
  virtual std::string serialize() const = 0;
};

// cgroups_path: linux.cgroupsPath (absolute: from each hierarchy's mount;
// relative: from nsbox's own cgroup per /proc/self/cgroup), else "/nsbox/<id>".
Result<std::unique_ptr<Manager>> make_manager(const Layout& layout,
                                              const std::optional<std::string>& cgroups_path,
                                              const std::string& id);
Result<std::unique_ptr<Manager>> restore_manager(const std::string& serialized);

}  // namespace nsbox::cgroup
