// `enter`: a command in some or all of a running container's namespaces,
// on exec's path. Without the mount namespace the command comes from the
// host's filesystem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;

namespace {

std::string start_sleeper(Sandbox& sb, const std::string& hostname) {
  auto cfg = Sandbox::default_config({"sleep", "600"});
  cfg["hostname"] = hostname;
  std::string id = sb.new_id("en");
  auto o = sb.nsbox({"run", "-d", "-b", sb.bundle(cfg, "b-" + id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  return id;
}

std::string host_hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

TEST(Enter, NetOnlySeesContainerInterfacesAndHostHostname) {
  Sandbox sb;
  std::string id = start_sleeper(sb, "enter-box");
  int init = sb.pid_of(id);
  ASSERT_GT(init, 0);
  // The host's /bin/cat reads the container's /proc/net/dev (per net ns).
  auto o = sb.nsbox({"enter", id, "--ns", "net", "--", "/bin/cat", "/proc/net/dev"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "lo:")) << o.out;
  int ifaces = 0;
  for (size_t at = o.out.find(':'); at != std::string::npos; at = o.out.find(':', at + 1)) ++ifaces;
  // Header lines have no colon; only lo.
  EXPECT_EQ(ifaces, 1) << o.out;
  o = sb.nsbox({"enter", "--ns", "network", id, "--", "/bin/readlink", "/proc/self/ns/net"});
  ASSERT_EQ(o.status, 0) << o.err;
  char link[64] = {};
  std::string p = "/proc/" + std::to_string(init) + "/ns/net";
  ASSERT_GT(::readlink(p.c_str(), link, sizeof link - 1), 0);
  EXPECT_EQ(o.out, std::string(link) + "\n");
  EXPECT_NE(o.out, nsbox::it::host_ns("net") + "\n");
  // uts not joined: the host's hostname.
  o = sb.nsbox({"enter", id, "--ns", "net", "--", "/bin/hostname"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, host_hostname() + "\n");
  // The exit status is the command's.
  o = sb.nsbox({"enter", id, "--ns", "net,uts", "--", "/bin/sh", "-c", "hostname; exit 7"});
  EXPECT_EQ(o.status, 7) << o.err;
  EXPECT_EQ(o.out, "enter-box\n");
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Enter, AllNamespacesByDefault) {
  Sandbox sb;
  std::string id = start_sleeper(sb, "enter-all");
  auto o = sb.nsbox({"enter", id, "--", "hostname"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "enter-all\n");
  // The default command is a shell, here reading its commands from stdin;
  // the container's filesystem and PID namespace.
  o = sb.nsbox({"enter", id}, "cat /proc/1/cmdline | tr '\\0' ' '; exit 3\n");
  EXPECT_EQ(o.status, 3) << o.err;
  EXPECT_TRUE(contains(o.out, "sleep 600")) << o.out;
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Enter, BadNamespaceListsAreClearErrors) {
  Sandbox sb;
  std::string id = start_sleeper(sb, "enter-bad");
  struct Case {
    std::string ns, want;
  };
  for (const auto& c : std::vector<Case>{{"bogus", "unknown namespace \"bogus\""},
                                         {"net,nope", "unknown namespace \"nope\""},
                                         {"", "--ns"},
                                         {"time", "has no time namespace"},
                                         {"cgroup", "has no cgroup namespace"}}) {
    auto o = sb.nsbox({"enter", id, "--ns", c.ns, "--", "/bin/sleep", "300"});
    EXPECT_EQ(o.status, 1) << c.ns;
    EXPECT_TRUE(contains(o.err, c.want)) << c.ns << ": " << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
  auto o = sb.nsbox({"enter", "no-such-container", "--", "true"});
  EXPECT_NE(o.status, 0);
  // Nothing was started: only the container's own process.
  EXPECT_TRUE(nsbox::it::pids_with("/bin/sleep 300").empty());
  auto ps = sb.nsbox({"ps", "--format", "json", id});
  EXPECT_EQ(json::parse(ps.out).size(), 1u) << ps.out;
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

// --ignore-paused: the process joins the frozen cgroup, so it is frozen
// too and runs once the container is resumed (as with runc). The container's
// lock is not held meanwhile: `resume` gets it.
TEST(Enter, IgnorePaused) {
  Sandbox sb;
  std::string id = start_sleeper(sb, "enter-paused");
  ASSERT_EQ(sb.nsbox({"pause", id}).status, 0);
  auto o = sb.nsbox({"enter", id, "--", "true"});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "paused")) << o.err;
  nsbox::it::Output entered;
  std::thread t([&] {
    entered = sb.nsbox({"enter", "--ignore-paused", id, "--", "/bin/sh", "-c", "exit 4"});
  });
  // Wait for the new process to show up in the (frozen) cgroup.
  bool joined = false;
  for (int i = 0; i < 400 && !joined; ++i) {
    auto ps = sb.nsbox({"ps", "--format", "json", id});
    joined = ps.status == 0 && nlohmann::json::parse(ps.out).size() >= 2;
    if (!joined) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(joined) << "no second process in the container's cgroup";
  EXPECT_EQ(sb.nsbox({"resume", id}).status, 0);
  t.join();
  EXPECT_EQ(entered.status, 4) << entered.err;
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
