// pause / resume: the freezer stops every process of the container and
// `state` says "paused"; resume lets them go on.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

using nlohmann::json;
using nsbox::it::Sandbox;

namespace {

std::string status_of(Sandbox& sb, const std::string& id) {
  auto o = sb.nsbox({"state", id});
  return o.status == 0 ? json::parse(o.out)["status"].get<std::string>() : "error: " + o.err;
}

// The container appends to a tmpfs file; its size, seen from the host
// through /proc/PID/root, is the progress counter.
long counter(int pid) {
  struct stat st {};
  std::string path = "/proc/" + std::to_string(pid) + "/root/dev/shm/n";
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long>(st.st_size) : -1;
}

}  // namespace

TEST(Pause, FreezesAndThaws) {
  Sandbox sb;
  std::string id = sb.new_id("pz");
  auto cfg = Sandbox::default_config({"sh", "-c", "while :; do echo -n x >> /dev/shm/n; done"});
  ASSERT_EQ(sb.nsbox({"run", "-d", "-b", sb.bundle(cfg), id}).status, 0);
  int pid = json::parse(sb.nsbox({"state", id}).out)["pid"];
  for (int i = 0; i < 100 && counter(pid) < 10; ++i) usleep(10000);
  ASSERT_GE(counter(pid), 10);

  ASSERT_EQ(sb.nsbox({"pause", id}).status, 0);
  EXPECT_EQ(status_of(sb, id), "paused");
  long frozen_at = counter(pid);
  usleep(100000);
  EXPECT_EQ(counter(pid), frozen_at);            // no progress while frozen
  EXPECT_NE(sb.nsbox({"pause", id}).status, 0);  // already paused
  auto d = sb.nsbox({"delete", id});
  EXPECT_NE(d.status, 0);
  EXPECT_NE(d.err.find("paused"), std::string::npos) << d.err;

  ASSERT_EQ(sb.nsbox({"resume", id}).status, 0);
  EXPECT_EQ(status_of(sb, id), "running");
  for (int i = 0; i < 100 && counter(pid) <= frozen_at; ++i) usleep(10000);
  EXPECT_GT(counter(pid), frozen_at);
  EXPECT_NE(sb.nsbox({"resume", id}).status, 0);  // not paused

  // delete --force of a paused container thaws and kills it.
  ASSERT_EQ(sb.nsbox({"pause", id}).status, 0);
  EXPECT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  EXPECT_NE(sb.nsbox({"state", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Pause, OnlyRunningContainers) {
  Sandbox sb;
  std::string id = sb.new_id("pz");
  ASSERT_EQ(
      sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config({"sleep", "30"})), id}).status,
      0);
  auto p = sb.nsbox({"pause", id});
  EXPECT_NE(p.status, 0);
  EXPECT_NE(p.err.find("not running"), std::string::npos) << p.err;
  EXPECT_NE(sb.nsbox({"pause", "nope"}).status, 0);
}
