#include "security/rlimits.h"

#include <linux/capability.h>
#include <sys/resource.h>

#include <set>
#include <string>

#include "common/util.h"
#include "security/capabilities.h"

namespace nsbox::security {
namespace {

std::string field(const spec::Rlimit& r) { return "process.rlimits " + r.type; }

std::string limit_str(uint64_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }

Result<rlimit> current_limit(const spec::Rlimit& r) {
  if (r.resource < 0) return make_error(field(r) + ": unknown resource", EINVAL);
  rlimit cur{};
  if (::getrlimit(r.resource, &cur) < 0) {
    return sys_error(field(r) + ": getrlimit");
  }
  return cur;
}

// fs.nr_open caps RLIMIT_NOFILE even with CAP_SYS_RESOURCE.
Status check_nr_open(const spec::Rlimit& r) {
  long long nr_open = 0;
  auto text = read_file("/proc/sys/fs/nr_open");
  if (r.resource != RLIMIT_NOFILE || !text || !parse_int64(trim(*text), &nr_open)) return {};
  if (r.hard <= static_cast<uint64_t>(nr_open)) return {};
  return make_error(field(r) + ": hard limit " + limit_str(r.hard) + " above fs.nr_open (" +
                        std::to_string(nr_open) + ")",
                    EPERM);
}

// Why setting `r` over `cur` would be refused; ok when it would not.
Status check_one(const spec::Rlimit& r, const rlimit& cur, bool can_raise) {
  if (r.soft > r.hard) {
    return make_error(
        field(r) + ": soft limit " + limit_str(r.soft) + " above hard limit " + limit_str(r.hard),
        EINVAL);
  }
  if (r.hard > cur.rlim_max && !can_raise) {
    return make_error(field(r) + ": hard limit " + limit_str(r.hard) +
                          " above the runtime's own (" + limit_str(cur.rlim_max) +
                          ") needs CAP_SYS_RESOURCE",
                      EPERM);
  }
  return check_nr_open(r);
}

Status apply_one(const spec::Rlimit& r) {
  auto cur = current_limit(r);
  if (!cur) return std::move(cur).error();
  const rlimit want{r.soft, r.hard};
  if (::setrlimit(r.resource, &want) == 0) return {};
  const int err = errno;
  // Explain the usual refusals; fall back to the raw errno otherwise.
  NSBOX_TRY(check_one(r, *cur, false));
  return sys_error(field(r) + ": setrlimit(" + limit_str(r.soft) + ", " + limit_str(r.hard) + ")",
                   err);
}

}  // namespace

Status apply_rlimits(const std::vector<spec::Rlimit>& rlimits) {
  for (const auto& r : rlimits) NSBOX_TRY(apply_one(r));
  return {};
}

Status check_rlimits(const std::vector<spec::Rlimit>& rlimits) {
  const bool can_raise = has_effective_cap(CAP_SYS_RESOURCE);
  std::set<int> seen;
  for (const auto& r : rlimits) {
    auto cur = current_limit(r);
    if (!cur) return std::move(cur).error();
    if (!seen.insert(r.resource).second) return make_error(field(r) + ": duplicate entry", EINVAL);
    NSBOX_TRY(check_one(r, *cur, can_raise));
  }
  return {};
}

}  // namespace nsbox::security
