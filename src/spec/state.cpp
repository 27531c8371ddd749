#include "spec/state.h"

#include <nlohmann/json.hpp>

namespace nsbox::spec {

std::string state_to_json(const State& state, bool pretty) {
  nlohmann::ordered_json j = {
      {"ociVersion", state.oci_version},
      {"id", state.id},
      {"status", state.status},
  };
  if (state.pid > 0) j["pid"] = state.pid;
  j["bundle"] = state.bundle;
  if (!state.annotations.empty()) j["annotations"] = state.annotations;
  if (!state.rootfs.empty()) j["rootfs"] = state.rootfs;
  if (!state.created.empty()) j["created"] = state.created;
  return j.dump(pretty ? 2 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace nsbox::spec
