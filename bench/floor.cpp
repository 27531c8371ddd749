// The floor: only the kernel work a container of the default `nsbox spec`
// config cannot do without - clone with the same namespaces, the same
// mounts, pivot_root, the read-only root, exec, wait. No config parsing, no
// state, no devices, no masked paths, and no cgroup unless --cgroup: the
// physical limit a runtime's start-up latency is compared against.
//
// Linked statically and free of libstdc++, so that its own start-up is
// minimal too.
//
// Usage: nsbox_floor [--cgroup NAME] ROOTFS [PROGRAM [ARGS...]]
//        (default PROGRAM: /bin/true)
// Exits with the container's status.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <optional>

#include "check.h"

namespace {

using nsbench::check;

constexpr unsigned long kNamespaces =
    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;

struct Mount {
  const char* source;
  const char* target;  // relative to the rootfs
  const char* fstype;
  unsigned long flags;
  const char* data;
};

// config.json "mounts" of `nsbox spec`, in order, but for the cgroup one.
constexpr Mount kMounts[] = {
    {"proc", "proc", "proc", 0, nullptr},
    {"tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"},
    {"devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
     "newinstance,ptmxmode=0666,mode=0620,gid=5"},
    {"shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k"},
    {"mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr},
    {"sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, nullptr},
};
constexpr unsigned long kCgroupFlags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME;
constexpr const char* kCgroupDir = "sys/fs/cgroup";

void mount_or_die(const Mount& m) {
  if (::mkdir(m.target, 0755) < 0 && errno != EEXIST) nsbench::die(m.target);
  check(::mount(m.source, m.target, m.fstype, m.flags, m.data), m.target);
}

bool is_cgroup2(int fd) {
  struct statfs sf {};
  check(::fstatfs(fd, &sf), "statfs /sys/fs/cgroup");
  return sf.f_type == CGROUP2_SUPER_MAGIC;
}

void remount_ro(const char* target, unsigned long flags) {
  check(::mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, nullptr),
        target);
}

// The "cgroup" mount without a cgroup namespace on a v1/hybrid host, as runc
// does it: a tmpfs, a read-only bind of every hierarchy, then the tmpfs
// read-only. (A cgroup2-only host gets one cgroup2 mount instead.)
void mount_cgroups() {
  DIR* dir = ::opendir("/sys/fs/cgroup");
  if (dir == nullptr) nsbench::die("opendir /sys/fs/cgroup");
  if (is_cgroup2(::dirfd(dir))) {
    ::closedir(dir);
    mount_or_die({"cgroup", kCgroupDir, "cgroup2", kCgroupFlags | MS_RDONLY, nullptr});
    return;
  }
  mount_or_die({"tmpfs", kCgroupDir, "tmpfs", kCgroupFlags, "mode=755"});
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    char host[PATH_MAX], target[PATH_MAX];
    std::snprintf(host, sizeof host, "/sys/fs/cgroup/%s", e->d_name);
    std::snprintf(target, sizeof target, "%s/%s", kCgroupDir, e->d_name);
    mount_or_die({host, target, nullptr, MS_BIND | MS_REC, nullptr});
    remount_ro(target, kCgroupFlags);
  }
  ::closedir(dir);
  check(::mount(nullptr, kCgroupDir, nullptr, MS_REMOUNT | MS_RDONLY | kCgroupFlags, "mode=755"),
        kCgroupDir);
}

[[noreturn]] void container(const char* rootfs, char* const argv[]) {
  check(::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr), "rslave /");
  check(::mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr), "bind rootfs");
  check(::chdir(rootfs), "chdir rootfs");
  for (const Mount& m : kMounts) mount_or_die(m);
  mount_cgroups();
  check(::syscall(SYS_pivot_root, ".", "."), "pivot_root");
  check(::umount2(".", MNT_DETACH), "umount old root");
  check(::chdir("/"), "chdir /");
  remount_ro("/", 0);
  ::execv(argv[0], argv);
  nsbench::die(argv[0]);
}

// --cgroup NAME: the cgroup work the config's device rules cannot do
// without, and nothing else - a cgroup NAME in the v1 devices hierarchy with
// every device denied, joined by the init itself, removed after the wait.
// The init (single-threaded) writes "0" to the cgroup's `tasks`: moving only
// the calling thread skips the global cgroup_threadgroup_rwsem and its RCU
// grace period, which a pid written to cgroup.procs costs (~10 ms here). On
// a cgroup2-only host: /sys/fs/cgroup/NAME, cloned into (CLONE_INTO_CGROUP).
class Cgroup {
 public:
  explicit Cgroup(const char* name) {
    v2_ = ::access(kV1Devices, F_OK) != 0;
    std::snprintf(path_, sizeof path_, "%s/%s", v2_ ? "/sys/fs/cgroup" : kV1Devices, name);
    check(::mkdir(path_, 0755), path_);
    if (v2_) {
      fd_ = static_cast<int>(check(::open(path_, O_DIRECTORY | O_CLOEXEC), path_));
      return;
    }
    int deny = open_file("devices.deny");
    check(::write(deny, "a", 1), "devices.deny");
    ::close(deny);
    fd_ = open_file("tasks");
  }
  ~Cgroup() { ::rmdir(path_); }

  // Parent side: how the init is cloned.
  void add_to(clone_args& args) const {
    if (!v2_) return;
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<__u64>(fd_);
  }
  // Init side: join.
  void join() const {
    if (!v2_) check(::write(fd_, "0", 1), "join cgroup");
  }

 private:
  static constexpr const char* kV1Devices = "/sys/fs/cgroup/devices";

  int open_file(const char* file) const {
    char path[sizeof path_ + 32];
    std::snprintf(path, sizeof path, "%s/%s", path_, file);
    return static_cast<int>(check(::open(path, O_WRONLY | O_CLOEXEC), path));
  }

  bool v2_ = false;
  int fd_ = -1;
  char path_[PATH_MAX] = {};
};

pid_t clone_container(const Cgroup* cgroup) {
  clone_args args{};
  args.flags = kNamespaces;
  args.exit_signal = SIGCHLD;
  if (cgroup != nullptr) cgroup->add_to(args);
  pid_t pid = static_cast<pid_t>(check(::syscall(SYS_clone3, &args, sizeof args), "clone3"));
  if (pid == 0 && cgroup != nullptr) cgroup->join();
  return pid;
}

struct Args {
  const char* cgroup = nullptr;
  const char* rootfs = nullptr;
  char* const* program = nullptr;
};

Args parse(int argc, char* argv[]) {
  static char kTrue[] = "/bin/true";
  static char* default_program[] = {kTrue, nullptr};
  Args a;
  int i = 1;
  if (i + 1 < argc && std::strcmp(argv[i], "--cgroup") == 0) {
    a.cgroup = argv[i + 1];
    i += 2;
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: %s [--cgroup NAME] ROOTFS [PROGRAM [ARGS...]]\n", argv[0]);
    std::exit(2);
  }
  a.rootfs = argv[i];
  a.program = i + 1 < argc ? argv + i + 1 : default_program;
  return a;
}

int run(const Args& a) {
  std::optional<Cgroup> cgroup;
  if (a.cgroup != nullptr) cgroup.emplace(a.cgroup);
  pid_t pid = clone_container(cgroup ? &*cgroup : nullptr);
  if (pid == 0) container(a.rootfs, a.program);
  int status = 0;
  check(::waitpid(pid, &status, 0), "waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char* argv[]) { return run(parse(argc, argv)); }
