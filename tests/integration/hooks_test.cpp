// OCI hooks through the nsbox binary: order across the lifecycle, the state
// on stdin, args/env, timeouts, and what a failing hook of each kind does.
// Host-side hooks are /bin/sh scripts in the sandbox directory; the
// startContainer hook runs inside the container, so it uses the rootfs'
// busybox and writes into a bind-mounted directory (/home).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::pids_with;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace fs = std::filesystem;

namespace {

// An executable /bin/sh script in the sandbox directory.
std::string script(Sandbox& sb, const std::string& name, const std::string& body) {
  std::string path = sb.dir() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  return path;
}

json hook(const std::string& path, const std::vector<std::string>& args = {},
          const std::vector<std::string>& env = {}) {
  json h = {{"path", path}};
  if (!args.empty()) h["args"] = args;
  if (!env.empty()) h["env"] = env;
  return h;
}

std::string status_of(Sandbox& sb, const std::string& id) {
  auto o = sb.nsbox({"state", id});
  if (o.status != 0) return "error: " + o.err;
  return json::parse(o.out)["status"].get<std::string>();
}

bool wait_status(Sandbox& sb, const std::string& id, const std::string& want) {
  for (int i = 0; i < 250; ++i) {
    if (status_of(sb, id) == want) return true;
    usleep(20000);
  }
  return false;
}

// A config with a log directory bound at /home, and a process that waits.
struct HookSetup {
  json cfg;
  std::string logdir;
  std::string log;
};

HookSetup hook_setup(Sandbox& sb, const std::vector<std::string>& args = {"sleep", "30"}) {
  HookSetup s;
  s.logdir = sb.dir() + "/logs";
  fs::create_directories(s.logdir);
  s.log = s.logdir + "/log";
  s.cfg = Sandbox::default_config(args);
  s.cfg["mounts"].push_back(
      {{"destination", "/home"}, {"type", "bind"}, {"source", s.logdir}, {"options", {"rbind"}}});
  return s;
}

// A host hook that logs its kind, its state and its network namespace.
json logging_hook(Sandbox& sb, const HookSetup& s, const std::string& kind) {
  return hook(script(sb, kind + ".sh",
                     "echo " + kind + " >> " + s.log + "\ncat > " + s.logdir + "/state-" + kind +
                         ".json\nreadlink /proc/self/ns/net > " + s.logdir + "/ns-" + kind));
}

// The startContainer hook: runs inside the container (busybox sh).
json in_container_hook(const std::string& body) { return hook("/bin/sh", {"sh", "-c", body}); }

}  // namespace

TEST(Hooks, AllKindsRunInOrderWithState) {
  Sandbox sb;
  auto s = hook_setup(sb);
  auto& h = s.cfg["hooks"];
  for (const char* k : {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
    h[k] = json::array({logging_hook(sb, s, k)});
  }
  h["startContainer"] = json::array(
      {in_container_hook("echo startContainer >> /home/log; cat > /home/state-startContainer.json; "
                         "readlink /proc/self/ns/net > /home/ns-startContainer")});
  s.cfg["annotations"] = {{"org.nsbox.test", "value"}, {"b", "2"}};
  std::string id = sb.new_id();
  sb.bundle(s.cfg);
  // An unclean bundle path: hooks must get it absolute and clean.
  std::string bundle_arg = sb.dir() + "/./bundle/";
  std::string bundle = sb.dir() + "/bundle";

  auto c = sb.nsbox({"create", "-b", bundle_arg, id});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(slurp(s.log), "prestart\ncreateRuntime\ncreateContainer\n");
  int pid = json::parse(sb.nsbox({"state", id}).out)["pid"];
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  EXPECT_EQ(slurp(s.log), "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\n");
  EXPECT_EQ(status_of(sb, id), "running");
  ASSERT_EQ(sb.nsbox({"kill", id, "KILL"}).status, 0);
  ASSERT_TRUE(wait_status(sb, id, "stopped"));
  auto d = sb.nsbox({"delete", id});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(slurp(s.log),
            "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\npoststop\n");

  const std::map<std::string, std::string> want_status = {
      {"prestart", "creating"},      {"createRuntime", "creating"}, {"createContainer", "creating"},
      {"startContainer", "created"}, {"poststart", "running"},      {"poststop", "stopped"}};
  for (const auto& [kind, status] : want_status) {
    SCOPED_TRACE(kind);
    std::string text = slurp(s.logdir + "/state-" + kind + ".json");
    auto st = json::parse(text, nullptr, false);
    ASSERT_FALSE(st.is_discarded()) << text;
    EXPECT_EQ(st["id"], id);
    EXPECT_EQ(st["status"], status);
    EXPECT_EQ(st["bundle"], bundle);
    EXPECT_TRUE(st.contains("ociVersion"));
    EXPECT_EQ(st["annotations"]["org.nsbox.test"], "value");
    EXPECT_EQ(st["annotations"]["b"], "2");
    if (kind == "prestart" || kind == "createRuntime" || kind == "poststart") {
      EXPECT_EQ(st["pid"], pid);  // as seen from the runtime
    } else if (kind != "poststop") {
      ASSERT_TRUE(st.contains("pid"));
      EXPECT_GT(st["pid"].get<int>(), 0);
    }
  }
  // Runtime-namespace hooks run in the host's network namespace, the
  // container-namespace ones in the container's.
  std::string host_net = nsbox::it::host_ns("net") + "\n";
  for (const char* k : {"prestart", "createRuntime", "poststart", "poststop"}) {
    EXPECT_EQ(slurp(s.logdir + "/ns-" + k), host_net) << k;
  }
  std::string cc = slurp(s.logdir + "/ns-createContainer");
  EXPECT_NE(cc, host_net);
  EXPECT_TRUE(contains(cc, "net:[")) << cc;
  EXPECT_EQ(slurp(s.logdir + "/ns-startContainer"), cc);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Hooks, RunRunsEveryHookOnce) {
  Sandbox sb;
  auto s = hook_setup(sb, {"sh", "-c", "echo process >> /home/log"});
  auto& h = s.cfg["hooks"];
  for (const char* k : {"prestart", "createRuntime", "createContainer", "poststop"}) {
    h[k] = json::array({logging_hook(sb, s, k)});
  }
  h["startContainer"] = json::array({in_container_hook("echo startContainer >> /home/log")});
  auto o = sb.run(s.cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(slurp(s.log),
            "prestart\ncreateRuntime\ncreateContainer\nstartContainer\nprocess\npoststop\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Hooks, ArgsAndEnvArePassed) {
  Sandbox sb;
  auto s = hook_setup(sb);
  std::string out = s.logdir + "/out";
  s.cfg["hooks"]["prestart"] = json::array({
      hook("/bin/sh",
           {"sh", "-c",
            "printf '%s|%s|%s|%s\\n' \"$0\" \"$1\" \"$2\" \"$#\" > " + out + "; env | sort >> " +
                out,
            "arg zero", "a1", "a 2"},
           {"FOO=bar", "EMPTY=", "WITH_EQ=a=b"}),
  });
  s.cfg["hooks"]["startContainer"] = json::array(
      {hook("/bin/sh", {"sh", "-c", "echo \"$0:$1:$HOOKVAR\" > /home/start-args", "zero", "one"},
            {"HOOKVAR=inside"})});
  std::string id = sb.new_id();
  ASSERT_EQ(sb.nsbox({"create", "-b", sb.bundle(s.cfg), id}).status, 0);
  std::string got = slurp(out);
  EXPECT_TRUE(contains(got, "arg zero|a1|a 2|2\n")) << got;
  EXPECT_TRUE(contains(got, "\nFOO=bar\n")) << got;
  EXPECT_TRUE(contains(got, "\nEMPTY=\n")) << got;
  EXPECT_TRUE(contains(got, "\nWITH_EQ=a=b\n")) << got;
  // Only the given environment, not the runtime's.
  EXPECT_FALSE(contains(got, "HOME=")) << got;
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  EXPECT_EQ(slurp(s.logdir + "/start-args"), "zero:one:inside\n");
}

TEST(Hooks, TimeoutKillsSlowHookAndFailsCreate) {
  Sandbox sb;
  auto s = hook_setup(sb);
  // A unique duration marks the hook's process.
  std::string secs = "9." + std::to_string(getpid()) + "7";
  auto slow = hook("/bin/sleep", {"sleep", secs});
  slow["timeout"] = 1;
  s.cfg["hooks"]["createRuntime"] = json::array({slow});
  s.cfg["hooks"]["createContainer"] = json::array({logging_hook(sb, s, "createContainer")});
  std::string id = sb.new_id();
  auto t0 = std::chrono::steady_clock::now();
  auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(c.status, 0);
  EXPECT_TRUE(contains(c.err, "hooks.createRuntime[0]")) << c.err;
  EXPECT_TRUE(contains(c.err, "timed out")) << c.err;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_FALSE(fs::exists(s.log)) << slurp(s.log);
  EXPECT_EQ(pids_with("sleep " + secs), std::vector<pid_t>{});
  EXPECT_EQ(pids_with(id), std::vector<pid_t>{});
  EXPECT_EQ(sb.leftovers(), "");
}

// A state larger than a pipe buffer, and a hook that never reads its stdin:
// the timeout still applies.
TEST(Hooks, TimeoutAppliesWhileStateIsUnread) {
  Sandbox sb;
  auto s = hook_setup(sb);
  s.cfg["annotations"] = {{"big", std::string(300000, 'x')}};
  std::string secs = "6." + std::to_string(getpid()) + "1";
  auto slow = hook("/bin/sleep", {"sleep", secs});
  slow["timeout"] = 1;
  s.cfg["hooks"]["prestart"] = json::array({slow});
  std::string id = sb.new_id();
  auto t0 = std::chrono::steady_clock::now();
  auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(c.status, 0);
  EXPECT_TRUE(contains(c.err, "timed out")) << c.err;
  EXPECT_LT(elapsed, std::chrono::seconds(4));
  EXPECT_EQ(pids_with("sleep " + secs), std::vector<pid_t>{});
  EXPECT_EQ(pids_with(id), std::vector<pid_t>{});
  EXPECT_EQ(sb.leftovers(), "");
}

// A large state reaches every hook whole; a hook that exits without reading
// it is not an error.
TEST(Hooks, LargeStateDeliveredWhole) {
  Sandbox sb;
  auto s = hook_setup(sb);
  std::string big(300000, 'y');
  s.cfg["annotations"] = {{"big", big}};
  // Hooks that close their stdin unread, then keep running: EPIPE for the
  // writer, which must not die of SIGPIPE (the init has default dispositions,
  // and without a PID namespace it is not protected as a namespace init).
  nsbox::it::remove_ns(s.cfg, "pid");
  auto closes_stdin = hook("/bin/sh", {"sh", "-c", "exec 0<&-; sleep 0.2"});
  s.cfg["hooks"]["prestart"] =
      json::array({hook("/bin/true"), closes_stdin, logging_hook(sb, s, "prestart")});
  s.cfg["hooks"]["createContainer"] =
      json::array({closes_stdin, logging_hook(sb, s, "createContainer")});
  s.cfg["hooks"]["startContainer"] =
      json::array({closes_stdin, in_container_hook("cat > /home/state-startContainer.json")});
  std::string id = sb.new_id();
  auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
  ASSERT_EQ(c.status, 0) << c.err;
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  for (const char* k : {"prestart", "createContainer", "startContainer"}) {
    auto st = json::parse(slurp(s.logdir + "/state-" + k + ".json"), nullptr, false);
    ASSERT_FALSE(st.is_discarded()) << k;
    EXPECT_EQ(st["annotations"]["big"], big) << k;
  }
}

// Hooks start like a shell would start them: nothing ignored, nothing
// blocked, even though the runtime ignores SIGPIPE and `run` blocks signals.
TEST(Hooks, HooksStartWithDefaultSignals) {
  Sandbox sb;
  auto s = hook_setup(sb, {"true"});
  for (const char* k : {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
    s.cfg["hooks"][k] = json::array({hook(
        "/bin/sh",
        {"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status > " + s.logdir + "/sig-" + k})});
  }
  s.cfg["hooks"]["startContainer"] = json::array(
      {in_container_hook("grep -E '^Sig(Blk|Ign)' /proc/self/status > /home/sig-startContainer")});
  auto o = sb.run(s.cfg);
  ASSERT_EQ(o.status, 0) << o.err;
  for (const char* k : {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
    EXPECT_EQ(slurp(s.logdir + "/sig-" + k),
              "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
        << k;
  }
  // busybox ash itself ignores SIGQUIT (0x4), as bash does.
  EXPECT_EQ(slurp(s.logdir + "/sig-startContainer"),
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000004\n");
}

TEST(Hooks, HookWithinTimeoutSucceeds) {
  Sandbox sb;
  auto s = hook_setup(sb);
  auto quick = logging_hook(sb, s, "prestart");
  quick["timeout"] = 5;
  s.cfg["hooks"]["prestart"] = json::array({quick});
  std::string id = sb.new_id();
  auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(slurp(s.log), "prestart\n");
}

// A failing prestart, createRuntime or createContainer hook fails create and
// leaves no state directory, cgroup, mount or process; hooks after it do not run.
TEST(Hooks, FailingCreateHookLeavesNothing) {
  const std::vector<std::string> kinds = {"prestart", "createRuntime", "createContainer"};
  for (size_t fail_at = 0; fail_at < kinds.size(); ++fail_at) {
    SCOPED_TRACE(kinds[fail_at]);
    Sandbox sb;
    auto s = hook_setup(sb);
    for (size_t i = 0; i < kinds.size(); ++i) {
      s.cfg["hooks"][kinds[i]] = json::array({logging_hook(sb, s, kinds[i])});
    }
    s.cfg["hooks"][kinds[fail_at]].push_back(
        hook(script(sb, "fail.sh", "echo " + kinds[fail_at] + "-fail >> " + s.log + "\nexit 3")));
    s.cfg["hooks"]["startContainer"] = json::array({in_container_hook("echo never >> /home/log")});
    std::string id = sb.new_id();
    auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
    EXPECT_NE(c.status, 0);
    EXPECT_TRUE(contains(c.err, "hooks." + kinds[fail_at] + "[1]")) << c.err;
    EXPECT_TRUE(contains(c.err, "exited with status 3")) << c.err;
    std::string want;
    for (size_t i = 0; i <= fail_at; ++i) want += kinds[i] + "\n";
    want += kinds[fail_at] + "-fail\n";
    EXPECT_EQ(slurp(s.log), want);
    EXPECT_EQ(sb.leftovers(), "");
    EXPECT_EQ(pids_with(id), std::vector<pid_t>{});
    EXPECT_NE(sb.nsbox({"state", id}).status, 0);
    // The ID is free again.
    s.cfg.erase("hooks");
    auto again = sb.nsbox({"create", "-b", sb.bundle(s.cfg, "bundle2"), id});
    EXPECT_EQ(again.status, 0) << again.err;
  }
}

TEST(Hooks, MissingHookExecutableFailsCreate) {
  Sandbox sb;
  auto s = hook_setup(sb);
  s.cfg["hooks"]["prestart"] = json::array({hook(sb.dir() + "/no-such-hook")});
  std::string id = sb.new_id();
  auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
  EXPECT_NE(c.status, 0);
  EXPECT_TRUE(contains(c.err, "hooks.prestart[0]")) << c.err;
  EXPECT_TRUE(contains(c.err, "no-such-hook")) << c.err;
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_EQ(pids_with(id), std::vector<pid_t>{});
}

// runtime.md: a failing create hook stops the container and continues the
// lifecycle at step 12 (destroy), then 13 (poststop hooks), as runc does.
TEST(Hooks, FailedCreateRunsPoststopHooks) {
  Sandbox sb;
  auto s = hook_setup(sb);
  s.cfg["hooks"]["createRuntime"] = json::array({hook("/bin/false")});
  s.cfg["hooks"]["poststop"] = json::array({logging_hook(sb, s, "poststop")});
  std::string id = sb.new_id();
  auto c = sb.nsbox({"create", "-b", sb.bundle(s.cfg), id});
  EXPECT_NE(c.status, 0);
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_EQ(slurp(s.log), "poststop\n");
}

TEST(Hooks, FailingStartContainerFailsStart) {
  Sandbox sb;
  auto s = hook_setup(sb);
  s.cfg["hooks"]["startContainer"] =
      json::array({in_container_hook("echo startContainer >> /home/log; exit 4"),
                   in_container_hook("echo second >> /home/log")});
  s.cfg["hooks"]["poststart"] = json::array({logging_hook(sb, s, "poststart")});
  s.cfg["hooks"]["poststop"] = json::array({logging_hook(sb, s, "poststop")});
  std::string id = sb.new_id();
  ASSERT_EQ(sb.nsbox({"create", "-b", sb.bundle(s.cfg), id}).status, 0);
  auto st = sb.nsbox({"start", id});
  EXPECT_NE(st.status, 0);
  EXPECT_TRUE(contains(st.err, "hooks.startContainer[0]")) << st.err;
  EXPECT_TRUE(contains(st.err, "exited with status 4")) << st.err;
  EXPECT_TRUE(wait_status(sb, id, "stopped"));
  EXPECT_EQ(slurp(s.log), "startContainer\n");
  auto d = sb.nsbox({"delete", id});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(slurp(s.log), "startContainer\npoststop\n");
  EXPECT_EQ(pids_with(id), std::vector<pid_t>{});
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Hooks, FailingPoststartFailsStartAndStopsContainer) {
  Sandbox sb;
  auto s = hook_setup(sb);
  s.cfg["process"]["args"] = {"sleep", "31." + std::to_string(getpid()) + "3"};
  s.cfg["hooks"]["poststart"] =
      json::array({hook(script(sb, "ps.sh", "echo poststart >> " + s.log + "\nexit 5")),
                   logging_hook(sb, s, "never")});
  s.cfg["hooks"]["poststop"] = json::array({logging_hook(sb, s, "poststop")});
  std::string id = sb.new_id();
  ASSERT_EQ(sb.nsbox({"create", "-b", sb.bundle(s.cfg), id}).status, 0);
  auto st = sb.nsbox({"start", id});
  EXPECT_NE(st.status, 0);
  EXPECT_TRUE(contains(st.err, "hooks.poststart[0]")) << st.err;
  EXPECT_TRUE(contains(st.err, "exited with status 5")) << st.err;
  EXPECT_TRUE(wait_status(sb, id, "stopped"));
  EXPECT_EQ(pids_with("sleep 31." + std::to_string(getpid()) + "3"), std::vector<pid_t>{});
  auto d = sb.nsbox({"delete", id});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(slurp(s.log), "poststart\npoststop\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Hooks, FailingPoststopIsAWarning) {
  Sandbox sb;
  auto s = hook_setup(sb, {"true"});
  s.cfg["hooks"]["poststop"] = json::array({
      hook(script(sb, "p0.sh", "echo p0 >> " + s.log + "\nexit 6")),
      hook(script(sb, "p1.sh", "echo p1 >> " + s.log)),
      hook("/bin/sleep", {"sleep", "5"}),
      hook(script(sb, "p3.sh", "echo p3 >> " + s.log)),
  });
  s.cfg["hooks"]["poststop"][2]["timeout"] = 1;
  std::string id = sb.new_id();
  ASSERT_EQ(sb.nsbox({"create", "-b", sb.bundle(s.cfg), id}).status, 0);
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  ASSERT_TRUE(wait_status(sb, id, "stopped"));
  auto d = sb.nsbox({"delete", id});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_TRUE(contains(d.err, "warning")) << d.err;
  EXPECT_TRUE(contains(d.err, "hooks.poststop[0]")) << d.err;
  EXPECT_TRUE(contains(d.err, "exited with status 6")) << d.err;
  EXPECT_TRUE(contains(d.err, "hooks.poststop[2]")) << d.err;
  EXPECT_TRUE(contains(d.err, "timed out")) << d.err;
  EXPECT_EQ(slurp(s.log), "p0\np1\np3\n");
  EXPECT_NE(sb.nsbox({"state", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
