#include "security/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "common/util.h"

namespace nsbox::security {
namespace {

struct CapEntry {
  int value;
  std::string_view name;
};

#define NSBOX_CAP(c) \
  CapEntry { c, #c }
constexpr std::array<CapEntry, kMaxKnownCap + 1> kCaps = {
    NSBOX_CAP(CAP_CHOWN),
    NSBOX_CAP(CAP_DAC_OVERRIDE),
    NSBOX_CAP(CAP_DAC_READ_SEARCH),
    NSBOX_CAP(CAP_FOWNER),
    NSBOX_CAP(CAP_FSETID),
    NSBOX_CAP(CAP_KILL),
    NSBOX_CAP(CAP_SETGID),
    NSBOX_CAP(CAP_SETUID),
    NSBOX_CAP(CAP_SETPCAP),
    NSBOX_CAP(CAP_LINUX_IMMUTABLE),
    NSBOX_CAP(CAP_NET_BIND_SERVICE),
    NSBOX_CAP(CAP_NET_BROADCAST),
    NSBOX_CAP(CAP_NET_ADMIN),
    NSBOX_CAP(CAP_NET_RAW),
    NSBOX_CAP(CAP_IPC_LOCK),
    NSBOX_CAP(CAP_IPC_OWNER),
    NSBOX_CAP(CAP_SYS_MODULE),
    NSBOX_CAP(CAP_SYS_RAWIO),
    NSBOX_CAP(CAP_SYS_CHROOT),
    NSBOX_CAP(CAP_SYS_PTRACE),
    NSBOX_CAP(CAP_SYS_PACCT),
    NSBOX_CAP(CAP_SYS_ADMIN),
    NSBOX_CAP(CAP_SYS_BOOT),
    NSBOX_CAP(CAP_SYS_NICE),
    NSBOX_CAP(CAP_SYS_RESOURCE),
    NSBOX_CAP(CAP_SYS_TIME),
    NSBOX_CAP(CAP_SYS_TTY_CONFIG),
    NSBOX_CAP(CAP_MKNOD),
    NSBOX_CAP(CAP_LEASE),
    NSBOX_CAP(CAP_AUDIT_WRITE),
    NSBOX_CAP(CAP_AUDIT_CONTROL),
    NSBOX_CAP(CAP_SETFCAP),
    NSBOX_CAP(CAP_MAC_OVERRIDE),
    NSBOX_CAP(CAP_MAC_ADMIN),
    NSBOX_CAP(CAP_SYSLOG),
    NSBOX_CAP(CAP_WAKE_ALARM),
    NSBOX_CAP(CAP_BLOCK_SUSPEND),
    NSBOX_CAP(CAP_AUDIT_READ),
    NSBOX_CAP(CAP_PERFMON),
    NSBOX_CAP(CAP_BPF),
    NSBOX_CAP(CAP_CHECKPOINT_RESTORE),
};
#undef NSBOX_CAP

constexpr bool table_is_indexed() {
  for (size_t i = 0; i < kCaps.size(); ++i) {
    if (kCaps[i].value != static_cast<int>(i)) return false;
  }
  return true;
}
static_assert(table_is_indexed(), "kCaps must be ordered by capability number");
static_assert(kCaps.back().value == kMaxKnownCap);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// ---- raw capget/capset (version 3: two 32-bit words per set) ----

struct RawCaps {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

uint64_t join_words(uint32_t lo, uint32_t hi) { return (uint64_t{hi} << 32) | lo; }

Result<RawCaps> raw_capget() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &hdr, data) < 0) return sys_error("capget");
  return RawCaps{join_words(data[0].effective, data[1].effective),
                 join_words(data[0].permitted, data[1].permitted),
                 join_words(data[0].inheritable, data[1].inheritable)};
}

Status raw_capset(const RawCaps& c) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int w = 0; w < _LINUX_CAPABILITY_U32S_3; ++w) {
    const int shift = 32 * w;
    data[w].effective = static_cast<uint32_t>(c.effective >> shift);
    data[w].permitted = static_cast<uint32_t>(c.permitted >> shift);
    data[w].inheritable = static_cast<uint32_t>(c.inheritable >> shift);
  }
  if (::syscall(SYS_capset, &hdr, data) < 0) return sys_error("capset");
  return {};
}

bool in_own_bounding(int cap) { return ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1; }

// ---- resolve ----

class Resolver {
 public:
  explicit Resolver(std::vector<std::string>* warnings) : warnings_(warnings) {}

  uint64_t names(const std::vector<std::string>& list, const char* set) {
    uint64_t mask = 0;
    for (const auto& name : list) mask |= one(name, set);
    return mask;
  }

  // Keep the caps of `mask` that are in `allowed`; warn about the others.
  uint64_t require(uint64_t mask, uint64_t allowed, const char* set, const std::string& why) {
    for (int cap = 0; cap <= kMaxKnownCap; ++cap) {
      if (has_cap(mask, cap) && !has_cap(allowed, cap)) {
        warn(cap_name(cap), set, why);
        mask &= ~cap_bit(cap);
      }
    }
    return mask;
  }

 private:
  uint64_t one(const std::string& name, const char* set) {
    auto cap = cap_from_name(name);
    if (!cap) {
      warn(name, set, "is unknown");
      return 0;
    }
    if (*cap > last_cap() || !in_own_bounding(*cap)) {
      warn(cap_name(*cap), set, "cannot be granted on this host");
      return 0;
    }
    return cap_bit(*cap);
  }

  void warn(const std::string& name, const char* set, const std::string& why) {
    if (warnings_ == nullptr) return;
    warnings_->push_back("capability " + name + " in process.capabilities." + set + " " + why +
                         ": skipped");
  }

  std::vector<std::string>* warnings_;
};

// ---- apply ----

Status drop_bounding(uint64_t keep) {
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (has_cap(keep, cap) || !in_own_bounding(cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
      return sys_error("prctl(PR_CAPBSET_DROP, " + cap_name(cap) + ")");
    }
  }
  return {};
}

Status set_ambient(const CapSets& sets) {
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    // Kernels without ambient capabilities: fine unless some were asked for.
    if (errno == EINVAL && sets.ambient == 0) return {};
    return sys_error("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  const uint64_t raisable = sets.ambient & sets.permitted & sets.inheritable;
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (!has_cap(raisable, cap)) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      return sys_error("prctl(PR_CAP_AMBIENT_RAISE, " + cap_name(cap) + ")");
    }
  }
  return {};
}

// After setresuid() under PR_SET_KEEPCAPS the effective set is empty; raise it
// back to permitted so CAP_SETPCAP (bounding drops, capset) is usable.
Status raise_effective() {
  auto cur = raw_capget();
  if (!cur) return std::move(cur).error();
  if (cur->effective == cur->permitted) return {};
  cur->effective = cur->permitted;
  return raw_capset(*cur);
}

}  // namespace

std::optional<int> cap_from_name(const std::string& name) {
  for (const auto& e : kCaps) {
    if (iequals(name, e.name)) return e.value;
  }
  return std::nullopt;
}

std::string cap_name(int cap) {
  if (cap >= 0 && cap <= kMaxKnownCap) return std::string(kCaps[static_cast<size_t>(cap)].name);
  return "CAP_" + std::to_string(cap);
}

int last_cap() {
  static const int cached = [] {
    long long v = 0;
    auto text = read_file("/proc/sys/kernel/cap_last_cap");
    if (!text || !parse_int64(trim(*text), &v) || v < 0 || v > 63) return kMaxKnownCap;
    return static_cast<int>(v);
  }();
  return cached;
}

CapSets resolve_caps(const spec::Capabilities& caps, std::vector<std::string>* warnings) {
  Resolver r(warnings);
  CapSets s;
  s.bounding = r.names(caps.bounding, "bounding");
  s.effective = r.names(caps.effective, "effective");
  s.inheritable = r.names(caps.inheritable, "inheritable");
  s.permitted = r.names(caps.permitted, "permitted");
  s.ambient = r.names(caps.ambient, "ambient");
  // Combinations capset(2) / PR_CAP_AMBIENT_RAISE would refuse.
  s.inheritable = r.require(s.inheritable, s.bounding, "inheritable",
                            "is not in process.capabilities.bounding");
  s.effective =
      r.require(s.effective, s.permitted, "effective", "is not in process.capabilities.permitted");
  s.ambient = r.require(s.ambient, s.permitted & s.inheritable, "ambient",
                        "is not in both process.capabilities.permitted and inheritable");
  return s;
}

Status apply_caps(const CapSets& sets) {
  NSBOX_TRY_CTX(raise_effective(), "process.capabilities");
  NSBOX_TRY_CTX(drop_bounding(sets.bounding), "process.capabilities.bounding");
  NSBOX_TRY_CTX(raw_capset(RawCaps{sets.effective, sets.permitted, sets.inheritable}),
                "process.capabilities");
  NSBOX_TRY_CTX(set_ambient(sets), "process.capabilities.ambient");
  return {};
}

Result<CapSets> current_caps() {
  auto raw = raw_capget();
  if (!raw) return std::move(raw).error();
  CapSets s{0, raw->effective, raw->inheritable, raw->permitted, 0};
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (in_own_bounding(cap)) s.bounding |= cap_bit(cap);
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) s.ambient |= cap_bit(cap);
  }
  return s;
}

bool has_effective_cap(int cap) {
  auto raw = raw_capget();
  return raw && has_cap(raw->effective, cap);
}

}  // namespace nsbox::security
