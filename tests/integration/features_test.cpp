// `nsbox features`: the OCI features document (features.md). It must be
// valid against the spec's features-schema.json, list what nsbox does and
// nothing it does not: every listed namespace, mount option, seccomp name,
// capability and hook is used here through `nsbox run`, and a name left out
// ("idmap") is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "harness.h"
#include "rootfs/rootfs.h"
#include "security/capabilities.h"
#include "spec/config.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;
namespace fs = std::filesystem;

namespace {

// ---- A JSON Schema (draft-04) validator for the keywords the OCI schemas
// use. A keyword it does not implement is an error, never ignored.
class SchemaValidator {
 public:
  explicit SchemaValidator(std::string dir) : dir_(std::move(dir)) {}

  // Errors ("<instance path>: why"), empty when valid.
  std::vector<std::string> validate(const json& doc, const std::string& file) {
    errors_.clear();
    const json* root = load(file);
    if (root == nullptr) return errors_;
    check(doc, *root, file, "$");
    return errors_;
  }

 private:
  const json* load(const std::string& file) {
    auto it = files_.find(file);
    if (it == files_.end()) {
      json j = json::parse(nsbox::it::slurp(dir_ + "/" + file), nullptr, false);
      if (j.is_discarded()) {
        errors_.push_back("schema " + file + ": unreadable or invalid JSON");
        return nullptr;
      }
      it = files_.emplace(file, std::move(j)).first;
    }
    return &it->second;
  }

  // "defs.json#/definitions/x" or "#/definitions/x" (relative to `file`).
  const json* resolve(const std::string& ref, std::string* file) {
    auto hash = ref.find('#');
    std::string target = ref.substr(0, hash);
    if (!target.empty()) *file = target;
    const json* doc = load(*file);
    if (doc == nullptr) return nullptr;
    std::string pointer = hash == std::string::npos ? "" : ref.substr(hash + 1);
    try {
      return &doc->at(json::json_pointer(pointer));
    } catch (const json::exception&) {
      errors_.push_back("schema: unresolvable $ref " + ref);
      return nullptr;
    }
  }

  static bool has_type(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "number") return v.is_number();
    if (t == "integer") {
      return v.is_number_integer() ||
             (v.is_number_float() && v.get<double>() == static_cast<double>(v.get<int64_t>()));
    }
    return false;
  }

  void fail(const std::string& path, const std::string& why) {
    errors_.push_back(path + ": " + why);
  }

  void check(const json& v, const json& schema, std::string file, const std::string& path) {
    if (!schema.is_object()) return fail(path, "schema is not an object");
    if (schema.contains("$ref")) {  // draft-04: siblings of $ref are ignored
      const json* target = resolve(schema["$ref"].get<std::string>(), &file);
      if (target != nullptr) check(v, *target, file, path);
      return;
    }
    static const std::set<std::string> kAnnotations = {"description", "$schema",     "id",
                                                       "title",       "definitions", "default"};
    for (const auto& [key, s] : schema.items()) {
      if (kAnnotations.count(key) != 0) continue;
      if (key == "type") {
        std::vector<std::string> types =
            s.is_array() ? s.get<std::vector<std::string>>() : std::vector{s.get<std::string>()};
        if (std::none_of(types.begin(), types.end(), [&](const auto& t) { return has_type(v, t); }))
          fail(path, "not of type " + s.dump());
      } else if (key == "properties") {
        if (!v.is_object()) continue;
        for (const auto& [name, sub] : s.items()) {
          if (v.contains(name)) check(v[name], sub, file, path + "." + name);
        }
      } else if (key == "patternProperties") {
        if (!v.is_object()) continue;
        for (const auto& [pattern, sub] : s.items()) {
          std::regex re(pattern);
          for (const auto& [name, member] : v.items()) {
            if (std::regex_search(name, re)) check(member, sub, file, path + "." + name);
          }
        }
      } else if (key == "additionalProperties") {
        if (!v.is_object()) continue;
        for (const auto& [name, member] : v.items()) {
          bool declared = schema.contains("properties") && schema["properties"].contains(name);
          if (schema.contains("patternProperties")) {
            for (const auto& [pattern, sub] : schema["patternProperties"].items()) {
              declared |= std::regex_search(name, std::regex(pattern));
            }
          }
          if (declared) continue;
          if (s.is_boolean() && !s.get<bool>()) fail(path + "." + name, "not allowed");
          if (s.is_object()) check(member, s, file, path + "." + name);
        }
      } else if (key == "required") {
        if (!v.is_object()) continue;
        for (const auto& name : s) {
          if (!v.contains(name.get<std::string>())) fail(path, "missing " + name.dump());
        }
      } else if (key == "items") {
        if (!v.is_array()) continue;
        for (size_t i = 0; i < v.size(); ++i) {
          const json& sub = s.is_array() ? (i < s.size() ? s[i] : json::object()) : s;
          check(v[i], sub, file, path + "[" + std::to_string(i) + "]");
        }
      } else if (key == "minItems" || key == "maxItems") {
        if (!v.is_array()) continue;
        bool min = key == "minItems";
        if (min ? v.size() < s.get<size_t>() : v.size() > s.get<size_t>())
          fail(path, key + " " + s.dump());
      } else if (key == "enum") {
        if (std::find(s.begin(), s.end(), v) == s.end()) fail(path, v.dump() + " not in enum");
      } else if (key == "pattern") {
        if (v.is_string() &&
            !std::regex_search(v.get<std::string>(), std::regex(s.get<std::string>())))
          fail(path, v.dump() + " does not match " + s.dump());
      } else if (key == "minimum" || key == "maximum") {
        if (!v.is_number()) continue;
        bool min = key == "minimum";
        if (min ? v.get<double>() < s.get<double>() : v.get<double>() > s.get<double>())
          fail(path, key + " " + s.dump());
      } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
        size_t ok = 0;
        std::vector<std::string> saved = errors_;
        for (const auto& sub : s) {
          errors_.clear();
          check(v, sub, file, path);
          ok += errors_.empty() ? 1 : 0;
        }
        errors_ = std::move(saved);
        if (key == "allOf" && ok != s.size()) fail(path, "allOf: " + std::to_string(ok) + " match");
        if (key == "anyOf" && ok == 0) fail(path, "anyOf: none matches");
        if (key == "oneOf" && ok != 1) fail(path, "oneOf: " + std::to_string(ok) + " match");
      } else {
        fail(path, "validator: unsupported schema keyword \"" + key + "\"");
      }
    }
  }

  std::string dir_;
  std::map<std::string, json> files_;
  std::vector<std::string> errors_;
};

// The spec's schema directory: $NSBOX_OCI_SPEC_DIR, else shared/ beside the
// repository (/work/shared on the development machines and in CI).
std::string schema_dir() {
  std::vector<std::string> dirs;
  if (const char* env = ::getenv("NSBOX_OCI_SPEC_DIR")) dirs.emplace_back(env);
  dirs.push_back(fs::path(__FILE__).parent_path().string() + "/../../../shared/oci-runtime-spec");
  dirs.emplace_back("/work/shared/oci-runtime-spec");
  for (const auto& d : dirs) {
    if (fs::exists(d + "/schema/features-schema.json"))
      return fs::weakly_canonical(d + "/schema").string();
  }
  return "";
}

json features(Sandbox& sb) {
  auto o = sb.nsbox({"features"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
  json doc = json::parse(o.out, nullptr, false);
  EXPECT_TRUE(doc.is_object()) << o.out;
  return doc.is_object() ? doc : json::object();
}

std::vector<std::string> names(const json& list) {
  return list.is_array() ? list.get<std::vector<std::string>>() : std::vector<std::string>{};
}

bool listed(const json& list, const std::string& name) {
  auto v = names(list);
  return std::find(v.begin(), v.end(), name) != v.end();
}

// A config.json with this ociVersion parses.
bool version_accepted(const std::string& version) {
  json cfg = Sandbox::default_config();
  cfg["ociVersion"] = version;
  return nsbox::spec::parse_config(cfg.dump()).ok();
}

}  // namespace

TEST(Features, DocumentDescribesThisBuild) {
  Sandbox sb;
  json doc = features(sb);
  EXPECT_EQ(doc["ociVersionMin"], "1.0.0");
  EXPECT_EQ(doc["ociVersionMax"], "1.3.0");
  EXPECT_TRUE(version_accepted(doc["ociVersionMin"].get<std::string>()))
      << "ociVersionMin must be accepted";
  EXPECT_TRUE(version_accepted(doc["ociVersionMax"].get<std::string>()))
      << "ociVersionMax must be accepted";
  EXPECT_EQ(names(doc["hooks"]),
            (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                      "startContainer", "poststart", "poststop"}));
  const json& lx = doc["linux"];
  EXPECT_EQ(names(lx["namespaces"]), (std::vector<std::string>{"cgroup", "ipc", "mount", "network",
                                                               "pid", "time", "user", "uts"}));
  // Every capability nsbox has a name for, in number order.
  std::vector<std::string> caps;
  for (int c = 0; c <= nsbox::security::kMaxKnownCap; ++c)
    caps.push_back(nsbox::security::cap_name(c));
  EXPECT_EQ(names(lx["capabilities"]), caps);
  EXPECT_EQ(lx["cgroup"], json::parse(R"({"v1": true, "v2": true, "systemd": false,
                                           "systemdUser": false, "rdma": true})"));
  // Supported, whether or not this host has the LSM.
  EXPECT_EQ(lx["apparmor"], json({{"enabled", true}}));
  EXPECT_EQ(lx["selinux"], json({{"enabled", true}}));
  // Not supported yet: said so, not left out.
  EXPECT_EQ(lx["intelRdt"], json({{"enabled", false}}));
  EXPECT_EQ(lx["mountExtensions"], json({{"idmap", {{"enabled", false}}}}));
  EXPECT_EQ(lx["netDevices"], json({{"enabled", false}}));
  EXPECT_FALSE(lx.contains("memoryPolicy")) << "linux.memoryPolicy is refused by the parser";
  EXPECT_FALSE(doc.contains("potentiallyUnsafeConfigAnnotations"));

  const json& sc = lx["seccomp"];
  EXPECT_EQ(sc["enabled"], true);
  EXPECT_EQ(names(sc["actions"]).size(), 9u) << sc["actions"];
  EXPECT_EQ(names(sc["operators"]).size(), 7u) << sc["operators"];
  EXPECT_TRUE(listed(sc["archs"], "SCMP_ARCH_X86_64")) << sc["archs"];
  EXPECT_TRUE(listed(sc["archs"], "SCMP_ARCH_X86")) << sc["archs"];
  EXPECT_EQ(names(sc["knownFlags"]).size(), 4u) << sc["knownFlags"];
  for (const auto& f : names(sc["supportedFlags"])) {
    EXPECT_TRUE(listed(sc["knownFlags"], f)) << f << " supported but not known";
  }
  EXPECT_TRUE(listed(sc["supportedFlags"], "SECCOMP_FILTER_FLAG_LOG")) << sc["supportedFlags"];

  // runc's annotations are runc's: nsbox uses its own keys.
  EXPECT_EQ(doc["annotations"]["io.github.nsbox.version"], NSBOX_VERSION);
  EXPECT_TRUE(
      std::regex_match(doc["annotations"]["io.github.nsbox.libseccomp.version"].get<std::string>(),
                       std::regex(R"(\d+\.\d+\.\d+)")))
      << doc["annotations"];
  for (const auto& [key, value] : doc["annotations"].items()) {
    EXPECT_EQ(key.rfind("org.opencontainers.runc.", 0), std::string::npos) << key;
  }
  EXPECT_EQ(sb.nsbox({"features", "extra"}).status, 2);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Features, ValidAgainstTheSpecSchema) {
  std::string dir = schema_dir();
  if (dir.empty()) {
    GTEST_SKIP() << "OCI runtime spec schema not found (set NSBOX_OCI_SPEC_DIR to the spec's "
                    "directory): cannot validate the features document";
  }
  Sandbox sb;
  json doc = features(sb);
  SchemaValidator v(dir);
  auto errors = v.validate(doc, "features-schema.json");
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);

  // The validator itself catches what the schema forbids.
  json bad = doc;
  bad.erase("ociVersionMax");
  bad["hooks"] = {"prestart", 1};
  bad["linux"]["namespaces"].push_back("bogus");
  bad["linux"]["capabilities"].push_back("cap_chown");
  bad["linux"]["cgroup"]["v1"] = "yes";
  bad["linux"]["seccomp"]["actions"].push_back("SCMP_ACT_BOGUS");
  bad["annotations"]["x"] = 1;
  std::string all;
  for (const auto& e : v.validate(bad, "features-schema.json")) all += e + "\n";
  for (const char* want : {"$: missing \"ociVersionMax\"", "$.hooks[1]", "$.linux.namespaces[8]",
                           "$.linux.capabilities[41]", "$.linux.cgroup.v1",
                           "$.linux.seccomp.actions[9]", "$.annotations.x"}) {
    EXPECT_TRUE(contains(all, want)) << want << " in " << all;
  }
}

// Second opinion from a real validator, when the host has one.
TEST(Features, ValidAccordingToPythonJsonschema) {
  std::string dir = schema_dir();
  if (dir.empty()) GTEST_SKIP() << "OCI runtime spec schema not found (NSBOX_OCI_SPEC_DIR)";
  std::string python;
  std::vector<std::string> candidates = {"/usr/bin/python3"};
  if (const char* path = ::getenv("PATH")) {
    std::string p = path;
    for (size_t at = 0; at <= p.size();) {
      size_t end = p.find(':', at);
      if (end == std::string::npos) end = p.size();
      if (end > at) candidates.push_back(p.substr(at, end - at) + "/python3");
      at = end + 1;
    }
  }
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0 &&
        nsbox::it::run_program({c, "-c", "import jsonschema"}).status == 0) {
      python = c;
      break;
    }
  }
  if (python.empty()) {
    GTEST_SKIP() << "no python3 with the jsonschema module (Debian: python3-jsonschema); "
                    "Features.ValidAgainstTheSpecSchema still validates";
  }
  const char* script = R"(
import json, pathlib, sys
import jsonschema
d = pathlib.Path(sys.argv[1])
schema = json.loads((d / "features-schema.json").read_text())
doc = json.load(sys.stdin)
try:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4
    registry = Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT4))
        for p in d.glob("*.json"))
    validator = jsonschema.Draft4Validator(schema, registry=registry)
except ImportError:
    resolver = jsonschema.RefResolver(base_uri=d.as_uri() + "/", referrer=schema)
    validator = jsonschema.Draft4Validator(schema, resolver=resolver)
errors = list(validator.iter_errors(doc))
for e in errors:
    print(list(e.absolute_path), e.message)
bad = dict(doc, linux=dict(doc["linux"], namespaces=["bogus"]))
if not list(validator.iter_errors(bad)):
    print("the validator accepted a bogus namespace")
    sys.exit(1)
sys.exit(1 if errors else 0)
)";
  Sandbox sb;
  json doc = features(sb);
  auto o = nsbox::it::run_program({python, "-c", script, dir}, doc.dump());
  EXPECT_EQ(o.status, 0) << python << ": " << o.out << o.err;
}

// Every listed namespace is accepted by create (and works: run exits 0).
TEST(Features, EveryListedNamespaceRuns) {
  Sandbox sb;
  json doc = features(sb);
  for (const auto& ns : names(doc["linux"]["namespaces"])) {
    json cfg = Sandbox::default_config({"true"});
    auto& list = cfg["linux"]["namespaces"];
    bool present =
        std::any_of(list.begin(), list.end(), [&](const json& n) { return n["type"] == ns; });
    if (!present) list.push_back({{"type", ns}});
    if (ns == "user") {
      json map = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
      cfg["linux"]["uidMappings"] = map;
      cfg["linux"]["gidMappings"] = map;
    }
    auto o = sb.run(cfg);
    EXPECT_EQ(o.status, 0) << ns << ": " << o.err;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// Listed mount options parse to mount flags (none falls through to
// filesystem data); unlisted idmap is refused, by the parser and by create.
TEST(Features, ListedMountOptionsAreKnownIdmapIsRefused) {
  Sandbox sb;
  json doc = features(sb);
  auto opts = names(doc["mountOptions"]);
  EXPECT_TRUE(std::is_sorted(opts.begin(), opts.end()));
  for (const auto& o : opts) {
    auto f = nsbox::rootfs::parse_mount_options({o});
    ASSERT_TRUE(f.ok()) << o << ": " << f.error().msg;
    EXPECT_EQ(f->data, "") << o << " is passed as filesystem data, not recognized";
  }
  for (const char* o : {"idmap", "ridmap"}) {
    EXPECT_FALSE(listed(doc["mountOptions"], o)) << o;
    EXPECT_FALSE(nsbox::rootfs::parse_mount_options({o}).ok()) << o;
  }
  for (const char* o :
       {"bind", "rbind", "ro", "rro", "nosuid", "rprivate", "nosymfollow", "tmpcopyup"}) {
    EXPECT_TRUE(listed(doc["mountOptions"], o)) << o;
  }

  // A tmpfs mount using listed options runs; the same with idmap does not.
  // (/tmp: a destination the shared rootfs has, nothing is created in it.)
  json cfg = Sandbox::default_config({"true"});
  cfg["mounts"].push_back({{"destination", "/tmp"},
                           {"type", "tmpfs"},
                           {"source", "tmpfs"},
                           {"options", {"nosuid", "nodev", "noexec", "strictatime", "rprivate"}}});
  auto ok = sb.run(cfg);
  EXPECT_EQ(ok.status, 0) << ok.err;
  cfg["mounts"].back()["options"].push_back("idmap");
  auto refused = sb.run(cfg);
  EXPECT_NE(refused.status, 0);
  EXPECT_TRUE(contains(refused.err, "idmap")) << refused.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// One container whose filter uses every listed architecture, supported flag,
// operator and action (but NOTIFY, which needs an agent): create takes it.
TEST(Features, ListedSeccompNamesRun) {
  Sandbox sb;
  json doc = features(sb);
  const json& sc = doc["linux"]["seccomp"];
  json filter = {{"defaultAction", "SCMP_ACT_ALLOW"},
                 {"architectures", sc["archs"]},
                 {"flags", sc["supportedFlags"]},
                 {"syscalls", json::array()}};
  // System calls `true` never makes.
  std::vector<std::string> unused = {"acct",        "swapon",        "swapoff",    "reboot",
                                     "sethostname", "setdomainname", "syslog",     "kexec_load",
                                     "init_module", "delete_module", "pivot_root", "quotactl",
                                     "vhangup",     "mknodat",       "ptrace",     "personality"};
  size_t next = 0;
  for (const auto& action : names(sc["actions"])) {
    if (action == "SCMP_ACT_NOTIFY" || action == "SCMP_ACT_ALLOW") continue;
    ASSERT_LT(next, unused.size());
    filter["syscalls"].push_back({{"names", {unused[next++]}}, {"action", action}});
  }
  for (const auto& op : names(sc["operators"])) {
    ASSERT_LT(next, unused.size());
    filter["syscalls"].push_back(
        {{"names", {unused[next++]}},
         {"action", "SCMP_ACT_ERRNO"},
         {"args", {{{"index", 0}, {"value", 12345}, {"valueTwo", 12345}, {"op", op}}}}});
  }
  json cfg = Sandbox::default_config({"true"});
  cfg["linux"]["seccomp"] = filter;
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << filter.dump() << "\n" << o.err;
  // A flag the spec knows but this kernel refused is refused by create too.
  for (const auto& f : names(sc["knownFlags"])) {
    if (listed(sc["supportedFlags"], f)) continue;
    cfg["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {f}}};
    EXPECT_NE(sb.run(cfg).status, 0) << f;
  }
  EXPECT_EQ(sb.leftovers(), "");
}

// Every listed capability is known to create (a host may not grant some:
// a warning, but never "is unknown"), and every listed hook runs.
TEST(Features, ListedCapabilitiesAndHooksAreAccepted) {
  Sandbox sb;
  json doc = features(sb);
  json cfg = Sandbox::default_config({"true"});
  json caps = doc["linux"]["capabilities"];
  cfg["process"]["capabilities"] = {{"bounding", caps}, {"permitted", caps}, {"effective", caps}};
  std::string marks = sb.dir() + "/hooks";
  fs::create_directories(marks);
  for (const auto& h : names(doc["hooks"])) {
    // Runtime-namespace hooks write their mark; container-namespace ones
    // (createContainer, startContainer) only need to succeed.
    bool in_container = h == "createContainer" || h == "startContainer";
    json hook = in_container
                    ? json{{"path", "/bin/true"}}
                    : json{{"path", "/bin/sh"}, {"args", {"sh", "-c", "touch " + marks + "/" + h}}};
    cfg["hooks"][h] = {hook};
  }
  auto o = sb.run(cfg);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_FALSE(contains(o.err, "is unknown")) << o.err;
  for (const char* h : {"prestart", "createRuntime", "poststart", "poststop"}) {
    EXPECT_TRUE(fs::exists(marks + "/" + h)) << h;
  }
  EXPECT_EQ(sb.leftovers(), "");
}
