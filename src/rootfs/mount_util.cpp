// mount(2)/mount_setattr(2) through fds, remount with locked flags, the new
// mount API (open_tree/fsopen/fsmount/move_mount) that attaches a mount
// to a target fd and keeps an fd of it, /proc/self/mountinfo parsing.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/util.h"
#include "rootfs/internal.h"

namespace nsbox::rootfs::detail {
namespace {

#ifndef ST_NOSYMFOLLOW
constexpr unsigned long ST_NOSYMFOLLOW = 0x2000;
#endif

struct StFlag {
  unsigned long st;
  unsigned long ms;
};

constexpr StFlag kStFlags[] = {
    {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},           {ST_NODEV, MS_NODEV},
    {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME},         {ST_NODIRATIME, MS_NODIRATIME},
    {ST_RELATIME, MS_RELATIME}, {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
};

// Flags a less privileged mount namespace cannot clear on a mount it got
// from a more privileged one (MNT_LOCK_*).
constexpr unsigned long kLockable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
constexpr unsigned long kAtime = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        ok = ok && c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool parse_mountinfo_line(const std::string& line, MountInfo* out) {
  auto f = split(line, ' ');
  size_t dash = 6;
  while (dash < f.size() && f[dash] != "-") ++dash;
  if (dash + 3 >= f.size()) return false;
  out->root = unescape(f[3]);
  out->mountpoint = unescape(f[4]);
  out->fstype = f[dash + 1];
  out->source = unescape(f[dash + 2]);
  out->super_opts = f[dash + 3];
  return true;
}

// What fsmount(2) and fsconfig(2) express: per-mount attributes, and the
// superblock flags with an fsconfig name. Anything else goes through mount(2).
constexpr unsigned long kMountAttrFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                          MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
                                          MS_STRICTATIME | MS_NOSYMFOLLOW;

struct SbFlag {
  unsigned long ms;
  const char* name;
};

constexpr SbFlag kSbFlags[] = {
    {MS_RDONLY, "ro"},
    {MS_SYNCHRONOUS, "sync"},
    {MS_DIRSYNC, "dirsync"},
    {MS_LAZYTIME, "lazytime"},
};

// fsconfig(2) copies at most 255 bytes of a value.
constexpr size_t kMaxFsconfigValue = 255;

// MS_* -> MOUNT_ATTR_* as mount(2) applies them to a new mount: relatime
// unless noatime, strictatime overriding both.
uint64_t mount_attrs(unsigned long ms) {
  uint64_t a = 0;
  if (ms & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (ms & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (ms & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (ms & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (ms & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (ms & MS_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
  if (ms & MS_STRICTATIME) {
    a |= MOUNT_ATTR_STRICTATIME;
  } else if (ms & MS_NOATIME) {
    a |= MOUNT_ATTR_NOATIME;
  }
  return a;
}

// The data string as mount(2) would split it: on commas, except that tmpfs
// keeps a comma followed by a digit in the value (mpol=bind:0,2).
std::vector<std::string> fs_params(const std::string& fstype, const std::string& data) {
  std::vector<std::string> out;
  for (auto& tok : split(data, ',')) {
    if (tok.empty()) continue;
    if (fstype == "tmpfs" && !out.empty() && std::isdigit(static_cast<unsigned char>(tok[0]))) {
      out.back() += "," + tok;
      continue;
    }
    out.push_back(std::move(tok));
  }
  return out;
}

// The messages the filesystem left in its context ("e tmpfs: Bad value for
// 'size'"), without the severity letter.
std::string fs_log(int fsfd) {
  std::string out;
  char buf[512];
  for (int i = 0; i < 8; ++i) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string msg(buf, static_cast<size_t>(n));
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\0')) msg.pop_back();
    if (msg.size() > 2 && msg[1] == ' ') msg.erase(0, 2);
    if (!out.empty()) out += "; ";
    out += msg;
  }
  return out;
}

Error fs_error(const std::string& what, int fsfd, int err) {
  std::string log = fs_log(fsfd);
  std::string msg = what + ": " + std::strerror(err);
  if (!log.empty()) msg += " (" + log + ")";
  return make_error(std::move(msg), err);
}

}  // namespace

Result<UniqueFd> clone_mount(const std::string& what, int src_fd, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
  if (recursive) flags |= AT_RECURSIVE;
  UniqueFd tree(::open_tree(src_fd, "", flags));
  if (!tree) return sys_error(what);
  return tree;
}

Result<UniqueFd> create_fs_mount(const std::string& what, const std::string& fstype,
                                 const std::string& source, unsigned long flags,
                                 const std::string& data) {
  unsigned long sb_only = 0;
  for (const auto& f : kSbFlags) sb_only |= f.ms;
  if (flags & ~(kMountAttrFlags | sb_only)) {
    return make_error(what + ": flags need mount(2)", ENOSYS);
  }
  // Quoted values (context="a,b") are split by the LSM in mount(2) only.
  if (data.find('"') != std::string::npos) {
    return make_error(what + ": quoted option values need mount(2)", ENOSYS);
  }
  auto params = fs_params(fstype, data);
  for (const auto& p : params) {
    size_t eq = p.find('=');
    if (eq != std::string::npos && p.size() - eq - 1 > kMaxFsconfigValue) {
      return make_error(what + ": option value too long for fsconfig", ENOSYS);
    }
  }
  UniqueFd fsfd(::fsopen(fstype.c_str(), FSOPEN_CLOEXEC));
  if (!fsfd) return sys_error(what);
  if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", source.c_str(), 0) < 0) {
    return fs_error(what + ": source \"" + source + "\"", fsfd.get(), errno);
  }
  for (const auto& f : kSbFlags) {
    if ((flags & f.ms) && ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, f.name, nullptr, 0) < 0) {
      return fs_error(what + ": option \"" + f.name + "\"", fsfd.get(), errno);
    }
  }
  for (const auto& p : params) {
    size_t eq = p.find('=');
    int rc = eq == std::string::npos
                 ? ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, p.c_str(), nullptr, 0)
                 : ::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, p.substr(0, eq).c_str(),
                              p.c_str() + eq + 1, 0);
    if (rc < 0) {
      std::string shown = what;
      shown += ": option \"" + p + "\"";
      return fs_error(shown, fsfd.get(), errno);
    }
  }
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return fs_error(what, fsfd.get(), errno);
  }
  UniqueFd mnt(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(mount_attrs(flags))));
  if (!mnt) return fs_error(what, fsfd.get(), errno);
  return mnt;
}

Status attach_mount(const std::string& what, int mnt_fd, int target_fd) {
  if (::move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
      0) {
    return sys_error(what);
  }
  return {};
}

Status check_new_mount(const std::string& shown, int mnt_fd, int target_fd) {
  struct statx top {};
  struct statx below {};
  if (::statx(mnt_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &top) < 0 ||
      ::statx(target_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &below) < 0) {
    return sys_error("statx \"" + shown + "\"");
  }
  if (!(top.stx_mask & STATX_MNT_ID) || !(below.stx_mask & STATX_MNT_ID)) return {};
  bool root = (top.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) == 0 ||
              (top.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  if (root && top.stx_mnt_id != below.stx_mnt_id) return {};
  return make_error("\"" + shown + "\" changed while being mounted");
}

Status mount_fd(const std::string& what, const char* source, int target_fd, const char* fstype,
                unsigned long flags, const char* data) {
  std::string target = fd_path(target_fd);
  if (::mount(source, target.c_str(), fstype, flags, data) < 0) return sys_error(what);
  return {};
}

Result<unsigned long> mount_flags_of(int fd) {
  struct statvfs sv {};
  if (::fstatvfs(fd, &sv) < 0) return sys_error("statvfs");
  unsigned long ms = 0;
  for (const auto& f : kStFlags) {
    if (sv.f_flag & f.st) ms |= f.ms;
  }
  return ms;
}

Status remount_fd(const std::string& shown, int fd, unsigned long flags, unsigned long cleared) {
  flags = (flags & ~MS_REC) | MS_REMOUNT | MS_BIND;
  std::string what = "remount \"" + shown + "\"";
  auto st = mount_fd(what, nullptr, fd, nullptr, flags, nullptr);
  if (st || st.error().code != EPERM) return st;
  auto cur = mount_flags_of(fd);
  if (!cur) return st;
  // Locked flags cannot be dropped; refuse rather than silently keep one the
  // user explicitly asked to clear.
  if (*cur & cleared & kLockable) return st;
  unsigned long add = *cur & kLockable;
  if (!(flags & kAtime)) add |= *cur & (kAtime | MS_NODIRATIME);
  if ((flags | add) == flags) return st;
  return mount_fd(what, nullptr, fd, nullptr, flags | add, nullptr);
}

Status set_recursive_attrs(const std::string& shown, int fd, uint64_t set, uint64_t clr) {
  if (set == 0 && clr == 0) return {};
  struct mount_attr attr {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  if (::mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
    if (errno == ENOSYS) {
      return make_error("recursive mount options on \"" + shown +
                            "\": not supported yet (kernel lacks mount_setattr)",
                        ENOSYS);
    }
    return sys_error("set recursive mount options on \"" + shown + "\"");
  }
  return {};
}

Result<std::vector<MountInfo>> read_mountinfo() {
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return std::move(text).error();
  std::vector<MountInfo> out;
  for (const auto& line : split(*text, '\n')) {
    MountInfo mi;
    if (parse_mountinfo_line(line, &mi)) out.push_back(std::move(mi));
  }
  return out;
}

}  // namespace nsbox::rootfs::detail
