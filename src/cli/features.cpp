// nsbox features: the OCI features document (features.md, spec v1.3.0) of
// this build. No list here is a copy of what the code supports: each entry
// is asked of the code that applies it.
//  - namespaces, capabilities: the tables of spec/config.cpp and
//    security/capabilities.cpp, enumerated through their public accessors;
//  - hooks, seccomp names, mount options and every "enabled": the spec's own
//    vocabulary for that field (the names its v1.3.0 schema and config.md
//    define, so the document stays valid) kept only when nsbox accepts it:
//    spec::parse_config takes a config using it, the seccomp filter builds
//    (security::build_seccomp: libseccomp, flags probed on the running
//    kernel), a mount option parses to flags (rootfs::parse_mount_options)
//    rather than filesystem data. A name the code drops disappears here.
#include <seccomp.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "rootfs/rootfs.h"
#include "security/capabilities.h"
#include "security/seccomp.h"
#include "spec/config.h"
#include "spec/state.h"

namespace nsbox::cli {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;
using Names = std::vector<std::string>;

// The version nsbox implements: the one it writes in its state documents.
std::string implemented_version() { return spec::State{}.oci_version; }
constexpr const char* kOciVersionMin = "1.0.0";

// The spec's vocabulary (v1.3.0). Candidates only: see the file comment.
constexpr std::string_view kSpecHooks[] = {"prestart",       "createRuntime", "createContainer",
                                           "startContainer", "poststart",     "poststop"};
template <typename Pred>
Names keep(std::span<const std::string_view> candidates, Pred accepted) {
  Names out;
  for (auto c : candidates) {
    if (accepted(std::string(c))) out.emplace_back(c);
  }
  return out;
}

Names sorted(Names v) {
  std::sort(v.begin(), v.end());
  return v;
}

// config.json with `patch` merged into a minimal valid config, parsed.
Result<spec::Config> parse_with(const json& patch) {
  json doc = {{"ociVersion", implemented_version()}, {"root", {{"path", "rootfs"}}}};
  doc.merge_patch(patch);
  return spec::parse_config(doc.dump());
}
bool parses(const json& patch) { return parse_with(patch).ok(); }

json process_with(const char* key, const char* value) {
  return {{"process",
           {{"cwd", "/"}, {"args", {"true"}}, {"user", {{"uid", 0}, {"gid", 0}}}, {key, value}}}};
}

// ---- hooks

size_t hook_count(const spec::Hooks& h) {
  return h.prestart.size() + h.create_runtime.size() + h.create_container.size() +
         h.start_container.size() + h.poststart.size() + h.poststop.size();
}

bool hook_runs(const std::string& name) {
  auto cfg = parse_with({{"hooks", {{name, {{{"path", "/bin/true"}}}}}}});
  return cfg && cfg->hooks && hook_count(*cfg->hooks) == 1;
}

// ---- seccomp

constexpr const char* kProbeSyscall = "getpid";
constexpr const char* kProbeListener = "/nonexistent/nsbox-features.sock";

json rule(const std::string& action) { return {{"names", {kProbeSyscall}}, {"action", action}}; }

json filter(const std::string& default_action, json rules) {
  return {{"defaultAction", default_action}, {"syscalls", std::move(rules)}};
}

// A filter whose rule has a listener (SCMP_ACT_NOTIFY).
json notify_filter() {
  json f = filter("SCMP_ACT_ALLOW", {rule("SCMP_ACT_NOTIFY")});
  f["listenerPath"] = kProbeListener;
  return f;
}

bool seccomp_parses(const json& seccomp) { return parses({{"linux", {{"seccomp", seccomp}}}}); }

// config.json accepts it and the filter builds (nothing is loaded).
bool seccomp_builds(const json& seccomp) {
  auto cfg = parse_with({{"linux", {{"seccomp", seccomp}}}});
  return cfg && cfg->linux_ && cfg->linux_->seccomp &&
         security::build_seccomp(*cfg->linux_->seccomp).ok();
}

bool action_works(const std::string& action) {
  json f = filter(action == "SCMP_ACT_ALLOW" ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW", {rule(action)});
  if (action == "SCMP_ACT_NOTIFY") f["listenerPath"] = kProbeListener;
  return seccomp_builds(f);
}

bool operator_works(const std::string& op) {
  json r = rule("SCMP_ACT_ERRNO");
  r["args"] = {{{"index", 0}, {"value", 1}, {"valueTwo", 1}, {"op", op}}};
  return seccomp_builds(filter("SCMP_ACT_ALLOW", {r}));
}

// libseccomp resolves the name, and takes it beside the native one (not an
// architecture of the other endianness: EDOM, for runc too).
bool arch_works(const std::string& arch) {
  json f = filter("SCMP_ACT_ALLOW", {rule("SCMP_ACT_ERRNO")});
  f["architectures"] = {arch};
  return seccomp_builds(f);
}

bool flag_known(const std::string& flag) {
  json f = filter("SCMP_ACT_ALLOW", json::array());
  f["flags"] = {flag};
  return seccomp_parses(f);
}

// Supported: the kernel takes it, with and without a listener (build_seccomp
// probes each flag; one concerning listeners only is probed with one).
bool flag_supported(const std::string& flag) {
  json plain = filter("SCMP_ACT_ALLOW", {rule("SCMP_ACT_ERRNO")});
  plain["flags"] = {flag};
  if (!seccomp_builds(plain)) return false;
  json notify = notify_filter();
  if (!seccomp_builds(notify)) return true;  // no listeners here: the plain filter is all there is
  notify["flags"] = {flag};
  return seccomp_builds(notify);
}

ordered_json seccomp_features() {
  ordered_json s;
  s["enabled"] = seccomp_builds(filter("SCMP_ACT_ALLOW", json::array()));
  s["actions"] = sorted(keep(spec::seccomp_actions(), action_works));
  s["operators"] = sorted(keep(spec::seccomp_operators(), operator_works));
  s["archs"] = sorted(keep(spec::seccomp_architectures(), arch_works));
  s["knownFlags"] = keep(spec::seccomp_flags(), flag_known);
  s["supportedFlags"] = keep(spec::seccomp_flags(), flag_supported);
  return s;
}

// ---- linux

Names namespace_names() {
  Names out;
  for (int t = 0; t < spec::kNsTypeCount; ++t) {
    out.emplace_back(spec::ns_type_name(static_cast<spec::NsType>(t)));
  }
  return sorted(out);
}

Names capability_names() {
  Names out;
  for (int c = 0; c <= security::kMaxKnownCap; ++c) out.push_back(security::cap_name(c));
  return out;
}

bool idmap_mounts() {
  json mount = {{"destination", "/mnt"},
                {"type", "bind"},
                {"source", "/"},
                {"options", {"rbind", "idmap"}},
                {"uidMappings", {{{"containerID", 0}, {"hostID", 0}, {"size", 1}}}},
                {"gidMappings", {{{"containerID", 0}, {"hostID", 0}, {"size", 1}}}}};
  return parses({{"mounts", {mount}}}) && rootfs::parse_mount_options({"idmap"}).ok();
}

// linux.resources.rdma is applied (cgroup/resources.cpp), not refused.
bool rdma_limits() {
  json limit = {{"hcaHandles", 1}};
  json rdma = {{"mlx5_0", limit}};
  return parses({{"linux", {{"resources", {{"rdma", rdma}}}}}});
}

ordered_json linux_features() {
  ordered_json lx;
  lx["namespaces"] = namespace_names();
  lx["capabilities"] = capability_names();
  // v1, v2 and hybrid layouts (cgroup::Mode); the systemd driver is refused
  // (--systemd-cgroup), so is a systemd cgroupsPath.
  lx["cgroup"] = {{"v1", true},
                  {"v2", true},
                  {"systemd", false},
                  {"systemdUser", false},
                  {"rdma", rdma_limits()}};
  lx["seccomp"] = seccomp_features();
  // Applied when the host has the LSM (checked at create, security/lsm.h).
  lx["apparmor"] = {{"enabled", parses(process_with("apparmorProfile", "nsbox-probe"))}};
  lx["selinux"] = {{"enabled", parses(process_with("selinuxLabel", "system_u:system_r:x:s0"))}};
  // spec/validate.cpp refuses linux.intelRdt whatever the host has.
  lx["intelRdt"] = {{"enabled", false}};
  lx["mountExtensions"] = {{"idmap", {{"enabled", idmap_mounts()}}}};
  lx["netDevices"] = {
      {"enabled", parses({{"linux", {{"netDevices", {{"eth0", json::object()}}}}}})}};
  return lx;
}

ordered_json features_document() {
  ordered_json doc;
  doc["ociVersionMin"] = kOciVersionMin;
  doc["ociVersionMax"] = implemented_version();
  doc["hooks"] = keep(kSpecHooks, hook_runs);
  doc["mountOptions"] = rootfs::known_mount_options();
  doc["linux"] = linux_features();
  // nsbox interprets no config.json annotation: no potentiallyUnsafeConfigAnnotations.
  const scmp_version* v = seccomp_version();
  doc["annotations"] = {
      {"io.github.nsbox.libseccomp.version",
       std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro)},
      {"io.github.nsbox.version", NSBOX_VERSION},
  };
  return doc;
}

int run_features(const Global&, const Parsed&) {
  std::printf("%s\n", features_document().dump(4).c_str());
  return 0;
}

}  // namespace

Command features_command() {
  return {"features",
          "features",
          "Print the OCI features document: what this build of nsbox supports (JSON)",
          {},
          run_features,
          0,
          0};
}

}  // namespace nsbox::cli
