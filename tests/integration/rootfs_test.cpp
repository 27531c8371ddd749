// root, mounts, /dev, linux.devices, maskedPaths, readonlyPaths and
// rootfsPropagation, each asserted from inside a real container. The shared
// busybox rootfs must never be written: tests that need a writable root, or
// that create mount points, work on a private copy (copy_rootfs).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Output;
using nsbox::it::run_program;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace fs = std::filesystem;

namespace {

json sh_config(const std::string& script) { return Sandbox::default_config({"sh", "-c", script}); }

json mount_entry(const std::string& dest, const std::string& type, const std::string& source,
                 const std::vector<std::string>& options = {}) {
  json m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = options;
  return m;
}

// A private, writable copy of the busybox rootfs in the sandbox directory.
std::string copy_rootfs(Sandbox& sb, const std::string& name = "rootfs") {
  std::string dst = sb.dir() + "/" + name;
  auto o = run_program({"/bin/cp", "-a", nsbox::it::rootfs_path(), dst});
  EXPECT_EQ(o.status, 0) << o.err;
  return dst;
}

// The last (topmost) line of a mountinfo text whose mount point is `mp`.
std::string mountinfo_line(const std::string& mountinfo, const std::string& mp) {
  std::string found;
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string f[5];
    for (auto& x : f) fields >> x;
    if (f[4] == mp) found = line;
  }
  return found;
}

// Per-mount options (field 6) of a mountinfo line, with commas around.
std::string mount_opts(const std::string& line) {
  std::istringstream fields(line);
  std::string f;
  for (int i = 0; i < 6; ++i) fields >> f;
  return "," + f + ",";
}

}  // namespace

// ------------------------------------------------------------ root.readonly

TEST(Rootfs, ReadonlyRootButTmpfsWritable) {
  Sandbox sb;
  auto cfg = sh_config(
      "touch /probe 2>&1; echo rc=$?; touch /tmp/ok && echo tmp=ok; "
      "cat /proc/self/mountinfo");
  cfg["mounts"].push_back(mount_entry("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev"}));
  ASSERT_TRUE(cfg["root"]["readonly"].get<bool>());
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "Read-only file system")) << o.out;
  EXPECT_TRUE(contains(o.out, "rc=1")) << o.out;
  EXPECT_TRUE(contains(o.out, "tmp=ok")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/")), ",ro,")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/tmp")), ",rw,")) << o.out;
  EXPECT_FALSE(fs::exists(nsbox::it::rootfs_path() + "/probe"));
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Rootfs, WritableRoot) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  auto cfg = sh_config("echo hi > /probe && echo wrote; cat /proc/self/mountinfo");
  cfg["root"] = {{"path", rootfs}, {"readonly", false}};
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "wrote")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/")), ",rw,")) << o.out;
  EXPECT_EQ(slurp(rootfs + "/probe"), "hi\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Rootfs, RelativeRootPathIsBundleRelative) {
  Sandbox sb;
  std::string id = sb.new_id();
  auto cfg = sh_config("echo hi > /probe && echo wrote");
  cfg["root"] = {{"path", "rootfs"}, {"readonly", false}};
  std::string b = sb.bundle(cfg, "rel-bundle");
  copy_rootfs(sb, "rel-bundle/rootfs");
  auto o = sb.nsbox({"run", "-b", b, id});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "wrote\n");
  EXPECT_TRUE(fs::exists(b + "/rootfs/probe"));
}

// ------------------------------------------------------------------- mounts

TEST(Mounts, ReadOnlyAndWritableBindMounts) {
  Sandbox sb;
  std::string ro = sb.dir() + "/ro-src", rw = sb.dir() + "/rw-src";
  fs::create_directories(ro);
  fs::create_directories(rw);
  std::ofstream(ro + "/data") << "from-host";
  auto cfg = sh_config(
      "cat /home/data; echo; (echo x > /home/new) 2>&1; echo ro_rc=$?; "
      "echo y > /root/new && echo rw=ok; cat /proc/self/mountinfo");
  cfg["mounts"].push_back(mount_entry("/home", "bind", ro, {"rbind", "ro"}));
  cfg["mounts"].push_back(mount_entry("/root", "none", rw, {"bind", "rw"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "from-host\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "Read-only file system")) << o.out;
  EXPECT_TRUE(contains(o.out, "ro_rc=1")) << o.out;
  EXPECT_TRUE(contains(o.out, "rw=ok")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/home")), ",ro,")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/root")), ",rw,")) << o.out;
  EXPECT_FALSE(fs::exists(ro + "/new"));
  EXPECT_EQ(slurp(rw + "/new"), "y\n");
  // The host's source directory stays writable.
  EXPECT_EQ(access(ro.c_str(), W_OK), 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Mounts, BindMountOfAFile) {
  Sandbox sb;
  std::string file = sb.dir() + "/hostname-src";
  std::ofstream(file) << "bound-file\n";
  auto cfg = sh_config(
      "cat /etc/hostname; stat -c '%F' /etc/hostname; echo z >> /etc/hostname 2>&1; "
      "echo rc=$?");
  cfg["mounts"].push_back(mount_entry("/etc/hostname", "bind", file, {"bind", "ro"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "bound-file\nregular file\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "rc=1")) << o.out;
  EXPECT_EQ(slurp(file), "bound-file\n");
}

TEST(Mounts, BindMountOfAFileCreatesTheTarget) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string file = sb.dir() + "/src-file";
  std::ofstream(file) << "content";
  auto cfg = sh_config("cat /new/dir/file; stat -c ' %F' /new/dir/file");
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back(mount_entry("/new/dir/file", "bind", file, {"bind"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "content regular file\n");
  // The mount point is an empty file in the rootfs.
  EXPECT_TRUE(fs::is_regular_file(rootfs + "/new/dir/file"));
  EXPECT_EQ(fs::file_size(rootfs + "/new/dir/file"), 0u);
}

TEST(Mounts, TmpfsSizeModeAndFlags) {
  Sandbox sb;
  auto cfg = sh_config(
      "stat -c '%a' /tmp; df -k /tmp | tail -n 1; grep ' /tmp ' /proc/self/mountinfo; "
      "cp /bin/busybox /tmp/bb && /tmp/bb true 2>/dev/null; echo exec_rc=$?");
  cfg["mounts"].push_back(
      mount_entry("/tmp", "tmpfs", "tmpfs", {"nosuid", "noexec", "nodev", "size=4m", "mode=1770"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  std::istringstream in(o.out);
  std::string mode, df_line, mi_line;
  std::getline(in, mode);
  std::getline(in, df_line);
  std::getline(in, mi_line);
  EXPECT_EQ(mode, "1770");
  std::istringstream dff(df_line);
  std::string fsname, blocks;
  dff >> fsname >> blocks;
  EXPECT_EQ(blocks, "4096") << df_line;
  std::string opts = mount_opts(mi_line);
  for (const char* f : {",nosuid,", ",nodev,", ",noexec,", ",rw,"}) {
    EXPECT_TRUE(contains(opts, f)) << f << " in " << mi_line;
  }
  EXPECT_TRUE(contains(mi_line, "size=4096k")) << mi_line;
  EXPECT_TRUE(contains(mi_line, "mode=1770")) << mi_line;
  // noexec is applied, not only shown: busybox copied there does not run.
  EXPECT_TRUE(contains(o.out, "exec_rc=126")) << o.out;
}

TEST(Mounts, BindMountFlagsInMountinfo) {
  Sandbox sb;
  std::string src = sb.dir() + "/flags-src";
  fs::create_directories(src);
  auto cfg = sh_config("grep -E ' /(home|root) ' /proc/self/mountinfo");
  cfg["mounts"].push_back(
      mount_entry("/home", "bind", src, {"rbind", "nosuid", "noexec", "nodev"}));
  cfg["mounts"].push_back(mount_entry("/root", "bind", src, {"rbind", "ro", "noexec"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  std::string home = mount_opts(mountinfo_line(o.out, "/home"));
  for (const char* f : {",rw,", ",nosuid,", ",nodev,", ",noexec,"}) {
    EXPECT_TRUE(contains(home, f)) << f << " in " << home;
  }
  std::string root = mount_opts(mountinfo_line(o.out, "/root"));
  EXPECT_TRUE(contains(root, ",ro,")) << root;
  EXPECT_TRUE(contains(root, ",noexec,")) << root;
  EXPECT_FALSE(contains(root, ",nosuid,")) << root;
}

TEST(Mounts, ReadOnlyTmpfsIsReadOnly) {
  Sandbox sb;
  auto cfg = sh_config("touch /tmp/x 2>&1; echo rc=$?; grep ' /tmp ' /proc/self/mountinfo");
  cfg["mounts"].push_back(mount_entry("/tmp", "tmpfs", "tmpfs", {"ro", "mode=755"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "rc=1")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/tmp")), ",ro,")) << o.out;
}

// rootfs has var/run -> /run: the absolute link is resolved inside the rootfs.
TEST(Mounts, TargetThroughAbsoluteSymlinkStaysInRootfs) {
  Sandbox sb;
  std::string id_marker = "nsbox-marker-" + std::to_string(getpid()) + "-" +
                          std::to_string(std::hash<std::string>{}(sb.dir()) % 100000);
  std::string host_run_before = mountinfo_line(slurp("/proc/self/mountinfo"), "/run");
  auto cfg = sh_config("touch /var/run/" + id_marker +
                       " && echo touched; grep -E ' /(var/)?run ' /proc/self/mountinfo; "
                       "ls /run");
  cfg["mounts"].push_back(mount_entry("/var/run", "tmpfs", "tmpfs", {"size=64k"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "touched")) << o.out;
  std::string line = mountinfo_line(o.out, "/run");
  EXPECT_TRUE(contains(line, " - tmpfs ")) << o.out;
  EXPECT_EQ(mountinfo_line(o.out, "/var/run"), "") << o.out;
  EXPECT_TRUE(contains(o.out, "\n" + id_marker + "\n")) << o.out;
  // Nothing on the host: no file, no mount, the rootfs untouched.
  EXPECT_FALSE(fs::exists("/run/" + id_marker));
  EXPECT_FALSE(fs::exists(nsbox::it::rootfs_path() + "/run/" + id_marker));
  EXPECT_EQ(mountinfo_line(slurp("/proc/self/mountinfo"), "/run"), host_run_before);
  EXPECT_TRUE(fs::is_symlink(nsbox::it::rootfs_path() + "/var/run"));
}

// Hostile rootfs: mount destinations that are symlinks to the host's /etc.
TEST(Mounts, SymlinkDestinationsCannotEscapeRootfs) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string tag =
      "nsbox-escape-" + std::to_string(getpid()) + "-" + fs::path(sb.dir()).filename().string();
  fs::create_symlink("/etc", rootfs + "/evil-abs");
  fs::create_symlink("../../../../../../../../etc", rootfs + "/evil-rel");
  fs::create_symlink("/etc/" + tag + "-dir", rootfs + "/evil-dangling");
  std::string file = sb.dir() + "/payload";
  std::ofstream(file) << "payload";
  std::string host_etc_before = mountinfo_line(slurp("/proc/self/mountinfo"), "/etc");

  // 1. A tmpfs on "/evil-abs" covers the container's /etc.
  auto cfg = sh_config("grep ' /etc ' /proc/self/mountinfo; ls -A /etc | wc -l");
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back(mount_entry("/evil-abs", "tmpfs", "tmpfs", {"size=64k"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(mountinfo_line(o.out, "/etc"), " - tmpfs ")) << o.out;
  EXPECT_TRUE(contains(o.out, "\n0\n")) << o.out;

  // 2. A file bind mount through "../../..": the file is created in the rootfs.
  cfg = sh_config("cat /etc/" + tag + "; echo; cat /etc/passwd | head -n 1");
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back(mount_entry("/evil-rel/" + tag, "bind", file, {"bind", "ro"}));
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "payload\nroot:")) << o.out;
  EXPECT_TRUE(fs::exists(rootfs + "/etc/" + tag));

  // 3. A dangling absolute link: the directory is created in the rootfs.
  cfg = sh_config("grep ' /etc/" + tag + "-dir ' /proc/self/mountinfo");
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back(mount_entry("/evil-dangling", "tmpfs", "tmpfs", {"size=64k"}));
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, " - tmpfs ")) << o.out;
  EXPECT_TRUE(fs::is_directory(rootfs + "/etc/" + tag + "-dir"));

  // The host's /etc is untouched.
  EXPECT_FALSE(fs::exists("/etc/" + tag));
  EXPECT_FALSE(fs::exists("/etc/" + tag + "-dir"));
  EXPECT_FALSE(fs::exists(nsbox::it::rootfs_path() + "/etc/" + tag));
  EXPECT_EQ(mountinfo_line(slurp("/proc/self/mountinfo"), "/etc"), host_etc_before);
  EXPECT_EQ(sb.leftovers(), "");
}

// A hostile rootfs whose /proc is a symlink cannot move procfs (and the
// masks meant for it) elsewhere; a symlink into /proc is no way around the
// /proc target check either.
TEST(Mounts, ProcThroughSymlinksRefused) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  fs::remove(rootfs + "/proc");
  fs::create_symlink("/etc", rootfs + "/proc");
  auto cfg = sh_config("grep ' - proc ' /proc/self/mountinfo");
  cfg["root"]["path"] = rootfs;
  auto o = sb.run(cfg);
  EXPECT_NE(o.status, 0) << o.out;
  EXPECT_TRUE(contains(o.err, "mounts[0]")) << o.err;
  EXPECT_TRUE(contains(o.err, "ordinary directory")) << o.err;

  std::string rootfs2 = copy_rootfs(sb, "rootfs2");
  fs::create_symlink("/proc/sys/kernel", rootfs2 + "/evil");
  fs::create_directories(sb.dir() + "/src");
  cfg = sh_config("true");
  cfg["root"]["path"] = rootfs2;
  cfg["mounts"].push_back(mount_entry("/evil", "bind", sb.dir() + "/src", {"rbind"}));
  o = sb.run(cfg);
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "mounts[7]")) << o.err;
  EXPECT_TRUE(contains(o.err, "inside /proc")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// procfs and sysfs go where their destination names, through no symlink at
// all: a parent that is a symlink (which a shared volume could swap in while
// the mount is made) is refused too, checked on the very target mounted on.
TEST(Mounts, ProcAndSysfsThroughAParentSymlinkRefused) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  fs::create_directories(rootfs + "/elsewhere/p");
  fs::create_symlink("/elsewhere", rootfs + "/link");
  for (const char* type : {"proc", "sysfs"}) {
    auto cfg = sh_config("true");
    cfg["root"]["path"] = rootfs;
    cfg["mounts"].push_back(mount_entry("/link/p", type, type));
    auto o = sb.run(cfg);
    EXPECT_NE(o.status, 0) << type;
    EXPECT_TRUE(contains(o.err, "mounts[7]")) << o.err;
    EXPECT_TRUE(contains(o.err, "ordinary directory")) << o.err;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// A relative bind source is relative to the bundle directory.
TEST(Mounts, RelativeBindSourceIsBundleRelative) {
  Sandbox sb;
  std::string id = sb.new_id();
  auto cfg = sh_config("cat /home/f");
  cfg["mounts"].push_back(mount_entry("/home", "bind", "data", {"rbind", "ro"}));
  std::string b = sb.bundle(cfg, "rel");
  fs::create_directories(b + "/data");
  std::ofstream(b + "/data/f") << "relative";
  auto o = sb.nsbox({"run", "-b", b, id});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "relative");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Mounts, ProcSubdirectoryTargetRefused) {
  Sandbox sb;
  std::string src = sb.dir() + "/src";
  fs::create_directories(src);
  auto cfg = sh_config("true");
  cfg["mounts"].push_back(mount_entry("/proc/sys", "bind", src, {"rbind"}));
  auto o = sb.run(cfg);
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "mounts[")) << o.err;
  EXPECT_TRUE(contains(o.err, "/proc/sys")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// --------------------------------------------------------------------- /dev

TEST(Devices, DefaultDevContents) {
  Sandbox sb;
  auto cfg = sh_config(
      "for d in null zero full random urandom tty; do "
      "echo \"$d $(stat -c '%F %t %T %a %u %g' /dev/$d)\"; done; "
      "for l in fd stdin stdout stderr ptmx; do echo \"$l -> $(readlink /dev/$l)\"; done; "
      "head -c 4 /dev/zero | od -An -tx1; echo x > /dev/full 2>/dev/null; echo full_rc=$?; "
      "echo ok > /dev/null && echo null=ok; head -c 8 /dev/urandom | wc -c; "
      "stat -c '%F' /dev/pts/ptmx; ls /dev/shm /dev/mqueue >/dev/null && echo dirs=ok");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  const char* want[] = {
      "null character special file 1 3 666 0 0\n",
      "zero character special file 1 5 666 0 0\n",
      "full character special file 1 7 666 0 0\n",
      "random character special file 1 8 666 0 0\n",
      "urandom character special file 1 9 666 0 0\n",
      "tty character special file 5 0 666 0 0\n",
      "fd -> /proc/self/fd\n",
      "stdin -> /proc/self/fd/0\n",
      "stdout -> /proc/self/fd/1\n",
      "stderr -> /proc/self/fd/2\n",
      "ptmx -> pts/ptmx\n",
      " 00 00 00 00\n",
      "full_rc=1\n",
      "null=ok\n",
      "8\n",
      "character special file\n",
      "dirs=ok\n",
  };
  for (const char* w : want) EXPECT_TRUE(contains(o.out, w)) << w << " in:\n" << o.out;
}

TEST(Devices, LinuxDevicesCreatedWithModeAndOwner) {
  Sandbox sb;
  auto cfg = sh_config(
      "stat -c '%F %t %T %a %u %g' /dev/mynull /dev/sub/myzero /dev/myfifo; "
      "echo data > /dev/sub/myzero && echo write=ok; head -c 2 /dev/sub/myzero | wc -c");
  cfg["linux"]["devices"] = json::array({
      {{"path", "/dev/mynull"},
       {"type", "c"},
       {"major", 1},
       {"minor", 3},
       {"fileMode", 0600},
       {"uid", 1000},
       {"gid", 1001}},
      {{"path", "/dev/sub/myzero"}, {"type", "c"}, {"major", 1}, {"minor", 5}},
      {{"path", "/dev/myfifo"}, {"type", "p"}, {"fileMode", 0640}},
  });
  auto& rules = cfg["linux"]["resources"]["devices"];
  rules.push_back({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}});
  rules.push_back({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"access", "rwm"}});
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "character special file 1 3 600 1000 1001\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "character special file 1 5 666 0 0\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "fifo 0 0 640 0 0\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "write=ok\n2\n")) << o.out;
  // /dev is a tmpfs of the container: nothing is created in the rootfs.
  EXPECT_FALSE(fs::exists(nsbox::it::rootfs_path() + "/dev/mynull"));
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Devices, DeviceOverridesDefault) {
  Sandbox sb;
  auto cfg = sh_config("stat -c '%t %T %a' /dev/null");
  cfg["linux"]["devices"] = json::array(
      {{{"path", "/dev/null"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"fileMode", 0620}}});
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "1 3 620\n");
}

// ------------------------------------------------ maskedPaths, readonlyPaths

TEST(Paths, MaskedFilesReadEmpty) {
  Sandbox sb;
  auto cfg = sh_config(
      "for f in /proc/kcore /proc/keys /proc/timer_list; do "
      "[ -e $f ] && echo \"$f $(cat $f 2>&1 | wc -c)\"; done; "
      "grep -E ' /proc/(keys|timer_list|kcore) ' /proc/self/mountinfo | wc -l");
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "/proc/keys 0\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "/proc/timer_list 0\n")) << o.out;
  if (fs::exists("/proc/kcore")) {
    EXPECT_TRUE(contains(o.out, "/proc/kcore 0\n")) << o.out;
    EXPECT_TRUE(contains(o.out, "\n3\n")) << o.out;
  } else {
    EXPECT_TRUE(contains(o.out, "\n2\n")) << o.out;
  }
  // On the host the same files are not empty.
  EXPECT_NE(slurp("/proc/timer_list"), "");
}

TEST(Paths, MaskedDirectoryIsEmptyReadOnlyTmpfs) {
  Sandbox sb;
  std::string src = sb.dir() + "/secret";
  fs::create_directories(src);
  std::ofstream(src + "/key") << "secret";
  auto cfg = sh_config(
      "ls -A /home | wc -l; touch /home/x 2>&1; echo rc=$?; "
      "grep ' /home ' /proc/self/mountinfo");
  cfg["mounts"].push_back(mount_entry("/home", "bind", src, {"rbind"}));
  cfg["linux"]["maskedPaths"] = {"/home", "/proc/acpi", "/does/not/exist", "/proc/nope"};
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  std::istringstream in(o.out);
  std::string count;
  std::getline(in, count);
  EXPECT_EQ(count, "0") << o.out;
  EXPECT_TRUE(contains(o.out, "Read-only file system")) << o.out;
  EXPECT_TRUE(contains(o.out, "rc=1")) << o.out;
  std::string line = mountinfo_line(o.out, "/home");
  EXPECT_TRUE(contains(line, " - tmpfs ")) << line;
  EXPECT_TRUE(contains(mount_opts(line), ",ro,")) << line;
  EXPECT_EQ(slurp(src + "/key"), "secret");
}

TEST(Paths, ReadonlyPathsCannotBeWritten) {
  Sandbox sb;
  auto cfg = sh_config(
      "(echo other > /proc/sys/kernel/hostname) 2>&1; echo rc=$?; hostname; "
      "touch /tmp/x 2>&1; echo tmp_rc=$?; grep -E ' /proc/sys | /tmp ' /proc/self/mountinfo");
  cfg["mounts"].push_back(mount_entry("/tmp", "tmpfs", "tmpfs"));
  cfg["linux"]["readonlyPaths"] = {"/proc/sys", "/tmp", "/missing/path"};
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "Read-only file system")) << o.out;
  EXPECT_TRUE(contains(o.out, "rc=1\nnsbox\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "tmp_rc=1")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/proc/sys")), ",ro,")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/tmp")), ",ro,")) << o.out;
}

// -------------------------------------------------------- rootfsPropagation

namespace {

// Optional fields (shared:N, master:N, ...) of a mountinfo line.
std::string optional_fields(const std::string& line) {
  std::istringstream fields(line);
  std::string f, out;
  for (int i = 0; i < 6; ++i) fields >> f;
  while (fields >> f && f != "-") out += f + " ";
  return out;
}

}  // namespace

TEST(Propagation, RootfsPropagationApplied) {
  Sandbox sb;
  for (const char* prop : {"shared", "rshared", "private", "rprivate", "slave", "rslave", ""}) {
    auto cfg = sh_config("cat /proc/self/mountinfo");
    if (*prop) cfg["linux"]["rootfsPropagation"] = prop;
    auto o = sb.run(cfg);
    ASSERT_EQ(o.status, 0) << prop << ": " << o.err;
    std::string opt = optional_fields(mountinfo_line(o.out, "/"));
    std::string p = prop;
    if (p == "shared" || p == "rshared") {
      EXPECT_TRUE(contains(opt, "shared:")) << prop << ": " << opt;
    } else {
      // The host "/" here is private: slave of nothing is private.
      EXPECT_FALSE(contains(opt, "shared:")) << prop << ": " << opt;
    }
    if (p == "private" || p == "rprivate") {
      EXPECT_EQ(opt, "") << prop;
    }
  }
  EXPECT_EQ(sb.leftovers(), "");
}

namespace {

// A tmpfs mounted (shared) on the host; detached on destruction.
class SharedHostMount {
 public:
  explicit SharedHostMount(const std::string& path) : path_(path) {
    fs::create_directories(path);
    ok_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=64k") == 0 &&
          ::mount(nullptr, path.c_str(), nullptr, MS_SHARED, nullptr) == 0;
  }
  ~SharedHostMount() { ::umount2(path_.c_str(), MNT_DETACH); }
  bool ok() const { return ok_; }

 private:
  std::string path_;
  bool ok_ = false;
};

}  // namespace

// Default root propagation is rslave: a mount made on the host below a
// shared directory bound into the container shows up in the running
// container, and the container's own mounts do not go back to the host.
TEST(Propagation, HostMountPropagatesIntoRunningContainer) {
  Sandbox sb;
  std::string shared = sb.dir() + "/shared";
  SharedHostMount host(shared);
  ASSERT_TRUE(host.ok()) << strerror(errno);
  std::string id = sb.new_id();
  auto cfg = sh_config(
      "grep ' /home ' /proc/self/mountinfo; mount -t tmpfs tmpfs /home/own; echo ready; "
      "for i in $(seq 200); do [ -e /home/sub/marker ] && echo seen && exit 0; usleep 20000; done; "
      "echo not-seen; exit 3");
  fs::create_directories(shared + "/sub");
  fs::create_directories(shared + "/own");
  cfg["mounts"].push_back(mount_entry("/home", "bind", shared, {"rbind"}));
  cfg["process"]["capabilities"]["bounding"].push_back("CAP_SYS_ADMIN");
  cfg["process"]["capabilities"]["effective"].push_back("CAP_SYS_ADMIN");
  cfg["process"]["capabilities"]["permitted"].push_back("CAP_SYS_ADMIN");
  std::string b = sb.bundle(cfg, "bundle-prop");
  Output o;
  std::thread t([&] { o = sb.nsbox({"run", "-b", b, id}); });
  bool running = false;
  for (int i = 0; i < 250 && !running; ++i) {
    auto st = sb.nsbox({"state", id});
    running = st.status == 0 && json::parse(st.out)["status"] == "running";
    if (!running) usleep(20000);
  }
  usleep(100000);  // let it mount /home/own first
  std::string sub = shared + "/sub";
  bool mounted = ::mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=64k") == 0;
  if (mounted) std::ofstream(sub + "/marker") << "x";
  t.join();
  EXPECT_TRUE(running);
  ASSERT_TRUE(mounted) << strerror(errno);
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_TRUE(contains(optional_fields(mountinfo_line(o.out, "/home")), "master:")) << o.out;
  EXPECT_TRUE(contains(o.out, "\nseen\n")) << o.out;
  // The container's own mount did not propagate back.
  EXPECT_EQ(mountinfo_line(slurp("/proc/self/mountinfo"), shared + "/own"), "");
  EXPECT_EQ(sb.leftovers(), "");
}

// ---------------------------------------------------------------- --no-pivot

TEST(NoPivot, CreateStartWithoutPivotRoot) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string out = sb.dir() + "/out";
  fs::create_directories(out);
  auto cfg = sh_config(
      "ls / > /out/ls; hostname >> /out/ls; touch /probe 2>/dev/null || echo ro >> /out/ls; "
      "cat /proc/self/mountinfo > /out/mi; echo done >> /out/ls");
  cfg["mounts"].push_back(mount_entry("/out", "bind", out, {"rbind"}));
  // /out must exist: use a copy so the shared rootfs is not written.
  cfg["root"]["path"] = copy_rootfs(sb);
  std::string b = sb.bundle(cfg);
  auto c = sb.nsbox({"create", "--no-pivot", "-b", b, id});
  ASSERT_EQ(c.status, 0) << c.err;
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  for (int i = 0; i < 250; ++i) {
    auto st = sb.nsbox({"state", id});
    if (st.status == 0 && json::parse(st.out)["status"] == "stopped") break;
    usleep(20000);
  }
  std::string ls = slurp(out + "/ls");
  EXPECT_TRUE(contains(ls, "bin\n")) << ls;
  EXPECT_TRUE(contains(ls, "etc\n")) << ls;
  EXPECT_FALSE(contains(ls, "work\n")) << ls;
  EXPECT_TRUE(contains(ls, "nsbox\nro\ndone\n")) << ls;
  std::string mi = slurp(out + "/mi");
  EXPECT_TRUE(contains(mountinfo_line(mi, "/proc"), " - proc ")) << mi;
  EXPECT_EQ(sb.nsbox({"delete", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(NoPivot, RunNoPivotRefusesPrivateRootPropagation) {
  Sandbox sb;
  auto cfg = sh_config("true");
  cfg["linux"]["rootfsPropagation"] = "private";
  std::string id = sb.new_id();
  auto o = sb.nsbox({"run", "--no-pivot", "-b", sb.bundle(cfg), id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "linux.rootfsPropagation")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// --------------------------------------------------- tmpcopyup, rro (issue 7)

// A tmpfs with tmpcopyup over a rootfs directory starts with a copy of it:
// files (content, mode, owner, xattrs), directories, symlinks as links,
// fifos. It is writable while the rootfs copy stays as it was. A directory
// that is a symlink to a host directory is resolved in the rootfs: the host
// content is never copied.
TEST(Mounts, TmpfsCopyUpCopiesTheDestination) {
  Sandbox sb;
  std::string rootfs = copy_rootfs(sb);
  std::string data = rootfs + "/data";
  fs::create_directories(data + "/sub");
  std::ofstream(data + "/f") << "orig\n";
  std::ofstream(data + "/owned") << "owned\n";
  std::ofstream(data + "/sub/g") << "nested\n";
  ASSERT_EQ(::chmod((data + "/owned").c_str(), 0640), 0);
  ASSERT_EQ(::chown((data + "/owned").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chmod((data + "/sub").c_str(), 0751), 0);
  ASSERT_EQ(::chown((data + "/sub").c_str(), 1001, 1001), 0);
  ASSERT_EQ(::mkfifo((data + "/p").c_str(), 0620), 0);
  ASSERT_EQ(::chmod((data + "/p").c_str(), 0620), 0);
  fs::create_symlink("f", data + "/link");
  fs::create_symlink("/etc/passwd", data + "/abs");
  bool xattrs = ::setxattr((data + "/f").c_str(), "user.nsbox", "v1", 2, 0) == 0;
  std::string secret = sb.dir() + "/host-secret";
  fs::create_directories(secret);
  std::ofstream(secret + "/secret") << "host\n";
  fs::create_symlink(secret, rootfs + "/data2");

  auto cfg = sh_config(
      "cat /data/f; echo more >> /data/f && echo appended; cat /data/link; "
      "echo x > /data/new && echo created; "
      "stat -c '%n %a %u:%g %F' /data/owned /data/sub /data/sub/g /data/p; "
      "readlink /data/link; readlink /data/abs; ls -A /data2 | wc -l; "
      "grep -E ' /data | " +
      secret + " ' /proc/self/mountinfo");
  cfg["root"]["path"] = rootfs;
  cfg["mounts"].push_back(
      mount_entry("/data", "tmpfs", "tmpfs", {"tmpcopyup", "nosuid", "size=1m"}));
  cfg["mounts"].push_back(mount_entry("/data2", "tmpfs", "tmpfs", {"tmpcopyup"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "orig\nappended\norig\nmore\ncreated\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "/data/owned 640 1000:1001 regular file\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "/data/sub 751 1001:1001 directory\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "/data/sub/g 644 0:0 regular file\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "/data/p 620 0:0 fifo\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "f\n/etc/passwd\n0\n")) << o.out;
  std::string line = mountinfo_line(o.out, "/data");
  EXPECT_TRUE(contains(line, " - tmpfs ")) << o.out;
  EXPECT_TRUE(contains(mount_opts(line), ",nosuid,")) << line;
  EXPECT_TRUE(contains(mountinfo_line(o.out, secret), " - tmpfs ")) << o.out;
  // The rootfs keeps its own content; nothing reached the host directory.
  EXPECT_EQ(slurp(data + "/f"), "orig\n");
  EXPECT_FALSE(fs::exists(data + "/new"));
  EXPECT_TRUE(fs::is_symlink(data + "/abs"));
  EXPECT_TRUE(fs::is_empty(rootfs + secret));
  EXPECT_EQ(slurp(secret + "/secret"), "host\n");

  // The copy's extended attributes, seen from the host in a created one.
  if (xattrs) {
    std::string id = sb.new_id("copyup");
    auto c = sb.nsbox({"create", "-b", sb.bundle(cfg, "bundle-xattr"), id});
    ASSERT_EQ(c.status, 0) << c.err;
    std::string f = "/proc/" + std::to_string(sb.pid_of(id)) + "/root/data/f";
    char v[8] = {};
    EXPECT_EQ(::getxattr(f.c_str(), "user.nsbox", v, sizeof v), 2) << strerror(errno);
    EXPECT_STREQ(v, "v1");
    EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// tmpcopyup is for tmpfs only.
TEST(Mounts, TmpfsCopyUpOnABindIsRefused) {
  Sandbox sb;
  std::string src = sb.dir() + "/src";
  fs::create_directories(src);
  auto cfg = sh_config("true");
  cfg["mounts"].push_back(mount_entry("/home", "bind", src, {"rbind", "tmpcopyup"}));
  auto o = sb.run(cfg);
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "mounts[7]")) << o.err;
  EXPECT_TRUE(contains(o.err, "tmpcopyup")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// "rro" makes a bind read-only with every mount below it; "ro" only the top.
TEST(Mounts, RecursiveReadOnlyBindCoversSubmounts) {
  Sandbox sb;
  std::string src = sb.dir() + "/rro-src";
  fs::create_directories(src + "/sub");
  SharedHostMount sub(src + "/sub");
  ASSERT_TRUE(sub.ok()) << strerror(errno);
  auto cfg = sh_config(
      "touch /home/x 2>/dev/null; echo top=$?; touch /home/sub/x 2>/dev/null; echo sub=$?; "
      "touch /root/sub/y 2>/dev/null && echo ro_sub=writable; "
      "cat /proc/self/mountinfo");
  cfg["mounts"].push_back(mount_entry("/home", "bind", src, {"rbind", "rro"}));
  cfg["mounts"].push_back(mount_entry("/root", "bind", src, {"rbind", "ro"}));
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "top=1\nsub=1\nro_sub=writable\n")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/home")), ",ro,")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/home/sub")), ",ro,")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/root")), ",ro,")) << o.out;
  EXPECT_TRUE(contains(mount_opts(mountinfo_line(o.out, "/root/sub")), ",rw,")) << o.out;
  // The host's own submount stays writable.
  EXPECT_EQ(::access((src + "/sub").c_str(), W_OK), 0);
  EXPECT_TRUE(fs::exists(src + "/sub/y"));
  EXPECT_EQ(sb.leftovers(), "");
}
