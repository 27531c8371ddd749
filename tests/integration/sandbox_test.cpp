// `nsbox sandbox`: throwaway containers without a bundle, on the host's root
// filesystem (read-only), with namespaces chosen, shared or joined. Each
// assertion is made from inside the sandbox. The build tree may live under
// /tmp, which is private in a sandbox: nsbox-testprog is bound in at
// /tmp/tools (a target in the private /tmp can be made; the root is read-only).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Output;
using nsbox::it::Sandbox;

namespace {

std::string host_hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// The host's network interfaces, as the net probe below lists them.
std::string host_interfaces() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net")) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

std::string testprog_bind() { return nsbox::it::testprog_dir() + ":/tmp/tools:ro"; }

// A SysV message queue on the host with a key of our own, removed at the end.
class HostQueue {
 public:
  HostQueue() : key_(0x4e530000 + (::getpid() & 0xffff)) {
    id_ = ::msgget(key_, IPC_CREAT | IPC_EXCL | 0600);
  }
  ~HostQueue() {
    if (id_ >= 0) ::msgctl(id_, IPC_RMID, nullptr);
  }
  HostQueue(const HostQueue&) = delete;
  HostQueue& operator=(const HostQueue&) = delete;
  bool ok() const { return id_ >= 0; }
  std::string key() const { return std::to_string(key_); }

 private:
  key_t key_;
  int id_ = -1;
};

// One namespace type: the sandbox options that make it new ("on") and keep
// the host's ("off"), a shell probe, and what the probe shows either way.
struct NsCase {
  const char* name;  // /proc/PID/ns name
  std::vector<std::string> on, off;
  std::string probe;
  std::function<void(const std::string& probe_out, bool on, const std::string& id)> check;
};

struct Ctx {
  std::string marker;  // a file under the test's directory in /tmp
  std::string queue_key;
};

Ctx& ctx() {
  static Ctx c;
  return c;
}

std::vector<NsCase> ns_cases() {
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  return {
      {"mnt",
       {"--ns", "mnt,pid"},
       {"--share", "mnt"},
       "test -e \"$MARKER\" && echo visible || echo hidden",
       [=](const std::string& out, bool on, const std::string&) {
         // The host's /tmp is covered by the sandbox's private one.
         EXPECT_EQ(trim(out), on ? "hidden" : "visible");
       }},
      {"uts",
       {"--ns", "mnt,uts"},
       {"--share", "uts"},
       "hostname",
       [=](const std::string& out, bool on, const std::string& id) {
         EXPECT_EQ(trim(out), on ? id : host_hostname());
       }},
      {"ipc",
       {"--ns", "mnt,ipc", "--bind", testprog_bind()},
       {"--share", "ipc", "--bind", testprog_bind()},
       "/tmp/tools/nsbox-testprog ipc-find \"$QUEUE\"",
       [=](const std::string& out, bool on, const std::string&) {
         if (on) {
           EXPECT_EQ(out, "absent\n");
         } else {
           EXPECT_EQ(out.rfind("found ", 0), 0u) << out;
         }
       }},
      {"pid",
       {"--ns", "mnt,pid"},
       {"--share", "pid"},
       "echo $$",
       [=](const std::string& out, bool on, const std::string&) {
         if (on) {
           EXPECT_EQ(trim(out), "1");
         } else {
           EXPECT_NE(trim(out), "1");
         }
       }},
      {"net",
       {"--ns", "mnt,net"},
       {"--share", "net"},
       "ls /sys/class/net | tr '\\n' ' '",
       [=](const std::string& out, bool on, const std::string&) {
         EXPECT_EQ(trim(out), on ? "lo" : host_interfaces());
       }},
      {"user",
       {"--ns", "mnt,pid,user"},
       {},
       "cat /proc/self/uid_map | tr -s ' '",
       [=](const std::string& out, bool on, const std::string&) {
         if (on) {
           EXPECT_TRUE(contains(out, " 0 ") && contains(out, " 65536")) << out;
           EXPECT_FALSE(contains(out, " 0 0 ")) << out;
         } else {
           EXPECT_TRUE(contains(out, " 0 0 4294967295")) << out;
         }
       }},
      {"cgroup",
       {"--ns", "mnt,cgroup"},
       {"--share", "cgroup"},
       "cat /proc/self/cgroup",
       [=](const std::string& out, bool on, const std::string& id) {
         // In its own cgroup namespace the container's cgroup is the root.
         EXPECT_EQ(contains(out, id), !on) << out;
       }},
      {"time",
       {"--ns", "mnt,time"},
       {},
       "true",
       [=](const std::string&, bool, const std::string&) {}},
  };
}

class SandboxNs : public ::testing::TestWithParam<size_t> {};

TEST_P(SandboxNs, OnAndOff) {
  const NsCase c = ns_cases()[GetParam()];
  Sandbox sb;
  ctx().marker = sb.dir() + "/marker";
  std::ofstream(ctx().marker) << "x";
  HostQueue queue;
  ASSERT_TRUE(queue.ok());
  for (bool on : {true, false}) {
    SCOPED_TRACE(std::string(c.name) + (on ? " on" : " off"));
    std::string id = sb.new_id("sbx");
    std::vector<std::string> args = {"sandbox", "--name", id};
    const auto& extra = on ? c.on : c.off;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--env", "MARKER=" + ctx().marker, "--env", "QUEUE=" + queue.key(),
                             "--", "/bin/sh", "-c",
                             std::string("readlink /proc/self/ns/") + c.name + "; " + c.probe});
    auto o = sb.nsbox(args);
    ASSERT_EQ(o.status, 0) << o.err;
    size_t nl = o.out.find('\n');
    ASSERT_NE(nl, std::string::npos) << o.out;
    std::string inode = o.out.substr(0, nl);
    if (on) {
      EXPECT_NE(inode, nsbox::it::host_ns(c.name));
    } else {
      EXPECT_EQ(inode, nsbox::it::host_ns(c.name));
    }
    c.check(o.out.substr(nl + 1), on, id);
  }
  EXPECT_EQ(sb.leftovers(), "");
}

INSTANTIATE_TEST_SUITE_P(Each, SandboxNs, ::testing::Range<size_t>(0, 8),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::string(ns_cases()[info.param].name);
                         });

TEST(SandboxVerb, DefaultsAnonymousReadOnlyHostRootLeavesNothing) {
  Sandbox sb;
  auto o = sb.nsbox(
      {"sandbox", "--", "/bin/sh", "-c",
       "hostname; for n in mnt uts ipc pid net cgroup user time; do readlink /proc/self/ns/$n; "
       "done; touch /etc/nsbox-sandbox-test 2>/dev/null && echo etc-writable; "
       "touch /tmp/t && echo tmp-ok; stat -f -c %T /tmp; ls /dev | tr '\\n' ' '; echo; "
       "ls /sys/class/net; cat /proc/1/cmdline | tr '\\0' ' '"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto lines = nsbox::it::split_lines(o.out);
  ASSERT_GE(lines.size(), 14u) << o.out;
  std::string id = lines[0];
  sb.adopt_id(id);
  EXPECT_EQ(id.rfind("sandbox-", 0), 0u) << id;
  EXPECT_EQ(id.size(), 20u) << id;
  const char* types[] = {"mnt", "uts", "ipc", "pid", "net", "cgroup", "user", "time"};
  for (size_t i = 0; i < 8; ++i) {
    bool fresh = i < 6;
    EXPECT_EQ(lines[1 + i] != nsbox::it::host_ns(types[i]), fresh) << types[i];
  }
  EXPECT_EQ(lines[9], "tmp-ok");  // and no "etc-writable"
  EXPECT_EQ(lines[10], "tmpfs");
  // A minimal /dev: the default devices, not the host's.
  for (const char* d :
       {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"}) {
    EXPECT_TRUE(contains(" " + lines[11], std::string(" ") + d + " ")) << lines[11];
  }
  EXPECT_FALSE(contains(lines[11], "vda")) << lines[11];
  EXPECT_EQ(lines[12], "lo");
  EXPECT_EQ(lines[13],
            "/bin/sh -c hostname; for n in mnt uts ipc pid net cgroup user time; do "
            "readlink /proc/self/ns/$n; done; touch /etc/nsbox-sandbox-test 2>/dev/null "
            "&& echo etc-writable; touch /tmp/t && echo tmp-ok; stat -f -c %T /tmp; ls "
            "/dev | tr '\\n' ' '; echo; ls /sys/class/net; cat /proc/1/cmdline | tr "
            "'\\0' ' ' ")
      << "pid 1 is the command";
  EXPECT_FALSE(std::filesystem::exists("/etc/nsbox-sandbox-test"));
  // Deleted when it exited: no state, cgroup or mount left.
  EXPECT_EQ(sb.leftovers(), "");
  EXPECT_TRUE(nsbox::it::pids_with(id).empty());
}

TEST(SandboxVerb, ExitStatusIsTheCommands) {
  Sandbox sb;
  EXPECT_EQ(sb.nsbox({"sandbox", "--", "/bin/sh", "-c", "exit 7"}).status, 7);
  // Not pid 1 (which a signal from its own namespace cannot kill): 128+signal.
  EXPECT_EQ(sb.nsbox({"sandbox", "--share", "pid", "--", "/bin/sh", "-c", "kill -TERM $$"}).status,
            128 + 15);
  auto o = sb.nsbox({"sandbox", "--", "/nonexistent-nsbox-cmd"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "/nonexistent-nsbox-cmd")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// Two named sandboxes in one IPC namespace (the second joins the first by
// ID, or by its /proc/PID/ns/ipc path) see each other's message queue; a
// third, and the host, do not. When the first ends, its queue goes with it.
TEST(SandboxVerb, TwoNamedSandboxesJoinedOnIpc) {
  Sandbox sb;
  std::string a = sb.new_id("sba");
  std::string key = std::to_string(0x4e540000 + (::getpid() & 0xffff));
  Output first;
  std::thread t([&] {
    first = sb.nsbox({"sandbox", "--name", a, "--bind", testprog_bind(), "--",
                      "/tmp/tools/nsbox-testprog", "ipc-make", key});
  });
  bool made = false;
  for (int i = 0; i < 200 && !made; ++i) {
    auto v = sb.nsbox({"ipcs", a, "--format", "json"});
    made = v.status == 0 && contains(v.out, "\"key\":" + key);
    if (!made) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(made) << "the first sandbox made no queue";
  auto find = [&](const std::vector<std::string>& opts) {
    std::vector<std::string> args = {"sandbox", "--bind", testprog_bind()};
    args.insert(args.end(), opts.begin(), opts.end());
    args.insert(args.end(), {"--", "/tmp/tools/nsbox-testprog", "ipc-find", key});
    auto o = sb.nsbox(args);
    EXPECT_EQ(o.status, 0) << o.err;
    return o.out;
  };
  EXPECT_EQ(find({"--join", "ipc=" + a}).rfind("found ", 0), 0u);
  EXPECT_TRUE(contains(find({"--join", "ipc=" + a}), " 1\n")) << "one message";
  int pid = sb.pid_of(a);
  ASSERT_GT(pid, 0);
  std::string path = "/proc/" + std::to_string(pid) + "/ns/ipc";
  EXPECT_EQ(find({"--join", "ipc=" + path}).rfind("found ", 0), 0u);
  EXPECT_EQ(find({}), "absent\n");
  EXPECT_LT(::msgget(std::stoi(key), 0), 0) << "the host sees the sandbox's queue";
  // A pod: net and ipc both joined; `ns` names the sharer while it runs.
  std::string b = sb.new_id("sbb");
  auto o = sb.nsbox({"sandbox", "--name", b, "--join", "net=" + a, "--join", "ipc=" + a, "--",
                     "/bin/readlink", "/proc/self/ns/net", "/proc/self/ns/ipc"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/net").string() +
                "\n" + std::filesystem::read_symlink(path).string() + "\n");
  EXPECT_EQ(sb.nsbox({"kill", a, "KILL"}).status, 0);
  t.join();
  EXPECT_EQ(first.status, 128 + 9) << first.err;
  EXPECT_EQ(first.out, "made 0\n");
  EXPECT_LT(::msgget(std::stoi(key), 0), 0);
  EXPECT_EQ(sb.nsbox({"state", a}).status, 1) << "deleted when it exited";
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(SandboxVerb, BindTmpfsEnvCwdHostname) {
  Sandbox sb;
  std::string dir = sb.dir() + "/data";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/hello") << "hello from the host\n";
  auto o = sb.nsbox({"sandbox", "--bind", dir + ":/srv:ro", "--tmpfs", "/opt", "--env", "FOO=bar",
                     "--env", "PATH=/usr/bin:/bin", "--cwd", "/srv", "--hostname", "box", "--",
                     "/bin/sh", "-c",
                     "pwd; cat hello; echo $FOO $PATH; hostname; touch /srv/x 2>/dev/null || echo "
                     "srv-ro; touch /opt/y && echo opt-ok; stat -f -c %T /opt; exit 5"});
  EXPECT_EQ(o.status, 5) << o.err;
  EXPECT_EQ(o.out, "/srv\nhello from the host\nbar /usr/bin:/bin\nbox\nsrv-ro\nopt-ok\ntmpfs\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/x"));
  // Writable bind: the write reaches the host.
  o = sb.nsbox({"sandbox", "--bind", dir + ":/srv", "--", "/bin/sh", "-c", "echo w > /srv/w"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(nsbox::it::slurp(dir + "/w"), "w\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(SandboxVerb, ResourcesAndSysctl) {
  Sandbox sb;
  std::string host_msgmnb = nsbox::it::slurp("/proc/sys/kernel/msgmnb");
  auto o = sb.nsbox({"sandbox", "--memory", "64m", "--pids-limit", "20", "--cpus", "0.5",
                     "--sysctl", "kernel.msgmnb=12345", "--", "/bin/sh", "-c",
                     "cat /proc/sys/kernel/msgmnb; cd /sys/fs/cgroup; "
                     "cat memory/memory.limit_in_bytes 2>/dev/null || cat memory.max; "
                     "cat pids/pids.max 2>/dev/null || cat pids.max; "
                     "cat cpu/cpu.cfs_quota_us 2>/dev/null || cat cpu.max"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto lines = nsbox::it::split_lines(o.out);
  ASSERT_EQ(lines.size(), 4u) << o.out;
  EXPECT_EQ(lines[0], "12345");
  EXPECT_EQ(lines[1], "67108864");
  EXPECT_EQ(lines[2], "20");
  EXPECT_EQ(lines[3].substr(0, 5), "50000") << lines[3];
  EXPECT_EQ(nsbox::it::slurp("/proc/sys/kernel/msgmnb"), host_msgmnb);
  EXPECT_EQ(sb.leftovers(), "");
}

// A user namespace: root in the sandbox is an unprivileged host ID.
TEST(SandboxVerb, UserNamespaceIsRootless) {
  Sandbox sb;
  ASSERT_EQ(::chmod(sb.dir().c_str(), 0755), 0);
  std::string dir = sb.dir() + "/shared";
  std::filesystem::create_directories(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  auto o = sb.nsbox({"sandbox", "--ns", "mnt,pid,user", "--user", "1000:1000", "--bind",
                     dir + ":/srv", "--", "/bin/sh", "-c",
                     "id -u; id -g; cat /proc/self/uid_map | tr -s ' '; touch /srv/f; "
                     "cat /etc/shadow >/dev/null 2>&1 || echo shadow-denied"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto lines = nsbox::it::split_lines(o.out);
  ASSERT_EQ(lines.size(), 4u) << o.out;
  EXPECT_EQ(lines[0], "1000");
  EXPECT_EQ(lines[1], "1000");
  unsigned base = 0, size = 0, cid = 1;
  ASSERT_EQ(std::sscanf(lines[2].c_str(), " %u %u %u", &cid, &base, &size), 3) << lines[2];
  EXPECT_EQ(cid, 0u);
  EXPECT_EQ(size, 65536u);
  EXPECT_GT(base, 0u);
  EXPECT_EQ(lines[3], "shadow-denied");
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, base + 1000) << "the file's owner on the host";
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(SandboxVerb, PrintConfigCreatesNothing) {
  Sandbox sb;
  auto o = sb.nsbox({"sandbox", "--print-config", "--share", "net", "--name", "pc", "--", "true"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto cfg = json::parse(o.out);
  EXPECT_EQ(cfg["root"]["path"], "/");
  EXPECT_EQ(cfg["annotations"]["io.github.nsbox.rootfs.rro"], "true");
  std::vector<std::string> types;
  for (const auto& n : cfg["linux"]["namespaces"]) types.push_back(n["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"mount", "uts", "ipc", "pid", "cgroup"}));
  bool private_tmp = false;
  for (const auto& m : cfg["mounts"])
    private_tmp |= m["destination"] == "/tmp" && m["type"] == "tmpfs";
  EXPECT_TRUE(private_tmp) << cfg["mounts"].dump();
  EXPECT_EQ(cfg["hostname"], "pc");
  EXPECT_EQ(cfg["process"]["args"], json::array({"true"}));
  EXPECT_FALSE(std::filesystem::exists(sb.root() + "/pc"));
  // The printed config runs as a bundle of its own.
  std::string id = sb.new_id("pc");
  cfg["process"]["args"] = {"/bin/readlink", "/proc/self/ns/net"};
  auto r = sb.nsbox({"run", "-b", sb.bundle(cfg, "pc-bundle"), id});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, nsbox::it::host_ns("net") + "\n");
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(SandboxVerb, BadOptionsAreOneLineErrorsLeavingNothing) {
  Sandbox sb;
  std::string name = sb.new_id("bad");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--ns", "foo"}, "--ns: unknown namespace \"foo\""},
      {{"--share", "bar"}, "--share: unknown namespace"},
      {{"--ns", "net", "--share", "net"}, "--share net: also listed in --ns"},
      {{"--join", "ipc"}, "--join ipc: expected TYPE=ID"},
      {{"--join", "ipc=no-such-box"}, "--join ipc=no-such-box: container does not exist"},
      {{"--join", "net=/nonexistent-ns"}, "--join net=/nonexistent-ns"},
      {{"--join", "mnt=/proc/1/ns/mnt"}, "--join mnt=/proc/1/ns/mnt: not supported"},
      {{"--share", "mnt", "--bind", "/srv:/srv"}, "--bind: needs a mount namespace"},
      {{"--bind", "/nonexistent-src:/srv"}, "--bind /nonexistent-src:/srv"},
      {{"--bind", "/srv:/nonexistent-dst"}, "/nonexistent-dst does not exist in the rootfs"},
      {{"--bind", "/srv:/srv:rx"}, "--bind /srv:/srv:rx: expected SRC:DST[:ro]"},
      {{"--tmpfs", "relative"}, "--tmpfs relative: must be an absolute path"},
      {{"--rootfs", "/nonexistent-rootfs"}, "--rootfs /nonexistent-rootfs"},
      {{"--user", "nobody"}, "--user nobody: expected a numeric ID"},
      {{"--ns", "mnt,pid,user", "--user", "70000"}, "--user: IDs above 65535"},
      {{"--ns", "mnt,user"}, "--ns user: needs a new pid namespace"},
      {{"--memory", "lots"}, "--memory: expected a size"},
      {{"--pids-limit", "0"}, "--pids-limit: expected a positive number"},
      {{"--cpus", "0.001"}, "--cpus: expected a number of CPUs"},
      {{"--sysctl", "kernel.msgmnb"}, "--sysctl kernel.msgmnb: expected KEY=VALUE"},
      {{"--share", "ipc", "--sysctl", "kernel.msgmnb=9"}, "--sysctl \"kernel.msgmnb\""},
      {{"--sysctl", "vm.swappiness=1"}, "--sysctl \"vm.swappiness\""},
      {{"--share", "uts", "--hostname", "x"}, "--hostname: needs a new uts namespace"},
      {{"--cwd", "/nonexistent-cwd"}, "--cwd: /nonexistent-cwd does not exist"},
      {{"--env", "=x"}, "--env \"=x\": no name"},
      {{"--name", "../x"}, "--name: container id \"../x\""},
      {{"--tty=maybe"}, "--tty"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"sandbox", "--name", name};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--", "true"});
    auto o = sb.nsbox(args);
    EXPECT_EQ(o.status, 1) << c.says;
    EXPECT_TRUE(contains(o.err, c.says)) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
  auto o = nsbox::it::run_program({"/usr/bin/env", "NOTIFY_SOCKET=/nonexistent.sock",
                                   nsbox::it::nsbox_binary(), "--root", sb.root(), "sandbox",
                                   "--name", name, "--", "true"});
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.err,
                       "NOTIFY_SOCKET: sd_notify from a sandbox on the host's root is not "
                       "supported yet"))
      << o.err;
  o = sb.nsbox({"sandbox"});
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.err, "a command is required")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// The library path under `sandbox --share mnt`, from a bundle: without a
// mount namespace nothing is mounted and root.path must be "/".
TEST(NoMountNamespace, BundleSharesTheHostsMounts) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"/bin/readlink", "/proc/self/ns/mnt", "/proc/self/ns/pid"});
  nsbox::it::remove_ns(cfg, "mount");
  std::string id = sb.new_id("nomnt");
  auto o = sb.nsbox({"run", "-b", sb.bundle(cfg, "with-mounts"), id});
  EXPECT_EQ(o.status, 1);
  EXPECT_TRUE(contains(o.err, "root.path other than \"/\": needs a mount namespace")) << o.err;
  cfg["root"] = {{"path", "/"}};
  o = sb.nsbox({"run", "-b", sb.bundle(cfg, "with-mounts2"), id});
  EXPECT_TRUE(contains(o.err, "mounts: needs a mount namespace")) << o.err;
  cfg["mounts"] = json::array();
  o = sb.nsbox({"run", "-b", sb.bundle(cfg, "with-masks"), id});
  EXPECT_TRUE(contains(o.err, "linux.maskedPaths: needs a mount namespace")) << o.err;
  cfg["linux"]["maskedPaths"] = json::array();
  cfg["linux"]["readonlyPaths"] = json::array();
  o = sb.nsbox({"run", "-b", sb.bundle(cfg, "bare"), id});
  ASSERT_EQ(o.status, 0) << o.err;
  auto lines = nsbox::it::split_lines(o.out);
  ASSERT_EQ(lines.size(), 2u) << o.out;
  EXPECT_EQ(lines[0], nsbox::it::host_ns("mnt"));
  EXPECT_NE(lines[1], nsbox::it::host_ns("pid"));
  EXPECT_EQ(sb.leftovers(), "");
}

}  // namespace
