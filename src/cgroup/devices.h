// Internal: the effective device access rules of a container, as cgroup v1
// devices.allow / devices.deny lines (the eBPF filter for v2 will use the
// same rule list).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::cgroup {

struct DeviceLine {
  bool allow = false;
  std::string rule;  // "c 1:3 rwm", "a"
};

// rules, then an rwm allow per linux.devices entry, then runc's default
// allow-list when rules[0] denies everything. Rules are validated.
Result<std::vector<DeviceLine>> device_lines(const std::vector<spec::DeviceRule>& rules,
                                             const std::vector<spec::Device>& devices);

}  // namespace nsbox::cgroup
