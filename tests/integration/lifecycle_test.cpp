// The OCI lifecycle and runc's semantics, driven through the nsbox binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::Sandbox;

namespace {

std::string status_of(Sandbox& sb, const std::string& id) {
  auto o = sb.nsbox({"state", id});
  if (o.status != 0) return "error: " + o.err;
  return json::parse(o.out)["status"].get<std::string>();
}

}  // namespace

TEST(Lifecycle, RunExitsWithContainerStatus) {
  Sandbox sb;
  auto o = sb.run(Sandbox::default_config({"sh", "-c", "echo hello; exit 7"}));
  EXPECT_EQ(o.status, 7) << o.err;
  EXPECT_EQ(o.out, "hello\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Lifecycle, RunKilledBySignalGives128PlusSignal) {
  Sandbox sb;
  // Without a PID namespace the shell is not an init, so SIGKILL reaches it.
  auto cfg = Sandbox::default_config({"sh", "-c", "kill -9 $$"});
  nsbox::it::remove_ns(cfg, "pid");
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 128 + SIGKILL) << o.err;
}

TEST(Lifecycle, CreateStartStateDelete) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string b = sb.bundle(Sandbox::default_config({"sleep", "30"}));
  std::string pidfile = sb.dir() + "/pid";
  auto c = sb.nsbox({"create", "--bundle", b, "--pid-file", pidfile, id});
  ASSERT_EQ(c.status, 0) << c.err;
  auto st = json::parse(sb.nsbox({"state", id}).out);
  EXPECT_EQ(st["status"], "created");
  EXPECT_EQ(st["id"], id);
  EXPECT_EQ(st["bundle"], b);
  int pid = st["pid"];
  EXPECT_GT(pid, 0);
  EXPECT_EQ(std::to_string(pid), nsbox::it::run_program({"/bin/cat", pidfile}).out);
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  EXPECT_EQ(status_of(sb, id), "running");
  // A second start is refused and changes nothing.
  EXPECT_NE(sb.nsbox({"start", id}).status, 0);
  EXPECT_EQ(status_of(sb, id), "running");
  // delete of a running container needs --force.
  auto d = sb.nsbox({"delete", id});
  EXPECT_NE(d.status, 0);
  EXPECT_EQ(status_of(sb, id), "running");
  ASSERT_EQ(sb.nsbox({"kill", id, "KILL"}).status, 0);
  for (int i = 0; i < 100 && status_of(sb, id) != "stopped"; ++i) usleep(20000);
  EXPECT_EQ(status_of(sb, id), "stopped");
  // kill of a stopped container errors, except with --all.
  EXPECT_NE(sb.nsbox({"kill", id, "TERM"}).status, 0);
  EXPECT_EQ(sb.nsbox({"kill", "--all", id, "TERM"}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", id}).status, 0);
  EXPECT_NE(sb.nsbox({"state", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Lifecycle, DeleteOfCreatedContainerKillsIt) {
  Sandbox sb;
  std::string id = sb.new_id();
  ASSERT_EQ(
      sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"sleep", "30"})), id}).status,
      0);
  int pid = json::parse(sb.nsbox({"state", id}).out)["pid"];
  EXPECT_EQ(sb.nsbox({"delete", id}).status, 0);
  EXPECT_NE(kill(pid, 0) == 0 &&
                nsbox::it::run_program({"/bin/cat", "/proc/" + std::to_string(pid) + "/stat"})
                        .out.find(" Z ") == std::string::npos,
            true);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Lifecycle, UnknownIdErrors) {
  Sandbox sb;
  auto s = sb.nsbox({"state", "nope"});
  EXPECT_NE(s.status, 0);
  EXPECT_NE(s.err.find("does not exist"), std::string::npos) << s.err;
  EXPECT_NE(sb.nsbox({"kill", "nope"}).status, 0);
  EXPECT_NE(sb.nsbox({"delete", "nope"}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", "nope"}).status, 0);
}

TEST(Lifecycle, ExistingIdRefused) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string b = sb.bundle(Sandbox::default_config({"sleep", "30"}));
  ASSERT_EQ(sb.nsbox({"create", "-b", b, id}).status, 0);
  auto again = sb.nsbox({"create", "-b", b, id});
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(status_of(sb, id), "created");
}

TEST(Lifecycle, RacingCreatesExactlyOneWins) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string b = sb.bundle(Sandbox::default_config({"sleep", "30"}));
  int ok = 0;
  std::vector<std::thread> ts;
  std::vector<int> results(4);
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] { results[i] = sb.nsbox({"create", "-b", b, id}).status; });
  }
  for (auto& t : ts) t.join();
  for (int r : results) ok += r == 0;
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(status_of(sb, id), "created");
}

TEST(Lifecycle, ListFormats) {
  Sandbox sb;
  std::string id = sb.new_id();
  ASSERT_EQ(
      sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"sleep", "30"})), id}).status,
      0);
  EXPECT_EQ(sb.nsbox({"list", "-q"}).out, id + "\n");
  auto arr = json::parse(sb.nsbox({"list", "--format", "json"}).out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], id);
  EXPECT_EQ(arr[0]["status"], "created");
  EXPECT_NE(sb.nsbox({"list"}).out.find(id), std::string::npos);
}

TEST(Lifecycle, CreateLeavesInitToCallersSubreaper) {
  Sandbox sb;
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  std::string id = sb.new_id();
  ASSERT_EQ(
      sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"sleep", "30"})), id}).status,
      0);
  int pid = json::parse(sb.nsbox({"state", id}).out)["pid"];
  // No nsbox process stays behind: the init's parent is us, the subreaper.
  auto status =
      nsbox::it::run_program({"/bin/cat", "/proc/" + std::to_string(pid) + "/status"}).out;
  EXPECT_NE(status.find("PPid:\t" + std::to_string(getpid()) + "\n"), std::string::npos) << status;
  ASSERT_EQ(sb.nsbox({"delete", id}).status, 0);
  int st = 0;
  EXPECT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

TEST(Lifecycle, RunForwardsSignals) {
  Sandbox sb;
  std::string id = sb.new_id();
  std::string b = sb.bundle(Sandbox::default_config(
      {"sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done"}));
  int out = memfd_create("out", MFD_CLOEXEC);
  pid_t runner = fork();
  if (runner == 0) {
    dup2(out, 1);
    execl(nsbox::it::nsbox_binary().c_str(), "nsbox", "--root", sb.root().c_str(), "run", "-b",
          b.c_str(), id.c_str(), nullptr);
    _exit(127);
  }
  auto output = [&] {
    char buf[256] = {};
    ssize_t n = pread(out, buf, sizeof buf - 1, 0);
    return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  };
  for (int i = 0; i < 200 && output().find("ready") == std::string::npos; ++i) usleep(20000);
  ASSERT_NE(output().find("ready"), std::string::npos);
  kill(runner, SIGTERM);
  int st = 0;
  ASSERT_EQ(waitpid(runner, &st, 0), runner);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 3);
  EXPECT_NE(output().find("got TERM"), std::string::npos) << output();
  close(out);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Lifecycle, UnknownPropertiesIgnoredAndLoggedAtDebug) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"true"});
  cfg["bogusTop"] = 1;
  cfg["process"]["bogusProcess"] = true;
  cfg["linux"]["bogusLinux"] = "x";
  std::string id = sb.new_id();
  auto o = sb.nsbox({"--debug", "run", "-b", sb.bundle(cfg), id});
  EXPECT_EQ(o.status, 0) << o.err;
  for (const char* p : {"bogusTop", "process.bogusProcess", "linux.bogusLinux"}) {
    EXPECT_NE(o.err.find(std::string("ignoring unknown property ") + p), std::string::npos)
        << o.err;
  }
  // Without --debug nothing is said.
  id = sb.new_id();
  EXPECT_EQ(sb.nsbox({"run", "-b", sb.bundle(cfg, "b2"), id}).err, "");
}

// The init is in the container's cgroup in every hierarchy before the user's
// program runs; with a cgroup namespace that cgroup is the namespace's root.
TEST(Lifecycle, ProcessIsInItsCgroupEverywhere) {
  Sandbox sb;
  std::string id = sb.new_id("cg");
  std::string b = sb.bundle(Sandbox::default_config({"cat", "/proc/self/cgroup"}));
  auto o = sb.nsbox({"run", "-b", b, id});
  ASSERT_EQ(o.status, 0) << o.err;
  std::istringstream lines(o.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    EXPECT_NE(line.find(":/nsbox/" + id), std::string::npos) << line;
  }
  EXPECT_GT(n, 0);
  auto cfg = Sandbox::default_config({"cat", "/proc/self/cgroup"});
  cfg["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  o = sb.run(cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  std::istringstream ns_lines(o.out);
  for (std::string line; std::getline(ns_lines, line);) {
    EXPECT_EQ(line.substr(line.rfind(':')), ":/") << line;
  }
  EXPECT_EQ(sb.leftovers(), "");
}
