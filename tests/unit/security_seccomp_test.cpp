// Unit tests for src/security/seccomp: filters built from spec::Seccomp are
// loaded in forked children (with no_new_privs), which report what the
// kernel did to their system calls.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "security/seccomp.h"

namespace nsbox::security {
namespace {

spec::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                          std::optional<uint32_t> errno_ret = std::nullopt,
                          std::vector<spec::SeccompArg> args = {}) {
  spec::SeccompSyscall r;
  r.names = std::move(names);
  r.action = std::move(action);
  r.errno_ret = errno_ret;
  r.args = std::move(args);
  return r;
}

spec::SeccompArg arg(uint32_t index, uint64_t value, std::string op, uint64_t value_two = 0) {
  spec::SeccompArg a;
  a.index = index;
  a.value = value;
  a.value_two = value_two;
  a.op = std::move(op);
  return a;
}

// errno of a failed call, 0 on success.
int err_of(long rc) { return rc < 0 ? errno : 0; }

// Load `f` in a forked child, run `fn` there and return its wait status as
// a shell would: the exit code, or 128 + the signal that killed it.
int run_filtered(const SeccompFilter& f, const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(201);
    auto listener = load_seccomp(f);
    if (!listener) ::_exit(202);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

SeccompFilter build_ok(const spec::Seccomp& cfg) {
  auto f = build_seccomp(cfg);
  EXPECT_TRUE(f.ok()) << f.error().msg;
  return f.ok() ? std::move(*f) : SeccompFilter{};
}

std::string build_error(const spec::Seccomp& cfg) {
  auto f = build_seccomp(cfg);
  return f.ok() ? "<ok>" : f.error().msg;
}

TEST(SecuritySeccomp, ErrnoRuleAndUnknownNames) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.syscalls = {rule({"no_such_syscall", "mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", ENOSYS),
                  rule({"rmdir"}, "SCMP_ACT_ERRNO")};
  auto f = build_ok(cfg);
  EXPECT_FALSE(f.notify);
  EXPECT_EQ(f.flags, 0u);
  EXPECT_FALSE(f.program.empty());
  EXPECT_EQ(run_filtered(f,
                         [] {
                           if (err_of(::mkdir("/proc/nsbox-x", 0700)) != ENOSYS) return 1;
                           if (err_of(::rmdir("/proc/nsbox-x")) != EPERM) return 2;  // no errnoRet
                           if (::getpid() <= 0) return 3;
                           return 0;
                         }),
            0);
}

TEST(SecuritySeccomp, DefaultErrnoRet) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ERRNO";
  cfg.default_errno_ret = EXDEV;
  cfg.syscalls = {rule({"exit", "exit_group"}, "SCMP_ACT_ALLOW")};
  EXPECT_EQ(run_filtered(build_ok(cfg), [] { return err_of(::syscall(SYS_getppid)); }), EXDEV);
  cfg.default_errno_ret.reset();
  EXPECT_EQ(run_filtered(build_ok(cfg), [] { return err_of(::syscall(SYS_getppid)); }), EPERM);
}

TEST(SecuritySeccomp, KillAndTrapEndInSigsys) {
  for (const char* action :
       {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"}) {
    spec::Seccomp cfg;
    cfg.default_action = "SCMP_ACT_ALLOW";
    cfg.syscalls = {rule({"getppid"}, action)};
    EXPECT_EQ(run_filtered(build_ok(cfg), [] { return err_of(::syscall(SYS_getppid)) + 10; }),
              128 + SIGSYS)
        << action;
  }
}

TEST(SecuritySeccomp, TraceWithoutTracerIsEnosys) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.syscalls = {rule({"getppid"}, "SCMP_ACT_TRACE", 7)};
  EXPECT_EQ(run_filtered(build_ok(cfg), [] { return err_of(::syscall(SYS_getppid)); }), ENOSYS);
}

TEST(SecuritySeccomp, LogDefaultAllows) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_LOG";
  cfg.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", ENOTTY)};
  EXPECT_EQ(run_filtered(build_ok(cfg),
                         [] {
                           if (::getpid() <= 0) return 1;
                           return err_of(::syscall(SYS_getppid));
                         }),
            ENOTTY);
}

TEST(SecuritySeccomp, RuleWithTheDefaultActionIsSkipped) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ERRNO";
  cfg.syscalls = {rule({"exit", "exit_group"}, "SCMP_ACT_ALLOW"),
                  rule({"getppid"}, "SCMP_ACT_ERRNO", EPERM),  // = the default: skipped
                  rule({"getpid"}, "SCMP_ACT_ERRNO", EBADF)};  // another errno: kept
  auto f = build_ok(cfg);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::syscall(SYS_getppid)); }), EPERM);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::syscall(SYS_getpid)); }), EBADF);
}

// Conditions on distinct indexes must all match (one rule)...
TEST(SecuritySeccomp, ArgsOnDistinctIndexesAllMatch) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.syscalls = {rule({"getpriority"}, "SCMP_ACT_ERRNO", EDOM,
                       {arg(0, PRIO_PGRP, "SCMP_CMP_EQ"), arg(1, 4242, "SCMP_CMP_EQ")})};
  auto f = build_ok(cfg);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::syscall(SYS_getpriority, PRIO_PGRP, 4242)); }),
            EDOM);
  EXPECT_NE(run_filtered(f, [] { return err_of(::syscall(SYS_getpriority, PRIO_PGRP, 4243)); }),
            EDOM);
  EXPECT_NE(run_filtered(f, [] { return err_of(::syscall(SYS_getpriority, PRIO_USER, 4242)); }),
            EDOM);
}

// ... conditions repeating an index are alternatives (one rule each), as runc.
TEST(SecuritySeccomp, ArgsOnOneIndexAreAlternatives) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.syscalls = {rule({"kill"}, "SCMP_ACT_ERRNO", EDOM,
                       {arg(1, SIGUSR1, "SCMP_CMP_EQ"), arg(1, SIGUSR2, "SCMP_CMP_EQ")})};
  auto f = build_ok(cfg);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::kill(::getpid(), SIGUSR1)); }), EDOM);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::kill(::getpid(), SIGUSR2)); }), EDOM);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::kill(::getpid(), 0)); }), 0);
}

TEST(SecuritySeccomp, ComparisonOperators) {
  struct Case {
    const char* op;
    uint64_t value, value_two;
    int blocked_below, blocked_at, blocked_above;  // getpriority(which = 1, 2, 3) hits
  };
  // getpriority(which, 0): PRIO_PROCESS 0, PRIO_PGRP 1, PRIO_USER 2.
  for (const Case& c : {Case{"SCMP_CMP_NE", 1, 0, 1, 0, 1}, Case{"SCMP_CMP_LT", 1, 0, 1, 0, 0},
                        Case{"SCMP_CMP_LE", 1, 0, 1, 1, 0}, Case{"SCMP_CMP_EQ", 1, 0, 0, 1, 0},
                        Case{"SCMP_CMP_GE", 1, 0, 0, 1, 1}, Case{"SCMP_CMP_GT", 1, 0, 0, 0, 1},
                        Case{"SCMP_CMP_MASKED_EQ", 2, 2, 0, 0, 1}}) {
    spec::Seccomp cfg;
    cfg.default_action = "SCMP_ACT_ALLOW";
    cfg.syscalls = {
        rule({"getpriority"}, "SCMP_ACT_ERRNO", EDOM, {arg(0, c.value, c.op, c.value_two)})};
    auto f = build_ok(cfg);
    int hits[3];
    for (int which = 0; which < 3; ++which) {
      hits[which] =
          run_filtered(f, [which] { return err_of(::syscall(SYS_getpriority, which, 0)); }) == EDOM;
    }
    EXPECT_EQ(hits[0], c.blocked_below) << c.op;
    EXPECT_EQ(hits[1], c.blocked_at) << c.op;
    EXPECT_EQ(hits[2], c.blocked_above) << c.op;
  }
}

TEST(SecuritySeccomp, Architectures) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  cfg.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", ENOSYS)};
  auto multi = build_ok(cfg);
  cfg.architectures.clear();
  auto native = build_ok(cfg);
  // Every architecture gets its own section of the program.
  EXPECT_GT(multi.program.size(), native.program.size());
  EXPECT_EQ(run_filtered(multi, [] { return err_of(::syscall(SYS_getppid)); }), ENOSYS);
}

TEST(SecuritySeccomp, Flags) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
               "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  cfg.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", ENOSYS)};
  auto f = build_ok(cfg);
  // Without a listener WAIT_KILLABLE_RECV has no meaning: dropped.
  EXPECT_EQ(f.flags,
            SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  EXPECT_EQ(run_filtered(f, [] { return err_of(::syscall(SYS_getppid)); }), ENOSYS);

  cfg.listener_path = "/run/agent.sock";
  cfg.syscalls.push_back(rule({"mkdir"}, "SCMP_ACT_NOTIFY"));
  auto n = build_ok(cfg);
  EXPECT_TRUE(n.notify);
  EXPECT_EQ(n.flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                         SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV |
                         SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
  // The kernel takes the whole set (mkdir, the notify rule, is not called).
  EXPECT_EQ(run_filtered(n, [] { return err_of(::syscall(SYS_getppid)); }), ENOSYS);
}

TEST(SecuritySeccomp, NotifyListener) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.listener_path = "/run/agent.sock";
  cfg.syscalls = {rule({"getppid"}, "SCMP_ACT_NOTIFY")};
  auto f = build_ok(cfg);
  EXPECT_TRUE(f.notify);
  EXPECT_EQ(f.flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_NEW_LISTENER));
  // The child checks that the load returns a close-on-exec listener; it
  // never calls getppid (nobody would answer).
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(1);
    auto l = load_seccomp(f);
    if (!l || !l->valid()) ::_exit(2);
    ::_exit((::fcntl(l->get(), F_GETFD) & FD_CLOEXEC) != 0 ? 0 : 3);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(SecuritySeccomp, BuildErrorsNameTheField) {
  spec::Seccomp cfg;
  cfg.default_action = "SCMP_ACT_ALLOW";
  cfg.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_NOPE"};
  EXPECT_EQ(build_error(cfg),
            "linux.seccomp.architectures[1]: SCMP_ARCH_NOPE not supported by this libseccomp");
  cfg.architectures.clear();
  cfg.syscalls = {rule({"read"}, "SCMP_ACT_ALLOW"), rule({"read"}, "SCMP_ACT_FOO")};
  EXPECT_EQ(build_error(cfg), "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");
  cfg.syscalls = {rule({"read"}, "SCMP_ACT_ERRNO", std::nullopt, {arg(0, 1, "SCMP_CMP_XX")})};
  EXPECT_EQ(build_error(cfg),
            "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\"");
  cfg.syscalls.clear();
  cfg.flags = {"SECCOMP_FILTER_FLAG_NOPE"};
  EXPECT_EQ(build_error(cfg), "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");
}

}  // namespace
}  // namespace nsbox::security
