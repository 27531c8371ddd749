#include "cgroup/devices.h"

namespace nsbox::cgroup {
namespace {

DeviceAccessRule allow_rule(char type, int64_t major, int64_t minor, std::string access = "rwm") {
  return DeviceAccessRule{true, type, major, minor, std::move(access)};
}

// runc's allow-list for containers whose rules start with a deny-all.
std::vector<DeviceAccessRule> default_rules() {
  return {allow_rule('c', -1, -1, "m"), allow_rule('b', -1, -1, "m"),  // mknod of any device
          allow_rule('c', 1, 3),        allow_rule('c', 1, 5),        allow_rule('c', 1, 7),
          allow_rule('c', 5, 0),        allow_rule('c', 1, 9),        allow_rule('c', 1, 8),
          allow_rule('c', 136, -1),     allow_rule('c', 5, 2),        allow_rule('c', 5, 1),
          allow_rule('c', 10, 200)};
}

int64_t number_or_any(const std::optional<int64_t>& v) { return !v || *v < 0 ? -1 : *v; }

std::string number(int64_t v) { return v < 0 ? "*" : std::to_string(v); }

bool full_access(const std::string& access) {
  return access.find('r') != std::string::npos && access.find('w') != std::string::npos &&
         access.find('m') != std::string::npos;
}

bool is_deny_all(const DeviceAccessRule& r) {
  return !r.allow && r.type == 'a' && r.major < 0 && r.minor < 0 && full_access(r.access);
}

Result<DeviceAccessRule> convert(const spec::DeviceRule& r) {
  std::string type = r.type.empty() ? "a" : r.type;
  if (type != "a" && type != "c" && type != "b") {
    return make_error("type \"" + r.type + "\": expected a, c or b");
  }
  if (r.access.empty() || r.access.find_first_not_of("rwm") != std::string::npos) {
    return make_error("access \"" + r.access + "\": expected a non-empty subset of rwm");
  }
  return DeviceAccessRule{r.allow, type[0], number_or_any(r.major), number_or_any(r.minor),
                          r.access};
}

}  // namespace

Result<std::vector<DeviceAccessRule>> device_rules(const std::vector<spec::DeviceRule>& rules,
                                                   const std::vector<spec::Device>& devices) {
  std::vector<DeviceAccessRule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    auto r = convert(rules[i]);
    if (!r) return std::move(r).error().wrap("linux.resources.devices[" + std::to_string(i) + "]");
    out.push_back(std::move(r).value());
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    char t = devices[i].type;
    if (t == 'p') continue;  // FIFOs are not subject to the device controller
    if (t != 'c' && t != 'u' && t != 'b') {
      return make_error("linux.devices[" + std::to_string(i) + "].type: expected c, u, b or p");
    }
    out.push_back(allow_rule(t == 'b' ? 'b' : 'c', devices[i].major, devices[i].minor));
  }
  if (!out.empty() && !rules.empty() && is_deny_all(out.front())) {
    for (auto& r : default_rules()) out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<DeviceLine>> device_lines(const std::vector<spec::DeviceRule>& rules,
                                             const std::vector<spec::Device>& devices) {
  auto list = device_rules(rules, devices);
  if (!list) return std::move(list).error();
  std::vector<DeviceLine> out;
  for (const auto& r : *list) {
    std::string numbers = number(r.major) + ":" + number(r.minor);
    if (r.type == 'a' && numbers == "*:*" && full_access(r.access)) {
      out.push_back({r.allow, "a"});
    } else if (r.type == 'a') {
      out.push_back({r.allow, "c " + numbers + " " + r.access});
      out.push_back({r.allow, "b " + numbers + " " + r.access});
    } else {
      out.push_back({r.allow, std::string(1, r.type) + " " + numbers + " " + r.access});
    }
  }
  return out;
}

}  // namespace nsbox::cgroup
