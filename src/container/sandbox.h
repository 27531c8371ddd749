// `nsbox sandbox`: a throwaway container without a bundle. The options are
// turned into an OCI config (sandbox_config) that goes down the same path as
// `run`: create, start, wait, delete.
//
// Defaults: the host's root filesystem as the rootfs, read-only all the way
// down (kRecursiveReadonlyAnnotation: nothing can be created in it, so
// every mount target must exist), a fresh /proc, a minimal /dev (tmpfs with
// the default devices, devpts, shm, mqueue), /sys, a private /tmp, and new
// mnt, uts, ipc, pid, net and cgroup namespaces. Docker's default
// capabilities, runc's masked and read-only paths, no seccomp filter.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "container/container.h"
#include "spec/config.h"

namespace nsbox::container {

struct SandboxBind {
  std::string source;       // host path
  std::string destination;  // in the container, absolute
  bool readonly = false;    // recursively
};

struct SandboxOptions {
  std::vector<std::string> args;  // the command, required
  // Namespaces made new. Default: mnt, uts, ipc, pid, net, cgroup.
  std::set<spec::NsType> create = {spec::NsType::kMount, spec::NsType::kUts, spec::NsType::kIpc,
                                   spec::NsType::kPid,   spec::NsType::kNet, spec::NsType::kCgroup};
  // Namespaces joined: a running container's ID (resolved to its init's
  // /proc/PID/ns/TYPE) or a namespace file path (absolute).
  std::map<spec::NsType, std::string> join;
  std::string rootfs;  // "" = the host's "/"
  std::vector<SandboxBind> binds;
  std::vector<std::string> tmpfs;  // destinations
  std::optional<std::string> hostname;
  std::optional<uint32_t> uid, gid;
  std::vector<std::string> env;  // KEY=VALUE, replacing the defaults' KEY
  std::string cwd = "/";
  std::optional<long long> memory;  // bytes
  std::optional<long long> pids_limit;
  std::optional<double> cpus;
  std::vector<std::pair<std::string, std::string>> sysctls;
  bool terminal = false;
  // The container's ID; hostname when none is given (uts new).
  std::string id;
  bool reexec_if_writable = false;  // as CreateOptions::reexec_if_writable
};

// With a new user namespace, container IDs 0-65535 map onto this host
// range: root's subordinate IDs from /etc/subuid and /etc/subgid (the first
// range of 65536 or more), else 100000-165535.
struct SubIds {
  uint32_t uid_base = 100000, gid_base = 100000;
};
SubIds subordinate_ids(const std::string& subuid_file = "/etc/subuid",
                       const std::string& subgid_file = "/etc/subgid");

// The config.json text for these options. Joined container IDs are looked
// up in rt. Errors name the option (`--bind /x:/y: ...`).
Result<std::string> sandbox_config(const Runtime& rt, const SandboxOptions& opt);
// A generated ID for an anonymous sandbox: "sandbox-" and 12 hex digits.
std::string sandbox_id();
// sandbox_config + run: the command's exit status.
Result<int> sandbox(const Runtime& rt, const SandboxOptions& opt);

}  // namespace nsbox::container
