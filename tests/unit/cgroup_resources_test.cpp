// linux.resources applied through cgroup::Manager::apply_resources. The tests
// run as root against the real /sys/fs/cgroup: CgroupResources.* on the host
// layout (v1, v2 or hybrid), CgroupResourcesV2.* on a layout holding only the
// host's cgroup2 mount (pure-v2 code paths; tests/v2-tests.txt runs them in a
// pure cgroup v2 guest too). A test needing a controller the host lacks skips
// with the reason.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup/resources_internal.h"
#include "cgroup_test_util.h"
#include "common/util.h"
#include "spec/config.h"

namespace nsbox::cgroup {
namespace {

using testing::exists;
using testing::host_layout;
using testing::v2_only_layout;

std::string unique_name() {
  static std::atomic<int> n{0};
  return "nsbox-ut-res-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

const Hierarchy* v2_hierarchy(const Layout& l) {
  for (const auto& h : l.hierarchies)
    if (h.v2) return &h;
  return nullptr;
}

bool offers(const Hierarchy& h, const std::string& c) {
  return std::find(h.controllers.begin(), h.controllers.end(), c) != h.controllers.end();
}

// The parsed linux.resources object of json (the parser's own checks apply).
spec::Resources res(const std::string& json) {
  auto r = spec::parse_resources(json, "linux.resources");
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().msg) << " in " << json;
  return r ? *r : spec::Resources{};
}

// A created container cgroup, destroyed even when an assertion fails first.
class Cg {
 public:
  explicit Cg(const Layout& layout, const std::string& path = "") {
    std::string p = path.empty() ? "/" + unique_name() : path;
    auto m = make_manager(layout, p, "ut");
    EXPECT_TRUE(m.ok()) << (m ? "" : m.error().msg);
    if (!m) return;
    m_ = std::move(m).value();
    auto st = m_->create();
    EXPECT_TRUE(st.ok()) << (st ? "" : st.error().msg);
    if (!st) m_.reset();
    auto j = nlohmann::json::parse(m_ ? m_->serialize() : "{\"dirs\":[]}");
    for (const auto& d : j.at("dirs")) {
      dirs_.push_back(
          Dir{join_path(d.at("mountpoint").get<std::string>(), d.at("path").get<std::string>()),
              d.at("v2"), d.at("controllers")});
    }
  }
  ~Cg() {
    if (m_) {
      auto st = m_->destroy();
      EXPECT_TRUE(st.ok()) << (st ? "" : st.error().msg);
    }
  }
  Cg(const Cg&) = delete;
  Cg& operator=(const Cg&) = delete;

  bool ok() const { return m_ != nullptr; }
  Manager* operator->() { return m_.get(); }

  Status apply(const std::string& json) { return m_->apply_resources(res(json)); }

  // The directory serving controller (v1 first, as controllers.h routes).
  std::string dir(const std::string& controller) const {
    for (const auto& d : dirs_)
      if (!d.v2 && std::count(d.controllers.begin(), d.controllers.end(), controller))
        return d.path;
    for (const auto& d : dirs_)
      if (d.v2 && std::count(d.controllers.begin(), d.controllers.end(), controller)) return d.path;
    return "";
  }
  bool v2(const std::string& controller) const {
    for (const auto& d : dirs_)
      if (!d.v2 && std::count(d.controllers.begin(), d.controllers.end(), controller)) return false;
    return !dir(controller).empty();
  }
  std::string v2_dir() const {
    for (const auto& d : dirs_)
      if (d.v2) return d.path;
    return "";
  }
  // Trimmed content of a control file of controller's directory.
  std::string read(const std::string& controller, const std::string& file) const {
    auto t = read_file(join_path(dir(controller), file));
    EXPECT_TRUE(t.ok()) << (t ? "" : t.error().msg);
    return t ? trim(*t) : "";
  }

 private:
  struct Dir {
    std::string path;
    bool v2 = false;
    std::vector<std::string> controllers;
  };
  std::unique_ptr<Manager> m_;
  std::vector<Dir> dirs_;
};

// The error of st, or "" (with a failure) when it succeeded.
std::string err(const Status& st) {
  EXPECT_FALSE(st.ok()) << "expected an error";
  return st ? "" : st.error().msg;
}

#define EXPECT_OK(expr)                                    \
  do {                                                     \
    const auto& st_ = (expr);                              \
    EXPECT_TRUE(st_.ok()) << (st_ ? "" : st_.error().msg); \
  } while (0)
#define ASSERT_OK(expr)                                    \
  do {                                                     \
    const auto& st_ = (expr);                              \
    ASSERT_TRUE(st_.ok()) << (st_ ? "" : st_.error().msg); \
  } while (0)

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// A whole block device ("major:minor") for throttle rules: the disk holding
// "/" when that is one, else the first entry of /sys/block.
std::string block_device() {
  struct stat st {};
  if (::stat("/", &st) == 0 && major(st.st_dev) != 0) {
    std::string sys = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                      std::to_string(minor(st.st_dev));
    if (exists(sys + "/partition")) {
      if (auto t = read_file(sys + "/../dev")) return trim(*t);
    } else if (exists(sys)) {
      return std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/block", ec)) {
    if (auto t = read_file(e.path().string() + "/dev")) return trim(*t);
  }
  return "";
}

std::pair<std::string, std::string> split_dev(const std::string& dev) {
  auto c = dev.find(':');
  return {dev.substr(0, c), dev.substr(c + 1)};
}

bool has_2mb_hugepages() { return exists("/sys/kernel/mm/hugepages/hugepages-2048kB"); }

// ---- pure conversions ----

TEST(CgroupResources, SharesToWeight) {
  EXPECT_EQ(cpu_shares_to_weight(0), 0u);  // unset: nothing written
  EXPECT_EQ(cpu_shares_to_weight(1), 1u);
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 100u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(cpu_shares_to_weight(1u << 20), 10000u);
  // 10^((l*l + 125*l)/612 - 7/34) rounded up, l = log2(shares).
  EXPECT_EQ(cpu_shares_to_weight(512), 59u);
  EXPECT_EQ(cpu_shares_to_weight(2048), 174u);
  EXPECT_EQ(cpu_shares_to_weight(100), 17u);
  // Monotonic over the v1 range.
  uint64_t prev = 0;
  for (uint64_t s = 2; s <= 262144; s = s * 3 / 2 + 1) {
    uint64_t w = cpu_shares_to_weight(s);
    EXPECT_GE(w, prev) << s;
    EXPECT_GE(w, 1u);
    EXPECT_LE(w, 10000u);
    prev = w;
  }
}

TEST(CgroupResources, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(0), 0u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(100), 910u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupResources, SwapMaxValue) {
  auto v = [](int64_t swap, int64_t memory) -> std::string {
    auto r = swap_max_value(swap, memory);
    if (!r) return "error: " + r.error().msg;
    return *r ? **r : "unset";
  };
  EXPECT_EQ(v(0, -1), "max");  // memory unlimited, swap unset: both unlimited
  EXPECT_EQ(v(-1, 1000), "max");
  EXPECT_EQ(v(-1, -1), "max");
  EXPECT_EQ(v(0, 1000), "unset");
  EXPECT_EQ(v(0, 0), "unset");
  EXPECT_EQ(v(3000, 1000), "2000");
  EXPECT_EQ(v(1000, 1000), "0");
  EXPECT_EQ(v(2000, 0), "error: unable to set swap limit without memory limit");
  EXPECT_EQ(v(2000, -1), "error: unable to set swap limit without memory limit");
  EXPECT_HAS(v(500, 1000), "error: memory+swap limit 500 is lower than memory limit 1000");
}

TEST(CgroupResources, HugepageSizeName) {
  EXPECT_EQ(hugepage_size_name(2048), "2MB");
  EXPECT_EQ(hugepage_size_name(1048576), "1GB");
  EXPECT_EQ(hugepage_size_name(64), "64KB");
  EXPECT_EQ(hugepage_size_name(32768), "32MB");
}

// ---- the host layout ----

TEST(CgroupResources, NothingSetWritesNothing) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  EXPECT_OK(cg.apply("{}"));
  EXPECT_OK(cg.apply(R"({"memory": {"checkBeforeUpdate": true}, "hugepageLimits": []})"));
}

TEST(CgroupResources, MemoryV1) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("memory").empty() || cg.v2("memory")) GTEST_SKIP() << "no cgroup v1 memory controller";
  bool memsw = exists(cg.dir("memory") + "/memory.memsw.limit_in_bytes");
  ASSERT_OK(cg.apply(R"({"memory": {"limit": 33554432, "reservation": 16777216,
                                   "swappiness": 30, "disableOOMKiller": true,
                                   "useHierarchy": true, "kernel": 1048576}})"));
  EXPECT_EQ(cg.read("memory", "memory.limit_in_bytes"), "33554432");
  EXPECT_EQ(cg.read("memory", "memory.soft_limit_in_bytes"), "16777216");
  EXPECT_EQ(cg.read("memory", "memory.swappiness"), "30");
  EXPECT_HAS(cg.read("memory", "memory.oom_control"), "oom_kill_disable 1");
  EXPECT_EQ(cg.read("memory", "memory.use_hierarchy"), "1");
  ASSERT_OK(cg.apply(R"({"memory": {"disableOOMKiller": false}})"));
  EXPECT_HAS(cg.read("memory", "memory.oom_control"), "oom_kill_disable 0");
  EXPECT_EQ(cg.read("memory", "memory.limit_in_bytes"), "33554432");  // untouched

  if (!memsw) GTEST_SKIP() << "no swap accounting (memory.memsw.limit_in_bytes)";
  ASSERT_OK(cg.apply(R"({"memory": {"limit": 33554432, "swap": 67108864}})"));
  EXPECT_EQ(cg.read("memory", "memory.memsw.limit_in_bytes"), "67108864");
  // Raising both: memory above the old memory+swap needs memsw written first.
  ASSERT_OK(cg.apply(R"({"memory": {"limit": 134217728, "swap": 268435456}})"));
  EXPECT_EQ(cg.read("memory", "memory.limit_in_bytes"), "134217728");
  EXPECT_EQ(cg.read("memory", "memory.memsw.limit_in_bytes"), "268435456");
  // Lowering both: memory first.
  ASSERT_OK(cg.apply(R"({"memory": {"limit": 16777216, "swap": 16777216}})"));
  EXPECT_EQ(cg.read("memory", "memory.limit_in_bytes"), "16777216");
  EXPECT_EQ(cg.read("memory", "memory.memsw.limit_in_bytes"), "16777216");
  // Unlimited memory with swap unset: memory+swap becomes unlimited too.
  ASSERT_OK(cg.apply(R"({"memory": {"limit": -1}})"));
  std::string unlimited = cg.read("memory", "memory.limit_in_bytes");
  EXPECT_GT(unlimited.size(), 15u) << unlimited;
  EXPECT_EQ(cg.read("memory", "memory.memsw.limit_in_bytes"), unlimited);
  // memory+swap below memory is refused by the kernel: a write error naming the field.
  auto e = err(cg.apply(R"({"memory": {"limit": 33554432, "swap": 16777216}})"));
  EXPECT_HAS(e, "linux.resources.memory.swap: write memory.memsw.limit_in_bytes \"16777216\": ");
  EXPECT_HAS(e, std::strerror(EINVAL));
}

TEST(CgroupResources, MemoryWriteErrorNamesFieldFileAndValue) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("memory").empty() || cg.v2("memory")) GTEST_SKIP() << "no cgroup v1 memory controller";
  // use_hierarchy can no longer be turned off (kernel 6.x): EINVAL.
  auto st = cg.apply(R"({"memory": {"useHierarchy": false}})");
  if (st) GTEST_SKIP() << "this kernel still accepts memory.use_hierarchy 0";
  EXPECT_HAS(st.error().msg,
             "linux.resources.memory.useHierarchy: write memory.use_hierarchy \"0\": ");
}

TEST(CgroupResources, CpuV1AndUpdateKeepsPeriod) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("cpu").empty() || cg.v2("cpu")) GTEST_SKIP() << "no cgroup v1 cpu controller";
  ASSERT_OK(cg.apply(R"({"cpu": {"shares": 512, "period": 50000, "quota": 25000}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.shares"), "512");
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_period_us"), "50000");
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_quota_us"), "25000");
  // update with quota alone leaves the period.
  ASSERT_OK(cg.apply(R"({"cpu": {"quota": 10000}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_quota_us"), "10000");
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_period_us"), "50000");
  ASSERT_OK(cg.apply(R"({"cpu": {"period": 200000}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_period_us"), "200000");
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_quota_us"), "10000");
  ASSERT_OK(cg.apply(R"({"cpu": {"quota": -1}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.cfs_quota_us"), "-1");
  if (exists(cg.dir("cpu") + "/cpu.cfs_burst_us")) {
    ASSERT_OK(cg.apply(R"({"cpu": {"quota": 20000, "burst": 5000}})"));
    EXPECT_EQ(cg.read("cpu", "cpu.cfs_burst_us"), "5000");
  }
  // The kernel clamps shares silently: read back, refused like runc.
  EXPECT_EQ(err(cg.apply(R"({"cpu": {"shares": 300000}})")),
            "linux.resources.cpu.shares: the maximum allowed cpu-shares is 262144");
  EXPECT_EQ(err(cg.apply(R"({"cpu": {"shares": 1}})")),
            "linux.resources.cpu.shares: the minimum allowed cpu-shares is 2");
  if (exists(cg.dir("cpu") + "/cpu.idle")) {
    ASSERT_OK(cg.apply(R"({"cpu": {"idle": 1}})"));
    EXPECT_EQ(cg.read("cpu", "cpu.idle"), "1");
    // An idle group refuses shares (EINVAL): a write error naming the field.
    EXPECT_EQ(err(cg.apply(R"({"cpu": {"shares": 100}})")),
              std::string("linux.resources.cpu.shares: write cpu.shares \"100\": ") +
                  std::strerror(EINVAL));
  }
}

TEST(CgroupResources, CpuRealtimeV1) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("cpu").empty() || cg.v2("cpu")) GTEST_SKIP() << "no cgroup v1 cpu controller";
  if (!exists(cg.dir("cpu") + "/cpu.rt_runtime_us")) {
    EXPECT_HAS(err(cg.apply(R"({"cpu": {"realtimeRuntime": 10000}})")),
               "linux.resources.cpu.realtimeRuntime: not available on this host");
    return;
  }
  ASSERT_OK(cg.apply(R"({"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 10000}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.rt_period_us"), "500000");
  EXPECT_EQ(cg.read("cpu", "cpu.rt_runtime_us"), "10000");
  ASSERT_OK(cg.apply(R"({"cpu": {"realtimeRuntime": 0}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.rt_runtime_us"), "0");
}

TEST(CgroupResources, Cpuset) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("cpuset").empty()) GTEST_SKIP() << "no cpuset controller";
  ASSERT_OK(cg.apply(R"({"cpu": {"cpus": "0", "mems": "0"}})"));
  EXPECT_EQ(cg.read("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(cg.read("cpuset", "cpuset.mems"), "0");
  auto e = err(cg.apply(R"({"cpu": {"cpus": "100000"}})"));
  EXPECT_HAS(e, "linux.resources.cpu.cpus: write cpuset.cpus \"100000\": ");
}

TEST(CgroupResources, Pids) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("pids").empty()) GTEST_SKIP() << "no pids controller";
  ASSERT_OK(cg.apply(R"({"pids": {"limit": 0}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "0");
  ASSERT_OK(cg.apply(R"({"pids": {"limit": 42}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "42");
  ASSERT_OK(cg.apply(R"({"pids": {"limit": -1}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "max");
}

TEST(CgroupResources, BlockIoThrottle) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  std::string dev = block_device();
  if (dev.empty()) GTEST_SKIP() << "no block device found";
  bool v1 = !cg.dir("blkio").empty();
  if (!v1 && cg.dir("io").empty()) GTEST_SKIP() << "no blkio or io controller";
  auto [maj, min] = split_dev(dev);
  auto entry = [&, maj = maj, min = min](uint64_t rate) {
    return R"({"major": )" + maj + R"(, "minor": )" + min + R"(, "rate": )" + std::to_string(rate) +
           "}";
  };
  ASSERT_OK(cg.apply(R"({"blockIO": {"throttleReadBpsDevice": [)" + entry(1048576) +
                     R"(], "throttleWriteBpsDevice": [)" + entry(2097152) +
                     R"(], "throttleReadIOPSDevice": [)" + entry(100) +
                     R"(], "throttleWriteIOPSDevice": [)" + entry(200) + "]}}"));
  if (v1) {
    EXPECT_EQ(cg.read("blkio", "blkio.throttle.read_bps_device"), dev + " 1048576");
    EXPECT_EQ(cg.read("blkio", "blkio.throttle.write_bps_device"), dev + " 2097152");
    EXPECT_EQ(cg.read("blkio", "blkio.throttle.read_iops_device"), dev + " 100");
    EXPECT_EQ(cg.read("blkio", "blkio.throttle.write_iops_device"), dev + " 200");
  } else {
    EXPECT_HAS(cg.read("io", "io.max"), dev + " rbps=1048576 wbps=2097152 riops=100 wiops=200");
  }
  // A device that does not exist: the kernel's refusal names the array entry.
  auto e = err(cg.apply(
      R"({"blockIO": {"throttleReadBpsDevice": [{"major": 4000, "minor": 0, "rate": 1}]}})"));
  EXPECT_HAS(e, "linux.resources.blockIO.throttleReadBpsDevice[0]: write ");
}

TEST(CgroupResources, BlockIoWeight) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("blkio").empty() || cg.v2("blkio")) GTEST_SKIP() << "no cgroup v1 blkio controller";
  std::string d = cg.dir("blkio");
  bool cfq = exists(d + "/blkio.weight");
  bool bfq = exists(d + "/blkio.bfq.weight");
  auto st = cg.apply(R"({"blockIO": {"weight": 500}})");
  if (!cfq && !bfq) {
    EXPECT_HAS(err(st),
               "linux.resources.blockIO.weight: not available on this host (the blkio "
               "controller has neither blkio.weight nor blkio.bfq.weight)");
  } else {
    ASSERT_OK(st);
    std::string got = cg.read("blkio", cfq ? "blkio.weight" : "blkio.bfq.weight");
    EXPECT_TRUE(got == "500" || got == "default 500") << got;
  }
  if (!exists(d + "/blkio.leaf_weight")) {
    EXPECT_HAS(err(cg.apply(R"({"blockIO": {"leafWeight": 500}})")),
               "linux.resources.blockIO.leafWeight: not available on this host (the blkio "
               "controller has no blkio.leaf_weight)");
  }
}

TEST(CgroupResources, Hugetlb2MB) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("hugetlb").empty()) GTEST_SKIP() << "no hugetlb controller";
  if (!has_2mb_hugepages()) GTEST_SKIP() << "no 2MB hugepages on this host";
  ASSERT_OK(cg.apply(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]})"));
  bool v2 = cg.v2("hugetlb");
  std::string file = v2 ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes";
  EXPECT_EQ(cg.read("hugetlb", file), "4194304");
  std::string rsvd = v2 ? "hugetlb.2MB.rsvd.max" : "hugetlb.2MB.rsvd.limit_in_bytes";
  if (exists(cg.dir("hugetlb") + "/" + rsvd)) {
    EXPECT_EQ(cg.read("hugetlb", rsvd), "4194304");
  }
  // The parents enable hugetlb for the leaf on cgroup v2.
  if (v2) {
    std::string parent = cg.dir("hugetlb").substr(0, cg.dir("hugetlb").rfind('/'));
    auto sc = read_file(parent + "/cgroup.subtree_control");
    ASSERT_TRUE(sc.ok());
    EXPECT_HAS(*sc, "hugetlb");
  }
}

TEST(CgroupResources, HugetlbBadPageSize) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("hugetlb").empty()) GTEST_SKIP() << "no hugetlb controller";
  auto e = err(cg.apply(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 0},
                                              {"pageSize": "3MB", "limit": 4194304}]})"));
  EXPECT_HAS(e,
             "linux.resources.hugepageLimits[1]: page size \"3MB\" is not available on this "
             "host (hugepage sizes: ");
  if (has_2mb_hugepages()) {
    EXPECT_HAS(e, "2MB");
  }
}

TEST(CgroupResources, NetworkClassIdWithoutNetCls) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (!cg.dir("net_cls").empty()) {
    ASSERT_OK(cg.apply(R"({"network": {"classID": 1048577}})"));
    EXPECT_EQ(cg.read("net_cls", "net_cls.classid"), "1048577");
    return;
  }
  auto e = err(cg.apply(R"({"network": {"classID": 1048577}})"));
  if (host_layout().mode == Mode::kV2) {
    EXPECT_HAS(e, "linux.resources.network.classID: not available on cgroup v2");
  } else {
    EXPECT_EQ(e, "linux.resources.network.classID: no net_cls cgroup controller on this host");
  }
  e = err(cg.apply(R"({"network": {"priorities": [{"name": "lo", "priority": 1}]}})"));
  EXPECT_HAS(e, "linux.resources.network.priorities[0]: ");
}

TEST(CgroupResources, Rdma) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  auto e = err(cg.apply(R"({"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}})"));
  if (cg.dir("rdma").empty()) {
    EXPECT_EQ(e, "linux.resources.rdma.mlx5_1: no rdma cgroup controller on this host");
  } else {  // no such RDMA device here: the kernel refuses the line
    EXPECT_HAS(e,
               "linux.resources.rdma.mlx5_1: write rdma.max "
               "\"mlx5_1 hca_handle=3 hca_object=10000\": ");
  }
}

// A refused field leaves the cgroup untouched: planning fails before writing.
TEST(CgroupResources, ErrorWritesNothing) {
  Cg cg(host_layout());
  ASSERT_TRUE(cg.ok());
  if (cg.dir("pids").empty()) GTEST_SKIP() << "no pids controller";
  if (!cg.dir("net_cls").empty()) GTEST_SKIP() << "this host has a net_cls controller";
  auto e = err(cg.apply(R"({"pids": {"limit": 7}, "network": {"classID": 1}})"));
  EXPECT_HAS(e, "linux.resources.network.classID: ");
  EXPECT_EQ(cg.read("pids", "pids.max"), "max");
}

TEST(CgroupResources, UnifiedOnHybrid) {
  Layout l = host_layout();
  if (l.mode != Mode::kHybrid) GTEST_SKIP() << "not a hybrid host";
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  // A controller living in a v1 hierarchy cannot be set through unified.
  std::string v1ctl = !cg.dir("memory").empty() && !cg.v2("memory") ? "memory" : "pids";
  if (cg.dir(v1ctl).empty() || cg.v2(v1ctl)) GTEST_SKIP() << "no v1 memory or pids controller";
  auto e = err(cg.apply(R"({"unified": {")" + v1ctl + R"(.max": "1000"}})"));
  EXPECT_EQ(e, "linux.resources.unified.\"" + v1ctl + ".max\": the " + v1ctl +
                   " controller is in a cgroup v1 hierarchy on this host, not in cgroup v2");
  // A controller the cgroup2 root lacks.
  const Hierarchy* h = v2_hierarchy(l);
  ASSERT_NE(h, nullptr);
  if (!offers(*h, "rdma") && cg.dir("rdma").empty()) {
    e = err(cg.apply(R"({"unified": {"rdma.max": "x"}})"));
    EXPECT_HAS(e, "linux.resources.unified.\"rdma.max\": no rdma controller in the cgroup v2");
  }
  // cgroup.* files and controllers of the cgroup2 mount are written there.
  ASSERT_OK(cg.apply(R"({"unified": {"cgroup.max.descendants": "5"}})"));
  EXPECT_EQ(trim(*read_file(cg.v2_dir() + "/cgroup.max.descendants")), "5");
  if (offers(*h, "hugetlb") && has_2mb_hugepages()) {
    ASSERT_OK(cg.apply(R"({"unified": {"hugetlb.2MB.max": "8388608"}})"));
    EXPECT_EQ(trim(*read_file(cg.v2_dir() + "/hugetlb.2MB.max")), "8388608");
  }
  // A file that does not exist.
  e = err(cg.apply(R"({"unified": {"cgroup.nosuchfile": "1"}})"));
  EXPECT_HAS(e, "linux.resources.unified.\"cgroup.nosuchfile\": not available on this host");
}

TEST(CgroupResources, UnifiedWithoutCgroup2) {
  Layout l = host_layout();
  Layout v1_only{Mode::kV1, {}};
  for (const auto& h : l.hierarchies)
    if (!h.v2) v1_only.hierarchies.push_back(h);
  if (v1_only.hierarchies.empty()) GTEST_SKIP() << "no cgroup v1 hierarchy on this host";
  Cg cg(v1_only);
  ASSERT_TRUE(cg.ok());
  EXPECT_EQ(err(cg.apply(R"({"unified": {"pids.max": "10"}})")),
            "linux.resources.unified.\"pids.max\": no cgroup v2 hierarchy on this host");
}

// ---- pure cgroup v2 (the host's cgroup2 mount alone) ----

#define V2_LAYOUT_OR_SKIP(var)                                     \
  auto var##_opt = v2_only_layout();                               \
  if (!var##_opt) GTEST_SKIP() << "no cgroup2 mount on this host"; \
  const Layout& var = *var##_opt

std::string controller_list(const Hierarchy& h) {
  std::string s;
  for (const auto& c : h.controllers) s += (s.empty() ? "" : " ") + c;
  return s.empty() ? "none" : s;
}

#define REQUIRE_V2_CONTROLLER(layout, c)                                     \
  if (!offers((layout).hierarchies[0], c))                                   \
  GTEST_SKIP() << "the cgroup2 root of this host does not offer the " << (c) \
               << " controller (it offers: " << controller_list((layout).hierarchies[0]) << ")"

TEST(CgroupResourcesV2, RejectsV1OnlyFields) {
  V2_LAYOUT_OR_SKIP(l);
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  EXPECT_EQ(err(cg.apply(R"({"cpu": {"realtimePeriod": 1000000}})")),
            "linux.resources.cpu.realtimePeriod: not available on cgroup v2");
  EXPECT_EQ(err(cg.apply(R"({"cpu": {"shares": 1024, "realtimeRuntime": 1000}})")),
            "linux.resources.cpu.realtimeRuntime: not available on cgroup v2");
  EXPECT_EQ(err(cg.apply(R"({"memory": {"swappiness": 10}})")),
            "linux.resources.memory.swappiness: not available on cgroup v2");
  EXPECT_EQ(err(cg.apply(R"({"memory": {"limit": 1048576, "disableOOMKiller": true}})")),
            "linux.resources.memory.disableOOMKiller: not available on cgroup v2");
  EXPECT_EQ(err(cg.apply(R"({"blockIO": {"leafWeight": 100}})")),
            "linux.resources.blockIO.leafWeight: not available on cgroup v2");
  EXPECT_EQ(err(cg.apply(
                R"({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "leafWeight": 10}]}})")),
            "linux.resources.blockIO.weightDevice[0].leafWeight: not available on cgroup v2");
  EXPECT_HAS(err(cg.apply(R"({"network": {"classID": 1}})")),
             "linux.resources.network.classID: not available on cgroup v2");
  EXPECT_HAS(err(cg.apply(R"({"network": {"priorities": [{"name": "lo", "priority": 1}]}})")),
             "linux.resources.network.priorities[0]: not available on cgroup v2");
}

TEST(CgroupResourcesV2, MissingControllerNamesField) {
  V2_LAYOUT_OR_SKIP(l);
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  if (!offers(l.hierarchies[0], "rdma")) {
    EXPECT_EQ(err(cg.apply(R"({"rdma": {"mlx4_0": {"hcaObjects": 7}}})")),
              "linux.resources.rdma.mlx4_0: no rdma cgroup controller on this host");
  }
  if (!offers(l.hierarchies[0], "memory")) {
    EXPECT_EQ(err(cg.apply(R"({"memory": {"limit": 1048576}})")),
              "linux.resources.memory.limit: no memory cgroup controller on this host");
    EXPECT_HAS(err(cg.apply(R"({"unified": {"memory.max": "1048576"}})")),
               "linux.resources.unified.\"memory.max\": no memory controller in the cgroup v2");
  }
}

TEST(CgroupResourcesV2, HugetlbEnablesControllerInParents) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "hugetlb");
  if (!has_2mb_hugepages()) GTEST_SKIP() << "no 2MB hugepages on this host";
  // Two levels, both new: each gets hugetlb in its subtree_control but the leaf.
  std::string top = "/" + unique_name();
  Cg cg(l, top + "/c");
  ASSERT_TRUE(cg.ok());
  ASSERT_OK(cg.apply(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 6291456}]})"));
  std::string leaf = cg.v2_dir();
  EXPECT_EQ(trim(*read_file(leaf + "/hugetlb.2MB.max")), "6291456");
  if (exists(leaf + "/hugetlb.2MB.rsvd.max")) {
    EXPECT_EQ(trim(*read_file(leaf + "/hugetlb.2MB.rsvd.max")), "6291456");
  }
  std::string mid = leaf.substr(0, leaf.rfind('/'));
  EXPECT_HAS(*read_file(mid + "/cgroup.subtree_control"), "hugetlb");
  EXPECT_EQ(trim(*read_file(leaf + "/cgroup.subtree_control")), "");
  std::string mount = l.hierarchies[0].mountpoint;
  EXPECT_HAS(*read_file(mount + "/cgroup.subtree_control"), "hugetlb");
  // Through unified as well.
  ASSERT_OK(cg.apply(R"({"unified": {"hugetlb.2MB.max": "2097152"}})"));
  EXPECT_EQ(trim(*read_file(leaf + "/hugetlb.2MB.max")), "2097152");
  auto e = err(cg.apply(R"({"hugepageLimits": [{"pageSize": "3MB", "limit": 4194304}]})"));
  EXPECT_HAS(e, "linux.resources.hugepageLimits[0]: page size \"3MB\" is not available");
}

TEST(CgroupResourcesV2, Memory) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "memory");
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  ASSERT_OK(cg.apply(R"({"memory": {"limit": 33554432, "reservation": 16777216}})"));
  EXPECT_EQ(cg.read("memory", "memory.max"), "33554432");
  EXPECT_EQ(cg.read("memory", "memory.low"), "16777216");
  ASSERT_OK(cg.apply(R"({"memory": {"useHierarchy": true, "disableOOMKiller": false}})"));
  EXPECT_EQ(cg.read("memory", "memory.max"), "33554432");

  bool swap = exists(cg.dir("memory") + "/memory.swap.max");
  if (swap) {
    ASSERT_OK(cg.apply(R"({"memory": {"limit": 33554432, "swap": 67108864}})"));
    EXPECT_EQ(cg.read("memory", "memory.swap.max"), "33554432");
    // swap alone: against the limit in force.
    ASSERT_OK(cg.apply(R"({"memory": {"swap": 100663296}})"));
    EXPECT_EQ(cg.read("memory", "memory.swap.max"), "67108864");
    ASSERT_OK(cg.apply(R"({"memory": {"limit": 33554432, "swap": 33554432}})"));
    EXPECT_EQ(cg.read("memory", "memory.swap.max"), "0");
    auto e = err(cg.apply(R"({"memory": {"limit": 33554432, "swap": 16777216}})"));
    EXPECT_EQ(e,
              "linux.resources.memory.swap: memory+swap limit 16777216 is lower than memory "
              "limit 33554432");
  }
  ASSERT_OK(cg.apply(R"({"memory": {"limit": -1}})"));
  EXPECT_EQ(cg.read("memory", "memory.max"), "max");
  if (swap) {
    EXPECT_EQ(cg.read("memory", "memory.swap.max"), "max");
    EXPECT_EQ(err(cg.apply(R"({"memory": {"swap": 100663296}})")),
              "linux.resources.memory.swap: unable to set swap limit without memory limit");
  }
}

TEST(CgroupResourcesV2, MemoryCheckBeforeUpdate) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "memory");
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  ASSERT_OK(cg.apply(R"({"memory": {"limit": 268435456}})"));
  // A child that joins the cgroup and then touches 16 MiB.
  int go[2], ready[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(1);
    std::vector<char> mem(16 << 20, 1);
    if (::write(ready[1], mem.data(), 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  ::close(go[0]);
  ::close(ready[1]);
  auto st = cg->add_process(pid);
  char c = 0;
  bool started = st && ::write(go[1], "g", 1) == 1 && ::read(ready[0], &c, 1) == 1;
  auto e = cg.apply(R"({"memory": {"limit": 4194304, "checkBeforeUpdate": true}})");
  auto without = cg.apply(R"({"memory": {"limit": 201326592}})");
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(go[1]);
  ::close(ready[0]);
  ASSERT_TRUE(st.ok()) << st.error().msg;
  ASSERT_TRUE(started);
  EXPECT_HAS(err(e), "linux.resources.memory.limit: 4194304 is lower than current usage ");
  EXPECT_TRUE(without.ok());
  EXPECT_EQ(cg.read("memory", "memory.max"), "201326592");
}

TEST(CgroupResourcesV2, Cpu) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "cpu");
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  ASSERT_OK(cg.apply(R"({"cpu": {"shares": 1024, "quota": 50000, "period": 100000}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.weight"), "100");
  EXPECT_EQ(cg.read("cpu", "cpu.max"), "50000 100000");
  ASSERT_OK(cg.apply(R"({"cpu": {"quota": 20000}})"));  // keeps the period
  EXPECT_EQ(cg.read("cpu", "cpu.max"), "20000 100000");
  ASSERT_OK(cg.apply(R"({"cpu": {"period": 200000}})"));  // keeps the quota
  EXPECT_EQ(cg.read("cpu", "cpu.max"), "20000 200000");
  ASSERT_OK(cg.apply(R"({"cpu": {"quota": -1}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.max"), "max 200000");
  ASSERT_OK(cg.apply(R"({"cpu": {"shares": 2}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.weight"), "1");
  ASSERT_OK(cg.apply(R"({"cpu": {"shares": 262144}})"));
  EXPECT_EQ(cg.read("cpu", "cpu.weight"), "10000");
  if (exists(cg.dir("cpu") + "/cpu.max.burst")) {
    ASSERT_OK(cg.apply(R"({"cpu": {"quota": 50000, "burst": 10000}})"));
    EXPECT_EQ(cg.read("cpu", "cpu.max.burst"), "10000");
  }
  if (exists(cg.dir("cpu") + "/cpu.idle")) {
    ASSERT_OK(cg.apply(R"({"cpu": {"idle": 1}})"));
    EXPECT_EQ(cg.read("cpu", "cpu.idle"), "1");
  }
  EXPECT_EQ(err(cg.apply(R"({"cpu": {"realtimePeriod": 1000000}})")),
            "linux.resources.cpu.realtimePeriod: not available on cgroup v2");
}

TEST(CgroupResourcesV2, Cpuset) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "cpuset");
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  ASSERT_OK(cg.apply(R"({"cpu": {"cpus": "0", "mems": "0"}})"));
  EXPECT_EQ(cg.read("cpuset", "cpuset.cpus"), "0");
  EXPECT_EQ(cg.read("cpuset", "cpuset.mems"), "0");
}

TEST(CgroupResourcesV2, Pids) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "pids");
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  ASSERT_OK(cg.apply(R"({"pids": {"limit": 0}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "0");
  ASSERT_OK(cg.apply(R"({"pids": {"limit": 99}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "99");
  ASSERT_OK(cg.apply(R"({"pids": {"limit": -1}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "max");
  ASSERT_OK(cg.apply(R"({"unified": {"pids.max": "12"}})"));
  EXPECT_EQ(cg.read("pids", "pids.max"), "12");
}

TEST(CgroupResourcesV2, IoThrottle) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "io");
  std::string dev = block_device();
  if (dev.empty()) GTEST_SKIP() << "no block device found";
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  auto [maj, min] = split_dev(dev);
  std::string entry = R"({"major": )" + maj + R"(, "minor": )" + min;
  ASSERT_OK(cg.apply(R"({"blockIO": {"throttleReadBpsDevice": [)" + entry +
                     R"(, "rate": 1048576}], "throttleWriteIOPSDevice": [)" + entry +
                     R"(, "rate": 300}]}})"));
  EXPECT_HAS(cg.read("io", "io.max"), dev + " rbps=1048576 wbps=max riops=max wiops=300");
}

// io.bfq.weight when BFQ is built in, else io.weight on the v2 scale.
TEST(CgroupResourcesV2, IoWeight) {
  V2_LAYOUT_OR_SKIP(l);
  REQUIRE_V2_CONTROLLER(l, "io");
  Cg cg(l);
  ASSERT_TRUE(cg.ok());
  auto st = cg.apply(R"({"blockIO": {"weight": 500}})");
  std::string d = cg.dir("io");  // io is enabled for the leaf by now, even on failure
  if (exists(d + "/io.bfq.weight")) {
    ASSERT_OK(st);
    EXPECT_HAS(cg.read("io", "io.bfq.weight"), "default 500");
  } else if (exists(d + "/io.weight")) {
    ASSERT_OK(st);
    EXPECT_HAS(cg.read("io", "io.weight"), "default 4950");
  } else {
    EXPECT_EQ(err(st),
              "linux.resources.blockIO.weight: not available on this host (the io controller has "
              "neither io.bfq.weight nor io.weight)");
  }
}

}  // namespace
}  // namespace nsbox::cgroup
