// Malformed and hostile configs, IDs and command lines. Each must fail with a
// non-zero exit and one clear line on stderr naming the field, and leave
// nothing behind: no state directory, cgroup, mount or process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::pids_with;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace fs = std::filesystem;

namespace {

bool one_line(const std::string& s) {
  return !s.empty() && s.back() == '\n' && s.find('\n') == s.size() - 1;
}

json& ns_entry(json& cfg, const std::string& type) {
  for (auto& n : cfg["linux"]["namespaces"]) {
    if (n["type"] == type) return n;
  }
  cfg["linux"]["namespaces"].push_back({{"type", type}});
  return cfg["linux"]["namespaces"].back();
}

std::string dump(const json& cfg) { return cfg.dump(2); }

json base() { return Sandbox::default_config({"true"}); }

struct BadConfig {
  const char* name;
  // The config.json text (the sandbox directory is available for files).
  std::function<std::string(Sandbox&)> config;
  std::vector<std::string> needles;  // all must appear in the error line
};

std::ostream& operator<<(std::ostream& os, const BadConfig& c) { return os << c.name; }

const std::vector<BadConfig>& bad_configs() {
  static const std::vector<BadConfig> kCases = {
      {"InvalidJson",
       [](Sandbox&) { return std::string("{\"ociVersion\": \"1.0.0\", "); },
       {"config.json", "invalid JSON"}},
      {"NotAnObject", [](Sandbox&) { return std::string("[1, 2]"); }, {"expected a JSON object"}},
      {"UidWrongType",
       [](Sandbox&) {
         auto c = base();
         c["process"]["user"]["uid"] = "0";
         return dump(c);
       },
       {"process.user.uid"}},
      {"UidNegative",
       [](Sandbox&) {
         auto c = base();
         c["process"]["user"]["uid"] = -1;
         return dump(c);
       },
       {"process.user.uid"}},
      {"ArgsWrongType",
       [](Sandbox&) {
         auto c = base();
         c["process"]["args"] = "sh -c true";
         return dump(c);
       },
       {"process.args"}},
      {"ArgsEmpty",
       [](Sandbox&) {
         auto c = base();
         c["process"]["args"] = json::array();
         return dump(c);
       },
       {"process.args"}},
      {"RelativeCwd",
       [](Sandbox&) {
         auto c = base();
         c["process"]["cwd"] = "tmp";
         return dump(c);
       },
       {"process.cwd", "absolute"}},
      {"MissingRootPath",
       [](Sandbox&) {
         auto c = base();
         c["root"].erase("path");
         return dump(c);
       },
       {"root.path"}},
      {"MissingRoot",
       [](Sandbox&) {
         auto c = base();
         c.erase("root");
         return dump(c);
       },
       {"root"}},
      {"RootReadonlyWrongType",
       [](Sandbox&) {
         auto c = base();
         c["root"]["readonly"] = "yes";
         return dump(c);
       },
       {"root.readonly"}},
      {"NonexistentRootfs",
       [](Sandbox& sb) {
         auto c = base();
         c["root"]["path"] = sb.dir() + "/no-such-rootfs";
         return dump(c);
       },
       {"root.path", "no-such-rootfs"}},
      {"RootfsIsAFile",
       [](Sandbox& sb) {
         auto c = base();
         std::ofstream(sb.dir() + "/file") << "x";
         c["root"]["path"] = sb.dir() + "/file";
         return dump(c);
       },
       {"root.path"}},
      {"OciVersion2",
       [](Sandbox&) {
         auto c = base();
         c["ociVersion"] = "2.0.0";
         return dump(c);
       },
       {"ociVersion", "2.0.0"}},
      {"MissingOciVersion",
       [](Sandbox&) {
         auto c = base();
         c.erase("ociVersion");
         return dump(c);
       },
       {"ociVersion"}},
      {"UnknownNamespaceType",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["namespaces"].push_back({{"type", "bogus"}});
         return dump(c);
       },
       {"linux.namespaces[5].type", "bogus"}},
      {"DuplicateNamespace",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["namespaces"].push_back({{"type", "ipc"}});
         return dump(c);
       },
       {"linux.namespaces", "duplicate", "ipc"}},
      {"NamespacePathNotANamespace",
       [](Sandbox& sb) {
         auto c = base();
         std::ofstream(sb.dir() + "/not-a-ns") << "x";
         ns_entry(c, "network")["path"] = sb.dir() + "/not-a-ns";
         return dump(c);
       },
       {"linux.namespaces[1].path", "not a namespace"}},
      {"NamespacePathWrongType",
       [](Sandbox&) {
         auto c = base();
         ns_entry(c, "ipc")["path"] = "/proc/self/ns/net";
         return dump(c);
       },
       {"linux.namespaces[2].path", "not a ipc namespace"}},
      {"NamespacePathMissing",
       [](Sandbox& sb) {
         auto c = base();
         ns_entry(c, "uts")["path"] = sb.dir() + "/missing-ns";
         return dump(c);
       },
       {"linux.namespaces[3].path", "missing-ns"}},
      {"RelativeNamespacePath",
       [](Sandbox&) {
         auto c = base();
         ns_entry(c, "network")["path"] = "proc/self/ns/net";
         return dump(c);
       },
       {"linux.namespaces[1].path", "absolute"}},
      {"NoMountNamespace",
       [](Sandbox&) {
         auto c = base();
         nsbox::it::remove_ns(c, "mount");
         return dump(c);
       },
       {"linux.namespaces", "mount"}},
      {"SeccompUnknownAction",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["seccomp"] = {
             {"defaultAction", "SCMP_ACT_ALLOW"},
             {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_FOO"}}}}};
         return dump(c);
       },
       {"linux.seccomp.syscalls[0].action", "unknown action \"SCMP_ACT_FOO\""}},
      {"MemoryLimitNotANumber",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["resources"]["memory"] = {{"limit", "64m"}};
         return dump(c);
       },
       {"linux.resources.memory.limit", "expected integer"}},
      {"HugepageSizeMalformed",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2M"}, {"limit", 1}}};
         return dump(c);
       },
       {"linux.resources.hugepageLimits[0].pageSize", "invalid page size"}},
      {"ExecCpuAffinity",
       [](Sandbox&) {
         auto c = base();
         c["process"]["execCPUAffinity"] = {{"initial", "0"}};
         return dump(c);
       },
       {"process.execCPUAffinity", "not supported yet"}},
      {"IdmapMountOption",
       [](Sandbox& sb) {
         auto c = base();
         fs::create_directories(sb.dir() + "/src");
         c["mounts"].push_back({{"destination", "/home"},
                                {"type", "bind"},
                                {"source", sb.dir() + "/src"},
                                {"options", {"rbind", "idmap"}}});
         return dump(c);
       },
       {"mounts[7]", "idmap", "not supported yet"}},
      {"EmptyMountDestination",
       [](Sandbox&) {
         auto c = base();
         c["mounts"].push_back({{"destination", ""}, {"type", "tmpfs"}, {"source", "tmpfs"}});
         return dump(c);
       },
       {"mounts[7].destination"}},
      {"MissingBindSource",
       [](Sandbox& sb) {
         auto c = base();
         c["mounts"].push_back({{"destination", "/home"},
                                {"type", "bind"},
                                {"source", sb.dir() + "/no-such-src"},
                                {"options", {"rbind"}}});
         return dump(c);
       },
       {"mounts[7]", "no-such-src"}},
      {"ProcMountOfWrongType",
       [](Sandbox&) {
         auto c = base();
         c["mounts"][0]["type"] = "tmpfs";
         return dump(c);
       },
       {"mounts[0]", "/proc"}},
      {"RelativeHookPath",
       [](Sandbox&) {
         auto c = base();
         c["hooks"]["prestart"] = {{{"path", "bin/true"}}};
         return dump(c);
       },
       {"hooks.prestart[0].path", "absolute"}},
      {"HookZeroTimeout",
       [](Sandbox&) {
         auto c = base();
         c["hooks"]["poststart"] = {{{"path", "/bin/true"}, {"timeout", 0}}};
         return dump(c);
       },
       {"hooks.poststart[0].timeout"}},
      {"UnknownRlimit",
       [](Sandbox&) {
         auto c = base();
         c["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}};
         return dump(c);
       },
       {"process.rlimits[0].type", "RLIMIT_BOGUS"}},
      {"RlimitSoftAboveHard",
       [](Sandbox&) {
         auto c = base();
         c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 20}, {"hard", 10}}};
         return dump(c);
       },
       {"process.rlimits[0]"}},
      {"NetSysctlWithoutNetNamespace",
       [](Sandbox&) {
         auto c = base();
         nsbox::it::remove_ns(c, "network");
         c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
         return dump(c);
       },
       {"linux.sysctl", "net.ipv4.ip_forward", "network namespace"}},
      {"IpcSysctlWithoutIpcNamespace",
       [](Sandbox&) {
         auto c = base();
         nsbox::it::remove_ns(c, "ipc");
         c["linux"]["sysctl"] = {{"kernel.shmmax", "4096"}};
         return dump(c);
       },
       {"linux.sysctl", "kernel.shmmax", "IPC namespace"}},
      {"HostnameWithoutUtsNamespace",
       [](Sandbox&) {
         auto c = base();
         nsbox::it::remove_ns(c, "uts");
         return dump(c);
       },
       {"hostname", "UTS namespace"}},
      {"UidMappingsWithoutUserNamespace",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
         return dump(c);
       },
       {"linux.uidMappings", "user namespace"}},
      {"UnknownDeviceType",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["devices"] = {{{"path", "/dev/x"}, {"type", "z"}, {"major", 1}, {"minor", 3}}};
         return dump(c);
       },
       {"linux.devices[0].type"}},
      {"UnknownRootfsPropagation",
       [](Sandbox&) {
         auto c = base();
         c["linux"]["rootfsPropagation"] = "sideways";
         return dump(c);
       },
       {"linux.rootfsPropagation", "sideways"}},
      {"MissingExecutable",
       [](Sandbox&) {
         auto c = base();
         c["process"]["args"] = {"no-such-program-xyz"};
         return dump(c);
       },
       {"no-such-program-xyz", "executable file not found in $PATH"}},
      {"NonExecutableFile",
       [](Sandbox&) {
         auto c = base();
         c["process"]["args"] = {"/etc/passwd"};
         return dump(c);
       },
       {"/etc/passwd", "ermission denied"}},
      {"ExecutableIsADirectory",
       [](Sandbox&) {
         auto c = base();
         c["process"]["args"] = {"/etc"};
         return dump(c);
       },
       {"/etc", "permission denied"}},
  };
  return kCases;
}

class BadConfigTest : public testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, CreateFailsCleanly) {
  const BadConfig& c = GetParam();
  Sandbox sb;
  std::string id = sb.new_id("bad");
  std::string b = sb.bundle_raw(c.config(sb));
  auto o = sb.nsbox({"create", "-b", b, id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(one_line(o.err)) << "stderr: " << o.err;
  for (const auto& n : c.needles) EXPECT_TRUE(contains(o.err, n)) << n << " not in: " << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_EQ(pids_with(sb.dir()), std::vector<pid_t>{});
  EXPECT_NE(sb.nsbox({"state", id}).status, 0);
  // `run` fails the same way.
  auto r = sb.nsbox({"run", "-b", b, id});
  EXPECT_NE(r.status, 0);
  for (const auto& n : c.needles) EXPECT_TRUE(contains(r.err, n)) << n << " not in: " << r.err;
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_EQ(pids_with(sb.dir()), std::vector<pid_t>{});
}

INSTANTIATE_TEST_SUITE_P(BadInput, BadConfigTest, testing::ValuesIn(bad_configs()),
                         [](const testing::TestParamInfo<BadConfig>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace

// ------------------------------------------------------------------------ IDs

TEST(BadInput, HostileIds) {
  Sandbox sb;
  std::string b = sb.bundle(Sandbox::default_config({"true"}));
  const std::vector<std::string> ids = {
      "../x", "a/b", "", ".", "..", "/abs", std::string(300, 'a'), "with space", "semi;colon"};
  for (const auto& id : ids) {
    SCOPED_TRACE("id \"" + id + "\"");
    auto o = sb.nsbox({"create", "-b", b, "--", id});
    EXPECT_NE(o.status, 0);
    EXPECT_TRUE(one_line(o.err)) << o.err;
    EXPECT_TRUE(contains(o.err, "container id")) << o.err;
    for (const char* verb : {"state", "start", "kill", "delete"}) {
      auto v = sb.nsbox({verb, "--", id});
      EXPECT_NE(v.status, 0) << verb;
    }
  }
  EXPECT_FALSE(fs::exists(sb.dir() + "/x"));
  EXPECT_FALSE(fs::exists(sb.root() + "/a"));
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_EQ(pids_with(sb.dir()), std::vector<pid_t>{});
  // The longest valid ID works.
  std::string longest(255, 'b');
  auto ok = sb.nsbox({"create", "-b", b, longest});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(sb.nsbox({"delete", "--force", longest}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// An ID with a newline must not break the one-line error (log injection).
TEST(BadInput, IdWithNewlineGivesOneLineError) {
  Sandbox sb;
  std::string b = sb.bundle(Sandbox::default_config({"true"}));
  auto o = sb.nsbox({"create", "-b", b, "new\nline"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "container id")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_TRUE(one_line(o.err)) << o.err;
}

// ------------------------------------------------------------------------ CLI

TEST(BadInput, UnknownFlagAndVerb) {
  Sandbox sb;
  auto f = sb.nsbox({"create", "--bogus-flag", "x"});
  EXPECT_NE(f.status, 0);
  EXPECT_TRUE(one_line(f.err)) << f.err;
  EXPECT_TRUE(contains(f.err, "--bogus-flag")) << f.err;
  auto g = sb.nsbox({"--bogus-global", "list"});
  EXPECT_NE(g.status, 0);
  EXPECT_TRUE(contains(g.err, "--bogus-global")) << g.err;
  auto v = sb.nsbox({"frobnicate", "x"});
  EXPECT_NE(v.status, 0);
  EXPECT_TRUE(one_line(v.err)) << v.err;
  EXPECT_TRUE(contains(v.err, "frobnicate")) << v.err;
  auto missing = sb.nsbox({"create"});
  EXPECT_NE(missing.status, 0);
  EXPECT_TRUE(contains(missing.err, "create")) << missing.err;
  auto value = sb.nsbox({"create", "x", "--bundle"});
  EXPECT_NE(value.status, 0);
  EXPECT_TRUE(contains(value.err, "--bundle")) << value.err;
  auto none = nsbox::it::run_program({nsbox::it::nsbox_binary()});
  EXPECT_NE(none.status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(BadInput, SystemdCgroupIsAClearError) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string b = sb.bundle(Sandbox::default_config({"true"}));
  auto o = sb.nsbox({"--systemd-cgroup", "create", "-b", b, id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(one_line(o.err)) << o.err;
  EXPECT_TRUE(contains(o.err, "--systemd-cgroup")) << o.err;
  EXPECT_TRUE(contains(o.err, "not supported yet")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(BadInput, UnsupportedCreateFlags) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string b = sb.bundle(Sandbox::default_config({"true"}));
  auto o = sb.nsbox({"create", "--console-socket", sb.dir() + "/sock", "-b", b, id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(one_line(o.err)) << o.err;
  EXPECT_TRUE(contains(o.err, "--console-socket")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(BadInput, HelpOnEveryVerbAndVersion) {
  Sandbox sb;
  for (const char* verb : {"spec", "create", "start", "run", "state", "kill", "delete", "list"}) {
    for (const char* flag : {"--help", "-h"}) {
      auto o = sb.nsbox({verb, flag});
      EXPECT_EQ(o.status, 0) << verb << " " << flag << ": " << o.err;
      EXPECT_TRUE(contains(o.out, "Usage: nsbox " + std::string(verb))) << verb << ": " << o.out;
      EXPECT_EQ(o.err, "") << verb;
    }
  }
  auto h = sb.nsbox({"--help"});
  EXPECT_EQ(h.status, 0);
  for (const char* verb : {"create", "start", "run", "state", "kill", "delete", "list", "spec"}) {
    EXPECT_TRUE(contains(h.out, verb)) << verb;
  }
  for (const char* flag : {"--version", "-v"}) {
    auto v = sb.nsbox({flag});
    EXPECT_EQ(v.status, 0) << flag;
    EXPECT_TRUE(contains(v.out, "nsbox version ")) << v.out;
    EXPECT_TRUE(contains(v.out, "spec: 1.")) << v.out;
  }
  EXPECT_FALSE(fs::exists(sb.root()));
}

TEST(BadInput, JsonLogCarriesTheReason) {
  Sandbox sb;
  std::string log = sb.dir() + "/log.json";
  auto cfg = Sandbox::default_config({"true"});
  cfg["process"]["user"]["uid"] = "root";
  std::string id = sb.new_id();
  std::string b = sb.bundle(cfg);
  auto o = nsbox::it::run_program({nsbox::it::nsbox_binary(), "--root", sb.root(), "--log", log,
                                   "--log-format", "json", "create", "-b", b, id});
  EXPECT_NE(o.status, 0);
  // The reason also reaches stderr.
  EXPECT_TRUE(contains(o.err, "process.user.uid")) << o.err;
  std::string text = slurp(log);
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::istringstream in(text);
  json last;
  for (std::string line; std::getline(in, line);) {
    last = json::parse(line, nullptr, false);
    ASSERT_FALSE(last.is_discarded()) << line;
    EXPECT_TRUE(last.contains("level")) << line;
    EXPECT_TRUE(last.contains("msg")) << line;
    EXPECT_TRUE(last.contains("time")) << line;
  }
  EXPECT_EQ(last["level"], "error");
  EXPECT_TRUE(contains(last["msg"].get<std::string>(), "process.user.uid")) << last.dump();
  std::string t = last["time"].get<std::string>();
  EXPECT_TRUE(t.size() >= 20 && t[4] == '-' && t[10] == 'T') << t;
  EXPECT_EQ(sb.leftovers(), "");

  auto bad = sb.nsbox({"--log-format", "xml", "list"});
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.err, "--log-format")) << bad.err;
}

TEST(BadInput, KillSignalNames) {
  Sandbox sb;
  std::string b = sb.bundle(Sandbox::default_config({"sleep", "30"}));
  for (const char* sig : {"KILL", "SIGKILL", "9"}) {
    SCOPED_TRACE(sig);
    std::string id = sb.new_id();
    ASSERT_EQ(sb.nsbox({"create", "-b", b, id}).status, 0);
    auto bogus = sb.nsbox({"kill", id, "BOGUS"});
    EXPECT_NE(bogus.status, 0);
    EXPECT_TRUE(one_line(bogus.err)) << bogus.err;
    EXPECT_TRUE(contains(bogus.err, "BOGUS")) << bogus.err;
    EXPECT_NE(sb.nsbox({"kill", id, "SIGBOGUS"}).status, 0);
    EXPECT_NE(sb.nsbox({"kill", id, "99999"}).status, 0);
    EXPECT_EQ(json::parse(sb.nsbox({"state", id}).out)["status"], "created");
    auto k = sb.nsbox({"kill", id, sig});
    EXPECT_EQ(k.status, 0) << k.err;
    std::string st;
    for (int i = 0; i < 250 && st != "stopped"; ++i) {
      st = json::parse(sb.nsbox({"state", id}).out)["status"].get<std::string>();
      if (st != "stopped") usleep(20000);
    }
    EXPECT_EQ(st, "stopped");
    EXPECT_EQ(sb.nsbox({"delete", id}).status, 0);
  }
  EXPECT_EQ(sb.leftovers(), "");
}
