// Internal: one container cgroup directory in one hierarchy. Every Manager is
// a set of these; per-controller work (resource limits, freezer, stats) reads
// and writes control files through read_file()/write_file().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/result.h"

namespace nsbox::cgroup {

class CgroupDir {
 public:
  // rel: the cgroup's path below the mountpoint ("/nsbox/<id>"). owned: how
  // many trailing components of rel destroy() may remove (>= 1, the leaf).
  CgroupDir(Hierarchy h, std::string rel, int owned);

  const Hierarchy& hierarchy() const { return h_; }
  bool v2() const { return h_.v2; }
  // The cgroup path as /proc/PID/cgroup shows it (mount root + rel).
  std::string cgroup_path() const;
  std::string path() const;  // directory: mountpoint + rel
  bool has_controller(std::string_view controller) const;

  Status write_file(const std::string& name, std::string_view value) const;
  Result<std::string> read_file(const std::string& name) const;

  // Own the trailing levels of rel that do not exist yet, so that serialize()
  // before create() already names the parents create() will make.
  void claim_missing_levels();
  // mkdir -p (restarted when a concurrent destroy removes a parent), v1
  // cpuset inheritance, v2 controllers delegated down to the leaf (best
  // effort, as runc), refusal of a populated existing leaf.
  Status create();
  bool created_leaf() const { return created_leaf_; }
  Status add_process(pid_t pid) const;
  // Appends the pids of the leaf and its descendants; a missing leaf adds none.
  Status collect_pids(std::vector<pid_t>* out) const;
  // Retries EBUSY until deadline (processes still exiting).
  Status destroy(std::chrono::steady_clock::time_point deadline) const;

  nlohmann::json to_json() const;
  static Result<CgroupDir> from_json(const nlohmann::json& j);

 private:
  Status make_levels();
  void enable_controllers() const;
  Status init_level(const std::string& dir) const;
  Status inherit_cpuset_file(const std::string& dir, const std::string& name) const;

  Hierarchy h_;
  std::string rel_;
  int owned_;
  bool created_leaf_ = false;
};

}  // namespace nsbox::cgroup
