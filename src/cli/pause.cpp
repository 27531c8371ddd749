#include "cli/commands.h"

namespace nsbox::cli {

namespace {

int run_pause(const Global& g, const Parsed& p) {
  if (auto r = container::set_paused(g.rt, p.positionals[0], true); !r) return fail(r.error());
  return 0;
}

int run_resume(const Global& g, const Parsed& p) {
  if (auto r = container::set_paused(g.rt, p.positionals[0], false); !r) return fail(r.error());
  return 0;
}

}  // namespace

Command pause_command() {
  return {"pause", "pause ID", "Freeze every process of a running container", {}, run_pause, 1, 1};
}

Command resume_command() {
  return {"resume", "resume ID", "Thaw a paused container", {}, run_resume, 1, 1};
}

}  // namespace nsbox::cli
