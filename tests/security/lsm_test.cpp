// process.apparmorProfile, process.selinuxLabel, linux.mountLabel and
// linux.intelRdt against what the host really has. Lsm.*: a label for an LSM
// the host lacks (and intelRdt without resctrl) fails create with the field
// named and leaves nothing. AppArmor.*: the positive path, on a host with
// AppArmor enabled (the pure cgroup v2 guest, tools/v2rig: Debian's kernel);
// skipped with the reason elsewhere.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Ground truth from the kernel's own interfaces (not nsbox's probe).
bool apparmor_enabled() {
  return slurp("/sys/module/apparmor/parameters/enabled").rfind('Y', 0) == 0;
}
bool selinux_enabled() { return exists("/sys/fs/selinux/enforce"); }
bool resctrl_mounted() {
  struct statfs st {};
  return ::statfs("/sys/fs/resctrl", &st) == 0 && st.f_type == 0x7655821;
}

// create fails with exactly "nsbox: <want>" and leaves nothing.
void expect_create_fails(const json& cfg, const std::string& want) {
  Sandbox sb;
  std::string id = sb.new_id("lsm");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg), id});
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.err, "nsbox: " + want + "\n");
  EXPECT_NE(sb.nsbox({"state", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

}  // namespace

TEST(Lsm, AppArmorProfileWithoutAppArmorFailsCreate) {
  if (apparmor_enabled()) GTEST_SKIP() << "AppArmor is enabled on this host (AppArmor.* cover it)";
  auto cfg = Sandbox::default_config();
  cfg["process"]["apparmorProfile"] = "unconfined";
  expect_create_fails(cfg, "process.apparmorProfile: AppArmor is not enabled on this host");
}

TEST(Lsm, SelinuxLabelsWithoutSelinuxFailCreate) {
  if (selinux_enabled()) GTEST_SKIP() << "SELinux is enabled on this host";
  auto cfg = Sandbox::default_config();
  cfg["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2";
  expect_create_fails(cfg, "process.selinuxLabel: SELinux is not enabled on this host");
  cfg = Sandbox::default_config();
  cfg["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2";
  expect_create_fails(cfg, "linux.mountLabel: SELinux is not enabled on this host");
}

TEST(Lsm, MountLabelWithSelinuxIsNotSupportedYet) {
  if (!selinux_enabled()) GTEST_SKIP() << "SELinux is not enabled on this host";
  auto cfg = Sandbox::default_config();
  cfg["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2";
  expect_create_fails(cfg, "linux.mountLabel: not supported yet");
}

TEST(Lsm, EmptyLabelsAreNoLabels) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"echo", "ok"});
  cfg["process"]["apparmorProfile"] = "";
  cfg["process"]["selinuxLabel"] = "";
  cfg["linux"]["mountLabel"] = "";
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "ok\n");
}

TEST(Lsm, IntelRdtNeedsResctrl) {
  auto cfg = Sandbox::default_config();
  cfg["linux"]["intelRdt"] = {{"closID", "nsbox-test"}};
  expect_create_fails(
      cfg, resctrl_mounted() ? "linux.intelRdt: not supported yet"
                             : "linux.intelRdt: Intel RDT (resctrl) is not available on this host");
  cfg["linux"]["intelRdt"] = json::object();  // as runc: {} asks for resctrl too
  expect_create_fails(
      cfg, resctrl_mounted() ? "linux.intelRdt: not supported yet"
                             : "linux.intelRdt: Intel RDT (resctrl) is not available on this host");
}

#define REQUIRE_APPARMOR()                                                                         \
  do {                                                                                             \
    if (!apparmor_enabled())                                                                       \
      GTEST_SKIP() << "AppArmor is not enabled on this host (runs in the v2 guest: make test-v2)"; \
  } while (0)

// The container reads its own confinement: "unconfined" was written to
// attr/apparmor/exec (or attr/exec) by the init and took effect at exec.
TEST(AppArmor, UnconfinedProfile) {
  REQUIRE_APPARMOR();
  Sandbox sb;
  auto cfg = Sandbox::default_config(
      {"sh", "-c",
       "cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current"});
  cfg["process"]["apparmorProfile"] = "unconfined";
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "unconfined\n");
  EXPECT_EQ(sb.leftovers(), "");
}

// A profile the kernel has not loaded: start fails with the field and the
// profile named, before exec; run cleans up.
TEST(AppArmor, ProfileNotLoadedFailsStart) {
  REQUIRE_APPARMOR();
  Sandbox sb;
  auto cfg = Sandbox::default_config({"echo", "must not run"});
  cfg["process"]["apparmorProfile"] = "nsbox-no-such-profile";
  auto o = sb.run(cfg);
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.out, "");
  EXPECT_TRUE(
      contains(o.err, "process.apparmorProfile: profile \"nsbox-no-such-profile\" is not loaded"))
      << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// A real profile, loaded with apparmor_parser (package apparmor, copied into
// the v2 guest): the container runs confined by it and its deny rule holds.
TEST(AppArmor, LoadedProfileConfinesTheContainer) {
  REQUIRE_APPARMOR();
  std::string parser;
  for (const char* p : {"/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"}) {
    if (parser.empty() && exists(p)) parser = p;
  }
  if (parser.empty()) GTEST_SKIP() << "apparmor_parser is not installed (package apparmor)";
  Sandbox sb;
  const std::string name = "nsbox-test-" + std::to_string(getpid());
  const std::string profile = sb.dir() + "/profile";
  std::ofstream(profile) << "profile " << name
                         << " flags=(attach_disconnected,mediate_deleted) {\n"
                            "  capability,\n  network,\n  signal,\n  unix,\n  file,\n"
                            "  deny /etc/passwd r,\n}\n";
  auto load = nsbox::it::run_program({parser, "-r", profile});
  ASSERT_EQ(load.status, 0) << load.err;
  auto cfg = Sandbox::default_config(
      {"sh", "-c",
       "cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current; "
       "cat /etc/group >/dev/null && echo group-ok; cat /etc/passwd 2>&1"});
  cfg["process"]["apparmorProfile"] = name;
  auto o = sb.run(cfg);
  (void)nsbox::it::run_program({parser, "-R", profile});
  EXPECT_EQ(o.status, 1) << o.err;  // cat /etc/passwd failed
  EXPECT_TRUE(o.out.rfind(name + " (enforce)\ngroup-ok\n", 0) == 0) << o.out;
  EXPECT_TRUE(contains(o.out, "Permission denied")) << o.out;
  EXPECT_FALSE(contains(o.out, "root:x:0:0")) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}
