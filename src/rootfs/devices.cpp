// /dev content: runc's default devices, /dev symlinks and /dev/ptmx, then
// linux.devices. mknod, or a bind mount of the host node when mknod is not
// allowed (user namespace).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs::detail {
namespace {

struct DevSpec {
  std::string path;  // cleaned, in-container (and host path for the bind fallback)
  char type = 'c';
  dev_t rdev = 0;
  mode_t perm = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct DefaultDev {
  const char* path;
  unsigned major, minor;
};

constexpr DefaultDev kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

mode_t type_bits(char type) {
  switch (type) {
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      return S_IFCHR;  // 'c' and 'u' (unbuffered character device)
  }
}

bool matches(const struct stat& st, const DevSpec& d) {
  if ((st.st_mode & S_IFMT) != type_bits(d.type)) return false;
  return d.type == 'p' || st.st_rdev == d.rdev;
}

std::string describe(const DevSpec& d) {
  return std::string(1, d.type) + " " + std::to_string(major(d.rdev)) + ":" +
         std::to_string(minor(d.rdev));
}

std::vector<DevSpec> wanted_devices(const spec::Config& cfg) {
  std::vector<DevSpec> out;
  for (const auto& d : kDefaultDevices) {
    DevSpec s;
    s.path = d.path;
    s.rdev = makedev(d.major, d.minor);
    out.push_back(std::move(s));
  }
  if (!cfg.linux_) return out;
  for (const auto& d : cfg.linux_->devices) {
    DevSpec s;
    s.path = container_path(d.path);
    s.type = d.type;
    s.perm = d.file_mode.value_or(0666) & 07777u;  // runc: default 0666, type bits dropped
    s.uid = d.uid.value_or(0);
    s.gid = d.gid.value_or(0);
    if (d.type != 'p') {
      s.rdev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    }
    // A configured device replaces the default one at the same path.
    auto same = [&](const DevSpec& o) { return o.path == s.path; };
    out.erase(std::remove_if(out.begin(), out.end(), same), out.end());
    out.push_back(std::move(s));
  }
  return out;
}

// Verify what we just created, then fix mode (umask) and owner through the fd.
Status finish_node(int dirfd, const std::string& name, const DevSpec& d) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) < 0) return sys_error("open");
  if (!matches(st, d)) return make_error("replaced while being created");
  if (::chmod(fd_path(fd.get()).c_str(), d.perm) < 0) return sys_error("chmod");
  if (::fchownat(fd.get(), "", d.uid, d.gid, AT_EMPTY_PATH) < 0) return sys_error("chown");
  return {};
}

Status check_existing(int dirfd, const std::string& name, const DevSpec& d) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("stat");
  if (matches(st, d)) return {};
  return make_error("exists and is not device " + describe(d));
}

// Bind the host's node of the same path onto an empty file.
Status bind_device(int dirfd, const std::string& name, const DevSpec& d) {
  UniqueFd src(::open(d.path.c_str(), O_PATH | O_CLOEXEC));
  struct stat st {};
  if (!src || ::fstat(src.get(), &st) < 0) return sys_error("open host device");
  if (!matches(st, d)) return make_error("host node is not device " + describe(d));
  UniqueFd dst(
      ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0));
  if (!dst && errno == EEXIST) {
    dst.reset(::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (dst && (::fstat(dst.get(), &st) < 0 || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
      return make_error("exists and is not a file");
    }
  }
  if (!dst) return sys_error("create mount point");
  return mount_fd("bind mount host device", fd_path(src.get()).c_str(), dst.get(), nullptr, MS_BIND,
                  nullptr);
}

Status create_device(const Ctx& ctx, const DevSpec& d) {
  auto [dir, name] = split_last(d.path);
  if (name.empty()) return make_error("path is the rootfs itself");
  auto dirfd = mkdir_all_in_root(ctx.rootfd, dir, 0755);
  if (!dirfd) return std::move(dirfd).error();
  bool can_bind = d.type != 'p';  // fifos need no privilege
  if (ctx.opt.in_user_ns && can_bind) return bind_device(dirfd->get(), name, d);
  if (::mknodat(dirfd->get(), name.c_str(), type_bits(d.type) | d.perm, d.rdev) == 0) {
    return finish_node(dirfd->get(), name, d);
  }
  if (errno == EEXIST) return check_existing(dirfd->get(), name, d);
  if (errno == EPERM && can_bind) return bind_device(dirfd->get(), name, d);
  return sys_error("mknod");
}

Status dev_symlinks(const Ctx& ctx) {
  auto dev = mkdir_all_in_root(ctx.rootfd, "/dev", 0755);
  if (!dev) return std::move(dev).error();
  std::vector<std::pair<const char*, const char*>> links = {
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
  };
  // Kernels without CONFIG_PROC_KCORE have no /proc/kcore: no dangling link.
  if (::access("/proc/kcore", F_OK) == 0) links.emplace_back("/proc/kcore", "core");
  for (const auto& [target, name] : links) {
    if (::symlinkat(target, dev->get(), name) < 0 && errno != EEXIST) {
      return sys_error(std::string("symlink \"/dev/") + name + "\"");
    }
  }
  // /dev/ptmx must be the container's devpts one.
  if (::unlinkat(dev->get(), "ptmx", 0) < 0 && errno != ENOENT)
    return sys_error("remove \"/dev/ptmx\"");
  if (::symlinkat("pts/ptmx", dev->get(), "ptmx") < 0) return sys_error("symlink \"/dev/ptmx\"");
  return {};
}

}  // namespace

bool needs_dev_setup(const spec::Config& cfg) {
  for (const auto& m : cfg.mounts) {
    if (container_path(m.destination) != "/dev") continue;
    auto mf = parse_mount_options(m.options);
    if (mf && is_bind(m, *mf)) return false;
  }
  return true;
}

Status setup_devices(const Ctx& ctx) {
  if (!needs_dev_setup(ctx.cfg)) return {};
  UmaskGuard umask(0);
  for (const auto& d : wanted_devices(ctx.cfg)) {
    NSBOX_TRY_CTX(create_device(ctx, d), "device \"" + d.path + "\"");
  }
  return dev_symlinks(ctx);
}

Status reopen_dev_null() {
  // The container's /dev/null, resolved in-root and never through a symlink
  // (the rootfs may have replaced it since setup_devices), checked to be the
  // null device before any stdio fd is pointed at it.
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open \"/\"");
  auto null = open_in_root(root.get(), "/dev/null", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
  if (!null) return std::move(null).error();
  struct stat nst {};
  if (::fstat(null->get(), &nst) < 0) return sys_error("stat \"/dev/null\"");
  if (!S_ISCHR(nst.st_mode) || nst.st_rdev != makedev(1, 3)) {
    return make_error("\"/dev/null\" is not the null device");
  }
  int fl = ::fcntl(null->get(), F_GETFL);
  if (fl < 0 || ::fcntl(null->get(), F_SETFL, fl & ~O_NONBLOCK) < 0) {
    return sys_error("\"/dev/null\": clear O_NONBLOCK");
  }
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) continue;  // closed: nothing to redirect
    if (S_ISCHR(st.st_mode) && st.st_rdev == nst.st_rdev && ::dup3(null->get(), fd, 0) < 0) {
      return sys_error("reopen fd " + std::to_string(fd) + " on \"/dev/null\"");
    }
  }
  return {};
}

}  // namespace nsbox::rootfs::detail
