// Decoding of the process attributes applied by the init before exec:
// process.ioPriority, process.scheduler and linux.personality, plus the
// kernel values of their names (kernel ABI constants, so that no header
// clash between <sched.h> and <linux/sched.h> can bite).
#include <string_view>

#include "spec/config_decode.h"

namespace nsbox::spec {

namespace {

template <typename T>
struct Named {
  std::string_view name;
  T value;
};

constexpr Named<int> kIoClasses[] = {
    {"IOPRIO_CLASS_RT", 1},
    {"IOPRIO_CLASS_BE", 2},
    {"IOPRIO_CLASS_IDLE", 3},
};

constexpr Named<int> kSchedPolicies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

constexpr Named<uint64_t> kSchedFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

template <typename T, size_t N>
std::optional<T> lookup(const Named<T> (&table)[N], std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return e.value;
  }
  return std::nullopt;
}

constexpr int kMinNice = -20, kMaxNice = 19;
constexpr int kMinRtPriority = 1, kMaxRtPriority = 99;
constexpr uint64_t kMinDlRuntime = 1024;  // ns: the kernel's 1 << DL_SCALE

bool is_rt(const std::string& policy) { return policy == "SCHED_FIFO" || policy == "SCHED_RR"; }

Status check_rt_priority(const Scheduler& s, const std::string& path) {
  std::string p = field_path(path, "priority");
  if (is_rt(s.policy)) {
    int prio = s.priority.value_or(0);
    if (prio < kMinRtPriority || prio > kMaxRtPriority) {
      return path_error(p, s.policy + " needs a priority between 1 and 99");
    }
  } else if (s.priority.value_or(0) != 0) {
    return path_error(p, "only SCHED_FIFO and SCHED_RR take a priority");
  }
  return {};
}

Status check_deadline(const Scheduler& s, const std::string& path) {
  uint64_t runtime = s.runtime.value_or(0), deadline = s.deadline.value_or(0);
  uint64_t period = s.period.value_or(0);
  if (s.policy != "SCHED_DEADLINE") {
    for (auto [key, v] :
         {std::pair{"runtime", runtime}, {"deadline", deadline}, {"period", period}}) {
      if (v != 0)
        return path_error(field_path(path, key), "only SCHED_DEADLINE takes " + std::string(key));
    }
    return {};
  }
  if (runtime < kMinDlRuntime) {
    return path_error(field_path(path, "runtime"), "SCHED_DEADLINE needs at least 1024 (ns)");
  }
  if (deadline < runtime) {
    return path_error(field_path(path, "deadline"), "must not be less than runtime");
  }
  if (period != 0 && period < deadline) {
    return path_error(field_path(path, "period"), "must not be less than deadline");
  }
  return {};
}

}  // namespace

std::optional<int> io_priority_class_value(std::string_view name) {
  return lookup(kIoClasses, name);
}
std::optional<int> sched_policy_value(std::string_view name) {
  return lookup(kSchedPolicies, name);
}
std::optional<uint64_t> sched_flag_value(std::string_view name) {
  return lookup(kSchedFlags, name);
}

Status decode(const json& v, const std::string& path, IoPriority* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "class", path, &out->io_class));
  if (!io_priority_class_value(out->io_class)) {
    return path_error(field_path(path, "class"),
                      "unknown class " + quote(out->io_class) +
                          " (expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)");
  }
  NSBOX_TRY(get(v, "priority", path, &out->priority));
  if (out->priority < 0 || out->priority > 7) {
    return path_error(field_path(path, "priority"), "must be between 0 and 7");
  }
  return {};
}

Status decode(const json& v, const std::string& path, Scheduler* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "policy", path, &out->policy));
  if (!sched_policy_value(out->policy)) {
    return path_error(field_path(path, "policy"), "unknown policy " + quote(out->policy));
  }
  NSBOX_TRY(get(v, "nice", path, &out->nice));
  if (out->nice && (*out->nice < kMinNice || *out->nice > kMaxNice)) {
    return path_error(field_path(path, "nice"), "must be between -20 and 19");
  }
  NSBOX_TRY(get(v, "priority", path, &out->priority));
  NSBOX_TRY(check_rt_priority(*out, path));
  NSBOX_TRY(get(v, "flags", path, &out->flags));
  for (size_t i = 0; i < out->flags.size(); ++i) {
    if (!sched_flag_value(out->flags[i])) {
      return path_error(index_path(field_path(path, "flags"), i),
                        "unknown flag " + quote(out->flags[i]));
    }
  }
  NSBOX_TRY(get(v, "runtime", path, &out->runtime));
  NSBOX_TRY(get(v, "deadline", path, &out->deadline));
  NSBOX_TRY(get(v, "period", path, &out->period));
  return check_deadline(*out, path);
}

Status decode(const json& v, const std::string& path, Personality* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "domain", path, &out->domain));
  if (out->domain != "LINUX" && out->domain != "LINUX32") {
    return path_error(field_path(path, "domain"),
                      "unknown domain " + quote(out->domain) + " (expected LINUX or LINUX32)");
  }
  NSBOX_TRY(get(v, "flags", path, &out->flags));
  if (!out->flags.empty()) {
    return path_error(index_path(field_path(path, "flags"), 0),
                      "unknown flag " + quote(out->flags[0]) + " (the spec defines none)");
  }
  return {};
}

}  // namespace nsbox::spec
