// `update`: runc's flags and --resources FILE|- (a linux.resources object);
// flags override the file's values, as in runc.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

using nlohmann::json;

enum class Kind { kBytes, kInt, kUint, kString };

struct ResourceFlag {
  const char* flag;
  const char* pointer;  // JSON pointer into linux.resources
  Kind kind;
  bool zero_is_unset;  // runc: "0 to use the system default"
  const char* help;
};

constexpr ResourceFlag kResourceFlags[] = {
    {"memory", "/memory/limit", Kind::kBytes, false, "memory limit (bytes, or 32m, 1g; -1: none)"},
    {"memory-reservation", "/memory/reservation", Kind::kBytes, false, "memory soft limit"},
    {"memory-swap", "/memory/swap", Kind::kBytes, false, "memory+swap limit (-1: unlimited swap)"},
    {"kernel-memory", "/memory/kernel", Kind::kBytes, false, "obsolete; ignored with a warning"},
    {"kernel-memory-tcp", "/memory/kernelTCP", Kind::kBytes, false,
     "obsolete; ignored with a warning"},
    {"cpu-share", "/cpu/shares", Kind::kUint, true, "CPU shares (relative weight)"},
    {"cpu-period", "/cpu/period", Kind::kUint, true, "CPU CFS period (us)"},
    {"cpu-quota", "/cpu/quota", Kind::kInt, false, "CPU CFS quota per period (us; -1: none)"},
    {"cpu-burst", "/cpu/burst", Kind::kUint, false, "CPU CFS burst (us)"},
    {"cpu-rt-period", "/cpu/realtimePeriod", Kind::kUint, true, "CPU realtime period (us)"},
    {"cpu-rt-runtime", "/cpu/realtimeRuntime", Kind::kInt, false, "CPU realtime runtime (us)"},
    {"cpu-idle", "/cpu/idle", Kind::kInt, false, "1: SCHED_IDLE for the cgroup, 0: normal"},
    {"cpuset-cpus", "/cpu/cpus", Kind::kString, false, "CPUs to use (0-3,7)"},
    {"cpuset-mems", "/cpu/mems", Kind::kString, false, "memory nodes to use"},
    {"pids-limit", "/pids/limit", Kind::kInt, false, "maximum number of tasks (-1: none)"},
    {"blkio-weight", "/blockIO/weight", Kind::kUint, true, "block IO weight (10-1000)"},
};

Result<json> flag_value(const ResourceFlag& f, const std::string& text) {
  auto bad = [&](const char* what) {
    return make_error(std::string("--") + f.flag + ": " + what + ", got " + nsbox::quoted(text));
  };
  if (f.kind == Kind::kString) return json(text);
  long long v = 0;
  if (f.kind == Kind::kBytes) {
    if (!parse_bytes(text, &v)) return bad("expected a size such as 1048576, 512k, 32m or -1");
    return json(v);
  }
  if (!parse_int64(text, &v)) return bad("expected an integer");
  if (f.kind == Kind::kUint) {
    if (v < 0) return bad("expected a non-negative integer");
    return json(static_cast<uint64_t>(v));
  }
  return json(v);
}

Result<json> read_resources_file(const std::string& path) {
  auto text = path == "-" ? read_all(STDIN_FILENO) : read_file(path);
  if (!text) return std::move(text).error().wrap("--resources " + path);
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error("--resources " + path + ": expected a JSON object (linux.resources)");
  }
  return doc;
}

int run_update(const Global& g, const Parsed& p) {
  for (const char* unsupported : {"l3-cache-schema", "mem-bw-schema"}) {
    if (p.has(unsupported)) {
      return fail(make_error(std::string("--") + unsupported +
                             ": Intel RDT (linux.intelRdt) is not supported yet"));
    }
  }
  json res = json::object();
  if (p.has("resources")) {
    auto doc = read_resources_file(p.get("resources"));
    if (!doc) return fail(doc.error());
    res = std::move(*doc);
  }
  for (const auto& f : kResourceFlags) {
    if (!p.has(f.flag)) continue;
    auto v = flag_value(f, p.get(f.flag));
    if (!v) return fail(v.error());
    if (f.zero_is_unset && *v == 0) continue;
    res[json::json_pointer(f.pointer)] = std::move(*v);
  }
  std::string text = res.dump();
  auto parsed = spec::parse_resources(text, "linux.resources");
  if (!parsed) return fail(parsed.error());
  if (auto r = container::update(g.rt, p.positionals[0], *parsed, text); !r) {
    return fail(r.error());
  }
  return 0;
}

std::vector<Flag> update_flags() {
  std::vector<Flag> flags = {
      {"resources", "r", true, "JSON file with linux.resources ('-': standard input)"}};
  for (const auto& f : kResourceFlags) flags.push_back({f.flag, "", true, f.help});
  flags.push_back({"l3-cache-schema", "", true, "Intel RDT L3 schema (not supported yet)"});
  flags.push_back({"mem-bw-schema", "", true, "Intel RDT MBA schema (not supported yet)"});
  return flags;
}

}  // namespace

Command update_command() {
  return {"update",
          "update [OPTIONS] ID",
          "Change the resource limits of a created, running or paused container",
          update_flags(),
          run_update,
          1,
          1};
}

}  // namespace nsbox::cli
