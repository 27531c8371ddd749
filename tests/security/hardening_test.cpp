// Attacks on the boundary nsbox draws, each asserting that it fails and that
// the host is untouched (issue 6, "Hardening").
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/util.h"
#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {}  // namespace

// A copy of the busybox rootfs under the sandbox, to plant files in.
std::string own_rootfs(Sandbox& sb, const std::string& name) {
  std::string rootfs = sb.dir() + "/" + name;
  std::filesystem::copy(
      nsbox::it::rootfs_path(), rootfs,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  return rootfs;
}

// The procfs-write class (the 2025 runc advisories): nsbox's own writes to
// /proc from inside the container must reach the kernel, never a file the
// bundle put in their way. Mounts inside /proc are refused already
// (BadInput), so here the bundle has no /proc mount and its rootfs carries
// a regular file where the sysctl would be: a runtime writing by path
// writes that host file. nsbox writes through a private procfs: the file
// keeps its content and the real sysctl gets the value.
TEST(Hardening, SysctlWriteIsNotRedirectedToARootfsFile) {
  Sandbox sb;
  std::string rootfs = own_rootfs(sb, "rootfs-sysctl");
  std::filesystem::create_directories(rootfs + "/proc/sys/kernel");
  std::string victim = rootfs + "/proc/sys/kernel/msgmax";
  std::ofstream(victim) << "host data\n";
  auto cfg = Sandbox::default_config({"sleep", "30"});
  cfg["root"]["path"] = rootfs;
  json mounts = json::array();
  for (const auto& m : cfg["mounts"])
    if (m["destination"] != "/proc") mounts.push_back(m);
  cfg["mounts"] = mounts;
  cfg["linux"]["maskedPaths"] = json::array();
  cfg["linux"]["readonlyPaths"] = json::array();
  cfg["linux"]["sysctl"] = {{"kernel.msgmax", "12345"}};
  std::string id = sb.new_id("hp");
  auto o = sb.nsbox({"create", "-b", sb.bundle(cfg), id});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(slurp(victim), "host data\n");
  int pid = sb.pid_of(id);
  auto seen =
      nsbox::it::run_program({"/usr/bin/nsenter", "--ipc=/proc/" + std::to_string(pid) + "/ns/ipc",
                              "cat", "/proc/sys/kernel/msgmax"});
  EXPECT_EQ(seen.out, "12345\n") << seen.err;
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_EQ(slurp(victim), "host data\n");
  EXPECT_EQ(sb.leftovers(), "");
}

// CVE-2024-21626 class: no host fd reaches the container. Every fd the
// container's process has is 0-2 or one it opened itself; a cwd naming an
// inherited fd (/proc/self/fd/N) cannot lead to a host directory.
TEST(Hardening, NoHostFdReachesTheContainer) {
  Sandbox sb;
  // The caller holds extra fds (a host directory among them), as runc's
  // leaked cgroup fd was.
  int dirfd = ::open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);  // inherited: no O_CLOEXEC
  int filefd = ::open("/etc/hostname", O_RDONLY);
  ASSERT_GE(dirfd, 0);
  ASSERT_GE(filefd, 0);
  auto o = sb.run(Sandbox::default_config({"ls", "-l", "/proc/self/fd/"}));
  ::close(dirfd);
  ::close(filefd);
  ASSERT_EQ(o.status, 0) << o.err;
  // ls itself has one more fd: the directory it reads (/proc/<pid>/fd).
  for (const auto& line : nsbox::split(o.out, '\n')) {
    if (!contains(line, "->")) continue;
    bool std_fd = contains(line, " 0 -> ") || contains(line, " 1 -> ") || contains(line, " 2 -> ");
    bool own_dir = contains(line, "/proc/") && contains(line, "/fd");
    EXPECT_TRUE(std_fd || own_dir) << "unexpected fd in the container: " << line;
    EXPECT_FALSE(contains(line, "/sys/fs/cgroup")) << line;
    EXPECT_FALSE(contains(line, "/etc/hostname")) << line;
  }
  for (int fd = 3; fd < 12; ++fd) {
    auto cfg = Sandbox::default_config({"sh", "-c", "ls /"});
    cfg["process"]["cwd"] = "/proc/self/fd/" + std::to_string(fd);
    auto r = sb.run(cfg);
    EXPECT_NE(r.status, 0) << "cwd /proc/self/fd/" << fd << " worked: " << r.out;
    EXPECT_FALSE(contains(r.out, "cgroup.procs")) << r.out;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// process.cwd resolves inside the rootfs: a symlink in the rootfs pointing
// at an absolute host path lands in the rootfs, not on the host.
TEST(Hardening, CwdSymlinkStaysInTheRootfs) {
  Sandbox sb;
  std::string rootfs = own_rootfs(sb, "rootfs-cwd");
  std::filesystem::create_directory_symlink("/etc", rootfs + "/cwd-link");
  std::ofstream(rootfs + "/etc/marker") << "rootfs etc\n";
  auto cfg = Sandbox::default_config({"sh", "-c", "pwd; cat marker"});
  cfg["root"]["path"] = rootfs;
  cfg["process"]["cwd"] = "/cwd-link";
  auto o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "rootfs etc")) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// A symlink planted as <root>/<id> must not make delete remove, or state
// trust, a directory elsewhere.
TEST(Hardening, StateDirSymlinkIsRefused) {
  Sandbox sb;
  std::string victim = sb.dir() + "/victim-dir";
  std::filesystem::create_directories(victim);
  std::ofstream(victim + "/record.json") << R"({"id":"x","pid":1})";
  std::ofstream(victim + "/keep") << "keep\n";
  std::filesystem::create_directories(sb.root());
  std::string id = sb.new_id("ln");
  std::filesystem::create_directory_symlink(victim, sb.root() + "/" + id);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"state", id},
                                               {"delete", id},
                                               {"delete", "--force", id},
                                               {"kill", id, "KILL"}}) {
    auto o = sb.nsbox(args);
    EXPECT_NE(o.status, 0) << args[0];
    EXPECT_TRUE(contains(o.err, "symlink")) << o.err;
  }
  EXPECT_EQ(slurp(victim + "/keep"), "keep\n");
  std::filesystem::remove(sb.root() + "/" + id);
  EXPECT_EQ(sb.leftovers(), "");
}
