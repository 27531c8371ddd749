// Rendering of Stats: runc's `events --stats` data object and nsbox's
// beancounter rows (see stats.h).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/stats.h"

namespace nsbox::cgroup {
namespace {

using nlohmann::json;

// Go's encoding/json omitempty: a zero number or an empty slice/map is left out.
void put_nonzero(json& j, const char* key, uint64_t v) {
  if (v != 0) j[key] = v;
}

void put_nonempty(json& j, const char* key, const std::vector<uint64_t>& v) {
  if (!v.empty()) j[key] = v;
}

// runc's MemoryEntry; a counter the kernel lacks is runc's zero value.
json memory_entry(const MemoryEntry& e, bool present) {
  json j = json::object();
  j["limit"] = present ? e.limit : 0;
  if (present) {
    put_nonzero(j, "usage", e.usage);
    put_nonzero(j, "max", e.max_usage);
  }
  j["failcnt"] = present ? e.failcnt : 0;
  return j;
}

json cpu_json(const CpuStats& c) {
  json usage = json::object();
  put_nonzero(usage, "total", c.total_ns);
  put_nonempty(usage, "percpu", c.percpu_ns);
  put_nonempty(usage, "percpu_kernel", c.percpu_kernel_ns);
  put_nonempty(usage, "percpu_user", c.percpu_user_ns);
  usage["kernel"] = c.kernel_ns;
  usage["user"] = c.user_ns;
  json throttling = json::object();
  put_nonzero(throttling, "periods", c.periods);
  put_nonzero(throttling, "throttledPeriods", c.throttled_periods);
  put_nonzero(throttling, "throttledTime", c.throttled_time_ns);
  return {{"usage", usage}, {"throttling", throttling}};
}

json memory_json(const MemoryStats& m) {
  json j = json::object();
  put_nonzero(j, "cache", m.cache);
  j["usage"] = memory_entry(m.usage, true);
  j["swap"] = memory_entry(m.swap, m.has_swap);
  j["kernel"] = memory_entry(m.kernel, m.has_kernel);
  j["kernelTCP"] = memory_entry(m.kernel_tcp, m.has_kernel_tcp);
  if (!m.raw.empty()) j["raw"] = m.raw;
  return j;
}

json blkio_entries(const std::vector<BlkioEntry>& entries) {
  json out = json::array();
  for (const auto& e : entries) {
    json j = json::object();
    put_nonzero(j, "major", e.major);
    put_nonzero(j, "minor", e.minor);
    if (!e.op.empty()) j["op"] = e.op;
    put_nonzero(j, "value", e.value);
    out.push_back(std::move(j));
  }
  return out;
}

// Stats has no cpuset section: runc's CPUSet with its zero values.
json cpuset_json() {
  return {{"cpu_exclusive", 0},   {"mem_hardwall", 0},       {"mem_exclusive", 0},
          {"memory_migrate", 0},  {"memory_spread_page", 0}, {"memory_spread_slab", 0},
          {"memory_pressure", 0}, {"sched_load_balance", 0}, {"sched_relax_domain_level", 0}};
}

}  // namespace

json to_runc_stats_json(const Stats& s) {
  json j = json::object();
  j["cpu"] = cpu_json(s.cpu.value_or(CpuStats{}));
  j["cpuset"] = cpuset_json();
  if (s.memory) {
    j["memory"] = memory_json(*s.memory);
  } else {
    MemoryStats none;
    j["memory"] = {{"usage", memory_entry(none.usage, false)},
                   {"swap", memory_entry(none.swap, false)},
                   {"kernel", memory_entry(none.kernel, false)},
                   {"kernelTCP", memory_entry(none.kernel_tcp, false)}};
  }
  json pids = json::object();
  if (s.pids) {
    put_nonzero(pids, "current", s.pids->current);
    if (s.pids->limit != kUnlimited) put_nonzero(pids, "limit", s.pids->limit);
  }
  j["pids"] = pids;
  json blkio = json::object();
  if (s.blkio) {
    if (!s.blkio->io_service_bytes_recursive.empty()) {
      blkio["ioServiceBytesRecursive"] = blkio_entries(s.blkio->io_service_bytes_recursive);
    }
    if (!s.blkio->io_serviced_recursive.empty()) {
      blkio["ioServicedRecursive"] = blkio_entries(s.blkio->io_serviced_recursive);
    }
  }
  j["blkio"] = blkio;
  json hugetlb = json::object();
  for (const auto& [size, h] : s.hugetlb) {
    json e = json::object();
    put_nonzero(e, "usage", h.usage);
    put_nonzero(e, "max", h.max_usage);
    e["failcnt"] = h.failcnt;
    hugetlb[size] = std::move(e);
  }
  j["hugetlb"] = hugetlb;
  j["intel_rdt"] = json::object();
  j["network_interfaces"] = nullptr;
  return j;
}

std::vector<Beancounter> beancounters(const Stats& s) {
  std::vector<Beancounter> rows;
  auto bytes_row = [&rows](const char* name, const MemoryEntry& e) {
    Beancounter b{name, "bytes", e.usage, std::nullopt, e.limit, e.failcnt};
    if (e.has_max_usage) b.max_usage = e.max_usage;
    rows.push_back(std::move(b));
  };
  if (const auto& m = s.memory) {
    bytes_row("memory", m->usage);
    if (m->has_swap) bytes_row("memory+swap", m->swap);
    if (m->has_kernel) bytes_row("kmem", m->kernel);
    if (m->has_kernel_tcp) bytes_row("kmem.tcp", m->kernel_tcp);
    rows.push_back(Beancounter{"oom", "kills", m->oom_kill, std::nullopt, kUnlimited, m->oom_kill});
  }
  if (const auto& p = s.pids) {
    rows.push_back(Beancounter{"pids", "tasks", p->current, std::nullopt, p->limit, p->failcnt});
  }
  if (const auto& c = s.cpu) {
    uint64_t limit = kUnlimited;
    if (c->quota_us && *c->quota_us > 0) limit = static_cast<uint64_t>(*c->quota_us) * 1000;
    rows.push_back(
        Beancounter{"cpu", "ns", c->total_ns, std::nullopt, limit, c->throttled_periods});
  }
  for (const auto& [size, h] : s.hugetlb) {
    Beancounter b{"hugetlb." + size, "bytes", h.usage, std::nullopt, h.limit, h.failcnt};
    if (h.has_max_usage) b.max_usage = h.max_usage;
    rows.push_back(std::move(b));
  }
  return rows;
}

}  // namespace nsbox::cgroup
