// CVE-2019-5736 class: a container process that can ptrace nsbox's init
// (CAP_SYS_PTRACE in the host user namespace) while the init still runs
// nsbox code must not reach the host's nsbox binary through /proc/PID/exe.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

// The pid of host pid `pid` in its innermost PID namespace (NSpid).
std::string inner_pid(int pid) {
  std::istringstream status(slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("NSpid:", 0) == 0) return line.substr(line.find_last_of(" \t") + 1);
  }
  return "";
}

std::string wait_for(const std::string& path, int seconds = 30) {
  struct stat st {};
  for (int i = 0; i < seconds * 50; ++i) {
    if (::stat((path + ".done").c_str(), &st) == 0) return slurp(path);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "timeout";
}

}  // namespace

// B runs with CAP_SYS_PTRACE; A is created in B's PID namespace, so A's init
// (nsbox code, waiting for `start`) is visible to B. B opens A's
// /proc/PID/exe: it must be denied, or not be the host binary, and never
// reopen for writing.
TEST(Cve20195736, CreatedInitInASharedPidNamespace) {
  Sandbox sb;
  auto b_cfg = Sandbox::default_config(
      {"sh", "-c",
       "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; /home/nsbox-testprog exe-scan 0 > "
       "/dev/shm/scan 2>&1; touch /dev/shm/scan.done; sleep 60"});
  nsbox::it::add_testprog(b_cfg);
  for (const char* set : {"bounding", "effective", "permitted"}) {
    b_cfg["process"]["capabilities"][set].push_back("CAP_SYS_PTRACE");
  }
  std::string b = sb.new_id("cvb");
  ASSERT_EQ(sb.nsbox({"run", "-d", "-b", sb.bundle(b_cfg, b), b}).status, 0);
  int b_pid = sb.pid_of(b);

  auto a_cfg = Sandbox::default_config({"true"});
  for (auto& ns : a_cfg["linux"]["namespaces"]) {
    if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(b_pid) + "/ns/pid";
  }
  std::string a = sb.new_id("cva");
  auto created = sb.nsbox({"create", "-b", sb.bundle(a_cfg, a), a});
  ASSERT_EQ(created.status, 0) << created.err;
  int a_pid = sb.pid_of(a);
  std::string a_inner = inner_pid(a_pid);
  ASSERT_FALSE(a_inner.empty());

  std::ofstream("/proc/" + std::to_string(b_pid) + "/root/dev/shm/go").put('1');
  std::string scan = wait_for("/proc/" + std::to_string(b_pid) + "/root/dev/shm/scan");
  struct stat host_bin {};
  ASSERT_EQ(::stat(nsbox::it::nsbox_binary().c_str(), &host_bin), 0);
  std::string host_id = std::to_string(host_bin.st_dev) + ":" + std::to_string(host_bin.st_ino);
  bool seen = false;
  std::istringstream lines(scan);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_FALSE(contains(line, "WRITABLE")) << line;
    if (line.rfind(a_inner + " ", 0) != 0) continue;
    seen = true;
    EXPECT_FALSE(contains(line, " " + host_id + " ")) << "A's init runs the host binary: " << line;
  }
  EXPECT_TRUE(seen) << "A's init (pid " << a_inner << " in B) not in the scan:\n" << scan;
  // A starts normally afterwards.
  EXPECT_EQ(sb.nsbox({"start", a}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", a}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", b}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
