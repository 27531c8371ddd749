// OCI "Linux mount options" -> MS_* flags, propagation, recursive attributes
// and filesystem data. Same table as runc's specconv.
#include <sys/mount.h>

#include <algorithm>
#include <string_view>

#include "rootfs/rootfs.h"

namespace nsbox::rootfs {
namespace {

struct FlagOpt {
  std::string_view name;
  bool clear;
  unsigned long flag;
};

constexpr FlagOpt kFlagOpts[] = {
    {"acl", false, MS_POSIXACL},
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noacl", true, MS_POSIXACL},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
};

struct PropOpt {
  std::string_view name;
  unsigned long flag;
};

constexpr PropOpt kPropOpts[] = {
    {"private", MS_PRIVATE},
    {"shared", MS_SHARED},
    {"slave", MS_SLAVE},
    {"unbindable", MS_UNBINDABLE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"rshared", MS_SHARED | MS_REC},
    {"rslave", MS_SLAVE | MS_REC},
    {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Recursive attributes (mount_setattr AT_RECURSIVE). The atime values are an
// enum inside MOUNT_ATTR__ATIME, so they always clear the whole field.
struct RecOpt {
  std::string_view name;
  bool clear;
  uint64_t attr;
};

constexpr RecOpt kRecOpts[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

struct AtimeOpt {
  std::string_view name;
  uint64_t attr;
};

constexpr AtimeOpt kRecAtimeOpts[] = {
    {"ratime", MOUNT_ATTR_RELATIME},      {"rrelatime", MOUNT_ATTR_RELATIME},
    {"rnorelatime", MOUNT_ATTR_RELATIME}, {"rnostrictatime", MOUNT_ATTR_RELATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME},     {"rstrictatime", MOUNT_ATTR_STRICTATIME},
};

// Options that are neither MS_* flags nor filesystem data.
constexpr std::string_view kTmpcopyup = "tmpcopyup";

constexpr std::string_view kUnsupported[] = {"idmap", "ridmap"};

template <typename T, size_t N>
const T* find_opt(const T (&table)[N], std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

void apply_flag(const FlagOpt& f, MountFlags* out) {
  if (f.clear) {
    out->flags &= ~f.flag;
    out->clear |= f.flag;
  } else {
    out->flags |= f.flag;
    out->clear &= ~f.flag;
  }
  if (f.name == "bind") out->bind = true;
  if (f.name == "rbind") out->rbind = true;
}

void apply_rec(const RecOpt& r, MountFlags* out) {
  if (r.clear) {
    out->rec_attr_clr |= r.attr;
    out->rec_attr_set &= ~r.attr;
  } else {
    out->rec_attr_set |= r.attr;
    out->rec_attr_clr &= ~r.attr;
  }
}

void apply_rec_atime(const AtimeOpt& a, MountFlags* out) {
  out->rec_attr_set = (out->rec_attr_set & ~uint64_t{MOUNT_ATTR__ATIME}) | a.attr;
  out->rec_attr_clr |= MOUNT_ATTR__ATIME;
}

}  // namespace

Result<MountFlags> parse_mount_options(const std::vector<std::string>& options) {
  MountFlags out;
  for (const auto& opt : options) {
    for (auto name : kUnsupported) {
      if (opt == name) return make_error("mount option \"" + opt + "\": not supported yet");
    }
    if (opt == kTmpcopyup) {
      out.tmpcopyup = true;
    } else if (const auto* f = find_opt(kFlagOpts, opt)) {
      apply_flag(*f, &out);
    } else if (const auto* p = find_opt(kPropOpts, opt)) {
      out.propagation = p->flag;
    } else if (const auto* r = find_opt(kRecOpts, opt)) {
      apply_rec(*r, &out);
    } else if (const auto* a = find_opt(kRecAtimeOpts, opt)) {
      apply_rec_atime(*a, &out);
    } else if (!opt.empty()) {
      if (!out.data.empty()) out.data += ',';
      out.data += opt;
    }
  }
  return out;
}

std::vector<std::string> known_mount_options() {
  std::vector<std::string> out{std::string(kTmpcopyup)};
  for (const auto& e : kFlagOpts) out.emplace_back(e.name);
  for (const auto& e : kPropOpts) out.emplace_back(e.name);
  for (const auto& e : kRecOpts) out.emplace_back(e.name);
  for (const auto& e : kRecAtimeOpts) out.emplace_back(e.name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace nsbox::rootfs
