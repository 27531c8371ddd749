// Manager implementations: V2Manager (pure cgroup2), V1Manager (one directory
// per v1 hierarchy, name=systemd included) and HybridManager (V1Manager plus
// the leaf on the cgroup2 mount). Device rules: the v1 devices controller,
// else an eBPF filter on the cgroup2 leaf (device_filter.h). Pids,
// freezer; resource limits and stats go through controllers.h, which routes
// each controller to the hierarchy that holds it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "cgroup/controllers.h"
#include "cgroup/device_filter.h"
#include "cgroup/devices.h"
#include "cgroup/dir.h"
#include "cgroup/paths.h"
#include "common/util.h"

namespace nsbox::cgroup {
namespace {

constexpr int kStateVersion = 1;
// rmdir of a cgroup whose processes are still exiting fails with EBUSY: the
// whole destroy() retries for this long.
constexpr auto kDestroyTimeout = std::chrono::seconds(1);

Result<std::vector<pid_t>> sorted_pids(const CgroupDir& dir) {
  std::vector<pid_t> out;
  NSBOX_TRY_CTX(dir.collect_pids(&out), "list cgroup processes");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<UniqueFd> open_leaf(const CgroupDir& d) {
  std::string path = d.path();
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error("open " + path);
  return fd;
}

// What every layout shares: the same operation on each directory.
class BaseManager : public Manager {
 public:
  BaseManager(Mode mode, std::vector<CgroupDir> dirs) : mode_(mode), dirs_(std::move(dirs)) {}

  Status create() override {
    for (size_t i = 0; i < dirs_.size(); ++i) {
      if (auto st = dirs_[i].create(); !st) {
        rollback(i);
        create_failed_ = true;
        return std::move(st).error().wrap("create cgroup");
      }
    }
    return {};
  }

  Status add_process(pid_t pid) override {
    for (const auto& d : dirs_) NSBOX_TRY(d.add_process(pid));
    return {};
  }

  // The freezer hierarchy last: a process joining a frozen cgroup (exec
  // --ignore-paused) stops there, after it has joined every other one.
  Result<std::vector<UniqueFd>> open_v1_tasks() override {
    std::vector<UniqueFd> fds;
    for (bool freezer : {false, true}) {
      for (const auto& d : dirs_) {
        if (d.v2() || d.has_controller("freezer") != freezer) continue;
        std::string path = d.path() + "/tasks";
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) return sys_error("open " + path);
        fds.push_back(std::move(fd));
      }
    }
    return fds;
  }

  // Every directory is attempted; the first failure is reported. After a
  // failed create() this is a no-op: create() removed what it made, and what
  // is left (e.g. a populated cgroup at the same path) belongs to others.
  Status destroy() override {
    if (create_failed_) return {};
    Status first;
    auto deadline = std::chrono::steady_clock::now() + kDestroyTimeout;
    for (const auto& d : dirs_) {
      auto st = d.destroy(deadline);
      if (!st && first) first = std::move(st).error().wrap("destroy cgroup");
    }
    return first;
  }

  Status apply_resources(const spec::Resources& r) override {
    return cgroup::apply_resources(dirs_, r);
  }

  Result<Stats> stats() override { return read_stats(dirs_); }

  Result<OomWatch> watch_oom() override { return cgroup::watch_oom(dirs_); }

  std::string serialize() const override {
    nlohmann::json dirs = nlohmann::json::array();
    for (const auto& d : dirs_) dirs.push_back(d.to_json());
    nlohmann::json j = {{"version", kStateVersion}, {"mode", mode_name(mode_)}, {"dirs", dirs}};
    return j.dump();
  }

 protected:
  const CgroupDir* find_v1(std::string_view controller) const {
    for (const auto& d : dirs_)
      if (!d.v2() && d.has_controller(controller)) return &d;
    return nullptr;
  }

  const CgroupDir* find_v2() const {
    for (const auto& d : dirs_)
      if (d.v2()) return &d;
    return nullptr;
  }

 public:
  Status set_frozen(bool frozen) override {
    const CgroupDir* v1 = find_v1("freezer");
    const CgroupDir* v2 = v1 == nullptr ? find_v2() : nullptr;
    if (v1 == nullptr && v2 == nullptr) return make_error("freeze: no freezer on this host");
    if (v1 != nullptr) {
      NSBOX_TRY_CTX(v1->write_file("freezer.state", frozen ? "FROZEN" : "THAWED"), "freeze");
    } else {
      NSBOX_TRY_CTX(v2->write_file("cgroup.freeze", frozen ? "1" : "0"), "freeze");
    }
    // FREEZING (v1) / "frozen 0" (v2) are transitional: wait up to ~1 s.
    for (int i = 0; i < 200; ++i) {
      auto now = this->frozen();
      if (!now) return std::move(now).error();
      if (*now == frozen) return {};
      ::usleep(5000);
    }
    return make_error(frozen ? "freeze: timed out" : "thaw: timed out");
  }

  Result<bool> frozen() override {
    if (const CgroupDir* v1 = find_v1("freezer")) {
      auto st = v1->read_file("freezer.state");
      if (!st) return std::move(st).error();
      return trim(*st) == "FROZEN";
    }
    const CgroupDir* v2 = find_v2();
    if (v2 == nullptr) return false;
    auto ev = v2->read_file("cgroup.events");
    if (!ev) return std::move(ev).error();
    return ev->find("frozen 1") != std::string::npos;
  }

 protected:
  // The eBPF device filter on the cgroup2 directory dir.
  static Status attach_devices_v2(const CgroupDir& dir, const std::vector<spec::DeviceRule>& rules,
                                  const std::vector<spec::Device>& devices) {
    auto list = device_rules(rules, devices);
    if (!list) return std::move(list).error();
    std::string path = dir.path();
    // Not O_PATH: BPF_PROG_ATTACH refuses those.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_error("linux.resources.devices: open " + path);
    NSBOX_TRY_CTX(attach_device_filter(fd.get(), *list),
                  "linux.resources.devices: cgroup v2 device filter on " + path);
    return {};
  }

  Mode mode_;
  std::vector<CgroupDir> dirs_;

 private:
  bool create_failed_ = false;

  // Remove what create() made in the first n directories.
  void rollback(size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (dirs_[i].created_leaf()) (void)dirs_[i].destroy(std::chrono::steady_clock::now());
  }
};

class V2Manager final : public BaseManager {
 public:
  using BaseManager::BaseManager;

  Result<UniqueFd> open_v2_leaf() override { return open_leaf(leaf()); }

  Status apply_devices(const std::vector<spec::DeviceRule>& rules,
                       const std::vector<spec::Device>& devices) override {
    if (rules.empty()) return {};  // no restriction requested
    return attach_devices_v2(leaf(), rules, devices);
  }

  Result<std::vector<pid_t>> pids() override { return sorted_pids(leaf()); }

 private:
  const CgroupDir& leaf() const { return dirs_.front(); }
};

class V1Manager : public BaseManager {
 public:
  using BaseManager::BaseManager;

  Result<UniqueFd> open_v2_leaf() override {
    const CgroupDir* v2 = find_v2();  // hybrid: the cgroup2 mount's leaf
    return v2 != nullptr ? open_leaf(*v2) : Result<UniqueFd>(UniqueFd());
  }

  Status apply_devices(const std::vector<spec::DeviceRule>& rules,
                       const std::vector<spec::Device>& devices) override {
    if (rules.empty()) return {};  // no restriction requested
    auto lines = device_lines(rules, devices);
    if (!lines) return std::move(lines).error();
    const CgroupDir* dir = find_v1("devices");
    if (dir == nullptr) {
      // Hybrid host without a v1 devices hierarchy: filter on the cgroup2 leaf.
      if (const CgroupDir* v2 = find_v2()) return attach_devices_v2(*v2, rules, devices);
      return make_error("linux.resources.devices: no cgroup v1 devices hierarchy is mounted");
    }
    NSBOX_TRY_CTX(dir->write_file("devices.deny", "a"), "linux.resources.devices");
    for (const auto& l : *lines) {
      const char* file = l.allow ? "devices.allow" : "devices.deny";
      NSBOX_TRY_CTX(dir->write_file(file, l.rule),
                    "linux.resources.devices: " + std::string(file) + " \"" + l.rule + "\"");
    }
    return {};
  }

  // The pids hierarchy, else freezer, else the first v1 one.
  Result<std::vector<pid_t>> pids() override {
    const CgroupDir* dir = find_v1("pids");
    if (dir == nullptr) dir = find_v1("freezer");
    for (const auto& d : dirs_)
      if (dir == nullptr && !d.v2()) dir = &d;
    if (dir == nullptr) return make_error("list cgroup processes: no cgroup v1 hierarchy");
    return sorted_pids(*dir);
  }
};

// v1 controllers from their v1 mounts; the cgroup2 mount (hugetlb here) holds
// the same leaf so that v2-only controllers can be configured there later.
class HybridManager final : public V1Manager {
 public:
  using V1Manager::V1Manager;
};

bool uses(Mode mode, const Hierarchy& h) {
  switch (mode) {
    case Mode::kV1:
      return !h.v2;
    case Mode::kV2:
      return h.v2;
    case Mode::kHybrid:
      return true;
  }
  return false;
}

Result<std::unique_ptr<Manager>> build(Mode mode, std::vector<CgroupDir> dirs) {
  if (dirs.empty()) return make_error(std::string("cgroup: no ") + mode_name(mode) + " hierarchy");
  std::unique_ptr<Manager> m;
  switch (mode) {
    case Mode::kV1:
      m = std::make_unique<V1Manager>(mode, std::move(dirs));
      break;
    case Mode::kV2:
      m = std::make_unique<V2Manager>(mode, std::move(dirs));
      break;
    case Mode::kHybrid:
      m = std::make_unique<HybridManager>(mode, std::move(dirs));
      break;
  }
  return m;
}

Result<Mode> mode_from_name(const std::string& name) {
  for (Mode m : {Mode::kV1, Mode::kV2, Mode::kHybrid})
    if (name == mode_name(m)) return m;
  return make_error("unknown mode \"" + name + "\"");
}

Result<std::unique_ptr<Manager>> restore_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("version", 0) != kStateVersion || !j.contains("dirs") ||
      !j["dirs"].is_array() || !j.contains("mode") || !j["mode"].is_string()) {
    return make_error("unexpected format");
  }
  auto mode = mode_from_name(j["mode"].get<std::string>());
  if (!mode) return std::move(mode).error();
  std::vector<CgroupDir> dirs;
  for (const auto& d : j["dirs"]) {
    auto dir = CgroupDir::from_json(d);
    if (!dir) return std::move(dir).error();
    dirs.push_back(std::move(dir).value());
  }
  return build(*mode, std::move(dirs));
}

}  // namespace

Result<std::unique_ptr<Manager>> make_manager(const Layout& layout,
                                              const std::optional<std::string>& cgroups_path,
                                              const std::string& id) {
  auto path = parse_cgroups_path(cgroups_path, id);
  if (!path) return std::move(path).error();
  // The default "/nsbox/<id>" is nsbox's own: destroy may remove every level.
  int owned = path->is_default ? static_cast<int>(path->parts.size()) : 1;
  std::vector<CgroupDir> dirs;
  for (const auto& h : layout.hierarchies) {
    if (!uses(layout.mode, h)) continue;
    auto rel = path_below_mount(h, *path);
    if (!rel) return std::move(rel).error();
    dirs.emplace_back(h, *rel, owned);
    dirs.back().claim_missing_levels();
  }
  return build(layout.mode, std::move(dirs));
}

Result<std::unique_ptr<Manager>> restore_manager(const std::string& serialized) {
  auto j = nlohmann::json::parse(serialized, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("cgroup state: invalid JSON");
  try {
    auto m = restore_json(j);
    if (!m) return std::move(m).error().wrap("cgroup state");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("cgroup state: ") + e.what());
  }
}

}  // namespace nsbox::cgroup
