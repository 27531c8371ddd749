#include "cgroup/devices.h"

namespace nsbox::cgroup {
namespace {

spec::DeviceRule allow_rule(char type, int64_t major, int64_t minor) {
  spec::DeviceRule r;
  r.allow = true;
  r.type = std::string(1, type);
  r.major = major;
  r.minor = minor;
  r.access = "rwm";
  return r;
}

// runc's allow-list for containers whose rules start with a deny-all.
std::vector<spec::DeviceRule> default_rules() {
  std::vector<spec::DeviceRule> out = {
      allow_rule('c', -1, -1), allow_rule('b', -1, -1), allow_rule('c', 1, 3),
      allow_rule('c', 1, 5),   allow_rule('c', 1, 7),   allow_rule('c', 5, 0),
      allow_rule('c', 1, 9),   allow_rule('c', 1, 8),   allow_rule('c', 136, -1),
      allow_rule('c', 5, 2),   allow_rule('c', 5, 1),   allow_rule('c', 10, 200)};
  out[0].access = out[1].access = "m";  // mknod of any device
  return out;
}

bool wildcard(const std::optional<int64_t>& v) { return !v || *v < 0; }

std::string number(const std::optional<int64_t>& v) {
  return wildcard(v) ? "*" : std::to_string(*v);
}

bool full_access(const std::string& access) {
  return access.find('r') != std::string::npos && access.find('w') != std::string::npos &&
         access.find('m') != std::string::npos;
}

bool is_deny_all(const spec::DeviceRule& r) {
  return !r.allow && (r.type.empty() || r.type == "a") && wildcard(r.major) && wildcard(r.minor) &&
         full_access(r.access);
}

Status append_rule(const spec::DeviceRule& r, std::vector<DeviceLine>* out) {
  std::string type = r.type.empty() ? "a" : r.type;
  if (type != "a" && type != "c" && type != "b") {
    return make_error("type \"" + r.type + "\": expected a, c or b");
  }
  if (r.access.empty() || r.access.find_first_not_of("rwm") != std::string::npos) {
    return make_error("access \"" + r.access + "\": expected a non-empty subset of rwm");
  }
  std::string numbers = number(r.major) + ":" + number(r.minor);
  if (type == "a" && numbers == "*:*" && full_access(r.access)) {
    out->push_back({r.allow, "a"});
  } else if (type == "a") {
    // v1 reads any "a" line as every device with every access: spell it out.
    out->push_back({r.allow, "c " + numbers + " " + r.access});
    out->push_back({r.allow, "b " + numbers + " " + r.access});
  } else {
    out->push_back({r.allow, type + " " + numbers + " " + r.access});
  }
  return {};
}

}  // namespace

Result<std::vector<DeviceLine>> device_lines(const std::vector<spec::DeviceRule>& rules,
                                             const std::vector<spec::Device>& devices) {
  std::vector<DeviceLine> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    NSBOX_TRY_CTX(append_rule(rules[i], &out),
                  "linux.resources.devices[" + std::to_string(i) + "]");
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    char t = devices[i].type;
    if (t == 'p') continue;  // FIFOs are not subject to the device controller
    if (t != 'c' && t != 'u' && t != 'b') {
      return make_error("linux.devices[" + std::to_string(i) + "].type: expected c, u, b or p");
    }
    (void)append_rule(allow_rule(t == 'b' ? 'b' : 'c', devices[i].major, devices[i].minor), &out);
  }
  if (!rules.empty() && is_deny_all(rules.front())) {
    for (const auto& r : default_rules()) (void)append_rule(r, &out);
  }
  return out;
}

}  // namespace nsbox::cgroup
