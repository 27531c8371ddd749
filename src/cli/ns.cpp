// `ns ID [--format table|json]`: each namespace of the container's init
// with its inode and who shares it ("host", other containers by ID).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

std::string shared(const container::NsShare& s) {
  std::string out;
  if (s.host) out = "host";
  for (const auto& id : s.containers) out += (out.empty() ? "" : ",") + id;
  return out.empty() ? "-" : out;
}

int run_ns(const Global& g, const Parsed& p) {
  std::string format = p.get("format", "table");
  if (format != "table" && format != "json") {
    return fail(make_error("--format: expected table or json, got " + nsbox::quoted(format)));
  }
  auto nss = container::namespaces(g.rt, p.positionals[0]);
  if (!nss) return fail(nss.error());
  if (format == "json") {
    auto j = nlohmann::json::array();
    for (const auto& s : *nss) {
      j.push_back(
          {{"type", s.type}, {"inode", s.inode}, {"host", s.host}, {"containers", s.containers}});
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%-8s %-12s %s\n", "TYPE", "INODE", "SHARED WITH");
  for (const auto& s : *nss) {
    std::printf("%-8s %-12llu %s\n", s.type.c_str(), s.inode, shared(s).c_str());
  }
  return 0;
}

}  // namespace

Command ns_command() {
  return {"ns",
          "ns [OPTIONS] ID",
          "Show a container's namespaces and with whom each is shared",
          {{"format", "f", true, "table or json"}},
          run_ns,
          1,
          1};
}

}  // namespace nsbox::cli
