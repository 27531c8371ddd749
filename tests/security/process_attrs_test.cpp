// linux.personality, process.ioPriority and process.scheduler on the real
// kernel: seen from inside the container (uname, busybox ionice,
// /proc/self/stat) and from the host on the created init (ioprio_get,
// sched_getattr, /proc/PID/personality); refusals fail create with the field
// named and leave nothing behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <vector>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

// struct sched_attr (kernel ABI, SCHED_ATTR_SIZE_VER1).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

constexpr int kSchedOther = 0, kSchedFifo = 1, kSchedBatch = 3, kSchedIdle = 5, kSchedDeadline = 6;
constexpr int kIoprioWhoProcess = 1;

SchedAttr sched_of(int pid) {
  SchedAttr a{};
  EXPECT_EQ(syscall(SYS_sched_getattr, pid, &a, sizeof a, 0), 0) << "sched_getattr " << pid;
  return a;
}

int ioprio_of(int pid) { return static_cast<int>(syscall(SYS_ioprio_get, kIoprioWhoProcess, pid)); }

// Fields of a /proc/PID/stat line by their proc(5) number (1 = pid);
// "" when absent.
std::string stat_field(const std::string& stat, size_t n) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos || n < 3) return "";
  std::istringstream rest(stat.substr(close + 2));
  std::string f;
  for (size_t i = 3; i <= n; ++i) {
    if (!(rest >> f)) return "";
  }
  return f;
}

// Create (not start) a `sleep 30` container; its pid, 0 on failure.
int create_sleeper(Sandbox& sb, json cfg, std::string* id_out) {
  cfg["process"]["args"] = {"sleep", "30"};
  std::string id = sb.new_id("attrs");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle-" + id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  if (o.status != 0) return 0;
  *id_out = id;
  return json::parse(sb.nsbox({"state", id}).out)["pid"].get<int>();
}

// create must fail naming `want` (a prefix of the message after "nsbox: ")
// and leave nothing.
void expect_create_fails(const json& cfg, const std::string& want) {
  Sandbox sb;
  std::string id = sb.new_id("bad");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg), id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "nsbox: " + want)) << "want " << want << "\ngot " << o.err;
  EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << o.err;  // one line
  EXPECT_EQ(sb.leftovers(), "");
}

void add_userns(json& cfg) {
  cfg["linux"]["namespaces"].push_back({{"type", "user"}});
  json map = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  cfg["linux"]["uidMappings"] = map;
  cfg["linux"]["gidMappings"] = map;
}

}  // namespace

TEST(ProcessAttrs, PersonalityLinux32IsSeenByUname) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"uname", "-m"});
  cfg["linux"]["personality"] = {{"domain", "LINUX32"}};
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "i686\n");

  // LINUX: the native machine (and the persona set on the created init).
  utsname u{};
  ASSERT_EQ(uname(&u), 0);
  cfg["linux"]["personality"] = {{"domain", "LINUX"}};
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, std::string(u.machine) + "\n");

  cfg["linux"]["personality"] = {{"domain", "LINUX32"}};
  std::string id;
  int pid = create_sleeper(sb, cfg, &id);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/personality"), "00000008\n");
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(ProcessAttrs, IoPriorityInsideTheContainer) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"ionice"});
  struct Case {
    const char* cls;
    int prio;
    const char* want;
  };
  for (const Case& c :
       {Case{"IOPRIO_CLASS_IDLE", 0, "idle\n"}, Case{"IOPRIO_CLASS_BE", 5, "best-effort: prio 5\n"},
        Case{"IOPRIO_CLASS_RT", 2, "realtime: prio 2\n"}}) {
    cfg["process"]["ioPriority"] = {{"class", c.cls}, {"priority", c.prio}};
    auto o = sb.run(cfg);
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, c.want) << c.cls;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(ProcessAttrs, IoPrioritySetOnTheCreatedInitAndKeptAcrossExec) {
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 6}};
  std::string id;
  int pid = create_sleeper(sb, cfg, &id);
  ASSERT_GT(pid, 0);
  const int want = (2 << 13) | 6;  // IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6)
  EXPECT_EQ(ioprio_of(pid), want);
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");
  EXPECT_EQ(ioprio_of(pid), want);
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(ProcessAttrs, SchedulerBatchWithNice) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"cat", "/proc/self/stat"});
  cfg["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(stat_field(o.out, 19), "7") << o.out;  // nice
  EXPECT_EQ(stat_field(o.out, 41), std::to_string(kSchedBatch)) << o.out;

  cfg["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"nice", -4}};
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(stat_field(o.out, 19), "-4") << o.out;
  EXPECT_EQ(stat_field(o.out, 41), std::to_string(kSchedOther)) << o.out;

  cfg["process"]["scheduler"] = {{"policy", "SCHED_IDLE"}};
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(stat_field(o.out, 41), std::to_string(kSchedIdle)) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// SCHED_FLAG_RESET_ON_FORK: the container's first process keeps its negative
// nice value, its children start at nice 0 (a non-real-time policy such as
// SCHED_BATCH itself is inherited). Without the flag they inherit it.
TEST(ProcessAttrs, SchedulerResetOnFork) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"sh", "-c", "cat /proc/self/stat; cat /proc/$$/stat"});
  for (bool reset : {true, false}) {
    cfg["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", -5}};
    if (reset) cfg["process"]["scheduler"]["flags"] = {"SCHED_FLAG_RESET_ON_FORK"};
    auto o = sb.run(cfg);
    ASSERT_EQ(o.status, 0) << o.err;
    std::istringstream lines(o.out);
    std::string child, first;
    std::getline(lines, child);
    std::getline(lines, first);
    EXPECT_EQ(stat_field(child, 19), reset ? "0" : "-5") << o.out;
    EXPECT_EQ(stat_field(child, 41), std::to_string(kSchedBatch)) << o.out;
    EXPECT_EQ(stat_field(first, 19), "-5") << o.out;
    EXPECT_EQ(stat_field(first, 41), std::to_string(kSchedBatch)) << o.out;
  }
}

// As root SCHED_FIFO works. With cgroup v1 RT group scheduling (this hybrid
// host) a task may only become real-time in a cgroup with an RT budget: the
// container gets one (linux.resources.cpu.realtimeRuntime) below a parent
// the test owns.
TEST(ProcessAttrs, SchedulerFifoAsRoot) {
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 10}};
  const std::string parent = "nsbox-rt-" + std::to_string(getpid());
  struct stat st {};
  bool rt_group_v1 = ::stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us", &st) == 0;
  std::string id;
  if (rt_group_v1) {
    std::string dir = "/sys/fs/cgroup/cpu/" + parent;
    ASSERT_TRUE(std::filesystem::create_directories(dir));
    auto w =
        nsbox::it::run_program({"/bin/sh", "-c", "echo 100000 > " + dir + "/cpu.rt_runtime_us"});
    ASSERT_EQ(w.status, 0) << w.err;
    id = sb.new_id("fifo");
    cfg["linux"]["cgroupsPath"] = "/" + parent + "/" + id;
    cfg["linux"]["resources"]["cpu"]["realtimeRuntime"] = 50000;
  }
  int pid = 0;
  cfg["process"]["args"] = {"sleep", "30"};
  if (id.empty()) id = sb.new_id("fifo");
  auto c = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle-" + id), id});
  EXPECT_EQ(c.status, 0) << c.err;
  if (c.status == 0) pid = json::parse(sb.nsbox({"state", id}).out)["pid"].get<int>();
  if (pid > 0) {
    SchedAttr a = sched_of(pid);
    EXPECT_EQ(a.sched_policy, static_cast<uint32_t>(kSchedFifo));
    EXPECT_EQ(a.sched_priority, 10u);
    ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");
    EXPECT_EQ(stat_field(stat, 40), "10");  // rt_priority
    EXPECT_EQ(stat_field(stat, 41), std::to_string(kSchedFifo));
  }
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  if (rt_group_v1) {
    for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
      std::error_code ec;
      std::filesystem::remove(h.path() / parent / id, ec);  // rmdir: empty cgroups only
      std::filesystem::remove(h.path() / parent, ec);
      EXPECT_FALSE(std::filesystem::exists(h.path() / parent, ec)) << h.path();
    }
  }
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(ProcessAttrs, SchedulerDeadline) {
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["process"]["scheduler"] = {{"policy", "SCHED_DEADLINE"},
                                 {"runtime", 10000000},
                                 {"deadline", 30000000},
                                 {"period", 40000000}};
  std::string id;
  int pid = create_sleeper(sb, cfg, &id);
  ASSERT_GT(pid, 0);
  SchedAttr a = sched_of(pid);
  EXPECT_EQ(a.sched_policy, static_cast<uint32_t>(kSchedDeadline));
  EXPECT_EQ(a.sched_runtime, 10000000u);
  EXPECT_EQ(a.sched_deadline, 30000000u);
  EXPECT_EQ(a.sched_period, 40000000u);
  // The init forks nothing before exec (no startContainer hooks).
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");
  EXPECT_EQ(sched_of(pid).sched_policy, static_cast<uint32_t>(kSchedDeadline));
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(ProcessAttrs, BadValuesFailCreateNamingTheField) {
  auto cfg = Sandbox::default_config();
  auto with = [&](const char* section, const char* key, json v) {
    json c = cfg;
    c[section][key] = std::move(v);
    return c;
  };
  expect_create_fails(
      with("process", "ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 9}}),
      "process.ioPriority.priority: must be between 0 and 7");
  expect_create_fails(with("process", "ioPriority", {{"class", "BE"}}),
                      "process.ioPriority.class: unknown class \"BE\"");
  expect_create_fails(with("process", "scheduler", {{"policy", "SCHED_FAST"}}),
                      "process.scheduler.policy: unknown policy \"SCHED_FAST\"");
  expect_create_fails(with("process", "scheduler", {{"policy", "SCHED_OTHER"}, {"nice", 40}}),
                      "process.scheduler.nice: must be between -20 and 19");
  expect_create_fails(with("process", "scheduler", {{"policy", "SCHED_RR"}}),
                      "process.scheduler.priority: SCHED_RR needs a priority between 1 and 99");
  expect_create_fails(with("linux", "personality", {{"domain", "LINUX"}, {"flags", {"X"}}}),
                      "linux.personality.flags[0]: unknown flag \"X\"");
  expect_create_fails(with("linux", "personality", {{"domain", "PER_LINUX32"}}),
                      "linux.personality.domain: unknown domain \"PER_LINUX32\"");
  json dl = with("process", "scheduler",
                 {{"policy", "SCHED_DEADLINE"}, {"runtime", 1000000}, {"deadline", 2000000}});
  dl["hooks"]["startContainer"] = {{{"path", "/bin/true"}}};
  expect_create_fails(dl, "process.scheduler.policy: SCHED_DEADLINE cannot fork startContainer");
}

// Refused by the kernel in the init after clone: create fails with the field
// named, and the container is undone.
TEST(ProcessAttrs, KernelRefusalsFailCreateAndLeaveNothing) {
  auto cfg = Sandbox::default_config();
  // SCHED_ISO was never merged into mainline Linux.
  cfg["process"]["scheduler"] = {{"policy", "SCHED_ISO"}};
  expect_create_fails(cfg, "process.scheduler.policy: sched_setattr(SCHED_ISO)");

  // Root of a new user namespace has no CAP_SYS_NICE over the host.
  auto userns = Sandbox::default_config();
  add_userns(userns);
  userns["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 5}};
  expect_create_fails(userns,
                      "process.scheduler.policy: sched_setattr(SCHED_FIFO) (needs CAP_SYS_NICE");
  userns["process"].erase("scheduler");
  userns["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_RT"}, {"priority", 0}};
  expect_create_fails(
      userns, "process.ioPriority.class: IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE");
}
