// prepare() and enter(): the order of operations follows runc
// (prepareRoot, mountToRootfs, createDevices, pivotRoot, readonlyPath,
// maskPath, finalizeRootfs).
#include "rootfs/rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace)

// linux.rootfsPropagation -> MS_* (0 when unset).
Result<unsigned long> root_propagation(const spec::Config& cfg) {
  if (!cfg.linux_ || cfg.linux_->rootfs_propagation.empty()) return 0UL;
  const std::string& v = cfg.linux_->rootfs_propagation;
  auto mf = parse_mount_options({v});
  if (!mf || mf->propagation == 0 || mf->flags != 0 || !mf->data.empty()) {
    return make_error("linux.rootfsPropagation: unknown value \"" + v + "\"");
  }
  return mf->propagation;
}

// The mount holding the rootfs must be private: pivot_root refuses a shared
// parent, and the rootfs bind mount must not propagate to the host (runc).
Status make_parent_private(std::string path) {
  for (;;) {
    if (::mount(nullptr, path.c_str(), nullptr, MS_PRIVATE, nullptr) == 0) return {};
    if (errno != EINVAL || path == "/") return sys_error("make \"" + path + "\" private");
    path = split_last(path).first;  // not a mount point: try its parent
  }
}

// The rootfs self bind mount, returned as an O_PATH fd of the new mount.
// root.path "/" (nsbox sandbox: the host's root) is bound onto the process
// root itself: a lookup of "/" stops at the process root below the new mount,
// so that mount is only reachable through the fd open_tree gives.
Result<UniqueFd> prepare_root(const std::string& root_real, unsigned long prop) {
  unsigned long flags = prop != 0 ? prop : MS_SLAVE | MS_REC;
  if (::mount(nullptr, "/", nullptr, flags, nullptr) < 0) {
    return sys_error("set propagation of \"/\"");
  }
  NSBOX_TRY(make_parent_private(root_real));
  if (root_real == "/") {
    const std::string what = "bind mount rootfs \"/\" onto itself";
    UniqueFd src(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!src) return sys_error("open \"/\"");
    auto tree = clone_mount(what, src.get(), true);
    if (!tree) {
      if (tree.error().code == ENOSYS) {
        return make_error("root.path \"/\": needs open_tree and move_mount (Linux 5.2)");
      }
      return std::move(tree).error();
    }
    NSBOX_TRY(attach_mount(what, tree->get(), src.get()));
    return tree;
  }
  if (::mount(root_real.c_str(), root_real.c_str(), "bind", MS_BIND | MS_REC, nullptr) < 0) {
    return sys_error("bind mount rootfs \"" + root_real + "\" onto itself");
  }
  UniqueFd rootfd(::open(root_real.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return sys_error("open rootfs \"" + root_real + "\"");
  return rootfd;
}

// kRecursiveReadonlyAnnotation: the whole rootfs tree read-only before any
// mount is made on it, so nothing can be created in it (mount targets must
// exist). The mounts made afterwards keep their own flags.
Status apply_root_annotations(const spec::Config& cfg, int rootfd) {
  auto it = cfg.annotations.find(kRecursiveReadonlyAnnotation);
  if (it == cfg.annotations.end()) return {};
  if (it->second != "true" && it->second != "false") {
    return make_error("annotations." + std::string(kRecursiveReadonlyAnnotation) +
                      ": must be \"true\" or \"false\"");
  }
  if (it->second == "false") return {};
  return set_recursive_attrs("rootfs", rootfd, MOUNT_ATTR_RDONLY, 0);
}

// A recursive bind of the path onto itself, made read-only through the new
// mount's fd (a second lookup of the path could reach another mount).
Status readonly_path(int rootfd, const std::string& path) {
  auto fd = open_in_root(rootfd, path, O_PATH);
  if (!fd) return fd.error().code == ENOENT ? Status{} : Status{std::move(fd).error()};
  std::string what = "bind mount \"" + path + "\"";
  UniqueFd top;
  auto tree = clone_mount(what, fd->get(), true);
  if (tree) {
    NSBOX_TRY(attach_mount(what, tree->get(), fd->get()));
    top = std::move(tree).value();
  } else if (tree.error().code != ENOSYS) {
    return std::move(tree).error();
  } else {
    NSBOX_TRY(
        mount_fd(what, fd_path(fd->get()).c_str(), fd->get(), nullptr, MS_BIND | MS_REC, nullptr));
    auto again = open_in_root(rootfd, path, O_PATH);
    if (!again) return std::move(again).error();
    NSBOX_TRY(check_new_mount(path, again->get(), fd->get()));
    top = std::move(again).value();
  }
  auto cur = mount_flags_of(top.get());
  if (!cur) return std::move(cur).error();
  return remount_fd(path, top.get(), (*cur & (MS_NOSUID | MS_NODEV | MS_NOEXEC)) | MS_RDONLY, 0);
}

// /dev/null for masking files, verified so a planted file cannot stand in.
Result<UniqueFd> open_dev_null(int rootfd) {
  auto fd = open_in_root(rootfd, "/dev/null", O_PATH);
  if (!fd) return std::move(fd).error();
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0) return sys_error("stat \"/dev/null\"");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    return make_error("\"/dev/null\" is not the null device");
  }
  return fd;
}

// Files get /dev/null bound over them, directories a read-only tmpfs (runc).
Status mask_path(int rootfd, const std::string& path, Result<UniqueFd>* dev_null) {
  auto fd = open_in_root(rootfd, path, O_PATH);
  if (!fd) return fd.error().code == ENOENT ? Status{} : Status{std::move(fd).error()};
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0) return sys_error("stat");
  if (S_ISDIR(st.st_mode)) {
    return mount_fd("mount tmpfs over \"" + path + "\"", "tmpfs", fd->get(), "tmpfs", MS_RDONLY,
                    nullptr);
  }
  if (!dev_null->ok()) *dev_null = open_dev_null(rootfd);
  if (!dev_null->ok()) return dev_null->error();
  return mount_fd("bind mount \"/dev/null\" over \"" + path + "\"",
                  fd_path((*dev_null)->get()).c_str(), fd->get(), nullptr, MS_BIND, nullptr);
}

Status apply_paths(int rootfd, const spec::Config& cfg) {
  if (!cfg.linux_) return {};
  for (const auto& p : cfg.linux_->readonly_paths) {
    NSBOX_TRY_CTX(readonly_path(rootfd, p), "linux.readonlyPaths \"" + p + "\"");
  }
  Result<UniqueFd> dev_null = make_error("not opened");
  for (const auto& p : cfg.linux_->masked_paths) {
    NSBOX_TRY_CTX(mask_path(rootfd, p, &dev_null), "linux.maskedPaths \"" + p + "\"");
  }
  return {};
}

// Mounts whose read-only remount or recursive attributes finalize() applies
// (tmpfs and /dev: see defers_ro).
bool has_deferred_work(const spec::Mount& m) {
  auto mf = parse_mount_options(m.options);
  if (!mf || !defers_ro(m, *mf)) return false;
  return (mf->flags & MS_RDONLY) != 0 || mf->rec_attr_set != 0 || mf->rec_attr_clr != 0;
}

// fds of those mounts, kept by prepare() for finalize() in the same process
// (the init), indexed like cfg.mounts: the deferred remount reaches the very
// mount prepare() made, whatever happened to its path since.
std::vector<UniqueFd>& deferred_mounts() {
  static std::vector<UniqueFd> fds;
  return fds;
}

// tmpfs and /dev mounts were left writable by prepare(): make them ro now and
// apply their recursive attributes.
Status finish_deferred(const Ctx& ctx) {
  auto& kept = deferred_mounts();
  for (size_t i = 0; i < ctx.cfg.mounts.size(); ++i) {
    const auto& m = ctx.cfg.mounts[i];
    if (!has_deferred_work(m)) continue;
    auto mf = parse_mount_options(m.options);
    std::string dest = container_path(m.destination);
    std::string ctx_msg = "mounts[" + std::to_string(i) + "]";
    // Without a kept fd (prepare() ran elsewhere), the path is all we have.
    auto fd = i < kept.size() && kept[i] ? Result<UniqueFd>(std::move(kept[i]))
                                         : reopen_target(ctx, dest);
    if (!fd) return std::move(fd).error().wrap(ctx_msg);
    if (mf->flags & MS_RDONLY) {
      NSBOX_TRY_CTX(remount_fd(dest, fd->get(), mf->flags, mf->clear), ctx_msg);
    }
    NSBOX_TRY_CTX(set_recursive_attrs(dest, fd->get(), mf->rec_attr_set, mf->rec_attr_clr),
                  ctx_msg);
  }
  kept.clear();
  return {};
}

// Keep the flags the kernel would refuse to drop (nosuid, nodev, atime...).
Status remount_root_readonly() {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open \"/\"");
  auto cur = mount_flags_of(root.get());
  if (!cur) return std::move(cur).error();
  unsigned long flags = *cur | MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (::mount(nullptr, "/", nullptr, flags, nullptr) < 0) {
    return sys_error("remount \"/\" read-only");
  }
  return {};
}

}  // namespace

Status prepare(const spec::Config& cfg, const std::string& rootfs, const Options& opt) {
  auto prop = root_propagation(cfg);
  if (!prop) return std::move(prop).error();
  if (opt.no_pivot && (*prop & MS_PRIVATE)) {
    return make_error(
        "linux.rootfsPropagation: [r]private is not safe without pivot_root "
        "(--no-pivot)");
  }
  char real[PATH_MAX];
  if (::realpath(rootfs.c_str(), real) == nullptr) return sys_error("rootfs \"" + rootfs + "\"");
  auto rootfd = prepare_root(real, *prop);
  if (!rootfd) return std::move(rootfd).error();
  NSBOX_TRY(apply_root_annotations(cfg, rootfd->get()));
  Ctx ctx{cfg, opt, rootfd->get(), real};
  auto& kept = deferred_mounts();
  kept.clear();
  kept.resize(cfg.mounts.size());
  for (size_t i = 0; i < cfg.mounts.size(); ++i) {
    auto fd = mount_entry(ctx, cfg.mounts[i]);
    if (!fd) return std::move(fd).error().wrap("mounts[" + std::to_string(i) + "]");
    if (has_deferred_work(cfg.mounts[i])) kept[i] = std::move(fd).value();
  }
  NSBOX_TRY(setup_devices(ctx));
  if (::fchdir(rootfd->get()) < 0) {
    return sys_error("chdir to rootfs \"" + std::string(real) + "\"");
  }
  return {};
}

Status switch_root(const spec::Config& cfg, const Options& opt) {
  auto prop = root_propagation(cfg);
  if (!prop) return std::move(prop).error();
  NSBOX_TRY(opt.no_pivot ? move_root_to_cwd() : pivot_to_cwd());
  if (*prop != 0 && ::mount(nullptr, "/", nullptr, *prop, nullptr) < 0) {
    return sys_error("linux.rootfsPropagation: set propagation of \"/\"");
  }
  if (needs_dev_setup(cfg)) NSBOX_TRY(reopen_dev_null());
  // runc creates process.cwd here, while "/" is still writable.
  if (cfg.process && !cfg.process->cwd.empty()) {
    UniqueFd rootfd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd) return sys_error("open \"/\"");
    auto cwd = mkdir_all_in_root(rootfd.get(), cfg.process->cwd, 0755);
    if (!cwd) return std::move(cwd).error().wrap("process.cwd");
  }
  return {};
}

Status finalize(const spec::Config& cfg) {
  UniqueFd rootfd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return sys_error("open \"/\"");
  NSBOX_TRY(apply_paths(rootfd.get(), cfg));
  const Options none;
  NSBOX_TRY(finish_deferred(Ctx{cfg, none, rootfd.get(), "/"}));
  if (cfg.root.readonly) NSBOX_TRY(remount_root_readonly());
  return {};
}

Status enter(const spec::Config& cfg, const Options& opt) {
  NSBOX_TRY(switch_root(cfg, opt));
  return finalize(cfg);
}

}  // namespace nsbox::rootfs
