#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spec/config.h"
#include "spec/default_spec.h"
#include "spec/state.h"

namespace nsbox::spec {
namespace {

using json = nlohmann::json;

json base_doc() { return json::parse(default_spec_json(false, true)); }

// Result message of parsing doc, or "<ok>".
std::string parse_msg(const json& doc) {
  auto r = parse_config(doc.dump());
  return r.ok() ? "<ok>" : r.error().msg;
}

std::string validate_msg(const json& doc) {
  auto r = parse_config(doc.dump());
  if (!r.ok()) return "parse: " + r.error().msg;
  auto v = validate_config(*r);
  return v.ok() ? "<ok>" : v.error().msg;
}

// A patch sets the JSON pointer to a value; a discarded value removes it.
struct Patch {
  const char* pointer;
  json value;
};

const json kRemove = json(json::value_t::discarded);

json patched(std::vector<Patch> patches) {
  json doc = base_doc();
  for (auto& p : patches) {
    json::json_pointer ptr(p.pointer);
    if (p.value.is_discarded()) {
      doc[ptr.parent_pointer()].erase(ptr.back());
    } else {
      doc[ptr] = p.value;
    }
  }
  return doc;
}

struct ErrorCase {
  std::vector<Patch> patches;
  std::string want;  // exact prefix of the error message
};

void expect_errors(const std::vector<ErrorCase>& cases,
                   std::string (*run)(const json&) = parse_msg) {
  for (const auto& c : cases) {
    std::string msg = run(patched(c.patches));
    EXPECT_EQ(msg.substr(0, c.want.size()), c.want) << "full message: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

json user_ns_mappings(json size) {
  return json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", size}}});
}

TEST(SpecParse, DefaultSpecRoundTrip) {
  auto r = parse_config(default_spec_json(false, true));
  ASSERT_TRUE(r.ok()) << r.error().msg;
  const Config& c = *r;
  EXPECT_EQ(c.oci_version, "1.0.2-dev");
  EXPECT_EQ(c.root.path, "rootfs");
  EXPECT_TRUE(c.root.readonly);
  EXPECT_TRUE(c.has_hostname);
  EXPECT_FALSE(c.has_domainname);
  EXPECT_EQ(c.hostname, "nsbox");
  ASSERT_TRUE(c.process);
  EXPECT_FALSE(c.process->terminal);
  EXPECT_EQ(c.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(c.process->cwd, "/");
  EXPECT_EQ(c.process->env.size(), 2u);
  EXPECT_TRUE(c.process->no_new_privileges);
  ASSERT_TRUE(c.process->capabilities);
  EXPECT_EQ(c.process->capabilities->bounding.size(), 3u);
  EXPECT_TRUE(c.process->capabilities->inheritable.empty());
  ASSERT_EQ(c.process->rlimits.size(), 1u);
  EXPECT_EQ(c.process->rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(c.process->rlimits[0].soft, 1024u);
  ASSERT_EQ(c.mounts.size(), 7u);
  EXPECT_EQ(c.mounts[0].destination, "/proc");
  EXPECT_TRUE(c.mounts[0].options.empty());
  EXPECT_EQ(c.mounts[2].options.back(), "gid=5");
  ASSERT_TRUE(c.linux_);
  EXPECT_EQ(c.linux_->namespaces.size(), 6u);
  EXPECT_TRUE(c.linux_->has_ns(NsType::kCgroup));
  EXPECT_FALSE(c.linux_->has_ns(NsType::kUser));
  ASSERT_TRUE(c.linux_->resources);
  ASSERT_EQ(c.linux_->resources->devices.size(), 1u);
  EXPECT_FALSE(c.linux_->resources->devices[0].allow);
  EXPECT_EQ(c.linux_->resources->devices[0].access, "rwm");
  EXPECT_EQ(c.linux_->masked_paths.size(), 11u);
  EXPECT_EQ(c.linux_->readonly_paths.size(), 5u);
  EXPECT_TRUE(validate_config(c).ok());
}

TEST(SpecParse, RootlessDefaultSpecRoundTrip) {
  auto r = parse_config(default_spec_json(true, false));
  ASSERT_TRUE(r.ok()) << r.error().msg;
  const Linux& lx = *r->linux_;
  EXPECT_FALSE(lx.has_ns(NsType::kNet));
  EXPECT_FALSE(lx.has_ns(NsType::kCgroup));
  ASSERT_TRUE(lx.has_ns(NsType::kUser));
  EXPECT_EQ(lx.namespaces.back().type, NsType::kUser);
  ASSERT_EQ(lx.uid_mappings.size(), 1u);
  EXPECT_EQ(lx.uid_mappings[0].host_id, ::geteuid());
  EXPECT_EQ(lx.gid_mappings[0].host_id, ::getegid());
  EXPECT_EQ(lx.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(lx.uid_mappings[0].size, 1u);
  EXPECT_FALSE(lx.resources);
  EXPECT_EQ(r->mounts[2].options.back(), "mode=0620");  // gid=5 dropped
  EXPECT_EQ(r->mounts[5].type, "none");
  EXPECT_EQ(r->mounts[5].source, "/sys");
  EXPECT_EQ(r->mounts[5].options.front(), "rbind");
  EXPECT_TRUE(validate_config(*r).ok());
}

TEST(SpecDefault, PrettyPrintedLikeRuncSpec) {
  std::string s = default_spec_json(false, false);
  EXPECT_EQ(
      s.rfind("{\n  \"ociVersion\": \"1.0.2-dev\",\n  \"process\": {\n    \"terminal\": false,", 0),
      0u)
      << s;
  EXPECT_NE(s.find("\"hostname\": \"nsbox\""), std::string::npos);
  EXPECT_EQ(s.find("cgroup\"\n"), std::string::npos);  // no cgroup namespace
  json doc = json::parse(s);
  EXPECT_EQ(doc["linux"]["namespaces"].size(), 5u);
  EXPECT_EQ(doc["mounts"][0].size(), 3u);  // /proc has no options key
  EXPECT_EQ(json::parse(default_spec_json(false, true))["linux"]["namespaces"][5]["type"],
            "cgroup");
}

TEST(SpecParse, MalformedFieldsNameTheirPath) {
  expect_errors({
      {{{"/process/user/uid", "0"}}, "process.user.uid: expected integer"},
      {{{"/process/user/uid", 4294967296LL}}, "process.user.uid: expected unsigned 32-bit integer"},
      {{{"/process/user/gid", -1}}, "process.user.gid: expected unsigned 32-bit integer"},
      {{{"/process/user/additionalGids", {1, -5}}},
       "process.user.additionalGids[1]: expected unsigned 32-bit integer"},
      {{{"/process/user/umask", 1.5}}, "process.user.umask: expected integer"},
      {{{"/process/oomScoreAdj", 2147483648LL}}, "process.oomScoreAdj: expected 32-bit integer"},
      {{{"/mounts/2/destination", 5}}, "mounts[2].destination: expected string"},
      {{{"/mounts/1/destination", kRemove}}, "mounts[1].destination: required"},
      {{{"/mounts/0/destination", ""}}, "mounts[0].destination: must not be empty"},
      {{{"/mounts/3/options", "ro"}}, "mounts[3].options: expected array"},
      {{{"/mounts", json::object()}}, "mounts: expected array"},
      {{{"/linux/namespaces/1/type", "foo"}},
       "linux.namespaces[1].type: unknown namespace type \"foo\""},
      {{{"/linux/namespaces/1/type", kRemove}}, "linux.namespaces[1].type: required"},
      {{{"/linux/namespaces/0/path", "proc/1/ns/pid"}},
       "linux.namespaces[0].path: must be an absolute path"},
      {{{"/linux/namespaces/-", {{"type", "pid"}}}},
       "linux.namespaces: duplicate namespace \"pid\""},
      {{{"/linux/uidMappings", user_ns_mappings(-1)}},
       "linux.uidMappings[0].size: expected unsigned 32-bit integer"},
      {{{"/linux/gidMappings", user_ns_mappings("1")}},
       "linux.gidMappings[0].size: expected integer"},
      {{{"/linux/gidMappings/0", json::object()}}, "linux.gidMappings[0].containerID: required"},
      {{{"/ociVersion", kRemove}}, "ociVersion: required"},
      {{{"/ociVersion", "2.0.0"}}, "ociVersion: unsupported version \"2.0.0\""},
      {{{"/ociVersion", "1.0"}}, "ociVersion: unsupported version \"1.0\""},
      {{{"/ociVersion", 1}}, "ociVersion: expected string"},
      {{{"/root", kRemove}}, "root: required"},
      {{{"/root/path", ""}}, "root.path: must not be empty"},
      {{{"/root/readonly", "yes"}}, "root.readonly: expected boolean"},
      {{{"/process", "sh"}}, "process: expected object"},
      {{{"/process/cwd", "tmp"}}, "process.cwd: must be an absolute path"},
      {{{"/process/cwd", kRemove}}, "process.cwd: required"},
      {{{"/process/args", json::array()}}, "process.args: must not be empty"},
      {{{"/process/args", kRemove}}, "process.args: required"},
      {{{"/process/env", "PATH=/bin"}}, "process.env: expected array"},
      {{{"/process/capabilities/bounding/1", 3}},
       "process.capabilities.bounding[1]: expected string"},
      {{{"/process/consoleSize", {{"height", 25}}}}, "process.consoleSize.width: required"},
      {{{"/hostname", 5}}, "hostname: expected string"},
      {{{"/annotations", {{"org.example.key", 1}}}},
       "annotations.\"org.example.key\": expected string"},
      {{{"/linux/sysctl", {{"kernel.sem", true}}}}, "linux.sysctl.\"kernel.sem\": expected string"},
      {{{"/linux", json::array()}}, "linux: expected object"},
  });
}

TEST(SpecParse, MalformedHooks) {
  expect_errors({
      {{{"/hooks", {{"prestart", {{{"path", "bin/true"}}}}}}},
       "hooks.prestart[0].path: must be an absolute path"},
      {{{"/hooks", {{"poststop", {{{"path", "/bin/true"}, {"timeout", 0}}}}}}},
       "hooks.poststop[0].timeout: must be greater than zero"},
      {{{"/hooks", {{"createRuntime", {{{"args", {"x"}}}}}}}},
       "hooks.createRuntime[0].path: required"},
      {{{"/hooks", {{"startContainer", {{{"path", "/x"}, {"env", {1}}}}}}}},
       "hooks.startContainer[0].env[0]: expected string"},
      {{{"/hooks", "none"}}, "hooks: expected object"},
  });
}

TEST(SpecParse, HooksParsed) {
  json doc = patched(
      {{"/hooks",
        {{"createContainer",
          {{{"path", "/bin/hook"}, {"args", {"hook", "a"}}, {"env", {"A=1"}}, {"timeout", 5}}}},
         {"poststop", {{{"path", "/bin/true"}}}}}}});
  auto r = parse_config(doc.dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  ASSERT_TRUE(r->hooks);
  ASSERT_EQ(r->hooks->create_container.size(), 1u);
  EXPECT_EQ(r->hooks->create_container[0].path, "/bin/hook");
  EXPECT_EQ(r->hooks->create_container[0].args.size(), 2u);
  EXPECT_EQ(r->hooks->create_container[0].timeout, 5);
  EXPECT_FALSE(r->hooks->poststop[0].timeout);
  EXPECT_TRUE(r->hooks->prestart.empty());
}

TEST(SpecParse, Rlimits) {
  auto rl = [](const char* type, json soft, json hard) {
    return json{{"type", type}, {"soft", soft}, {"hard", hard}};
  };
  expect_errors({
      {{{"/process/rlimits/0/type", "RLIMIT_FOO"}},
       "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
      {{{"/process/rlimits/-", rl("RLIMIT_NOFILE", 1, 1)}},
       "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
      {{{"/process/rlimits/0/soft", 2048}}, "process.rlimits[0]: soft limit exceeds hard limit"},
      {{{"/process/rlimits/0/hard", -1}},
       "process.rlimits[0].hard: expected unsigned 64-bit integer"},
      {{{"/process/rlimits/0/soft", kRemove}}, "process.rlimits[0].soft: required"},
  });
  const std::pair<const char*, int> names[] = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  json list = json::array();
  for (const auto& [name, res] : names) list.push_back(rl(name, 1, 18446744073709551615ULL));
  auto r = parse_config(patched({{"/process/rlimits", list}}).dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  ASSERT_EQ(r->process->rlimits.size(), std::size(names));
  for (size_t i = 0; i < std::size(names); ++i) {
    EXPECT_EQ(r->process->rlimits[i].type, names[i].first);
    EXPECT_EQ(r->process->rlimits[i].resource, names[i].second);
    EXPECT_EQ(r->process->rlimits[i].hard, RLIM_INFINITY);
  }
}

TEST(SpecParse, LinuxDevicesAndRules) {
  expect_errors({
      {{{"/linux/devices", {{{"type", "x"}, {"path", "/dev/x"}}}}},
       "linux.devices[0].type: unknown device type \"x\""},
      {{{"/linux/devices", {{{"type", "c"}, {"path", "dev/null"}, {"major", 1}, {"minor", 3}}}}},
       "linux.devices[0].path: must be an absolute path"},
      {{{"/linux/devices", {{{"type", "b"}, {"path", "/dev/sda"}, {"minor", 0}}}}},
       "linux.devices[0].major: required"},
      {{{"/linux/devices",
         {{{"type", "c"}, {"path", "/dev/x"}, {"major", 1}, {"minor", 3}, {"fileMode", -1}}}}},
       "linux.devices[0].fileMode: expected unsigned 32-bit integer"},
      {{{"/linux/resources/devices/0/allow", kRemove}},
       "linux.resources.devices[0].allow: required"},
      {{{"/linux/resources/devices/0/access", "rwx"}},
       "linux.resources.devices[0].access: invalid access \"rwx\""},
      {{{"/linux/resources/devices/0/type", "p"}},
       "linux.resources.devices[0].type: unknown device type \"p\""},
  });
  json devs = {{{"type", "p"}, {"path", "/dev/fifo"}},
               {{"type", "c"},
                {"path", "/dev/null"},
                {"major", 1},
                {"minor", 3},
                {"fileMode", 438},
                {"uid", 0},
                {"gid", 0}}};
  json rules = {{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rw"}}};
  auto r =
      parse_config(patched({{"/linux/devices", devs}, {"/linux/resources/devices", rules}}).dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  const Linux& lx = *r->linux_;
  ASSERT_EQ(lx.devices.size(), 2u);
  EXPECT_EQ(lx.devices[0].type, 'p');
  EXPECT_EQ(lx.devices[1].major, 1);
  EXPECT_EQ(lx.devices[1].file_mode, 438u);
  ASSERT_EQ(lx.resources->devices.size(), 1u);
  EXPECT_TRUE(lx.resources->devices[0].allow);
  EXPECT_EQ(lx.resources->devices[0].minor, 3);
}

TEST(SpecParse, TimeOffsetsAndPropagation) {
  expect_errors({
      {{{"/linux/timeOffsets", {{"realtime", {{"secs", 1}}}}}},
       "linux.timeOffsets.realtime: unknown clock"},
      {{{"/linux/timeOffsets", {{"monotonic", {{"nanosecs", 1000000000}}}}}},
       "linux.timeOffsets.monotonic.nanosecs: must be less than 1000000000"},
      {{{"/linux/timeOffsets", {{"boottime", {{"secs", 1.5}}}}}},
       "linux.timeOffsets.boottime.secs: expected integer"},
      {{{"/linux/rootfsPropagation", "bogus"}},
       "linux.rootfsPropagation: unknown propagation \"bogus\""},
  });
  json offsets = {{"monotonic", {{"secs", -86400}, {"nanosecs", 5}}}, {"boottime", {{"secs", 7}}}};
  auto r = parse_config(
      patched({{"/linux/timeOffsets", offsets}, {"/linux/rootfsPropagation", "rslave"}}).dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_EQ(r->linux_->time_offsets.at("monotonic").secs, -86400);
  EXPECT_EQ(r->linux_->time_offsets.at("monotonic").nanosecs, 5u);
  EXPECT_EQ(r->linux_->time_offsets.at("boottime").secs, 7);
  EXPECT_EQ(r->linux_->rootfs_propagation, "rslave");
}

// The example of config-linux.md's cgroup sections, every field typed.
TEST(SpecParse, Resources) {
  json res = json::parse(R"({
    "devices": [{"allow": false, "access": "rwm"}],
    "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912,
               "kernel": -1, "kernelTCP": -1, "swappiness": 0, "disableOOMKiller": false},
    "cpu": {"shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000,
            "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3",
            "mems": "0-7", "idle": 0},
    "blockIO": {"weight": 10, "leafWeight": 10,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                 {"major": 8, "minor": 16, "weight": 500}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200},
                       {"pageSize": "64KB", "limit": 1000000}],
    "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
    "pids": {"limit": 0},
    "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "mlx4_0": {"hcaObjects": 1000}},
    "unified": {"io.max": "8:0 rbps=1000", "memory.high": "max"}
  })");
  auto r = parse_config(patched({{"/linux/resources", res}}).dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  const auto& rs = *r->linux_->resources;
  EXPECT_EQ(rs.devices.size(), 1u);
  EXPECT_EQ(rs.memory->limit, 536870912);
  EXPECT_EQ(rs.memory->kernel_tcp, -1);
  EXPECT_EQ(rs.memory->swappiness, 0u);
  EXPECT_EQ(rs.memory->disable_oom_killer, false);
  EXPECT_FALSE(rs.memory->use_hierarchy);
  EXPECT_EQ(rs.cpu->shares, 1024u);
  EXPECT_EQ(rs.cpu->quota, 1000000);
  EXPECT_EQ(rs.cpu->realtime_runtime, 950000);
  EXPECT_EQ(rs.cpu->cpus, "2-3");
  EXPECT_EQ(rs.cpu->idle, 0);
  EXPECT_EQ(rs.block_io->weight, 10);
  ASSERT_EQ(rs.block_io->weight_device.size(), 2u);
  EXPECT_EQ(rs.block_io->weight_device[0].leaf_weight, 300);
  EXPECT_FALSE(rs.block_io->weight_device[1].leaf_weight);
  EXPECT_EQ(rs.block_io->throttle_read_bps[0].rate, 600u);
  EXPECT_EQ(rs.block_io->throttle_write_iops[0].minor, 16);
  EXPECT_TRUE(rs.block_io->throttle_write_bps.empty());
  ASSERT_EQ(rs.hugepage_limits.size(), 2u);
  EXPECT_EQ(rs.hugepage_limits[1].page_size, "64KB");
  EXPECT_EQ(rs.network->class_id, 1048577u);
  EXPECT_EQ(rs.network->priorities[0].name, "eth0");
  EXPECT_EQ(rs.pids_limit, 0);  // 0 is a limit, not "unset"
  EXPECT_EQ(rs.rdma.at("mlx4_0").hca_objects, 1000u);
  EXPECT_FALSE(rs.rdma.at("mlx4_0").hca_handles);
  EXPECT_EQ(rs.unified.at("memory.high"), "max");

  auto only = parse_resources(R"({"cpu": {"quota": 5000}})", "linux.resources");
  ASSERT_TRUE(only.ok()) << only.error().msg;
  EXPECT_FALSE(only->memory);
  EXPECT_FALSE(only->cpu->period);
  EXPECT_FALSE(only->pids_limit);
  auto bad = parse_resources("[1]", "linux.resources");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().msg, "linux.resources: expected object");
}

TEST(SpecParse, ResourcesErrors) {
  expect_errors({
      {{{"/linux/resources/memory", {{"limit", -2}}}},
       "linux.resources.memory.limit: must be -1 (unlimited) or a byte count"},
      {{{"/linux/resources/memory", {{"swappiness", 101}}}},
       "linux.resources.memory.swappiness: must be between 0 and 100"},
      {{{"/linux/resources/memory", {{"disableOOMKiller", 1}}}},
       "linux.resources.memory.disableOOMKiller: expected boolean"},
      {{{"/linux/resources/cpu", {{"quota", 1000}, {"burst", 2000}}}},
       "linux.resources.cpu.burst: must not be larger than quota"},
      {{{"/linux/resources/cpu", {{"shares", -1}}}},
       "linux.resources.cpu.shares: expected unsigned 64-bit integer"},
      {{{"/linux/resources/cpu", {{"idle", 2}}}}, "linux.resources.cpu.idle: must be 0 or 1"},
      {{{"/linux/resources/cpu", {{"cpus", 3}}}}, "linux.resources.cpu.cpus: expected string"},
      {{{"/linux/resources/pids", json::object()}}, "linux.resources.pids.limit: required"},
      {{{"/linux/resources/pids", {{"limit", -5}}}},
       "linux.resources.pids.limit: must be -1 or more"},
      {{{"/linux/resources/blockIO", {{"weight", 70000}}}},
       "linux.resources.blockIO.weight: expected unsigned 16-bit integer"},
      {{{"/linux/resources/blockIO", {{"weightDevice", {{{"major", 8}, {"minor", 0}}}}}}},
       "linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight"},
      {{{"/linux/resources/blockIO", {{"throttleReadBpsDevice", {{{"major", 8}, {"minor", 0}}}}}}},
       "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required"},
      {{{"/linux/resources/hugepageLimits", {{{"pageSize", "2mb"}, {"limit", 1}}}}},
       "linux.resources.hugepageLimits[0].pageSize: invalid page size \"2mb\" (expected e.g. "
       "\"2MB\")"},
      {{{"/linux/resources/hugepageLimits", {{{"pageSize", "2MB"}}}}},
       "linux.resources.hugepageLimits[0].limit: required"},
      {{{"/linux/resources/network", {{"priorities", {{{"name", "eth0"}}}}}}},
       "linux.resources.network.priorities[0].priority: required"},
      {{{"/linux/resources/rdma", {{"mlx4_0", json::object()}}}},
       "linux.resources.rdma.mlx4_0: needs hcaHandles or hcaObjects"},
      {{{"/linux/resources/unified", {{"../memory.max", "1"}}}},
       "linux.resources.unified.\"../memory.max\": not a cgroup v2 control file name"},
      {{{"/linux/resources/unified", {{"memory.max", 1}}}},
       "linux.resources.unified.\"memory.max\": expected string"},
  });
}

TEST(SpecParse, UnsupportedProperties) {
  expect_errors({
      {{{"/linux/netDevices", {{"eth0", {{"name", "eth1"}}}}}},
       "linux.netDevices: not supported yet"},
      {{{"/linux/memoryPolicy", {{"mode", "MPOL_BIND"}}}}, "linux.memoryPolicy: not supported yet"},
      {{{"/process/execCPUAffinity", {{"initial", "0"}}}},
       "process.execCPUAffinity: not supported yet"},
      {{{"/mounts/0/uidMappings", user_ns_mappings(1)}},
       "mounts[0].uidMappings: not supported yet"},
      {{{"/mounts/4/gidMappings", user_ns_mappings(1)}},
       "mounts[4].gidMappings: not supported yet"},
      {{{"/process/terminal", "yes"}}, "process.terminal: expected boolean"},
  });
}

json seccomp_rule(const std::vector<std::string>& names, const std::string& action) {
  return {{"names", names}, {"action", action}};
}

TEST(SpecParse, Seccomp) {
  json sc = {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", 38},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
      {"flags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
      {"listenerPath", "/run/agent.sock"},
      {"listenerMetadata", "meta"},
      {"syscalls",
       {seccomp_rule({"read", "no_such_syscall_yet"}, "SCMP_ACT_ALLOW"),
        {{"names", {"kill"}},
         {"action", "SCMP_ACT_TRACE"},
         {"errnoRet", 5},
         {"args",
          {{{"index", 1}, {"value", 10}, {"op", "SCMP_CMP_EQ"}},
           {{"index", 0}, {"value", 0xff}, {"valueTwo", 3}, {"op", "SCMP_CMP_MASKED_EQ"}}}}},
        seccomp_rule({"mkdir"}, "SCMP_ACT_NOTIFY")}},
  };
  auto r = parse_config(patched({{"/linux/seccomp", sc}}).dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  ASSERT_TRUE(r->linux_->seccomp);
  const Seccomp& s = *r->linux_->seccomp;
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, 38u);
  EXPECT_EQ(s.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  EXPECT_EQ(s.flags.size(), 2u);
  EXPECT_EQ(s.listener_path, "/run/agent.sock");
  EXPECT_EQ(s.listener_metadata, "meta");
  ASSERT_EQ(s.syscalls.size(), 3u);
  // Unknown syscall names are left to the filter build (skipped there).
  EXPECT_EQ(s.syscalls[0].names, (std::vector<std::string>{"read", "no_such_syscall_yet"}));
  EXPECT_FALSE(s.syscalls[0].errno_ret);
  EXPECT_EQ(s.syscalls[1].action, "SCMP_ACT_TRACE");
  EXPECT_EQ(s.syscalls[1].errno_ret, 5u);
  ASSERT_EQ(s.syscalls[1].args.size(), 2u);
  EXPECT_EQ(s.syscalls[1].args[0].index, 1u);
  EXPECT_EQ(s.syscalls[1].args[0].value, 10u);
  EXPECT_EQ(s.syscalls[1].args[0].value_two, 0u);
  EXPECT_EQ(s.syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(s.syscalls[1].args[1].value_two, 3u);
  EXPECT_EQ(s.syscalls[2].action, "SCMP_ACT_NOTIFY");

  // Without a notify rule listenerPath is ignored, even a relative one.
  auto quiet = parse_config(
      patched({{"/linux/seccomp", {{"defaultAction", "SCMP_ACT_ALLOW"}, {"listenerPath", "x"}}}})
          .dump());
  ASSERT_TRUE(quiet.ok()) << quiet.error().msg;
  EXPECT_TRUE(quiet->linux_->seccomp->syscalls.empty());
}

TEST(SpecParse, SeccompDefaultProfile) {
  auto r = parse_config(default_spec_json(false, true, true));
  ASSERT_TRUE(r.ok()) << r.error().msg;
  ASSERT_TRUE(r->linux_->seccomp);
  EXPECT_EQ(r->linux_->seccomp->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(r->linux_->seccomp->default_errno_ret, static_cast<uint32_t>(EPERM));
  EXPECT_FALSE(json::parse(default_spec_json(false, true))["linux"].contains("seccomp"));
}

TEST(SpecParse, SeccompErrors) {
  json allow = seccomp_rule({"read"}, "SCMP_ACT_ALLOW");
  auto with_rule = [&](const json& rule) {
    return json{{"defaultAction", "SCMP_ACT_ALLOW"},
                {"listenerPath", "/run/agent.sock"},
                {"syscalls", {allow, allow, rule}}};
  };
  auto arg = [](json index, json op) {
    json rule = seccomp_rule({"kill"}, "SCMP_ACT_ERRNO");
    rule["args"] = {{{"index", std::move(index)}, {"value", 1}, {"op", std::move(op)}}};
    return rule;
  };
  expect_errors({
      {{{"/linux/seccomp", json::object()}}, "linux.seccomp.defaultAction: required"},
      {{{"/linux/seccomp", {{"defaultAction", "SCMP_ACT_FOO"}}}},
       "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\""},
      {{{"/linux/seccomp", {{"defaultAction", "SCMP_ACT_NOTIFY"}}}},
       "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
      {{{"/linux/seccomp", with_rule(seccomp_rule({"read"}, "SCMP_ACT_FOO"))}},
       "linux.seccomp.syscalls[2].action: unknown action \"SCMP_ACT_FOO\""},
      {{{"/linux/seccomp", with_rule({{"names", {"read"}}})}},
       "linux.seccomp.syscalls[2].action: required"},
      {{{"/linux/seccomp", with_rule({{"action", "SCMP_ACT_ERRNO"}})}},
       "linux.seccomp.syscalls[2].names: required"},
      {{{"/linux/seccomp", with_rule(seccomp_rule({}, "SCMP_ACT_ERRNO"))}},
       "linux.seccomp.syscalls[2].names: needs at least one name"},
      {{{"/linux/seccomp",
         {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86", "SCMP_ARCH_VAX"}}}}},
       "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\""},
      {{{"/linux/seccomp",
         {{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {"SECCOMP_FILTER_FLAG_FOO"}}}}},
       "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\""},
      {{{"/linux/seccomp", with_rule(arg(1, "SCMP_CMP_XX"))}},
       "linux.seccomp.syscalls[2].args[0].op: unknown operator \"SCMP_CMP_XX\""},
      {{{"/linux/seccomp", with_rule(arg(6, "SCMP_CMP_EQ"))}},
       "linux.seccomp.syscalls[2].args[0].index: must be less than 6"},
      {{{"/linux/seccomp", with_rule(arg(-1, "SCMP_CMP_EQ"))}},
       "linux.seccomp.syscalls[2].args[0].index: expected unsigned 32-bit integer"},
      {{{"/linux/seccomp", with_rule({{"names", {"kill"}},
                                      {"action", "SCMP_ACT_ERRNO"},
                                      {"args", {{{"index", 0}, {"op", "SCMP_CMP_EQ"}}}}})}},
       "linux.seccomp.syscalls[2].args[0].value: required"},
      {{{"/linux/seccomp",
         with_rule({{"names", {"kill"}}, {"action", "SCMP_ACT_ALLOW"}, {"errnoRet", 1}})}},
       "linux.seccomp.syscalls[2].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno"},
      {{{"/linux/seccomp", {{"defaultAction", "SCMP_ACT_KILL"}, {"defaultErrnoRet", 1}}}},
       "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno"},
      {{{"/linux/seccomp", {{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", -1}}}},
       "linux.seccomp.defaultErrnoRet: expected unsigned 32-bit integer"},
      {{{"/linux/seccomp",
         {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"syscalls", {seccomp_rule({"mkdir"}, "SCMP_ACT_NOTIFY")}}}}},
       "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY "
       "(linux.seccomp.syscalls[0].action)"},
      {{{"/linux/seccomp",
         {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"listenerPath", "run/a.sock"},
          {"syscalls", {seccomp_rule({"mkdir"}, "SCMP_ACT_NOTIFY")}}}}},
       "linux.seccomp.listenerPath: must be an absolute path"},
      {{{"/linux/seccomp", with_rule(seccomp_rule({"mkdir", "sendmsg"}, "SCMP_ACT_NOTIFY"))}},
       "linux.seccomp.syscalls[2].names[1]: SCMP_ACT_NOTIFY cannot be used for sendmsg"},
      {{{"/linux/seccomp", {{"defaultAction", "SCMP_ACT_ALLOW"}, {"listenerMetadata", "m"}}}},
       "linux.seccomp.listenerMetadata: needs listenerPath"},
      {{{"/linux/seccomp", "SCMP_ACT_ALLOW"}}, "linux.seccomp: expected object"},
  });
}

TEST(SpecParse, ProcessAttributes) {
  json doc = patched({{"/process/apparmorProfile", "nsbox-test"},
                      {"/process/selinuxLabel", "system_u:system_r:container_t:s0:c1,c2"},
                      {"/process/ioPriority", {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 7}}},
                      {"/process/scheduler",
                       {{"policy", "SCHED_DEADLINE"},
                        {"nice", -3},
                        {"flags", {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"}},
                        {"runtime", 10000000},
                        {"deadline", 30000000},
                        {"period", 30000000}}},
                      {"/linux/personality", {{"domain", "LINUX32"}, {"flags", json::array()}}},
                      {"/linux/mountLabel", "system_u:object_r:container_file_t:s0"},
                      {"/linux/intelRdt", json::object()}});
  auto r = parse_config(doc.dump());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  const Process& p = *r->process;
  EXPECT_EQ(p.apparmor_profile, "nsbox-test");
  EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0:c1,c2");
  ASSERT_TRUE(p.io_priority);
  EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_IDLE");
  EXPECT_EQ(p.io_priority->priority, 7);
  ASSERT_TRUE(p.scheduler);
  EXPECT_EQ(p.scheduler->policy, "SCHED_DEADLINE");
  EXPECT_EQ(p.scheduler->nice, -3);
  EXPECT_FALSE(p.scheduler->priority);
  EXPECT_EQ(p.scheduler->flags,
            (std::vector<std::string>{"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"}));
  EXPECT_EQ(p.scheduler->runtime, 10000000u);
  EXPECT_EQ(p.scheduler->deadline, 30000000u);
  EXPECT_EQ(p.scheduler->period, 30000000u);
  const Linux& lx = *r->linux_;
  ASSERT_TRUE(lx.personality);
  EXPECT_EQ(lx.personality->domain, "LINUX32");
  EXPECT_EQ(lx.mount_label, "system_u:object_r:container_file_t:s0");
  EXPECT_TRUE(lx.has_intel_rdt);

  // Optional members default as the spec says; no intelRdt, no personality.
  auto plain =
      parse_config(patched({{"/process/ioPriority", {{"class", "IOPRIO_CLASS_BE"}}},
                            {"/process/scheduler", {{"policy", "SCHED_FIFO"}, {"priority", 99}}}})
                       .dump());
  ASSERT_TRUE(plain.ok()) << plain.error().msg;
  EXPECT_EQ(plain->process->io_priority->priority, 0);
  EXPECT_EQ(plain->process->scheduler->priority, 99);
  EXPECT_FALSE(plain->process->scheduler->nice);
  EXPECT_FALSE(plain->linux_->personality);
  EXPECT_FALSE(plain->linux_->has_intel_rdt);
}

TEST(SpecParse, ProcessAttributeNameValues) {
  EXPECT_EQ(io_priority_class_value("IOPRIO_CLASS_RT"), 1);
  EXPECT_EQ(io_priority_class_value("IOPRIO_CLASS_BE"), 2);
  EXPECT_EQ(io_priority_class_value("IOPRIO_CLASS_IDLE"), 3);
  EXPECT_EQ(io_priority_class_value("IOPRIO_CLASS_NONE"), std::nullopt);
  EXPECT_EQ(sched_policy_value("SCHED_OTHER"), SCHED_OTHER);
  EXPECT_EQ(sched_policy_value("SCHED_FIFO"), SCHED_FIFO);
  EXPECT_EQ(sched_policy_value("SCHED_RR"), SCHED_RR);
  EXPECT_EQ(sched_policy_value("SCHED_BATCH"), SCHED_BATCH);
  EXPECT_EQ(sched_policy_value("SCHED_ISO"), 4);
  EXPECT_EQ(sched_policy_value("SCHED_IDLE"), SCHED_IDLE);
  EXPECT_EQ(sched_policy_value("SCHED_DEADLINE"), 6);
  EXPECT_EQ(sched_policy_value("sched_fifo"), std::nullopt);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_RESET_ON_FORK"), 0x01u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_RECLAIM"), 0x02u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_DL_OVERRUN"), 0x04u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_KEEP_POLICY"), 0x08u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_KEEP_PARAMS"), 0x10u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_UTIL_CLAMP_MIN"), 0x20u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_UTIL_CLAMP_MAX"), 0x40u);
  EXPECT_EQ(sched_flag_value("SCHED_FLAG_ALL"), std::nullopt);
}

TEST(SpecParse, ProcessAttributeErrors) {
  expect_errors({
      {{{"/process/apparmorProfile", 1}}, "process.apparmorProfile: expected string"},
      {{{"/process/selinuxLabel", true}}, "process.selinuxLabel: expected string"},
      {{{"/linux/mountLabel", json::array()}}, "linux.mountLabel: expected string"},
      {{{"/process/ioPriority", "IOPRIO_CLASS_BE"}}, "process.ioPriority: expected object"},
      {{{"/process/ioPriority", {{"priority", 1}}}}, "process.ioPriority.class: required"},
      {{{"/process/ioPriority", {{"class", "IOPRIO_CLASS_NONE"}}}},
       "process.ioPriority.class: unknown class \"IOPRIO_CLASS_NONE\" (expected "
       "IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)"},
      {{{"/process/ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 8}}}},
       "process.ioPriority.priority: must be between 0 and 7"},
      {{{"/process/ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", -1}}}},
       "process.ioPriority.priority: must be between 0 and 7"},
      {{{"/process/ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", "1"}}}},
       "process.ioPriority.priority: expected integer"},
      {{{"/process/scheduler", json::object()}}, "process.scheduler.policy: required"},
      {{{"/process/scheduler", {{"policy", "SCHED_NORMAL"}}}},
       "process.scheduler.policy: unknown policy \"SCHED_NORMAL\""},
      {{{"/process/scheduler", {{"policy", "SCHED_OTHER"}, {"nice", 20}}}},
       "process.scheduler.nice: must be between -20 and 19"},
      {{{"/process/scheduler", {{"policy", "SCHED_OTHER"}, {"nice", -21}}}},
       "process.scheduler.nice: must be between -20 and 19"},
      {{{"/process/scheduler", {{"policy", "SCHED_OTHER"}, {"nice", 1LL << 32}}}},
       "process.scheduler.nice: expected 32-bit integer"},
      {{{"/process/scheduler", {{"policy", "SCHED_FIFO"}}}},
       "process.scheduler.priority: SCHED_FIFO needs a priority between 1 and 99"},
      {{{"/process/scheduler", {{"policy", "SCHED_RR"}, {"priority", 100}}}},
       "process.scheduler.priority: SCHED_RR needs a priority between 1 and 99"},
      {{{"/process/scheduler", {{"policy", "SCHED_BATCH"}, {"priority", 5}}}},
       "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"},
      {{{"/process/scheduler", {{"policy", "SCHED_OTHER"}, {"flags", {"SCHED_FLAG_NOPE"}}}}},
       "process.scheduler.flags[0]: unknown flag \"SCHED_FLAG_NOPE\""},
      {{{"/process/scheduler", {{"policy", "SCHED_OTHER"}, {"flags", "SCHED_FLAG_RECLAIM"}}}},
       "process.scheduler.flags: expected array"},
      {{{"/process/scheduler", {{"policy", "SCHED_OTHER"}, {"runtime", 5}}}},
       "process.scheduler.runtime: only SCHED_DEADLINE takes runtime"},
      {{{"/process/scheduler", {{"policy", "SCHED_IDLE"}, {"period", 5}}}},
       "process.scheduler.period: only SCHED_DEADLINE takes period"},
      {{{"/process/scheduler", {{"policy", "SCHED_DEADLINE"}, {"runtime", -1}}}},
       "process.scheduler.runtime: expected unsigned 64-bit integer"},
      {{{"/process/scheduler", {{"policy", "SCHED_DEADLINE"}, {"deadline", 100000}}}},
       "process.scheduler.runtime: SCHED_DEADLINE needs at least 1024 (ns)"},
      {{{"/process/scheduler",
         {{"policy", "SCHED_DEADLINE"}, {"runtime", 200000}, {"deadline", 100000}}}},
       "process.scheduler.deadline: must not be less than runtime"},
      {{{"/process/scheduler",
         {{"policy", "SCHED_DEADLINE"},
          {"runtime", 2000},
          {"deadline", 100000},
          {"period", 5000}}}},
       "process.scheduler.period: must not be less than deadline"},
      {{{"/linux/personality", json::object()}}, "linux.personality.domain: required"},
      {{{"/linux/personality", {{"domain", "LINUX64"}}}},
       "linux.personality.domain: unknown domain \"LINUX64\" (expected LINUX or LINUX32)"},
      {{{"/linux/personality", {{"domain", "LINUX"}, {"flags", {"ADDR_NO_RANDOMIZE"}}}}},
       "linux.personality.flags[0]: unknown flag \"ADDR_NO_RANDOMIZE\" (the spec defines none)"},
      {{{"/linux/personality", {{"domain", "LINUX"}, {"flags", {1}}}}},
       "linux.personality.flags[0]: expected string"},
      {{{"/linux/intelRdt", "closid"}}, "linux.intelRdt: expected object"},
  });
}

TEST(SpecValidate, ProcessAttributes) {
  // SCHED_DEADLINE refuses fork: startContainer hooks need RESET_ON_FORK.
  json sched = {{"policy", "SCHED_DEADLINE"}, {"runtime", 10000}, {"deadline", 100000}};
  json hook = {{"startContainer", {{{"path", "/bin/true"}}}}};
  expect_errors({{{{"/process/scheduler", sched}, {"/hooks", hook}},
                  "process.scheduler.policy: SCHED_DEADLINE cannot fork startContainer hooks (add "
                  "SCHED_FLAG_RESET_ON_FORK to process.scheduler.flags)"}},
                validate_msg);
  EXPECT_EQ(validate_msg(patched({{"/process/scheduler", sched}})), "<ok>");
  sched["flags"] = {"SCHED_FLAG_RESET_ON_FORK"};
  EXPECT_EQ(validate_msg(patched({{"/process/scheduler", sched}, {"/hooks", hook}})), "<ok>");
  hook = {{"prestart", {{{"path", "/bin/true"}}}}};
  sched.erase("flags");
  EXPECT_EQ(validate_msg(patched({{"/process/scheduler", sched}, {"/hooks", hook}})), "<ok>");

  // intelRdt: resctrl must be mounted; even then nsbox cannot apply it yet.
  struct statfs st {};
  bool resctrl = ::statfs("/sys/fs/resctrl", &st) == 0 && st.f_type == 0x7655821;
  EXPECT_EQ(validate_msg(patched({{"/linux/intelRdt", {{"closID", "x"}}}})),
            resctrl ? "linux.intelRdt: not supported yet"
                    : "linux.intelRdt: Intel RDT (resctrl) is not available on this host");
}

TEST(SpecParse, IgnoredAndEmptyProperties) {
  json doc = patched({{"/process/user/username", "root"},
                      {"/process/commandLine", "sh"},
                      {"/process/apparmorProfile", ""},
                      {"/linux/seccomp", nullptr},
                      {"/linux/mountLabel", ""},
                      {"/windows", {{"layerFolders", {"x"}}}},
                      {"/solaris", {{"milestone", 1}}},
                      {"/vm", "x"},
                      {"/zos", 1},
                      {"/freebsd", {}},
                      {"/x-unknown", {{"a", 1}}},
                      {"/linux/unknownThing", 5},
                      {"/ociVersion", "1.0.2-dev"}});
  EXPECT_EQ(parse_msg(doc), "<ok>");
}

TEST(SpecParse, InvalidJsonIsOneLine) {
  auto r = parse_config("{\n  \"ociVersion\": \"1.3.0\",\n  oops\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().msg.rfind("config.json: invalid JSON: ", 0), 0u) << r.error().msg;
  EXPECT_EQ(r.error().msg.find('\n'), std::string::npos);
  auto arr = parse_config("[]");
  ASSERT_FALSE(arr.ok());
  EXPECT_EQ(arr.error().msg, "config.json: expected a JSON object");
}

TEST(SpecParse, MinimalConfigWithoutProcessOrLinux) {
  auto r = parse_config(R"({"ociVersion": "1.1.0", "root": {"path": "/r"}})");
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_FALSE(r->process);
  EXPECT_FALSE(r->linux_);
  EXPECT_FALSE(r->has_hostname);
  EXPECT_TRUE(validate_config(*r).ok());
}

TEST(SpecLoad, MissingConfigFile) {
  auto r = load_config("/nonexistent-nsbox-bundle");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().msg,
            "bundle /nonexistent-nsbox-bundle: open /nonexistent-nsbox-bundle/config.json: "
            "No such file or directory");
}

TEST(SpecLoad, ReadsBundleConfig) {
  char tmpl[] = "/tmp/nsbox-spec-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/config.json") << default_spec_json(true, true);
  auto r = load_config(dir);
  ::unlink((dir + "/config.json").c_str());
  ::rmdir(dir.c_str());
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_TRUE(r->linux_->has_ns(NsType::kUser));
}

json ns_list(std::vector<json> entries) { return json(entries); }
json ns(const char* type, const char* path = nullptr) {
  json n = {{"type", type}};
  if (path) n["path"] = path;
  return n;
}

TEST(SpecValidate, Sysctls) {
  auto with = [](json namespaces, const char* key) -> std::vector<Patch> {
    return {
        {"/linux/namespaces", namespaces}, {"/linux/sysctl", {{key, "1"}}}, {"/hostname", kRemove}};
  };
  json none = json::array();
  expect_errors(
      {
          {with(none, "net.ipv4.ip_forward"),
           "linux.sysctl.\"net.ipv4.ip_forward\": requires a new network namespace"},
          {with(ns_list({ns("network", "/proc/self/ns/net")}), "net.core.somaxconn"),
           "linux.sysctl.\"net.core.somaxconn\": requires a new network namespace"},
          {with(none, "kernel.shmmax"),
           "linux.sysctl.\"kernel.shmmax\": requires a new IPC namespace"},
          {with(none, "fs.mqueue.msg_max"),
           "linux.sysctl.\"fs.mqueue.msg_max\": requires a new IPC namespace"},
          {with(none, "kernel.hostname"),
           "linux.sysctl.\"kernel.hostname\": requires a new UTS namespace"},
          {with(base_doc()["linux"]["namespaces"], "vm.swappiness"),
           "linux.sysctl.\"vm.swappiness\": sysctl is not in a separate kernel namespace"},
          {with(base_doc()["linux"]["namespaces"], "kernel.msgmax"), "<ok>"},
          {with(ns_list({ns("network")}), "net/ipv4/ip_forward"), "<ok>"},
          {with(ns_list({ns("network", "/proc/self/ns/uts")}), "net.ipv4.ip_forward"), "<ok>"},
          {with(ns_list({ns("ipc")}), "kernel.shm_rmid_forced"), "<ok>"},
          {with(ns_list({ns("uts", "/proc/self/ns/uts")}), "kernel.domainname"),
           "linux.sysctl.\"kernel.domainname\": requires a new UTS namespace"},
      },
      validate_msg);
}

TEST(SpecValidate, NamesAndNamespaces) {
  json no_uts = ns_list({ns("pid"), ns("mount")});
  json user_ns = ns_list({ns("user"), ns("mount")});
  json maps = user_ns_mappings(65536);
  expect_errors(
      {
          {{{"/linux/namespaces", no_uts}}, "hostname: requires a new UTS namespace"},
          {{{"/linux/namespaces", no_uts}, {"/hostname", ""}}, "<ok>"},
          {{{"/linux/namespaces", no_uts}, {"/hostname", kRemove}, {"/domainname", "example.org"}},
           "domainname: requires a new UTS namespace"},
          {{{"/linux", kRemove}}, "hostname: requires a new UTS namespace"},
          {{{"/linux/uidMappings", maps}}, "linux.uidMappings: requires a user namespace"},
          {{{"/linux/gidMappings", maps}}, "linux.gidMappings: requires a user namespace"},
          {{{"/linux/namespaces", user_ns}, {"/hostname", kRemove}},
           "linux.uidMappings: required by a new user namespace"},
          {{{"/linux/namespaces", user_ns}, {"/hostname", kRemove}, {"/linux/uidMappings", maps}},
           "linux.gidMappings: required by a new user namespace"},
          {{{"/linux/namespaces", user_ns},
            {"/hostname", kRemove},
            {"/linux/uidMappings", maps},
            {"/linux/gidMappings", maps}},
           "<ok>"},
          {{{"/linux/namespaces", ns_list({ns("user", "/proc/self/ns/user")})},
            {"/hostname", kRemove}},
           "<ok>"},
      },
      validate_msg);
}

TEST(SpecValidate, TimeOffsets) {
  json offsets = {{"monotonic", {{"secs", 10}}}};
  json namespaces = base_doc()["linux"]["namespaces"];
  json with_time = namespaces;
  with_time.push_back(ns("time"));
  json joined_time = namespaces;
  joined_time.push_back(ns("time", "/proc/self/ns/time"));
  expect_errors(
      {
          {{{"/linux/timeOffsets", offsets}}, "linux.timeOffsets: requires a new time namespace"},
          {{{"/linux/timeOffsets", offsets}, {"/linux/namespaces", joined_time}},
           "linux.timeOffsets: requires a new time namespace"},
          {{{"/linux/timeOffsets", offsets}, {"/linux/namespaces", with_time}}, "<ok>"},
      },
      validate_msg);
}

TEST(SpecNs, NamesFlagsAndLookup) {
  const NsType all[] = {NsType::kMount, NsType::kUts,  NsType::kIpc,    NsType::kPid,
                        NsType::kNet,   NsType::kUser, NsType::kCgroup, NsType::kTime};
  const char* oci[] = {"mount", "uts", "ipc", "pid", "network", "user", "cgroup", "time"};
  const char* proc[] = {"mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"};
  const int flags[] = {CLONE_NEWNS,  CLONE_NEWUTS,  CLONE_NEWIPC,    CLONE_NEWPID,
                       CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP, 0x80};
  for (int i = 0; i < kNsTypeCount; ++i) {
    EXPECT_STREQ(ns_type_name(all[i]), oci[i]);
    EXPECT_STREQ(ns_proc_name(all[i]), proc[i]);
    EXPECT_EQ(ns_clone_flag(all[i]), flags[i]);
    EXPECT_EQ(ns_type_from_name(oci[i]), all[i]);
  }
  EXPECT_FALSE(ns_type_from_name("net"));
  EXPECT_FALSE(ns_type_from_name("mnt"));
  Linux lx;
  lx.namespaces = {{NsType::kPid, ""}, {NsType::kNet, "/run/netns/x"}};
  EXPECT_TRUE(lx.has_ns(NsType::kPid));
  EXPECT_FALSE(lx.has_ns(NsType::kUser));
  ASSERT_NE(lx.find_ns(NsType::kNet), nullptr);
  EXPECT_EQ(lx.find_ns(NsType::kNet)->path, "/run/netns/x");
  EXPECT_EQ(lx.find_ns(NsType::kTime), nullptr);
}

TEST(SpecState, Json) {
  State s;
  s.id = "c1";
  s.status = "created";
  s.bundle = "/b";
  EXPECT_EQ(state_to_json(s, false),
            R"({"ociVersion":"1.3.0","id":"c1","status":"created","bundle":"/b"})");
  s.pid = 42;
  s.annotations = {{"k", "v"}};
  EXPECT_EQ(state_to_json(s, false),
            R"({"ociVersion":"1.3.0","id":"c1","status":"created","pid":42,"bundle":"/b",)"
            R"("annotations":{"k":"v"}})");
  EXPECT_EQ(
      state_to_json(s, true),
      "{\n  \"ociVersion\": \"1.3.0\",\n  \"id\": \"c1\",\n  \"status\": \"created\",\n"
      "  \"pid\": 42,\n  \"bundle\": \"/b\",\n  \"annotations\": {\n    \"k\": \"v\"\n  }\n}");
  s.id = "bad\xff";  // invalid UTF-8 must not throw
  EXPECT_NE(state_to_json(s, false).find("bad"), std::string::npos);
}

// A NUL inside a string would be cut where it reaches a system call.
TEST(SpecParse, NulInStringsIsRefused) {
  expect_errors({
      {{{"/root/path", std::string("rootfs\0/../etc", 14)}}, "root.path: contains a NUL character"},
      {{{"/process/args/0", std::string("sh\0x", 4)}}, "process.args[0]: contains a NUL character"},
  });
}

}  // namespace
}  // namespace nsbox::spec
