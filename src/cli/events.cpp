// `events ID`: runc's event stream. --stats prints one stats event; without
// it a stats event every --interval (default 5s) and an "oom" event each
// time the container's memory cgroup OOM-kills, until the container stops.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One event line in runc's key order: type, id, then data when present.
void emit(const char* type, const std::string& id, const json* data = nullptr) {
  std::string line = "{\"type\":" + json(type).dump() + ",\"id\":" + json(id).dump();
  if (data != nullptr) line += ",\"data\":" + data->dump();
  std::printf("%s}\n", line.c_str());
  std::fflush(stdout);
}

Status emit_stats(const Global& g, const std::string& id) {
  auto s = container::stats(g.rt, id);
  if (!s) return std::move(s).error();
  json data = cgroup::to_runc_stats_json(*s);
  emit("stats", id, &data);
  return {};
}

int run_events(const Global& g, const Parsed& p) {
  const std::string& id = p.positionals[0];
  auto interval = parse_duration(p.get("interval", "5s"));
  if (!interval) return fail(interval.error());
  auto once = flag_bool(p, "stats");
  if (!once) return fail(once.error());
  if (*once) {
    if (auto r = emit_stats(g, id); !r) return fail(r.error());
    return 0;
  }
  auto src = container::watch_events(g.rt, id);
  if (!src) return fail(src.error());
  auto next = Clock::now() + *interval;
  for (;;) {
    pollfd fds[2] = {{src->oom.fd(), POLLIN, 0}, {src->init_pidfd.get(), POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    int n = ::poll(fds, 2, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (n < 0 && errno != EINTR) return fail(sys_error("poll"));
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      auto kills = src->oom.consume();
      if (!kills) return fail(kills.error());
      for (uint64_t k = 0; k < *kills; ++k) emit("oom", id);
    }
    if (n > 0 && fds[1].revents != 0) return 0;  // the container stopped
    if (Clock::now() >= next) {
      if (auto r = emit_stats(g, id); !r) {
        pollfd exited = {src->init_pidfd.get(), POLLIN, 0};
        if (::poll(&exited, 1, 0) == 1) return 0;  // stopped meanwhile
        return fail(r.error());
      }
      next += *interval;
    }
  }
}

}  // namespace

Command events_command() {
  return {"events",
          "events [OPTIONS] ID",
          "Stream a container's stats and OOM events as JSON lines (runc's format)",
          {{"stats", "", false, "print one stats event and exit"},
           {"interval", "", true, "time between stats events (default 5s)"}},
          run_events,
          1,
          1};
}

}  // namespace nsbox::cli
