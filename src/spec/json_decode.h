// Internal to src/spec: typed, path-aware readers of nlohmann::json values.
// Every reader reports failures as "<json path>: <what>" and never throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.h"

namespace nsbox::spec {

using json = nlohmann::json;

// "a.b" for identifier-like keys, else "a.\"x.y\"" (JSON-quoted).
std::string field_path(const std::string& parent, std::string_view key);
// "a[3]"
std::string index_path(const std::string& parent, size_t index);
// JSON string literal of s (quoted and escaped), for error messages.
std::string quote(std::string_view s);
Error path_error(const std::string& path, std::string_view what);
// Unknown members of obj are ignored; with --debug each is logged by path.
void log_unknown_keys(const json& obj, const std::string& path,
                      std::initializer_list<std::string_view> known);

// Member of an object; nullptr when absent or null (null counts as absent).
const json* find_field(const json& obj, const char* key);
// True when v carries a value: not null, not an empty string/array/object.
bool is_set(const json& v);
// Error "<path>: not supported yet" when obj[key] is set.
Status reject_if_set(const json& obj, const char* key, const std::string& parent);

Status expect_object(const json& v, const std::string& path);
Status expect_absolute(const std::string& value, const std::string& path);

Status decode(const json& v, const std::string& path, std::string* out);
Status decode(const json& v, const std::string& path, bool* out);

// Integers, range-checked for T: "expected unsigned 32-bit integer", ...
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Status
    decode(const json& v, const std::string& path, T* out) {
  if (!v.is_number_integer()) return path_error(path, "expected integer");
  bool fits = v.is_number_unsigned() ? std::in_range<T>(v.get<uint64_t>())
                                     : std::in_range<T>(v.get<int64_t>());
  if (!fits) {
    std::string what = std::is_signed_v<T> ? "expected " : "expected unsigned ";
    return path_error(path, what + std::to_string(sizeof(T) * 8) + "-bit integer");
  }
  *out =
      v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
  return {};
}

template <typename T>
Status decode(const json& v, const std::string& path, std::optional<T>* out) {
  T value{};
  NSBOX_TRY(decode(v, path, &value));
  *out = std::move(value);
  return {};
}

template <typename T>
Status decode(const json& v, const std::string& path, std::vector<T>* out) {
  if (!v.is_array()) return path_error(path, "expected array");
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    T item{};
    NSBOX_TRY(decode(v[i], index_path(path, i), &item));
    out->push_back(std::move(item));
  }
  return {};
}

template <typename T>
Status decode(const json& v, const std::string& path, std::map<std::string, T>* out) {
  NSBOX_TRY(expect_object(v, path));
  out->clear();
  for (const auto& el : v.items()) {
    NSBOX_TRY(decode(el.value(), field_path(path, el.key()), &(*out)[el.key()]));
  }
  return {};
}

// Optional member: absent/null leaves *out untouched.
template <typename T>
Status get(const json& obj, const char* key, const std::string& parent, T* out) {
  const json* v = find_field(obj, key);
  if (v == nullptr) return {};
  return decode(*v, field_path(parent, key), out);
}

// Required member: absent/null is "<path>: required".
template <typename T>
Status get_required(const json& obj, const char* key, const std::string& parent, T* out) {
  const json* v = find_field(obj, key);
  if (v == nullptr) return path_error(field_path(parent, key), "required");
  return decode(*v, field_path(parent, key), out);
}

}  // namespace nsbox::spec
