// In-root path resolution: openat2(RESOLVE_IN_ROOT) with a manual walk as the
// fallback and as the engine of mkdir_all_in_root.
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "common/syscalls.h"
#include "common/util.h"
#include "rootfs/internal.h"
#include "rootfs/rootfs.h"

namespace nsbox::rootfs {
namespace detail {

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string container_path(std::string_view p) { return clean_path("/" + std::string(p)); }

std::pair<std::string, std::string> split_last(const std::string& clean) {
  size_t pos = clean.rfind('/');
  if (pos == std::string::npos) return {"/", clean};
  return {pos == 0 ? "/" : clean.substr(0, pos), clean.substr(pos + 1)};
}

Result<std::string> path_in_root(int fd, const std::string& root_real) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
  if (n < 0) return sys_error("readlink " + fd_path(fd));
  std::string p(buf, static_cast<size_t>(n));
  if (root_real == "/") return p;
  if (p == root_real) return std::string("/");
  if (starts_with(p, root_real + "/")) return p.substr(root_real.size());
  return make_error("escapes rootfs (resolved to \"" + p + "\")");
}

}  // namespace detail

namespace {

using detail::fd_path;

constexpr int kMaxSymlinks = 40;  // MAXSYMLINKS
constexpr int kMaxRetries = 32;   // EAGAIN from openat2, mkdir races

std::deque<std::string> components(std::string_view path) {
  std::deque<std::string> out;
  for (auto& c : split(path, '/')) {
    if (!c.empty() && c != ".") out.push_back(std::move(c));
  }
  return out;
}

Error walk_error(const char* op, const std::string& path, int err) {
  return sys_error(std::string(op) + " \"" + path + "\"", err);
}

Result<std::string> read_link(int fd) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(fd, "", buf, sizeof buf);
  if (n < 0) return sys_error("readlink");
  if (n == 0 || static_cast<size_t>(n) == sizeof buf) return sys_error("readlink", ENOENT);
  return std::string(buf, static_cast<size_t>(n));
}

// procfs symlinks whose target is not a relative path ("self" -> "123",
// "mounts" -> "self/mounts") are magic links: an absolute host path or
// "pipe:[123]", "net:[4026531840]", "anon_inode:[eventfd]".
bool is_magic_link(int fd, const std::string& target) {
  struct statfs sf {};
  if (::fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) return false;
  return target.front() == '/' || target.find(':') != std::string::npos;
}

enum class WalkMode { kLookup, kMkdir };

// Component-by-component resolution: every step is an O_NOFOLLOW openat from a
// directory fd we hold; symlinks are expanded by us, absolute ones from the
// root; ".." pops our own stack so it can never climb above the root.
class Walker {
 public:
  Walker(int rootfd, std::string path, WalkMode mode = WalkMode::kLookup, mode_t dir_mode = 0)
      : rootfd_(rootfd), path_(std::move(path)), mode_(mode), dir_mode_(dir_mode) {}

  Result<UniqueFd> run(bool follow_last) {
    todo_ = components(path_);
    while (!todo_.empty()) {
      std::string comp = std::move(todo_.front());
      todo_.pop_front();
      if (comp == "..") {
        if (!stack_.empty()) stack_.pop_back();
        continue;
      }
      UniqueFd fd(::openat(cur(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) {
        NSBOX_TRY(create_missing(std::move(comp), errno));
        continue;
      }
      NSBOX_TRY(step(std::move(fd), follow_last));
    }
    if (!stack_.empty()) return std::move(stack_.back());
    UniqueFd root(::openat(rootfd_, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return walk_error("open", path_, errno);
    return root;
  }

 private:
  int cur() const { return stack_.empty() ? rootfd_ : stack_.back().get(); }

  // kMkdir: create the missing directory and look the component up again.
  Status create_missing(std::string comp, int err) {
    if (err != ENOENT || mode_ != WalkMode::kMkdir || ++retries_ > kMaxRetries) {
      return walk_error("open", path_, err);
    }
    if (::mkdirat(cur(), comp.c_str(), dir_mode_) < 0 && errno != EEXIST) {
      return walk_error("mkdir", path_, errno);
    }
    todo_.push_front(std::move(comp));
    return {};
  }

  // Descend into fd, or queue a symlink's target (absolute: from the root).
  Status step(UniqueFd fd, bool follow_last) {
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) return walk_error("stat", path_, errno);
    if (S_ISLNK(st.st_mode) && (follow_last || !todo_.empty())) {
      if (++links_ > kMaxSymlinks) return walk_error("open", path_, ELOOP);
      auto target = read_link(fd.get());
      if (!target) return walk_error("readlink", path_, target.error().code);
      // RESOLVE_NO_MAGICLINKS: /proc/<pid>/fd/N, cwd, root, exe... name
      // objects, not paths; their text (a host path) must not be walked.
      if (is_magic_link(fd.get(), *target)) return walk_error("open", path_, ELOOP);
      if (target->front() == '/') stack_.clear();
      auto parts = components(*target);
      todo_.insert(todo_.begin(), parts.begin(), parts.end());
      return {};
    }
    if (!todo_.empty() && !S_ISDIR(st.st_mode)) return walk_error("open", path_, ENOTDIR);
    stack_.push_back(std::move(fd));
    return {};
  }

  int rootfd_;
  std::string path_;
  WalkMode mode_;
  mode_t dir_mode_;
  std::deque<std::string> todo_;
  std::vector<UniqueFd> stack_;
  int links_ = 0;
  int retries_ = 0;
};

// Turn the O_PATH result of a walk into what open(flags) would have returned.
Result<UniqueFd> reopen_as(UniqueFd fd, const std::string& path, int flags) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return walk_error("stat", path, errno);
  if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) return walk_error("open", path, ENOTDIR);
  if (flags & O_PATH) return fd;
  if (S_ISLNK(st.st_mode)) return walk_error("open", path, ELOOP);
  UniqueFd out(::open(fd_path(fd.get()).c_str(), flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)));
  if (!out) return walk_error("open", path, errno);
  return out;
}

Result<UniqueFd> create_fallback(int rootfd, const std::string& path, int flags, mode_t mode) {
  auto [dir, base] = detail::split_last(detail::container_path(path));
  if (base.empty() || base == "..") return walk_error("open", path, ENOENT);
  auto dirfd = Walker(rootfd, dir).run(true);
  if (!dirfd) return std::move(dirfd).error();
  UniqueFd fd(::openat(dirfd->get(), base.c_str(), flags | O_NOFOLLOW, mode));
  if (!fd) return walk_error("open", path, errno);
  return fd;
}

Result<UniqueFd> open_fallback(int rootfd, const std::string& path, int flags, mode_t mode) {
  auto fd = Walker(rootfd, path).run(!(flags & O_NOFOLLOW));
  if (!fd) {
    if (fd.error().code == ENOENT && (flags & O_CREAT)) {
      return create_fallback(rootfd, path, flags, mode);
    }
    return fd;
  }
  if ((flags & O_CREAT) && (flags & O_EXCL)) return walk_error("open", path, EEXIST);
  return reopen_as(std::move(fd).value(), path, flags);
}

}  // namespace

Result<UniqueFd> open_in_root(int rootfd, const std::string& path, int flags, mode_t mode) {
  flags |= O_CLOEXEC;
  bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  open_how how{};
  how.flags = static_cast<uint64_t>(flags);
  how.mode = creates ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int i = 0; i < kMaxRetries; ++i) {
    int fd = sys::openat2(rootfd, path.c_str(), &how);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == EAGAIN) continue;  // a concurrent rename/mount: try again
    if (errno == ENOSYS) return open_fallback(rootfd, path, flags, mode);
    return walk_error("open", path, errno);
  }
  return walk_error("open", path, EAGAIN);
}

Result<UniqueFd> mkdir_all_in_root(int rootfd, const std::string& path, mode_t mode) {
  auto fd = Walker(rootfd, path, WalkMode::kMkdir, mode).run(true);
  if (!fd) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0) return walk_error("stat", path, errno);
  if (!S_ISDIR(st.st_mode)) return walk_error("mkdir", path, ENOTDIR);
  return fd;
}

namespace detail {

Result<UniqueFd> create_file_in_root(int rootfd, const std::string& path, mode_t mode) {
  auto fd = open_in_root(rootfd, path, O_PATH);
  if (fd || fd.error().code != ENOENT) return fd;
  auto [dir, base] = split_last(container_path(path));
  if (base.empty()) return walk_error("create", path, EINVAL);
  auto dirfd = mkdir_all_in_root(rootfd, dir, 0755);
  if (!dirfd) return std::move(dirfd).error();
  constexpr int kFlags = O_RDONLY | O_CREAT | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  UniqueFd f(::openat(dirfd->get(), base.c_str(), kFlags | O_EXCL | O_NOFOLLOW, mode));
  if (f) return f;
  if (errno != EEXIST) return walk_error("create", path, errno);
  // A dangling symlink: create its target, resolved in-root.
  return open_in_root(rootfd, path, kFlags, mode);
}

}  // namespace detail
}  // namespace nsbox::rootfs
