// rootfs: option parsing, in-root resolution, and prepare()/enter() on a tiny
// busybox rootfs. Everything that mounts runs in a forked child that first
// enters its own mount namespace (rslave "/"), so nothing leaks to the host;
// the child reports failures as text through a pipe (no gtest in the child).
#include "rootfs/rootfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/syscalls.h"
#include "common/util.h"

namespace nsbox::rootfs {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- helpers

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nsbox-rootfs-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)remove_tree(path_);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Failures collected in the child, returned as one string ("" = all good).
class Checks {
 public:
  void expect(bool ok, const std::string& what) {
    if (!ok) out_ += what + "; ";
  }
  void ok(const Status& st, const std::string& what) {
    if (!st) out_ += what + ": " + st.error().msg + "; ";
  }
  const std::string& result() const { return out_; }

 private:
  std::string out_;
};

// Run fn in a child in a new mount namespace; returns its failure text.
std::string run_isolated(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string msg;
    if (::unshare(CLONE_NEWNS) < 0) {
      msg = "unshare(CLONE_NEWNS) failed";
    } else if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
      msg = "make / rslave failed";
    } else {
      msg = fn();
    }
    (void)write_all(p[1], msg);
    ::_exit(msg.empty() ? 0 : 1);
  }
  ::close(p[1]);
  auto out = read_all(p[0]);
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string msg = out ? *out : "read failed";
  if (msg.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    msg = "child failed, status " + std::to_string(status);
  }
  return msg;
}

void write_text(const std::string& path, const std::string& text) {
  ASSERT_TRUE(write_file_atomic(path, text, 0644).ok()) << path;
}

// A minimal rootfs with a static busybox: <dir>/rootfs.
std::string make_rootfs(const TempDir& dir) {
  std::string r = dir / "rootfs";
  for (const char* d : {"bin", "proc", "dev", "etc", "sys", "tmp", "run", "var"}) {
    fs::create_directories(r + "/" + d);
  }
  fs::copy_file("/bin/busybox", r + "/bin/busybox");
  fs::create_symlink("busybox", r + "/bin/sh");
  fs::create_symlink("/run", r + "/var/run");
  write_text(r + "/etc/hostname", "nsbox\n");
  return r;
}

bool have_busybox() { return ::access("/bin/busybox", X_OK) == 0; }

spec::Mount mnt(std::string dest, std::string type, std::string source,
                std::vector<std::string> options) {
  return spec::Mount{std::move(dest), std::move(type), std::move(source), std::move(options)};
}

spec::Config base_config() {
  spec::Config cfg;
  cfg.root.path = "rootfs";
  cfg.linux_ = spec::Linux{};
  cfg.mounts = {
      mnt("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
  };
  return cfg;
}

struct stat stat_of(const std::string& p, bool follow = true) {
  struct stat st {};
  if ((follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) < 0) st.st_mode = 0;
  return st;
}

unsigned long vfs_flags(const std::string& p) {
  struct statvfs sv {};
  return ::statvfs(p.c_str(), &sv) == 0 ? sv.f_flag : ~0UL;
}

bool is_ro(const std::string& p) { return (vfs_flags(p) & ST_RDONLY) != 0 && vfs_flags(p) != ~0UL; }

long fs_magic(const std::string& p) {
  struct statfs sf {};
  return ::statfs(p.c_str(), &sf) == 0 ? static_cast<long>(sf.f_type) : -1;
}

bool is_dev(const std::string& p, unsigned maj, unsigned min) {
  struct stat st = stat_of(p);
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(maj, min);
}

std::string link_of(const std::string& p) {
  char buf[256];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// Run argv in the (already entered) container; true when it exits 0.
bool run_ok(const std::vector<const char*>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (auto* a : argv) args.push_back(const_cast<char*>(a));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// prepare + enter from the bundle directory; "" on success.
std::string prepare_and_enter(const spec::Config& cfg, const std::string& bundle,
                              const Options& opt) {
  if (::chdir(bundle.c_str()) < 0) return "chdir bundle failed";
  if (auto st = prepare(cfg, "rootfs", opt); !st) return "prepare: " + st.error().msg;
  if (auto st = enter(cfg, opt); !st) return "enter: " + st.error().msg;
  return "";
}

// ------------------------------------------------------- mount options

struct OptCase {
  const char* opt;
  unsigned long flags;
  unsigned long clear;
};

TEST(RootfsMountOptions, SingleOptionTable) {
  const OptCase cases[] = {
      {"async", 0, MS_SYNCHRONOUS},
      {"atime", 0, MS_NOATIME},
      {"bind", MS_BIND, 0},
      {"defaults", 0, 0},
      {"dev", 0, MS_NODEV},
      {"diratime", 0, MS_NODIRATIME},
      {"dirsync", MS_DIRSYNC, 0},
      {"exec", 0, MS_NOEXEC},
      {"iversion", MS_I_VERSION, 0},
      {"lazytime", MS_LAZYTIME, 0},
      {"loud", 0, MS_SILENT},
      {"mand", MS_MANDLOCK, 0},
      {"noatime", MS_NOATIME, 0},
      {"nodev", MS_NODEV, 0},
      {"nodiratime", MS_NODIRATIME, 0},
      {"noexec", MS_NOEXEC, 0},
      {"noiversion", 0, MS_I_VERSION},
      {"nolazytime", 0, MS_LAZYTIME},
      {"nomand", 0, MS_MANDLOCK},
      {"norelatime", 0, MS_RELATIME},
      {"nostrictatime", 0, MS_STRICTATIME},
      {"nosuid", MS_NOSUID, 0},
      {"nosymfollow", MS_NOSYMFOLLOW, 0},
      {"rbind", MS_BIND | MS_REC, 0},
      {"relatime", MS_RELATIME, 0},
      {"remount", MS_REMOUNT, 0},
      {"ro", MS_RDONLY, 0},
      {"rw", 0, MS_RDONLY},
      {"silent", MS_SILENT, 0},
      {"strictatime", MS_STRICTATIME, 0},
      {"suid", 0, MS_NOSUID},
      {"symfollow", 0, MS_NOSYMFOLLOW},
      {"sync", MS_SYNCHRONOUS, 0},
  };
  for (const auto& c : cases) {
    auto r = parse_mount_options({c.opt});
    ASSERT_TRUE(r.ok()) << c.opt;
    EXPECT_EQ(r->flags, c.flags) << c.opt;
    EXPECT_EQ(r->clear, c.clear) << c.opt;
    EXPECT_EQ(r->data, "") << c.opt;
  }
}

TEST(RootfsMountOptions, Propagation) {
  const std::pair<const char*, unsigned long> cases[] = {
      {"private", MS_PRIVATE},
      {"shared", MS_SHARED},
      {"slave", MS_SLAVE},
      {"unbindable", MS_UNBINDABLE},
      {"rprivate", MS_PRIVATE | MS_REC},
      {"rshared", MS_SHARED | MS_REC},
      {"rslave", MS_SLAVE | MS_REC},
      {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  for (const auto& [opt, flag] : cases) {
    auto r = parse_mount_options({opt});
    ASSERT_TRUE(r.ok()) << opt;
    EXPECT_EQ(r->propagation, flag) << opt;
    EXPECT_EQ(r->flags, 0UL) << opt;
  }
  auto last = parse_mount_options({"shared", "rslave"});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
}

TEST(RootfsMountOptions, Combined) {
  auto r =
      parse_mount_options({"rbind", "nosuid", "ro", "rw", "mode=755", "size=65536k", "rprivate"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->rbind);
  EXPECT_FALSE(r->bind);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_NOSUID));
  EXPECT_EQ(r->clear, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(r->propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(r->data, "mode=755,size=65536k");

  auto b = parse_mount_options({"bind", "rw", "ro"});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->bind);
  EXPECT_EQ(b->flags, static_cast<unsigned long>(MS_BIND | MS_RDONLY));
  EXPECT_EQ(b->clear, 0UL);
}

TEST(RootfsMountOptions, RecursiveAttributes) {
  auto r =
      parse_mount_options({"rro", "rnosuid", "rnodev", "rnoexec", "rnosymfollow", "rnodiratime"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rec_attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                   MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                                   MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODIRATIME));
  EXPECT_EQ(r->rec_attr_clr, 0u);
  EXPECT_EQ(r->flags, 0UL);

  auto flip =
      parse_mount_options({"rro", "rrw", "rsuid", "rdev", "rexec", "rsymfollow", "rdiratime"});
  ASSERT_TRUE(flip.ok());
  EXPECT_EQ(flip->rec_attr_set, 0u);
  EXPECT_EQ(
      flip->rec_attr_clr,
      static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                            MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODIRATIME));

  const std::pair<const char*, uint64_t> atimes[] = {
      {"rnoatime", MOUNT_ATTR_NOATIME},     {"rstrictatime", MOUNT_ATTR_STRICTATIME},
      {"rrelatime", MOUNT_ATTR_RELATIME},   {"ratime", MOUNT_ATTR_RELATIME},
      {"rnorelatime", MOUNT_ATTR_RELATIME}, {"rnostrictatime", MOUNT_ATTR_RELATIME},
  };
  for (const auto& [opt, attr] : atimes) {
    auto a = parse_mount_options({"rnoatime", opt});
    ASSERT_TRUE(a.ok()) << opt;
    EXPECT_EQ(a->rec_attr_set, attr) << opt;
    EXPECT_EQ(a->rec_attr_clr, static_cast<uint64_t>(MOUNT_ATTR__ATIME)) << opt;
  }
}

TEST(RootfsMountOptions, Unsupported) {
  for (const char* opt : {"idmap", "ridmap"}) {
    auto r = parse_mount_options({"rbind", opt});
    ASSERT_FALSE(r.ok()) << opt;
    EXPECT_EQ(r.error().msg, std::string("mount option \"") + opt + "\": not supported yet");
  }
}

TEST(RootfsMountOptions, Tmpcopyup) {
  auto r = parse_mount_options({"nosuid", "tmpcopyup", "mode=755"});
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_TRUE(r->tmpcopyup);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(r->data, "mode=755");  // not passed to the filesystem
  EXPECT_FALSE(parse_mount_options({"nosuid"})->tmpcopyup);
}

// The "Linux mount options" table of the runtime spec (config.md).
constexpr const char* kSpecMountOptions[] = {
    "async",          "atime",      "bind",         "defaults",    "dev",
    "diratime",       "dirsync",    "exec",         "iversion",    "lazytime",
    "loud",           "mand",       "noatime",      "nodev",       "nodiratime",
    "noexec",         "noiversion", "nolazytime",   "nomand",      "norelatime",
    "nostrictatime",  "nosuid",     "nosymfollow",  "private",     "ratime",
    "rbind",          "rdev",       "rdiratime",    "relatime",    "remount",
    "rexec",          "rnoatime",   "rnodiratime",  "rnoexec",     "rnorelatime",
    "rnostrictatime", "rnosuid",    "rnosymfollow", "ro",          "rprivate",
    "rrelatime",      "rro",        "rrw",          "rshared",     "rslave",
    "rstrictatime",   "rsuid",      "rsymfollow",   "runbindable", "rw",
    "shared",         "silent",     "slave",        "strictatime", "suid",
    "symfollow",      "sync",       "tmpcopyup",    "unbindable",
};

TEST(RootfsMountOptions, KnownMountOptions) {
  auto known = known_mount_options();
  ASSERT_FALSE(known.empty());
  EXPECT_TRUE(std::is_sorted(known.begin(), known.end()));
  EXPECT_EQ(std::adjacent_find(known.begin(), known.end()), known.end()) << "duplicates";
  auto has = [&](const std::string& o) {
    return std::binary_search(known.begin(), known.end(), o);
  };
  // Each one is taken by the parser as an option, not as filesystem data.
  for (const auto& o : known) {
    auto r = parse_mount_options({o});
    ASSERT_TRUE(r.ok()) << o << ": " << r.error().msg;
    EXPECT_EQ(r->data, "") << o;
  }
  // The spec's whole vocabulary, and the names runc also takes beyond it
  // (the table has "rdev" but misses its opposite "rnodev").
  for (const char* o : kSpecMountOptions) EXPECT_TRUE(has(o)) << o;
  for (const char* o : {"acl", "noacl", "rnodev"}) EXPECT_TRUE(has(o)) << o;
  EXPECT_EQ(known.size(), std::size(kSpecMountOptions) + 3);
  // Unsupported ones and filesystem data are not listed.
  for (const char* o : {"idmap", "ridmap", "mode=755", "size=64k", "newinstance", ""}) {
    EXPECT_FALSE(has(o)) << o;
  }
}

// ------------------------------------------------------- in-root resolution

// Parameter: true = force the manual walk (openat2 reports ENOSYS).
class RootfsOpenInRoot : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    root_ = dir_ / "root";
    for (const char* d : {"run", "etc", "sub/dir"}) fs::create_directories(root_ + "/" + d);
    write_text(root_ + "/run/x", "in-root run\n");
    write_text(root_ + "/etc/passwd", "in-root passwd\n");
    fs::create_symlink("/run", root_ + "/var");  // absolute, like var/run -> /run
    fs::create_symlink("../../../../../../../etc", root_ + "/sub/dir/esc");
    fs::create_symlink("/etc", root_ + "/sub/dir/abs");
    fs::create_symlink("loop-b", root_ + "/loop-a");
    fs::create_symlink("loop-a", root_ + "/loop-b");
    rootfd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootfd_.valid());
  }
  void TearDown() override { sys::clear_failures(); }

  Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0) {
    if (GetParam()) sys::inject_failure(sys::Call::kOpenat2, ENOSYS);
    return open_in_root(rootfd_.get(), path, flags, mode);
  }
  // The fd refers to the same inode as root/<rel>.
  bool same(const Result<UniqueFd>& fd, const std::string& rel) {
    struct stat a {};
    struct stat b = stat_of(root_ + "/" + rel, false);
    return fd.ok() && ::fstat(fd->get(), &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
  }

  TempDir dir_;
  std::string root_;
  UniqueFd rootfd_;
};

TEST_P(RootfsOpenInRoot, AbsoluteSymlinkStaysInRoot) {
  EXPECT_TRUE(same(open("/var/x", O_RDONLY), "run/x"));
  EXPECT_TRUE(same(open("var/x", O_PATH), "run/x"));
  EXPECT_TRUE(same(open("/sub/dir/abs/passwd", O_RDONLY), "etc/passwd"));
  auto text = read_all(open("/var/x", O_RDONLY)->get());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "in-root run\n");
}

TEST_P(RootfsOpenInRoot, DotDotCannotEscape) {
  EXPECT_TRUE(same(open("../../../../etc/passwd", O_RDONLY), "etc/passwd"));
  EXPECT_TRUE(same(open("/sub/dir/esc/passwd", O_RDONLY), "etc/passwd"));
  EXPECT_TRUE(same(open("/sub/../..", O_PATH | O_DIRECTORY), "."));
}

TEST_P(RootfsOpenInRoot, SymlinkLoopAndMissing) {
  auto loop = open("/loop-a", O_RDONLY);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().code, ELOOP);
  auto missing = open("/run/nope", O_RDONLY);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().msg.find("/run/nope"), std::string::npos) << missing.error().msg;
  auto notdir = open("/run/x/y", O_RDONLY);
  ASSERT_FALSE(notdir.ok());
  EXPECT_EQ(notdir.error().code, ENOTDIR);
}

TEST_P(RootfsOpenInRoot, NoFollowAndCreate) {
  auto link = open("/var", O_PATH | O_NOFOLLOW);
  ASSERT_TRUE(link.ok());
  struct stat st {};
  ASSERT_EQ(::fstat(link->get(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  auto created = open("/var/new", O_WRONLY | O_CREAT, 0640);
  ASSERT_TRUE(created.ok()) << created.error().msg;
  EXPECT_TRUE(S_ISREG(stat_of(root_ + "/run/new").st_mode));
  EXPECT_FALSE(open("/var/new", O_WRONLY | O_CREAT | O_EXCL, 0640).ok());
}

INSTANTIATE_TEST_SUITE_P(Rootfs, RootfsOpenInRoot, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Walk" : "Openat2"; });

TEST(RootfsMkdirAll, ThroughSymlinksInsideRoot) {
  TempDir dir;
  std::string root = dir / "root";
  fs::create_directories(root + "/run");
  fs::create_symlink("/run", root + "/var");
  std::string host_made = "/nsbox-rootfs-made-" + std::to_string(::getpid());
  fs::create_symlink(host_made, root + "/link");  // dangling, absolute
  write_text(root + "/file", "x");
  UniqueFd rootfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(rootfd.valid());

  auto a = mkdir_all_in_root(rootfd.get(), "/var/a/b", 0755);
  ASSERT_TRUE(a.ok()) << a.error().msg;
  EXPECT_TRUE(S_ISDIR(stat_of(root + "/run/a/b").st_mode));
  struct stat st {};
  ASSERT_EQ(::fstat(a->get(), &st), 0);
  EXPECT_EQ(st.st_ino, stat_of(root + "/run/a/b").st_ino);

  auto b = mkdir_all_in_root(rootfd.get(), "/link/c", 0700);
  ASSERT_TRUE(b.ok()) << b.error().msg;
  EXPECT_TRUE(S_ISDIR(stat_of(root + host_made + "/c").st_mode));
  EXPECT_EQ(stat_of(root + host_made + "/c").st_mode & 07777, 0700u);
  EXPECT_NE(::access(host_made.c_str(), F_OK), 0) << "created on the host";

  EXPECT_TRUE(mkdir_all_in_root(rootfd.get(), "/../../up", 0755).ok());
  EXPECT_TRUE(S_ISDIR(stat_of(root + "/up").st_mode));

  auto bad = mkdir_all_in_root(rootfd.get(), "/file/x", 0755);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ENOTDIR);
}

// The walk refuses magic links (RESOLVE_NO_MAGICLINKS): the text of
// /proc/self/fd/N is the path of whatever fd N is, not a place in the root.
// Here the root is "/", where walking that text would reach the directory.
TEST(RootfsMkdirAll, MagicLinksAreRefused) {
  TempDir dir;
  UniqueFd target(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd rootfd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(target.valid() && rootfd.valid());
  for (std::string link :
       {"/proc/self/fd/" + std::to_string(target.get()), std::string("/proc/self/cwd")}) {
    auto r = mkdir_all_in_root(rootfd.get(), link + "/made", 0755);
    ASSERT_FALSE(r.ok()) << link;
    EXPECT_EQ(r.error().code, ELOOP) << link << ": " << r.error().msg;
  }
  EXPECT_NE(::access((dir / "made").c_str(), F_OK), 0) << "created through a magic link";
  // Ordinary procfs symlinks ("self" -> "<pid>") still resolve.
  auto self = mkdir_all_in_root(rootfd.get(), "/proc/self/fdinfo", 0755);
  ASSERT_TRUE(self.ok()) << self.error().msg;
}

// ------------------------------------------------------- prepare + enter

TEST(RootfsPrepareEnter, FullRootfsWithPivot) {
  if (!have_busybox()) GTEST_SKIP() << "apt-get install -y busybox-static";
  TempDir dir;
  std::string rootfs = make_rootfs(dir);
  fs::create_directories(dir / "data/secret");
  write_text(dir / "data/hello", "hello\n");
  write_text(dir / "data/secret/key", "key\n");
  write_text(dir / "hostfile", "hf\n");
  write_text(rootfs + "/etc/secretfile", "s\n");
  fs::create_symlink("/etc/secretfile", rootfs + "/maskme");

  spec::Config cfg = base_config();
  cfg.root.readonly = true;
  cfg.mounts.push_back(mnt("/dev/pts", "devpts", "devpts",
                           {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  cfg.mounts.push_back(mnt("/data", "none", dir / "data", {"rbind", "ro", "nosuid"}));
  cfg.mounts.push_back(mnt("/etc/hostfile", "bind", "hostfile", {"ro"}));  // relative: bundle
  cfg.mounts.push_back(mnt("/ro-tmp", "tmpfs", "tmpfs", {"ro", "nodev"}));
  cfg.linux_->masked_paths = {"/proc/timer_list", "/proc/acpi", "/proc/kcore-none", "/data/secret",
                              "/maskme"};
  cfg.linux_->readonly_paths = {"/proc/sys", "/nonexistent"};
  cfg.linux_->devices.push_back(spec::Device{"/dev/fuse", 'c', 10, 229, 0600, 1000, 1000});
  cfg.process = spec::Process{};
  cfg.process->cwd = "/work/dir";  // created before "/" goes read-only

  std::string msg = run_isolated([&] {
    if (auto e = prepare_and_enter(cfg, dir.path(), {}); !e.empty()) return e;
    Checks c;
    char cwd[256];
    c.expect(::getcwd(cwd, sizeof cwd) && std::string(cwd) == "/", "cwd is not /");
    c.expect(::access(dir.path().c_str(), F_OK) != 0, "host path still reachable");
    c.expect(fs_magic("/proc") == PROC_SUPER_MAGIC, "/proc not procfs");
    c.expect(fs_magic("/dev") == TMPFS_MAGIC, "/dev not tmpfs");
    c.expect((vfs_flags("/dev") & ST_NOSUID) != 0, "/dev not nosuid");
    c.expect(fs_magic("/dev/pts") == DEVPTS_SUPER_MAGIC, "/dev/pts not devpts");
    for (auto [name, mi] :
         {std::pair{"null", 3}, {"zero", 5}, {"full", 7}, {"random", 8}, {"urandom", 9}}) {
      std::string p = std::string("/dev/") + name;
      c.expect(is_dev(p, 1, mi), p + " wrong");
      c.expect((stat_of(p).st_mode & 07777) == 0666, p + " mode");
    }
    c.expect(is_dev("/dev/tty", 5, 0), "/dev/tty wrong");
    c.expect(is_dev("/dev/fuse", 10, 229), "/dev/fuse wrong");
    c.expect((stat_of("/dev/fuse").st_mode & 07777) == 0600, "/dev/fuse mode");
    c.expect(stat_of("/dev/fuse").st_uid == 1000 && stat_of("/dev/fuse").st_gid == 1000,
             "/dev/fuse owner");
    c.expect(link_of("/dev/fd") == "/proc/self/fd", "/dev/fd link");
    c.expect(link_of("/dev/stdin") == "/proc/self/fd/0", "/dev/stdin link");
    c.expect(link_of("/dev/stderr") == "/proc/self/fd/2", "/dev/stderr link");
    c.expect(link_of("/dev/ptmx") == "pts/ptmx", "/dev/ptmx link");
    c.expect(is_ro("/data") && (vfs_flags("/data") & ST_NOSUID), "/data not ro,nosuid");
    c.expect(::access("/data/hello", R_OK) == 0, "/data/hello missing");
    c.expect(is_ro("/etc/hostfile"), "/etc/hostfile not ro");
    c.expect(is_ro("/ro-tmp") && (vfs_flags("/ro-tmp") & ST_NODEV), "/ro-tmp not ro,nodev");
    c.expect(is_dev("/proc/timer_list", 1, 3), "/proc/timer_list not masked");
    c.expect(fs_magic("/proc/acpi") == TMPFS_MAGIC && is_ro("/proc/acpi"), "/proc/acpi not masked");
    c.expect(fs_magic("/data/secret") == TMPFS_MAGIC && ::access("/data/secret/key", F_OK) != 0,
             "/data/secret not masked");
    c.expect(is_dev("/etc/secretfile", 1, 3), "symlinked masked path not masked in-root");
    c.expect(is_ro("/proc/sys") && !is_ro("/proc"), "/proc/sys not ro (or /proc ro)");
    c.expect(is_ro("/"), "/ not ro");
    c.expect(S_ISDIR(stat_of("/work/dir").st_mode), "process.cwd not created");
    c.expect(::mkdir("/newdir", 0755) < 0 && errno == EROFS, "/ writable");
    c.expect(run_ok({"/bin/busybox", "sh", "-c", "test -c /dev/null && read l </etc/hostfile"}),
             "busybox in container failed");
    return c.result();
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepareEnter, NoPivotMovesAndChroots) {
  if (!have_busybox()) GTEST_SKIP() << "apt-get install -y busybox-static";
  TempDir dir;
  std::string rootfs = make_rootfs(dir);
  write_text(rootfs + "/marker", "m\n");
  ino_t marker = stat_of(rootfs + "/marker").st_ino;
  spec::Config cfg = base_config();
  std::string msg = run_isolated([&] {
    Options opt;
    opt.no_pivot = true;
    if (auto e = prepare_and_enter(cfg, dir.path(), opt); !e.empty()) return e;
    Checks c;
    c.expect(stat_of("/marker").st_ino == marker, "/ is not the rootfs");
    c.expect(::access(dir.path().c_str(), F_OK) != 0, "host path still reachable");
    c.expect(fs_magic("/proc") == PROC_SUPER_MAGIC, "/proc not procfs");
    c.expect(is_dev("/dev/null", 1, 3), "/dev/null wrong");
    c.expect(run_ok({"/bin/busybox", "true"}), "busybox in container failed");
    return c.result();
  });
  EXPECT_EQ(msg, "");

  cfg.linux_->rootfs_propagation = "rprivate";
  msg = run_isolated([&] {
    Options opt;
    opt.no_pivot = true;
    std::string e = prepare_and_enter(cfg, dir.path(), opt);
    return e.find("--no-pivot") != std::string::npos ? "" : "unexpected: " + e;
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepareEnter, RootfsPropagationShared) {
  if (!have_busybox()) GTEST_SKIP() << "apt-get install -y busybox-static";
  TempDir dir;
  make_rootfs(dir);
  spec::Config cfg = base_config();
  cfg.linux_->rootfs_propagation = "shared";
  std::string msg = run_isolated([&] {
    if (auto e = prepare_and_enter(cfg, dir.path(), {}); !e.empty()) return e;
    auto info = read_file("/proc/self/mountinfo");
    if (!info) return std::string("read mountinfo");
    for (const auto& line : split(*info, '\n')) {
      auto f = split(line, ' ');
      if (f.size() > 6 && f[4] == "/") {
        return f[6].find("shared:") == 0 ? std::string() : "root not shared: " + line;
      }
    }
    return std::string("no / in mountinfo");
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepareEnter, PivotFailureIsReported) {
  if (!have_busybox()) GTEST_SKIP() << "apt-get install -y busybox-static";
  TempDir dir;
  make_rootfs(dir);
  spec::Config cfg = base_config();
  std::string msg = run_isolated([&] {
    sys::inject_failure(sys::Call::kPivotRoot, EINVAL);
    std::string e = prepare_and_enter(cfg, dir.path(), {});
    return e == "enter: pivot_root: Invalid argument" ? "" : "unexpected: " + e;
  });
  EXPECT_EQ(msg, "");
}

// Become root of a new user namespace (uid/gid 0 mapped to 0) with a new mount
// namespace, where every mount inherited so far has its flags locked.
std::string enter_userns() {
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return "unshare(CLONE_NEWUSER)";
  if (!write_file("/proc/self/setgroups", "deny").ok() ||
      !write_file("/proc/self/uid_map", "0 0 1").ok() ||
      !write_file("/proc/self/gid_map", "0 0 1").ok()) {
    return "write id maps";
  }
  return "";
}

TEST(RootfsPrepareEnter, UserNamespaceKeepsLockedFlags) {
  if (!have_busybox()) GTEST_SKIP() << "apt-get install -y busybox-static";
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  std::string data = dir / "data";
  fs::create_directories(rootfs);
  fs::create_directories(data);
  spec::Config cfg;
  cfg.root.readonly = true;
  cfg.mounts = {mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755"}),
                mnt("/data", "bind", data, {"rbind", "ro"})};
  std::string msg = run_isolated([&] {
    // Host-side mounts with nosuid/nodev/noexec that the user namespace cannot drop.
    if (::mount("tmpfs", rootfs.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, nullptr) < 0 ||
        ::mount("tmpfs", data.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      return std::string("host tmpfs mounts");
    }
    fs::create_directories(rootfs + "/bin");
    fs::copy_file("/bin/busybox", rootfs + "/bin/busybox");
    if (auto e = enter_userns(); !e.empty()) return e;
    Options opt;
    opt.in_user_ns = true;
    if (auto e = prepare_and_enter(cfg, dir.path(), opt); !e.empty()) return e;
    Checks c;
    c.expect(is_ro("/data") && (vfs_flags("/data") & ST_NOEXEC), "/data not ro,noexec");
    c.expect(is_ro("/") && (vfs_flags("/") & ST_NOSUID) && (vfs_flags("/") & ST_NODEV),
             "/ not ro,nosuid,nodev");
    c.expect(is_dev("/dev/null", 1, 3), "/dev/null wrong");
    c.expect(stat_of("/dev/null").st_dev != stat_of("/dev").st_dev, "/dev/null not bound");
    return c.result();
  });
  EXPECT_EQ(msg, "");
}

// ------------------------------------------------------- prepare only

TEST(RootfsPrepare, SymlinkTargetsResolveInsideRootfs) {
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  fs::create_directories(rootfs + "/etc");
  fs::create_symlink("/etc", rootfs + "/link");
  write_text(dir / "hostfile", "hf\n");
  spec::Config cfg;
  cfg.mounts = {
      mnt("/link", "tmpfs", "tmpfs", {"mode=700"}),
      mnt("/link/hostname", "none", dir / "hostfile", {"bind"}),
      mnt("../../../etc2", "tmpfs", "tmpfs", {}),
      mnt("/dev", "tmpfs", "tmpfs", {}),
  };
  std::string msg = run_isolated([&] {
    struct stat etc = stat_of("/etc");
    struct stat hostname = stat_of("/etc/hostname");
    if (::chdir(dir.path().c_str()) < 0) return std::string("chdir");
    if (auto st = prepare(cfg, rootfs, {}); !st) return "prepare: " + st.error().msg;
    Checks c;
    c.expect(stat_of("/etc").st_dev == etc.st_dev && stat_of("/etc").st_ino == etc.st_ino,
             "host /etc changed");
    c.expect(stat_of("/etc/hostname").st_ino == hostname.st_ino, "host /etc/hostname changed");
    c.expect(fs_magic(rootfs + "/etc") == TMPFS_MAGIC, "rootfs/etc not the tmpfs");
    c.expect((stat_of(rootfs + "/etc").st_mode & 07777) == 0700, "tmpfs mode data not applied");
    c.expect(stat_of(rootfs + "/etc/hostname").st_ino == stat_of(dir / "hostfile").st_ino,
             "file bind not at rootfs/etc/hostname");
    c.expect(fs_magic(rootfs + "/etc2") == TMPFS_MAGIC, "../../../etc2 not at rootfs/etc2");
    char cwd[512];
    c.expect(::getcwd(cwd, sizeof cwd) && std::string(cwd) == rootfs, "cwd is not the rootfs");
    return c.result();
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepare, RecursiveReadOnlyNeedsRro) {
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  fs::create_directories(rootfs);
  fs::create_directories(dir / "data/sub");
  spec::Config cfg;
  cfg.mounts = {
      mnt("/rro", "bind", dir / "data", {"rbind", "rro", "rnosuid"}),
      mnt("/ro", "bind", dir / "data", {"rbind", "ro"}),
      mnt("/dev", "tmpfs", "tmpfs", {}),
  };
  std::string msg = run_isolated([&] {
    std::string sub = dir / "data/sub";
    if (::mount("tmpfs", sub.c_str(), "tmpfs", 0, nullptr) < 0) return std::string("mount sub");
    if (auto st = prepare(cfg, rootfs, {}); !st) return "prepare: " + st.error().msg;
    Checks c;
    c.expect(is_ro(rootfs + "/rro") && is_ro(rootfs + "/rro/sub"), "rro not recursive");
    c.expect((vfs_flags(rootfs + "/rro/sub") & ST_NOSUID) != 0, "rnosuid not recursive");
    c.expect(is_ro(rootfs + "/ro") && !is_ro(rootfs + "/ro/sub"), "ro should only be top");
    c.expect(!is_ro(sub), "host-side submount became ro");
    return c.result();
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepare, DevicesInUserNsAreBindMounts) {
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  fs::create_directories(rootfs);
  spec::Config cfg;
  cfg.mounts = {mnt("/dev", "tmpfs", "tmpfs", {"mode=755"})};
  std::string msg = run_isolated([&] {
    Options opt;
    opt.in_user_ns = true;
    if (auto st = prepare(cfg, rootfs, opt); !st) return "prepare: " + st.error().msg;
    Checks c;
    for (const char* d : {"null", "zero", "full", "random", "urandom", "tty"}) {
      std::string p = rootfs + "/dev/" + d;
      c.expect(S_ISCHR(stat_of(p).st_mode), p + " not a char device");
      c.expect(stat_of(p).st_dev != stat_of(rootfs + "/dev").st_dev, p + " not a bind mount");
    }
    c.expect(link_of(rootfs + "/dev/ptmx") == "pts/ptmx", "/dev/ptmx link");
    return c.result();
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepare, CgroupMount) {
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  fs::create_directories(rootfs);
  spec::Config cfg;
  cfg.mounts = {
      mnt("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      mnt("/dev", "tmpfs", "tmpfs", {})};
  bool v2 = fs_magic("/sys/fs/cgroup") == CGROUP2_SUPER_MAGIC;
  bool has_memory = fs_magic("/sys/fs/cgroup/memory") == CGROUP_SUPER_MAGIC;
  std::string msg = run_isolated([&] {
    if (auto st = prepare(cfg, rootfs, {}); !st) return "prepare: " + st.error().msg;
    Checks c;
    std::string cg = rootfs + "/sys/fs/cgroup";
    c.expect(is_ro(cg), "cgroup root not ro");
    if (v2) {
      c.expect(fs_magic(cg) == CGROUP2_SUPER_MAGIC, "not cgroup2");
    } else {
      c.expect(fs_magic(cg) == TMPFS_MAGIC, "v1 root not tmpfs");
      if (has_memory) {
        c.expect(fs_magic(cg + "/memory") == CGROUP_SUPER_MAGIC, "memory hierarchy missing");
        c.expect(is_ro(cg + "/memory"), "memory hierarchy not ro");
        c.expect(::access((cg + "/memory/memory.limit_in_bytes").c_str(), F_OK) == 0,
                 "memory files missing");
      }
    }
    return c.result();
  });
  EXPECT_EQ(msg, "");
}

TEST(RootfsPrepare, ErrorsNameTheMount) {
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  fs::create_directories(rootfs);
  fs::create_directories(dir / "data");
  struct Case {
    spec::Mount m;
    std::string want;
  };
  std::vector<Case> cases = {
      {mnt("/x", "nosuchfs", "none", {}), "mounts[0]: mount \"/x\" (nosuchfs): No such device"},
      {mnt("/proc/foo", "bind", dir / "data", {"rbind"}),
       "mounts[0]: \"/proc/foo\" cannot be mounted because it is inside /proc"},
      {mnt("/proc", "tmpfs", "tmpfs", {}),
       "mounts[0]: \"/proc\" cannot be mounted because it is not of type proc"},
      {mnt("/y", "bind", dir / "data", {"rbind", "idmap"}),
       "mounts[0]: mount option \"idmap\": not supported yet"},
      {mnt("/z", "bind", dir / "missing", {"rbind"}),
       "mounts[0]: bind source \"" + dir / "missing" + "\": No such file or directory"},
  };
  for (const auto& tc : cases) {
    spec::Config cfg;
    cfg.mounts = {tc.m};
    std::string msg = run_isolated([&] {
      auto st = prepare(cfg, rootfs, {});
      if (st) return std::string("prepare succeeded");
      return st.error().msg == tc.want ? std::string() : "got: " + st.error().msg;
    });
    EXPECT_EQ(msg, "") << tc.want;
  }
}

TEST(RootfsPrepare, ExistingNonDeviceIsAnError) {
  TempDir dir;
  std::string rootfs = dir / "rootfs";
  fs::create_directories(rootfs + "/dev");
  write_text(rootfs + "/dev/null", "not a device");
  spec::Config cfg;
  std::string msg = run_isolated([&] {
    auto st = prepare(cfg, rootfs, {});
    std::string want = "device \"/dev/null\": exists and is not device c 1:3";
    if (st) return std::string("prepare succeeded");
    return st.error().msg == want ? std::string() : "got: " + st.error().msg;
  });
  EXPECT_EQ(msg, "");
}

}  // namespace
}  // namespace nsbox::rootfs
