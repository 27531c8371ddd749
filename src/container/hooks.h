// OCI hooks: run one hook with the container state on its stdin, its own
// env (or none), and its timeout. Safe in the container init after clone.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::container {

// `phase` names the hook list for messages ("createRuntime").
Status run_hook(const spec::Hook& hook, const std::string& state_json, const char* phase,
                size_t index);
// Run each hook in order; stop at the first failure.
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& state_json,
                 const char* phase);
// Run every hook; failures are returned as warnings and the rest still run.
std::vector<std::string> run_hooks_warn(const std::vector<spec::Hook>& hooks,
                                        const std::string& state_json, const char* phase);

}  // namespace nsbox::container
