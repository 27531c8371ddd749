// Typed OCI runtime configuration (config.json, Linux subset of spec v1.3.0).
// Produced by parse_config(); consumed read-only by every other module.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nsbox::spec {

struct Root {
  std::string path;  // as written in config.json
  bool readonly = false;
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Rlimit {
  std::string type;   // "RLIMIT_NOFILE"
  int resource = -1;  // resolved RLIMIT_* value
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  // Capability names as given ("CAP_CHOWN"); validated/resolved by security/.
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

// process.ioPriority (ioprio_set).
struct IoPriority {
  std::string io_class;  // "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE" or "IOPRIO_CLASS_IDLE"
  int priority = 0;      // 0..7
};

// process.scheduler (sched_setattr).
struct Scheduler {
  std::string policy;  // "SCHED_OTHER", "SCHED_FIFO", ...
  std::optional<int32_t> nice;
  std::optional<int32_t> priority;
  std::vector<std::string> flags;  // "SCHED_FLAG_RESET_ON_FORK", ...
  std::optional<uint64_t> runtime, deadline, period;
};

// Kernel values of the names parse_config accepts in process.ioPriority.class
// (IOPRIO_CLASS_RT = 1, ...), process.scheduler.policy (SCHED_FIFO = 1, ...)
// and process.scheduler.flags (SCHED_FLAG_RESET_ON_FORK = 1, ...); nullopt
// for any other name.
std::optional<int> io_priority_class_value(std::string_view name);
std::optional<int> sched_policy_value(std::string_view name);
std::optional<uint64_t> sched_flag_value(std::string_view name);

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  std::string cwd;
  std::vector<std::string> env;
  std::vector<std::string> args;
  User user;
  std::vector<Rlimit> rlimits;
  std::optional<Capabilities> capabilities;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;  // "" = none
  std::string selinux_label;     // "" = none
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

enum class NsType { kMount, kUts, kIpc, kPid, kNet, kUser, kCgroup, kTime };
constexpr int kNsTypeCount = 8;

struct Namespace {
  NsType type;
  std::string path;  // empty: create a new one; else join this one
};

struct Device {
  std::string path;
  char type = 'c';  // 'c', 'b', 'u' or 'p'
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type;  // "a", "c", "b" or "" (= all)
  std::optional<int64_t> major, minor;
  std::string access;  // subset of "rwm"
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

// linux.resources. Unset optionals leave the cgroup's current value alone
// (that is also what `update` relies on). Applied by cgroup::Manager.
struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap;  // bytes, -1 = unlimited
  std::optional<int64_t> kernel, kernel_tcp;        // ignored with a warning, as runc does
  std::optional<uint64_t> swappiness;               // 0..100
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct CpuResources {
  std::optional<uint64_t> shares, period, burst, realtime_period;
  std::optional<int64_t> quota, realtime_runtime, idle;
  std::optional<std::string> cpus, mems;
};

struct BlockIoWeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;  // at least one is set
};

struct BlockIoThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;  // 10..1000 (v1 scale)
  std::vector<BlockIoWeightDevice> weight_device;
  std::vector<BlockIoThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
      throttle_write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", as in the kernel's hugetlb.<size>.* files
  uint64_t limit = 0;     // bytes
};

struct NetworkPriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<NetworkPriority> priorities;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;  // at least one is set
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;  // pids.limit; -1 = unlimited, 0 is a real limit
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;       // device name -> limits
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value
};

// linux.resources alone (the document `update --resources` reads). path
// prefixes error messages ("linux.resources" in config.json).
Result<Resources> parse_resources(const std::string& json_text, const std::string& path);

// linux.seccomp.
struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // "SCMP_CMP_EQ", ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ERRNO", ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

// linux.personality.
struct Personality {
  std::string domain;              // "LINUX" or "LINUX32"
  std::vector<std::string> flags;  // none defined by the spec yet
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::vector<Device> devices;
  std::optional<std::string> cgroups_path;
  std::optional<Resources> resources;
  std::map<std::string, std::string> sysctl;
  std::string rootfs_propagation;  // "", "private", "rprivate", "slave", ...
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<Seccomp> seccomp;
  std::optional<Personality> personality;
  std::string mount_label;     // SELinux; "" = none
  bool has_intel_rdt = false;  // linux.intelRdt set (needs resctrl on the host)

  bool has_ns(NsType t) const;
  const Namespace* find_ns(NsType t) const;
};

struct Config {
  std::string oci_version;
  Root root;
  std::vector<Mount> mounts;
  std::optional<Process> process;
  std::string hostname;
  std::string domainname;
  bool has_hostname = false;
  bool has_domainname = false;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux_;  // "linux" (the identifier is a macro in GNU mode)
};

// Parse config.json text. Errors name the JSON path of the offending field:
// "process.user.uid: expected integer", or "linux.netDevices: not supported yet".
Result<Config> parse_config(const std::string& json_text);
// The seccomp names config.json may use (defs-linux.json), as parsed here.
std::span<const std::string_view> seccomp_actions();
std::span<const std::string_view> seccomp_operators();
std::span<const std::string_view> seccomp_architectures();
std::span<const std::string_view> seccomp_flags();

// A process object alone (`exec --process FILE`); errors are rooted at "process".
Result<Process> parse_process(const std::string& json_text);
// Read <bundle>/config.json and parse it.
Result<Config> load_config(const std::string& bundle_dir);

// Semantic checks against the host that parsing cannot do (namespace
// dependencies of sysctls, hostname without a UTS namespace, ...).
Status validate_config(const Config& cfg);

const char* ns_type_name(NsType t);  // "mount", "uts", ... (OCI names)
std::optional<NsType> ns_type_from_name(const std::string& name);
int ns_clone_flag(NsType t);         // CLONE_NEWNS, ...
const char* ns_proc_name(NsType t);  // "mnt", "uts", ... (/proc/PID/ns/ names)

}  // namespace nsbox::spec
