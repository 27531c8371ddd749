// Helpers shared by the cgroup unit tests (real /sys/fs/cgroup, any layout).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <optional>
#include <string>

#include "cgroup/cgroup.h"

namespace nsbox::cgroup::testing {

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The host's layout (a failed probe fails the test).
inline Layout host_layout() {
  auto l = probe();
  EXPECT_TRUE(l.ok()) << (l ? "" : l.error().msg);
  return l ? *l : Layout{};
}

// A Layout holding only the host's cgroup2 mount: exercises the pure-v2
// implementation on any host that mounts cgroup2 somewhere.
inline std::optional<Layout> v2_only_layout() {
  for (const auto& h : host_layout().hierarchies)
    if (h.v2) return Layout{Mode::kV2, {h}};
  return std::nullopt;
}

}  // namespace nsbox::cgroup::testing
