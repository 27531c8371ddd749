#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace nsbox::cli {

namespace {

int run_list(const Global& g, const Parsed& p) {
  std::string format = p.get("format", "table");
  if (format != "table" && format != "json") {
    return fail(make_error("--format: expected table or json, got \"" + format + "\""));
  }
  auto states = container::list(g.rt);
  if (!states) return fail(states.error());
  if (p.has("quiet")) {
    for (const auto& s : *states) std::printf("%s\n", s.id.c_str());
    return 0;
  }
  if (format == "json") {
    auto arr = nlohmann::json::array();
    for (const auto& s : *states)
      arr.push_back(nlohmann::json::parse(spec::state_to_json(s, false)));
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  std::printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
              "OWNER");
  for (const auto& s : *states) {
    std::printf("%-20s %-8d %-10s %-40s %-30s %s\n", s.id.c_str(), s.pid, s.status.c_str(),
                s.bundle.c_str(), s.created.c_str(), "root");
  }
  return 0;
}

}  // namespace

Command list_command() {
  return {"list",
          "list [OPTIONS]",
          "List containers",
          {{"format", "f", true, "table or json"}, {"quiet", "q", false, "print only IDs"}},
          run_list,
          0,
          0};
}

}  // namespace nsbox::cli
