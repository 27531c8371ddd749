// One benchmark measurement: runs K chains of commands concurrently (each
// chain its steps in order, the next step once the previous one exited 0),
// as a child subreaper so that container processes left behind by a runtime
// (the init after `create`) are reaped here too, and prints one JSON line:
//
//   {"ok":true,"wall_us":N,"chain_us":[...],"utime_us":N,"stime_us":N,
//    "maxrss_kib":N,"failures":[{"chain":K,"step":S,"status":"exit 1"}],
//    "orphans_left":false}
//
// CPU time and peak RSS are getrusage(RUSAGE_CHILDREN): every process of the
// runtime's tree that was waited for. A fresh measuring process per
// measurement keeps them to that measurement. The program is linked
// statically and allocates little, because a forked child starts with a copy
// of its parent's memory and that shows in ru_maxrss.
//
// Usage: nsbox_bench_measure [-j K] [-e ERRFILE] [-t REAP_MS] -i ID
//          --step ARGV... [--step ARGV...]
// "@ID@" in an argument becomes ID-k for chain k. Children get /dev/null as
// stdin and stdout and ERRFILE (appended; default /dev/null) as stderr.
// The step "@WAIT@ PIDFILE" waits for the process whose pid PIDFILE holds
// (a container init written by `create --pid-file`, adopted by us) to exit.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "check.h"

namespace {

using nsbench::check;
using Argv = std::vector<std::string>;

struct Options {
  int jobs = 1;
  const char* errfile = "/dev/null";
  long reap_ms = 2000;
  std::string id;
  std::vector<Argv> steps;
};

constexpr const char* kWaitStep = "@WAIT@";

struct Chain {
  std::vector<std::vector<char*>> steps;  // null-terminated argvs
  std::vector<Argv> storage;              // owns the strings
  size_t next = 0;                        // the step to run next
  pid_t pid = -1;                         // the running step's process
  pid_t waiting_for = -1;                 // the adopted process a wait step waits for
  bool done = false;
  long long end_us = 0;
  int failed_step = -1;
  std::string failure;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: nsbox_bench_measure [-j K] [-e ERRFILE] [-t REAP_MS] -i ID "
               "--step ARGV... [--step ARGV...]\n");
  std::exit(2);
}

void set_option(Options& o, const std::string& flag, const char* value) {
  if (flag == "-j") {
    o.jobs = std::atoi(value);
  } else if (flag == "-e") {
    o.errfile = value;
  } else if (flag == "-t") {
    o.reap_ms = std::atol(value);
  } else if (flag == "-i") {
    o.id = value;
  } else {
    usage();
  }
}

Options parse(int argc, char* argv[]) {
  Options o;
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--step"; i += 2) {
    if (i + 1 >= argc) usage();
    set_option(o, argv[i], argv[i + 1]);
  }
  for (; i < argc; ++i) {
    if (std::string(argv[i]) == "--step") {
      o.steps.emplace_back();
    } else {
      o.steps.back().emplace_back(argv[i]);
    }
  }
  if (o.jobs < 1 || o.id.empty() || o.steps.empty()) usage();
  for (const Argv& s : o.steps) {
    if (s.empty()) usage();
  }
  return o;
}

std::string substitute(std::string arg, const std::string& id) {
  for (size_t at = arg.find("@ID@"); at != std::string::npos;
       at = arg.find("@ID@", at + id.size())) {
    arg.replace(at, 4, id);
  }
  return arg;
}

// All argvs are built before the clock starts.
std::vector<Chain> make_chains(const Options& o) {
  std::vector<Chain> chains(static_cast<size_t>(o.jobs));
  for (size_t k = 0; k < chains.size(); ++k) {
    Chain& c = chains[k];
    std::string id = o.id + "-" + std::to_string(k);
    for (const Argv& step : o.steps) {
      Argv& args = c.storage.emplace_back();
      for (const std::string& a : step) args.push_back(substitute(a, id));
    }
    for (Argv& args : c.storage) {
      std::vector<char*>& ptrs = c.steps.emplace_back();
      for (std::string& a : args) ptrs.push_back(a.data());
      ptrs.push_back(nullptr);
    }
  }
  return chains;
}

long long now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

struct Stdio {
  int in, out, err;
};

pid_t spawn(char* const argv[], const Stdio& io) {
  pid_t pid = static_cast<pid_t>(check(::fork(), "fork"));
  if (pid == 0) {
    ::dup2(io.in, 0);
    ::dup2(io.out, 1);
    ::dup2(io.err, 2);
    ::execvp(argv[0], argv);
    nsbench::die(argv[0]);
  }
  return pid;
}

pid_t read_pid(const char* path) {
  char buf[32] = {};
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 ? static_cast<pid_t>(std::atol(buf)) : -1;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "signal " + std::to_string(WTERMSIG(status));
}

// Runs the chains: every exited process is either a chain's step or one a
// runtime left behind (adopted, as we are a subreaper).
class Runner {
 public:
  Runner(std::vector<Chain>& chains, const Stdio& io) : chains_(chains), io_(io) {}

  void run() {
    running_ = chains_.size();
    for (Chain& c : chains_) proceed(c);
    while (running_ > 0) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0 && errno == EINTR) continue;
      on_exit(static_cast<pid_t>(check(pid, "waitpid")), status);
    }
  }

 private:
  void on_exit(pid_t pid, int status) {
    for (Chain& c : chains_) {
      if (c.done || c.pid != pid) continue;
      c.pid = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ++c.next;
        proceed(c);
      } else {
        fail(c, describe(status));
      }
      return;
    }
    adopted_.push_back(pid);
    for (Chain& c : chains_) {
      if (c.done || c.waiting_for != pid) continue;
      c.waiting_for = -1;
      ++c.next;
      proceed(c);
    }
  }

  // Starts the chain's next step, or finishes the chain.
  void proceed(Chain& c) {
    for (; c.next < c.steps.size(); ++c.next) {
      char* const* argv = c.steps[c.next].data();
      if (std::string(argv[0]) != kWaitStep) {
        c.pid = spawn(argv, io_);
        return;
      }
      pid_t pid = argv[1] ? read_pid(argv[1]) : -1;
      if (pid <= 0) return fail(c, "no pid in the pid file");
      if (!was_adopted(pid)) {
        c.waiting_for = pid;
        return;
      }
    }
    finish(c);
  }

  bool was_adopted(pid_t pid) const {
    for (pid_t p : adopted_) {
      if (p == pid) return true;
    }
    return false;
  }

  void fail(Chain& c, std::string why) {
    c.failed_step = static_cast<int>(c.next);
    c.failure = std::move(why);
    finish(c);
  }

  void finish(Chain& c) {
    c.done = true;
    c.end_us = now_us();
    --running_;
  }

  std::vector<Chain>& chains_;
  const Stdio& io_;
  std::vector<pid_t> adopted_;
  size_t running_ = 0;
};

// Waits up to `ms` for adopted processes (container inits) to exit.
// Returns whether some are still running.
bool reap_orphans(long ms) {
  long long deadline = now_us() + ms * 1000;
  for (;;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) continue;
    if (pid < 0) return false;  // ECHILD: none left
    if (now_us() > deadline) return true;
    ::usleep(1000);
  }
}

long long tv_us(const timeval& tv) {
  return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

void print_result(const std::vector<Chain>& chains, long long start_us, long long end_us,
                  bool orphans_left) {
  rusage ru{};
  check(::getrusage(RUSAGE_CHILDREN, &ru), "getrusage");
  std::string chain_us, failures;
  for (size_t k = 0; k < chains.size(); ++k) {
    const Chain& c = chains[k];
    chain_us += (k ? "," : "") + std::to_string(c.end_us - start_us);
    if (c.failed_step < 0) continue;
    failures += std::string(failures.empty() ? "" : ",") + "{\"chain\":" + std::to_string(k) +
                ",\"step\":" + std::to_string(c.failed_step) + ",\"status\":\"" + c.failure + "\"}";
  }
  std::printf(
      "{\"ok\":%s,\"wall_us\":%lld,\"chain_us\":[%s],\"utime_us\":%lld,\"stime_us\":%lld,"
      "\"maxrss_kib\":%ld,\"failures\":[%s],\"orphans_left\":%s}\n",
      failures.empty() ? "true" : "false", end_us - start_us, chain_us.c_str(), tv_us(ru.ru_utime),
      tv_us(ru.ru_stime), ru.ru_maxrss, failures.c_str(), orphans_left ? "true" : "false");
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o = parse(argc, argv);
  std::vector<Chain> chains = make_chains(o);
  check(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER");
  int null_fd = static_cast<int>(check(::open("/dev/null", O_RDWR | O_CLOEXEC), "/dev/null"));
  int err_fd = static_cast<int>(
      check(::open(o.errfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), o.errfile));
  Stdio io{null_fd, null_fd, err_fd};

  long long start = now_us();
  Runner(chains, io).run();
  long long end = now_us();
  bool orphans_left = reap_orphans(o.reap_ms);
  print_result(chains, start, end, orphans_left);
  return 0;
}
