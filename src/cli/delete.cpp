#include "cli/commands.h"

namespace nsbox::cli {

namespace {

int run_delete(const Global& g, const Parsed& p) {
  auto force = flag_bool(p, "force");
  if (!force) return fail(force.error());
  if (auto r = container::remove(g.rt, p.positionals[0], *force); !r) return fail(r.error());
  return 0;
}

}  // namespace

Command delete_command() {
  return {"delete",
          "delete [OPTIONS] ID",
          "Delete a stopped or created container and everything it holds",
          {{"force", "f", false, "kill a running container first; an unknown ID is not an error"}},
          run_delete,
          1,
          1};
}

}  // namespace nsbox::cli
