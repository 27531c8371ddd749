// sandbox: subordinate_ids() parsing of /etc/subuid-style files, and the
// config.json text sandbox_config() makes from SandboxOptions (namespaces,
// mounts, user mappings, resources, env) and its errors, which name the
// option at fault.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/util.h"
#include "container/container.h"
#include "container/sandbox.h"
#include "spec/config.h"

namespace nsbox::container {
namespace {

using json = nlohmann::json;
using spec::NsType;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nsbox-sandbox-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)remove_tree(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------- subordinate_ids

TEST(SandboxConfig, SubordinateIdsFirstLargeEnoughRootRange) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string subuid = dir / "subuid";
  std::string subgid = dir / "subgid";
  // Other users, a range too small, malformed lines, then root's range.
  ASSERT_TRUE(write_file_atomic(subuid,
                                "alice:100000:65536\n"
                                "root:150000:1000\n"
                                "garbage\n"
                                "root:abc:65536\n"
                                "root:1:2:3\n"
                                "root::65536\n"
                                "\n"
                                "root:200000:65536\n"
                                "root:900000:65536\n")
                  .ok());
  // Root by number, a larger count is fine.
  ASSERT_TRUE(write_file_atomic(subgid,
                                "bob:400000:65536\n"
                                "0:300000:70000\n"
                                "root:500000:65536\n")
                  .ok());
  SubIds ids = subordinate_ids(subuid, subgid);
  EXPECT_EQ(ids.uid_base, 200000u);
  EXPECT_EQ(ids.gid_base, 300000u);
}

TEST(SandboxConfig, SubordinateIdsDefaults) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string subuid = dir / "subuid";
  std::string subgid = dir / "subgid";
  // Only unusable lines for uid: the default; a missing gid file: the default.
  ASSERT_TRUE(write_file_atomic(subuid, "root:150000:65535\nother:200000:65536\nroot:x:y\n").ok());
  SubIds ids = subordinate_ids(subuid, dir / "missing");
  EXPECT_EQ(ids.uid_base, 100000u);
  EXPECT_EQ(ids.gid_base, 100000u);
  // Separately: a good gid file with a missing uid file.
  ASSERT_TRUE(write_file_atomic(subgid, "root:250000:65536\n").ok());
  ids = subordinate_ids(dir / "missing", subgid);
  EXPECT_EQ(ids.uid_base, 100000u);
  EXPECT_EQ(ids.gid_base, 250000u);
  ids = subordinate_ids(dir / "missing", dir / "missing2");
  EXPECT_EQ(ids.uid_base, 100000u);
  EXPECT_EQ(ids.gid_base, 100000u);
}

// ---------------------------------------------------------------- sandbox_config

class SandboxConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    rt_.root = dir_.path();
    opt_.args = {"true"};
    opt_.id = "sb-test";
  }

  // The parsed config; fails the test (null json) on an error.
  json config(const SandboxOptions& opt) {
    auto r = sandbox_config(rt_, opt);
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().msg);
    if (!r) return json();
    return json::parse(*r);
  }
  json config() { return config(opt_); }

  // The error message ("<ok>" when it succeeded).
  std::string error_of(const SandboxOptions& opt) {
    auto r = sandbox_config(rt_, opt);
    return r.ok() ? "<ok>" : r.error().msg;
  }

  TempDir dir_;
  Runtime rt_;
  SandboxOptions opt_;
};

// The mount at dest, or null.
json mount_at(const json& cfg, const std::string& dest) {
  for (const auto& m : cfg.value("mounts", json::array())) {
    if (m.value("destination", "") == dest) return m;
  }
  return json();
}

bool has_option(const json& mount, const std::string& o) {
  if (!mount.contains("options")) return false;
  for (const auto& v : mount["options"]) {
    if (v == o) return true;
  }
  return false;
}

std::vector<std::string> ns_types(const json& cfg) {
  std::vector<std::string> out;
  for (const auto& n : cfg["linux"]["namespaces"]) out.push_back(n.value("type", ""));
  return out;
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

TEST_F(SandboxConfigTest, Defaults) {
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  EXPECT_EQ(cfg["root"]["path"], "/");
  EXPECT_EQ(cfg["root"]["readonly"], true);
  EXPECT_EQ(cfg["annotations"]["io.github.nsbox.rootfs.rro"], "true");
  EXPECT_EQ(cfg["hostname"], opt_.id);
  EXPECT_EQ(cfg["process"]["args"], json::array({"true"}));

  std::vector<std::string> types = ns_types(cfg);
  std::multiset<std::string> got(types.begin(), types.end());
  std::multiset<std::string> want = {"mount", "uts", "ipc", "pid", "network", "cgroup"};
  EXPECT_EQ(got, want) << cfg["linux"]["namespaces"].dump();
  for (const auto& n : cfg["linux"]["namespaces"]) EXPECT_FALSE(n.contains("path")) << n.dump();
  EXPECT_FALSE(cfg["linux"].contains("uidMappings"));
  EXPECT_FALSE(cfg["linux"].contains("gidMappings"));

  json sys = mount_at(cfg, "/sys");
  ASSERT_TRUE(sys.is_object()) << cfg["mounts"].dump();
  EXPECT_EQ(sys["type"], "sysfs");
  json cg = mount_at(cfg, "/sys/fs/cgroup");
  ASSERT_TRUE(cg.is_object()) << cfg["mounts"].dump();
  EXPECT_EQ(cg["type"], "cgroup");
  json tmp = mount_at(cfg, "/tmp");
  ASSERT_TRUE(tmp.is_object()) << cfg["mounts"].dump();
  EXPECT_EQ(tmp["type"], "tmpfs");
  json proc = mount_at(cfg, "/proc");
  ASSERT_TRUE(proc.is_object()) << cfg["mounts"].dump();
  EXPECT_EQ(proc["type"], "proc");
  json pts = mount_at(cfg, "/dev/pts");
  ASSERT_TRUE(pts.is_object()) << cfg["mounts"].dump();
  EXPECT_TRUE(has_option(pts, "gid=5")) << pts.dump();
  EXPECT_TRUE(cfg["linux"].contains("maskedPaths"));
  EXPECT_TRUE(cfg["linux"].contains("readonlyPaths"));
  EXPECT_FALSE(cfg["linux"]["resources"].contains("memory"));
  EXPECT_FALSE(cfg["linux"]["resources"].contains("pids"));
  EXPECT_FALSE(cfg["linux"]["resources"].contains("cpu"));
}

TEST_F(SandboxConfigTest, WithoutNetStillAFreshSysfs) {
  opt_.create.erase(NsType::kNet);
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  // Root outside a user namespace may mount sysfs for the host's network
  // namespace: a fresh one (not the host's debugfs, tracefs... under /sys).
  EXPECT_EQ(mount_at(cfg, "/sys")["type"], "sysfs") << cfg["mounts"].dump();
  EXPECT_EQ(mount_at(cfg, "/sys/fs/cgroup")["type"], "cgroup") << cfg["mounts"].dump();
  EXPECT_EQ(cfg["root"]["readonly"], true);
  std::vector<std::string> types = ns_types(cfg);
  EXPECT_EQ(std::count(types.begin(), types.end(), "network"), 0);
  EXPECT_TRUE(mount_at(cfg, "/proc").is_object());
  EXPECT_TRUE(mount_at(cfg, "/tmp").is_object());
}

TEST_F(SandboxConfigTest, UserNamespaceMappings) {
  opt_.create.insert(NsType::kUser);
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  for (const char* key : {"uidMappings", "gidMappings"}) {
    ASSERT_TRUE(cfg["linux"].contains(key)) << key;
    const json& m = cfg["linux"][key];
    ASSERT_EQ(m.size(), 1u) << m.dump();
    EXPECT_EQ(m[0]["containerID"], 0) << m.dump();
    EXPECT_EQ(m[0]["size"], 65536) << m.dump();
  }
  SubIds ids = subordinate_ids();
  EXPECT_EQ(cfg["linux"]["uidMappings"][0]["hostID"], ids.uid_base);
  EXPECT_EQ(cfg["linux"]["gidMappings"][0]["hostID"], ids.gid_base);
  std::vector<std::string> types = ns_types(cfg);
  EXPECT_EQ(std::count(types.begin(), types.end(), "user"), 1);
  // A fresh sysfs (net is new) but no cgroup mount, and no gid=5 on devpts.
  EXPECT_TRUE(mount_at(cfg, "/sys").is_object()) << cfg["mounts"].dump();
  EXPECT_TRUE(mount_at(cfg, "/sys/fs/cgroup").is_null()) << cfg["mounts"].dump();
  json pts = mount_at(cfg, "/dev/pts");
  ASSERT_TRUE(pts.is_object()) << cfg["mounts"].dump();
  EXPECT_FALSE(has_option(pts, "gid=5")) << pts.dump();
}

TEST_F(SandboxConfigTest, WithoutMountNamespace) {
  opt_.create.erase(NsType::kMount);
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  EXPECT_TRUE(cfg["mounts"].is_array());
  EXPECT_TRUE(cfg["mounts"].empty()) << cfg["mounts"].dump();
  EXPECT_FALSE(cfg["linux"].contains("maskedPaths"));
  EXPECT_FALSE(cfg["linux"].contains("readonlyPaths"));
  EXPECT_FALSE(cfg.contains("annotations"));
  EXPECT_EQ(cfg["root"]["readonly"], false);
  std::vector<std::string> types = ns_types(cfg);
  EXPECT_EQ(std::count(types.begin(), types.end(), "mount"), 0);
}

TEST_F(SandboxConfigTest, Resources) {
  opt_.memory = 64LL * 1024 * 1024;
  opt_.pids_limit = 42;
  opt_.cpus = 0.5;
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  const json& r = cfg["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"], 64LL * 1024 * 1024) << r.dump();
  EXPECT_EQ(r["pids"]["limit"], 42) << r.dump();
  EXPECT_EQ(r["cpu"]["quota"], 50000) << r.dump();
  EXPECT_EQ(r["cpu"]["period"], 100000) << r.dump();
}

TEST_F(SandboxConfigTest, EnvReplacesAndAdds) {
  opt_.env = {"FOO=bar", "PATH=/x"};
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  std::vector<std::string> env = cfg["process"]["env"].get<std::vector<std::string>>();
  int paths = 0;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) ++paths;
  }
  EXPECT_EQ(paths, 1) << cfg["process"]["env"].dump();
  EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/x"), env.end())
      << cfg["process"]["env"].dump();
  EXPECT_NE(std::find(env.begin(), env.end(), "FOO=bar"), env.end())
      << cfg["process"]["env"].dump();
  EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/root"), env.end())
      << cfg["process"]["env"].dump();
}

TEST_F(SandboxConfigTest, ErrorsNameTheOption) {
  struct Case {
    const char* what;
    SandboxOptions opt;
    std::string want;  // substring of the message
  };
  std::vector<Case> cases;
  {
    SandboxOptions o = opt_;
    o.create.erase(NsType::kMount);
    o.join[NsType::kMount] = "/proc/self/ns/mnt";
    cases.push_back({"join mount", o, "--join mnt"});
  }
  {
    SandboxOptions o = opt_;
    o.create.erase(NsType::kUts);
    o.hostname = "box";
    cases.push_back({"hostname without uts", o, "--hostname"});
  }
  {
    SandboxOptions o = opt_;
    o.create.insert(NsType::kUser);
    o.create.erase(NsType::kPid);
    cases.push_back({"user without pid", o, "--ns user"});
  }
  {
    SandboxOptions o = opt_;
    o.create.insert(NsType::kUser);
    o.uid = 70000;
    cases.push_back({"uid out of the mapping", o, "--user"});
  }
  {
    SandboxOptions o = opt_;
    o.args.clear();
    cases.push_back({"no command", o, "a command is required"});
  }
  {
    SandboxOptions o = opt_;
    o.binds.push_back({"/tmp", "/nonexistent-nsbox-dir", false});
    cases.push_back({"bind to a missing destination", o, "--bind"});
  }
  {
    SandboxOptions o = opt_;
    o.tmpfs.emplace_back("relative/dir");
    cases.push_back({"relative tmpfs", o, "--tmpfs"});
  }
  {
    SandboxOptions o = opt_;
    o.create.erase(NsType::kIpc);
    o.join[NsType::kIpc] = "nope";
    cases.push_back({"join a missing container", o, "--join ipc=nope"});
  }
  for (const auto& c : cases) {
    std::string msg = error_of(c.opt);
    EXPECT_NE(msg, "<ok>") << c.what;
    EXPECT_TRUE(contains(msg, c.want)) << c.what << ": " << msg;
  }
}

TEST_F(SandboxConfigTest, IpcSysctlWithoutIpcNamespace) {
  opt_.create.erase(NsType::kIpc);
  opt_.sysctls.emplace_back("kernel.msgmnb", "65536");
  std::string msg = error_of(opt_);
  EXPECT_EQ(msg.rfind("--sysctl", 0), 0u) << msg;
  // With its own ipc namespace the same sysctl is fine.
  opt_.create.insert(NsType::kIpc);
  json cfg = config();
  ASSERT_TRUE(cfg.is_object());
  EXPECT_EQ(cfg["linux"]["sysctl"]["kernel.msgmnb"], "65536");
}

}  // namespace
}  // namespace nsbox::container
