// nsbox: a thin CLI over libnsbox. Global flags, then a verb.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/args.h"
#include "common/log.h"

namespace {

using nsbox::cli::Flag;

const std::vector<Flag>& global_flags() {
  static const std::vector<Flag> kFlags = {
      {"root", "", true, "state directory (default /run/nsbox)"},
      {"log", "", true, "log file (default stderr)"},
      {"log-format", "", true, "text or json"},
      {"debug", "", false, "debug logging"},
      {"systemd-cgroup", "", false, "use the systemd cgroup driver (not supported yet)"},
      {"rootless", "", true, "true, false or auto"},
      {"criu", "", true, "accepted for runc compatibility; unused"},
      {"help", "h", false, "show help"},
      {"version", "v", false, "print the version"},
  };
  return kFlags;
}

void print_usage() {
  std::printf(
      "nsbox %s - an OCI container runtime\n\nUsage: nsbox [GLOBAL OPTIONS] COMMAND [OPTIONS] "
      "[ARGS]\n\nCommands:\n",
      NSBOX_VERSION);
  for (const auto& c : nsbox::cli::commands()) std::printf("  %-8s %s\n", c.name, c.summary);
  std::printf("\nGlobal options:\n");
  for (const auto& f : global_flags()) {
    std::printf("  --%-20s %s\n", (f.name + (f.takes_value ? " VALUE" : "")).c_str(),
                f.help.c_str());
  }
}

// Split argv at the verb: global flags come before it.
size_t find_verb(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a.empty() || a[0] != '-') return i;
    std::string name = a.substr(a.find_first_not_of('-'));
    if (name.find('=') != std::string::npos) continue;
    for (const auto& f : global_flags()) {
      if (f.name == name && f.takes_value) ++i;
    }
  }
  return args.size();
}

int nsbox_main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t verb_at = find_verb(args);
  std::vector<std::string> gargs(args.begin(), args.begin() + static_cast<long>(verb_at));
  auto g = nsbox::cli::parse_flags(gargs, global_flags());
  if (!g) {
    std::fprintf(stderr, "nsbox: %s\n", g.error().msg.c_str());
    return 2;
  }
  auto fmt = g->get("log-format", "text");
  if (fmt != "text" && fmt != "json") {
    std::fprintf(stderr, "nsbox: --log-format: expected text or json, got \"%s\"\n", fmt.c_str());
    return 2;
  }
  // As runc: a --log file that cannot be opened fails the command (an engine
  // reading that file would find no reason otherwise).
  if (auto l = nsbox::log::open(
          g->get("log"), fmt == "json" ? nsbox::log::Format::kJson : nsbox::log::Format::kText,
          g->has("debug"));
      !l) {
    return nsbox::cli::fail(l.error());
  }
  if (g->has("version")) {
    std::printf("nsbox version %s\nspec: 1.3.0\n", NSBOX_VERSION);
    return 0;
  }
  if (verb_at == args.size() || g->has("help")) {
    print_usage();
    return verb_at == args.size() && !g->has("help") ? 2 : 0;
  }
  // An engine may spell the default out (--systemd-cgroup=false): only asking
  // for the driver where cgroups are made is an error. containerd's shim
  // passes the flag on every call when SystemdCgroup is set: state, kill and
  // delete of existing containers still work.
  auto systemd = nsbox::cli::flag_bool(*g, "systemd-cgroup");
  if (!systemd) return nsbox::cli::fail(systemd.error());
  const std::string& verb = args[verb_at];
  if (*systemd && (verb == "create" || verb == "run" || verb == "sandbox")) {
    return nsbox::cli::fail(
        nsbox::make_error("--systemd-cgroup: the systemd cgroup driver is not supported yet"));
  }
  if (auto r = g->get("rootless", "auto"); r != "auto" && r != "true" && r != "false") {
    return nsbox::cli::fail(nsbox::make_error("--rootless: expected true, false or auto"));
  }
  nsbox::cli::Global global;
  global.rt.root = g->get("root", "/run/nsbox");
  for (const auto& c : nsbox::cli::commands()) {
    if (verb != c.name) continue;
    std::vector<Flag> flags = c.flags;
    flags.push_back({"help", "h", false, "show help"});
    std::vector<std::string> rest(args.begin() + static_cast<long>(verb_at) + 1, args.end());
    auto p = nsbox::cli::parse_flags(rest, flags, c.flags_until);
    if (!p) return nsbox::cli::fail(p.error());
    if (p->has("help")) {
      nsbox::cli::print_help(c);
      return 0;
    }
    if (p->positionals.size() < c.min_args || p->positionals.size() > c.max_args) {
      std::fprintf(stderr, "nsbox: %s: wrong number of arguments\nUsage: nsbox %s\n", c.name,
                   c.usage);
      return 2;
    }
    return c.run(global, *p);
  }
  std::fprintf(stderr, "nsbox: unknown command \"%s\" (see nsbox --help)\n", verb.c_str());
  return 2;
}

}  // namespace

// The library reports errors as values; what can still throw is the
// standard library (bad_alloc): a one-line error, not an abort.
int main(int argc, char** argv) {
  try {
    return nsbox_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsbox: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "nsbox: unexpected exception\n");
  }
  return 1;
}
