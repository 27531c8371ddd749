// Per-process kernel attributes the init sets on itself before exec (they
// survive execve): linux.personality, process.ioPriority, process.scheduler.
#pragma once

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::security {

// personality(PER_LINUX or PER_LINUX32): LINUX32 makes uname report i686.
Status apply_personality(const spec::Personality& p);

// ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(class, priority)).
// IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE:
// "process.ioPriority.class: IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE: ...".
Status apply_io_priority(const spec::IoPriority& io);

// sched_setattr(0, ...) with the policy, nice, priority, flags and deadline
// parameters (unset ones are 0, as the spec says). Errors name the field and
// the likely cause (SCHED_FIFO/SCHED_RR need CAP_SYS_NICE or RLIMIT_RTPRIO,
// and with cgroup v1 RT group scheduling a cpu.rt_runtime_us budget).
Status apply_scheduler(const spec::Scheduler& s);

// The three above, each when configured. Run by the init at the end of its
// setup, before it reports "created": a refusal fails `create`, and every
// process the container starts inherits them. SCHED_DEADLINE forbids fork
// (EAGAIN) unless SCHED_FLAG_RESET_ON_FORK is set: the init itself only
// forks for startContainer hooks, and spec::validate_config refuses that
// combination.
Status apply_process_attrs(const spec::Config& cfg);

}  // namespace nsbox::security
