// Command-line parsing shared by every verb: runc-style flags
// (--name VALUE, --name=VALUE, -n VALUE, booleans), flags and positionals
// in any order, "--" ends the flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "container/container.h"

namespace nsbox::cli {

struct Flag {
  std::string name;        // long name without dashes
  std::string short_name;  // one letter, or empty
  bool takes_value = false;
  std::string help;
};

struct Parsed {
  std::map<std::string, std::string> values;  // long name -> value ("true" for booleans)
  // Every value of a flag given more than once (--env A --env B), in order.
  std::map<std::string, std::vector<std::string>> lists;
  std::vector<std::string> positionals;
  bool has(const std::string& n) const { return values.count(n) != 0; }
  std::string get(const std::string& n, const std::string& def = {}) const {
    auto it = values.find(n);
    return it == values.end() ? def : it->second;
  }
  std::vector<std::string> all(const std::string& n) const {
    auto it = lists.find(n);
    return it == lists.end() ? std::vector<std::string>{} : it->second;
  }
};

// After flags_until positionals, the rest are positionals even when they
// look like flags (`ps ID -ef` passes -ef on to ps).
Result<Parsed> parse_flags(const std::vector<std::string>& args, const std::vector<Flag>& flags,
                           size_t flags_until = SIZE_MAX);
// --interval: Go duration syntax as runc accepts it ("5s", "500ms",
// "1m30s", "2h"); positive.
Result<std::chrono::nanoseconds> parse_duration(const std::string& text);
// A namespace by its OCI name or its /proc/PID/ns name (mnt, net).
std::optional<spec::NsType> parse_ns_name(const std::string& name);
// "net,ipc,...": namespaces by those names, duplicates dropped; errors name
// the flag.
Result<std::vector<spec::NsType>> parse_ns_list(const std::string& flag, const std::string& text);
// A boolean flag given as --flag, --flag=true/false.
Result<bool> flag_bool(const Parsed& p, const std::string& name);

struct Global {
  container::Runtime rt;
};

struct Command {
  const char* name;
  const char* usage;  // "create [OPTIONS] ID"
  const char* summary;
  std::vector<Flag> flags;
  int (*run)(const Global& g, const Parsed& p);
  size_t min_args = 0;
  size_t max_args = 0;
  size_t flags_until = SIZE_MAX;  // see parse_flags()
};

const std::vector<Command>& commands();
void print_help(const Command& c);
// Print "nsbox: msg" (and the JSON log line) and return exit code 1.
int fail(const Error& e);

}  // namespace nsbox::cli
