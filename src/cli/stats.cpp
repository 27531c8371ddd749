// `stats ID`: nsbox's beancounter table, after OpenVZ's user beancounters:
// per resource its usage, the highest usage seen, the limit, and how often
// the limit was hit. --format json prints the same rows as JSON.
// `stats --all`: one block per container in --root (stopped ones shown as
// such), JSON an object keyed by ID. --watch redraws every --interval: in
// place on a terminal, else one snapshot after the other (--count N stops
// after N), until SIGINT.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

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

json rows_json(const std::vector<cgroup::Beancounter>& rows) {
  json out = json::array();
  for (const auto& b : rows) out.push_back(row_json(b));
  return out;
}

void print_table(const std::vector<cgroup::Beancounter>& rows) {
  std::printf("%-14s %12s %12s %12s %10s\n", "RESOURCE", "USAGE", "MAX USAGE", "LIMIT", "FAILURES");
  for (const auto& b : rows) {
    std::string max = b.max_usage ? human(*b.max_usage, b.unit) : "-";
    std::string limit = b.limit == cgroup::kUnlimited ? "max" : human(b.limit, b.unit);
    std::printf("%-14s %12s %12s %12s %10" PRIu64 "\n", b.resource.c_str(),
                human(b.usage, b.unit).c_str(), max.c_str(), limit.c_str(), b.failures);
  }
}

// One container (the single-ID form): fails as `stats ID` always did.
Status show_one(const Global& g, const std::string& id, bool as_json) {
  auto s = container::stats(g.rt, id);
  if (!s) return std::move(s).error();
  auto rows = cgroup::beancounters(*s);
  if (as_json) {
    json out = {{"id", id}, {"resources", rows_json(rows)}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    print_table(rows);
  }
  return {};
}

bool is_live(const std::string& status) {
  return status == "created" || status == "running" || status == "paused";
}

// Every container: a block headed by ID and status (JSON: keyed by ID, with
// "status" and "resources"). One that stops while read is shown stopped.
Status show_all(const Global& g, bool as_json) {
  auto states = container::list(g.rt);
  if (!states) return std::move(states).error();
  json out = json::object();
  bool first = true;
  for (const auto& st : *states) {
    std::string status = st.status;
    std::vector<cgroup::Beancounter> rows;
    std::string error;
    if (is_live(status)) {
      auto s = container::stats(g.rt, st.id);
      if (s) {
        rows = cgroup::beancounters(*s);
      } else {
        auto now = container::state(g.rt, st.id);
        status = now ? now->status : "stopped";
        if (is_live(status)) error = s.error().msg;
      }
    }
    if (as_json) {
      json entry = {{"status", status}, {"resources", rows_json(rows)}};
      if (!error.empty()) entry["error"] = error;
      out[st.id] = std::move(entry);
      continue;
    }
    std::printf("%s%s (%s)\n", first ? "" : "\n", st.id.c_str(), status.c_str());
    first = false;
    if (!error.empty()) {
      std::printf("  error: %s\n", error.c_str());
    } else if (is_live(status)) {
      print_table(rows);
    }
  }
  if (as_json) std::printf("%s\n", out.dump().c_str());
  return {};
}

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int /*sig*/) { g_interrupted = 1; }

int run_stats(const Global& g, const Parsed& p) {
  std::string format = p.get("format", "table");
  if (format != "table" && format != "json") {
    return fail(make_error("--format: expected table or json, got " + nsbox::quoted(format)));
  }
  bool all = p.has("all");
  if (all && !p.positionals.empty()) return fail(make_error("--all: no container ID with it"));
  if (!all && p.positionals.size() != 1) {
    return fail(make_error("stats: expected a container ID (or --all)"));
  }
  bool watch = p.has("watch");
  if (!watch && (p.has("interval") || p.has("count"))) {
    return fail(make_error(std::string(p.has("interval") ? "--interval" : "--count") +
                           ": only with --watch"));
  }
  auto interval = parse_duration(p.get("interval", "1s"));
  if (!interval) return fail(interval.error());
  long long count = 0;  // 0: until SIGINT
  if (p.has("count") && (!parse_int64(p.get("count"), &count) || count <= 0)) {
    return fail(
        make_error("--count: expected a positive number, got " + nsbox::quoted(p.get("count"))));
  }
  bool as_json = format == "json";
  auto snapshot = [&]() -> Status {
    return all ? show_all(g, as_json) : show_one(g, p.positionals[0], as_json);
  };
  if (!watch) {
    if (auto r = snapshot(); !r) return fail(r.error());
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = on_sigint;  // no SA_RESTART: the sleep returns at once
  ::sigaction(SIGINT, &sa, nullptr);
  bool terminal = ::isatty(1) != 0;
  for (long long n = 1; g_interrupted == 0; ++n) {
    if (terminal) std::printf("\033[H\033[2J");
    if (auto r = snapshot(); !r) return fail(r.error());
    if (!terminal && !as_json) std::printf("\n");
    std::fflush(stdout);
    if (count != 0 && n >= count) break;
    auto ns = interval->count();
    timespec ts = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    while (g_interrupted == 0 && ::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
  }
  return 0;
}

}  // namespace

Command stats_command() {
  return {"stats",
          "stats [OPTIONS] ID | stats --all [OPTIONS]",
          "Show a container's resource beancounters: usage, max usage, limit, failures",
          {{"format", "f", true, "table or json"},
           {"all", "a", false, "every container in --root (JSON: an object keyed by ID)"},
           {"watch", "w", false, "refresh every --interval until interrupted"},
           {"interval", "", true, "time between refreshes with --watch (default 1s)"},
           {"count", "", true, "with --watch: stop after N refreshes"}},
          run_stats,
          0,
          1};
}

}  // namespace nsbox::cli
