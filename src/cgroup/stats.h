// Live usage, limits and failure counts of a container's cgroup, read from
// whichever hierarchy holds each controller (v1 or the cgroup2 leaf).
// Manager::stats() fills Stats; to_runc_stats_json() renders it in the
// shape of `runc events --stats`; beancounters() turns it into nsbox's
// OpenVZ-style table (usage / max usage / limit / failures per resource).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"

namespace nsbox::cgroup {

// A limit the kernel reports as "max" (v2) or as the v1 page-counter maximum
// (9223372036854771712 with 4 KiB pages).
constexpr uint64_t kUnlimited = UINT64_MAX;

// One memory-like counter, as runc's MemoryEntry.
struct MemoryEntry {
  uint64_t usage = 0;
  uint64_t max_usage = 0;      // v1 *.max_usage_in_bytes, v2 memory.peak
  bool has_max_usage = false;  // false: the kernel does not track it (max_usage is 0)
  uint64_t limit = kUnlimited;
  uint64_t failcnt = 0;  // v1 *.failcnt, v2 memory.events "max"
};

struct CpuStats {
  uint64_t total_ns = 0, kernel_ns = 0, user_ns = 0;
  std::vector<uint64_t> percpu_ns;                         // v1 cpuacct.usage_percpu
  std::vector<uint64_t> percpu_kernel_ns, percpu_user_ns;  // v1 cpuacct.usage_all
  uint64_t periods = 0, throttled_periods = 0, throttled_time_ns = 0;
  std::optional<int64_t> quota_us;  // unset: no quota
  uint64_t period_us = 100000;
};

struct MemoryStats {
  MemoryEntry usage;
  // Memory plus swap, as v1's memory.memsw.* and runc's "swap" on both
  // versions: v2 adds memory.swap.current to memory.current, and the limits
  // (unlimited when either is); max_usage is not tracked on v2.
  MemoryEntry swap;
  MemoryEntry kernel, kernel_tcp;  // v1 memory.kmem.*, memory.kmem.tcp.*
  bool has_swap = false, has_kernel = false, has_kernel_tcp = false;
  uint64_t cache = 0;      // memory.stat: v1 "cache", v2 "file"
  uint64_t oom = 0;        // v2 memory.events "oom": times the limit could not be met (v1: 0)
  uint64_t oom_kill = 0;   // processes killed by the cgroup's OOM killer (v1 oom_control)
  bool under_oom = false;  // v1 oom_control "under_oom": tasks stalled now (oom_kill_disable)
  std::map<std::string, uint64_t> raw;  // memory.stat
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = kUnlimited;
  uint64_t failcnt = 0;  // pids.events "max": forks refused
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // "Read", "Write", "Sync", "Async", "Discard", "Total" (v2: Read/Write)
  uint64_t value = 0;
};

// v1: the first of blkio.bfq.*, blkio.*, blkio.throttle.* (*_recursive) that
// has entries, as runc; v2 io.stat rbytes/wbytes/rios/wios as Read/Write
// (runc drops dbytes/dios too).
struct BlkioStats {
  std::vector<BlkioEntry> io_service_bytes_recursive, io_serviced_recursive;
};

struct HugetlbStats {
  uint64_t usage = 0, max_usage = 0, limit = kUnlimited, failcnt = 0;
  bool has_max_usage = false;  // v1 only
};

// A section is present when its controller is in use for the container: on
// v2, when the leaf's cgroup.controllers lists it (cpu: whenever a cgroup2
// leaf exists, cpu.stat is always there). Files a kernel lacks leave zeros.
struct Stats {
  std::optional<CpuStats> cpu;
  std::optional<MemoryStats> memory;
  std::optional<PidsStats> pids;
  std::optional<BlkioStats> blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // page size ("2MB") -> stats
};

// runc's `events --stats` "data" object (runc types/events.go): every
// section is always present, zero values omitted where runc's omitempty
// omits them. Unlimited memory limits are 18446744073709551615 on v1 too;
// an unlimited pids limit is omitted (runc's 0).
nlohmann::json to_runc_stats_json(const Stats& s);

// One row of the beancounter table.
struct Beancounter {
  std::string resource;  // "memory", "memory+swap", "pids", "cpu", "hugetlb.2MB", ...
  std::string unit;      // "bytes", "tasks", "ns", "kills"
  uint64_t usage = 0;
  std::optional<uint64_t> max_usage;  // unset: the kernel does not track it
  uint64_t limit = kUnlimited;
  uint64_t failures = 0;
};
// Rows, each when its source is present, in this order:
//   memory       bytes  usage, max usage, limit; failures = failcnt (limit hit)
//   memory+swap  bytes  MemoryStats::swap (v1 memsw, v2 memory + swap)
//   kmem         bytes  v1 memory.kmem.*
//   kmem.tcp     bytes  v1 memory.kmem.tcp.*
//   oom          kills  usage = failures = processes the cgroup's OOM killer
//                       killed; no limit
//   pids         tasks  current, limit; failures = forks refused (pids.events max)
//   cpu          ns     usage = CPU time used; limit = the quota as CPU time
//                       allowed per period (cpu.cfs_quota_us / cpu.max, in ns),
//                       unlimited without quota; failures = throttled periods
//   hugetlb.<size> bytes usage, max usage (v1), limit, failures (failcnt / events max)
std::vector<Beancounter> beancounters(const Stats& s);

// Becomes readable (POLLIN) when the container's cgroup has an OOM event:
// v1 an eventfd registered on memory.oom_control, v2 an inotify watch on
// memory.events. consume() drains the fd and returns the OOM count since the
// previous call (0: spurious wakeup): v1 the eventfd counter (OOM events),
// v2 the increase of memory.events "oom_kill". Removing the cgroup wakes
// the v1 eventfd, and consume() then fails with "container cgroup is gone";
// v2 may stay silent then, so a waiter should also watch the container's init.
class OomWatch {
 public:
  OomWatch() = default;
  OomWatch(UniqueFd fd, UniqueFd control, std::string events_path, bool v2, uint64_t last)
      : fd_(std::move(fd)),
        control_(std::move(control)),
        events_path_(std::move(events_path)),
        v2_(v2),
        last_(last) {}
  int fd() const { return fd_.get(); }
  Result<uint64_t> consume();

 private:
  UniqueFd fd_;
  UniqueFd control_;         // v1: memory.oom_control, kept open while registered
  std::string events_path_;  // v1: memory.oom_control, v2: memory.events
  bool v2_ = false;
  uint64_t last_ = 0;  // v2: oom_kill count seen last
};

}  // namespace nsbox::cgroup
