#include "security/lsm.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "common/fd.h"
#include "common/procfs.h"
#include "common/util.h"

namespace nsbox::security {

namespace {

constexpr const char* kAppArmorField = "process.apparmorProfile";
constexpr const char* kSelinuxField = "process.selinuxLabel";
constexpr const char* kMountLabelField = "linux.mountLabel";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Open this thread's attr file (attr: "attr/exec") for writing through a
// private procfs (common/procfs.h): no mount or symlink the bundle placed
// under /proc can receive what is meant for the kernel.
Result<UniqueFd> open_proc_attr(const std::string& attr) {
  auto root = procfs::open_root();
  if (!root) return std::move(root).error();
  std::string rel = std::to_string(::getpid()) + "/task/" + std::to_string(::gettid()) + "/" + attr;
  return procfs::open_file(root->get(), rel, O_WRONLY | O_NOCTTY);
}

Status write_attr(const UniqueFd& fd, const std::string& data) {
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return sys_error("write");
  if (static_cast<size_t>(n) != data.size()) return make_error("short write", EIO);
  return {};
}

Status set_apparmor_exec(const std::string& profile) {
  // Since 5.8 each LSM has its own attr directory; older kernels (and
  // AppArmor as the only "display" LSM) use attr/exec.
  std::string path = "attr/apparmor/exec";
  auto fd = open_proc_attr(path);
  if (!fd && fd.error().code == ENOENT) {
    path = "attr/exec";
    fd = open_proc_attr(path);
  }
  if (!fd) return std::move(fd).error().wrap(kAppArmorField);
  auto w = write_attr(*fd, "exec " + profile);
  if (w) return {};
  int err = w.error().code;
  if (err == ENOENT) {
    return make_error(
        std::string(kAppArmorField) + ": profile " + quoted(profile) + " is not loaded", err);
  }
  return sys_error(
      std::string(kAppArmorField) + ": " + quoted(profile) + ": write /proc/thread-self/" + path,
      err);
}

Status set_selinux_exec(const std::string& label) {
  const std::string path = "/proc/thread-self/attr/exec";
  auto fd = open_proc_attr("attr/exec");
  if (!fd) return std::move(fd).error().wrap(kSelinuxField);
  auto w = write_attr(*fd, label);
  if (w) return {};
  return sys_error(std::string(kSelinuxField) + ": " + quoted(label) + ": write " + path,
                   w.error().code);
}

}  // namespace

LsmHost probe_lsms(const std::string& root) {
  std::vector<std::string> active;
  bool listed = false;
  if (auto lsm = read_file(root + "/sys/kernel/security/lsm")) {
    listed = true;
    active = split(trim(*lsm), ',');
  }
  auto in_list = [&](const char* name) {
    return !listed || std::find(active.begin(), active.end(), name) != active.end();
  };
  LsmHost host;
  auto enabled = read_file(root + "/sys/module/apparmor/parameters/enabled");
  host.apparmor = in_list("apparmor") && (exists(root + "/sys/kernel/security/apparmor") ||
                                          (enabled && starts_with(*enabled, "Y")));
  host.selinux = in_list("selinux") && exists(root + "/sys/fs/selinux/enforce");
  return host;
}

Status check_lsm_config(const spec::Config& cfg, const LsmHost& host) {
  if (cfg.process) {
    if (!cfg.process->apparmor_profile.empty() && !host.apparmor) {
      return make_error(std::string(kAppArmorField) + ": AppArmor is not enabled on this host");
    }
    if (!cfg.process->selinux_label.empty() && !host.selinux) {
      return make_error(std::string(kSelinuxField) + ": SELinux is not enabled on this host");
    }
  }
  if (cfg.linux_ && !cfg.linux_->mount_label.empty()) {
    if (!host.selinux) {
      return make_error(std::string(kMountLabelField) + ": SELinux is not enabled on this host");
    }
    return make_error(std::string(kMountLabelField) + ": not supported yet");
  }
  return {};
}

Status set_exec_labels(const spec::Process& proc) {
  if (!proc.apparmor_profile.empty()) NSBOX_TRY(set_apparmor_exec(proc.apparmor_profile));
  if (!proc.selinux_label.empty()) NSBOX_TRY(set_selinux_exec(proc.selinux_label));
  return {};
}

}  // namespace nsbox::security
