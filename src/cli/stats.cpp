// `stats ID`: nsbox's beancounter table, after OpenVZ's user beancounters:
// per resource its usage, the highest usage seen, the limit, and how often
// the limit was hit. --format json prints the same rows as JSON.
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

using nlohmann::json;

std::string human(uint64_t v, const std::string& unit) {
  char buf[64];
  if (unit == "bytes") {
    static const char* const kSuffix[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double d = static_cast<double>(v);
    size_t i = 0;
    while (d >= 1024 && i + 1 < std::size(kSuffix)) {
      d /= 1024;
      ++i;
    }
    if (i == 0) {
      std::snprintf(buf, sizeof buf, "%" PRIu64 "B", v);
    } else {
      std::snprintf(buf, sizeof buf, "%.1f%s", d, kSuffix[i]);
    }
  } else if (unit == "ns") {
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(v) / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64, v);
  }
  return buf;
}

json row_json(const cgroup::Beancounter& b) {
  auto opt = [](bool set, uint64_t v) { return set ? json(v) : json(nullptr); };
  return {{"resource", b.resource},
          {"unit", b.unit},
          {"usage", b.usage},
          {"max_usage", opt(b.max_usage.has_value(), b.max_usage.value_or(0))},
          {"limit", opt(b.limit != cgroup::kUnlimited, b.limit)},
          {"failures", b.failures}};
}

int run_stats(const Global& g, const Parsed& p) {
  std::string format = p.get("format", "table");
  if (format != "table" && format != "json") {
    return fail(make_error("--format: expected table or json, got " + nsbox::quoted(format)));
  }
  const std::string& id = p.positionals[0];
  auto s = container::stats(g.rt, id);
  if (!s) return fail(s.error());
  auto rows = cgroup::beancounters(*s);
  if (format == "json") {
    json out = {{"id", id}, {"resources", json::array()}};
    for (const auto& b : rows) out["resources"].push_back(row_json(b));
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("%-14s %12s %12s %12s %10s\n", "RESOURCE", "USAGE", "MAX USAGE", "LIMIT", "FAILURES");
  for (const auto& b : rows) {
    std::string max = b.max_usage ? human(*b.max_usage, b.unit) : "-";
    std::string limit = b.limit == cgroup::kUnlimited ? "max" : human(b.limit, b.unit);
    std::printf("%-14s %12s %12s %12s %10" PRIu64 "\n", b.resource.c_str(),
                human(b.usage, b.unit).c_str(), max.c_str(), limit.c_str(), b.failures);
  }
  return 0;
}

}  // namespace

Command stats_command() {
  return {"stats",
          "stats [OPTIONS] ID",
          "Show a container's resource beancounters: usage, max usage, limit, failures",
          {{"format", "f", true, "table or json"}},
          run_stats,
          1,
          1};
}

}  // namespace nsbox::cli
