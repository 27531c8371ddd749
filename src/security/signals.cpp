#include "security/signals.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "common/util.h"

namespace nsbox::security {
namespace {

struct SigEntry {
  int value;
  std::string_view name;  // without "SIG"
};

// Canonical names first: signal_name() returns the first match.
constexpr std::array<SigEntry, 34> kSignals = {{
    {SIGHUP, "HUP"},
    {SIGINT, "INT"},
    {SIGQUIT, "QUIT"},
    {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"},
    {SIGBUS, "BUS"},
    {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},
    {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"},
    {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},
    {SIGALRM, "ALRM"},
    {SIGTERM, "TERM"},
    {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"},
    {SIGCONT, "CONT"},
    {SIGSTOP, "STOP"},
    {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},
    {SIGTTOU, "TTOU"},
    {SIGURG, "URG"},
    {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"},
    {SIGPROF, "PROF"},
    {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},
    {SIGPWR, "PWR"},
    {SIGSYS, "SYS"},
    // Aliases.
    {SIGABRT, "IOT"},
    {SIGIO, "POLL"},
    {SIGCHLD, "CLD"},
}};

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool valid(long long sig) { return sig >= 1 && sig <= SIGRTMAX; }

// "RTMIN", "RTMIN+3", "RTMAX", "RTMAX-2".
std::optional<int> parse_realtime(std::string_view s) {
  const bool from_min = starts_with(s, "RTMIN");
  if (!from_min && !starts_with(s, "RTMAX")) return std::nullopt;
  s.remove_prefix(5);
  long long off = 0;
  if (!s.empty()) {
    if (s[0] != (from_min ? '+' : '-') || !parse_int64(s.substr(1), &off) || off < 0) {
      return std::nullopt;
    }
  }
  const long long sig = from_min ? SIGRTMIN + off : SIGRTMAX - off;
  if (sig < SIGRTMIN || sig > SIGRTMAX) return std::nullopt;
  return static_cast<int>(sig);
}

}  // namespace

std::optional<int> parse_signal(const std::string& s) {
  long long num = 0;
  if (parse_int64(s, &num))
    return valid(num) ? std::optional<int>(static_cast<int>(num)) : std::nullopt;
  std::string name = upper(s);
  if (starts_with(name, "SIG")) name.erase(0, 3);
  for (const auto& e : kSignals) {
    if (e.name == name) return e.value;
  }
  return parse_realtime(name);
}

std::string signal_name(int sig) {
  for (const auto& e : kSignals) {
    if (e.value == sig) return "SIG" + std::string(e.name);
  }
  if (sig < SIGRTMIN || sig > SIGRTMAX) return std::to_string(sig);
  const int from_min = sig - SIGRTMIN;
  if (from_min <= (SIGRTMAX - SIGRTMIN) / 2) {
    return from_min == 0 ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(from_min);
  }
  const int from_max = SIGRTMAX - sig;
  return from_max == 0 ? "SIGRTMAX" : "SIGRTMAX-" + std::to_string(from_max);
}

}  // namespace nsbox::security
