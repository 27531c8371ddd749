// The strings container engines parse out of a runtime's errors (podman,
// containerd, CRI-O match substrings of runc's wording), the JSON log they
// read the reason from, and the global flags they pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Output;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// podman matches these case-insensitively (getOCIRuntimeError).
bool contains_nocase(const std::string& s, const std::string& what) {
  return contains(lower(s), lower(what));
}

// Lines of a --log-format json log, each checked to be runc-shaped: one JSON
// object with "level", "msg" and "time" (RFC 3339, nanoseconds, as nsbox
// writes it; Go's time.Time parses it).
std::vector<json> json_log(const std::string& path) {
  std::string text = slurp(path);
  std::vector<json> lines;
  if (text.empty()) return lines;
  EXPECT_EQ(text.back(), '\n') << "the last line is not terminated";
  static const std::regex kTime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}(Z|[+-]\d{2}:\d{2}))");
  static const std::vector<std::string> kLevels = {"debug", "info", "warning", "error"};
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not one JSON object: " << line;
    if (!j.is_object()) continue;
    for (const char* key : {"level", "msg", "time"}) {
      EXPECT_TRUE(j.contains(key) && j[key].is_string()) << key << " in " << line;
    }
    if (!j["level"].is_string() || !j["time"].is_string()) continue;
    EXPECT_NE(std::find(kLevels.begin(), kLevels.end(), j["level"].get<std::string>()),
              kLevels.end())
        << line;
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), kTime)) << line;
    lines.push_back(std::move(j));
  }
  return lines;
}

// The reason containerd reports: the msg of the last "error" line.
std::string last_error(const std::vector<json>& lines) {
  std::string msg;
  for (const auto& j : lines) {
    if (j.value("level", "") == "error") msg = j.value("msg", "");
  }
  return msg;
}

// nsbox --root R --log FILE --log-format json ARGS...
Output logged(Sandbox& sb, const std::string& log, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      nsbox::it::nsbox_binary(), "--root", sb.root(), "--log", log, "--log-format", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  return nsbox::it::run_program(argv);
}

// Wait for `state` to say stopped (5 s at most).
bool wait_stopped(Sandbox& sb, const std::string& id) {
  for (int i = 0; i < 500; ++i) {
    auto s = sb.nsbox({"state", id});
    if (s.status == 0 && json::parse(s.out, nullptr, false).value("status", "") == "stopped")
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Create a container running args[0]; the create's output and log lines.
struct Created {
  Output out;
  std::vector<json> log;
};
Created create(Sandbox& sb, const json& cfg, const std::string& name) {
  std::string id = sb.new_id(name);
  std::string log = sb.dir() + "/" + id + ".log";
  Created c;
  c.out = logged(sb, log, {"create", "-b", sb.bundle(cfg, "bundle-" + id), id});
  c.log = json_log(log);
  return c;
}

}  // namespace

// runc: "container does not exist" (no ID), exit 1, for every verb that
// takes an ID. containerd and CRI-O match "does not exist".
TEST(EngineStrings, UnknownIdDoesNotExist) {
  Sandbox sb;
  std::string id = sb.new_id("ghost");
  std::vector<std::vector<std::string>> cmds = {
      {"state", id},
      {"kill", id},
      {"kill", id, "KILL"},
      {"delete", id},
      {"start", id},
      {"pause", id},
      {"resume", id},
      {"ps", id},
      {"stats", id},
      {"events", "--stats", id},
      {"update", "--memory", "64m", id},
  };
  for (const auto& cmd : cmds) {
    std::string log = sb.dir() + "/" + cmd[0] + ".log";
    auto o = logged(sb, log, cmd);
    std::string what = ::testing::PrintToString(cmd);
    EXPECT_NE(o.status, 0) << what;
    EXPECT_EQ(o.out, "") << what;
    EXPECT_TRUE(contains(o.err, "container does not exist")) << what << ": " << o.err;
    EXPECT_TRUE(contains(last_error(json_log(log)), "container does not exist")) << what;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// runc: `delete --force` of an unknown ID says nothing and exits 0 (engines
// call it to clean up whatever is left).
TEST(EngineStrings, DeleteForceOfUnknownIdIsSilent) {
  Sandbox sb;
  std::string log = sb.dir() + "/delete.log";
  for (const char* flag : {"--force", "-f"}) {
    auto o = logged(sb, log, {"delete", flag, sb.new_id("ghost")});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(o.err, "");
  }
  EXPECT_EQ(last_error(json_log(log)), "");
  EXPECT_EQ(sb.leftovers(), "");
}

// runc: "container not running", exit 1, for kill of a stopped container
// (containerd and podman treat it as "already gone"); kill --all of one is
// not an error.
TEST(EngineStrings, KillOfStoppedContainerIsNotRunning) {
  Sandbox sb;
  std::string id = sb.new_id("stopped");
  ASSERT_EQ(sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"true"})), id}).status, 0);
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  ASSERT_TRUE(wait_stopped(sb, id));
  std::string log = sb.dir() + "/kill.log";
  for (const char* sig : {"TERM", "KILL"}) {
    auto o = logged(sb, log, {"kill", id, sig});
    EXPECT_NE(o.status, 0);
    EXPECT_TRUE(contains(o.err, "container not running")) << o.err;
    EXPECT_TRUE(contains(last_error(json_log(log)), "container not running"));
  }
  EXPECT_EQ(sb.nsbox({"kill", "--all", id, "KILL"}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// The executable is looked up at create (runc: "unable to start container
// process: exec: ..."). podman maps "executable file not found in" / "no such
// file or directory" to exit 127 and "permission denied" to 126, matching
// case-insensitively; the reason is also the last error line of the log.
TEST(EngineStrings, MissingOrNonExecutableProgram) {
  Sandbox sb;
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  std::vector<Case> cases = {
      {{"nosuchcmd"}, "executable file not found in $PATH"},
      {{"/nosuch/path"}, "no such file or directory"},
      {{"/etc/passwd"}, "permission denied"},
  };
  for (const auto& c : cases) {
    auto r = create(sb, Sandbox::default_config(c.args), "exe");
    EXPECT_NE(r.out.status, 0) << c.args[0];
    EXPECT_TRUE(contains_nocase(r.out.err, c.want)) << c.args[0] << ": " << r.out.err;
    std::string reason = last_error(r.log);
    EXPECT_TRUE(contains_nocase(reason, c.want)) << c.args[0] << ": " << reason;
    EXPECT_TRUE(contains(reason, c.args[0])) << reason;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// A failing create with --debug: many lines, every one runc-shaped, the last
// error line the reason; a command that succeeds logs no error.
TEST(EngineStrings, JsonLogLastErrorIsTheReason) {
  Sandbox sb;
  std::string id = sb.new_id("dbg");
  std::string log = sb.dir() + "/debug.log";
  auto cfg = Sandbox::default_config({"nosuchcmd"});
  std::vector<std::string> argv = {nsbox::it::nsbox_binary(),
                                   "--root",
                                   sb.root(),
                                   "--debug",
                                   "--log",
                                   log,
                                   "--log-format",
                                   "json",
                                   "create",
                                   "-b",
                                   sb.bundle(cfg),
                                   id};
  auto o = nsbox::it::run_program(argv);
  EXPECT_NE(o.status, 0);
  auto lines = json_log(log);
  ASSERT_GT(lines.size(), 2u) << slurp(log);
  EXPECT_EQ(lines.front()["level"], "debug") << slurp(log);
  EXPECT_TRUE(contains(last_error(lines), "executable file not found in $PATH")) << slurp(log);
  // Nothing but JSON went to the file; stderr has the reason for a person.
  EXPECT_TRUE(contains(o.err, "executable file not found in $PATH")) << o.err;

  std::string ok_log = sb.dir() + "/ok.log";
  std::string id2 = sb.new_id("ok");
  EXPECT_EQ(
      logged(sb, ok_log, {"run", "-b", sb.bundle(Sandbox::default_config({"true"}), "b2"), id2})
          .status,
      0);
  EXPECT_EQ(last_error(json_log(ok_log)), "");
  EXPECT_EQ(sb.leftovers(), "");
}

// Global flags engines pass. --rootless and --criu are accepted (and
// ignored), so is --systemd-cgroup=false; the systemd driver itself is
// refused with a clear reason where cgroups are made (create, run, sandbox),
// and ignored by the verbs on existing containers (containerd's shim passes it
// on every call).
TEST(EngineStrings, GlobalFlagsEnginesPass) {
  Sandbox sb;
  std::string id = sb.new_id("flags");
  ASSERT_EQ(
      sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"sleep", "30"})), id}).status,
      0);
  for (const auto& flags : std::vector<std::vector<std::string>>{{"--rootless=false"},
                                                                 {"--rootless", "false"},
                                                                 {"--rootless=auto"},
                                                                 {"--criu", "/usr/sbin/criu"},
                                                                 {"--criu=criu"},
                                                                 {"--systemd-cgroup=false"},
                                                                 {"--systemd-cgroup"}}) {
    std::vector<std::string> args = flags;
    args.insert(args.end(), {"state", id});
    auto o = sb.nsbox(args);
    EXPECT_EQ(o.status, 0) << ::testing::PrintToString(flags) << ": " << o.err;
    EXPECT_TRUE(contains(o.out, "\"created\"")) << o.out;
  }
  auto bad = sb.nsbox({"--rootless=maybe", "state", id});
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.err, "--rootless")) << bad.err;
  std::string id2 = sb.new_id("systemd");
  auto systemd = sb.nsbox({"--systemd-cgroup", "create", "-b",
                           sb.bundle(Sandbox::default_config({"true"}), "b2"), id2});
  EXPECT_NE(systemd.status, 0);
  EXPECT_TRUE(contains(systemd.err, "not supported yet")) << systemd.err;
  for (const char* verb : {"run", "sandbox"}) {
    auto o = sb.nsbox({"--systemd-cgroup", verb, "--", "true"});
    EXPECT_NE(o.status, 0) << verb;
    EXPECT_TRUE(contains(o.err, "not supported yet")) << verb << ": " << o.err;
  }
  EXPECT_EQ(sb.nsbox({"--systemd-cgroup", "kill", id, "KILL"}).status, 0);
  EXPECT_EQ(sb.nsbox({"--systemd-cgroup", "delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// As runc: a --log file that cannot be opened fails the command before it
// does anything (the engine reading that file would find no reason).
TEST(EngineStrings, UnopenableLogFileFailsTheCommand) {
  Sandbox sb;
  std::string id = sb.new_id("nolog");
  auto o = logged(sb, sb.dir() + "/no/such/dir/log.json",
                  {"create", "-b", sb.bundle(Sandbox::default_config({"true"})), id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "open " + sb.dir() + "/no/such/dir/log.json")) << o.err;
  // JSON on stderr, as asked.
  EXPECT_TRUE(json::parse(o.err, nullptr, false).is_object()) << o.err;
  EXPECT_TRUE(contains(sb.nsbox({"state", id}).err, "container does not exist"));
  EXPECT_EQ(sb.leftovers(), "");
}
