// Error handling shared by the benchmark's helper programs: a failed system
// call ends the program with the call named, nothing else to unwind.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace nsbench {

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
  std::_Exit(127);
}

// Returns rc when it is not negative; ends the program otherwise.
inline long check(long rc, const char* what) {
  if (rc < 0) die(what);
  return rc;
}

}  // namespace nsbench
