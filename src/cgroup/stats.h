// Live usage, limits and failure counts of a container's cgroup, read from
// whichever hierarchy holds each controller (v1 or the cgroup2 leaf).
// Manager::stats() fills Stats; to_runc_events_json() renders it in the
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

// A limit the kernel reports as "max" (v2) or as the v1 page-counter maximum.
constexpr uint64_t kUnlimited = UINT64_MAX;

// One memory-like counter, as runc's MemoryEntry.
struct MemoryEntry {
  uint64_t usage = 0;
  uint64_t max_usage = 0;  // v1 *.max_usage_in_bytes, v2 memory.peak / swap.peak
  uint64_t limit = kUnlimited;
  uint64_t failcnt = 0;  // v1 *.failcnt, v2 memory.events "max"
};

struct CpuStats {
  uint64_t total_ns = 0, kernel_ns = 0, user_ns = 0;
  std::vector<uint64_t> percpu_ns;  // v1 cpuacct only
  uint64_t periods = 0, throttled_periods = 0, throttled_time_ns = 0;
  std::optional<int64_t> quota_us;  // unset: no quota
  uint64_t period_us = 100000;
};

struct MemoryStats {
  MemoryEntry usage, swap, kernel, kernel_tcp;
  bool has_swap = false, has_kernel = false, has_kernel_tcp = false;
  uint64_t cache = 0;
  uint64_t oom = 0;        // times the limit could not be met (v2 "oom", v1 under_oom count n/a)
  uint64_t oom_kill = 0;   // processes killed by the cgroup's OOM killer
  std::map<std::string, uint64_t> raw;  // memory.stat
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = kUnlimited;
  uint64_t failcnt = 0;  // pids.events "max": forks refused
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // "Read", "Write", "Sync", "Async", "Discard", "Total"
  uint64_t value = 0;
};

struct BlkioStats {
  std::vector<BlkioEntry> io_service_bytes_recursive, io_serviced_recursive;
};

struct HugetlbStats {
  uint64_t usage = 0, max_usage = 0, limit = kUnlimited, failcnt = 0;
};

// A section is present when its controller is in use for the container.
struct Stats {
  std::optional<CpuStats> cpu;
  std::optional<MemoryStats> memory;
  std::optional<PidsStats> pids;
  std::optional<BlkioStats> blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // page size ("2MB") -> stats
};

// runc's `events --stats` "data" object (libcontainer's types).
nlohmann::json to_runc_stats_json(const Stats& s);

// One row of the beancounter table.
struct Beancounter {
  std::string resource;  // "memory", "swap", "pids", "cpu", "hugetlb.2MB", ...
  std::string unit;      // "bytes", "tasks", "ns"
  uint64_t usage = 0;
  std::optional<uint64_t> max_usage;  // unset: the kernel does not track it
  uint64_t limit = kUnlimited;
  uint64_t failures = 0;
};
std::vector<Beancounter> beancounters(const Stats& s);

// Becomes readable (POLLIN) when the container's cgroup has an OOM event:
// v1 an eventfd registered on memory.oom_control, v2 an inotify watch on
// memory.events. consume() drains the fd and returns how many OOM kills
// happened since the previous call (0: spurious wakeup).
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
  std::string events_path_;  // v2: memory.events
  bool v2_ = false;
  uint64_t last_ = 0;  // v2: oom_kill count seen last
};

}  // namespace nsbox::cgroup
