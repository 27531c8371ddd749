// Internal to src/spec: decoders of the config.json sections into the typed
// structs of config.h. Paths in errors are rooted at the config document.
#pragma once

#include <string>

#include "spec/config.h"
#include "spec/json_decode.h"

namespace nsbox::spec {

Status decode(const json& v, const std::string& path, Process* out);
Status decode(const json& v, const std::string& path, Linux* out);
Status decode(const json& v, const std::string& path, Hooks* out);
Status decode(const json& v, const std::string& path, DeviceRule* out);
Status decode(const json& v, const std::string& path, Resources* out);

// RLIMIT_* value for "RLIMIT_NOFILE", ...; -1 when unknown.
int rlimit_from_name(const std::string& name);

}  // namespace nsbox::spec
