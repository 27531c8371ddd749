#include "spec/default_spec.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "common/util.h"

namespace nsbox::spec {

namespace {

using ojson = nlohmann::ordered_json;
using Strings = std::vector<std::string>;

ojson process_json() {
  Strings caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  return {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", Strings{"sh"}},
      {"env",
       Strings{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", ojson::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
}

ojson mount_json(const char* dest, const char* type, const char* source, const Strings& options) {
  ojson m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = options;
  return m;
}

ojson mounts_json(bool rootless) {
  Strings devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  if (!rootless) devpts.push_back("gid=5");  // runc's rootless drops uid=/gid= options
  ojson sys = rootless
                  ? mount_json("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"})
                  : mount_json("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
  return ojson::array({
      mount_json("/proc", "proc", "proc", {}),
      mount_json("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount_json("/dev/pts", "devpts", "devpts", devpts),
      mount_json("/dev/shm", "tmpfs", "shm",
                 {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount_json("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      sys,
      mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
                 {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
}

ojson namespaces_json(bool rootless, bool cgroup_ns) {
  Strings types = {"pid", "network", "ipc", "uts", "mount"};
  if (rootless) types.erase(types.begin() + 1);  // runc's rootless drops the netns
  if (cgroup_ns) types.push_back("cgroup");
  if (rootless) types.push_back("user");
  ojson out = ojson::array();
  for (const auto& t : types) out.push_back({{"type", t}});
  return out;
}

ojson id_mapping_json(unsigned host_id) {
  return ojson::array({{{"containerID", 0}, {"hostID", host_id}, {"size", 1}}});
}

ojson linux_json(bool rootless, bool cgroup_ns) {
  ojson lx = ojson::object();
  if (rootless) {
    lx["uidMappings"] = id_mapping_json(::geteuid());
    lx["gidMappings"] = id_mapping_json(::getegid());
  } else {
    lx["resources"] = {{"devices", ojson::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  lx["namespaces"] = namespaces_json(rootless, cgroup_ns);
  lx["maskedPaths"] = Strings{"/proc/acpi",
                              "/proc/asound",
                              "/proc/kcore",
                              "/proc/keys",
                              "/proc/latency_stats",
                              "/proc/timer_list",
                              "/proc/timer_stats",
                              "/proc/sched_debug",
                              "/sys/firmware",
                              "/proc/scsi",
                              "/sys/devices/virtual/powercap"};
  lx["readonlyPaths"] =
      Strings{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  return lx;
}

}  // namespace

// runc 1.1's version string: the config uses nothing newer, and older
// runtimes (crun 1.8 refuses "1.3.0") run it unchanged, which the benchmark
// relies on. nsbox itself accepts every 1.x.
constexpr const char* kDefaultSpecVersion = "1.0.2-dev";

std::string default_spec_json(bool rootless, bool cgroup_ns) {
  ojson spec = {
      {"ociVersion", kDefaultSpecVersion},
      {"process", process_json()},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "nsbox"},
      {"mounts", mounts_json(rootless)},
      {"linux", linux_json(rootless, cgroup_ns)},
  };
  return spec.dump(2);
}

}  // namespace nsbox::spec
