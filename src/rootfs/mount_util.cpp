// mount(2)/mount_setattr(2) through fds, remount with locked flags,
// /proc/self/mountinfo parsing.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>

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

}  // namespace

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
