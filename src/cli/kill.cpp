#include <csignal>

#include "cli/commands.h"
#include "security/signals.h"

namespace nsbox::cli {

namespace {

int run_kill(const Global& g, const Parsed& p) {
  std::string name = p.positionals.size() > 1 ? p.positionals[1] : "SIGTERM";
  auto sig = security::parse_signal(name);
  if (!sig) return fail(make_error("invalid signal \"" + name + "\""));
  auto all = flag_bool(p, "all");
  if (!all) return fail(all.error());
  if (auto r = container::kill(g.rt, p.positionals[0], *sig, *all); !r) return fail(r.error());
  return 0;
}

}  // namespace

Command kill_command() {
  return {"kill",
          "kill [OPTIONS] ID [SIGNAL]",
          "Send a signal (default SIGTERM; name with or without SIG, or number) to the container",
          {{"all", "a", false, "signal every process in the container"}},
          run_kill,
          1,
          2};
}

}  // namespace nsbox::cli
