// linux.seccomp on the real kernel: what the container's processes see, the
// seccomp agent protocol (SCMP_ACT_NOTIFY), and bad profiles.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/fd.h"
#include "harness.h"
#include "seccomp_agent.h"

using nlohmann::json;
using nsbox::UniqueFd;
using nsbox::it::Agent;
using nsbox::it::answer_notification;
using nsbox::it::contains;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

json rule(const std::vector<std::string>& names, const std::string& action) {
  return {{"names", names}, {"action", action}};
}

json allow_all_but(const std::vector<json>& rules) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", rules}};
}

json config(const std::string& script, const json& seccomp, bool nnp = true) {
  auto cfg = Sandbox::default_config({"sh", "-c", script});
  cfg["process"]["noNewPrivileges"] = nnp;
  cfg["linux"]["seccomp"] = seccomp;
  return cfg;
}

// The container's view of its seccomp mode: "2" when a filter is loaded.
constexpr const char* kShowMode = "grep '^Seccomp:' /proc/self/status";

TEST(Seccomp, ErrnoRuleWithAndWithoutNoNewPrivileges) {
  for (bool nnp : {true, false}) {
    Sandbox sb;
    json r = rule({"mkdir", "mkdirat", "no_such_syscall_in_libseccomp"}, "SCMP_ACT_ERRNO");
    r["errnoRet"] = ENOSYS;
    auto o = sb.run(config(std::string("mkdir /tmp/x 2>&1; echo rc=$?; ") + kShowMode,
                           allow_all_but({r}), nnp));
    EXPECT_EQ(o.status, 0) << o.err;
    // Without the filter: "Read-only file system" (root.readonly).
    EXPECT_TRUE(contains(o.out, "can't create directory '/tmp/x': Function not implemented"))
        << "nnp=" << nnp << ": " << o.out;
    EXPECT_TRUE(contains(o.out, "rc=1\nSeccomp:\t2\n")) << o.out;
    EXPECT_EQ(sb.leftovers(), "");
  }
}

TEST(Seccomp, ErrnoRetDefaultsToEperm) {
  Sandbox sb;
  auto o = sb.run(config("mkdir /tmp/x 2>&1", allow_all_but({rule({"mkdir"}, "SCMP_ACT_ERRNO")})));
  EXPECT_TRUE(contains(o.out, "Operation not permitted")) << o.out << o.err;
}

// The profile `nsbox spec --seccomp-default` writes, with its default
// errno changed: what it does not allow fails with defaultErrnoRet.
TEST(Seccomp, DefaultProfileAndDefaultErrnoRet) {
  Sandbox sb;
  std::string dir = sb.dir() + "/spec";
  std::filesystem::create_directories(dir);
  auto spec = sb.nsbox({"spec", "--seccomp-default", "--bundle", dir});
  ASSERT_EQ(spec.status, 0) << spec.err;
  auto generated = json::parse(slurp(dir + "/config.json"));
  json profile = generated["linux"]["seccomp"];
  ASSERT_EQ(profile["defaultAction"], "SCMP_ACT_ERRNO");
  // Without the flag, runc's output: no seccomp.
  std::filesystem::create_directories(sb.dir() + "/plain");
  ASSERT_EQ(sb.nsbox({"spec", "--bundle", sb.dir() + "/plain"}).status, 0);
  EXPECT_FALSE(json::parse(slurp(sb.dir() + "/plain/config.json"))["linux"].contains("seccomp"));

  const std::string script =
      "echo ok; ls / >/dev/null && cat /proc/self/status >/dev/null && sleep 0.1 && echo tools; " +
      std::string(kShowMode) + "; unshare -U true 2>&1; echo unshare=$?";
  auto plain = sb.run(Sandbox::default_config({"sh", "-c", script}));
  ASSERT_EQ(plain.status, 0) << plain.err;
  auto o = sb.run(config(script, profile));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "ok\ntools\nSeccomp:\t2\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "unshare(0x10000000): Operation not permitted")) << o.out;
  EXPECT_TRUE(contains(o.out, "unshare=1")) << o.out;
  // Without the profile: no filter, and unshare works where the host lets
  // containers make user namespaces.
  EXPECT_TRUE(contains(plain.out, "tools\nSeccomp:\t0\n")) << plain.out;

  profile["defaultErrnoRet"] = ENOSYS;
  auto e = sb.run(config(script, profile, false));
  EXPECT_TRUE(contains(e.out, "unshare(0x10000000): Function not implemented")) << e.out << e.err;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Seccomp, KillActionsEndTheProcessWithSigsys) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS"}) {
    Sandbox sb;
    // The container's pid 1 itself makes the call.
    auto o = sb.run(config("exec mkdir /tmp/x", allow_all_but({rule({"mkdir"}, action)})));
    EXPECT_EQ(o.status, 128 + SIGSYS) << action << ": " << o.err;
    EXPECT_EQ(sb.leftovers(), "");
  }
}

TEST(Seccomp, TrapRaisesSigsys) {
  Sandbox sb;
  // sh reports its child's signal; a handler could catch it (unlike a kill).
  auto o =
      sb.run(config("mkdir /tmp/x; echo rc=$?", allow_all_but({rule({"mkdir"}, "SCMP_ACT_TRAP")})));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "rc=" + std::to_string(128 + SIGSYS) + "\n");
  EXPECT_TRUE(contains(o.err, "Bad system call")) << o.err;
}

TEST(Seccomp, TraceWithoutTracerAndLogDefault) {
  Sandbox sb;
  json trace = rule({"mkdir"}, "SCMP_ACT_TRACE");
  trace["errnoRet"] = 5;
  json profile = {{"defaultAction", "SCMP_ACT_LOG"}, {"syscalls", json::array({trace})}};
  auto o = sb.run(config(std::string("echo logged; mkdir /tmp/x 2>&1; ") + kShowMode, profile));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "logged\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "Function not implemented")) << o.out;  // no tracer: ENOSYS
  EXPECT_TRUE(contains(o.out, "Seccomp:\t2")) << o.out;
}

// kill(2) is refused for SIGUSR1 and SIGUSR2 only: two conditions on the
// same argument are alternatives, as in runc.
TEST(Seccomp, ArgumentConditions) {
  Sandbox sb;
  json r = rule({"kill"}, "SCMP_ACT_ERRNO");
  r["args"] = {{{"index", 1}, {"value", SIGUSR1}, {"op", "SCMP_CMP_EQ"}},
               {{"index", 1}, {"value", SIGUSR2}, {"op", "SCMP_CMP_EQ"}}};
  // $$ is pid 1: signals without a handler are ignored, so an allowed kill
  // succeeds and does nothing.
  auto o = sb.run(
      config("kill -0 $$; echo a=$?; kill -USR1 $$ 2>&1; echo b=$?; kill -USR2 $$ 2>/dev/null; "
             "echo c=$?; kill -HUP $$; echo d=$?",
             allow_all_but({r})));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "a=0\n")) << o.out;
  EXPECT_TRUE(contains(o.out, "Operation not permitted\nb=1\nc=1\nd=0\n")) << o.out;
}

TEST(Seccomp, Flags) {
  Sandbox sb;
  json profile = allow_all_but({rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  profile["flags"] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto o = sb.run(config(std::string("mkdir /tmp/x 2>&1; ") + kShowMode, profile, false));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "Operation not permitted\nSeccomp:\t2\n")) << o.out;
}

TEST(Seccomp, BadProfilesFailCreateAndLeaveNothing) {
  struct Case {
    json profile;
    std::string want;
  };
  json op = rule({"kill"}, "SCMP_ACT_ERRNO");
  op["args"] = {{{"index", 1}, {"value", 1}, {"op", "SCMP_CMP_SOMETIMES"}}};
  json notify = allow_all_but({rule({"mkdir"}, "SCMP_ACT_NOTIFY")});
  notify["listenerPath"] = "/nonexistent/agent.sock";
  std::vector<Case> cases = {
      {allow_all_but({rule({"read"}, "SCMP_ACT_ALLOW"), rule({"read"}, "SCMP_ACT_ALLOW"),
                      rule({"mkdir"}, "SCMP_ACT_FOO")}),
       "linux.seccomp.syscalls[2].action: unknown action \"SCMP_ACT_FOO\""},
      {{{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"SCMP_ARCH_PDP11"}}},
       "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_PDP11\""},
      {allow_all_but({op}), "linux.seccomp.syscalls[0].args[0].op: unknown operator"},
      {{{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {"SECCOMP_FILTER_FLAG_X"}}},
       "linux.seccomp.flags[0]: unknown flag"},
      {{{"defaultErrnoRet", 1}}, "linux.seccomp.defaultAction: required"},
      // After the clone: the agent cannot be reached.
      {notify, "linux.seccomp.listenerPath: connect to /nonexistent/agent.sock"},
  };
  for (const auto& c : cases) {
    Sandbox sb;
    std::string id = sb.new_id("bad");
    auto o = sb.nsbox({"create", "-b", sb.bundle(config("true", c.profile)), id});
    EXPECT_NE(o.status, 0);
    EXPECT_TRUE(contains(o.err, c.want)) << o.err;
    EXPECT_EQ(sb.leftovers(), "") << c.want;
  }
}

TEST(Seccomp, NotifyHandsTheListenerToTheAgent) {
  for (bool nnp : {true, false}) {
    Sandbox sb;
    std::string out = sb.dir() + "/out";
    std::filesystem::create_directories(out);
    Agent agent(sb.dir() + "/agent.sock");
    ASSERT_TRUE(agent.bound());
    json profile = allow_all_but({rule({"mkdir", "mkdirat"}, "SCMP_ACT_NOTIFY")});
    profile["listenerPath"] = sb.dir() + "/agent.sock";
    profile["listenerMetadata"] = "agent-test-metadata";
    auto cfg = config("mkdir /tmp/x 2>/tmp/err; echo $? >/tmp/rc", profile, nnp);
    cfg["mounts"].push_back(
        {{"destination", "/tmp"}, {"type", "bind"}, {"source", out}, {"options", {"bind"}}});
    cfg["annotations"] = {{"org.nsbox.test", "notify"}};
    std::string id = sb.new_id("notify");
    std::string bundle = sb.bundle(cfg);
    auto c = sb.nsbox({"create", "-b", bundle, id});
    ASSERT_EQ(c.status, 0) << c.err;

    json msg;
    std::vector<UniqueFd> fds;
    std::string error;
    ASSERT_TRUE(agent.receive(&msg, &fds, &error)) << error;
    auto st = json::parse(sb.nsbox({"state", id}).out);
    EXPECT_EQ(msg["ociVersion"], st["ociVersion"]);
    EXPECT_EQ(msg["fds"], json::array({"seccompFd"}));
    EXPECT_EQ(msg["pid"], st["pid"]);
    EXPECT_EQ(msg["metadata"], "agent-test-metadata");
    EXPECT_EQ(msg["state"]["id"], id);
    EXPECT_EQ(msg["state"]["status"], "creating");
    EXPECT_EQ(msg["state"]["pid"], st["pid"]);
    EXPECT_EQ(msg["state"]["bundle"], bundle);
    EXPECT_EQ(msg["state"]["annotations"]["org.nsbox.test"], "notify");
    ASSERT_EQ(fds.size(), 1u);
    // The listener really is one: it answers SECCOMP_IOCTL_NOTIF_ID_VALID
    // (ENOENT for an unknown id; another fd would give ENOTTY or EBADF).
    uint64_t no_such_id = 0;
    EXPECT_EQ(::ioctl(fds[0].get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &no_such_id), -1);
    EXPECT_EQ(errno, ENOENT);

    ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
    int nr = answer_notification(fds[0].get(), EDQUOT);
    EXPECT_TRUE(nr == SYS_mkdir || nr == SYS_mkdirat) << nr;
    for (int i = 0; i < 500 && slurp(out + "/rc").empty(); ++i) usleep(10000);
    EXPECT_EQ(slurp(out + "/rc"), "1\n");
    EXPECT_TRUE(contains(slurp(out + "/err"), "Disk quota exceeded")) << slurp(out + "/err");
    EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
    EXPECT_EQ(sb.leftovers(), "");
  }
}

}  // namespace
