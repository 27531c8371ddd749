// Internal: where a container's cgroup lives in each hierarchy.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/result.h"

namespace nsbox::cgroup {

struct CgroupPath {
  bool absolute = true;            // from the hierarchy's mount, else from nsbox's own cgroup
  std::vector<std::string> parts;  // cleaned components, never empty
  bool is_default = false;         // "/nsbox/<id>": nsbox owns every level
};

// linux.cgroupsPath (unset or empty: "/nsbox/<id>"). Rejects ".." components.
Result<CgroupPath> parse_cgroups_path(const std::optional<std::string>& cgroups_path,
                                      const std::string& id);
// The cgroup's directory below h.mountpoint ("/nsbox/<id>").
Result<std::string> path_below_mount(const Hierarchy& h, const CgroupPath& p);

}  // namespace nsbox::cgroup
