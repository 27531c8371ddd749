#pragma once

#include "cli/args.h"

namespace nsbox::cli {

Command spec_command();
Command create_command();
Command start_command();
Command run_command();
Command state_command();
Command kill_command();
Command delete_command();
Command list_command();
Command pause_command();   // pause.cpp
Command resume_command();  // pause.cpp
Command update_command();
Command ps_command();
Command events_command();
Command stats_command();
Command features_command();
Command exec_command();
Command ipcs_command();     // ipcs.cpp
Command ns_command();       // ns.cpp
Command enter_command();    // enter.cpp
Command sandbox_command();  // sandbox.cpp

// Flags shared by create and run.
std::vector<Flag> create_flags();
Result<container::CreateOptions> create_options(const Parsed& p);

}  // namespace nsbox::cli
