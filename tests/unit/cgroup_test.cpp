// Cgroup manager tests. They run as root against the real /sys/fs/cgroup and
// adapt to the host layout (v1, v2 or hybrid); tests needing something the
// host lacks skip with the reason.
#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cgroup/devices.h"
#include "cgroup_test_util.h"
#include "common/fd.h"
#include "common/syscalls.h"
#include "common/util.h"

namespace nsbox::cgroup {
namespace {

using testing::exists;
using testing::host_layout;
using testing::v2_only_layout;

std::string unique_id() {
  static std::atomic<int> n{0};
  return "ut-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

std::optional<Hierarchy> find_hierarchy(const Layout& l,
                                        const std::function<bool(const Hierarchy&)>& f) {
  for (const auto& h : l.hierarchies)
    if (f(h)) return h;
  return std::nullopt;
}

std::optional<Hierarchy> v2_hierarchy(const Layout& l) {
  return find_hierarchy(l, [](const Hierarchy& h) { return h.v2; });
}

bool has_controller(const Hierarchy& h, const std::string& c) {
  return std::find(h.controllers.begin(), h.controllers.end(), c) != h.controllers.end();
}

// One entry of Manager::serialize().
struct Placed {
  std::string mountpoint, root, path;
  bool v2 = false;
  std::vector<std::string> controllers;
  std::string name;
  std::string dir() const { return join_path(mountpoint, path); }
  std::string cgroup_path() const { return clean_path(join_path(root, path)); }
};

std::vector<Placed> placed(const Manager& m) {
  std::vector<Placed> out;
  auto j = nlohmann::json::parse(m.serialize());
  for (const auto& d : j.at("dirs")) {
    out.push_back(Placed{d.at("mountpoint"), d.at("root"), d.at("path"), d.at("v2"),
                         d.at("controllers"), d.at("name")});
  }
  return out;
}

// Destroys the cgroup even when an assertion fails first.
struct ManagerGuard {
  std::unique_ptr<Manager> m;
  ~ManagerGuard() {
    if (m) (void)m->destroy();
  }
  Manager* operator->() { return m.get(); }
};

ManagerGuard make(const Layout& l, const std::optional<std::string>& path, const std::string& id) {
  auto m = make_manager(l, path, id);
  EXPECT_TRUE(m.ok()) << (m ? "" : m.error().msg);
  return ManagerGuard{m ? std::move(m).value() : nullptr};
}

// A forked child that waits for go() then runs body and exits with its
// result. Killed and reaped on destruction.
class Child {
 public:
  explicit Child(const std::function<int()>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[1]);
      char c;
      if (::read(p[0], &c, 1) != 1) ::_exit(100);
      ::_exit(body());
    }
    ::close(p[0]);
    go_ = p[1];
  }
  ~Child() {
    if (go_ >= 0) ::close(go_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void go() {
    (void)!::write(go_, "g", 1);
    ::close(go_);
    go_ = -1;
  }
  // Exit code, or -1 when killed by a signal.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void kill_and_wait() {
    ::kill(pid_, SIGKILL);
    (void)wait();
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
};

// /proc/PID/cgroup lines keyed by their controller field ("memory", "" for v2).
std::map<std::string, std::string> proc_cgroups(pid_t pid) {
  std::map<std::string, std::string> out;
  auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() >= 3) out[f[1]] = line.substr(f[0].size() + f[1].size() + 2);
  }
  return out;
}

// The /proc/PID/cgroup path of pid in the hierarchy of p.
std::string cgroup_of(pid_t pid, const Placed& p) {
  for (const auto& [ctrls, path] : proc_cgroups(pid)) {
    if (p.v2) {
      if (ctrls.empty()) return path;
      continue;
    }
    for (const auto& c : split(ctrls, ',')) {
      if ((!p.name.empty() && c == "name=" + p.name) ||
          std::find(p.controllers.begin(), p.controllers.end(), c) != p.controllers.end()) {
        return path;
      }
    }
  }
  return "<none>";
}

bool has_subdirs(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_directory()) return true;
  return false;
}

// No directory of the container left; the shared "nsbox" parent is gone
// unless another container (a parallel test) uses it. A parallel test may be
// between its mkdir calls or its rmdir calls: give it a moment.
void expect_removed(const std::vector<Placed>& dirs) {
  for (const auto& p : dirs) {
    EXPECT_FALSE(exists(p.dir())) << p.dir();
    if (!starts_with(p.path, "/nsbox/")) continue;
    std::string parent = join_path(p.mountpoint, "nsbox");
    auto settled = [&] { return !exists(parent) || has_subdirs(parent); };
    bool ok = settled();
    for (int i = 0; i < 200 && !ok; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ok = settled();
    }
    EXPECT_TRUE(ok) << parent << " left empty";
  }
}

int open_errno(const char* path, int flags) {
  int fd = ::open(path, flags | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// ---- probe ----------------------------------------------------------------

struct MountLine {
  std::string dev, root, mountpoint, fstype, options;
};

std::vector<MountLine> cgroup_mounts() {
  std::vector<MountLine> out;
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    auto f = split(line, ' ');
    auto sep = std::find(f.begin(), f.end(), "-");
    if (f.size() < 10 || f.end() - sep < 4) continue;
    if (sep[1] == "cgroup" || sep[1] == "cgroup2")
      out.push_back({f[2], f[3], f[4], sep[1], sep[3]});
  }
  return out;
}

TEST(CgroupProbe, MatchesMountinfo) {
  auto layout = host_layout();
  auto mounts = cgroup_mounts();
  std::printf("cgroup layout: %s\n", mode_name(layout.mode));
  std::set<std::string> v1_devs, layout_v1_devs;
  bool any_v2 = false, v1_controllers = false;
  for (const auto& m : mounts) {
    if (m.fstype == "cgroup2") any_v2 = true;
    if (m.fstype == "cgroup") v1_devs.insert(m.dev);
  }
  for (const auto& h : layout.hierarchies) {
    auto it = std::find_if(mounts.begin(), mounts.end(),
                           [&](const MountLine& m) { return m.mountpoint == h.mountpoint; });
    ASSERT_NE(it, mounts.end()) << h.mountpoint;
    EXPECT_EQ(it->fstype, h.v2 ? "cgroup2" : "cgroup") << h.mountpoint;
    EXPECT_EQ(it->root, h.root);
    if (h.v2) continue;
    layout_v1_devs.insert(it->dev);
    v1_controllers |= !h.controllers.empty();
    auto opts = split(it->options, ',');
    for (const auto& c : h.controllers)
      EXPECT_NE(std::find(opts.begin(), opts.end(), c), opts.end()) << c << " " << h.mountpoint;
    if (!h.name.empty()) {
      EXPECT_NE(std::find(opts.begin(), opts.end(), "name=" + h.name), opts.end());
    }
  }
  EXPECT_EQ(layout_v1_devs, v1_devs) << "one entry per v1 hierarchy";
  EXPECT_EQ(v2_hierarchy(layout).has_value(), any_v2);
  Mode expected = !v1_controllers ? Mode::kV2 : any_v2 ? Mode::kHybrid : Mode::kV1;
  EXPECT_EQ(mode_name(layout.mode), std::string(mode_name(expected)));
  auto again = probe();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->hierarchies.size(), layout.hierarchies.size());
}

TEST(CgroupProbe, ModeNames) {
  EXPECT_STREQ(mode_name(Mode::kV1), "v1");
  EXPECT_STREQ(mode_name(Mode::kV2), "v2");
  EXPECT_STREQ(mode_name(Mode::kHybrid), "hybrid");
}

// ---- paths ------------------------------------------------------------------

TEST(CgroupPath, RejectsDotDotAndRoot) {
  auto layout = host_layout();
  for (const char* p : {"/a/../b", "../x", "a/..", "/..", "/", "./"}) {
    auto m = make_manager(layout, std::string(p), "x");
    ASSERT_FALSE(m.ok()) << p;
    EXPECT_NE(m.error().msg.find("linux.cgroupsPath"), std::string::npos) << m.error().msg;
  }
  for (const char* id : {"", "a/b", ".."})
    EXPECT_FALSE(make_manager(layout, std::nullopt, id).ok());
}

TEST(CgroupPath, DefaultAbsoluteAndRelative) {
  auto layout = host_layout();
  auto def = make(layout, std::nullopt, "abc");
  auto abs = make(layout, std::string("/ut-abs//./x/"), "abc");
  auto rel = make(layout, std::string("ut-rel/x"), "abc");
  ASSERT_TRUE(def.m && abs.m && rel.m);
  auto d = placed(*def.m), a = placed(*abs.m), r = placed(*rel.m);
  ASSERT_FALSE(d.empty());
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d[i].path, "/nsbox/abc");
    EXPECT_EQ(a[i].path, "/ut-abs/x");
    // Relative: below nsbox's own cgroup in that hierarchy.
    EXPECT_EQ(r[i].cgroup_path(), clean_path(cgroup_of(::getpid(), r[i]) + "/ut-rel/x"));
  }
  if (layout.mode == Mode::kV2) {
    EXPECT_EQ(d.size(), 1u);
    EXPECT_TRUE(d[0].v2);
  } else {
    size_t v1 = std::count_if(layout.hierarchies.begin(), layout.hierarchies.end(),
                              [](const Hierarchy& h) { return !h.v2; });
    EXPECT_EQ(d.size(), layout.mode == Mode::kHybrid ? v1 + 1 : v1);
  }
  // Nothing touched the filesystem before create().
  for (const auto& p : a) EXPECT_FALSE(exists(join_path(p.mountpoint, "ut-abs")));
}

// ---- lifecycle ----------------------------------------------------------

TEST(CgroupManager, CreateAddPidsDestroy) {
  std::string id = unique_id();
  auto g = make(host_layout(), std::nullopt, id);
  ASSERT_TRUE(g.m);
  auto dirs = placed(*g.m);
  ASSERT_TRUE(g->create().ok());
  for (const auto& p : dirs) EXPECT_TRUE(exists(p.dir())) << p.dir();
  {
    Child child([] {
      ::pause();
      return 0;
    });
    ASSERT_GT(child.pid(), 0);
    auto st = g->add_process(child.pid());
    ASSERT_TRUE(st.ok()) << st.error().msg;
    auto pids = g->pids();
    ASSERT_TRUE(pids.ok()) << pids.error().msg;
    EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
    for (const auto& p : dirs) {
      EXPECT_EQ(cgroup_of(child.pid(), p), p.cgroup_path()) << p.mountpoint;
      EXPECT_EQ(p.cgroup_path(), clean_path(p.root + "/nsbox/" + id));
    }
    // A populated cgroup is busy: destroy gives up after its retry window.
    EXPECT_FALSE(g->destroy().ok());
    child.kill_and_wait();
  }
  auto st = g->destroy();
  ASSERT_TRUE(st.ok()) << st.error().msg;
  expect_removed(dirs);
  EXPECT_TRUE(g->destroy().ok()) << "idempotent";
  auto pids = g->pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_TRUE(pids->empty());
}

TEST(CgroupManager, ReusesEmptyRejectsPopulated) {
  std::string id = unique_id();
  auto layout = host_layout();
  auto g = make(layout, std::nullopt, id);
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->create().ok());
  auto again = make(layout, std::nullopt, id);
  EXPECT_TRUE(again->create().ok()) << "an existing empty cgroup is reused";
  Child child([] {
    ::pause();
    return 0;
  });
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  auto third = make_manager(layout, std::nullopt, id);
  ASSERT_TRUE(third.ok());
  auto st = (*third)->create();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().msg.find("has processes"), std::string::npos) << st.error().msg;
  EXPECT_TRUE((*third)->destroy().ok());
  for (const auto& p : placed(*g.m)) {
    EXPECT_TRUE(exists(p.dir())) << "failed create + destroy kept " << p.dir();
  }
  auto pids = g->pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  child.kill_and_wait();
  EXPECT_TRUE(g->destroy().ok());
  again.m.reset();
}

TEST(CgroupManager, NestedCgroupsAreCountedAndRemoved) {
  auto g = make(host_layout(), std::nullopt, unique_id());
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->create().ok());
  auto dirs = placed(*g.m);
  Child child([] {
    ::pause();
    return 0;
  });
  // What a container with its own cgroup namespace might do: a sub-cgroup.
  for (const auto& p : dirs) {
    ASSERT_EQ(::mkdir(join_path(p.dir(), "sub").c_str(), 0755), 0) << p.dir();
    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
      // v1 cpuset: a new cgroup starts empty (v2: the file exists only when
      // the leaf delegates cpuset, and an empty one inherits).
      if (!exists(join_path(p.dir(), std::string("sub/") + f))) continue;
      if (auto v = read_file(join_path(p.dir(), f))) {
        ASSERT_TRUE(write_file(join_path(p.dir(), std::string("sub/") + f), trim(*v)).ok());
      }
    }
    ASSERT_TRUE(
        write_file(join_path(p.dir(), "sub/cgroup.procs"), std::to_string(child.pid())).ok());
  }
  auto pids = g->pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  child.kill_and_wait();
  auto st = g->destroy();
  ASSERT_TRUE(st.ok()) << st.error().msg;
  expect_removed(dirs);
}

TEST(CgroupManager, AbsolutePathRemovesOnlyWhatItCreated) {
  auto layout = host_layout();
  std::string top = "/" + unique_id();
  auto outer = make(layout, top, "x");
  ASSERT_TRUE(outer.m);
  ASSERT_TRUE(outer->create().ok());
  auto inner = make(layout, top + "/a/b", "x");
  // As the container code does: state saved before create(), destroy() by a
  // later process from that state.
  auto saved = inner->serialize();
  ASSERT_TRUE(inner->create().ok());
  auto dirs = placed(*inner.m);
  auto later = restore_manager(saved);
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE((*later)->destroy().ok());
  for (const auto& p : dirs) {
    EXPECT_FALSE(exists(join_path(p.mountpoint, top + "/a"))) << "created parent removed";
    EXPECT_TRUE(exists(join_path(p.mountpoint, top))) << "pre-existing parent kept";
  }
  ASSERT_TRUE(outer->destroy().ok());
  for (const auto& p : dirs) EXPECT_FALSE(exists(join_path(p.mountpoint, top)));
}

TEST(CgroupManager, OpenV2Leaf) {
  auto layout = host_layout();
  auto g = make(layout, std::nullopt, unique_id());
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->create().ok());
  auto fd = g->open_v2_leaf();
  ASSERT_TRUE(fd.ok()) << fd.error().msg;
  // Pure v2 and hybrid (the cgroup2 mount) have a leaf to clone into.
  EXPECT_EQ(fd->valid(), layout.mode != Mode::kV1);
  auto tasks = g->open_v1_tasks();
  ASSERT_TRUE(tasks.ok()) << tasks.error().msg;
  size_t v1 = 0;
  for (const auto& h : layout.hierarchies) v1 += h.v2 ? 0 : 1;
  EXPECT_EQ(tasks->size(), layout.mode == Mode::kV2 ? 0u : v1);
}

TEST(CgroupManager, CloneIntoV2Leaf) {
  auto layout = v2_only_layout();
  if (!layout) GTEST_SKIP() << "no cgroup2 mount on this host";
  auto g = make(*layout, std::nullopt, unique_id());
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->create().ok());
  auto fd = g->open_v2_leaf();
  ASSERT_TRUE(fd.ok() && fd->valid());
  sys::CloneArgs args;
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(fd->get());
  pid_t pid = sys::clone3(&args);
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(pid, 0) << std::strerror(errno);
  auto pids = g->pids();
  std::string where = cgroup_of(pid, placed(*g.m)[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{pid});
  EXPECT_EQ(where, placed(*g.m)[0].cgroup_path());
  EXPECT_TRUE(g->destroy().ok());
}

// ---- devices ------------------------------------------------------------

spec::DeviceRule rule(bool allow, std::string type, std::optional<int64_t> major,
                      std::optional<int64_t> minor, std::string access) {
  return spec::DeviceRule{allow, std::move(type), major, minor, std::move(access)};
}

TEST(CgroupDevices, Lines) {
  auto l = device_lines({rule(false, "", {}, {}, "rwm"), rule(false, "a", 1, {}, "w")},
                        {spec::Device{"/dev/x", 'u', 4, 64, {}, {}, {}},
                         spec::Device{"/dev/f", 'p', 0, 0, {}, {}, {}}});
  ASSERT_TRUE(l.ok()) << l.error().msg;
  std::vector<std::string> got;
  for (const auto& d : *l) got.push_back((d.allow ? "allow " : "deny ") + d.rule);
  ASSERT_GE(got.size(), 6u);
  EXPECT_EQ(got[0], "deny a");
  EXPECT_EQ(got[1], "deny c 1:* w");
  EXPECT_EQ(got[2], "deny b 1:* w");
  EXPECT_EQ(got[3], "allow c 4:64 rwm");
  EXPECT_EQ(got[4], "allow c *:* m");
  EXPECT_NE(std::find(got.begin(), got.end(), "allow c 136:* rwm"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "allow c 10:200 rwm"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "allow c 5:1 rwm"), got.end());
  // No deny-all first: no default allow-list.
  auto plain = device_lines({rule(true, "c", 1, 3, "r")}, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->size(), 1u);
  auto bad = device_lines({rule(true, "c", 1, 3, "rx")}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().msg.find("linux.resources.devices[0]"), std::string::npos);
  EXPECT_FALSE(device_lines({rule(true, "q", 1, 3, "r")}, {}).ok());
}

struct DeviceCase {
  const char* name;
  std::vector<spec::DeviceRule> rules;
  std::vector<spec::Device> devices;
  std::vector<std::pair<int, int>> expect;  // open flags -> 0 or errno, per path below
};

const char* const kPaths[] = {"/dev/null", "/dev/zero", "/dev/kmsg"};

// Exit code: bit i set when open i returned what was expected.
int probe_opens(const std::vector<std::pair<int, int>>& expect) {
  int bits = 0;
  for (size_t i = 0; i < expect.size(); ++i)
    if (open_errno(kPaths[i], expect[i].first) == expect[i].second) bits |= 1 << i;
  return bits;
}

// Applies each case through the Manager of layout, then checks a child's
// opens inside the container's cgroup. Skips (returns true) when bpf(2) is
// refused for a v2 layout.
bool check_device_cases(const Layout& layout) {
  struct stat kmsg {};
  bool have_kmsg = ::stat("/dev/kmsg", &kmsg) == 0 && S_ISCHR(kmsg.st_mode) &&
                   major(kmsg.st_rdev) == 1 && minor(kmsg.st_rdev) == 11;
  spec::Device kmsg_dev{"/dev/kmsg", 'c', 1, 11, {}, {}, {}};
  std::vector<DeviceCase> cases = {
      {"allow all but /dev/null",
       {rule(true, "a", {}, {}, "rwm"), rule(false, "c", 1, 3, "rw")},
       {},
       {{O_WRONLY, EPERM}, {O_RDONLY, 0}, {O_RDONLY, 0}}},
      {"deny all + defaults",
       {rule(false, "", {}, {}, "rwm")},
       {},
       {{O_RDWR, 0}, {O_RDONLY, 0}, {O_RDONLY, EPERM}}},
      {"deny all + defaults + linux.devices",
       {rule(false, "", {}, {}, "rwm")},
       {kmsg_dev},
       {{O_RDWR, 0}, {O_RDONLY, 0}, {O_RDONLY, 0}}},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    if (!have_kmsg) c.expect.pop_back();
    auto g = make(layout, std::nullopt, unique_id());
    EXPECT_TRUE(g.m);
    if (!g.m) return false;
    EXPECT_TRUE(g->create().ok());
    auto st = g->apply_devices(c.rules, c.devices);
    if (!st && (st.error().code == EPERM || st.error().code == ENOSYS)) {
      std::printf("skip: bpf(2) unavailable: %s\n", st.error().msg.c_str());
      return true;
    }
    EXPECT_TRUE(st.ok()) << st.error().msg;
    if (!st) return false;
    auto expect = c.expect;
    Child child([expect] { return probe_opens(expect); });
    EXPECT_TRUE(g->add_process(child.pid()).ok());
    child.go();
    EXPECT_EQ(child.wait(), (1 << expect.size()) - 1);
  }
  return false;
}

TEST(CgroupDevices, V1RulesAreEnforced) {
  auto layout = host_layout();
  if (!find_hierarchy(layout, [](const Hierarchy& h) { return has_controller(h, "devices"); })) {
    GTEST_SKIP() << "no cgroup v1 devices hierarchy on this host";
  }
  check_device_cases(layout);
}

// The eBPF filter on the leaf, exercised on the host's cgroup2 mount even in
// hybrid mode (device programs need no enabled controller).
TEST(CgroupDevices, V2RulesAreEnforced) {
  auto layout = v2_only_layout();
  if (!layout) GTEST_SKIP() << "no cgroup2 mount on this host";
  if (check_device_cases(*layout)) GTEST_SKIP() << "bpf(2) unavailable";
}

// Hybrid without a v1 devices hierarchy falls back to the eBPF filter.
TEST(CgroupDevices, HybridWithoutV1DevicesUsesV2Filter) {
  Layout layout{Mode::kHybrid, {}};
  for (const auto& h : host_layout().hierarchies)
    if (!has_controller(h, "devices")) layout.hierarchies.push_back(h);
  if (!v2_hierarchy(layout)) GTEST_SKIP() << "no cgroup2 mount on this host";
  if (check_device_cases(layout)) GTEST_SKIP() << "bpf(2) unavailable";
}

// Number of device programs attached directly to a cgroup2 directory.
int attached_device_programs(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return -1;
  uint32_t ids[16];
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = static_cast<uint32_t>(fd.get());
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
  attr.query.prog_cnt = 16;
  if (::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) != 0) return -1;
  return static_cast<int>(attr.query.prog_cnt);
}

TEST(CgroupDevices, EmptyRulesAreANoOp) {
  auto layouts = std::vector<Layout>{host_layout()};
  if (auto v2 = v2_only_layout()) layouts.push_back(*v2);
  for (const auto& layout : layouts) {
    SCOPED_TRACE(mode_name(layout.mode));
    auto g = make(layout, std::nullopt, unique_id());
    ASSERT_TRUE(g.m);
    ASSERT_TRUE(g->create().ok());
    EXPECT_TRUE(g->apply_devices({}, {spec::Device{"/dev/kmsg", 'c', 1, 11, {}, {}, {}}}).ok());
    for (const auto& p : placed(*g.m)) {
      if (auto list = read_file(join_path(p.dir(), "devices.list"))) {
        EXPECT_EQ(*list, "a *:* rwm\n");
      }
      if (p.v2) {
        int n = attached_device_programs(p.dir());
        if (n >= 0) {
          EXPECT_EQ(n, 0) << p.dir();
        }
      }
    }
  }
}

TEST(CgroupDevices, V2InvalidRule) {
  auto layout = v2_only_layout();
  if (!layout) GTEST_SKIP() << "no cgroup2 mount on this host";
  auto g = make(*layout, std::nullopt, unique_id());
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->create().ok());
  auto st = g->apply_devices({rule(false, "", {}, {}, "rwm"), rule(true, "c", 1, 3, "rx")}, {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().msg.find("linux.resources.devices[1]"), std::string::npos) << st.error().msg;
  EXPECT_EQ(attached_device_programs(placed(*g.m)[0].dir()) > 0, false);
}

TEST(CgroupDevices, V1WithoutDevicesHierarchy) {
  Layout layout{Mode::kV1, {}};
  for (const auto& h : host_layout().hierarchies)
    if (!h.v2 && !has_controller(h, "devices")) layout.hierarchies.push_back(h);
  if (layout.hierarchies.empty()) GTEST_SKIP() << "no cgroup v1 hierarchy on this host";
  auto m = make_manager(layout, std::nullopt, unique_id());
  ASSERT_TRUE(m.ok());
  auto st = (*m)->apply_devices({rule(false, "", {}, {}, "rwm")}, {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().msg.find("no cgroup v1 devices hierarchy"), std::string::npos);
}

// ---- state ----------------------------------------------------------------

TEST(CgroupSerialize, RoundTrip) {
  auto g = make(host_layout(), std::nullopt, unique_id());
  ASSERT_TRUE(g.m);
  ASSERT_TRUE(g->create().ok());
  Child child([] {
    ::pause();
    return 0;
  });
  ASSERT_TRUE(g->add_process(child.pid()).ok());
  auto r = restore_manager(g->serialize());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_EQ((*r)->serialize(), g->serialize());
  auto pids = (*r)->pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  child.kill_and_wait();
  auto dirs = placed(*g.m);
  ASSERT_TRUE((*r)->destroy().ok());
  expect_removed(dirs);
}

TEST(CgroupSerialize, RejectsBadState) {
  for (const char* s : {"", "{", "[]", "{\"version\":1,\"mode\":\"v9\",\"dirs\":[]}",
                        "{\"version\":1,\"mode\":\"v1\",\"dirs\":[{\"mountpoint\":1}]}",
                        "{\"version\":1,\"mode\":\"v1\",\"dirs\":[]}"}) {
    auto r = restore_manager(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_TRUE(starts_with(r.error().msg, "cgroup")) << r.error().msg;
  }
  nlohmann::json escape = {{"version", 1},
                           {"mode", "v2"},
                           {"dirs",
                            {{{"mountpoint", "/sys/fs/cgroup"},
                              {"root", "/"},
                              {"v2", true},
                              {"controllers", {}},
                              {"name", ""},
                              {"path", "/nsbox/../.."},
                              {"owned", 2}}}}};
  EXPECT_FALSE(restore_manager(escape.dump()).ok());
}

// ---- concurrency ----------------------------------------------------------

TEST(CgroupConcurrent, CreateDestroyInDefaultParent) {
  auto layout = host_layout();
  std::vector<std::string> failures[2];
  std::vector<Placed> dirs[2];
  auto loop = [&](int t) {
    auto m = make_manager(layout, std::nullopt, unique_id());
    if (!m) return failures[t].push_back(m.error().msg);
    dirs[t] = placed(**m);
    for (int i = 0; i < 40; ++i) {
      if (auto st = (*m)->create(); !st) failures[t].push_back("create: " + st.error().msg);
      if (auto st = (*m)->destroy(); !st) failures[t].push_back("destroy: " + st.error().msg);
    }
  };
  std::thread a(loop, 0), b(loop, 1);
  a.join();
  b.join();
  for (const auto& f : failures) EXPECT_TRUE(f.empty()) << f.front();
  expect_removed(dirs[0]);
  expect_removed(dirs[1]);
}

}  // namespace
}  // namespace nsbox::cgroup
