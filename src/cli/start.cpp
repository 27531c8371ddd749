#include "cli/commands.h"

namespace nsbox::cli {

namespace {

int run_start(const Global& g, const Parsed& p) {
  if (auto r = container::start(g.rt, p.positionals[0]); !r) return fail(r.error());
  return 0;
}

}  // namespace

Command start_command() {
  return {"start", "start ID", "Run the user's program in a created container", {}, run_start,
          1,       1};
}

}  // namespace nsbox::cli
