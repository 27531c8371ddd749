#include "process/sealed_exe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/util.h"

namespace nsbox::process {
namespace {

constexpr unsigned kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
// Set in the environment of the re-executed process: never loop.
constexpr const char* kReexecMarker = "_NSBOX_SEALED_REEXEC";

}  // namespace

bool exe_is_protected() {
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals >= 0 && (static_cast<unsigned>(seals) & F_SEAL_WRITE) != 0) return true;
  struct statvfs sv {};
  return ::fstatvfs(fd.get(), &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0;
}

namespace {

// A detached bind mount of the binary alone, read-only: writing through
// /proc/PID/exe then fails with EROFS, and a container cannot clone or
// remount a mount outside its mount namespace. No copy is made.
Result<UniqueFd> read_only_image() {
  UniqueFd tree(::open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree) return sys_error("open_tree /proc/self/exe");
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    return sys_error("mount_setattr read-only");
  }
  return tree;
}

Result<UniqueFd> sealed_copy() {
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src) return sys_error("open /proc/self/exe");
  struct stat st {};
  if (::fstat(src.get(), &st) < 0) return sys_error("stat /proc/self/exe");
  UniqueFd mem(::memfd_create("nsbox", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return sys_error("memfd_create");
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = ::sendfile(mem.get(), src.get(), nullptr, static_cast<size_t>(st.st_size - done));
    if (n <= 0) return n < 0 ? sys_error("copy /proc/self/exe") : make_error("short copy");
    done += n;
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) < 0) return sys_error("seal the nsbox copy");
  return mem;
}

}  // namespace

Error reexec_protected(const sigset_t* mask) {
  if (std::getenv(kReexecMarker) != nullptr) {
    return make_error("re-executed from a protected image, yet /proc/self/exe is writable");
  }
  auto image = read_only_image();
  if (!image) image = sealed_copy();
  if (!image) return std::move(image).error();
  auto cmdline = read_file("/proc/self/cmdline");
  if (!cmdline) return std::move(cmdline).error();
  std::vector<std::string> args = split(*cmdline, '\0');
  if (!args.empty() && args.back().empty()) args.pop_back();
  auto argv = c_strings(args);
  sigset_t before;
  ::sigprocmask(SIG_SETMASK, mask, &before);
  ::setenv(kReexecMarker, "1", 1);
  ::execveat(image->get(), "", argv.data(), environ, AT_EMPTY_PATH);
  Error e = sys_error("execute the protected nsbox image");
  ::unsetenv(kReexecMarker);
  ::sigprocmask(SIG_SETMASK, &before, nullptr);
  return e;
}

}  // namespace nsbox::process
