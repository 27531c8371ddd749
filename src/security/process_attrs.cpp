#include "security/process_attrs.h"

#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace nsbox::security {

namespace {

constexpr int kIoprioWhoProcess = 1;  // IOPRIO_WHO_PROCESS
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassRt = 1;
constexpr uint32_t kSchedFifo = 1, kSchedRr = 2, kSchedIso = 4, kSchedDeadline = 6;
constexpr uint64_t kSchedFlagUtilClamp = 0x20 | 0x40;

// struct sched_attr of the kernel ABI (SCHED_ATTR_SIZE_VER1); defined here
// because glibc >= 2.41 and <linux/sched/types.h> both declare it.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};
static_assert(sizeof(SchedAttr) == 56);

Error sched_error(const spec::Scheduler& s, uint32_t policy, int err) {
  const std::string call = "sched_setattr(" + s.policy + ")";
  if (err == EPERM && (policy == kSchedFifo || policy == kSchedRr)) {
    return sys_error("process.scheduler.policy: " + call +
                         " (needs CAP_SYS_NICE or RLIMIT_RTPRIO; with cgroup v1 RT group "
                         "scheduling also a cpu.rt_runtime_us budget: "
                         "linux.resources.cpu.realtimeRuntime)",
                     err);
  }
  if (err == EPERM && policy == kSchedDeadline) {
    return sys_error("process.scheduler.policy: " + call +
                         " (needs CAP_SYS_NICE and a CPU affinity spanning the whole root domain)",
                     err);
  }
  if (err == EPERM) {
    return sys_error("process.scheduler.nice: " + call +
                         " (a nice value below the current one needs CAP_SYS_NICE or RLIMIT_NICE)",
                     err);
  }
  if (err == EBUSY && policy == kSchedDeadline) {
    return sys_error("process.scheduler: " + call +
                         " (SCHED_DEADLINE admission control: not "
                         "enough bandwidth for runtime/period)",
                     err);
  }
  if (err == EINVAL && policy == kSchedIso) {
    return sys_error("process.scheduler.policy: " + call + " (not in mainline Linux)", err);
  }
  if (err == EOPNOTSUPP) {
    return sys_error("process.scheduler.flags: " + call +
                         " (utilization clamping needs a kernel with CONFIG_UCLAMP_TASK)",
                     err);
  }
  return sys_error("process.scheduler: " + call, err);
}

}  // namespace

Status apply_personality(const spec::Personality& p) {
  unsigned long persona = p.domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
  if (::personality(persona) < 0)
    return sys_error("linux.personality: personality(" + p.domain + ")");
  return {};
}

Status apply_io_priority(const spec::IoPriority& io) {
  auto cls = spec::io_priority_class_value(io.io_class);
  if (!cls) return make_error("process.ioPriority.class: unknown class " + io.io_class, EINVAL);
  int value = (*cls << kIoprioClassShift) | io.priority;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value) == 0) return {};
  int err = errno;
  if (err == EPERM && *cls == kIoprioClassRt) {
    return sys_error(
        "process.ioPriority.class: IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE", err);
  }
  return sys_error(
      "process.ioPriority: ioprio_set(" + io.io_class + ", " + std::to_string(io.priority) + ")",
      err);
}

Status apply_scheduler(const spec::Scheduler& s) {
  auto policy = spec::sched_policy_value(s.policy);
  if (!policy) return make_error("process.scheduler.policy: unknown policy " + s.policy, EINVAL);
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = static_cast<uint32_t>(*policy);
  for (const auto& f : s.flags) {
    auto bit = spec::sched_flag_value(f);
    if (!bit) return make_error("process.scheduler.flags: unknown flag " + f, EINVAL);
    attr.sched_flags |= *bit;
  }
  attr.sched_nice = s.nice.value_or(0);
  attr.sched_priority = static_cast<uint32_t>(s.priority.value_or(0));
  attr.sched_runtime = s.runtime.value_or(0);
  attr.sched_deadline = s.deadline.value_or(0);
  attr.sched_period = s.period.value_or(0);
  if ((attr.sched_flags & kSchedFlagUtilClamp) != 0) {
    // No values in the spec: the widest clamp, so that the flags are accepted
    // without limiting the task.
    attr.sched_util_min = 0;
    attr.sched_util_max = 1024;
  }
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) == 0) return {};
  return sched_error(s, attr.sched_policy, errno);
}

Status apply_process_attrs(const spec::Config& cfg) {
  if (cfg.linux_ && cfg.linux_->personality) {
    NSBOX_TRY(apply_personality(*cfg.linux_->personality));
  }
  if (!cfg.process) return {};
  if (cfg.process->io_priority) NSBOX_TRY(apply_io_priority(*cfg.process->io_priority));
  if (cfg.process->scheduler) NSBOX_TRY(apply_scheduler(*cfg.process->scheduler));
  return {};
}

}  // namespace nsbox::security
