// cgroup v2 device filter: the generated eBPF program is checked by a small
// interpreter against a reference model of the rule semantics (host
// independent), then loaded into the kernel and attached to a cgroup on the
// host's cgroup2 mount, where a forked child's opens and mknods show what it
// enforces. Kernel tests skip when bpf(2) is refused (EPERM/ENOSYS) or no
// cgroup2 hierarchy is mounted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup/device_filter.h"
#include "cgroup/devices.h"
#include "common/fd.h"
#include "common/util.h"

namespace nsbox::cgroup {
namespace {

constexpr int kM = BPF_DEVCG_ACC_MKNOD, kR = BPF_DEVCG_ACC_READ, kW = BPF_DEVCG_ACC_WRITE;
constexpr int kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;

DeviceAccessRule R(bool allow, char type, int64_t major, int64_t minor, std::string access) {
  return DeviceAccessRule{allow, type, major, minor, std::move(access)};
}

// ---- interpreter for the instructions the generator emits -----------------

struct Request {
  int type;    // kChar / kBlock
  int access;  // kM|kR|kW bits
  uint32_t major, minor;
};

// Static checks the verifier also makes: jumps stay inside the program, every
// instruction is reachable, no path runs off the end.
std::string check_cfg(const std::vector<bpf_insn>& p) {
  std::vector<bool> seen(p.size(), false);
  std::vector<size_t> todo = {0};
  while (!todo.empty()) {
    size_t pc = todo.back();
    todo.pop_back();
    if (pc >= p.size()) return "falls off the end";
    if (seen[pc]) continue;
    seen[pc] = true;
    const auto& i = p[pc];
    if (i.code == (BPF_JMP | BPF_EXIT)) continue;
    todo.push_back(pc + 1);
    if (BPF_CLASS(i.code) == BPF_JMP) {
      if (i.off < 0) return "backward jump at " + std::to_string(pc);
      todo.push_back(pc + 1 + i.off);
    }
  }
  for (size_t pc = 0; pc < p.size(); ++pc)
    if (!seen[pc]) return "unreachable insn " + std::to_string(pc);
  return "";
}

// R0 at exit, or -1 on anything the generator is not supposed to emit.
int run(const std::vector<bpf_insn>& p, const Request& q) {
  const uint32_t ctx[3] = {static_cast<uint32_t>(q.access << 16 | q.type), q.major, q.minor};
  uint64_t reg[11] = {};
  bool init[11] = {};
  bool r1_is_ctx = true;
  init[1] = true;
  auto set = [&](int r, uint64_t v) {
    reg[r] = v;
    init[r] = true;
    if (r == 1) r1_is_ctx = false;
  };
  for (size_t pc = 0; pc < p.size(); ++pc) {
    const auto& i = p[pc];
    int d = i.dst_reg, s = i.src_reg;
    int64_t imm = i.imm;  // sign-extended, as the kernel does
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        if (s != 1 || !r1_is_ctx || i.off < 0 || i.off % 4 != 0 || i.off > 8) return -1;
        set(d, ctx[i.off / 4]);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        if (!init[d]) return -1;
        set(d, static_cast<uint32_t>(reg[d]) & static_cast<uint32_t>(i.imm));
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        if (!init[d]) return -1;
        set(d, static_cast<uint32_t>(reg[d]) >> i.imm);
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        if (!init[s] || (s == 1 && r1_is_ctx)) return -1;
        set(d, static_cast<uint32_t>(reg[s]));
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        set(d, static_cast<uint64_t>(imm));
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
      case BPF_JMP | BPF_JEQ | BPF_K: {
        if (!init[d] || (d == 1 && r1_is_ctx)) return -1;
        bool eq = reg[d] == static_cast<uint64_t>(imm);
        if (eq == (BPF_OP(i.code) == BPF_JEQ)) pc += i.off;
        break;
      }
      case BPF_JMP | BPF_EXIT:
        return init[0] ? static_cast<int>(reg[0]) : -1;
      default:
        return -1;
    }
  }
  return -1;
}

// The documented semantics: each requested bit is decided by the last rule
// matching the device and the bit; undecided bits deny.
bool model(const std::vector<DeviceAccessRule>& rules, const Request& q) {
  for (int bit : {kM, kR, kW}) {
    if (!(q.access & bit)) continue;
    bool allowed = false;
    for (size_t i = rules.size(); i-- > 0;) {
      const auto& r = rules[i];
      int bits = (r.access.find('m') != std::string::npos ? kM : 0) |
                 (r.access.find('r') != std::string::npos ? kR : 0) |
                 (r.access.find('w') != std::string::npos ? kW : 0);
      bool type_ok = r.type == 'a' || (r.type == 'c') == (q.type == kChar);
      if (type_ok && (r.major < 0 || r.major == q.major) && (r.minor < 0 || r.minor == q.minor) &&
          (bits & bit)) {
        allowed = r.allow;
        break;
      }
    }
    if (!allowed) return false;
  }
  return true;
}

std::vector<bpf_insn> compile(const std::vector<DeviceAccessRule>& rules) {
  auto p = device_filter_program(rules);
  EXPECT_TRUE(p.ok()) << (p ? "" : p.error().msg);
  if (!p) return {};
  EXPECT_EQ(check_cfg(*p), "");
  return *p;
}

constexpr size_t kPrologue = 6;

TEST(CgroupDeviceFilter, EmptyListDeniesEverything) {
  auto p = compile({});
  EXPECT_EQ(p.size(), kPrologue + 2);
  EXPECT_EQ(run(p, {kChar, kR, 1, 3}), 0);
  EXPECT_EQ(run(p, {kBlock, kM, 8, 0}), 0);
}

TEST(CgroupDeviceFilter, InstructionCounts) {
  // A catch-all rule ends the program: what comes before it is unreachable.
  auto deny_all = compile({R(true, 'c', 1, 3, "rwm"), R(false, 'a', -1, -1, "rwm")});
  EXPECT_EQ(deny_all.size(), kPrologue + 2);
  EXPECT_EQ(run(deny_all, {kChar, kR, 1, 3}), 0);
  auto allow_all = compile({R(false, 'a', -1, -1, "rwm"), R(true, 'a', -1, -1, "rwm")});
  EXPECT_EQ(allow_all.size(), kPrologue + 2);
  EXPECT_EQ(run(allow_all, {kBlock, kW, 8, 1}), 1);
  // type + major + minor + verdict; a partial allow adds the access tests.
  EXPECT_EQ(compile({R(true, 'c', 1, 3, "rwm")}).size(), kPrologue + 5 + 2);
  EXPECT_EQ(compile({R(false, 'b', -1, -1, "w")}).size(), kPrologue + 6 + 2);
  EXPECT_EQ(compile({R(true, 'a', 4, -1, "r")}).size(), kPrologue + 8 + 2);
  // runc's default list (what `nsbox spec` asks for): bounded, and the
  // leading deny-all costs 2 instructions instead of the default tail.
  auto rules = device_rules({spec::DeviceRule{false, "a", {}, {}, "rwm"}}, {});
  ASSERT_TRUE(rules.ok());
  auto p = compile(*rules);
  EXPECT_GT(p.size(), kPrologue + 4 * (rules->size() - 1));
  EXPECT_LE(p.size(), kPrologue + 9 * rules->size());
  EXPECT_EQ(p.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(p[p.size() - 2].imm, 0) << "ends with the deny-all";
}

TEST(CgroupDeviceFilter, LastMatchingRuleWins) {
  std::vector<DeviceAccessRule> rules = {R(true, 'a', -1, -1, "rwm"), R(false, 'c', 1, 3, "w")};
  auto p = compile(rules);
  EXPECT_EQ(run(p, {kChar, kR, 1, 3}), 1);
  EXPECT_EQ(run(p, {kChar, kW, 1, 3}), 0);
  EXPECT_EQ(run(p, {kChar, kR | kW, 1, 3}), 0) << "O_RDWR needs both bits";
  EXPECT_EQ(run(p, {kChar, kW, 1, 5}), 1);
  EXPECT_EQ(run(p, {kBlock, kW, 1, 3}), 1);
  std::swap(rules[0], rules[1]);  // now the allow-all is last
  p = compile(rules);
  EXPECT_EQ(run(p, {kChar, kW, 1, 3}), 1);
  // Bits granted by separate rules add up, as v1 merges them.
  p = compile({R(false, 'a', -1, -1, "rwm"), R(true, 'c', 1, 3, "r"), R(true, 'c', 1, 3, "w")});
  EXPECT_EQ(run(p, {kChar, kR | kW, 1, 3}), 1);
  EXPECT_EQ(run(p, {kChar, kR | kW | kM, 1, 3}), 0);
  EXPECT_EQ(run(p, {kChar, kR, 1, 5}), 0);
  // A wildcard deny after specific allows overrides them.
  p = compile({R(true, 'c', 1, 3, "rwm"), R(false, 'c', 1, -1, "r")});
  EXPECT_EQ(run(p, {kChar, kR, 1, 3}), 0);
  EXPECT_EQ(run(p, {kChar, kW, 1, 3}), 1);
}

TEST(CgroupDeviceFilter, MatchesModelOnRandomRuleLists) {
  std::mt19937 rng(12345);
  const char* const kAccess[] = {"r", "w", "m", "rw", "rm", "wm", "rwm"};
  const char kTypes[] = {'a', 'c', 'b'};
  const int64_t kMajors[] = {-1, 1, 5}, kMinors[] = {-1, 3, 5};
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  for (int list = 0; list < 400; ++list) {
    std::vector<DeviceAccessRule> rules;
    int n = pick(7);
    for (int i = 0; i < n; ++i) {
      char type = kTypes[pick(3)];
      rules.push_back(R(pick(2) == 0, type, kMajors[pick(3)], kMinors[pick(3)], kAccess[pick(7)]));
    }
    auto p = compile(rules);
    ASSERT_FALSE(p.empty());
    for (int type : {kChar, kBlock})
      for (uint32_t major : {1u, 5u, 7u})
        for (uint32_t minor : {3u, 5u, 9u})
          for (int access = 1; access <= 7; ++access) {
            Request q{type, access, major, minor};
            ASSERT_EQ(run(p, q), model(rules, q) ? 1 : 0)
                << "list " << list << " type " << type << " " << major << ":" << minor << " access "
                << access;
          }
  }
}

TEST(CgroupDeviceFilter, OutOfRangeNumbersAndBadRules) {
  // A major no device can have matches nothing: the rule is dropped.
  auto p = compile({R(true, 'a', -1, -1, "rwm"), R(false, 'c', int64_t{1} << 40, -1, "rwm")});
  EXPECT_EQ(p.size(), kPrologue + 2);
  EXPECT_EQ(run(p, {kChar, kR, 1, 3}), 1);
  auto bad = device_filter_program({R(true, 'c', 1, 3, "rx")});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().msg.find("device rule 0"), std::string::npos) << bad.error().msg;
  EXPECT_FALSE(device_filter_program({R(true, 'q', 1, 3, "r")}).ok());
  EXPECT_FALSE(device_filter_program({R(true, 'c', 1, 3, "")}).ok());
}

// ---- in the kernel ----------------------------------------------------------

std::string unique_name() {
  static std::atomic<int> n{0};
  return "ut-devfilter-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

std::optional<std::string> cgroup2_mount() {
  auto l = probe();
  if (!l) return std::nullopt;
  for (const auto& h : l->hierarchies)
    if (h.v2) return h.mountpoint;
  return std::nullopt;
}

// A fresh cgroup directly below the cgroup2 mount; removed on destruction.
class TestCgroup {
 public:
  explicit TestCgroup(const std::string& mount) : path_(join_path(mount, unique_name())) {
    if (::mkdir(path_.c_str(), 0755) != 0) return;
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  ~TestCgroup() {
    fd_.reset();
    ::rmdir(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
};

// One thing the child tries: open(path, flags) or, with mknod_dev set,
// mknod of a character device node; expect 0 or an errno.
struct Probe {
  Probe(std::string p, int f, int e, std::optional<dev_t> dev = std::nullopt)
      : path(std::move(p)), flags(f), expect(e), mknod_dev(dev) {}
  std::string path;
  int flags;
  int expect;
  std::optional<dev_t> mknod_dev;
};

int attempt(const Probe& p) {
  if (p.mknod_dev) {
    if (::mknod(p.path.c_str(), S_IFCHR | 0600, *p.mknod_dev) != 0) return errno;
    ::unlink(p.path.c_str());
    return 0;
  }
  int fd = ::open(p.path.c_str(), p.flags | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// Runs probes in a child moved into cg; returns "" or what went wrong.
std::string run_in(const TestCgroup& cg, const std::vector<Probe>& probes) {
  int go[2], res[2];
  if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(res, O_CLOEXEC) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(1);
    for (const auto& p : probes) {
      int got = attempt(p);
      if (::write(res[1], &got, sizeof(got)) != sizeof(got)) ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(res[1]);
  auto joined = write_file(join_path(cg.path(), "cgroup.procs"), std::to_string(pid));
  if (joined) (void)!::write(go[1], "g", 1);
  ::close(go[1]);
  std::string out;
  for (const auto& p : probes) {
    int got = -1;
    if (!joined || ::read(res[0], &got, sizeof(got)) != sizeof(got)) break;
    if (got != p.expect) {
      out += p.path + (p.mknod_dev ? " mknod" : " open flags " + std::to_string(p.flags)) +
             ": expected " + std::strerror(p.expect) + ", got " + std::strerror(got) + "; ";
    }
  }
  ::close(res[0]);
  if (!joined) ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  if (!joined) return "join cgroup: " + joined.error().msg;
  return out;
}

bool bpf_refused(const Status& st) {
  return !st && (st.error().code == EPERM || st.error().code == ENOSYS);
}

std::vector<uint32_t> attached(int cgroup_fd) {
  std::vector<uint32_t> ids(64);
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) != 0) return {};
  ids.resize(attr.query.prog_cnt);
  return ids;
}

#define REQUIRE_CGROUP2(mount)  \
  auto mount = cgroup2_mount(); \
  if (!mount) GTEST_SKIP() << "no cgroup2 hierarchy mounted on this host"

#define ATTACH_OR_SKIP(cg, rules)                                             \
  do {                                                                        \
    ASSERT_GE((cg).fd(), 0) << "mkdir/open " << (cg).path();                  \
    auto st_ = attach_device_filter((cg).fd(), (rules));                      \
    if (bpf_refused(st_)) {                                                   \
      std::printf("skip: bpf(2) unavailable: %s\n", st_.error().msg.c_str()); \
      GTEST_SKIP() << st_.error().msg;                                        \
    }                                                                         \
    ASSERT_TRUE(st_.ok()) << st_.error().msg;                                 \
  } while (0)

TEST(CgroupDeviceFilterKernel, LastRuleWinsPerAccessBit) {
  REQUIRE_CGROUP2(mount);
  {
    TestCgroup cg(*mount);
    ATTACH_OR_SKIP(cg, (std::vector{R(true, 'a', -1, -1, "rwm"), R(false, 'c', 1, 3, "w")}));
    EXPECT_EQ(attached(cg.fd()).size(), 1u);
    EXPECT_EQ(run_in(cg, {{"/dev/null", O_WRONLY, EPERM},
                          {"/dev/null", O_RDWR, EPERM},
                          {"/dev/null", O_RDONLY, 0},
                          {"/dev/zero", O_RDWR, 0}}),
              "");
  }
  {
    TestCgroup cg(*mount);
    ATTACH_OR_SKIP(cg, (std::vector{R(false, 'c', 1, 3, "w"), R(true, 'a', -1, -1, "rwm")}));
    EXPECT_EQ(run_in(cg, {{"/dev/null", O_RDWR, 0}, {"/dev/zero", O_RDONLY, 0}}), "");
  }
  {
    TestCgroup cg(*mount);
    ATTACH_OR_SKIP(cg, (std::vector{R(false, 'a', -1, -1, "rwm"), R(true, 'c', 1, 3, "r"),
                                    R(true, 'c', 1, 3, "w")}));
    EXPECT_EQ(run_in(cg, {{"/dev/null", O_RDWR, 0},
                          {"/dev/zero", O_RDONLY, EPERM},
                          {"/dev/full", O_WRONLY, EPERM}}),
              "");
  }
}

TEST(CgroupDeviceFilterKernel, DefaultAllowListAndLinuxDevices) {
  REQUIRE_CGROUP2(mount);
  std::vector<spec::DeviceRule> deny_all = {spec::DeviceRule{false, "", {}, {}, "rwm"}};
  auto dir = ::testing::TempDir() + unique_name();
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::string node = dir + "/node";
  for (bool with_kmsg : {false, true}) {
    SCOPED_TRACE(with_kmsg ? "linux.devices: /dev/kmsg" : "defaults only");
    std::vector<spec::Device> devices;
    if (with_kmsg) devices.push_back(spec::Device{"/dev/kmsg", 'c', 1, 11, {}, {}, {}});
    auto rules = device_rules(deny_all, devices);
    ASSERT_TRUE(rules.ok());
    TestCgroup cg(*mount);
    ATTACH_OR_SKIP(cg, *rules);
    std::vector<Probe> probes = {{"/dev/null", O_RDWR, 0},
                                 {"/dev/zero", O_RDONLY, 0},
                                 {"/dev/full", O_WRONLY, 0},
                                 {node, 0, 0, makedev(1, 3)},
                                 {node, 0, 0, makedev(42, 42)}};  // mknod of any char device
    struct stat st {};
    if (::stat("/dev/kmsg", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 11)) {
      probes.push_back({"/dev/kmsg", O_RDONLY, with_kmsg ? 0 : EPERM});
    }
    EXPECT_EQ(run_in(cg, probes), "");
  }
  ::rmdir(dir.c_str());
}

TEST(CgroupDeviceFilterKernel, MknodNeedsTheMBit) {
  REQUIRE_CGROUP2(mount);
  auto dir = ::testing::TempDir() + unique_name();
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  TestCgroup cg(*mount);
  ATTACH_OR_SKIP(cg, (std::vector{R(false, 'a', -1, -1, "rwm"), R(true, 'c', 1, 3, "rw"),
                                  R(true, 'c', 1, 5, "m")}));
  EXPECT_EQ(run_in(cg, {{dir + "/null", 0, EPERM, makedev(1, 3)},
                        {dir + "/zero", 0, 0, makedev(1, 5)},
                        {"/dev/null", O_RDWR, 0}}),
            "");
  ::rmdir(dir.c_str());
}

TEST(CgroupDeviceFilterKernel, AttachingAgainReplacesTheFilter) {
  REQUIRE_CGROUP2(mount);
  TestCgroup cg(*mount);
  ATTACH_OR_SKIP(cg, (std::vector{R(false, 'a', -1, -1, "rwm")}));
  auto first = attached(cg.fd());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(run_in(cg, {{"/dev/null", O_RDONLY, EPERM}}), "");
  ATTACH_OR_SKIP(cg, (std::vector{R(true, 'a', -1, -1, "rwm")}));
  auto second = attached(cg.fd());
  ASSERT_EQ(second.size(), 1u) << "the previous program is detached";
  EXPECT_NE(second[0], first[0]);
  EXPECT_EQ(run_in(cg, {{"/dev/null", O_RDWR, 0}}), "");
}

TEST(CgroupDeviceFilterKernel, BadDirectoryFd) {
  auto st = attach_device_filter(-1, {R(true, 'a', -1, -1, "rwm")});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().msg.find("bpf("), std::string::npos) << st.error().msg;
}

}  // namespace
}  // namespace nsbox::cgroup
