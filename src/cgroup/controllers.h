// Internal: per-controller work shared by every Manager. A Manager is a set
// of CgroupDirs (one per hierarchy it uses); each controller is served by
// the v1 directory whose hierarchy has it mounted, else by the cgroup2
// directory when the cgroup2 root offers it (pure v2, or a hybrid host's
// cgroup2 mount: hugetlb here).
#pragma once

#include <string_view>
#include <vector>

#include "cgroup/dir.h"
#include "cgroup/stats.h"
#include "common/result.h"
#include "spec/config.h"

namespace nsbox::cgroup {

// The directory serving controller, or nullptr when the host lacks it.
const CgroupDir* dir_for(const std::vector<CgroupDir>& dirs, std::string_view controller);

// resources.cpp: Manager::apply_resources.
Status apply_resources(const std::vector<CgroupDir>& dirs, const spec::Resources& r);

// stats.cpp: Manager::stats and Manager::watch_oom.
Result<Stats> read_stats(const std::vector<CgroupDir>& dirs);
Result<OomWatch> watch_oom(const std::vector<CgroupDir>& dirs);

}  // namespace nsbox::cgroup
