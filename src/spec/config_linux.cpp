// Decoding of the "linux" section.
#include <string_view>

#include "spec/config_decode.h"

namespace nsbox::spec {

namespace {

// Set in the schema, but nsbox cannot apply them yet.
constexpr const char* kUnsupportedLinuxFields[] = {"netDevices", "memoryPolicy"};
constexpr std::string_view kPropagations[] = {
    "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};

bool contains(std::string_view chars, char c) { return chars.find(c) != std::string_view::npos; }

}  // namespace

Status decode(const json& v, const std::string& path, Namespace* out) {
  NSBOX_TRY(expect_object(v, path));
  std::string type;
  NSBOX_TRY(get_required(v, "type", path, &type));
  auto t = ns_type_from_name(type);
  if (!t) return path_error(field_path(path, "type"), "unknown namespace type " + quote(type));
  out->type = *t;
  NSBOX_TRY(get(v, "path", path, &out->path));
  if (!out->path.empty()) NSBOX_TRY(expect_absolute(out->path, field_path(path, "path")));
  return {};
}

Status decode(const json& v, const std::string& path, IdMapping* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "containerID", path, &out->container_id));
  NSBOX_TRY(get_required(v, "hostID", path, &out->host_id));
  return get_required(v, "size", path, &out->size);
}

Status decode(const json& v, const std::string& path, TimeOffset* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get(v, "secs", path, &out->secs));
  NSBOX_TRY(get(v, "nanosecs", path, &out->nanosecs));
  if (out->nanosecs >= 1000000000u) {
    return path_error(field_path(path, "nanosecs"), "must be less than 1000000000");
  }
  return {};
}

Status decode(const json& v, const std::string& path, Device* out) {
  NSBOX_TRY(expect_object(v, path));
  std::string type;
  NSBOX_TRY(get_required(v, "type", path, &type));
  if (type.size() != 1 || !contains("cbup", type[0])) {
    return path_error(field_path(path, "type"), "unknown device type " + quote(type));
  }
  out->type = type[0];
  NSBOX_TRY(get_required(v, "path", path, &out->path));
  NSBOX_TRY(expect_absolute(out->path, field_path(path, "path")));
  if (out->type != 'p') {
    NSBOX_TRY(get_required(v, "major", path, &out->major));
    NSBOX_TRY(get_required(v, "minor", path, &out->minor));
  }
  NSBOX_TRY(get(v, "fileMode", path, &out->file_mode));
  NSBOX_TRY(get(v, "uid", path, &out->uid));
  return get(v, "gid", path, &out->gid);
}

Status decode(const json& v, const std::string& path, DeviceRule* out) {
  NSBOX_TRY(expect_object(v, path));
  NSBOX_TRY(get_required(v, "allow", path, &out->allow));
  NSBOX_TRY(get(v, "type", path, &out->type));
  if (out->type.size() > 1 || (out->type.size() == 1 && !contains("abc", out->type[0]))) {
    return path_error(field_path(path, "type"), "unknown device type " + quote(out->type));
  }
  NSBOX_TRY(get(v, "major", path, &out->major));
  NSBOX_TRY(get(v, "minor", path, &out->minor));
  NSBOX_TRY(get(v, "access", path, &out->access));
  for (char c : out->access) {
    if (!contains("rwm", c)) {
      return path_error(field_path(path, "access"), "invalid access " + quote(out->access));
    }
  }
  return {};
}

namespace {

Status decode_namespaces(const json& v, const std::string& path, Linux* out) {
  std::string ns_path = field_path(path, "namespaces");
  NSBOX_TRY(get(v, "namespaces", path, &out->namespaces));
  bool seen[kNsTypeCount] = {};
  for (const auto& ns : out->namespaces) {
    bool& s = seen[static_cast<int>(ns.type)];
    if (s)
      return path_error(ns_path,
                        std::string("duplicate namespace ") + quote(ns_type_name(ns.type)));
    s = true;
  }
  NSBOX_TRY(get(v, "uidMappings", path, &out->uid_mappings));
  return get(v, "gidMappings", path, &out->gid_mappings);
}

Status decode_time_offsets(const json& v, const std::string& path, Linux* out) {
  const json* offsets = find_field(v, "timeOffsets");
  if (offsets == nullptr) return {};
  std::string to_path = field_path(path, "timeOffsets");
  NSBOX_TRY(expect_object(*offsets, to_path));
  for (const auto& el : offsets->items()) {
    if (el.key() != "monotonic" && el.key() != "boottime") {
      return path_error(field_path(to_path, el.key()),
                        "unknown clock (expected \"monotonic\" or \"boottime\")");
    }
  }
  return decode(*offsets, to_path, &out->time_offsets);
}

Status decode_filesystem(const json& v, const std::string& path, Linux* out) {
  NSBOX_TRY(get(v, "devices", path, &out->devices));
  NSBOX_TRY(get(v, "rootfsPropagation", path, &out->rootfs_propagation));
  bool known = false;
  for (auto p : kPropagations) known = known || p == out->rootfs_propagation;
  if (!known) {
    return path_error(field_path(path, "rootfsPropagation"),
                      "unknown propagation " + quote(out->rootfs_propagation));
  }
  NSBOX_TRY(get(v, "maskedPaths", path, &out->masked_paths));
  NSBOX_TRY(get(v, "readonlyPaths", path, &out->readonly_paths));
  return get(v, "mountLabel", path, &out->mount_label);
}

}  // namespace

Status decode(const json& v, const std::string& path, Linux* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(
      v, path,
      {"namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "netDevices",
       "cgroupsPath", "rootfsPropagation", "resources", "sysctl", "seccomp", "maskedPaths",
       "readonlyPaths", "mountLabel", "intelRdt", "personality", "memoryPolicy"});
  NSBOX_TRY(decode_namespaces(v, path, out));
  NSBOX_TRY(decode_time_offsets(v, path, out));
  NSBOX_TRY(decode_filesystem(v, path, out));
  NSBOX_TRY(get(v, "cgroupsPath", path, &out->cgroups_path));
  NSBOX_TRY(get(v, "resources", path, &out->resources));
  NSBOX_TRY(get(v, "sysctl", path, &out->sysctl));
  NSBOX_TRY(get(v, "seccomp", path, &out->seccomp));
  NSBOX_TRY(get(v, "personality", path, &out->personality));
  // As runc: any intelRdt object (even {}) asks for resctrl; its contents are
  // not applied yet (see spec::validate_config).
  if (const json* rdt = find_field(v, "intelRdt")) {
    NSBOX_TRY(expect_object(*rdt, field_path(path, "intelRdt")));
    out->has_intel_rdt = true;
  }
  for (const char* key : kUnsupportedLinuxFields) NSBOX_TRY(reject_if_set(v, key, path));
  return {};
}

}  // namespace nsbox::spec
