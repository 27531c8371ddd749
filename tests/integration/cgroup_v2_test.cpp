// Cgroup behaviour a default container must have on every host, and the
// pure cgroup v2 specifics (make test-v2 runs these in a pure v2 guest).
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;

namespace {

bool pure_v2_host() {
  struct statfs st {};
  return ::statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

void add_capability(json& cfg, const std::string& cap) {
  for (const char* set : {"bounding", "effective", "permitted"}) {
    cfg["process"]["capabilities"][set].push_back(cap);
  }
}

// Opening a node the device cgroup denies fails with EPERM before any
// driver is asked; 42:42 has no driver, so an allowed open fails with ENXIO.
const char* kProbeScript =
    "echo x > /dev/null && echo null-write=ok; "
    "head -c 3 /dev/zero | wc -c; "
    "mknod /dev/probe-null c 1 3 2>/dev/null; echo mknod-rc=$?; "
    "mknod /dev/probe-42 c 42 42 2>/dev/null; "
    "head -c 1 /dev/probe-42 2>&1; "
    "[ -c /dev/probe-null ] && echo x > /dev/probe-null && echo probe-null=ok; true";

}  // namespace

// The default config (linux.resources.devices: deny all) without CAP_MKNOD:
// the default devices work, mknod does not.
TEST(CgroupV2, DefaultContainerUsesDevNullButCannotMknod) {
  Sandbox sb;
  auto o = sb.run(Sandbox::default_config({"sh", "-c", kProbeScript}));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "null-write=ok\n3\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "mknod-rc=1\n")) << o.out;
  EXPECT_FALSE(contains(o.out, "probe-null=ok")) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// With CAP_MKNOD the device cgroup is what stands in the way: mknod is
// allowed (runc's default "m" rules) but opening a node outside the allow
// list is refused, while a new node for an allowed device works.
TEST(CgroupV2, DeviceCgroupDeniesOpeningUnlistedDevices) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"sh", "-c", kProbeScript});
  add_capability(cfg, "CAP_MKNOD");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "null-write=ok\n3\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "mknod-rc=0\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "probe-42: Operation not permitted")) << o.out;
  EXPECT_TRUE(contains(o.out, "probe-null=ok\n")) << o.out;
  // Allowing 42:42 turns EPERM into the driver's ENXIO.
  cfg["linux"]["resources"]["devices"].push_back(
      {{"allow", true}, {"type", "c"}, {"major", 42}, {"minor", 42}, {"access", "rw"}});
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "probe-42: No such device or address")) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// On a pure v2 host the container is in exactly one cgroup, the unified one.
TEST(CgroupV2, PureV2HostHasOnlyTheUnifiedCgroup) {
  if (!pure_v2_host()) GTEST_SKIP() << "/sys/fs/cgroup is not a cgroup2 mount";
  Sandbox sb;
  std::string id = sb.new_id("v2");
  auto o =
      sb.nsbox({"run", "-b", sb.bundle(Sandbox::default_config({"cat", "/proc/self/cgroup"})), id});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "0::/nsbox/" + id + "\n");
  EXPECT_EQ(sb.leftovers(), "");
}
