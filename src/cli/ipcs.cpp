// `ipcs ID [--format table|json]`: the SysV and POSIX IPC objects of a
// container's IPC namespace, its message totals and its IPC limits.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/util.h"

namespace nsbox::cli {

namespace {

std::string octal(unsigned perms) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", perms);
  return buf;
}

std::string hex_key(long long key) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(key));
  return buf;
}

nlohmann::json limit_value(const std::string& text) {
  long long n = 0;
  if (parse_int64(text, &n)) return n;
  unsigned long long u = 0;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
      std::sscanf(text.c_str(), "%llu", &u) == 1) {
    return u;
  }
  return text;
}

nlohmann::json to_json(const std::string& id, const container::IpcView& v) {
  nlohmann::json j;
  j["id"] = id;
  j["msg"] = nlohmann::json::array();
  j["shm"] = nlohmann::json::array();
  j["sem"] = nlohmann::json::array();
  for (const auto& o : v.objects) {
    nlohmann::json e = {{"key", o.key}, {"id", o.id}, {"owner", o.uid}, {"perms", octal(o.perms)}};
    if (o.kind == "msg") {
      e["bytes"] = o.bytes;
      e["messages"] = o.messages;
    } else if (o.kind == "shm") {
      e["size"] = o.size;
      e["attached"] = o.attached;
    } else {
      e["nsems"] = o.nsems;
    }
    j[o.kind].push_back(e);
  }
  j["posix_mq"] = nlohmann::json::array();
  for (const auto& q : v.mqueues) {
    j["posix_mq"].push_back({{"name", q.name},
                             {"owner", q.uid},
                             {"perms", octal(q.perms)},
                             {"size", q.qsize},
                             {"info", q.info}});
  }
  j["totals"] = {{"queues", v.msg_queues}, {"messages", v.msg_messages}, {"bytes", v.msg_bytes}};
  j["limits"] = nlohmann::json::object();
  for (const auto& [k, val] : v.limits) j["limits"][k] = limit_value(val);
  return j;
}

void print_table(const container::IpcView& v) {
  std::printf("------ Message Queues --------\n");
  std::printf("%-10s %-10s %-10s %-6s %-12s %s\n", "key", "msqid", "owner", "perms", "used-bytes",
              "messages");
  for (const auto& o : v.objects) {
    if (o.kind != "msg") continue;
    std::printf("%-10s %-10lld %-10llu %-6s %-12llu %llu\n", hex_key(o.key).c_str(), o.id, o.uid,
                octal(o.perms).c_str(), o.bytes, o.messages);
  }
  std::printf("\n------ Shared Memory Segments --------\n");
  std::printf("%-10s %-10s %-10s %-6s %-12s %s\n", "key", "shmid", "owner", "perms", "bytes",
              "nattch");
  for (const auto& o : v.objects) {
    if (o.kind != "shm") continue;
    std::printf("%-10s %-10lld %-10llu %-6s %-12llu %llu\n", hex_key(o.key).c_str(), o.id, o.uid,
                octal(o.perms).c_str(), o.size, o.attached);
  }
  std::printf("\n------ Semaphore Arrays --------\n");
  std::printf("%-10s %-10s %-10s %-6s %s\n", "key", "semid", "owner", "perms", "nsems");
  for (const auto& o : v.objects) {
    if (o.kind != "sem") continue;
    std::printf("%-10s %-10lld %-10llu %-6s %llu\n", hex_key(o.key).c_str(), o.id, o.uid,
                octal(o.perms).c_str(), o.nsems);
  }
  std::printf("\n------ POSIX Message Queues --------\n");
  std::printf("%-24s %-10s %-6s %s\n", "name", "owner", "perms", "info");
  for (const auto& q : v.mqueues) {
    std::printf("%-24s %-10llu %-6s %s\n", q.name.c_str(), q.uid, octal(q.perms).c_str(),
                q.info.c_str());
  }
  std::printf("\n------ Totals --------\n");
  std::printf("queues %llu, messages %llu, bytes %llu\n", v.msg_queues, v.msg_messages,
              v.msg_bytes);
  std::printf("\n------ Limits --------\n");
  for (const auto& [k, val] : v.limits) std::printf("%-24s %s\n", k.c_str(), val.c_str());
}

int run_ipcs(const Global& g, const Parsed& p) {
  std::string format = p.get("format", "table");
  if (format != "table" && format != "json") {
    return fail(make_error("--format: expected table or json, got " + nsbox::quoted(format)));
  }
  auto v = container::ipc_view(g.rt, p.positionals[0]);
  if (!v) return fail(v.error());
  if (format == "json") {
    std::printf("%s\n", to_json(p.positionals[0], *v).dump().c_str());
  } else {
    print_table(*v);
  }
  return 0;
}

}  // namespace

Command ipcs_command() {
  return {"ipcs",
          "ipcs [OPTIONS] ID",
          "List the IPC objects, totals and limits of a container's IPC namespace",
          {{"format", "f", true, "table or json"}},
          run_ipcs,
          1,
          1};
}

}  // namespace nsbox::cli
