// CVE-2019-5736 class: a container process that can ptrace nsbox's init
// or exec child (CAP_SYS_PTRACE in the host user namespace) while it still
// runs nsbox code must not reach the host's nsbox binary through
// /proc/PID/exe.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "seccomp_agent.h"

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

// The exe-scan lines of B's probe: none writable, and `target` (a pid as B
// sees it) seen, its exe being not the host binary (a sealed copy) or on a
// read-only mount.
void expect_protected(const std::string& scan, const std::string& target) {
  struct stat host_bin {};
  ASSERT_EQ(::stat(nsbox::it::nsbox_binary().c_str(), &host_bin), 0);
  std::string host_id = std::to_string(host_bin.st_dev) + ":" + std::to_string(host_bin.st_ino);
  bool seen = false;
  std::istringstream lines(scan);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_FALSE(contains(line, "WRITABLE")) << line;
    if (line.rfind(target + " ", 0) != 0) continue;
    seen = true;
    bool host_binary = contains(line, " " + host_id + " ");
    EXPECT_TRUE(!host_binary || contains(line, " ro "))
        << "pid " << target << " runs the host binary from a writable mount: " << line;
  }
  EXPECT_TRUE(seen) << "pid " << target << " not in the scan:\n" << scan;
}

// B's command: wait for /dev/shm/go, scan every /proc/PID/exe, then sleep.
std::vector<std::string> scanner_args() {
  return {"sh", "-c",
          "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; /home/nsbox-testprog exe-scan 0 > "
          "/dev/shm/scan 2>&1; touch /dev/shm/scan.done; sleep 60"};
}

json scanner_config() {
  auto cfg = Sandbox::default_config(scanner_args());
  nsbox::it::add_testprog(cfg);
  for (const char* set : {"bounding", "effective", "permitted"}) {
    cfg["process"]["capabilities"][set].push_back("CAP_SYS_PTRACE");
  }
  return cfg;
}

void set_pid_ns_path(json& cfg, int pid) {
  for (auto& ns : cfg["linux"]["namespaces"]) {
    if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(pid) + "/ns/pid";
  }
}

// Let B's scan go and return its output.
std::string scan_from(int b_pid) {
  std::string shm = "/proc/" + std::to_string(b_pid) + "/root/dev/shm/";
  std::ofstream(shm + "go").put('1');
  return wait_for(shm + "scan");
}

}  // namespace

// B runs with CAP_SYS_PTRACE; A is created in B's PID namespace, so A's init
// (nsbox code, waiting for `start`) is visible to B. B opens A's
// /proc/PID/exe: it must be denied, or not be a writable host binary, and
// never reopen for writing.
TEST(Cve20195736, CreatedInitInASharedPidNamespace) {
  Sandbox sb;
  std::string b = sb.new_id("cvb");
  ASSERT_EQ(sb.nsbox({"run", "-d", "-b", sb.bundle(scanner_config(), b), b}).status, 0);
  int b_pid = sb.pid_of(b);

  auto a_cfg = Sandbox::default_config({"true"});
  set_pid_ns_path(a_cfg, b_pid);
  std::string a = sb.new_id("cva");
  auto created = sb.nsbox({"create", "-b", sb.bundle(a_cfg, a), a});
  ASSERT_EQ(created.status, 0) << created.err;
  std::string a_inner = inner_pid(sb.pid_of(a));
  ASSERT_FALSE(a_inner.empty());

  expect_protected(scan_from(b_pid), a_inner);
  // A starts normally afterwards.
  EXPECT_EQ(sb.nsbox({"start", a}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", a}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", b}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// The other order: A is created in a new PID namespace and waits for
// `start`; B joins A's PID namespace and starts first. A's init is pid 1 of
// the namespace B's scanner runs in.
TEST(Cve20195736, CreatedInitJoinedByAnotherContainer) {
  Sandbox sb;
  std::string a = sb.new_id("cva");
  auto created = sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"true"}), a), a});
  ASSERT_EQ(created.status, 0) << created.err;
  int a_pid = sb.pid_of(a);

  auto b_cfg = scanner_config();
  set_pid_ns_path(b_cfg, a_pid);
  std::string b = sb.new_id("cvb");
  auto run = sb.nsbox({"run", "-d", "-b", sb.bundle(b_cfg, b), b});
  ASSERT_EQ(run.status, 0) << run.err;
  expect_protected(scan_from(sb.pid_of(b)), "1");
  EXPECT_EQ(sb.nsbox({"delete", "--force", b}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", a}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// `exec`: the exec child joins the container's PID namespace right after
// its clone and runs nsbox code there until its execve. A's seccomp profile
// sends execve to the test's agent, which holds the exec child's call: the
// child stays in nsbox code (blocked in execve, /proc/PID/exe still nsbox's
// image) while B, with CAP_SYS_PTRACE in A's PID namespace, scans.
TEST(Cve20195736, ExecChildInTheContainersPidNamespace) {
  Sandbox sb;
  nsbox::it::Agent agent(sb.dir() + "/agent.sock");
  ASSERT_TRUE(agent.bound());
  // Connection 0: A's init at create (its execve at start is let through);
  // 1: the exec child.
  agent.hold(1);
  agent.serve();
  nsbox::it::Output exec_out;
  std::thread exec_thread;
  struct Joiner {
    nsbox::it::Agent& agent;
    std::thread& t;
    ~Joiner() {
      agent.stop();  // a still held execve fails: nsbox exec returns
      if (t.joinable()) t.join();
    }
  } joiner{agent, exec_thread};

  auto a_cfg = Sandbox::default_config({"sleep", "60"});
  json notify_exec = {{"names", json::array({"execve", "execveat"})},
                      {"action", "SCMP_ACT_NOTIFY"}};
  a_cfg["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                               {"listenerPath", sb.dir() + "/agent.sock"},
                               {"syscalls", json::array({notify_exec})}};
  std::string a = sb.new_id("cva");
  auto run_a = sb.nsbox({"run", "-d", "-b", sb.bundle(a_cfg, a), a});
  ASSERT_EQ(run_a.status, 0) << run_a.err;
  int a_pid = sb.pid_of(a);

  auto b_cfg = scanner_config();
  set_pid_ns_path(b_cfg, a_pid);
  std::string b = sb.new_id("cvb");
  auto run_b = sb.nsbox({"run", "-d", "-b", sb.bundle(b_cfg, b), b});
  ASSERT_EQ(run_b.status, 0) << run_b.err;
  int b_pid = sb.pid_of(b);

  exec_thread = std::thread([&] { exec_out = sb.nsbox({"exec", "-d", a, "true"}); });
  auto held = agent.held(30000);
  ASSERT_TRUE(held.has_value()) << "the exec child's execve never reached the agent";
  EXPECT_TRUE(held->data.nr == SYS_execve || held->data.nr == SYS_execveat) << held->data.nr;
  auto states = agent.states();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0]["pid"], a_pid);
  EXPECT_EQ(states[1]["pid"], static_cast<int>(held->pid)) << states[1].dump();
  std::string child = inner_pid(static_cast<int>(held->pid));
  // Read after NSpid: the pid was still the blocked exec child's.
  ASSERT_TRUE(agent.held_pending());
  ASSERT_FALSE(child.empty());
  ASSERT_NE(child, "1");  // in A's PID namespace, not its init

  expect_protected(scan_from(b_pid), child);
  EXPECT_TRUE(agent.held_pending()) << "the exec child left nsbox code before the scan ended";

  ASSERT_TRUE(agent.release());
  exec_thread.join();
  EXPECT_EQ(exec_out.status, 0) << exec_out.err;
  EXPECT_EQ(sb.nsbox({"delete", "--force", b}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", a}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
