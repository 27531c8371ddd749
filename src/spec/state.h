// The OCI runtime state (schema/state-schema.json) printed by `nsbox state`.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

namespace nsbox::spec {

struct State {
  std::string oci_version = "1.3.0";
  std::string id;
  std::string status;  // "creating", "created", "running" or "stopped"
  pid_t pid = 0;       // omitted from the JSON when 0
  std::string bundle;
  std::map<std::string, std::string> annotations;  // omitted when empty
  // Additional properties runc reports (the spec allows them); omitted when empty.
  std::string rootfs;
  std::string created;  // RFC 3339
};

// pretty: 2-space indent; otherwise one line. No trailing newline. Never throws
// (invalid UTF-8 in strings is replaced with U+FFFD).
std::string state_to_json(const State& state, bool pretty);

}  // namespace nsbox::spec
