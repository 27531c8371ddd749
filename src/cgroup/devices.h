// Internal: the effective device access rules of a container. v1 writes them
// as devices.allow / devices.deny lines; v2 compiles them into an eBPF
// BPF_PROG_TYPE_CGROUP_DEVICE program (device_filter.h). Both read the same
// list with the same meaning: for each requested access bit, the last rule
// matching the device and that bit decides; no matching rule denies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::cgroup {

// One validated rule.
struct DeviceAccessRule {
  bool allow = false;
  char type = 'a';     // 'a' (any), 'c' or 'b'
  int64_t major = -1;  // -1: any
  int64_t minor = -1;  // -1: any
  std::string access;  // non-empty subset of "rwm"
};

// rules, then an rwm allow per linux.devices entry (FIFOs skipped), then
// runc's default allow-list when rules[0] denies everything. Rules are
// validated; errors name the offending field.
Result<std::vector<DeviceAccessRule>> device_rules(const std::vector<spec::DeviceRule>& rules,
                                                   const std::vector<spec::Device>& devices);

struct DeviceLine {
  bool allow = false;
  std::string rule;  // "c 1:3 rwm", "a"
};

// device_rules() as v1 lines. v1 reads any "a" line as every device with
// every access, so a narrower "a" rule is spelled out as a "c" and a "b" line.
Result<std::vector<DeviceLine>> device_lines(const std::vector<spec::DeviceRule>& rules,
                                             const std::vector<spec::Device>& devices);

}  // namespace nsbox::cgroup
