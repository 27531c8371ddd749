// linux.resources end to end: each limit is set through config.json or
// `update`, seen from inside the container (its cgroup files), enforced
// (OOM kill, refused forks, throttled CPU), and reported by `stats`,
// `events` and `ps`. Written for every layout: the file names follow the
// hierarchy that holds each controller, so the same tests run on this
// hybrid host and in the pure cgroup v2 guest (tests/v2-tests.txt).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "cgroup/cgroup.h"
#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;

extern char** environ;

namespace {

// "v1", "v2" or "" (absent) for a controller on this host.
std::string controller_version(const std::string& controller) {
  auto layout = nsbox::cgroup::probe();
  if (!layout) return "";
  for (const auto& h : layout->hierarchies) {
    bool has =
        std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end();
    if (has && !h.v2) return "v1";
  }
  for (const auto& h : layout->hierarchies) {
    bool has =
        std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end();
    if (has && h.v2) return "v2";
  }
  return "";
}

// A control file as the container sees it under /sys/fs/cgroup (the
// default config mounts the container's own cgroups there).
std::string inside(const std::string& controller, const std::string& v1_file,
                   const std::string& v2_file) {
  return controller_version(controller) == "v1" ? "/sys/fs/cgroup/" + controller + "/" + v1_file
                                                : "/sys/fs/cgroup/" + v2_file;
}

#define REQUIRE_CONTROLLER(c)                                                               \
  do {                                                                                      \
    if (controller_version(c).empty())                                                      \
      GTEST_SKIP() << "host has no " << (c) << " cgroup controller (runs in the v2 guest)"; \
  } while (0)

// A file the container writes under its /dev/shm, read from the host.
std::string shm_path(int pid, const std::string& name) {
  return "/proc/" + std::to_string(pid) + "/root/dev/shm/" + name;
}

std::string wait_for(int pid, const std::string& name, int seconds = 60) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  struct stat st {};
  while (std::chrono::steady_clock::now() < deadline) {
    if (::stat(shm_path(pid, name + ".done").c_str(), &st) == 0) {
      return nsbox::it::slurp(shm_path(pid, name));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "timeout waiting for " + name;
}

// The beancounter row for resource from `stats --format json`.
json stats_row(Sandbox& sb, const std::string& id, const std::string& resource) {
  auto o = sb.nsbox({"stats", "--format", "json", id});
  EXPECT_EQ(o.status, 0) << o.err;
  if (o.status != 0) return json();
  json doc = json::parse(o.out);
  for (const auto& r : doc["resources"])
    if (r["resource"] == resource) return r;
  ADD_FAILURE() << "no " << resource << " row in " << o.out;
  return json();
}

// Run `sh -c script` detached in a container made from cfg, with a cgroup
// namespace: its /sys/fs/cgroup then shows its own cgroup on every layout
// (without one, runc and nsbox mount the whole cgroup2 hierarchy on v2).
std::string start_script(Sandbox& sb, json cfg, const std::string& script) {
  nsbox::it::add_testprog(cfg);
  cfg["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  cfg["process"]["args"] = {"sh", "-c", script};
  std::string id = sb.new_id("rs");
  auto o = sb.nsbox({"run", "-d", "-b", sb.bundle(cfg, id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  return o.status == 0 ? id : "";
}

// Writes the output of cmd to /dev/shm/NAME, then NAME.done.
std::string step(const std::string& name, const std::string& cmd) {
  return cmd + " > /dev/shm/" + name + " 2>&1; echo $? >> /dev/shm/" + name + "; touch /dev/shm/" +
         name + ".done; ";
}

}  // namespace

TEST(Resources, MemoryHogIsOomKilledAndCounted) {
  REQUIRE_CONTROLLER("memory");
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  std::string limit_file = inside("memory", "memory.limit_in_bytes", "memory.max");
  std::string id = start_script(
      sb, cfg,
      step("limit", "cat " + limit_file) + step("hog", "/home/nsbox-testprog hog 96") + "sleep 60");
  ASSERT_FALSE(id.empty());
  int pid = sb.pid_of(id);
  EXPECT_EQ(wait_for(pid, "limit"), "33554432\n0\n");
  std::string hog = wait_for(pid, "hog");
  EXPECT_FALSE(contains(hog, "hog-done")) << hog;
  EXPECT_TRUE(contains(hog, "137")) << hog;  // SIGKILL by the OOM killer

  json mem = stats_row(sb, id, "memory");
  EXPECT_EQ(mem["limit"], 32 << 20) << mem;
  json oom = stats_row(sb, id, "oom");
  EXPECT_GE(oom["usage"].get<uint64_t>(), 1u) << oom;
  EXPECT_GE(oom["failures"].get<uint64_t>(), 1u) << oom;
  auto ev = sb.nsbox({"events", "--stats", id});
  ASSERT_EQ(ev.status, 0) << ev.err;
  json e = json::parse(ev.out);
  EXPECT_EQ(e["type"], "stats");
  EXPECT_EQ(e["id"], id);
  EXPECT_EQ(e["data"]["memory"]["usage"]["limit"], 32 << 20) << ev.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

namespace {

// `nsbox events` as a child with a pipe on its stdout.
struct EventsProcess {
  pid_t pid = -1;
  int out = -1;
  std::string buffer;

  EventsProcess(const std::string& root, const std::string& id) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    std::string bin = nsbox::it::nsbox_binary();
    std::vector<std::string> args = {bin, "--root", root, "events", "--interval", "100ms", id};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out = fds[0];
  }
  ~EventsProcess() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
  // Read until a line containing needle arrives or EOF/timeout.
  bool read_until(const std::string& needle, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!contains(buffer, needle)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = ::read(out, buf, sizeof buf);
      if (n <= 0) return contains(buffer, needle);
      buffer.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  int wait_exit() {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

}  // namespace

TEST(Resources, EventsStreamsStatsAndOom) {
  REQUIRE_CONTROLLER("memory");
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  std::string id = start_script(
      sb, cfg, "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; /home/nsbox-testprog hog 96");
  ASSERT_FALSE(id.empty());
  int pid = sb.pid_of(id);
  EventsProcess ev(sb.root(), id);
  ASSERT_GT(ev.pid, 0);
  // A first stats event means the OOM watch is registered.
  ASSERT_TRUE(ev.read_until("\"type\":\"stats\"", 30)) << ev.buffer;
  std::ofstream(shm_path(pid, "go")).put('1');
  EXPECT_TRUE(ev.read_until("{\"type\":\"oom\",\"id\":\"" + id + "\"}", 60)) << ev.buffer;
  // The hog was the last process: the container stops and events ends.
  ev.read_until("never", 30);
  EXPECT_EQ(ev.wait_exit(), 0) << ev.buffer;
  std::istringstream lines(ev.buffer);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
  }
  EXPECT_EQ(sb.nsbox({"delete", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Resources, PidsLimitStopsForkBomb) {
  REQUIRE_CONTROLLER("pids");
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["linux"]["resources"]["pids"] = {{"limit", 10}};
  std::string id = start_script(sb, cfg,
                                step("max", "cat " + inside("pids", "pids.max", "pids.max")) +
                                    step("forks", "/home/nsbox-testprog forks 50") + "sleep 60");
  ASSERT_FALSE(id.empty());
  int pid = sb.pid_of(id);
  EXPECT_EQ(wait_for(pid, "max"), "10\n0\n");
  std::string forks = wait_for(pid, "forks");
  long ok = -1, failed = -1;
  int err = -1;
  ASSERT_EQ(std::sscanf(forks.c_str(), "forked %ld failed %ld errno %d", &ok, &failed, &err), 3)
      << forks;
  EXPECT_LE(ok + 2, 10);  // sh and the forker count too
  EXPECT_EQ(ok + failed, 50);
  EXPECT_EQ(err, EAGAIN);

  json row = stats_row(sb, id, "pids");
  EXPECT_EQ(row["limit"], 10) << row;
  EXPECT_GE(row["failures"].get<long>(), failed) << row;
  auto ps = sb.nsbox({"ps", "--format", "json", id});
  ASSERT_EQ(ps.status, 0) << ps.err;
  auto pids = json::parse(ps.out);
  EXPECT_EQ(static_cast<long>(pids.size()), row["usage"].get<long>()) << ps.out;
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end()) << ps.out;
  auto table = sb.nsbox({"ps", id});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "PID")) << table.out;
  EXPECT_TRUE(contains(table.out, "sleep 60")) << table.out;
  auto custom = sb.nsbox({"ps", id, "-o", "pid,comm"});
  ASSERT_EQ(custom.status, 0) << custom.err;
  EXPECT_TRUE(contains(custom.out, "nsbox-testprog")) << custom.out;
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

namespace {

// cpu_ms / wall_ms of a 1 s busy loop in a container with these resources.
double cpu_ratio(Sandbox& sb, const json& cpu) {
  auto cfg = Sandbox::default_config({"/home/nsbox-testprog", "spin", "1000"});
  nsbox::it::add_testprog(cfg);
  if (!cpu.is_null()) cfg["linux"]["resources"]["cpu"] = cpu;
  auto o = sb.run(cfg);
  long cpu_ms = 0, wall_ms = 0;
  EXPECT_EQ(std::sscanf(o.out.c_str(), "cpu_ms %ld wall_ms %ld", &cpu_ms, &wall_ms), 2)
      << o.out << o.err;
  return wall_ms > 0 ? static_cast<double>(cpu_ms) / static_cast<double>(wall_ms) : 0;
}

}  // namespace

TEST(Resources, CpuQuotaSlowsBusyLoop) {
  REQUIRE_CONTROLLER("cpu");
  Sandbox sb;
  double limited = cpu_ratio(sb, {{"quota", 10000}, {"period", 100000}});
  double free = cpu_ratio(sb, nullptr);
  EXPECT_LT(limited, 0.3) << "10% quota; unlimited got " << free;
  EXPECT_GT(free, 2 * limited) << "limited " << limited;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Resources, UpdateChangesLiveLimits) {
  REQUIRE_CONTROLLER("memory");
  REQUIRE_CONTROLLER("pids");
  Sandbox sb;
  auto cfg = Sandbox::default_config();
  cfg["linux"]["resources"]["pids"] = {{"limit", 4}};
  std::string mem = inside("memory", "memory.limit_in_bytes", "memory.max");
  std::string pids = inside("pids", "pids.max", "pids.max");
  std::string id = start_script(sb, cfg,
                                "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; " +
                                    step("after", "cat " + mem + " " + pids) +
                                    step("forks", "/home/nsbox-testprog forks 8") + "sleep 60");
  ASSERT_FALSE(id.empty());
  int pid = sb.pid_of(id);
  auto u = sb.nsbox({"update", "--memory", "48m", "--pids-limit", "20", id});
  ASSERT_EQ(u.status, 0) << u.err;
  std::ofstream(shm_path(pid, "go")).put('1');
  EXPECT_EQ(wait_for(pid, "after"), "50331648\n20\n0\n");
  EXPECT_TRUE(contains(wait_for(pid, "forks"), "forked 8 failed 0")) << "limit 4 would refuse";

  // --resources - : a linux.resources document on stdin.
  auto r = sb.nsbox({"update", "--resources", "-", id}, R"({"pids": {"limit": -1}})");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(stats_row(sb, id, "pids")["limit"], nullptr);
  EXPECT_EQ(stats_row(sb, id, "memory")["limit"], 48 << 20);
  // The stored config follows the update.
  auto stored = json::parse(nsbox::it::slurp(sb.root() + "/" + id + "/config.json"));
  EXPECT_EQ(stored["linux"]["resources"]["memory"]["limit"], 48 << 20);
  EXPECT_EQ(stored["linux"]["resources"]["pids"]["limit"], -1);
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Resources, StatsTable) {
  Sandbox sb;
  std::string id = start_script(sb, Sandbox::default_config(), "sleep 60");
  ASSERT_FALSE(id.empty());
  auto o = sb.nsbox({"stats", id});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "RESOURCE")) << o.out;
  EXPECT_TRUE(contains(o.out, "FAILURES")) << o.out;
  if (!controller_version("memory").empty()) {
    EXPECT_TRUE(contains(o.out, "\nmemory ")) << o.out;
  }
  if (!controller_version("pids").empty()) {
    EXPECT_TRUE(contains(o.out, "\npids ")) << o.out;
  }
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  auto gone = sb.nsbox({"stats", id});
  EXPECT_NE(gone.status, 0);
  EXPECT_TRUE(contains(gone.err, "does not exist")) << gone.err;
}

TEST(Resources, UpdateBadInput) {
  Sandbox sb;
  std::string id = start_script(sb, Sandbox::default_config(), "sleep 60");
  ASSERT_FALSE(id.empty());
  struct Case {
    std::vector<std::string> args;
    std::string input, want;
  } cases[] = {
      {{"--memory", "lots"}, "", "--memory"},
      {{"--pids-limit", "1x"}, "", "--pids-limit"},
      {{"--cpu-share", "-5"}, "", "--cpu-share"},
      {{"--resources", "-"}, "{", "--resources -: expected a JSON object"},
      {{"--resources", "-"},
       R"({"memory": {"limit": "big"}})",
       "linux.resources.memory.limit: expected integer"},
      {{"--resources", "-"},
       R"({"memory": {"swappiness": 101}})",
       "linux.resources.memory.swappiness"},
      {{"--resources", "/nonexistent/r.json"}, "", "--resources /nonexistent/r.json"},
      {{"--l3-cache-schema", "L3:0=f"}, "", "not supported yet"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"update"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back(id);
    auto o = sb.nsbox(args, c.input);
    EXPECT_NE(o.status, 0) << c.want;
    EXPECT_TRUE(contains(o.err, c.want)) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
  auto nope = sb.nsbox({"update", "--memory", "1m", "nope"});
  EXPECT_TRUE(contains(nope.err, "does not exist")) << nope.err;
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  auto stopped = sb.nsbox({"update", "--memory", "1m", id});
  EXPECT_NE(stopped.status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// A resource the host cannot provide is a clear error at create, naming the
// field, and leaves nothing behind.
TEST(Resources, UnavailableResourceIsAnError) {
  Sandbox sb;
  struct Case {
    std::string controller;  // the case applies when this is absent or v1-only
    json resources;
    std::string want;
  };
  std::vector<Case> cases = {
      {"net_cls", {{"network", {{"classID", 1048577}}}}, "linux.resources.network.classID"},
      {"rdma", {{"rdma", {{"mlx5_1", {{"hcaHandles", 3}}}}}}, "linux.resources.rdma"},
      {"",
       {{"hugepageLimits", {{{"pageSize", "3MB"}, {"limit", 1 << 22}}}}},
       "linux.resources.hugepageLimits[0]"},
  };
  // v1 has blkio.leaf_weight only with the CFQ scheduler (gone since 5.0);
  // v2 has no leaf weight at all.
  struct stat st {};
  if (::stat("/sys/fs/cgroup/blkio/blkio.leaf_weight", &st) != 0) {
    cases.push_back(
        {"", {{"blockIO", {{"leafWeight", 500}}}}, "linux.resources.blockIO.leafWeight"});
  }
  if (controller_version("memory") == "v1") {
    cases.push_back({"", {{"unified", {{"memory.max", "1000000"}}}}, "linux.resources.unified"});
  } else {
    cases.push_back(
        {"", {{"cpu", {{"realtimeRuntime", 1000}}}}, "linux.resources.cpu.realtimeRuntime"});
  }
  for (const auto& c : cases) {
    if (!c.controller.empty() && !controller_version(c.controller).empty()) continue;
    auto cfg = Sandbox::default_config();
    cfg["linux"]["resources"].update(c.resources);
    std::string id = sb.new_id("ru");
    auto o = sb.nsbox({"create", "-b", sb.bundle(cfg, id), id});
    EXPECT_NE(o.status, 0) << c.want;
    EXPECT_TRUE(contains(o.err, c.want)) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    EXPECT_EQ(sb.leftovers(), "") << c.want;
    if (o.status == 0) sb.nsbox({"delete", "--force", id});
  }
}
