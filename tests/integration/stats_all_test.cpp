// `stats --all`: the beancounter table of every container in --root, and
// --watch with --count on a non-terminal (one snapshot per interval).
#include <gtest/gtest.h>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;

namespace {

std::string start_limited(Sandbox& sb, int64_t memory) {
  auto cfg = Sandbox::default_config({"sleep", "600"});
  cfg["linux"]["resources"]["memory"]["limit"] = memory;
  std::string id = sb.new_id("sa");
  auto o = sb.nsbox({"run", "-d", "-b", sb.bundle(cfg, "b-" + id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  return id;
}

json memory_row(const json& entry) {
  for (const auto& r : entry["resources"]) {
    if (r["resource"] == "memory") return r;
  }
  return nullptr;
}

}  // namespace

TEST(StatsAll, JsonKeyedByIdWithLimits) {
  Sandbox sb;
  std::string a = start_limited(sb, 32 << 20);
  std::string b = start_limited(sb, 64 << 20);
  auto o = sb.nsbox({"stats", "--all", "--format", "json"});
  ASSERT_EQ(o.status, 0) << o.err;
  json all = json::parse(o.out);
  ASSERT_TRUE(all.contains(a)) << o.out;
  ASSERT_TRUE(all.contains(b)) << o.out;
  EXPECT_EQ(all[a]["status"], "running");
  EXPECT_EQ(memory_row(all[a])["limit"], 32 << 20) << o.out;
  EXPECT_EQ(memory_row(all[b])["limit"], 64 << 20) << o.out;
  // The table: one block per container, headed by ID and status.
  o = sb.nsbox({"stats", "--all"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, a + " (running)\nRESOURCE")) << o.out;
  EXPECT_TRUE(contains(o.out, b + " (running)\nRESOURCE")) << o.out;
  EXPECT_TRUE(contains(o.out, "32.0MiB")) << o.out;
  EXPECT_TRUE(contains(o.out, "64.0MiB")) << o.out;
  // A stopped one is shown as such.
  ASSERT_EQ(sb.nsbox({"kill", a, "KILL"}).status, 0);
  for (int i = 0; i < 50 && sb.nsbox({"state", a}).out.find("stopped") == std::string::npos; ++i) {
    ::usleep(100000);
  }
  o = sb.nsbox({"stats", "--all", "--format", "json"});
  ASSERT_EQ(o.status, 0) << o.err;
  all = json::parse(o.out);
  EXPECT_EQ(all[a]["status"], "stopped") << o.out;
  EXPECT_EQ(all[b]["status"], "running") << o.out;
  for (const auto& id : {a, b}) EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(StatsAll, WatchPrintsOneSnapshotPerInterval) {
  Sandbox sb;
  std::string a = start_limited(sb, 32 << 20);
  auto o = sb.nsbox(
      {"stats", "--all", "--watch", "--count", "2", "--interval", "100ms", "--format", "json"});
  ASSERT_EQ(o.status, 0) << o.err;
  size_t lines = 0;
  for (size_t at = 0; (at = o.out.find('\n', at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 2u) << o.out;
  EXPECT_TRUE(json::parse(o.out.substr(0, o.out.find('\n'))).contains(a)) << o.out;
  // Tables: two snapshots, no terminal escapes when not on a terminal.
  o = sb.nsbox({"stats", "--all", "--watch", "--count", "2", "--interval", "100ms"});
  ASSERT_EQ(o.status, 0) << o.err;
  size_t blocks = 0;
  for (size_t at = 0; (at = o.out.find(a + " (running)", at)) != std::string::npos; ++at) ++blocks;
  EXPECT_EQ(blocks, 2u) << o.out;
  EXPECT_FALSE(contains(o.out, "\033[")) << o.out;
  // Bad values are one-line errors.
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"stats", "--all", "--watch", "--interval", "soon"},
                                             {"stats", "--all", "--watch", "--count", "0"},
                                             {"stats", "--all", "--count", "2"},
                                             {"stats", "--all", a},
                                             {"stats"}}) {
    auto bad = sb.nsbox(args);
    EXPECT_EQ(bad.status, 1) << args.back();
    EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  }
  EXPECT_EQ(sb.nsbox({"delete", "-f", a}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
