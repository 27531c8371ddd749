// libFuzzer target for the config.json parser (issue 6). Built twice:
//   config_fuzzer     the bytes are a config.json: spec::parse_config, then
//                     spec::validate_config when it parses;
//   resources_fuzzer  (NSBOX_FUZZ_RESOURCES) the bytes are an
//                     `update --resources` document: spec::parse_resources.
// The same file is linked with smoke_main.cpp (g++, no libFuzzer) into the
// ctest entries labelled `fuzz` that run the in-repo corpus.
//
// Invariants (by id, for NSBOX_FUZZ_SKIP); a violation aborts, so libFuzzer
// saves the input as a crash:
//  throw         parsing and validating never throw; ASan/UBSan catch the rest;
//  message, one-line, json-log
//                an error is non-empty, one line, and can be written to
//                runc's JSON log (log::write in JSON mode: valid UTF-8);
//  path-prefix   an error starts with "<json path>: " whose first segment is
//                a config.json member (or "linux.resources" for a resources
//                document), or is one of parse_config's "config.json: invalid
//                JSON: ..." / "config.json: expected a JSON object";
//  safety-net    no exception reaches the parsers' catch-all ("not expected:
//                decoders check types first");
//  accepted      what parses honours the documented checks (non-empty
//                root.path, unique namespaces, soft <= hard rlimits, ...);
//  differential  a resources document gives the same result through
//                parse_resources as linux.resources of a config.json.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "common/log.h"
#include "spec/config.h"

namespace {

using nsbox::spec::Config;
using nsbox::spec::Resources;

constexpr std::string_view kResourcesPath = "linux.resources";
constexpr std::string_view kConfigMembers[] = {"ociVersion", "root",        "mounts",
                                               "process",    "hostname",    "domainname",
                                               "hooks",      "annotations", "linux"};

enum class Doc { kConfig, kResources };

#ifdef NSBOX_FUZZ_RESOURCES
constexpr bool kResourcesFuzzer = true;
#else
constexpr bool kResourcesFuzzer = false;
#endif

// NSBOX_FUZZ_SKIP=id,id,...: known violations to step over (to fuzz past a
// finding that is not fixed yet); `make fuzz` leaves it empty.
bool skipped(std::string_view id) {
  static const std::string skip = [] {
    const char* env = std::getenv("NSBOX_FUZZ_SKIP");
    return "," + std::string(env != nullptr ? env : "") + ",";
  }();
  return skip.find("," + std::string(id) + ",") != std::string::npos;
}

// Aborts (libFuzzer then saves the input) unless the invariant is skipped.
void violated(std::string_view id, std::string_view what, std::string_view detail) {
  if (skipped(id)) return;
  // The detail is printed JSON-quoted so that the report itself stays one line.
  std::string shown = nlohmann::json(std::string(detail))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(stderr, "nsbox fuzz: invariant %.*s violated: %.*s: %s\n",
               static_cast<int>(id.size()), id.data(), static_cast<int>(what.size()), what.data(),
               shown.c_str());
  std::abort();
}

void require(bool ok, std::string_view id, std::string_view what, std::string_view detail = "") {
  if (!ok) violated(id, what, detail);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One path segment at s[0]: an identifier or a JSON string literal (what
// spec's field_path writes). Its length, 0 when there is none.
size_t segment_length(std::string_view s) {
  if (s.empty()) return 0;
  if (is_ident_start(s[0])) {
    size_t n = 1;
    while (n < s.size() && (is_ident_start(s[n]) || is_digit(s[n]))) ++n;
    return n;
  }
  if (s[0] != '"') return 0;
  for (size_t n = 1; n < s.size(); ++n) {
    if (s[n] == '\\') {
      ++n;
    } else if (s[n] == '"') {
      return n + 1;
    }
  }
  return 0;
}

// A JSON path at the start of s: segment ('.' segment | '[' digits ']')*.
// Returns its length and the first segment; 0 when s does not start with one.
size_t path_length(std::string_view s, std::string_view* first) {
  size_t n = segment_length(s);
  if (n == 0) return 0;
  *first = s.substr(0, n);
  while (n < s.size()) {
    if (s[n] == '.') {
      size_t seg = segment_length(s.substr(n + 1));
      if (seg == 0) return 0;
      n += 1 + seg;
    } else if (s[n] == '[') {
      size_t d = n + 1;
      while (d < s.size() && is_digit(s[d])) ++d;
      if (d == n + 1 || d >= s.size() || s[d] != ']') return 0;
      n = d + 1;
    } else {
      break;
    }
  }
  return n;
}

void check_error(const std::string& msg, Doc doc) {
  require(!msg.empty(), "message", "empty error message");
  require(msg.find_first_of("\r\n") == std::string::npos, "one-line",
          "error message is not one line", msg);
  try {
    // What `nsbox --log-format json` does with it (the logger writes to
    // /dev/null here, see LLVMFuzzerInitialize).
    nsbox::log::write(nsbox::log::Level::kDebug, msg);
  } catch (const std::exception& e) {
    violated("json-log", std::string("error message breaks the JSON log (") + e.what() + ")", msg);
  }
  std::string_view m = msg;
  if (doc == Doc::kConfig && starts_with(m, "config.json: ")) {
    require(
        starts_with(m, "config.json: invalid JSON: ") || m == "config.json: expected a JSON object",
        "safety-net", "an exception reached parse_config's catch-all", msg);
    return;
  }
  std::string_view first;
  size_t n = path_length(m, &first);
  require(n > 0 && m.substr(n, 2) == ": ", "path-prefix",
          "error message does not start with \"<json path>: \"", msg);
  if (doc == Doc::kConfig) {
    bool member = false;
    for (auto k : kConfigMembers) member = member || first == k;
    require(member, "path-prefix", "error path does not start with a config.json member", msg);
  } else {
    size_t k = kResourcesPath.size();
    require(starts_with(m, kResourcesPath) && m.size() > k &&
                (m[k] == '.' || m[k] == '[' || m[k] == ':'),
            "path-prefix", "error path does not start with linux.resources", msg);
    // parse_resources' catch-all says "<path>: " + e.what() (and a quoted
    // value may well contain "[json.exception").
    require(m.substr(k, 18) != ": [json.exception.", "safety-net",
            "an exception reached parse_resources' catch-all", msg);
  }
}

bool absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

// What decoding promises about an accepted document (invariant "accepted").
void expect(bool ok, std::string_view what, std::string_view detail = "") {
  require(ok, "accepted", what, detail);
}

void check_resources_value(const Resources& r) {
  for (const auto& d : r.devices) {
    expect(d.type.size() <= 1, "device rule type", d.type);
    expect(d.access.find_first_not_of("rwm") == std::string::npos, "device rule access", d.access);
  }
  if (r.memory) {
    for (auto v : {r.memory->limit, r.memory->reservation, r.memory->swap}) {
      expect(!v || *v >= -1, "memory value below -1");
    }
    expect(!r.memory->swappiness || *r.memory->swappiness <= 100, "swappiness above 100");
  }
  if (r.cpu && r.cpu->idle) expect(*r.cpu->idle == 0 || *r.cpu->idle == 1, "cpu.idle");
  expect(!r.pids_limit || *r.pids_limit >= -1, "pids.limit below -1");
  if (r.block_io) {
    for (const auto& w : r.block_io->weight_device) {
      expect(w.weight || w.leaf_weight, "weightDevice without a weight");
    }
  }
  for (const auto& h : r.hugepage_limits) {
    expect(h.page_size.size() >= 3 && h.page_size.back() == 'B', "hugepage size", h.page_size);
  }
  for (const auto& [dev, l] : r.rdma) expect(l.hca_handles || l.hca_objects, "rdma limit", dev);
  for (const auto& [key, value] : r.unified) {
    (void)value;
    expect(key.find('/') == std::string::npos && key.find('.') != std::string::npos, "unified key",
           key);
  }
}

void check_config_value(const Config& c) {
  expect(!c.root.path.empty(), "empty root.path");
  for (const auto& m : c.mounts) expect(!m.destination.empty(), "empty mount destination");
  if (c.process) {
    const auto& p = *c.process;
    expect(!p.args.empty(), "empty process.args");
    expect(absolute(p.cwd), "relative process.cwd", p.cwd);
    std::set<int> seen;
    for (const auto& r : p.rlimits) {
      expect(r.resource >= 0 && r.soft <= r.hard, "rlimit", r.type);
      expect(seen.insert(r.resource).second, "duplicate rlimit", r.type);
    }
  }
  if (c.hooks) {
    for (const auto* list :
         {&c.hooks->prestart, &c.hooks->create_runtime, &c.hooks->create_container,
          &c.hooks->start_container, &c.hooks->poststart, &c.hooks->poststop}) {
      for (const auto& h : *list) {
        expect(absolute(h.path), "relative hook path", h.path);
        expect(!h.timeout || *h.timeout > 0, "hook timeout not positive");
      }
    }
  }
  if (!c.linux_) return;
  const auto& lx = *c.linux_;
  std::set<int> types;
  for (const auto& ns : lx.namespaces) {
    expect(types.insert(static_cast<int>(ns.type)).second, "duplicate namespace");
    expect(ns.path.empty() || absolute(ns.path), "relative namespace path", ns.path);
  }
  for (const auto& [clock, off] : lx.time_offsets) {
    expect(clock == "monotonic" || clock == "boottime", "time offset clock", clock);
    expect(off.nanosecs < 1000000000u, "time offset nanosecs");
  }
  for (const auto& d : lx.devices) {
    expect(absolute(d.path), "relative device path", d.path);
    expect(std::string_view("cbup").find(d.type) != std::string_view::npos, "device type");
  }
  if (lx.resources) check_resources_value(*lx.resources);
}

nsbox::Result<Config> parse_config(const std::string& text) {
  try {
    return nsbox::spec::parse_config(text);
  } catch (const std::exception& e) {
    violated("throw", "parse_config threw", e.what());
  } catch (...) {
    violated("throw", "parse_config threw", "(not a std::exception)");
  }
  return nsbox::make_error("config.json: threw");  // skipped "throw"
}

void check_config(const std::string& text) {
  auto cfg = parse_config(text);
  if (!cfg) {
    check_error(cfg.error().msg, Doc::kConfig);
    return;
  }
  check_config_value(*cfg);
  try {
    nsbox::Status st = nsbox::spec::validate_config(*cfg);
    if (!st) check_error(st.error().msg, Doc::kConfig);
  } catch (const std::exception& e) {
    violated("throw", "validate_config threw", e.what());
  }
}

void check_resources(const std::string& text) {
  nsbox::Result<Resources> res = nsbox::make_error("linux.resources: threw");
  try {
    res = nsbox::spec::parse_resources(text, std::string(kResourcesPath));
  } catch (const std::exception& e) {
    violated("throw", "parse_resources threw", e.what());
  }
  if (!res) {
    check_error(res.error().msg, Doc::kResources);
  } else {
    check_resources_value(*res);
  }
  // The same document as linux.resources of a minimal config.json must give
  // the same answer (null is "absent" there, so it is skipped).
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || doc.is_null()) return;
  nlohmann::json config = {{"ociVersion", "1.0.2"},
                           {"root", {{"path", "rootfs"}}},
                           {"linux", {{"resources", std::move(doc)}}}};
  auto cfg = parse_config(config.dump());
  if (res) {
    require(cfg.ok(), "differential", "resources accepted alone but not in config.json",
            cfg.ok() ? "" : cfg.error().msg);
  } else if (cfg.ok()) {
    violated("differential", "resources rejected alone but accepted in config.json",
             res.error().msg);
  } else {
    require(cfg.error().msg == res.error().msg, "differential",
            "resources error differs in config.json", res.error().msg + " | " + cfg.error().msg);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // JSON log lines with --debug: unknown keys are logged, errors go through
  // the same writer in check_error(). Nothing reaches the terminal.
  nsbox::log::configure("/dev/null", nsbox::log::Format::kJson, /*debug=*/true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (kResourcesFuzzer) {
    check_resources(text);
  } else {
    check_config(text);
  }
  return 0;
}
