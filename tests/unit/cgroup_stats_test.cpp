// Cgroup stats tests: read_stats() through Manager::stats() against real
// cgroups with a child process placed in them, OOM notifications, and the
// runc JSON / beancounter renderings. CgroupStats.* use the host layout (v1
// controllers on a hybrid host); CgroupStatsV2.* use only the host's cgroup2
// mount and skip, saying why, when its root lacks a controller they need.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup/controllers.h"
#include "cgroup/dir.h"
#include "cgroup/stats.h"
#include "cgroup_test_util.h"
#include "common/util.h"

namespace nsbox::cgroup {
namespace {

using testing::exists;
using testing::host_layout;
using testing::v2_only_layout;

constexpr uint64_t kMiB = uint64_t{1024} * 1024;
constexpr int kTimeoutMs = 10000;

std::string unique_path() {
  static std::atomic<int> n{0};
  return "/nsbox-st-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  for (auto& w : split(trim(text), ' '))
    if (!w.empty()) out.push_back(std::move(w));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One entry of Manager::serialize().
struct Placed {
  std::string dir;
  bool v2 = false;
  std::vector<std::string> controllers;
};

std::vector<Placed> placed(const Manager& m) {
  std::vector<Placed> out;
  auto j = nlohmann::json::parse(m.serialize());
  for (const auto& d : j.at("dirs")) {
    out.push_back(
        Placed{join_path(d.at("mountpoint").get<std::string>(), d.at("path").get<std::string>()),
               d.at("v2"), d.at("controllers")});
  }
  return out;
}

// The directory serving controller, as dir_for() picks it: a v1 hierarchy
// first, else the cgroup2 leaf.
std::optional<Placed> ctl(const Manager& m, const std::string& controller) {
  auto dirs = placed(m);
  for (const auto& d : dirs)
    if (!d.v2 && contains(d.controllers, controller)) return d;
  for (const auto& d : dirs)
    if (d.v2 && contains(d.controllers, controller)) return d;
  return std::nullopt;
}

// Write a control file of the directory serving controller: v1name on v1,
// v2name on v2. Missing controller: nothing written, false.
bool write_ctl(const Manager& m, const std::string& controller, const std::string& v1name,
               const std::string& v2name, const std::string& value) {
  auto d = ctl(m, controller);
  if (!d) return false;
  std::string path = join_path(d->dir, d->v2 ? v2name : v1name);
  auto st = write_file(path, value);
  EXPECT_TRUE(st.ok()) << path << ": " << (st ? "" : st.error().msg);
  return st.ok();
}

// Kills whatever is left in the cgroup, then destroys it, even when an
// assertion failed first.
struct ManagerGuard {
  std::unique_ptr<Manager> m;
  ManagerGuard() = default;
  ManagerGuard(const ManagerGuard&) = delete;
  ManagerGuard& operator=(const ManagerGuard&) = delete;
  ManagerGuard(ManagerGuard&&) = default;
  ~ManagerGuard() {  // NOLINT(bugprone-exception-escape): gtest assertions
    if (!m) return;
    for (int round = 0; round < 50; ++round) {
      auto pids = m->pids();
      if (!pids || pids->empty()) break;
      for (pid_t p : *pids) ::kill(p, SIGKILL);
      ::usleep(20000);
    }
    auto st = m->destroy();
    EXPECT_TRUE(st.ok()) << (st ? "" : st.error().msg);
  }
  Manager* operator->() const { return m.get(); }
};

ManagerGuard make_cgroup(const Layout& l) {
  ManagerGuard g;
  auto m = make_manager(l, unique_path(), "stats-test");
  EXPECT_TRUE(m.ok()) << (m ? "" : m.error().msg);
  if (!m) return g;
  auto st = (*m)->create();
  EXPECT_TRUE(st.ok()) << (st ? "" : st.error().msg);
  if (st) g.m = std::move(m).value();
  return g;
}

// A forked child that waits to be placed in a cgroup (go()) and then runs
// body(in, out): in receives the parent's commands (EOF when the Child is
// destroyed), out carries its reports. Killed and reaped on destruction.
class Child {
 public:
  explicit Child(const std::function<int(int in, int out)>& body) {
    int down[2], up[2];
    if (::pipe2(down, O_CLOEXEC) != 0) return;
    if (::pipe2(up, O_CLOEXEC) != 0) {
      ::close(down[0]);
      ::close(down[1]);
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(down[1]);
      ::close(up[0]);
      char c;
      if (::read(down[0], &c, 1) != 1) ::_exit(100);
      ::_exit(body(down[0], up[1]));
    }
    ::close(down[0]);
    ::close(up[1]);
    to_ = down[1];
    from_ = up[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void send(char c) const { (void)!::write(to_, &c, 1); }
  void go() const { send('g'); }
  // The child's next report byte, or -1 after a timeout or EOF.
  int next(int timeout_ms = kTimeoutMs) const {
    pollfd p{from_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return -1;
    char c;
    return ::read(from_, &c, 1) == 1 ? static_cast<unsigned char>(c) : -1;
  }
  // Exit code, or -signal.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

void report(int out, char c) { (void)!::write(out, &c, 1); }

// Blocks until the parent closes its end.
void wait_for_eof(int in) {
  char c;
  while (::read(in, &c, 1) > 0) {
  }
}

bool touch_memory(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  std::memset(p, 0x5a, bytes);
  return true;
}

uint64_t cpu_time_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

void spin_for(uint64_t ns) {
  uint64_t end = cpu_time_ns() + ns;
  volatile uint64_t x = 0;
  while (cpu_time_ns() < end) x = x + 1;
}

bool host_has_swap() {
  auto text = read_file("/proc/meminfo");
  if (!text) return false;
  for (const auto& line : split(*text, '\n')) {
    if (!starts_with(line, "SwapTotal:")) continue;
    auto w = words(line.substr(10));
    return !w.empty() && w[0] != "0";
  }
  return false;
}

Stats read(const ManagerGuard& g) {
  auto s = g->stats();
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error().msg);
  return s ? *s : Stats{};
}

const Beancounter* row(const std::vector<Beancounter>& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.resource == name) return &r;
  return nullptr;
}

// Every section present exactly when the layout serves its controller.
void expect_sections(const ManagerGuard& g, const Stats& s) {
  EXPECT_EQ(s.memory.has_value(), ctl(*g.m, "memory").has_value());
  EXPECT_EQ(s.pids.has_value(), ctl(*g.m, "pids").has_value());
  EXPECT_TRUE(s.cpu.has_value());
}

// ---- bodies shared by the host-layout and the v2-only tests --------------

void check_usage(const Layout& layout) {
  auto g = make_cgroup(layout);
  ASSERT_TRUE(g.m);
  Child child([](int in, int out) {
    if (!touch_memory(32 * kMiB)) return 1;
    for (int i = 0; i < 3; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::pause();
        ::_exit(0);
      }
      if (p < 0) return 2;
    }
    report(out, 'r');
    wait_for_eof(in);
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  child.go();
  ASSERT_EQ(child.next(), 'r');

  Stats s = read(g);
  expect_sections(g, s);
  if (s.memory) {
    const auto& m = *s.memory;
    EXPECT_GE(m.usage.usage, 16 * kMiB);
    EXPECT_EQ(m.usage.limit, kUnlimited);
    EXPECT_EQ(m.usage.failcnt, 0u);
    if (m.usage.has_max_usage) {
      EXPECT_GE(m.usage.max_usage, 16 * kMiB);
    }
    EXPECT_FALSE(m.raw.empty());
    bool v2 = ctl(*g.m, "memory")->v2;
    EXPECT_TRUE(m.raw.count(v2 ? "file" : "cache")) << "memory.stat lacks the cache key";
    EXPECT_TRUE(m.raw.count(v2 ? "anon" : "rss"));
    EXPECT_EQ(m.oom_kill, 0u);
    if (m.has_swap) {
      EXPECT_GE(m.swap.usage, m.usage.usage);
      EXPECT_EQ(m.swap.limit, kUnlimited);
    }
  }
  if (s.pids) {
    EXPECT_EQ(s.pids->current, 4u);
    EXPECT_EQ(s.pids->limit, kUnlimited);
    EXPECT_EQ(s.pids->failcnt, 0u);
  }
  ASSERT_TRUE(s.cpu);
  EXPECT_GT(s.cpu->total_ns, 0u);
  EXPECT_FALSE(s.cpu->quota_us.has_value());

  auto rows = beancounters(s);
  ASSERT_FALSE(rows.empty());
  if (s.memory) {
    EXPECT_EQ(rows[0].resource, "memory");
    EXPECT_EQ(rows[0].unit, "bytes");
    EXPECT_EQ(rows[0].usage, s.memory->usage.usage);
    EXPECT_EQ(rows[0].failures, 0u);
  }
  if (s.pids) {
    const Beancounter* p = row(rows, "pids");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->usage, 4u);
    EXPECT_FALSE(p->max_usage.has_value());
  }
  auto j = to_runc_stats_json(s);
  if (s.pids) {
    EXPECT_EQ(j["pids"]["current"], 4u);
  }
  if (s.memory) {
    EXPECT_GE(j["memory"]["usage"]["usage"].get<uint64_t>(), 16 * kMiB);
  }
  EXPECT_GT(j["cpu"]["usage"]["total"].get<uint64_t>(), 0u);
}

void check_cpu_grows(const Layout& layout) {
  auto g = make_cgroup(layout);
  ASSERT_TRUE(g.m);
  Child child([](int in, int out) {
    report(out, 'r');
    char c;
    if (::read(in, &c, 1) != 1) return 1;
    spin_for(300 * 1000000ULL);
    report(out, 'd');
    wait_for_eof(in);
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  child.go();
  ASSERT_EQ(child.next(), 'r');
  Stats before = read(g);
  child.send('s');
  ASSERT_EQ(child.next(), 'd');
  Stats after = read(g);
  ASSERT_TRUE(before.cpu && after.cpu);
  EXPECT_GE(after.cpu->total_ns, before.cpu->total_ns + 200 * 1000000ULL)
      << before.cpu->total_ns << " -> " << after.cpu->total_ns;
  EXPECT_GT(after.cpu->user_ns + after.cpu->kernel_ns, before.cpu->user_ns + before.cpu->kernel_ns);
  if (!after.cpu->percpu_ns.empty()) {
    uint64_t sum =
        std::accumulate(after.cpu->percpu_ns.begin(), after.cpu->percpu_ns.end(), uint64_t{0});
    EXPECT_GE(sum, 200 * 1000000ULL);
    EXPECT_EQ(after.cpu->percpu_user_ns.size(), after.cpu->percpu_ns.size());
  }
}

void check_limits(const Layout& layout) {
  auto g = make_cgroup(layout);
  ASSERT_TRUE(g.m);
  bool mem =
      write_ctl(*g.m, "memory", "memory.limit_in_bytes", "memory.max", std::to_string(64 * kMiB));
  bool pids = write_ctl(*g.m, "pids", "pids.max", "pids.max", "10");
  bool cpu = false;
  if (auto d = ctl(*g.m, "cpu")) {
    cpu = d->v2 ? write_ctl(*g.m, "cpu", "", "cpu.max", "50000 100000")
                : write_ctl(*g.m, "cpu", "cpu.cfs_period_us", "", "100000") &&
                      write_ctl(*g.m, "cpu", "cpu.cfs_quota_us", "", "50000");
  }
  Stats s = read(g);
  expect_sections(g, s);
  auto rows = beancounters(s);
  if (mem) {
    ASSERT_TRUE(s.memory);
    EXPECT_EQ(s.memory->usage.limit, 64 * kMiB);
    ASSERT_NE(row(rows, "memory"), nullptr);
    EXPECT_EQ(row(rows, "memory")->limit, 64 * kMiB);
  }
  if (pids) {
    ASSERT_TRUE(s.pids);
    EXPECT_EQ(s.pids->limit, 10u);
    EXPECT_EQ(row(rows, "pids")->limit, 10u);
    EXPECT_EQ(to_runc_stats_json(s)["pids"]["limit"], 10u);
  }
  if (cpu) {
    ASSERT_TRUE(s.cpu);
    EXPECT_EQ(s.cpu->quota_us, 50000);
    EXPECT_EQ(s.cpu->period_us, 100000u);
    ASSERT_NE(row(rows, "cpu"), nullptr);
    EXPECT_EQ(row(rows, "cpu")->limit, 50000u * 1000);
  }
  if (!mem && !pids && !cpu) std::printf("no memory, pids or cpu controller: nothing checked\n");
}

void check_pids_failcnt(const Layout& layout) {
  auto g = make_cgroup(layout);
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(write_ctl(*g.m, "pids", "pids.max", "pids.max", "2"));
  Child child([](int in, int out) {
    int refused = 0;
    for (int i = 0; i < 3; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::pause();
        ::_exit(0);
      }
      if (p < 0 && errno == EAGAIN) ++refused;
    }
    report(out, static_cast<char>('0' + refused));
    wait_for_eof(in);
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  child.go();
  int refused = child.next() - '0';
  EXPECT_EQ(refused, 2);
  Stats s = read(g);
  ASSERT_TRUE(s.pids);
  EXPECT_EQ(s.pids->current, 2u);
  EXPECT_EQ(s.pids->limit, 2u);
  EXPECT_GE(s.pids->failcnt, static_cast<uint64_t>(refused));
  const Beancounter* p = row(beancounters(s), "pids");
  ASSERT_NE(p, nullptr);
  EXPECT_GE(p->failures, 1u);
}

void check_oom(const Layout& layout) {
  auto g = make_cgroup(layout);
  ASSERT_TRUE(g.m);
  auto d = ctl(*g.m, "memory");
  ASSERT_TRUE(d);
  auto watch = g->watch_oom();
  ASSERT_TRUE(watch.ok()) << watch.error().msg;
  ASSERT_GE(watch->fd(), 0);
  EXPECT_EQ(::fcntl(watch->fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // Nothing yet: a consume() now is a spurious wakeup.
  auto none = watch->consume();
  ASSERT_TRUE(none.ok()) << none.error().msg;
  EXPECT_EQ(*none, 0u);

  std::string limit = std::to_string(16 * kMiB);
  if (d->v2) {
    ASSERT_TRUE(write_file(join_path(d->dir, "memory.max"), limit).ok());
    if (exists(join_path(d->dir, "memory.swap.max"))) {
      ASSERT_TRUE(write_file(join_path(d->dir, "memory.swap.max"), "0").ok());
    }
  } else {
    ASSERT_TRUE(write_file(join_path(d->dir, "memory.limit_in_bytes"), limit).ok());
    // Only with swap to fall back on: memsw is charged first, and its
    // failures would then count in memsw.failcnt instead of failcnt.
    if (host_has_swap() && exists(join_path(d->dir, "memory.memsw.limit_in_bytes"))) {
      ASSERT_TRUE(write_file(join_path(d->dir, "memory.memsw.limit_in_bytes"), limit).ok());
    }
  }
  Child child([](int, int) { return touch_memory(64 * kMiB) ? 0 : 3; });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  child.go();
  EXPECT_EQ(child.wait(), -SIGKILL);

  pollfd p{watch->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, kTimeoutMs), 1) << "no OOM notification";
  auto n = watch->consume();
  ASSERT_TRUE(n.ok()) << n.error().msg;
  EXPECT_GE(*n, 1u);

  Stats s = read(g);
  ASSERT_TRUE(s.memory);
  EXPECT_GE(s.memory->oom_kill, 1u);
  EXPECT_GT(s.memory->usage.failcnt + s.memory->swap.failcnt, 0u);
  if (!host_has_swap()) {
    EXPECT_GT(s.memory->usage.failcnt, 0u);
  }
  EXPECT_EQ(s.memory->usage.limit, 16 * kMiB);
  if (d->v2) {
    EXPECT_GE(s.memory->oom, 1u);
  }
  auto rows = beancounters(s);
  const Beancounter* mem = row(rows, "memory");
  ASSERT_NE(mem, nullptr);
  const Beancounter* memsw = row(rows, "memory+swap");
  EXPECT_GT(mem->failures + (memsw != nullptr ? memsw->failures : 0), 0u);
  const Beancounter* oom = row(rows, "oom");
  ASSERT_NE(oom, nullptr);
  EXPECT_GE(oom->usage, 1u);
  EXPECT_GE(oom->failures, 1u);
  auto j = to_runc_stats_json(s);
  EXPECT_GT(j["memory"]["usage"]["failcnt"].get<uint64_t>() +
                j["memory"]["swap"]["failcnt"].get<uint64_t>(),
            0u);

  // Once the cgroup is removed, consume() says so (v1: the eventfd fires).
  ASSERT_TRUE(g->destroy().ok());
  if (!d->v2) {
    pollfd gone{watch->fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&gone, 1, kTimeoutMs), 1) << "no wakeup on removal";
  }
  auto after = watch->consume();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().msg, "container cgroup is gone");
  g.m.reset();
}

// ---- CgroupStats: the host layout ---------------------------------------

TEST(CgroupStats, Usage) { check_usage(host_layout()); }

TEST(CgroupStats, CpuUsageGrows) { check_cpu_grows(host_layout()); }

TEST(CgroupStats, Limits) { check_limits(host_layout()); }

TEST(CgroupStats, PidsFailcnt) {
  Layout l = host_layout();
  auto g = make_manager(l, unique_path(), "probe");
  ASSERT_TRUE(g.ok());
  if (!ctl(**g, "pids")) GTEST_SKIP() << "no pids controller on this host";
  check_pids_failcnt(l);
}

TEST(CgroupStats, OomKill) {
  Layout l = host_layout();
  auto g = make_manager(l, unique_path(), "probe");
  ASSERT_TRUE(g.ok());
  if (!ctl(**g, "memory")) GTEST_SKIP() << "no memory controller on this host";
  check_oom(l);
}

TEST(CgroupStats, GoneCgroupIsAnError) {
  auto g = make_cgroup(host_layout());
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->stats().ok());
  ASSERT_TRUE(g->destroy().ok());
  auto s = g->stats();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().msg, "container cgroup is gone");
  if (ctl(*g.m, "memory")) {
    auto w = g->watch_oom();
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().msg, "container cgroup is gone");
  }
  g.m.reset();
}

TEST(CgroupStats, WatchOomWithoutMemoryController) {
  Layout l = host_layout();
  for (auto& h : l.hierarchies) std::erase(h.controllers, "memory");
  auto m = make_manager(l, unique_path(), "no-memory");
  ASSERT_TRUE(m.ok()) << m.error().msg;
  auto w = (*m)->watch_oom();
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().msg, "no memory cgroup controller on this host");
}

TEST(CgroupStats, DefaultOomWatchConsumeFails) {
  OomWatch w;
  EXPECT_EQ(w.fd(), -1);
  EXPECT_FALSE(w.consume().ok());
}

// The kernel's huge page sizes (/sys/kernel/mm/hugepages/hugepages-<N>kB)
// and, for the usual ones, the name the hugetlb control files use.
struct HugeSize {
  std::string dir;
  std::string name;  // empty: not in the table below
};

std::vector<HugeSize> huge_sizes() {
  static const std::map<std::string, std::string> kNames = {
      {"hugepages-64kB", "64KB"},     {"hugepages-2048kB", "2MB"},
      {"hugepages-32768kB", "32MB"},  {"hugepages-524288kB", "512MB"},
      {"hugepages-1048576kB", "1GB"}, {"hugepages-16777216kB", "16GB"}};
  std::vector<HugeSize> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
    std::string base = e.path().filename();
    if (!starts_with(base, "hugepages-")) continue;
    auto it = kNames.find(base);
    out.push_back(HugeSize{e.path(), it == kNames.end() ? "" : it->second});
  }
  return out;
}

// ---- file formats, on fake cgroup directories -----------------------------

// A temporary directory standing in for a cgroup: read_stats() only reads
// files, so every format (and the layouts this host lacks) can be fed in.
class FakeCgroup {
 public:
  FakeCgroup(bool v2, std::vector<std::string> controllers) {
    char tmpl[] = "/tmp/nsbox-stats-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) root_ = tmpl;
    EXPECT_FALSE(root_.empty());
    ::mkdir(join_path(root_, "cg").c_str(), 0755);
    dirs_.emplace_back(Hierarchy{root_, std::move(controllers), v2, "", "/"}, "/cg", 1);
  }
  FakeCgroup(const FakeCgroup&) = delete;
  FakeCgroup& operator=(const FakeCgroup&) = delete;
  ~FakeCgroup() {
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  void put(const std::string& name, const std::string& text) const {
    auto st = write_file_atomic(join_path(dir(), name), text, 0644);
    EXPECT_TRUE(st.ok()) << name;
  }
  void remove() const {
    std::error_code ec;
    std::filesystem::remove_all(dir(), ec);
  }
  std::string dir() const { return join_path(root_, "cg"); }
  const std::vector<CgroupDir>& dirs() const { return dirs_; }
  Stats read() const {
    auto s = read_stats(dirs_);
    EXPECT_TRUE(s.ok()) << (s ? "" : s.error().msg);
    return s ? *s : Stats{};
  }

 private:
  std::string root_;
  std::vector<CgroupDir> dirs_;
};

uint64_t huge_bytes(const std::string& name) {
  uint64_t n = std::stoull(name);
  if (name.ends_with("KB")) return n << 10;
  if (name.ends_with("MB")) return n << 20;
  return n << 30;
}

TEST(CgroupStats, V1Files) {
  FakeCgroup f(false, {"cpu", "cpuacct", "memory", "pids", "blkio", "hugetlb"});
  f.put("cpuacct.usage", "123456789\n");
  f.put("cpuacct.usage_percpu", "100 200 \n");
  f.put("cpuacct.usage_all", "cpu user system\n0 60 40\n1 120 80\n");
  f.put("cpuacct.stat", "user 250\nsystem 50\n");
  f.put("cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 777\n");
  f.put("cpu.cfs_quota_us", "-1\n");
  f.put("cpu.cfs_period_us", "250000\n");
  const std::string unlimited = "9223372036854771712\n";
  f.put("memory.usage_in_bytes", "1000\n");
  f.put("memory.max_usage_in_bytes", "2000\n");
  f.put("memory.limit_in_bytes", "1048576\n");
  f.put("memory.failcnt", "5\n");
  f.put("memory.memsw.usage_in_bytes", "1500\n");
  f.put("memory.memsw.max_usage_in_bytes", "2500\n");
  f.put("memory.memsw.limit_in_bytes", unlimited);
  f.put("memory.memsw.failcnt", "6\n");
  f.put("memory.kmem.usage_in_bytes", "10\n");
  f.put("memory.kmem.max_usage_in_bytes", "20\n");
  f.put("memory.kmem.limit_in_bytes", unlimited);
  f.put("memory.kmem.failcnt", "0\n");
  f.put("memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 4\n");
  f.put("memory.stat", "cache 300\nrss 700\ntotal_cache 300\n");
  f.put("pids.current", "3\n");
  f.put("pids.max", "max\n");
  f.put("pids.events", "max 2\n");
  f.put("blkio.bfq.io_serviced_recursive", "Total 0\n");  // no entries: next family
  f.put("blkio.throttle.io_serviced_recursive",
        "8:0 Read 5\n8:0 Write 6\n8:0 Discard 0\n8:0 Total 11\nTotal 11\n");
  f.put("blkio.throttle.io_service_bytes_recursive", "8:16 Read 4096\n8:16 Write 0\nTotal 4096\n");
  auto sizes = huge_sizes();
  for (const auto& h : sizes) {
    if (h.name.empty()) continue;
    std::string p = "hugetlb." + h.name;
    f.put(p + ".usage_in_bytes", std::to_string(huge_bytes(h.name)) + "\n");
    f.put(p + ".max_usage_in_bytes", std::to_string(2 * huge_bytes(h.name)) + "\n");
    // PAGE_COUNTER_MAX rounded down to whole huge pages, in bytes.
    uint64_t pages = (INT64_MAX / 4096) / (huge_bytes(h.name) / 4096) * (huge_bytes(h.name) / 4096);
    f.put(p + ".limit_in_bytes", std::to_string(pages * 4096) + "\n");
    f.put(p + ".failcnt", "1\n");
  }

  Stats s = f.read();
  ASSERT_TRUE(s.cpu);
  const CpuStats& c = *s.cpu;
  EXPECT_EQ(c.total_ns, 123456789u);
  EXPECT_EQ(c.percpu_ns, (std::vector<uint64_t>{100, 200}));
  EXPECT_EQ(c.percpu_user_ns, (std::vector<uint64_t>{60, 120}));
  EXPECT_EQ(c.percpu_kernel_ns, (std::vector<uint64_t>{40, 80}));
  uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  EXPECT_EQ(c.user_ns, 250 * 1000000000ULL / hz);
  EXPECT_EQ(c.kernel_ns, 50 * 1000000000ULL / hz);
  EXPECT_EQ(c.periods, 10u);
  EXPECT_EQ(c.throttled_periods, 3u);
  EXPECT_EQ(c.throttled_time_ns, 777u);
  EXPECT_FALSE(c.quota_us.has_value());
  EXPECT_EQ(c.period_us, 250000u);

  ASSERT_TRUE(s.memory);
  const MemoryStats& m = *s.memory;
  EXPECT_EQ(m.usage.usage, 1000u);
  EXPECT_EQ(m.usage.max_usage, 2000u);
  EXPECT_TRUE(m.usage.has_max_usage);
  EXPECT_EQ(m.usage.limit, 1048576u);
  EXPECT_EQ(m.usage.failcnt, 5u);
  ASSERT_TRUE(m.has_swap);
  EXPECT_EQ(m.swap.usage, 1500u);
  EXPECT_EQ(m.swap.limit, kUnlimited);
  EXPECT_EQ(m.swap.failcnt, 6u);
  EXPECT_TRUE(m.has_kernel);
  EXPECT_EQ(m.kernel.limit, kUnlimited);
  EXPECT_FALSE(m.has_kernel_tcp);
  EXPECT_EQ(m.oom_kill, 4u);
  EXPECT_TRUE(m.under_oom);
  EXPECT_EQ(m.oom, 0u);
  EXPECT_EQ(m.cache, 300u);
  EXPECT_EQ(m.raw.size(), 3u);

  ASSERT_TRUE(s.pids);
  EXPECT_EQ(s.pids->current, 3u);
  EXPECT_EQ(s.pids->limit, kUnlimited);
  EXPECT_EQ(s.pids->failcnt, 2u);

  ASSERT_TRUE(s.blkio);
  ASSERT_EQ(s.blkio->io_serviced_recursive.size(), 4u);  // "Total 11" skipped, "8:0 Total" kept
  EXPECT_EQ(s.blkio->io_serviced_recursive[1].op, "Write");
  EXPECT_EQ(s.blkio->io_serviced_recursive[1].value, 6u);
  EXPECT_EQ(s.blkio->io_serviced_recursive[3].op, "Total");
  ASSERT_EQ(s.blkio->io_service_bytes_recursive.size(), 2u);
  EXPECT_EQ(s.blkio->io_service_bytes_recursive[0].minor, 16u);
  EXPECT_EQ(s.blkio->io_service_bytes_recursive[0].value, 4096u);

  for (const auto& h : sizes) {
    if (h.name.empty()) continue;
    ASSERT_TRUE(s.hugetlb.count(h.name)) << h.name;
    const auto& t = s.hugetlb.at(h.name);
    EXPECT_EQ(t.usage, huge_bytes(h.name));
    EXPECT_EQ(t.max_usage, 2 * huge_bytes(h.name));
    EXPECT_TRUE(t.has_max_usage);
    EXPECT_EQ(t.limit, kUnlimited) << h.name;
    EXPECT_EQ(t.failcnt, 1u);
  }

  // A quota, and a cgroup that goes away.
  f.put("cpu.cfs_quota_us", "25000\n");
  s = f.read();
  EXPECT_EQ(s.cpu->quota_us, 25000);
  f.remove();
  auto gone = read_stats(f.dirs());
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().msg, "container cgroup is gone");
}

TEST(CgroupStats, V2Files) {
  FakeCgroup f(true, {"cpu", "io", "memory", "pids", "hugetlb"});
  f.put("cgroup.controllers", "cpu io memory pids hugetlb\n");
  f.put("cpu.stat",
        "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 7\nnr_throttled 2\n"
        "throttled_usec 30\n");
  f.put("cpu.max", "50000 100000\n");
  f.put("memory.current", "4096\n");
  f.put("memory.max", "8192\n");
  f.put("memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n");
  f.put("memory.swap.current", "100\n");
  f.put("memory.swap.max", "max\n");
  f.put("memory.swap.events", "high 0\nmax 1\nfail 0\n");
  f.put("memory.stat", "anon 1000\nfile 2000\n");
  f.put("pids.current", "2\n");
  f.put("pids.max", "50\n");
  f.put("pids.events", "max 0\n");
  f.put("io.stat",
        "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n"
        "253:1 rbytes=10 wbytes=20 rios=30 wios=40 dbytes=0 dios=0\n");
  auto sizes = huge_sizes();
  for (const auto& h : sizes) {
    if (h.name.empty()) continue;
    f.put("hugetlb." + h.name + ".current", std::to_string(huge_bytes(h.name)) + "\n");
    f.put("hugetlb." + h.name + ".max", "max\n");
    f.put("hugetlb." + h.name + ".events", "max 3\n");
  }

  Stats s = f.read();
  ASSERT_TRUE(s.cpu);
  EXPECT_EQ(s.cpu->total_ns, 1000000u);
  EXPECT_EQ(s.cpu->user_ns, 600000u);
  EXPECT_EQ(s.cpu->kernel_ns, 400000u);
  EXPECT_EQ(s.cpu->periods, 7u);
  EXPECT_EQ(s.cpu->throttled_periods, 2u);
  EXPECT_EQ(s.cpu->throttled_time_ns, 30000u);
  EXPECT_EQ(s.cpu->quota_us, 50000);
  EXPECT_EQ(s.cpu->period_us, 100000u);
  EXPECT_TRUE(s.cpu->percpu_ns.empty());

  ASSERT_TRUE(s.memory);
  const MemoryStats& m = *s.memory;
  EXPECT_EQ(m.usage.usage, 4096u);
  EXPECT_FALSE(m.usage.has_max_usage);  // no memory.peak (before 5.19)
  EXPECT_EQ(m.usage.limit, 8192u);
  EXPECT_EQ(m.usage.failcnt, 9u);
  EXPECT_EQ(m.oom, 2u);
  EXPECT_EQ(m.oom_kill, 1u);
  ASSERT_TRUE(m.has_swap);
  EXPECT_EQ(m.swap.usage, 4196u);  // memory + swap
  EXPECT_EQ(m.swap.limit, kUnlimited);
  EXPECT_FALSE(m.swap.has_max_usage);
  EXPECT_EQ(m.swap.failcnt, 1u);
  EXPECT_FALSE(m.has_kernel);
  EXPECT_EQ(m.cache, 2000u);

  ASSERT_TRUE(s.pids);
  EXPECT_EQ(s.pids->current, 2u);
  EXPECT_EQ(s.pids->limit, 50u);

  ASSERT_TRUE(s.blkio);
  auto by_dev = [](const std::vector<BlkioEntry>& v) {
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const auto& e : v)
      out.push_back(std::to_string(e.major) + ":" + std::to_string(e.minor) + " " + e.op + " " +
                    std::to_string(e.value));
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(
      by_dev(s.blkio->io_service_bytes_recursive),
      (std::vector<std::string>{"253:1 Read 10", "253:1 Write 20", "8:0 Read 1", "8:0 Write 2"}));
  EXPECT_EQ(
      by_dev(s.blkio->io_serviced_recursive),
      (std::vector<std::string>{"253:1 Read 30", "253:1 Write 40", "8:0 Read 3", "8:0 Write 4"}));

  for (const auto& h : sizes) {
    if (h.name.empty()) continue;
    ASSERT_TRUE(s.hugetlb.count(h.name)) << h.name;
    EXPECT_EQ(s.hugetlb.at(h.name).usage, huge_bytes(h.name));
    EXPECT_EQ(s.hugetlb.at(h.name).limit, kUnlimited);
    EXPECT_EQ(s.hugetlb.at(h.name).failcnt, 3u);
    EXPECT_FALSE(s.hugetlb.at(h.name).has_max_usage);
  }

  // memory.peak, a swap limit (added to memory.max), no quota.
  f.put("memory.peak", "6000\n");
  f.put("memory.swap.max", "1000\n");
  f.put("cpu.max", "max 100000\n");
  s = f.read();
  EXPECT_TRUE(s.memory->usage.has_max_usage);
  EXPECT_EQ(s.memory->usage.max_usage, 6000u);
  EXPECT_EQ(s.memory->swap.limit, 9192u);
  EXPECT_FALSE(s.cpu->quota_us.has_value());

  // Controllers not enabled for the leaf: no section (cpu.stat usage stays).
  f.put("cgroup.controllers", "\n");
  s = f.read();
  EXPECT_TRUE(s.cpu);
  EXPECT_EQ(s.cpu->periods, 0u);
  EXPECT_FALSE(s.memory);
  EXPECT_FALSE(s.pids);
  EXPECT_FALSE(s.blkio);
  EXPECT_TRUE(s.hugetlb.empty());

  // Junk is an error naming the file.
  f.put("cgroup.controllers", "cpu\n");
  f.put("cpu.max", "fifty 100000\n");
  auto bad = read_stats(f.dirs());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().msg.find("cpu.max"), std::string::npos) << bad.error().msg;
}

// ---- renderings ---------------------------------------------------------

Stats sample_stats() {
  Stats s;
  CpuStats c;
  c.total_ns = 5000;
  c.kernel_ns = 1000;
  c.user_ns = 4000;
  c.percpu_ns = {2000, 3000};
  c.percpu_kernel_ns = {400, 600};
  c.percpu_user_ns = {1600, 2400};
  c.periods = 10;
  c.throttled_periods = 3;
  c.throttled_time_ns = 777;
  c.quota_us = 50000;
  s.cpu = c;
  MemoryStats m;
  m.usage = MemoryEntry{100, 200, true, 1000, 7};
  m.swap = MemoryEntry{150, 250, true, kUnlimited, 0};
  m.kernel = MemoryEntry{10, 20, true, kUnlimited, 0};
  m.kernel_tcp = MemoryEntry{1, 2, true, kUnlimited, 0};
  m.has_swap = m.has_kernel = m.has_kernel_tcp = true;
  m.cache = 42;
  m.oom_kill = 2;
  m.raw = {{"cache", 42}, {"rss", 58}};
  s.memory = m;
  s.pids = PidsStats{5, 100, 1};
  BlkioStats b;
  b.io_service_bytes_recursive = {{8, 0, "Read", 4096}, {8, 0, "Write", 8192}};
  b.io_serviced_recursive = {{8, 0, "Read", 1}, {8, 0, "Write", 2}};
  s.blkio = b;
  s.hugetlb["2MB"] = HugetlbStats{2097152, 4194304, kUnlimited, 3, true};
  s.hugetlb["1GB"] = HugetlbStats{};
  return s;
}

TEST(CgroupStats, RuncJsonKeys) {
  auto j = to_runc_stats_json(sample_stats());
  for (const char* k :
       {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"})
    EXPECT_TRUE(j.contains(k)) << k;
  const auto& usage = j["cpu"]["usage"];
  EXPECT_EQ(usage["total"], 5000u);
  EXPECT_EQ(usage["percpu"], nlohmann::json({2000, 3000}));
  EXPECT_EQ(usage["percpu_kernel"], nlohmann::json({400, 600}));
  EXPECT_EQ(usage["percpu_user"], nlohmann::json({1600, 2400}));
  EXPECT_EQ(usage["kernel"], 1000u);
  EXPECT_EQ(usage["user"], 4000u);
  EXPECT_EQ(j["cpu"]["throttling"],
            nlohmann::json({{"periods", 10}, {"throttledPeriods", 3}, {"throttledTime", 777}}));
  const auto& mem = j["memory"];
  EXPECT_EQ(mem["cache"], 42u);
  EXPECT_EQ(mem["usage"],
            nlohmann::json({{"usage", 100}, {"max", 200}, {"limit", 1000}, {"failcnt", 7}}));
  EXPECT_EQ(mem["swap"]["limit"], kUnlimited);
  EXPECT_EQ(mem["kernel"]["usage"], 10u);
  EXPECT_EQ(mem["kernelTCP"]["max"], 2u);
  EXPECT_EQ(mem["raw"], nlohmann::json({{"cache", 42}, {"rss", 58}}));
  EXPECT_EQ(j["pids"], nlohmann::json({{"current", 5}, {"limit", 100}}));
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][1],
            nlohmann::json({{"major", 8}, {"op", "Write"}, {"value", 8192}}));  // minor 0 omitted
  EXPECT_EQ(j["blkio"]["ioServicedRecursive"].size(), 2u);
  EXPECT_EQ(j["hugetlb"]["2MB"],
            nlohmann::json({{"usage", 2097152}, {"max", 4194304}, {"failcnt", 3}}));
  EXPECT_EQ(j["hugetlb"]["1GB"], nlohmann::json({{"failcnt", 0}}));
  EXPECT_EQ(j["cpuset"]["cpu_exclusive"], 0);
  EXPECT_TRUE(j["network_interfaces"].is_null());
}

TEST(CgroupStats, RuncJsonOmitsLikeRunc) {
  auto j = to_runc_stats_json(Stats{});
  EXPECT_EQ(j["cpu"], nlohmann::json({{"usage", {{"kernel", 0}, {"user", 0}}},
                                      {"throttling", nlohmann::json::object()}}));
  nlohmann::json zero_entry = {{"limit", 0}, {"failcnt", 0}};
  EXPECT_EQ(j["memory"], nlohmann::json({{"usage", zero_entry},
                                         {"swap", zero_entry},
                                         {"kernel", zero_entry},
                                         {"kernelTCP", zero_entry}}));
  EXPECT_EQ(j["pids"], nlohmann::json::object());
  EXPECT_EQ(j["blkio"], nlohmann::json::object());
  EXPECT_EQ(j["hugetlb"], nlohmann::json::object());
  EXPECT_EQ(j["intel_rdt"], nlohmann::json::object());

  // A present memory section without swap/kmem counters; unlimited pids.
  Stats s;
  s.memory.emplace();
  s.pids = PidsStats{3, kUnlimited, 0};
  j = to_runc_stats_json(s);
  EXPECT_EQ(j["memory"]["usage"], nlohmann::json({{"limit", kUnlimited}, {"failcnt", 0}}));
  EXPECT_EQ(j["memory"]["swap"], zero_entry);
  EXPECT_FALSE(j["memory"].contains("raw"));
  EXPECT_FALSE(j["memory"].contains("cache"));
  EXPECT_EQ(j["pids"], nlohmann::json({{"current", 3}}));
}

TEST(CgroupStats, BeancounterRows) {
  Stats s = sample_stats();
  auto rows = beancounters(s);
  std::vector<std::string> names;
  names.reserve(rows.size());
  for (const auto& r : rows) names.push_back(r.resource);
  EXPECT_EQ(names, (std::vector<std::string>{"memory", "memory+swap", "kmem", "kmem.tcp", "oom",
                                             "pids", "cpu", "hugetlb.1GB", "hugetlb.2MB"}));
  EXPECT_EQ(rows[0].unit, "bytes");
  EXPECT_EQ(rows[0].usage, 100u);
  EXPECT_EQ(rows[0].max_usage, 200u);
  EXPECT_EQ(rows[0].limit, 1000u);
  EXPECT_EQ(rows[0].failures, 7u);
  EXPECT_EQ(rows[1].usage, 150u);
  const Beancounter* oom = row(rows, "oom");
  EXPECT_EQ(oom->unit, "kills");
  EXPECT_EQ(oom->usage, 2u);
  EXPECT_EQ(oom->failures, 2u);
  EXPECT_EQ(oom->limit, kUnlimited);
  const Beancounter* pids = row(rows, "pids");
  EXPECT_EQ(pids->unit, "tasks");
  EXPECT_EQ(pids->usage, 5u);
  EXPECT_FALSE(pids->max_usage.has_value());
  EXPECT_EQ(pids->limit, 100u);
  EXPECT_EQ(pids->failures, 1u);
  const Beancounter* cpu = row(rows, "cpu");
  EXPECT_EQ(cpu->unit, "ns");
  EXPECT_EQ(cpu->usage, 5000u);
  EXPECT_EQ(cpu->limit, 50000u * 1000);
  EXPECT_EQ(cpu->failures, 3u);
  const Beancounter* huge = row(rows, "hugetlb.2MB");
  EXPECT_EQ(huge->max_usage, 4194304u);
  EXPECT_EQ(huge->failures, 3u);
  EXPECT_FALSE(row(rows, "hugetlb.1GB")->max_usage.has_value());

  // No quota: unlimited; counters the kernel lacks: no rows.
  s.cpu->quota_us.reset();
  s.memory->has_swap = s.memory->has_kernel = s.memory->has_kernel_tcp = false;
  s.memory->usage.has_max_usage = false;
  rows = beancounters(s);
  EXPECT_EQ(row(rows, "cpu")->limit, kUnlimited);
  EXPECT_EQ(row(rows, "memory+swap"), nullptr);
  EXPECT_EQ(row(rows, "kmem"), nullptr);
  EXPECT_FALSE(row(rows, "memory")->max_usage.has_value());
  EXPECT_TRUE(beancounters(Stats{}).empty());
}

// ---- CgroupStatsV2: the cgroup2 mount alone -------------------------------

// Turns controllers on in the cgroup2 root's subtree_control (the test
// cgroups sit right below it) and back off afterwards if it did.
class Enabled {
 public:
  Enabled(const std::string& root, const std::vector<std::string>& controllers)
      : file_(join_path(root, "cgroup.subtree_control")) {
    auto on = read_file(file_);
    std::vector<std::string> now = on ? words(*on) : std::vector<std::string>{};
    for (const auto& c : controllers) {
      if (contains(now, c)) continue;
      auto st = write_file(file_, "+" + c);
      EXPECT_TRUE(st.ok()) << file_ << " +" << c << ": " << (st ? "" : st.error().msg);
      if (st) turned_on_.push_back(c);
    }
  }
  Enabled(const Enabled&) = delete;
  Enabled& operator=(const Enabled&) = delete;
  ~Enabled() {
    for (const auto& c : turned_on_) (void)write_file(file_, "-" + c);
  }

 private:
  std::string file_;
  std::vector<std::string> turned_on_;
};

// A Layout of the host's cgroup2 mount alone when its root offers every
// controller in need; else nullopt and why.
std::optional<Layout> v2_layout_with(const std::vector<std::string>& need, std::string* why) {
  for (const auto& h : host_layout().hierarchies) {
    if (!h.v2) continue;
    for (const auto& c : need) {
      if (!contains(h.controllers, c)) {
        *why = "the cgroup2 root " + h.mountpoint + " lacks the " + c + " controller";
        return std::nullopt;
      }
    }
    return Layout{Mode::kV2, {h}};
  }
  *why = "no cgroup2 mount on this host";
  return std::nullopt;
}

#define V2_LAYOUT(var, ...)                             \
  std::string var##_why;                                \
  auto var = v2_layout_with({__VA_ARGS__}, &var##_why); \
  if (!var) GTEST_SKIP() << var##_why;                  \
  Enabled var##_enabled(var->hierarchies[0].mountpoint, {__VA_ARGS__})

TEST(CgroupStatsV2, Usage) {
  V2_LAYOUT(l, "memory", "pids");
  check_usage(*l);
}

TEST(CgroupStatsV2, CpuUsageGrows) {
  V2_LAYOUT(l, "cpu");
  check_cpu_grows(*l);
}

TEST(CgroupStatsV2, Limits) {
  V2_LAYOUT(l, "memory", "pids", "cpu");
  check_limits(*l);
}

TEST(CgroupStatsV2, PidsFailcnt) {
  V2_LAYOUT(l, "pids");
  check_pids_failcnt(*l);
}

TEST(CgroupStatsV2, OomKill) {
  V2_LAYOUT(l, "memory");
  check_oom(*l);
}

// Without the controller enabled for the leaf its section is absent, but
// cpu.stat's usage is always there.
TEST(CgroupStatsV2, SectionsFollowTheLeafControllers) {
  std::string why;
  auto l = v2_layout_with({}, &why);
  if (!l) GTEST_SKIP() << why;
  std::string root = l->hierarchies[0].mountpoint;
  auto on = read_file(join_path(root, "cgroup.subtree_control"));
  ASSERT_TRUE(on.ok());
  auto g = make_cgroup(*l);
  ASSERT_TRUE(g.m);
  auto leaf = read_file(join_path(placed(*g.m)[0].dir, "cgroup.controllers"));
  ASSERT_TRUE(leaf.ok());
  Stats s = read(g);
  ASSERT_TRUE(s.cpu);
  EXPECT_EQ(s.memory.has_value(), contains(words(*leaf), "memory"));
  EXPECT_EQ(s.pids.has_value(), contains(words(*leaf), "pids"));
  EXPECT_EQ(s.blkio.has_value(), contains(words(*leaf), "io"));
  EXPECT_EQ(!s.hugetlb.empty(), contains(words(*leaf), "hugetlb"));
}

// Sets a huge page pool size and restores the old one.
class HugePool {
 public:
  HugePool(const std::string& dir, long pages) : file_(join_path(dir, "nr_hugepages")) {
    auto old = read_file(file_);
    long long v = 0;
    if (!old || !parse_int64(trim(*old), &v)) return;
    old_ = v;
    if (!write_file(file_, std::to_string(v + pages)).ok()) return;
    auto now = read_file(file_);
    long long got = 0;
    ok_ = now && parse_int64(trim(*now), &got) && got >= v + pages;
  }
  HugePool(const HugePool&) = delete;
  HugePool& operator=(const HugePool&) = delete;
  ~HugePool() {
    if (old_ >= 0) (void)write_file(file_, std::to_string(old_));
  }
  bool ok() const { return ok_; }

 private:
  std::string file_;
  long long old_ = -1;
  bool ok_ = false;
};

TEST(CgroupStatsV2, Hugetlb) {
  auto sizes = huge_sizes();
  if (sizes.empty()) GTEST_SKIP() << "no huge page sizes in /sys/kernel/mm/hugepages";
  V2_LAYOUT(l, "hugetlb");
  auto g = make_cgroup(*l);
  ASSERT_TRUE(g.m);
  Stats s = read(g);
  ASSERT_EQ(s.hugetlb.size(), sizes.size());
  for (const auto& [dir, name] : sizes) {
    if (name.empty()) continue;
    ASSERT_TRUE(s.hugetlb.count(name)) << dir << " should be " << name;
  }
  for (const auto& [name, h] : s.hugetlb) {
    EXPECT_EQ(h.usage, 0u) << name;
    EXPECT_EQ(h.limit, kUnlimited) << name;
    EXPECT_EQ(h.failcnt, 0u) << name;
    EXPECT_FALSE(h.has_max_usage) << name;
    EXPECT_NE(row(beancounters(s), "hugetlb." + name), nullptr);
    EXPECT_TRUE(to_runc_stats_json(s)["hugetlb"].contains(name));
  }

  // Usage and a refused fault need a huge page in the pool: borrow one.
  auto two =
      std::find_if(sizes.begin(), sizes.end(), [](const HugeSize& h) { return h.name == "2MB"; });
  if (two == sizes.end()) return;
  HugePool pool(two->dir, 1);
  if (!pool.ok()) {
    std::printf("cannot reserve a 2MB huge page: usage and failcnt not checked\n");
    return;
  }
  std::string leaf = placed(*g.m)[0].dir;
  auto huge_child = [](int in, int out) {
    void* p = ::mmap(nullptr, 2 * kMiB, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) return 4;
    static_cast<volatile char*>(p)[0] = 1;  // a refused charge is SIGBUS
    report(out, 't');
    wait_for_eof(in);
    return 0;
  };
  {
    Child child(huge_child);
    ASSERT_TRUE(g->add_process(child.pid()).ok());
    child.go();
    ASSERT_EQ(child.next(), 't');
    s = read(g);
    EXPECT_EQ(s.hugetlb.at("2MB").usage, 2 * kMiB);
    EXPECT_EQ(row(beancounters(s), "hugetlb.2MB")->usage, 2 * kMiB);
  }
  ASSERT_TRUE(write_file(join_path(leaf, "hugetlb.2MB.max"), "0").ok());
  Child child(huge_child);
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  child.go();
  EXPECT_EQ(child.wait(), -SIGBUS);
  s = read(g);
  EXPECT_EQ(s.hugetlb.at("2MB").limit, 0u);
  EXPECT_GE(s.hugetlb.at("2MB").failcnt, 1u);
  EXPECT_GE(row(beancounters(s), "hugetlb.2MB")->failures, 1u);
}

}  // namespace
}  // namespace nsbox::cgroup
