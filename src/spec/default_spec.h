// The config.json that `nsbox spec` writes: runc's `runc spec` template.
#pragma once

#include <string>
#include <vector>

namespace nsbox::spec {

// Pretty-printed (2-space indent, no trailing newline) default config.json.
// Deviations from runc: ociVersion "1.3.0", process.terminal false, hostname
// "nsbox". rootless applies runc's `spec --rootless` conversion (user namespace
// mapping the caller's euid/egid to 0, no network namespace, /sys rbind, no
// uid=/gid= mount options, no linux.resources). cgroup_ns adds a cgroup
// namespace (runc does so on cgroup v2 hosts). seccomp adds linux.seccomp,
// a Docker-like default profile for x86 (`nsbox spec --seccomp-default`):
// an allow-list, EPERM for the rest.
std::string default_spec_json(bool rootless, bool cgroup_ns, bool seccomp = false);

// runc's linux.maskedPaths and linux.readonlyPaths of that template (also
// used by `nsbox sandbox`).
const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

}  // namespace nsbox::spec
