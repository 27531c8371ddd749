#include <cstdio>

#include "cli/commands.h"

namespace nsbox::cli {

namespace {

int run_state(const Global& g, const Parsed& p) {
  auto s = container::state(g.rt, p.positionals[0]);
  if (!s) return fail(s.error());
  std::printf("%s\n", spec::state_to_json(*s, true).c_str());
  return 0;
}

}  // namespace

Command state_command() {
  return {"state", "state ID", "Print the state of a container (JSON)", {}, run_state, 1, 1};
}

}  // namespace nsbox::cli
