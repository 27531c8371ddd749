#include "cgroup/dir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "common/util.h"

namespace nsbox::cgroup {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A concurrent destroy may rmdir a shared parent between our mkdir calls.
constexpr int kMkdirAttempts = 8;
constexpr auto kRmdirPoll = 10ms;

// A cgroup removed under us: ENOENT on lookup, ENODEV on an open control file.
bool vanished(int err) { return err == ENOENT || err == ENODEV; }

std::vector<std::string> components(const std::string& rel) {
  std::vector<std::string> out;
  for (auto& c : split(rel, '/'))
    if (!c.empty()) out.push_back(std::move(c));
  return out;
}

std::string parent_of(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }

// Child directories (sub-cgroups) of dir; none when dir is gone.
std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") out.push_back(join_path(dir, name));
  }
  ::closedir(d);
  return out;
}

Status parse_pids(const std::string& text, std::vector<pid_t>* out) {
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    long long v = 0;
    if (!parse_int64(line, &v) || v <= 0) return make_error("bad pid \"" + line + "\"");
    out->push_back(static_cast<pid_t>(v));
  }
  return {};
}

Status collect_tree(const std::string& dir, std::vector<pid_t>* out) {
  auto text = nsbox::read_file(join_path(dir, "cgroup.procs"));
  if (!text) return vanished(text.error().code) ? Status{} : Status{text.error()};
  NSBOX_TRY_CTX(parse_pids(*text, out), dir + "/cgroup.procs");
  for (const auto& sub : subdirs(dir)) NSBOX_TRY(collect_tree(sub, out));
  return {};
}

// rmdir dir after its sub-cgroups, retrying EBUSY until the deadline.
Status rmdir_tree(const std::string& dir, Clock::time_point deadline) {
  for (const auto& sub : subdirs(dir)) NSBOX_TRY(rmdir_tree(sub, deadline));
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || Clock::now() >= deadline) return sys_error("rmdir " + dir);
    std::this_thread::sleep_for(kRmdirPoll);
  }
}

}  // namespace

CgroupDir::CgroupDir(Hierarchy h, std::string rel, int owned)
    : h_(std::move(h)), rel_(std::move(rel)) {
  int depth = static_cast<int>(components(rel_).size());
  owned_ = std::clamp(owned, 1, std::max(depth, 1));
}

std::string CgroupDir::cgroup_path() const { return clean_path(join_path(h_.root, rel_)); }

std::string CgroupDir::path() const { return join_path(h_.mountpoint, rel_); }

bool CgroupDir::has_controller(std::string_view controller) const {
  return std::find(h_.controllers.begin(), h_.controllers.end(), controller) !=
         h_.controllers.end();
}

Status CgroupDir::write_file(const std::string& name, std::string_view value) const {
  return nsbox::write_file(join_path(path(), name), value);
}

Result<std::string> CgroupDir::read_file(const std::string& name) const {
  return nsbox::read_file(join_path(path(), name));
}

void CgroupDir::claim_missing_levels() {
  int depth = static_cast<int>(components(rel_).size());
  int missing = 0;
  struct stat st {};
  for (std::string dir = path(); missing < depth && ::stat(dir.c_str(), &st) != 0;
       dir = parent_of(dir)) {
    ++missing;
  }
  owned_ = std::max(owned_, missing);
}

// One mkdir -p pass. On failure the levels this pass created are removed.
Status CgroupDir::make_levels() {
  auto parts = components(rel_);
  std::string cur = h_.mountpoint;
  int created = 0;  // trailing levels of rel_ made by this pass
  for (size_t i = 0; i < parts.size(); ++i) {
    cur = join_path(cur, parts[i]);
    Status st;
    if (::mkdir(cur.c_str(), 0755) == 0) {
      if (created == 0) created = static_cast<int>(parts.size() - i);
    } else if (errno != EEXIST) {
      st = sys_error("mkdir " + cur);
    }
    if (st) st = init_level(cur);
    if (!st) {
      if (created > 0) (void)CgroupDir(h_, rel_, created).destroy(Clock::now());
      return st;
    }
  }
  created_leaf_ = created > 0;
  owned_ = std::max(owned_, created);
  return {};
}

Status CgroupDir::create() {
  Status st;
  for (int attempt = 0; attempt < kMkdirAttempts; ++attempt) {
    st = make_levels();
    if (st || !vanished(st.error().code)) break;
  }
  if (!st) return st;
  if (h_.v2) enable_controllers();
  if (created_leaf_) return {};
  std::vector<pid_t> pids;
  NSBOX_TRY(collect_pids(&pids));
  if (!pids.empty()) {
    return make_error("cgroup " + path() + " already exists and has processes", EEXIST);
  }
  return {};
}

// As runc: every level above the leaf delegates each controller it has, so
// that the leaf shows usage (memory.current, pids.current, ...) even without
// limits. Best effort: a level holding processes refuses (EBUSY), and
// apply_resources() enables what a limit needs with a clear error.
void CgroupDir::enable_controllers() const {
  std::string level = h_.mountpoint;
  for (const auto& part : components(rel_)) {
    auto available = nsbox::read_file(join_path(level, "cgroup.controllers"));
    auto enabled = nsbox::read_file(join_path(level, "cgroup.subtree_control"));
    if (!available || !enabled) return;
    auto on = split(trim(*enabled), ' ');
    for (const auto& c : split(trim(*available), ' ')) {
      if (c.empty() || std::find(on.begin(), on.end(), c) != on.end()) continue;
      (void)nsbox::write_file(join_path(level, "cgroup.subtree_control"), "+" + c);
    }
    level = join_path(level, part);
  }
}

// A new v1 cpuset cgroup has empty cpus/mems: tasks cannot join it until
// they are set. Levels are visited top-down so the parent is always filled.
Status CgroupDir::init_level(const std::string& dir) const {
  if (h_.v2 || !has_controller("cpuset")) return {};
  NSBOX_TRY(inherit_cpuset_file(dir, "cpuset.cpus"));
  return inherit_cpuset_file(dir, "cpuset.mems");
}

Status CgroupDir::inherit_cpuset_file(const std::string& dir, const std::string& name) const {
  auto cur = nsbox::read_file(join_path(dir, name));
  if (!cur) return cur.error();
  if (!trim(*cur).empty()) return {};
  auto parent = nsbox::read_file(join_path(parent_of(dir), name));
  if (!parent) return parent.error();
  return nsbox::write_file(join_path(dir, name), trim(*parent));
}

Status CgroupDir::add_process(pid_t pid) const {
  NSBOX_TRY_CTX(write_file("cgroup.procs", std::to_string(pid)),
                "add pid " + std::to_string(pid) + " to cgroup");
  return {};
}

Status CgroupDir::collect_pids(std::vector<pid_t>* out) const { return collect_tree(path(), out); }

Status CgroupDir::destroy(Clock::time_point deadline) const {
  NSBOX_TRY(rmdir_tree(path(), deadline));
  std::string cur = path();
  for (int i = 1; i < owned_; ++i) {
    cur = parent_of(cur);
    if (::rmdir(cur.c_str()) == 0 || errno == ENOENT) continue;
    if (errno == ENOTEMPTY || errno == EBUSY) break;  // still used by another container
    return sys_error("rmdir " + cur);
  }
  return {};
}

nlohmann::json CgroupDir::to_json() const {
  return {{"mountpoint", h_.mountpoint},
          {"root", h_.root},
          {"v2", h_.v2},
          {"controllers", h_.controllers},
          {"name", h_.name},
          {"path", rel_},
          {"owned", owned_}};
}

Result<CgroupDir> CgroupDir::from_json(const nlohmann::json& j) {
  try {
    Hierarchy h;
    h.mountpoint = j.at("mountpoint").get<std::string>();
    h.root = j.at("root").get<std::string>();
    h.v2 = j.at("v2").get<bool>();
    h.controllers = j.at("controllers").get<std::vector<std::string>>();
    h.name = j.at("name").get<std::string>();
    auto rel = j.at("path").get<std::string>();
    auto parts = components(rel);
    bool dotdot = std::find(parts.begin(), parts.end(), "..") != parts.end();
    if (h.mountpoint.empty() || h.mountpoint[0] != '/' || parts.empty() || dotdot) {
      return make_error("bad cgroup entry");
    }
    return CgroupDir(std::move(h), std::move(rel), j.at("owned").get<int>());
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("bad cgroup entry: ") + e.what());
  }
}

}  // namespace nsbox::cgroup
