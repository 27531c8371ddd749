#include "cgroup/paths.h"

#include <algorithm>

#include "common/util.h"

namespace nsbox::cgroup {
namespace {

bool valid_id(const std::string& id) {
  return !id.empty() && id != "." && id != ".." && id.find('/') == std::string::npos;
}

// Does a /proc/self/cgroup line ("4:memory:/a", "9:name=systemd:/", "0::/a")
// describe hierarchy h?
bool line_matches(const Hierarchy& h, const std::string& hier_id, const std::string& ctrls) {
  if (h.v2) return hier_id == "0" && ctrls.empty();
  for (const auto& c : split(ctrls, ',')) {
    if (!h.name.empty() && c == "name=" + h.name) return true;
    if (std::find(h.controllers.begin(), h.controllers.end(), c) != h.controllers.end()) {
      return true;
    }
  }
  return false;
}

// nsbox's own cgroup in h, as /proc/self/cgroup shows it.
Result<std::string> own_cgroup(const Hierarchy& h) {
  auto text = read_file("/proc/self/cgroup");
  if (!text) return std::move(text).error();
  for (const auto& line : split(*text, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    if (line_matches(h, line.substr(0, a), line.substr(a + 1, b - a - 1))) {
      return line.substr(b + 1);
    }
  }
  return make_error("/proc/self/cgroup has no entry for " + h.mountpoint);
}

}  // namespace

Result<CgroupPath> parse_cgroups_path(const std::optional<std::string>& cgroups_path,
                                      const std::string& id) {
  if (!cgroups_path || cgroups_path->empty()) {
    if (!valid_id(id)) return make_error("cgroup: invalid container id \"" + id + "\"");
    return CgroupPath{true, {"nsbox", id}, true};
  }
  const std::string& s = *cgroups_path;
  CgroupPath p;
  p.absolute = s[0] == '/';
  for (auto& c : split(s, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") return make_error("linux.cgroupsPath: \"" + s + "\": \"..\" is not allowed");
    p.parts.push_back(std::move(c));
  }
  if (p.parts.empty()) {
    return make_error("linux.cgroupsPath: \"" + s + "\" does not name a cgroup below the root");
  }
  return p;
}

Result<std::string> path_below_mount(const Hierarchy& h, const CgroupPath& p) {
  std::string tail;
  for (const auto& c : p.parts) tail += "/" + c;
  if (p.absolute) return tail;
  auto own = own_cgroup(h);
  if (!own) return std::move(own).error().wrap("linux.cgroupsPath");
  std::string base = *own;
  if (h.root != "/") {
    if (base != h.root && !starts_with(base, h.root + "/")) {
      return make_error("linux.cgroupsPath: own cgroup " + base + " is outside the mount of " +
                        h.mountpoint);
    }
    base = base.substr(h.root.size());
  }
  return clean_path(base + tail);
}

}  // namespace nsbox::cgroup
