#include "cli/commands.h"

namespace nsbox::cli {

namespace {

int run_run(const Global& g, const Parsed& p) {
  auto opt = create_options(p);
  if (!opt) return fail(opt.error());
  auto status = container::run(g.rt, *opt, p.has("detach"));
  if (!status) return fail(status.error());
  return *status;
}

}  // namespace

Command run_command() {
  auto flags = create_flags();
  flags.push_back({"detach", "d", false, "return after start instead of waiting"});
  return {"run",
          "run [OPTIONS] ID",
          "Create, start, wait for and delete a container; exits with its status",
          flags,
          run_run,
          1,
          1};
}

}  // namespace nsbox::cli
