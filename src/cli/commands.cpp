// The verb table: one entry per file in src/cli/.
#include "cli/commands.h"

namespace nsbox::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      spec_command(),   create_command(), start_command(),  run_command(),   state_command(),
      kill_command(),   delete_command(), list_command(),   pause_command(), resume_command(),
      update_command(), ps_command(),     events_command(), stats_command(), features_command(),
      exec_command(),   ipcs_command(),   ns_command(),     enter_command(), sandbox_command(),
  };
  return kCommands;
}

}  // namespace nsbox::cli
