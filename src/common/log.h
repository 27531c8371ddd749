// Runtime logging: text or runc-shaped JSON lines ({"level","msg","time"}),
// to stderr or to --log FILE. Engines read the last "error" line.
#pragma once

#include <string>

#include "common/result.h"

namespace nsbox::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

// Log to `file` (appended; "" = stderr) in `fmt`. A file that cannot be
// opened is an error ("open FILE: why", as runc) and logging stays on stderr.
Status open(const std::string& file, Format fmt, bool debug);
// open() for callers with nowhere to report its error.
void configure(const std::string& file, Format fmt, bool debug);
bool debug_enabled();
void write(Level lvl, const std::string& msg);

inline void debug(const std::string& m) {
  if (debug_enabled()) write(Level::kDebug, m);
}
inline void info(const std::string& m) { write(Level::kInfo, m); }
inline void warn(const std::string& m) { write(Level::kWarn, m); }
inline void error(const std::string& m) { write(Level::kError, m); }

}  // namespace nsbox::log
