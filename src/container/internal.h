// Internal to src/container: what the lifecycle (container.cpp) shares with
// the resource verbs (resources.cpp).
#pragma once

#include <memory>
#include <string>

#include "cgroup/cgroup.h"
#include "common/result.h"
#include "container/container.h"
#include "container/store.h"

namespace nsbox::container {

// An existing container, locked (shared or exclusive), with its record and
// the status recomputed from /proc.
struct Opened {
  ContainerDir dir;
  Record rec;
  std::string status;
};
Result<Opened> open_container(const Runtime& rt, const std::string& id, bool exclusive);

// The container's cgroup manager, restored from its record.
Result<std::unique_ptr<cgroup::Manager>> cgroup_of(const Record& r);

}  // namespace nsbox::container
