// probe(): the cgroup layout from /proc/self/mountinfo, checked with statfs.
#include <linux/magic.h>
#include <sys/vfs.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "cgroup/cgroup.h"
#include "common/util.h"

namespace nsbox::cgroup {
namespace {

struct MountEntry {
  std::string dev;  // major:minor, one per hierarchy
  std::string root;
  std::string mountpoint;
  std::string fstype;
  std::string super_options;
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool octal = s[i] == '\\' && i + 3 < s.size() &&
                 std::all_of(s.begin() + i + 1, s.begin() + i + 4,
                             [](char c) { return c >= '0' && c <= '7'; });
    if (!octal) {
      out += s[i];
      continue;
    }
    out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
    i += 3;
  }
  return out;
}

// "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime shared:1 - cgroup cgroup rw,devices"
std::optional<MountEntry> parse_mountinfo_line(const std::string& line) {
  auto f = split(line, ' ');
  if (f.size() < 10) return std::nullopt;
  auto sep = std::find(f.begin() + 6, f.end(), "-");
  if (f.end() - sep < 4) return std::nullopt;
  return MountEntry{f[2], unescape(f[3]), unescape(f[4]), sep[1], sep[3]};
}

bool has_magic(const std::string& path, bool v2) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return false;
  return static_cast<unsigned long>(st.f_type) == (v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC);
}

// v1 super options that are not controllers.
bool is_plain_option(const std::string& opt) {
  static const char* const kOptions[] = {"rw",    "ro",   "noprefix",       "clone_children",
                                         "xattr", "none", "cpuset_v2_mode", "favordynmods"};
  return opt.find('=') != std::string::npos ||
         std::find(std::begin(kOptions), std::end(kOptions), opt) != std::end(kOptions);
}

Hierarchy v1_hierarchy(const MountEntry& m) {
  Hierarchy h{m.mountpoint, {}, false, "", m.root};
  for (const auto& opt : split(m.super_options, ',')) {
    if (starts_with(opt, "name=")) {
      h.name = opt.substr(5);
    } else if (!is_plain_option(opt)) {
      h.controllers.push_back(opt);
    }
  }
  return h;
}

Hierarchy v2_hierarchy(const MountEntry& m) {
  Hierarchy h{m.mountpoint, {}, true, "", m.root};
  auto text = read_file(join_path(m.mountpoint, "cgroup.controllers"));
  if (text) {
    for (const auto& c : split(trim(*text), ' '))
      if (!c.empty()) h.controllers.push_back(c);
  }
  return h;
}

struct Found {
  std::string dev;
  Hierarchy h;
};

// Bind mounts show one hierarchy several times: keep one entry per device,
// preferring the mount of the hierarchy's root.
void add_unique(std::vector<Found>* found, const MountEntry& m, Hierarchy h) {
  auto it =
      std::find_if(found->begin(), found->end(), [&](const Found& f) { return f.dev == m.dev; });
  if (it == found->end()) {
    found->push_back(Found{m.dev, std::move(h)});
  } else if (it->h.root != "/" && m.root == "/") {
    it->h = std::move(h);
  }
}

Result<Layout> probe_uncached() {
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return std::move(text).error().wrap("cgroup probe");
  std::vector<Found> v1, v2;
  for (const auto& line : split(*text, '\n')) {
    auto m = parse_mountinfo_line(line);
    if (!m || (m->fstype != "cgroup" && m->fstype != "cgroup2")) continue;
    bool is_v2 = m->fstype == "cgroup2";
    if (!has_magic(m->mountpoint, is_v2)) continue;  // over-mounted or gone
    add_unique(is_v2 ? &v2 : &v1, *m, is_v2 ? v2_hierarchy(*m) : v1_hierarchy(*m));
  }
  bool v1_controllers =
      std::any_of(v1.begin(), v1.end(), [](const Found& f) { return !f.h.controllers.empty(); });
  if (!v1_controllers && v2.empty()) {
    return make_error("cgroup probe: no cgroup controller hierarchy is mounted");
  }
  Layout layout;
  layout.mode = !v1_controllers ? Mode::kV2 : v2.empty() ? Mode::kV1 : Mode::kHybrid;
  for (auto& f : v1) layout.hierarchies.push_back(std::move(f.h));
  if (!v2.empty()) layout.hierarchies.push_back(std::move(v2.front().h));
  return layout;
}

}  // namespace

Result<Layout> probe() {
  static std::mutex mu;
  static std::optional<Layout> cached;
  std::lock_guard<std::mutex> lock(mu);
  if (cached) return *cached;
  auto r = probe_uncached();
  if (r) cached = *r;
  return r;
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kV1:
      return "v1";
    case Mode::kV2:
      return "v2";
    case Mode::kHybrid:
      return "hybrid";
  }
  return "unknown";
}

}  // namespace nsbox::cgroup
