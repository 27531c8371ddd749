#include "spec/default_spec.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
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
  lx["maskedPaths"] = default_masked_paths();
  lx["readonlyPaths"] = default_readonly_paths();
  return lx;
}

// Docker's default profile, in substance: system calls a container needs and
// that are harmless without extra capabilities. Everything else fails with
// EPERM: namespaces (unshare, setns, clone with CLONE_NEW*), mounts, modules,
// keyrings, bpf, perf, kexec, reboot, clock and time setting, swap, acct,
// quotactl, userfaultfd, ... Space-separated.
constexpr const char* kSeccompAllowed =
    "accept accept4 access adjtimex alarm arch_prctl bind brk cachestat capget capset chdir "
    "chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 "
    "clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range "
    "connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl "
    "epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve "
    "execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate "
    "fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 "
    "fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 "
    "fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 "
    "futex_wait futex_waitv futex_wake futimesat get_robust_list get_thread_area getcpu "
    "getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups "
    "getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom "
    "getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname "
    "getsockopt gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init "
    "inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents io_pgetevents "
    "io_pgetevents_time64 io_setup io_submit ioctl ioprio_get ioprio_set ipc kill "
    "landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 "
    "lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr "
    "lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore "
    "mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 modify_ldt mprotect "
    "mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend "
    "mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock "
    "munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 "
    "pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll "
    "ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease "
    "process_vm_readv process_vm_writev pselect6 pselect6_time64 ptrace pwrite64 pwritev "
    "pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 "
    "recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir "
    "rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn "
    "rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo "
    "sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr "
    "sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 "
    "sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp "
    "select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 "
    "sendmmsg sendmsg sendto set_robust_list set_thread_area set_tid_address setfsgid "
    "setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid "
    "setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid "
    "setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr shmat shmctl shmdt "
    "shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socket socketcall "
    "socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync "
    "sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete "
    "timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 "
    "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times "
    "tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat "
    "utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev";

// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
// CLONE_NEWPID | CLONE_NEWNET: clone is allowed without any of them.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;
// personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
// UNAME26 | PER_LINUX32 and 0xffffffff (query).
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

ojson seccomp_json() {
  ojson rules = ojson::array();
  rules.push_back({{"names", split(kSeccompAllowed, ' ')}, {"action", "SCMP_ACT_ALLOW"}});
  for (uint64_t persona : kPersonalities) {
    rules.push_back(
        {{"names", Strings{"personality"}},
         {"action", "SCMP_ACT_ALLOW"},
         {"args", ojson::array({{{"index", 0}, {"value", persona}, {"op", "SCMP_CMP_EQ"}}})}});
  }
  rules.push_back({{"names", Strings{"clone"}},
                   {"action", "SCMP_ACT_ALLOW"},
                   {"args", ojson::array({{{"index", 0},
                                           {"value", kCloneNamespaceFlags},
                                           {"valueTwo", 0},
                                           {"op", "SCMP_CMP_MASKED_EQ"}}})}});
  // clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes
  // libcs fall back to clone.
  rules.push_back(
      {{"names", Strings{"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  return {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", EPERM},
      {"architectures", Strings{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"syscalls", rules},
  };
}

}  // namespace

const std::vector<std::string>& default_masked_paths() {
  static const Strings paths = {"/proc/acpi",
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
  return paths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const Strings paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                "/proc/sysrq-trigger"};
  return paths;
}

// runc 1.1's version string: the config uses nothing newer, and older
// runtimes (crun 1.8 refuses "1.3.0") run it unchanged, which the benchmark
// relies on. nsbox itself accepts every 1.x.
constexpr const char* kDefaultSpecVersion = "1.0.2-dev";

std::string default_spec_json(bool rootless, bool cgroup_ns, bool seccomp) {
  ojson spec = {
      {"ociVersion", kDefaultSpecVersion},
      {"process", process_json()},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "nsbox"},
      {"mounts", mounts_json(rootless)},
      {"linux", linux_json(rootless, cgroup_ns)},
  };
  if (seccomp) spec["linux"]["seccomp"] = seccomp_json();
  return spec.dump(2);
}

}  // namespace nsbox::spec
