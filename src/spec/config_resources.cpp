// Decoding of linux.resources (config.json and `update --resources`).
#include <string_view>

#include "spec/config_decode.h"

namespace nsbox::spec {
namespace {

// Memory values are bytes or -1 (unlimited).
Status check_bytes(const std::optional<int64_t>& v, const std::string& path) {
  if (v && *v < -1) return path_error(path, "must be -1 (unlimited) or a byte count");
  return {};
}

}  // namespace

Status decode(const json& v, const std::string& path, MemoryResources* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path,
                   {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
                    "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"});
  NSBOX_TRY(get(v, "limit", path, &out->limit));
  NSBOX_TRY(get(v, "reservation", path, &out->reservation));
  NSBOX_TRY(get(v, "swap", path, &out->swap));
  NSBOX_TRY(get(v, "kernel", path, &out->kernel));
  NSBOX_TRY(get(v, "kernelTCP", path, &out->kernel_tcp));
  NSBOX_TRY(get(v, "swappiness", path, &out->swappiness));
  NSBOX_TRY(get(v, "disableOOMKiller", path, &out->disable_oom_killer));
  NSBOX_TRY(get(v, "useHierarchy", path, &out->use_hierarchy));
  NSBOX_TRY(get(v, "checkBeforeUpdate", path, &out->check_before_update));
  NSBOX_TRY(check_bytes(out->limit, field_path(path, "limit")));
  NSBOX_TRY(check_bytes(out->reservation, field_path(path, "reservation")));
  NSBOX_TRY(check_bytes(out->swap, field_path(path, "swap")));
  if (out->swappiness && *out->swappiness > 100) {
    return path_error(field_path(path, "swappiness"), "must be between 0 and 100");
  }
  return {};
}

Status decode(const json& v, const std::string& path, CpuResources* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path,
                   {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod",
                    "cpus", "mems", "idle"});
  NSBOX_TRY(get(v, "shares", path, &out->shares));
  NSBOX_TRY(get(v, "quota", path, &out->quota));
  NSBOX_TRY(get(v, "burst", path, &out->burst));
  NSBOX_TRY(get(v, "period", path, &out->period));
  NSBOX_TRY(get(v, "realtimeRuntime", path, &out->realtime_runtime));
  NSBOX_TRY(get(v, "realtimePeriod", path, &out->realtime_period));
  NSBOX_TRY(get(v, "cpus", path, &out->cpus));
  NSBOX_TRY(get(v, "mems", path, &out->mems));
  NSBOX_TRY(get(v, "idle", path, &out->idle));
  if (out->quota && out->burst && *out->quota > 0 &&
      *out->burst > static_cast<uint64_t>(*out->quota)) {
    return path_error(field_path(path, "burst"), "must not be larger than quota");
  }
  if (out->idle && *out->idle != 0 && *out->idle != 1) {
    return path_error(field_path(path, "idle"), "must be 0 or 1");
  }
  return {};
}

Status decode(const json& v, const std::string& path, BlockIoWeightDevice* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "major", path, &out->major));
  NSBOX_TRY(get_required(v, "minor", path, &out->minor));
  NSBOX_TRY(get(v, "weight", path, &out->weight));
  NSBOX_TRY(get(v, "leafWeight", path, &out->leaf_weight));
  if (!out->weight && !out->leaf_weight) {
    return path_error(path, "needs weight or leafWeight");
  }
  return {};
}

Status decode(const json& v, const std::string& path, BlockIoThrottleDevice* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "major", path, &out->major));
  NSBOX_TRY(get_required(v, "minor", path, &out->minor));
  return get_required(v, "rate", path, &out->rate);
}

Status decode(const json& v, const std::string& path, BlockIoResources* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path,
                   {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                    "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"});
  NSBOX_TRY(get(v, "weight", path, &out->weight));
  NSBOX_TRY(get(v, "leafWeight", path, &out->leaf_weight));
  NSBOX_TRY(get(v, "weightDevice", path, &out->weight_device));
  NSBOX_TRY(get(v, "throttleReadBpsDevice", path, &out->throttle_read_bps));
  NSBOX_TRY(get(v, "throttleWriteBpsDevice", path, &out->throttle_write_bps));
  NSBOX_TRY(get(v, "throttleReadIOPSDevice", path, &out->throttle_read_iops));
  return get(v, "throttleWriteIOPSDevice", path, &out->throttle_write_iops);
}

Status decode(const json& v, const std::string& path, HugepageLimit* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "pageSize", path, &out->page_size));
  // The schema's pattern: ^[1-9][0-9]*[KMG]B$
  const std::string& ps = out->page_size;
  bool valid = ps.size() >= 3 && ps[0] >= '1' && ps[0] <= '9' && ps.back() == 'B' &&
               std::string_view("KMG").find(ps[ps.size() - 2]) != std::string_view::npos &&
               ps.find_first_not_of("0123456789") == ps.size() - 2;
  if (!valid) {
    return path_error(field_path(path, "pageSize"),
                      "invalid page size " + quote(out->page_size) + " (expected e.g. \"2MB\")");
  }
  return get_required(v, "limit", path, &out->limit);
}

Status decode(const json& v, const std::string& path, NetworkPriority* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "name", path, &out->name));
  return get_required(v, "priority", path, &out->priority);
}

Status decode(const json& v, const std::string& path, NetworkResources* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get(v, "classID", path, &out->class_id));
  return get(v, "priorities", path, &out->priorities);
}

Status decode(const json& v, const std::string& path, RdmaLimit* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get(v, "hcaHandles", path, &out->hca_handles));
  NSBOX_TRY(get(v, "hcaObjects", path, &out->hca_objects));
  if (!out->hca_handles && !out->hca_objects) {
    return path_error(path, "needs hcaHandles or hcaObjects");
  }
  return {};
}

Status decode(const json& v, const std::string& path, Resources* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path,
                   {"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network",
                    "rdma", "unified"});
  NSBOX_TRY(get(v, "devices", path, &out->devices));
  NSBOX_TRY(get(v, "memory", path, &out->memory));
  NSBOX_TRY(get(v, "cpu", path, &out->cpu));
  if (const json* pids = find_field(v, "pids")) {
    std::string pids_path = field_path(path, "pids");
    NSBOX_TRY(expect_object(*pids, pids_path));
    int64_t limit = 0;
    NSBOX_TRY(get_required(*pids, "limit", pids_path, &limit));
    if (limit < -1) return path_error(field_path(pids_path, "limit"), "must be -1 or more");
    out->pids_limit = limit;
  }
  NSBOX_TRY(get(v, "blockIO", path, &out->block_io));
  NSBOX_TRY(get(v, "hugepageLimits", path, &out->hugepage_limits));
  NSBOX_TRY(get(v, "network", path, &out->network));
  NSBOX_TRY(get(v, "rdma", path, &out->rdma));
  NSBOX_TRY(get(v, "unified", path, &out->unified));
  for (const auto& [key, value] : out->unified) {
    (void)value;
    bool bad = key.empty() || key.find('/') != std::string::npos || key == "." || key == ".." ||
               key.find('.') == std::string::npos;
    if (bad) {
      return path_error(field_path(field_path(path, "unified"), key),
                        "not a cgroup v2 control file name");
    }
  }
  return {};
}

Result<Resources> parse_resources(const std::string& json_text, const std::string& path) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error(path + ": invalid JSON");
  Resources r;
  try {
    NSBOX_TRY(decode(doc, path, &r));
  } catch (const std::exception& e) {  // not expected: decoders check types first
    return make_error(path + ": " + e.what());
  }
  return r;
}

}  // namespace nsbox::spec
