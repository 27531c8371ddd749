// Unit tests for src/security. Run as root; process-wide changes (uid, caps,
// rlimits, oom_score_adj) happen in forked children only.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "common/util.h"
#include "security/capabilities.h"
#include "security/oom.h"
#include "security/rlimits.h"
#include "security/signals.h"
#include "security/user.h"

namespace nsbox::security {
namespace {

// Run `fn` in a forked child. It returns "" on success or a failure message,
// which travels back over a pipe; the child's exit code is 0 or 1.
struct ChildResult {
  int exit_code = -1;
  std::string message;
};

ChildResult run_in_child(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return {-1, "pipe failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string msg = fn();
    (void)write_all(p[1], msg);
    ::_exit(msg.empty() ? 0 : 1);
  }
  ::close(p[1]);
  UniqueFd rd(p[0]);
  auto msg = read_all(rd.get());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), msg ? *msg : ""};
}

#define EXPECT_CHILD_OK(...)                  \
  do {                                        \
    auto r_ = run_in_child(__VA_ARGS__);      \
    EXPECT_EQ(r_.exit_code, 0) << r_.message; \
  } while (0)

// "CapEff" -> the hex mask in /proc/self/status; "Uid"/"Gid"/"Groups" -> the raw text.
std::string status_field(const std::string& key) {
  auto text = read_file("/proc/self/status");
  if (!text) return "";
  for (const auto& line : split(*text, '\n')) {
    if (starts_with(line, key + ":")) return trim(line.substr(key.size() + 1));
  }
  return "";
}

uint64_t status_mask(const std::string& key) {
  return std::strtoull(status_field(key).c_str(), nullptr, 16);
}

std::string expect_mask(const std::string& key, uint64_t want) {
  uint64_t got = status_mask(key);
  if (got == want) return "";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s: got %016llx want %016llx\n", key.c_str(),
                static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
  return buf;
}

std::string expect_field(const std::string& key, const std::string& want) {
  std::string got = status_field(key);
  return got == want ? "" : key + ": got '" + got + "' want '" + want + "'\n";
}

uint64_t bits(std::initializer_list<int> caps) {
  uint64_t m = 0;
  for (int c : caps) m |= cap_bit(c);
  return m;
}

bool host_has_bounding(int cap) { return ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1; }

bool contains(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v) {
    if (s.find(needle) != std::string::npos) return true;
  }
  return false;
}

// ---------------------------------------------------------------- capabilities

TEST(SecurityCaps, NameTableRoundTrip) {
  for (int cap = 0; cap <= kMaxKnownCap; ++cap) {
    const std::string name = cap_name(cap);
    ASSERT_TRUE(starts_with(name, "CAP_")) << cap;
    EXPECT_EQ(cap_from_name(name), cap) << name;
  }
  EXPECT_EQ(cap_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(cap_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
  EXPECT_EQ(cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_EQ(cap_from_name("CHOWN"), std::nullopt);
  EXPECT_EQ(cap_from_name("CAP_BOGUS"), std::nullopt);
  EXPECT_EQ(cap_from_name(""), std::nullopt);
}

TEST(SecurityCaps, CountMatchesKernel) {
  auto text = read_file("/proc/sys/kernel/cap_last_cap");
  ASSERT_TRUE(text.ok());
  long long v = 0;
  ASSERT_TRUE(parse_int64(trim(*text), &v));
  EXPECT_EQ(last_cap(), v);
  // The name table covers every cap this kernel knows (or more).
  EXPECT_GE(kMaxKnownCap, last_cap());
}

TEST(SecurityCaps, ResolveWarnsForUnknownAndUngrantable) {
  spec::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_BOGUS", "cap_kill"};
  caps.permitted = {"CAP_CHOWN", "CAP_KILL"};
  caps.effective = {"CAP_CHOWN"};
  std::vector<std::string> warnings;
  CapSets s = resolve_caps(caps, &warnings);

  EXPECT_TRUE(contains(
      warnings, "capability CAP_BOGUS in process.capabilities.bounding is unknown: skipped"));
  EXPECT_EQ(s.effective, bits({CAP_CHOWN}));
  EXPECT_EQ(s.permitted, bits({CAP_CHOWN, CAP_KILL}));
  if (host_has_bounding(CAP_SYS_RESOURCE)) {
    EXPECT_EQ(s.bounding, bits({CAP_CHOWN, CAP_SYS_RESOURCE, CAP_KILL}));
    GTEST_SKIP() << "host bounding set has CAP_SYS_RESOURCE: ungrantable warning not testable";
  }
  EXPECT_EQ(s.bounding, bits({CAP_CHOWN, CAP_KILL}));
  EXPECT_TRUE(contains(warnings,
                       "capability CAP_SYS_RESOURCE in process.capabilities.bounding cannot be "
                       "granted on this host: skipped"))
      << ::testing::PrintToString(warnings);
  EXPECT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
}

TEST(SecurityCaps, ResolveSkipsCombinationsTheKernelRefuses) {
  spec::Capabilities caps;
  caps.bounding = {"CAP_CHOWN"};
  caps.permitted = {"CAP_CHOWN"};
  caps.inheritable = {"CAP_CHOWN", "CAP_KILL"};   // KILL: not in bounding
  caps.effective = {"CAP_CHOWN", "CAP_NET_RAW"};  // NET_RAW: not in permitted
  caps.ambient = {"CAP_CHOWN", "CAP_SETUID"};     // SETUID: not in permitted/inheritable
  std::vector<std::string> warnings;
  CapSets s = resolve_caps(caps, &warnings);
  EXPECT_EQ(s.inheritable, bits({CAP_CHOWN}));
  EXPECT_EQ(s.effective, bits({CAP_CHOWN}));
  EXPECT_EQ(s.ambient, bits({CAP_CHOWN}));
  ASSERT_EQ(warnings.size(), 3u) << ::testing::PrintToString(warnings);
  EXPECT_TRUE(contains(warnings, "CAP_KILL in process.capabilities.inheritable"));
  EXPECT_TRUE(contains(warnings, "CAP_NET_RAW in process.capabilities.effective"));
  EXPECT_TRUE(contains(warnings, "CAP_SETUID in process.capabilities.ambient"));
  // A null warnings pointer is fine.
  EXPECT_EQ(resolve_caps(caps, nullptr).ambient, bits({CAP_CHOWN}));
}

TEST(SecurityCaps, ApplyAsRoot) {
  const CapSets want{bits({CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE}), bits({CAP_KILL}),
                     bits({CAP_NET_BIND_SERVICE}), bits({CAP_KILL, CAP_NET_BIND_SERVICE}),
                     bits({CAP_NET_BIND_SERVICE})};
  EXPECT_CHILD_OK([&]() -> std::string {
    if (auto r = apply_caps(want); !r) return r.error().msg;
    return expect_mask("CapBnd", want.bounding) + expect_mask("CapEff", want.effective) +
           expect_mask("CapPrm", want.permitted) + expect_mask("CapInh", want.inheritable) +
           expect_mask("CapAmb", want.ambient);
  });
}

TEST(SecurityCaps, AmbientOutsidePermittedIsSkippedSilently) {
  const CapSets want{bits({CAP_KILL}), bits({CAP_KILL}), 0, bits({CAP_KILL}), bits({CAP_KILL})};
  EXPECT_CHILD_OK([&]() -> std::string {
    if (auto r = apply_caps(want); !r) return r.error().msg;
    return expect_mask("CapAmb", 0) + expect_mask("CapEff", bits({CAP_KILL}));
  });
}

TEST(SecurityCaps, CurrentCapsMatchesProcStatus) {
  auto c = current_caps();
  ASSERT_TRUE(c.ok()) << c.error().msg;
  EXPECT_EQ(c->effective, status_mask("CapEff"));
  EXPECT_EQ(c->permitted, status_mask("CapPrm"));
  EXPECT_EQ(c->bounding, status_mask("CapBnd"));
  EXPECT_EQ(c->ambient, status_mask("CapAmb"));
}

// ------------------------------------------------------------------------ user

TEST(SecurityUser, SwitchToNonRootKeepsRequestedCaps) {
  spec::User user;
  user.uid = 1000;
  user.gid = 1001;
  user.additional_gids = {5, 6};
  user.umask = 027;
  const CapSets want{bits({CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE}),
                     bits({CAP_KILL, CAP_NET_BIND_SERVICE}), bits({CAP_NET_BIND_SERVICE}),
                     bits({CAP_KILL, CAP_NET_BIND_SERVICE}), bits({CAP_NET_BIND_SERVICE})};
  EXPECT_CHILD_OK([&]() -> std::string {
    if (auto r = switch_user(user, want); !r) return r.error().msg;
    const mode_t mask = ::umask(0);
    return expect_mask("CapBnd", want.bounding) + expect_mask("CapEff", want.effective) +
           expect_mask("CapPrm", want.permitted) + expect_mask("CapInh", want.inheritable) +
           expect_mask("CapAmb", want.ambient) + expect_field("Uid", "1000\t1000\t1000\t1000") +
           expect_field("Gid", "1001\t1001\t1001\t1001") + expect_field("Groups", "5 6") +
           (mask == 027 ? "" : "umask: got " + std::to_string(mask) + "\n") +
           (::prctl(PR_GET_KEEPCAPS) == 0 ? "" : "keepcaps still set\n");
  });
}

TEST(SecurityUser, SwitchClearsSupplementaryGroupsAndKeepsUmask) {
  spec::User user;  // root, no additionalGids, no umask
  const CapSets want{bits({CAP_SETUID}), bits({CAP_SETUID}), 0, bits({CAP_SETUID}), 0};
  EXPECT_CHILD_OK([&]() -> std::string {
    const gid_t extra[] = {7};
    if (::setgroups(1, extra) < 0) return "setup setgroups failed";
    ::umask(0022);
    if (auto r = switch_user(user, want); !r) return r.error().msg;
    const mode_t mask = ::umask(0);
    return expect_field("Groups", "") + expect_field("Uid", "0\t0\t0\t0") +
           expect_mask("CapEff", want.effective) +
           (mask == 0022 ? "" : "umask changed to " + std::to_string(mask) + "\n");
  });
}

TEST(SecurityUser, ErrorNamesTheField) {
  spec::User user;
  user.uid = 1000;
  user.gid = 1000;
  // Drop CAP_SETUID first so setresuid fails.
  auto r = run_in_child([&]() -> std::string {
    const CapSets setgid_only{bits({CAP_SETGID, CAP_SETPCAP}), bits({CAP_SETGID, CAP_SETPCAP}), 0,
                              bits({CAP_SETGID, CAP_SETPCAP}), 0};
    if (auto a = apply_caps(setgid_only); !a) return "setup: " + a.error().msg;
    auto s = switch_user(user, CapSets{});
    return s ? "switch_user succeeded" : s.error().msg;
  });
  EXPECT_EQ(r.message, "process.user.uid: setresuid(1000): Operation not permitted");
}

TEST(SecurityUser, NoNewPrivileges) {
  EXPECT_CHILD_OK([]() -> std::string {
    if (auto r = set_no_new_privileges(); !r) return r.error().msg;
    return expect_field("NoNewPrivs", "1");
  });
}

// --------------------------------------------------------------------- rlimits

spec::Rlimit nofile(uint64_t soft, uint64_t hard) {
  return spec::Rlimit{"RLIMIT_NOFILE", RLIMIT_NOFILE, soft, hard};
}

rlimit current_nofile() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  return r;
}

TEST(SecurityRlimits, LoweringWorks) {
  const std::vector<spec::Rlimit> want = {nofile(100, 200),
                                          spec::Rlimit{"RLIMIT_CORE", RLIMIT_CORE, 0, 0}};
  ASSERT_TRUE(check_rlimits(want).ok());
  EXPECT_CHILD_OK([&]() -> std::string {
    if (auto r = apply_rlimits(want); !r) return r.error().msg;
    rlimit nf{}, core{};
    ::getrlimit(RLIMIT_NOFILE, &nf);
    ::getrlimit(RLIMIT_CORE, &core);
    if (nf.rlim_cur != 100 || nf.rlim_max != 200) return "RLIMIT_NOFILE not applied";
    if (core.rlim_cur != 0 || core.rlim_max != 0) return "RLIMIT_CORE not applied";
    return "";
  });
}

TEST(SecurityRlimits, RaisingHardLimitNeedsCapSysResource) {
  if (has_effective_cap(CAP_SYS_RESOURCE)) GTEST_SKIP() << "host has CAP_SYS_RESOURCE";
  const rlimit cur = current_nofile();
  if (cur.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "RLIMIT_NOFILE hard limit is unlimited";
  const uint64_t hard = cur.rlim_max + 1;
  const std::string want = "process.rlimits RLIMIT_NOFILE: hard limit " + std::to_string(hard) +
                           " above the runtime's own (" + std::to_string(cur.rlim_max) +
                           ") needs CAP_SYS_RESOURCE";
  const std::vector<spec::Rlimit> limits = {nofile(hard, hard)};

  auto checked = check_rlimits(limits);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().msg, want);
  auto r = run_in_child([&]() -> std::string {
    auto a = apply_rlimits(limits);
    return a ? "apply_rlimits succeeded" : a.error().msg;
  });
  EXPECT_EQ(r.message, want);
}

TEST(SecurityRlimits, CheckRejectsBadEntries) {
  auto soft_above = check_rlimits({nofile(20, 10)});
  ASSERT_FALSE(soft_above.ok());
  EXPECT_EQ(soft_above.error().msg,
            "process.rlimits RLIMIT_NOFILE: soft limit 20 above hard limit 10");
  auto dup = check_rlimits({nofile(1, 1), nofile(2, 2)});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().msg, "process.rlimits RLIMIT_NOFILE: duplicate entry");
  auto unresolved = check_rlimits({spec::Rlimit{"RLIMIT_FOO", -1, 1, 1}});
  ASSERT_FALSE(unresolved.ok());
  EXPECT_EQ(unresolved.error().msg, "process.rlimits RLIMIT_FOO: unknown resource");
}

// --------------------------------------------------------------------- signals

TEST(SecuritySignals, ParseTable) {
  struct Case {
    const char* in;
    std::optional<int> want;
  };
  const Case cases[] = {
      {"TERM", SIGTERM},         {"SIGTERM", SIGTERM},
      {"sigterm", SIGTERM},      {"15", SIGTERM},
      {"KILL", SIGKILL},         {"SIGKILL", SIGKILL},
      {"hup", SIGHUP},           {"SIGWINCH", SIGWINCH},
      {"IOT", SIGABRT},          {"RTMIN", SIGRTMIN},
      {"RTMIN+3", SIGRTMIN + 3}, {"SIGRTMAX-2", SIGRTMAX - 2},
      {"sigrtmax", SIGRTMAX},    {"RTMIN-1", std::nullopt},
      {"RTMAX+1", std::nullopt}, {"RTMIN+99", std::nullopt},
      {"RTMINX", std::nullopt},  {"0", std::nullopt},
      {"-9", std::nullopt},      {"65", std::nullopt},
      {"", std::nullopt},        {"SIG", std::nullopt},
      {"BOGUS", std::nullopt},   {"9x", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_signal(c.in), c.want) << c.in;
}

TEST(SecuritySignals, NamesRoundTrip) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
  EXPECT_EQ(signal_name(SIGRTMAX - 2), "SIGRTMAX-2");
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    EXPECT_EQ(parse_signal(signal_name(sig)), sig) << signal_name(sig);
  }
}

// ------------------------------------------------------------------------- oom

int read_oom(pid_t pid) {
  long long v = 0;
  auto text = read_file("/proc/" + std::to_string(pid) + "/oom_score_adj");
  return text && parse_int64(trim(*text), &v) ? static_cast<int>(v) : -2000;
}

TEST(SecurityOom, RaiseWorksInChild) {
  const int target = std::min(read_oom(::getpid()) + 100, 1000);
  EXPECT_CHILD_OK([&]() -> std::string {
    if (auto r = set_oom_score_adj(::getpid(), target); !r) return r.error().msg;
    int got = read_oom(::getpid());
    return got == target ? "" : "oom_score_adj is " + std::to_string(got);
  });
}

TEST(SecurityOom, LoweringNeedsCapSysResource) {
  if (has_effective_cap(CAP_SYS_RESOURCE)) GTEST_SKIP() << "host has CAP_SYS_RESOURCE";
  const int current = read_oom(::getpid());
  if (current == -1000) GTEST_SKIP() << "oom_score_adj already at the minimum";
  auto r = run_in_child([&]() -> std::string {
    auto s = set_oom_score_adj(::getpid(), -1000);
    return s ? "lowering succeeded" : s.error().msg;
  });
  EXPECT_TRUE(starts_with(r.message, "process.oomScoreAdj: lowering oom_score_adj of pid "))
      << r.message;
  const std::string tail = " from " + std::to_string(current) + " to -1000 needs CAP_SYS_RESOURCE";
  EXPECT_NE(r.message.find(tail), std::string::npos) << r.message;
}

TEST(SecurityOom, RejectsOutOfRange) {
  auto r = set_oom_score_adj(::getpid(), 1001);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().msg, "process.oomScoreAdj: 1001 out of range [-1000, 1000]");
}

}  // namespace
}  // namespace nsbox::security
