// The resource verbs: update, ps, stats and events, all through the
// container's cgroup manager restored from its record.
#include <nlohmann/json.hpp>

#include "common/syscalls.h"
#include "common/util.h"
#include "container/container.h"
#include "container/internal.h"

namespace nsbox::container {
namespace {

using nlohmann::json;

// Objects merge member by member; anything else (arrays included) replaces.
void merge_into(json& dst, const json& src) {
  if (!dst.is_object() || !src.is_object()) {
    dst = src;
    return;
  }
  for (const auto& [key, value] : src.items()) {
    if (value.is_null()) continue;
    merge_into(dst[key], value);
  }
}

Status record_resources(const ContainerDir& dir, const std::string& resources_json) {
  auto text = dir.load_config();
  if (!text) return std::move(text).error();
  json cfg = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  json res = json::parse(resources_json, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object() || res.is_discarded()) {
    return make_error("stored config.json: cannot merge the updated resources");
  }
  json& linux_section = cfg["linux"];
  if (!linux_section.is_object()) linux_section = json::object();
  merge_into(linux_section["resources"], res);
  return dir.save_config(cfg.dump(2));
}

bool is_live(const std::string& status) {
  return status == "created" || status == "running" || status == "paused";
}

}  // namespace

Status update(const Runtime& rt, const std::string& id, const spec::Resources& resources,
              const std::string& resources_json) {
  auto c = open_container(rt, id, true);
  if (!c) return std::move(c).error();
  if (!is_live(c->status)) return make_error("cannot update a container that is " + c->status);
  auto cg = cgroup_of(c->rec);
  if (!cg) return std::move(cg).error();
  if (!resources.devices.empty()) {
    return make_error("linux.resources.devices: update of device rules is not supported yet");
  }
  NSBOX_TRY((*cg)->apply_resources(resources));
  return record_resources(c->dir, resources_json);
}

Result<std::vector<pid_t>> pids(const Runtime& rt, const std::string& id) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  auto cg = cgroup_of(c->rec);
  if (!cg) return std::move(cg).error();
  return (*cg)->pids();
}

Result<cgroup::Stats> stats(const Runtime& rt, const std::string& id) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  if (!is_live(c->status)) return make_error("container not running");
  auto cg = cgroup_of(c->rec);
  if (!cg) return std::move(cg).error();
  return (*cg)->stats();
}

Result<EventSource> watch_events(const Runtime& rt, const std::string& id) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  if (!is_live(c->status)) return make_error("container not running");
  auto cg = cgroup_of(c->rec);
  if (!cg) return std::move(cg).error();
  EventSource src;
  UniqueFd pidfd(sys::pidfd_open(c->rec.pid, 0));
  if (!pidfd) return sys_error("pidfd_open " + std::to_string(c->rec.pid));
  // The pid may have been recycled between the status check and the open.
  if (proc_start_time(c->rec.pid) != c->rec.start_time) return make_error("container not running");
  auto oom = (*cg)->watch_oom();
  if (!oom) return std::move(oom).error();
  src.oom = std::move(*oom);
  src.init_pidfd = std::move(pidfd);
  return src;
}

}  // namespace nsbox::container
