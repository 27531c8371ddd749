// process.*, hostname/domainname, linux.namespaces, user and time
// namespaces, linux.sysctl and annotations: each asserted from INSIDE a real
// container (its /proc/self/status, /proc/self/ns/*, ...), driven through the
// nsbox binary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::host_ns;
using nsbox::it::Output;
using nsbox::it::remove_ns;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

// OCI namespace type -> /proc/self/ns/<name>.
const std::map<std::string, std::string> kNsProcName = {
    {"cgroup", "cgroup"}, {"ipc", "ipc"},   {"mount", "mnt"}, {"network", "net"},
    {"pid", "pid"},       {"user", "user"}, {"uts", "uts"},   {"time", "time"}};

json sh(const std::string& script) { return Sandbox::default_config({"sh", "-c", script}); }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = s.find_first_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b);
}

// "key=value" lines (or "Key:\tvalue" lines of /proc/self/status) -> map.
std::map<std::string, std::string> kv(const std::string& text, char sep = '=') {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t p = line.find(sep);
    if (p != std::string::npos) out[line.substr(0, p)] = trimmed(line.substr(p + 1));
  }
  return out;
}

// Add (or replace) a namespace entry; an empty path means "new".
void set_ns(json& cfg, const std::string& type, const std::string& path = "") {
  remove_ns(cfg, type);
  json n = {{"type", type}};
  if (!path.empty()) n["path"] = path;
  cfg["linux"]["namespaces"].push_back(n);
}

// A new user namespace: container 0..65535 -> host 100000..165535.
void add_userns(Sandbox& sb, json& cfg) {
  set_ns(cfg, "user");
  json map = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  cfg["linux"]["uidMappings"] = map;
  cfg["linux"]["gidMappings"] = map;
  // The bundle stays under the sandbox's 0700 directory, which the remapped
  // root may not search: nsbox must not need to.
  (void)sb;
}

// Prints "<proc name>=<ns link>" for every namespace of the process.
const char* kPrintNs =
    "for n in cgroup ipc mnt net pid user uts time; do echo $n=$(readlink /proc/self/ns/$n); done";

// Create (not start) a container running `sleep 30`; returns its pid, 0 on failure.
int create_sleeper(Sandbox& sb, json cfg, std::string* id_out, const std::string& name) {
  cfg["process"]["args"] = {"sleep", "30"};
  std::string id = sb.new_id(name);
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle-" + id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  if (o.status != 0) return 0;
  if (id_out != nullptr) *id_out = id;
  return json::parse(sb.nsbox({"state", id}).out)["pid"].get<int>();
}

// Whether a /proc/sysvipc/msg listing has a queue with this key.
bool has_msg_key(const std::string& listing, key_t key) {
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    if (words >> first && first == std::to_string(key)) return true;
  }
  return false;
}

// Runs of blanks -> one space.
std::string squeeze(const std::string& s) {
  std::istringstream is(s);
  std::string w, out;
  while (is >> w) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string ns_of(int pid, const std::string& proc_name) {
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + proc_name)
      .string();
}

// `create` must fail naming `needle`, leaving nothing behind.
void expect_create_fails(Sandbox& sb, const json& cfg, const std::string& needle) {
  std::string id = sb.new_id("fail");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle-" + id), id});
  EXPECT_NE(o.status, 0) << o.out;
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  EXPECT_NE(sb.nsbox({"state", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

bool host_has_cap(int cap) {
  auto st = kv(slurp("/proc/self/status"), ':');
  return (std::stoull(st["CapEff"], nullptr, 16) >> cap) & 1;
}

constexpr int kCapSysResource = 24;

std::string hex_caps(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// ---- process ----

TEST(Process, ArgsArePassedVerbatim) {
  Sandbox sb;
  auto o = sb.run(
      Sandbox::default_config({"sh", "-c", "echo \"$0\"; for a in \"$@\"; do echo \"[$a]\"; done",
                               "zero", "a b", "", "*", "$HOME"}));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "zero\n[a b]\n[]\n[*]\n[$HOME]\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, EnvIsExactlyTheConfigs) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"env"});
  cfg["process"]["env"] = {"PATH=/bin:/sbin", "FOO=bar baz", "EMPTY=", "MULTI=a=b"};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "PATH=/bin:/sbin\nFOO=bar baz\nEMPTY=\nMULTI=a=b\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, EnvWithoutPathFindsArgs0InDefaultPath) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"env"});
  cfg["process"]["env"] = {"ONLY=1"};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "ONLY=1\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, MissingExecutableFailsCreate) {
  Sandbox sb;
  expect_create_fails(sb, Sandbox::default_config({"no-such-program"}), "no-such-program");
}

TEST(Process, CwdIsApplied) {
  Sandbox sb;
  auto cfg = sh("pwd");
  cfg["process"]["cwd"] = "/etc";
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "/etc\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, MissingCwdIsCreated) {
  Sandbox sb;
  // Under a tmpfs: the shared rootfs must not be modified; root stays read-only.
  auto cfg = sh("pwd; stat -c '%F %a' .");
  cfg["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  cfg["process"]["cwd"] = "/tmp/made/by/nsbox";
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "/tmp/made/by/nsbox\ndirectory 755\n");
  EXPECT_FALSE(std::filesystem::exists(nsbox::it::rootfs_path() + "/tmp/made"));
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, UserUidGidAdditionalGidsUmask) {
  Sandbox sb;
  auto cfg = sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo umask=$(umask)");
  cfg["process"]["user"] = {
      {"uid", 1000}, {"gid", 1001}, {"additionalGids", {1002, 1003}}, {"umask", 027}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["Uid"], "1000\t1000\t1000\t1000") << o.out;
  EXPECT_EQ(st["Gid"], "1001\t1001\t1001\t1001") << o.out;
  EXPECT_EQ(st["Groups"], "1002 1003") << o.out;
  EXPECT_EQ(kv(o.out)["umask"], "0027") << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, RootWithoutAdditionalGidsHasNoGroups) {
  Sandbox sb;
  auto o = sb.run(sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status"));
  EXPECT_EQ(o.status, 0) << o.err;
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["Uid"], "0\t0\t0\t0");
  EXPECT_EQ(st["Gid"], "0\t0\t0\t0");
  EXPECT_EQ(st["Groups"], "");
}

TEST(Process, RlimitsAreApplied) {
  Sandbox sb;
  rlimit own{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &own), 0);
  ASSERT_GE(own.rlim_max, 200u);
  auto cfg =
      sh("echo soft=$(ulimit -Sn) hard=$(ulimit -Hn); grep -E 'open files|core file' "
         "/proc/self/limits");
  cfg["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}},
                               {{"type", "RLIMIT_CORE"}, {"soft", 4096}, {"hard", 8192}}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("soft=100 hard=200\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Max open files            100                  200"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("Max core file size        4096                 8192"), std::string::npos)
      << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, RlimitHardAboveOwnIsRefused) {
  if (host_has_cap(kCapSysResource)) GTEST_SKIP() << "the runtime has CAP_SYS_RESOURCE";
  Sandbox sb;
  rlimit own{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &own), 0);
  ASSERT_NE(own.rlim_max, RLIM_INFINITY);
  auto cfg = sh("true");
  cfg["process"]["rlimits"] = {
      {{"type", "RLIMIT_NOFILE"}, {"soft", 64}, {"hard", own.rlim_max + 1}}};
  expect_create_fails(sb, cfg, "RLIMIT_NOFILE");
  std::string id = sb.new_id("fail");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, "b2"), id});
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.err.find("hard limit " + std::to_string(own.rlim_max + 1)), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("CAP_SYS_RESOURCE"), std::string::npos) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, NoNewPrivileges) {
  Sandbox sb;
  auto cfg = sh("grep NoNewPrivs /proc/self/status");
  cfg["process"]["noNewPrivileges"] = true;
  auto on = sb.run(cfg);
  EXPECT_EQ(on.status, 0) << on.err;
  EXPECT_EQ(kv(on.out, ':')["NoNewPrivs"], "1");
  cfg["process"]["noNewPrivileges"] = false;
  auto off = sb.run(cfg);
  EXPECT_EQ(off.status, 0) << off.err;
  EXPECT_EQ(kv(off.out, ':')["NoNewPrivs"], "0");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, OomScoreAdjRaised) {
  Sandbox sb;
  std::string before = slurp("/proc/self/oom_score_adj");
  auto cfg = sh("cat /proc/self/oom_score_adj");
  cfg["process"]["oomScoreAdj"] = 789;
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "789\n");
  EXPECT_EQ(slurp("/proc/self/oom_score_adj"), before);
  EXPECT_EQ(sb.leftovers(), "");
}

// execve(2) recomputes permitted/effective from the other sets: for root
// they become bounding | inheritable (the file counts as fully privileged),
// capped by the old permitted set under no_new_privs; for any other uid they
// become the ambient set. Each case pins what the kernel lets us observe.
json five_sets() {
  return {{"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"}},
          {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}},
          {"effective", {"CAP_CHOWN", "CAP_KILL"}},
          {"inheritable", {"CAP_KILL", "CAP_NET_RAW"}},
          {"ambient", {"CAP_KILL"}}};
}
constexpr uint64_t kChown = 1, kKill = 1 << 5, kNetRaw = 1 << 13, kChroot = 1 << 18;

TEST(Capabilities, AllFiveSetsAsRootWithNoNewPrivs) {
  Sandbox sb;
  auto cfg = sh("grep ^Cap /proc/self/status");
  cfg["process"]["noNewPrivileges"] = true;
  cfg["process"]["capabilities"] = five_sets();
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["CapBnd"], hex_caps(kChown | kKill | kNetRaw | kChroot)) << o.out;
  EXPECT_EQ(st["CapInh"], hex_caps(kKill | kNetRaw)) << o.out;
  EXPECT_EQ(st["CapAmb"], hex_caps(kKill)) << o.out;
  EXPECT_EQ(st["CapPrm"], hex_caps(kChown | kKill | kNetRaw)) << o.out;
  EXPECT_EQ(st["CapEff"], hex_caps(kChown | kKill | kNetRaw)) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Capabilities, AllFiveSetsAsRootWithoutNoNewPrivs) {
  Sandbox sb;
  auto cfg = sh("grep ^Cap /proc/self/status");
  cfg["process"]["noNewPrivileges"] = false;
  cfg["process"]["capabilities"] = five_sets();
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["CapBnd"], hex_caps(kChown | kKill | kNetRaw | kChroot)) << o.out;
  EXPECT_EQ(st["CapInh"], hex_caps(kKill | kNetRaw)) << o.out;
  EXPECT_EQ(st["CapAmb"], hex_caps(kKill)) << o.out;
  EXPECT_EQ(st["CapPrm"], hex_caps(kChown | kKill | kNetRaw | kChroot)) << o.out;
  EXPECT_EQ(st["CapEff"], hex_caps(kChown | kKill | kNetRaw | kChroot)) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Process, OomScoreAdjLoweringNeedsCapSysResource) {
  if (host_has_cap(kCapSysResource)) GTEST_SKIP() << "the runtime has CAP_SYS_RESOURCE";
  if (std::stoi(slurp("/proc/self/oom_score_adj")) <= -1000) GTEST_SKIP() << "already minimal";
  Sandbox sb;
  auto cfg = sh("true");
  cfg["process"]["oomScoreAdj"] = -1000;
  expect_create_fails(sb, cfg, "process.oomScoreAdj");
}

TEST(Capabilities, AllFiveSetsAsNonRoot) {
  Sandbox sb;
  auto cfg = sh("grep ^Cap /proc/self/status");
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  cfg["process"]["capabilities"] = {
      {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"}},
      {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}},
      {"effective", {"CAP_CHOWN", "CAP_KILL"}},
      {"inheritable", {"CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"}},
      {"ambient", {"CAP_KILL", "CAP_NET_RAW"}}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["CapBnd"], hex_caps(kChown | kKill | kNetRaw | kChroot)) << o.out;
  EXPECT_EQ(st["CapInh"], hex_caps(kKill | kNetRaw | kChroot)) << o.out;
  EXPECT_EQ(st["CapAmb"], hex_caps(kKill | kNetRaw)) << o.out;
  EXPECT_EQ(st["CapPrm"], hex_caps(kKill | kNetRaw)) << o.out;
  EXPECT_EQ(st["CapEff"], hex_caps(kKill | kNetRaw)) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Capabilities, UnknownCapabilityIsAWarning) {
  Sandbox sb;
  auto cfg = sh("grep ^CapBnd /proc/self/status");
  cfg["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_BOGUS"}},
                                    {"permitted", {"CAP_KILL"}},
                                    {"effective", {"CAP_KILL"}}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.err.find("CAP_BOGUS"), std::string::npos) << o.err;
  EXPECT_EQ(kv(o.out, ':')["CapBnd"], hex_caps(kKill));
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Capabilities, UngrantableCapabilityIsAWarning) {
  if (host_has_cap(kCapSysResource)) GTEST_SKIP() << "the runtime has CAP_SYS_RESOURCE";
  Sandbox sb;
  auto cfg = sh("grep -E '^Cap(Bnd|Eff)' /proc/self/status");
  cfg["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_SYS_RESOURCE"}},
                                    {"permitted", {"CAP_KILL", "CAP_SYS_RESOURCE"}},
                                    {"effective", {"CAP_KILL", "CAP_SYS_RESOURCE"}}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.err.find("CAP_SYS_RESOURCE"), std::string::npos) << o.err;
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["CapBnd"], hex_caps(kKill)) << o.out;
  EXPECT_EQ(st["CapEff"], hex_caps(kKill)) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// ---- hostname, domainname ----

TEST(Names, HostnameAndDomainname) {
  Sandbox sb;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string host_domain = slurp("/proc/sys/kernel/domainname");
  auto cfg = sh("hostname; cat /proc/sys/kernel/domainname");
  cfg["hostname"] = "box-one";
  cfg["domainname"] = "example.org";
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "box-one\nexample.org\n");
  char after[256] = {};
  gethostname(after, sizeof after - 1);
  EXPECT_STREQ(after, host);
  EXPECT_EQ(slurp("/proc/sys/kernel/domainname"), host_domain);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Names, HostnameWithoutUtsNamespaceIsRefused) {
  Sandbox sb;
  auto cfg = sh("true");
  remove_ns(cfg, "uts");
  cfg["hostname"] = "nope";
  expect_create_fails(sb, cfg, "hostname");
  cfg.erase("hostname");
  cfg["domainname"] = "nope";
  expect_create_fails(sb, cfg, "domainname");
}

// ---- linux.namespaces ----

TEST(Namespaces, AllEightCreatedNew) {
  Sandbox sb;
  auto cfg = sh(kPrintNs);
  for (const auto& [type, proc] : kNsProcName) set_ns(cfg, type);
  add_userns(sb, cfg);
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  auto inside = kv(o.out);
  for (const auto& [type, proc] : kNsProcName) {
    ASSERT_FALSE(inside[proc].empty()) << proc << "\n" << o.out;
    EXPECT_EQ(inside[proc].substr(0, proc.size() + 2), proc + ":[") << inside[proc];
    EXPECT_NE(inside[proc], host_ns(proc)) << type;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Namespaces, OmittedAreSharedWithTheHost) {
  Sandbox sb;
  auto cfg = sh(kPrintNs);
  cfg["linux"]["namespaces"] = json::array({{{"type", "mount"}}});
  cfg.erase("hostname");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  auto inside = kv(o.out);
  for (const auto& [type, proc] : kNsProcName) {
    if (type == "mount") {
      EXPECT_NE(inside[proc], host_ns(proc));
    } else {
      EXPECT_EQ(inside[proc], host_ns(proc)) << type;
    }
  }
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Namespaces, JoinedByPath) {
  Sandbox sb;
  auto a_cfg = Sandbox::default_config();
  set_ns(a_cfg, "cgroup");
  std::string a_id;
  int a = create_sleeper(sb, a_cfg, &a_id, "a");
  ASSERT_GT(a, 0);
  std::string pa = "/proc/" + std::to_string(a) + "/ns/";
  auto cfg = sh(kPrintNs);
  for (const char* t : {"ipc", "network", "uts", "cgroup"}) {
    set_ns(cfg, t, pa + kNsProcName.at(t));
  }
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  auto inside = kv(o.out);
  for (const char* t : {"ipc", "network", "uts", "cgroup"}) {
    const auto& proc = kNsProcName.at(t);
    EXPECT_EQ(inside[proc], ns_of(a, proc)) << t;
    EXPECT_NE(inside[proc], host_ns(proc)) << t;
  }
  // Still new: pid and mount.
  EXPECT_NE(inside["pid"], ns_of(a, "pid"));
  EXPECT_NE(inside["mnt"], ns_of(a, "mnt"));
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Namespaces, JoinedPathOfWrongTypeIsRefused) {
  Sandbox sb;
  auto cfg = sh("true");
  set_ns(cfg, "ipc", "/proc/self/ns/net");
  expect_create_fails(sb, cfg, "linux.namespaces");
  set_ns(cfg, "ipc", "/nonexistent/ns/ipc");
  expect_create_fails(sb, cfg, "/nonexistent/ns/ipc");
}

// THE KEY TEST: B joins A's IPC and network namespaces by path. A SysV
// message queue made in A's IPC namespace is seen in B, not on the host, not
// in a third container with its own IPC namespace.
TEST(Namespaces, JoinedIpcAndNetShareSysvQueueAndInterfaces) {
  Sandbox sb;
  std::string a_id;
  int a = create_sleeper(sb, Sandbox::default_config(), &a_id, "a");
  ASSERT_GT(a, 0);
  std::string pa = "/proc/" + std::to_string(a) + "/ns/";
  const key_t key = static_cast<key_t>(0x5e000000 | (getpid() & 0xffffff));
  // Make the queue inside A's IPC namespace, from a child of ours.
  pid_t child = fork();
  if (child == 0) {
    int fd = open((pa + "ipc").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWIPC) < 0) _exit(2);
    _exit(msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0 ? 3 : 0);
  }
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "helper status " << st;

  auto cfg =
      sh("cat /proc/sysvipc/msg; echo net=$(readlink /proc/self/ns/net) "
         "ipc=$(readlink /proc/self/ns/ipc)");
  set_ns(cfg, "ipc", pa + "ipc");
  set_ns(cfg, "network", pa + "net");
  auto b = sb.run(cfg);
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_TRUE(has_msg_key(b.out, key)) << key << "\n" << b.out;
  EXPECT_NE(b.out.find("net=" + ns_of(a, "net")), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("ipc=" + ns_of(a, "ipc")), std::string::npos) << b.out;

  // Not on the host.
  EXPECT_FALSE(has_msg_key(slurp("/proc/sysvipc/msg"), key));
  EXPECT_EQ(msgget(key, 0), -1);
  // Not in a container with an IPC namespace of its own.
  auto c = sb.run(sh("cat /proc/sysvipc/msg"));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_FALSE(has_msg_key(c.out, key)) << c.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Namespaces, JoinedPidNamespace) {
  Sandbox sb;
  std::string a_id;
  int a = create_sleeper(sb, Sandbox::default_config(), &a_id, "a");
  ASSERT_GT(a, 0);
  auto cfg = sh("echo pid=$(readlink /proc/self/ns/pid) self=$$; test -d /proc/1 && echo has1");
  set_ns(cfg, "pid", "/proc/" + std::to_string(a) + "/ns/pid");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("pid=" + ns_of(a, "pid") + " "), std::string::npos) << o.out;
  // A's init is PID 1 there; ours is another one.
  EXPECT_EQ(o.out.find("self=1\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("has1\n"), std::string::npos) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Namespaces, PidNamespaceMakesPid1) {
  Sandbox sb;
  auto with = sb.run(sh("echo $$"));
  EXPECT_EQ(with.status, 0) << with.err;
  EXPECT_EQ(with.out, "1\n");
  auto cfg = sh("echo $$");
  remove_ns(cfg, "pid");
  auto without = sb.run(cfg);
  EXPECT_EQ(without.status, 0) << without.err;
  EXPECT_NE(without.out, "1\n");
  EXPECT_GT(std::stoi(without.out), 1) << without.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// ---- user namespace ----

TEST(UserNs, MappingsAndRootInside) {
  Sandbox sb;
  auto cfg =
      sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
         "grep -E '^(Uid|Gid|CapEff):' /proc/self/status");
  add_userns(sb, cfg);
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  std::istringstream in(o.out);
  std::string uid_map, gid_map, uid, gid;
  std::getline(in, uid_map);
  std::getline(in, gid_map);
  std::getline(in, uid);
  std::getline(in, gid);
  EXPECT_EQ(squeeze(uid_map), "0 100000 65536");
  EXPECT_EQ(squeeze(gid_map), "0 100000 65536");
  EXPECT_EQ(uid, "0");
  EXPECT_EQ(gid, "0");
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["Uid"], "0\t0\t0\t0");
  EXPECT_EQ(st["CapEff"], "0000000020000420");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(UserNs, HostSeesMappedIds) {
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  add_userns(sb, cfg);
  cfg["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  std::string id;
  int pid = create_sleeper(sb, cfg, &id, "u");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  std::string status;
  for (int i = 0; i < 100; ++i) {
    status = slurp("/proc/" + std::to_string(pid) + "/status");
    if (status.find("Uid:\t101000") != std::string::npos) break;
    usleep(10000);
  }
  auto st = kv(status, ':');
  EXPECT_EQ(st["Uid"], "101000\t101000\t101000\t101000");
  EXPECT_EQ(st["Gid"], "101000\t101000\t101000\t101000");
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

void drop_sys_mounts(json& cfg) {
  json kept = json::array();
  for (const auto& m : cfg["mounts"]) {
    if (m["destination"].get<std::string>().rfind("/sys", 0) != 0) kept.push_back(m);
  }
  cfg["mounts"] = kept;
}

// Staged mode: a new user namespace together with a joined network namespace.
// (Without /sys: see UserNs.SysfsWithJoinedNetnsOfAnotherUserNs.)
TEST(UserNs, NewUserNsWithJoinedNetns) {
  Sandbox sb;
  std::string a_id;
  int a = create_sleeper(sb, Sandbox::default_config(), &a_id, "a");
  ASSERT_GT(a, 0);
  auto cfg = sh(std::string(kPrintNs) + "; echo map=$(cat /proc/self/uid_map); echo pid1=$$");
  add_userns(sb, cfg);
  drop_sys_mounts(cfg);
  set_ns(cfg, "network", "/proc/" + std::to_string(a) + "/ns/net");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  auto inside = kv(o.out);
  EXPECT_EQ(inside["net"], ns_of(a, "net"));
  EXPECT_NE(inside["user"], host_ns("user"));
  for (const char* p : {"ipc", "uts", "pid", "mnt"}) {
    EXPECT_NE(inside[p], host_ns(p)) << p;
    EXPECT_NE(inside[p], ns_of(a, p)) << p;
  }
  EXPECT_EQ(inside["map"], "0 100000 65536");
  EXPECT_EQ(inside["pid1"], "1");
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// Staged mode: joining another container's user namespace (and its network
// namespace, owned by that user namespace), creating the rest inside it.
TEST(UserNs, JoinedUserAndNetOfAnotherContainer) {
  Sandbox sb;
  auto a_cfg = Sandbox::default_config();
  add_userns(sb, a_cfg);
  std::string a_id;
  int a = create_sleeper(sb, a_cfg, &a_id, "a");
  ASSERT_GT(a, 0);
  std::string pa = "/proc/" + std::to_string(a) + "/ns/";
  auto cfg = sh(std::string(kPrintNs) +
                "; echo map=$(cat /proc/self/uid_map); echo pid1=$$; "
                "echo id=$(id -u); ls /sys/class/net | tr '\\n' ' '; echo");
  set_ns(cfg, "user", pa + "user");
  set_ns(cfg, "network", pa + "net");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  auto inside = kv(o.out);
  EXPECT_EQ(inside["user"], ns_of(a, "user"));
  EXPECT_EQ(inside["net"], ns_of(a, "net"));
  for (const char* p : {"ipc", "uts", "pid", "mnt"}) {
    EXPECT_NE(inside[p], host_ns(p)) << p;
    EXPECT_NE(inside[p], ns_of(a, p)) << p;
  }
  EXPECT_EQ(squeeze(inside["map"]), "0 100000 65536");
  EXPECT_EQ(inside["pid1"], "1");
  EXPECT_EQ(inside["id"], "0");
  EXPECT_NE(o.out.find("lo "), std::string::npos) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(UserNs, NonRootUserWithGroupsAndUmask) {
  Sandbox sb;
  auto cfg = sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo umask=$(umask)");
  add_userns(sb, cfg);
  cfg["process"]["user"] = {
      {"uid", 1000}, {"gid", 1001}, {"additionalGids", {1002}}, {"umask", 077}};
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  auto st = kv(o.out, ':');
  EXPECT_EQ(st["Uid"], "1000\t1000\t1000\t1000") << o.out;
  EXPECT_EQ(st["Gid"], "1001\t1001\t1001\t1001") << o.out;
  EXPECT_EQ(st["Groups"], "1002") << o.out;
  EXPECT_EQ(kv(o.out)["umask"], "0077") << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(UserNs, SysctlsNamesAndOomScoreAdj) {
  Sandbox sb;
  auto cfg =
      sh("cat /proc/sys/kernel/msgmnb /proc/sys/net/ipv4/ip_forward "
         "/proc/self/oom_score_adj /proc/sys/kernel/domainname; hostname");
  add_userns(sb, cfg);
  cfg["linux"]["sysctl"] = {{"kernel.msgmnb", "32001"}, {"net.ipv4.ip_forward", "1"}};
  cfg["hostname"] = "userns-host";
  cfg["domainname"] = "userns.example";
  cfg["process"]["oomScoreAdj"] = 321;
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "32001\n1\n321\nuserns.example\nuserns-host\n");
  EXPECT_EQ(sb.leftovers(), "");
}

// Processes on the host whose network namespace is `ns`.
int processes_in_netns(const std::string& ns) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path() / "ns/net", ec).string() == ns) ++n;
  }
  return n;
}

// A failure after the staged fork kills both the init and the intermediate.
TEST(UserNs, StagedFailureLeavesNoProcess) {
  Sandbox sb;
  std::string a_id;
  int a = create_sleeper(sb, Sandbox::default_config(), &a_id, "a");
  ASSERT_GT(a, 0);
  std::string net = ns_of(a, "net");
  ASSERT_EQ(processes_in_netns(net), 1);
  auto cfg = Sandbox::default_config({"no-such-program"});
  add_userns(sb, cfg);
  drop_sys_mounts(cfg);
  set_ns(cfg, "network", "/proc/" + std::to_string(a) + "/ns/net");
  std::string id = sb.new_id("fail");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle-" + id), id});
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.err.find("no-such-program"), std::string::npos) << o.err;
  EXPECT_EQ(processes_in_netns(net), 1);
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// The default config mounts sysfs; the kernel refuses a sysfs mount from a
// user namespace that does not own the network namespace (EPERM), so runc
// falls back to a recursive bind mount of /sys.
TEST(UserNs, SysfsWithJoinedNetnsOfAnotherUserNs) {
  Sandbox sb;
  std::string a_id;
  int a = create_sleeper(sb, Sandbox::default_config(), &a_id, "a");
  ASSERT_GT(a, 0);
  auto cfg = sh("ls /sys/class/net; readlink /proc/self/ns/net");
  add_userns(sb, cfg);
  set_ns(cfg, "network", "/proc/" + std::to_string(a) + "/ns/net");
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("lo\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(ns_of(a, "net")), std::string::npos) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// ---- time namespace ----

TEST(TimeNs, OffsetsAreApplied) {
  Sandbox sb;
  const long long kBoot = 50 * 86400, kMono = 7 * 86400;
  auto cfg = sh("cat /proc/uptime; cat /proc/self/timens_offsets");
  set_ns(cfg, "time");
  cfg["linux"]["timeOffsets"] = {{"boottime", {{"secs", kBoot}, {"nanosecs", 0}}},
                                 {"monotonic", {{"secs", kMono}, {"nanosecs", 500}}}};
  double host_before = std::stod(slurp("/proc/uptime"));
  auto o = sb.run(cfg);
  double host_after = std::stod(slurp("/proc/uptime"));
  ASSERT_EQ(o.status, 0) << o.err;
  double inside = std::stod(o.out);
  EXPECT_GE(inside, host_before + kBoot - 1) << o.out;
  EXPECT_LE(inside, host_after + kBoot + 1) << o.out;
  auto off = kv(o.out, ' ');
  EXPECT_EQ(squeeze(off["monotonic"]), std::to_string(kMono) + " 500") << o.out;
  EXPECT_EQ(squeeze(off["boottime"]), std::to_string(kBoot) + " 0") << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(TimeNs, OffsetsInNewUserNs) {
  Sandbox sb;
  const long long kBoot = 3 * 86400;
  auto cfg = sh("cat /proc/uptime");
  add_userns(sb, cfg);
  set_ns(cfg, "time");
  cfg["linux"]["timeOffsets"] = {{"boottime", {{"secs", kBoot}, {"nanosecs", 0}}}};
  double host_before = std::stod(slurp("/proc/uptime"));
  auto o = sb.run(cfg);
  double host_after = std::stod(slurp("/proc/uptime"));
  ASSERT_EQ(o.status, 0) << o.err;
  double inside = std::stod(o.out);
  EXPECT_GE(inside, host_before + kBoot - 1) << o.out;
  EXPECT_LE(inside, host_after + kBoot + 1) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// Staged mode (new user namespace + a joined one): the offsets are written
// before the fork into the new PID namespace, or without a PID namespace.
TEST(TimeNs, OffsetsInStagedMode) {
  Sandbox sb;
  std::string a_id;
  int a = create_sleeper(sb, Sandbox::default_config(), &a_id, "a");
  ASSERT_GT(a, 0);
  const long long kBoot = 5 * 86400;
  for (bool pid_ns : {true, false}) {
    auto cfg = sh("cat /proc/uptime; readlink /proc/self/ns/net");
    add_userns(sb, cfg);
    drop_sys_mounts(cfg);
    set_ns(cfg, "network", "/proc/" + std::to_string(a) + "/ns/net");
    set_ns(cfg, "time");
    if (!pid_ns) {
      // A user namespace may not mount a procfs of the host's PID namespace.
      remove_ns(cfg, "pid");
      cfg["mounts"][0] = {
          {"destination", "/proc"}, {"type", "bind"}, {"source", "/proc"}, {"options", {"rbind"}}};
    }
    cfg["linux"]["timeOffsets"] = {{"boottime", {{"secs", kBoot}, {"nanosecs", 0}}}};
    double host_before = std::stod(slurp("/proc/uptime"));
    auto o = sb.run(cfg);
    double host_after = std::stod(slurp("/proc/uptime"));
    ASSERT_EQ(o.status, 0) << "pid ns " << pid_ns << ": " << o.err;
    double inside = std::stod(o.out);
    EXPECT_GE(inside, host_before + kBoot - 1) << o.out;
    EXPECT_LE(inside, host_after + kBoot + 1) << o.out;
    EXPECT_NE(o.out.find(ns_of(a, "net")), std::string::npos) << o.out;
  }
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(TimeNs, JoinedByPath) {
  Sandbox sb;
  const long long kBoot = 11 * 86400;
  auto a_cfg = Sandbox::default_config();
  set_ns(a_cfg, "time");
  a_cfg["linux"]["timeOffsets"] = {{"boottime", {{"secs", kBoot}, {"nanosecs", 0}}}};
  std::string a_id;
  int a = create_sleeper(sb, a_cfg, &a_id, "a");
  ASSERT_GT(a, 0);
  auto cfg = sh("cat /proc/uptime; readlink /proc/self/ns/time");
  set_ns(cfg, "time", "/proc/" + std::to_string(a) + "/ns/time");
  double host_before = std::stod(slurp("/proc/uptime"));
  auto o = sb.run(cfg);
  double host_after = std::stod(slurp("/proc/uptime"));
  ASSERT_EQ(o.status, 0) << o.err;
  double inside = std::stod(o.out);
  EXPECT_GE(inside, host_before + kBoot - 1) << o.out;
  EXPECT_LE(inside, host_after + kBoot + 1) << o.out;
  EXPECT_NE(o.out.find(ns_of(a, "time")), std::string::npos) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", a_id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(TimeNs, OffsetsWithoutNewTimeNsAreRefused) {
  Sandbox sb;
  auto cfg = sh("true");
  cfg["linux"]["timeOffsets"] = {{"boottime", {{"secs", 10}, {"nanosecs", 0}}}};
  expect_create_fails(sb, cfg, "linux.timeOffsets");
}

TEST(TimeNs, NoTimeNsMeansHostClock) {
  Sandbox sb;
  double host_before = std::stod(slurp("/proc/uptime"));
  auto o = sb.run(sh("cat /proc/uptime"));
  double host_after = std::stod(slurp("/proc/uptime"));
  ASSERT_EQ(o.status, 0) << o.err;
  double inside = std::stod(o.out);
  EXPECT_GE(inside, host_before - 0.1);
  EXPECT_LE(inside, host_after + 0.1);
}

// ---- linux.sysctl ----

TEST(Sysctl, IpcSysctlInNewIpcNs) {
  Sandbox sb;
  std::string host = slurp("/proc/sys/kernel/msgmnb");
  std::string want = host == "32123\n" ? "32124" : "32123";
  auto cfg = sh("cat /proc/sys/kernel/msgmnb");
  cfg["linux"]["sysctl"] = {{"kernel.msgmnb", want}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, want + "\n");
  EXPECT_EQ(slurp("/proc/sys/kernel/msgmnb"), host);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Sysctl, NetSysctlInNewNetns) {
  Sandbox sb;
  std::string host = slurp("/proc/sys/net/ipv4/ip_forward");
  std::string want = host == "1\n" ? "0" : "1";
  auto cfg = sh("cat /proc/sys/net/ipv4/ip_forward");
  cfg["linux"]["sysctl"] = {{"net.ipv4.ip_forward", want}};
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, want + "\n");
  EXPECT_EQ(slurp("/proc/sys/net/ipv4/ip_forward"), host);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Sysctl, RefusedWithoutTheNamespace) {
  Sandbox sb;
  std::string msgmnb = slurp("/proc/sys/kernel/msgmnb");
  std::string fwd = slurp("/proc/sys/net/ipv4/ip_forward");
  std::string swappiness = slurp("/proc/sys/vm/swappiness");

  auto cfg = sh("true");
  remove_ns(cfg, "ipc");
  cfg["linux"]["sysctl"] = {{"kernel.msgmnb", "32123"}};
  expect_create_fails(sb, cfg, "kernel.msgmnb");

  cfg = sh("true");
  remove_ns(cfg, "network");
  cfg["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  expect_create_fails(sb, cfg, "net.ipv4.ip_forward");

  // Joining the host's network namespace is not a namespace of its own.
  cfg = sh("true");
  set_ns(cfg, "network", "/proc/" + std::to_string(getpid()) + "/ns/net");
  cfg["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  expect_create_fails(sb, cfg, "net.ipv4.ip_forward");

  cfg = sh("true");
  cfg["linux"]["sysctl"] = {{"vm.swappiness", "13"}};
  expect_create_fails(sb, cfg, "vm.swappiness");

  EXPECT_EQ(slurp("/proc/sys/kernel/msgmnb"), msgmnb);
  EXPECT_EQ(slurp("/proc/sys/net/ipv4/ip_forward"), fwd);
  EXPECT_EQ(slurp("/proc/sys/vm/swappiness"), swappiness);
}

// ---- annotations ----

TEST(Annotations, VisibleInState) {
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["annotations"] = {{"org.example.key", "value one"}, {"com.example/empty", ""}};
  std::string id;
  ASSERT_GT(create_sleeper(sb, cfg, &id, "ann"), 0);
  auto o = sb.nsbox({"state", id});
  ASSERT_EQ(o.status, 0) << o.err;
  auto st = json::parse(o.out);
  EXPECT_EQ(st["annotations"], cfg["annotations"]) << o.out;
  auto list = json::parse(sb.nsbox({"list", "--format", "json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
