#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/util.h"

namespace nsbox::log {
namespace {

struct State {
  int fd = 2;
  bool to_file = false;
  Format fmt = Format::kText;
  bool debug = false;
};
State g;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Status open(const std::string& file, Format fmt, bool debug) {
  g.fmt = fmt;
  g.debug = debug;
  if (file.empty()) return {};
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("open " + file);
  g.fd = fd;
  g.to_file = true;
  return {};
}

void configure(const std::string& file, Format fmt, bool debug) { (void)open(file, fmt, debug); }

bool debug_enabled() { return g.debug; }

void write(Level lvl, const std::string& msg) {
  std::string line;
  if (g.fmt == Format::kJson) {
    nlohmann::json j = {{"level", level_name(lvl)}, {"msg", msg}, {"time", now_rfc3339()}};
    // replace: a message quoting invalid UTF-8 (from a bad config.json)
    // must still make a log line, not throw.
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (g.to_file) {
    line = now_rfc3339() + " " + level_name(lvl) + ": " + msg + "\n";
  } else {
    line = std::string("nsbox: ") +
           (lvl == Level::kError ? "" : std::string(level_name(lvl)) + ": ") + msg + "\n";
  }
  (void)write_all(g.fd, line);
  // Errors also reach the caller's terminal when logging to a file, as runc does.
  if (g.to_file && lvl == Level::kError) (void)write_all(2, "nsbox: " + msg + "\n");
}

}  // namespace nsbox::log
