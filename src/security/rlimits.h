// process.rlimits. This host may lack CAP_SYS_RESOURCE: raising a hard limit
// above the runtime's own is then refused with an error naming the limit.
#pragma once

#include <vector>

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::security {

// In the child: prlimit() each entry (Rlimit::resource must be resolved).
// Errors: "process.rlimits RLIMIT_NOFILE: hard limit 2000000 above the
// runtime's own (1048576) needs CAP_SYS_RESOURCE".
Status apply_rlimits(const std::vector<spec::Rlimit>& rlimits);

// In the parent before clone: the same checks (and messages) without changing
// anything, plus soft <= hard, duplicates and RLIMIT_NOFILE vs fs.nr_open.
Status check_rlimits(const std::vector<spec::Rlimit>& rlimits);

}  // namespace nsbox::security
