// security/lsm: the LSM probe on fake sysfs/securityfs trees and on this
// host, and the create-time check of the labels a config asks for.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "security/lsm.h"

namespace nsbox::security {
namespace {

class FakeRoot {
 public:
  FakeRoot() {
    char tmpl[] = "/tmp/nsbox-lsm-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~FakeRoot() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FakeRoot(const FakeRoot&) = delete;
  FakeRoot& operator=(const FakeRoot&) = delete;

  void file(const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + path).parent_path());
    std::ofstream(dir_ + path) << content;
  }
  void dir(const std::string& path) { std::filesystem::create_directories(dir_ + path); }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

TEST(SecurityLsm, NothingMeansNoLsm) {
  FakeRoot r;
  auto h = probe_lsms(r.path());
  EXPECT_FALSE(h.apparmor);
  EXPECT_FALSE(h.selinux);
}

TEST(SecurityLsm, AppArmorFromTheLsmListAndItsSecurityfsDirectory) {
  FakeRoot r;
  r.file("/sys/kernel/security/lsm", "lockdown,capability,landlock,yama,apparmor");
  EXPECT_FALSE(probe_lsms(r.path()).apparmor);  // listed, but neither confirmation
  r.dir("/sys/kernel/security/apparmor");
  auto h = probe_lsms(r.path());
  EXPECT_TRUE(h.apparmor);
  EXPECT_FALSE(h.selinux);
}

TEST(SecurityLsm, AppArmorModuleParameter) {
  FakeRoot r;
  r.file("/sys/module/apparmor/parameters/enabled", "N\n");
  EXPECT_FALSE(probe_lsms(r.path()).apparmor);
  // securityfs not mounted: the module parameter alone decides.
  r.file("/sys/module/apparmor/parameters/enabled", "Y\n");
  EXPECT_TRUE(probe_lsms(r.path()).apparmor);
  // Built in but not in the active list (lsm= without apparmor): disabled.
  r.file("/sys/kernel/security/lsm", "lockdown,capability,landlock,bpf");
  EXPECT_FALSE(probe_lsms(r.path()).apparmor);
}

TEST(SecurityLsm, SelinuxNeedsSelinuxfs) {
  FakeRoot r;
  r.file("/sys/kernel/security/lsm", "capability,selinux,bpf");
  EXPECT_FALSE(probe_lsms(r.path()).selinux);
  r.file("/sys/fs/selinux/enforce", "1");
  auto h = probe_lsms(r.path());
  EXPECT_TRUE(h.selinux);
  EXPECT_FALSE(h.apparmor);
  // Not active (selinuxfs present but the list says otherwise).
  r.file("/sys/kernel/security/lsm", "capability,apparmor");
  EXPECT_FALSE(probe_lsms(r.path()).selinux);
}

// On the real host: an LSM missing from the active list, or without its
// filesystem, is never reported.
TEST(SecurityLsm, HostProbeNeverClaimsAnAbsentLsm) {
  auto h = probe_lsms();
  std::string list;
  std::getline(std::ifstream("/sys/kernel/security/lsm"), list);
  std::string param;
  std::getline(std::ifstream("/sys/module/apparmor/parameters/enabled"), param);
  struct stat st {};
  bool apparmor_dir = ::stat("/sys/kernel/security/apparmor", &st) == 0;
  bool selinuxfs = ::stat("/sys/fs/selinux/enforce", &st) == 0;
  bool listed_aa = list.empty() || list.find("apparmor") != std::string::npos;
  bool listed_se = list.empty() || list.find("selinux") != std::string::npos;
  EXPECT_EQ(h.apparmor, listed_aa && (apparmor_dir || param == "Y")) << list;
  EXPECT_EQ(h.selinux, listed_se && selinuxfs) << list;
}

spec::Config config_with(const std::string& apparmor, const std::string& selinux,
                         const std::string& mount_label) {
  spec::Config c;
  c.process.emplace();
  c.process->apparmor_profile = apparmor;
  c.process->selinux_label = selinux;
  c.linux_.emplace();
  c.linux_->mount_label = mount_label;
  return c;
}

std::string check_msg(const spec::Config& c, LsmHost h) {
  auto r = check_lsm_config(c, h);
  return r.ok() ? "<ok>" : r.error().msg;
}

TEST(SecurityLsm, CheckNamesTheFieldAndTheMissingLsm) {
  LsmHost none, aa{true, false}, se{false, true};
  EXPECT_EQ(check_msg(config_with("", "", ""), none), "<ok>");
  EXPECT_EQ(check_msg(config_with("unconfined", "", ""), none),
            "process.apparmorProfile: AppArmor is not enabled on this host");
  EXPECT_EQ(check_msg(config_with("unconfined", "", ""), se),
            "process.apparmorProfile: AppArmor is not enabled on this host");
  EXPECT_EQ(check_msg(config_with("unconfined", "", ""), aa), "<ok>");
  EXPECT_EQ(check_msg(config_with("", "system_u:system_r:container_t:s0", ""), aa),
            "process.selinuxLabel: SELinux is not enabled on this host");
  EXPECT_EQ(check_msg(config_with("", "system_u:system_r:container_t:s0", ""), se), "<ok>");
  EXPECT_EQ(check_msg(config_with("", "", "system_u:object_r:container_file_t:s0"), none),
            "linux.mountLabel: SELinux is not enabled on this host");
  EXPECT_EQ(check_msg(config_with("", "", "system_u:object_r:container_file_t:s0"), se),
            "linux.mountLabel: not supported yet");
  spec::Config bare;  // no process, no linux
  EXPECT_EQ(check_msg(bare, none), "<ok>");
}

}  // namespace
}  // namespace nsbox::security
