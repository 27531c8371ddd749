// tmpcopyup: the content of a rootfs directory copied into the tmpfs that is
// about to cover it (podman sends it for tmpfs mounts over image
// directories; runc and crun copy the same way). The tmpfs root keeps the
// mode and owner its options give it, as in runc and crun.
//
// Every lookup is relative to a directory fd we hold, with O_NOFOLLOW: the
// copy never leaves the source directory, symlinks are recreated as links
// and never followed, and an entry swapped for another type between the
// stat and the open is refused.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs::detail {
namespace {

constexpr int kMaxDepth = 128;  // bounds the fds held open by the recursion

Error copy_error(const std::string& what, const std::string& path, int err = errno) {
  return sys_error("tmpcopyup: " + what + " \"" + path + "\"", err);
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
         (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT);
}

// Extended attributes the target filesystem refuses, or that need more
// privilege than we have, are skipped (crun does the same).
bool skippable_xattr_error(int err) {
  return err == EOPNOTSUPP || err == ENOTSUP || err == EPERM || err == EINVAL || err == EACCES;
}

Status copy_xattrs(int src, int dst, const std::string& path) {
  ssize_t n = ::flistxattr(src, nullptr, 0);
  if (n < 0) return skippable_xattr_error(errno) ? Status{} : copy_error("list xattrs of", path);
  if (n == 0) return {};
  std::vector<char> names(static_cast<size_t>(n));
  n = ::flistxattr(src, names.data(), names.size());
  if (n < 0) return copy_error("list xattrs of", path);
  for (size_t off = 0; off < static_cast<size_t>(n);) {
    const char* name = names.data() + off;
    off += std::char_traits<char>::length(name) + 1;
    ssize_t len = ::fgetxattr(src, name, nullptr, 0);
    if (len < 0) continue;  // removed meanwhile
    std::vector<char> value(static_cast<size_t>(len));
    len = ::fgetxattr(src, name, value.data(), value.size());
    if (len < 0) continue;
    if (::fsetxattr(dst, name, value.data(), static_cast<size_t>(len), 0) < 0 &&
        !skippable_xattr_error(errno)) {
      return copy_error(std::string("set xattr ") + name + " on", path);
    }
  }
  return {};
}

// Owner, then mode (chown clears set-id bits), then times, on an open fd.
Status copy_meta(int dst, const struct stat& st, const std::string& path) {
  if (::fchown(dst, st.st_uid, st.st_gid) < 0) return copy_error("chown", path);
  if (::fchmod(dst, st.st_mode & 07777) < 0) return copy_error("chmod", path);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst, times) < 0) return copy_error("set times of", path);
  return {};
}

// The same for an entry we cannot open (symlink, device node, fifo, socket).
Status copy_meta_at(int dst_dir, const char* name, const struct stat& st, const std::string& path) {
  if (::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
    return copy_error("chown", path);
  }
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst_dir, name, st.st_mode & 07777, 0) < 0) {
    return copy_error("chmod", path);
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) < 0) {
    return copy_error("set times of", path);
  }
  return {};
}

Status copy_data(int in, int out, const std::string& path) {
  for (;;) {
    ssize_t n = ::sendfile(out, in, nullptr, 1 << 20);
    if (n == 0) return {};
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EINVAL && errno != ENOSYS) return copy_error("copy", path);
    break;  // sendfile cannot do this pair: plain read/write
  }
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return copy_error("read", path);
    if (n == 0) return {};
    NSBOX_TRY(write_all(out, std::string_view(buf.data(), static_cast<size_t>(n))));
  }
}

// Opens `name` below dir_fd with `flags` and checks it is still what
// fstatat saw.
Result<UniqueFd> open_same(int dir_fd, const char* name, int flags, const struct stat& seen,
                           const std::string& path) {
  UniqueFd fd(::openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return copy_error("open", path);
  struct stat now {};
  if (::fstat(fd.get(), &now) < 0) return copy_error("stat", path);
  if (!same_file(now, seen)) return make_error("tmpcopyup: \"" + path + "\" changed while copied");
  return fd;
}

Status copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st,
                 const std::string& path) {
  auto in = open_same(src_dir, name, O_RDONLY | O_NOCTTY | O_NONBLOCK, st, path);
  if (!in) return std::move(in).error();
  UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return copy_error("create", path);
  NSBOX_TRY(copy_data(in->get(), out.get(), path));
  NSBOX_TRY(copy_xattrs(in->get(), out.get(), path));
  return copy_meta(out.get(), st, path);
}

Status copy_symlink(int src_dir, int dst_dir, const char* name, const struct stat& st,
                    const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = ::readlinkat(src_dir, name, target, sizeof target);
  if (n < 0) return copy_error("readlink", path);
  if (static_cast<size_t>(n) == sizeof target) return copy_error("readlink", path, ENAMETOOLONG);
  target[n] = '\0';
  if (::symlinkat(target, dst_dir, name) < 0) return copy_error("symlink", path);
  return copy_meta_at(dst_dir, name, st, path);
}

Status copy_node(int dst_dir, const char* name, const struct stat& st, const std::string& path) {
  if (::mknodat(dst_dir, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0) {
    return copy_error("mknod", path);
  }
  return copy_meta_at(dst_dir, name, st, path);
}

Status copy_dir(int src_dir, int dst_dir, const std::string& path, int depth);

Status copy_subdir(int src_dir, int dst_dir, const char* name, const struct stat& st,
                   const std::string& path, int depth) {
  auto src = open_same(src_dir, name, O_RDONLY | O_DIRECTORY, st, path);
  if (!src) return std::move(src).error();
  if (::mkdirat(dst_dir, name, 0700) < 0) return copy_error("mkdir", path);
  UniqueFd dst(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst) return copy_error("open", path);
  NSBOX_TRY(copy_dir(src->get(), dst.get(), path, depth + 1));
  NSBOX_TRY(copy_xattrs(src->get(), dst.get(), path));
  return copy_meta(dst.get(), st, path);  // last: the copy changed its mtime
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

Status copy_dir(int src_dir, int dst_dir, const std::string& path, int depth) {
  if (depth > kMaxDepth) return copy_error("copy", path, ELOOP);
  // A separate open file: readdir must not share the offset with src_dir.
  int listing = ::openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing < 0) return copy_error("open", path);
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(listing));
  if (!dir) {
    int err = errno;
    ::close(listing);
    return copy_error("read", path, err);
  }
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir.get());
    if (!e) {
      if (errno != 0) return copy_error("read", path);
      return {};
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string sub = path == "/" ? std::string() : path;
    sub += '/';
    sub += name;
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;  // removed since the listing
      return copy_error("stat", sub);
    }
    if (S_ISDIR(st.st_mode)) {
      NSBOX_TRY(copy_subdir(src_dir, dst_dir, name.c_str(), st, sub, depth));
    } else if (S_ISREG(st.st_mode)) {
      NSBOX_TRY(copy_file(src_dir, dst_dir, name.c_str(), st, sub));
    } else if (S_ISLNK(st.st_mode)) {
      NSBOX_TRY(copy_symlink(src_dir, dst_dir, name.c_str(), st, sub));
    } else {
      NSBOX_TRY(copy_node(dst_dir, name.c_str(), st, sub));
    }
  }
}

}  // namespace

Status copy_up(int src_dir, int dst_dir, const std::string& shown) {
  // Modes are set explicitly: no umask on what we create.
  UmaskGuard umask(0);
  return copy_dir(src_dir, dst_dir, shown, 0);
}

}  // namespace nsbox::rootfs::detail
