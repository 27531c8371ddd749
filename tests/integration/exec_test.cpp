// `exec`: a new process inside a created or running container, observed
// from inside (output, status, namespaces, cgroups, user/cwd/env, seccomp)
// and from the host (cgroup membership, fds).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

// A running container (`sleep 600`) with this config; returns its ID.
std::string start_sleeper(Sandbox& sb, json cfg = Sandbox::default_config({"sleep", "600"})) {
  std::string id = sb.new_id("ex");
  auto o = sb.nsbox({"run", "-d", "-b", sb.bundle(cfg, "b-" + id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  return id;
}

std::string ns_link(int pid, const std::string& ns) {
  char buf[64] = {};
  std::string p = "/proc/" + std::to_string(pid) + "/ns/" + ns;
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

TEST(Exec, OutputAndExitStatus) {
  Sandbox sb;
  std::string id = start_sleeper(sb);
  auto o = sb.nsbox({"exec", id, "sh", "-c", "echo hello from exec; exit 5"});
  EXPECT_EQ(o.status, 5) << o.err;
  EXPECT_EQ(o.out, "hello from exec\n");
  // Flags after the command belong to the command.
  o = sb.nsbox({"exec", id, "ls", "-d", "/proc"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "/proc\n");
  // Killed by a signal: 128 + signal, as the shell reports it.
  o = sb.nsbox({"exec", id, "sh", "-c", "kill -9 $$"});
  EXPECT_EQ(o.status, 137) << o.err;
  // stdin reaches the process.
  o = sb.nsbox({"exec", id, "cat"}, "typed input\n");
  EXPECT_EQ(o.out, "typed input\n");
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Exec, JoinsEveryNamespaceAndTheCgroup) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"sleep", "600"});
  cfg["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  std::string id = start_sleeper(sb, cfg);
  int init = sb.pid_of(id);
  ASSERT_GT(init, 0);
  std::string pidfile = sb.dir() + "/exec.pid";
  auto o = sb.nsbox({"exec", "-d", "--pid-file", pidfile, id, "sleep", "600"});
  ASSERT_EQ(o.status, 0) << o.err;
  int pid = std::stoi(slurp(pidfile));
  for (const char* ns : {"mnt", "uts", "ipc", "pid", "net", "cgroup"}) {
    EXPECT_EQ(ns_link(pid, ns), ns_link(init, ns)) << ns;
    EXPECT_NE(ns_link(pid, ns), nsbox::it::host_ns(ns)) << ns;
  }
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/cgroup"),
            slurp("/proc/" + std::to_string(init) + "/cgroup"));
  // ps lists it; inside, the PID namespace shows the init as 1.
  EXPECT_TRUE(contains(sb.nsbox({"ps", "--format", "json", id}).out, std::to_string(pid)));
  o = sb.nsbox({"exec", id, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; hostname"});
  EXPECT_TRUE(contains(o.out, "sleep 600")) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Exec, UserCwdEnvCapsAndNoNewPrivs) {
  Sandbox sb;
  std::string id = start_sleeper(sb);
  auto o = sb.nsbox({"exec", "--user", "1000:1001", "-g", "7", "--additional-gids", "8", "--cwd",
                     "/tmp", "-e", "FOO=bar", "--env", "BAZ=qux", id, "sh", "-c",
                     "id -u; id -g; id -G; pwd; echo $FOO$BAZ"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "1000\n1001\n1001 7 8\n/tmp\nbarqux\n");
  // The container's process: root, cwd /, runc's default bounding set.
  int init = sb.pid_of(id);
  auto caps = [](const std::string& status) {
    std::istringstream in(status);
    std::string out;
    for (std::string l; std::getline(in, l);) {
      if (l.rfind("CapBnd", 0) == 0 || l.rfind("CapEff", 0) == 0 || l.rfind("NoNewPrivs", 0) == 0)
        out += l + "\n";
    }
    return out;
  };
  o = sb.nsbox({"exec", id, "cat", "/proc/self/status"});
  EXPECT_EQ(caps(o.out), caps(slurp("/proc/" + std::to_string(init) + "/status")));
  // --cap adds one; --no-new-privs sets it.
  o = sb.nsbox({"exec", "--cap", "CAP_SYS_PTRACE", "--no-new-privs", id, "grep", "-E",
                "CapEff|NoNewPrivs", "/proc/self/status"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "NoNewPrivs:\t1")) << o.out;
  unsigned long long eff = 0;
  std::sscanf(o.out.c_str(), "CapEff:\t%llx", &eff);
  EXPECT_TRUE(eff & (1ULL << 19)) << o.out;  // CAP_SYS_PTRACE
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
}

TEST(Exec, ProcessFile) {
  Sandbox sb;
  std::string id = start_sleeper(sb);
  json proc = {{"args", {"sh", "-c", "echo $GREETING; id -u; pwd"}},
               {"env", {"GREETING=from-process-json", "PATH=/bin:/usr/bin"}},
               {"cwd", "/dev"},
               {"user", {{"uid", 4242}, {"gid", 4242}}}};
  std::string path = sb.dir() + "/process.json";
  std::ofstream(path) << proc.dump();
  auto o = sb.nsbox({"exec", "--process", path, id});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "from-process-json\n4242\n/dev\n");
  // A bad process file: the field is named, nothing runs.
  std::ofstream(path) << R"({"args": ["true"], "cwd": 5})";
  o = sb.nsbox({"exec", "--process", path, id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "process.cwd")) << o.err;
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
}

TEST(Exec, SeccompOfTheContainerApplies) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"sleep", "600"});
  cfg["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 122}}}}};
  std::string id = start_sleeper(sb, cfg);
  auto o = sb.nsbox({"exec", id, "mkdir", "/tmp/blocked"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "Disk quota exceeded")) << o.err;  // EDQUOT = 122
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
}

TEST(Exec, RefusedInStoppedPausedOrUnknownContainers) {
  Sandbox sb;
  auto o = sb.nsbox({"exec", "no-such-container", "true"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "does not exist")) << o.err;

  std::string id = start_sleeper(sb);
  ASSERT_EQ(sb.nsbox({"pause", id}).status, 0);
  o = sb.nsbox({"exec", id, "true"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "paused")) << o.err;
  ASSERT_EQ(sb.nsbox({"resume", id}).status, 0);
  ASSERT_EQ(sb.nsbox({"kill", id, "KILL"}).status, 0);
  for (int i = 0; i < 100 && !contains(sb.nsbox({"state", id}).out, "stopped"); ++i) {
    ::usleep(20000);
  }
  o = sb.nsbox({"exec", id, "true"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "stopped")) << o.err;
  // Missing program: runc's text, nothing left running.
  std::string id2 = start_sleeper(sb);
  o = sb.nsbox({"exec", id2, "no-such-program"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "executable file not found in $PATH")) << o.err;
  o = sb.nsbox({"ps", "--format", "json", id2});
  EXPECT_EQ(json::parse(o.out).size(), 1U) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "-f", id2}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// Only 0-2 and --preserve-fds reach the process: the caller's other fds
// (here 7, open on a host file) do not.
TEST(Exec, OnlyPreservedFdsReachTheProcess) {
  Sandbox sb;
  std::string id = start_sleeper(sb);
  auto exec_with = [&](const std::string& flags) {
    std::string cmd =
        "exec 3</proc/self/stat 7</proc/self/stat; '" + nsbox::it::nsbox_binary() + "' --root '" +
        sb.root() + "' exec " + flags + id +
        " sh -c 'for f in 3 4 5 6 7 8; do [ -e /proc/self/fd/$f ] && echo $f; done; true'";
    return nsbox::it::run_program({"/bin/sh", "-c", cmd});
  };
  auto o = exec_with("--preserve-fds 1 ");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "3\n");
  o = exec_with("");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
}

// As runc: an exec'd process gets a new session keyring, unless the
// container was created with --no-new-keyring; then it keeps the caller's,
// as the container's init did.
TEST(Exec, SessionKeyringFollowsNoNewKeyring) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"sleep", "600"});
  nsbox::it::add_testprog(cfg);
  std::string b = sb.bundle(cfg);
  auto mine =
      nsbox::it::run_program({nsbox::it::testprog_dir() + "/nsbox-testprog", "keyring", "0"});
  ASSERT_EQ(mine.status, 0) << mine.err;
  std::string plain = sb.new_id("key");
  std::string kept = sb.new_id("key");
  ASSERT_EQ(sb.nsbox({"run", "-d", "-b", b, plain}).status, 0);
  ASSERT_EQ(sb.nsbox({"run", "-d", "--no-new-keyring", "-b", b, kept}).status, 0);
  auto o = sb.nsbox({"exec", kept, "/home/nsbox-testprog", "keyring", "0"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, mine.out);
  o = sb.nsbox({"exec", plain, "/home/nsbox-testprog", "keyring", "0"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "keyring ")) << o.out;
  EXPECT_NE(o.out, mine.out);
  for (const auto& id : {plain, kept}) EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
