#include "cgroup/controllers.h"

namespace nsbox::cgroup {

const CgroupDir* dir_for(const std::vector<CgroupDir>& dirs, std::string_view controller) {
  for (const auto& d : dirs)
    if (!d.v2() && d.has_controller(controller)) return &d;
  for (const auto& d : dirs)
    if (d.v2() && d.has_controller(controller)) return &d;
  return nullptr;
}

}  // namespace nsbox::cgroup
