// The OCI lifecycle on top of the modules: create, start, state, kill,
// delete, list, run. The CLI is a thin layer over these.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "container/store.h"
#include "spec/state.h"

namespace nsbox::container {

struct Runtime {
  std::string root = "/run/nsbox";
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  bool no_pivot = false;
  // Signal mask the container process starts with (run blocks signals in
  // the runtime to forward them); nullptr: the caller's current mask.
  const sigset_t* sigmask = nullptr;
};

// What `state` reports: the OCI state plus runc's rootfs and created.
using State = spec::State;

Result<pid_t> create(const Runtime& rt, const CreateOptions& opt);
Status start(const Runtime& rt, const std::string& id);
Result<State> state(const Runtime& rt, const std::string& id);
Status kill(const Runtime& rt, const std::string& id, int sig, bool all);
Status remove(const Runtime& rt, const std::string& id, bool force);  // `delete`
// `pause` (paused = true) freezes a running container; `resume` thaws a
// paused one. `state` then reports "paused".
Status set_paused(const Runtime& rt, const std::string& id, bool paused);
Result<std::vector<State>> list(const Runtime& rt);
// create + start + wait + delete. Returns the exit status for the shell
// (128+signal when killed). With detach: create + start, returns 0.
Result<int> run(const Runtime& rt, const CreateOptions& opt, bool detach);

}  // namespace nsbox::container
