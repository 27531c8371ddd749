#include "spec/json_decode.h"

#include <algorithm>

#include "common/log.h"

namespace nsbox::spec {

namespace {

bool is_identifier(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string field_path(const std::string& parent, std::string_view key) {
  std::string k = is_identifier(key) ? std::string(key) : quote(key);
  return parent.empty() ? k : parent + "." + k;
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

void log_unknown_keys(const json& obj, const std::string& path,
                      std::initializer_list<std::string_view> known) {
  if (!log::debug_enabled() || !obj.is_object()) return;
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      log::debug("config.json: ignoring unknown property " + field_path(path, key));
    }
  }
}

Error path_error(const std::string& path, std::string_view what) {
  return make_error(path + ": " + std::string(what));
}

const json* find_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

bool is_set(const json& v) {
  if (v.is_null()) return false;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  return true;
}

Status reject_if_set(const json& obj, const char* key, const std::string& parent) {
  const json* v = find_field(obj, key);
  if (v != nullptr && is_set(*v)) return path_error(field_path(parent, key), "not supported yet");
  return {};
}

Status expect_object(const json& v, const std::string& path) {
  if (!v.is_object()) return path_error(path, "expected object");
  return {};
}

Status expect_absolute(const std::string& value, const std::string& path) {
  if (value.empty() || value[0] != '/') return path_error(path, "must be an absolute path");
  return {};
}

Status decode(const json& v, const std::string& path, std::string* out) {
  if (!v.is_string()) return path_error(path, "expected string");
  *out = v.get<std::string>();
  // A NUL would silently cut the string where it reaches a system call.
  if (out->find('\0') != std::string::npos) return path_error(path, "contains a NUL character");
  return {};
}

Status decode(const json& v, const std::string& path, bool* out) {
  if (!v.is_boolean()) return path_error(path, "expected boolean");
  *out = v.get<bool>();
  return {};
}

}  // namespace nsbox::spec
