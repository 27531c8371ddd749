// validate_config(): namespace dependencies that the JSON shape cannot express.
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <string_view>

#include "common/util.h"
#include "spec/config.h"
#include "spec/json_decode.h"

namespace nsbox::spec {

namespace {

constexpr std::string_view kIpcSysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// A namespace entry of this type that is not the host's (or the runtime's
// own): writing a sysctl or a hostname there never touches the host.
bool has_private_ns(const Linux& lx, NsType type) {
  const Namespace* ns = lx.find_ns(type);
  if (ns == nullptr) return false;
  if (ns->path.empty()) return true;
  std::string name = ns_proc_name(type);
  return !same_file(ns->path, "/proc/self/ns/" + name) &&
         !same_file(ns->path, "/proc/1/ns/" + name);
}

Error sysctl_error(const std::string& key, std::string_view what) {
  return path_error(field_path("linux.sysctl", key), what);
}

Status check_sysctl(const Linux& lx, const std::string& key) {
  std::string k = key;
  std::replace(k.begin(), k.end(), '/', '.');  // "net/ipv4/ip_forward" is the same key
  if (std::find(std::begin(kIpcSysctls), std::end(kIpcSysctls), k) != std::end(kIpcSysctls) ||
      starts_with(k, "fs.mqueue.")) {
    if (!has_private_ns(lx, NsType::kIpc)) return sysctl_error(key, "requires a new IPC namespace");
    return {};
  }
  if (starts_with(k, "net.")) {
    if (!has_private_ns(lx, NsType::kNet))
      return sysctl_error(key, "requires a new network namespace");
    return {};
  }
  if (k == "kernel.hostname" || k == "kernel.domainname") {
    if (!has_private_ns(lx, NsType::kUts)) return sysctl_error(key, "requires a new UTS namespace");
    return {};
  }
  return sysctl_error(key, "sysctl is not in a separate kernel namespace");
}

Status check_names(const Config& cfg, const Linux& lx) {
  if (has_private_ns(lx, NsType::kUts)) return {};
  if (!cfg.hostname.empty()) return make_error("hostname: requires a new UTS namespace");
  if (!cfg.domainname.empty()) return make_error("domainname: requires a new UTS namespace");
  return {};
}

Status check_user_ns(const Linux& lx) {
  const Namespace* ns = lx.find_ns(NsType::kUser);
  if (ns == nullptr) {
    if (!lx.uid_mappings.empty()) return make_error("linux.uidMappings: requires a user namespace");
    if (!lx.gid_mappings.empty()) return make_error("linux.gidMappings: requires a user namespace");
    return {};
  }
  if (!ns->path.empty()) return {};  // joined: its mappings already exist
  if (lx.uid_mappings.empty()) {
    return make_error("linux.uidMappings: required by a new user namespace");
  }
  if (lx.gid_mappings.empty()) {
    return make_error("linux.gidMappings: required by a new user namespace");
  }
  return {};
}

Status check_time_ns(const Linux& lx) {
  if (lx.time_offsets.empty()) return {};
  const Namespace* ns = lx.find_ns(NsType::kTime);
  if (ns == nullptr || !ns->path.empty()) {
    return make_error("linux.timeOffsets: requires a new time namespace");
  }
  return {};
}

constexpr long kResctrlMagic = 0x7655821;  // RDTGROUP_SUPER_MAGIC

// linux.intelRdt needs resctrl mounted in the runtime's mount namespace (the
// spec's MUST); nsbox cannot apply its contents yet either way.
Status check_intel_rdt(const Linux& lx) {
  if (!lx.has_intel_rdt) return {};
  struct statfs st {};
  if (::statfs("/sys/fs/resctrl", &st) != 0 || st.f_type != kResctrlMagic) {
    return make_error("linux.intelRdt: Intel RDT (resctrl) is not available on this host");
  }
  return make_error("linux.intelRdt: not supported yet");
}

// A SCHED_DEADLINE task cannot fork (EAGAIN) unless the scheduler is reset
// in the child; the init sets it at create and forks startContainer hooks later.
Status check_deadline_fork(const Config& cfg) {
  if (!cfg.process || !cfg.process->scheduler || !cfg.hooks) return {};
  const Scheduler& s = *cfg.process->scheduler;
  if (s.policy != "SCHED_DEADLINE" || cfg.hooks->start_container.empty()) return {};
  for (const auto& f : s.flags) {
    if (f == "SCHED_FLAG_RESET_ON_FORK") return {};
  }
  return make_error(
      "process.scheduler.policy: SCHED_DEADLINE cannot fork startContainer hooks (add "
      "SCHED_FLAG_RESET_ON_FORK to process.scheduler.flags)");
}

}  // namespace

Status validate_config(const Config& cfg) {
  static const Linux kNoLinux{};
  const Linux& lx = cfg.linux_ ? *cfg.linux_ : kNoLinux;
  NSBOX_TRY(check_names(cfg, lx));
  NSBOX_TRY(check_user_ns(lx));
  NSBOX_TRY(check_time_ns(lx));
  NSBOX_TRY(check_intel_rdt(lx));
  NSBOX_TRY(check_deadline_fork(cfg));
  for (const auto& entry : lx.sysctl) NSBOX_TRY(check_sysctl(lx, entry.first));
  return {};
}

}  // namespace nsbox::spec
