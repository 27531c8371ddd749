// process.oomScoreAdj.
#pragma once

#include <sys/types.h>

#include "common/result.h"

namespace nsbox::security {

// Write `value` to /proc/PID/oom_score_adj after checking the opened file is
// on procfs. Lowering it below the runtime's minimum needs CAP_SYS_RESOURCE;
// that refusal is reported as "process.oomScoreAdj: lowering ... needs CAP_SYS_RESOURCE".
Status set_oom_score_adj(pid_t pid, int value);

}  // namespace nsbox::security
