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
// config_attrs.cpp
Status decode(const json& v, const std::string& path, IoPriority* out);
Status decode(const json& v, const std::string& path, Scheduler* out);
Status decode(const json& v, const std::string& path, Personality* out);
// config_seccomp.cpp
Status decode(const json& v, const std::string& path, Seccomp* out);

// RLIMIT_* value for "RLIMIT_NOFILE", ...; -1 when unknown.
int rlimit_from_name(const std::string& name);

}  // namespace nsbox::spec
