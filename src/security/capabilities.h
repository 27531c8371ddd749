// Linux capabilities without libcap: raw capget/capset/prctl.
// resolve_caps() runs in the parent before clone (it only reads); apply_caps()
// runs in the child and reports errors as values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::security {

// Highest capability number nsbox has a name for (CAP_CHECKPOINT_RESTORE).
constexpr int kMaxKnownCap = 40;

// "CAP_CHOWN" -> 0. The CAP_ prefix is required (as runc does); the match is
// case-insensitive ("cap_chown" works). nullopt for unknown names.
std::optional<int> cap_from_name(const std::string& name);
// 0 -> "CAP_CHOWN"; numbers without a name -> "CAP_<n>".
std::string cap_name(int cap);
// /proc/sys/kernel/cap_last_cap, read once (fallback: kMaxKnownCap).
int last_cap();

constexpr uint64_t cap_bit(int cap) { return uint64_t{1} << cap; }
constexpr bool has_cap(uint64_t set, int cap) { return (set & cap_bit(cap)) != 0; }

struct CapSets {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// Resolve the config's names to bit sets. Never fails: a capability that is
// unknown, that this host cannot grant (not in nsbox's bounding set, or above
// cap_last_cap), or that the kernel would refuse in combination (inheritable
// outside bounding, effective outside permitted, ambient outside permitted
// and inheritable) is skipped with a warning naming it and its field.
// `warnings` may be null.
CapSets resolve_caps(const spec::Capabilities& caps, std::vector<std::string>* warnings);

// In the child: drop every bounding cap not in sets.bounding, capset the
// effective/permitted/inheritable sets, then reset the ambient set to
// sets.ambient (ambient caps missing from permitted or inheritable are
// skipped silently). Works after a KEEPCAPS uid switch (effective cleared):
// it first re-raises effective from permitted to regain CAP_SETPCAP.
Status apply_caps(const CapSets& sets);

// The current process's sets as the kernel reports them (capget +
// PR_CAPBSET_READ + PR_CAP_AMBIENT_IS_SET).
Result<CapSets> current_caps();
// Whether the calling process has `cap` in its effective set.
bool has_effective_cap(int cap);

}  // namespace nsbox::security
