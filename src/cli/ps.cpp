// `ps ID [PS OPTIONS]`: the processes in the container. As in runc, the
// table comes from ps(1) (default options -ef) filtered to the container's
// pids by the PID column; --format json prints the pids as a JSON array.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/fd.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

// Run argv (PATH lookup) and return its standard output.
Result<std::string> capture(std::vector<std::string> argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe");
  UniqueFd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  auto cargv = c_strings(argv);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return make_error("run " + argv[0] + ": " + std::strerror(err), err);
  wr.reset();
  auto out = read_all(rd.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!out) return std::move(out).error();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(argv[0] + " failed (exit status " + std::to_string(WEXITSTATUS(status)) +
                      ")");
  }
  return out;
}

int print_table(const std::vector<pid_t>& pids, const std::vector<std::string>& ps_args) {
  std::vector<std::string> argv = {"ps"};
  if (ps_args.empty()) {
    argv.emplace_back("-ef");
  } else {
    argv.insert(argv.end(), ps_args.begin(), ps_args.end());
  }
  auto out = capture(argv);
  if (!out) return fail(out.error());
  auto lines = split(*out, '\n');
  if (lines.empty()) return fail(make_error("ps printed nothing"));
  auto header = split(lines[0], ' ');
  header.erase(std::remove(header.begin(), header.end(), ""), header.end());
  auto col = std::find(header.begin(), header.end(), "PID");
  if (col == header.end()) return fail(make_error("ps output has no PID column"));
  size_t pid_col = static_cast<size_t>(col - header.begin());
  std::printf("%s\n", lines[0].c_str());
  for (size_t i = 1; i < lines.size(); ++i) {
    auto fields = split(lines[i], ' ');
    fields.erase(std::remove(fields.begin(), fields.end(), ""), fields.end());
    long long pid = 0;
    if (fields.size() <= pid_col || !parse_int64(fields[pid_col], &pid)) continue;
    if (std::binary_search(pids.begin(), pids.end(), static_cast<pid_t>(pid))) {
      std::printf("%s\n", lines[i].c_str());
    }
  }
  return 0;
}

int run_ps(const Global& g, const Parsed& p) {
  std::string format = p.get("format", "table");
  if (format != "table" && format != "json") {
    return fail(make_error("--format: expected table or json, got " + nsbox::quoted(format)));
  }
  auto pids = container::pids(g.rt, p.positionals[0]);
  if (!pids) return fail(pids.error());
  std::vector<std::string> ps_args(p.positionals.begin() + 1, p.positionals.end());
  if (format == "json") {
    if (!ps_args.empty()) return fail(make_error("ps options cannot be used with --format json"));
    std::printf("%s\n", nlohmann::json(*pids).dump().c_str());
    return 0;
  }
  return print_table(*pids, ps_args);
}

}  // namespace

Command ps_command() {
  Command c{"ps",
            "ps [OPTIONS] ID [PS OPTIONS]",
            "List the processes in a container (ps -ef, or the given ps options)",
            {{"format", "f", true, "table or json"}},
            run_ps,
            1,
            SIZE_MAX};
  c.flags_until = 1;
  return c;
}

}  // namespace nsbox::cli
