// Signal names for `nsbox kill` and friends.
#pragma once

#include <optional>
#include <string>

namespace nsbox::security {

// "TERM", "SIGTERM", "sigterm", "15", "RTMIN", "RTMIN+3", "SIGRTMAX-2".
// nullopt for unknown names and numbers outside 1..SIGRTMAX.
std::optional<int> parse_signal(const std::string& s);
// 15 -> "SIGTERM"; real-time -> "SIGRTMIN+3" / "SIGRTMAX-2" (as kill -l);
// numbers without a name -> the decimal number. parse_signal() round-trips it.
std::string signal_name(int sig);

}  // namespace nsbox::security
