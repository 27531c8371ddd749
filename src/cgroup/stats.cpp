// read_stats() and watch_oom(): usage, limits and failure counts from the
// control files of whichever hierarchy serves each controller (v1 directory,
// else the cgroup2 leaf), and OOM notifications. Rendering (runc JSON,
// beancounters) is in stats_report.cpp.
#include "cgroup/stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cgroup/controllers.h"
#include "cgroup/dir.h"
#include "common/util.h"

namespace nsbox::cgroup {
namespace {

constexpr uint64_t kNsPerUs = 1000;
constexpr uint64_t kNsPerSec = 1000000000;
constexpr const char* kHugepagesDir = "/sys/kernel/mm/hugepages";

using KeyValues = std::map<std::string, uint64_t>;

Error gone() { return make_error("container cgroup is gone", ENOENT); }

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Error bad_content(const CgroupDir& d, const std::string& name, std::string_view text) {
  return make_error("cgroup " + join_path(d.path(), name) + ": unexpected content " +
                    nsbox::quoted(text.substr(0, 200)));
}

// A control file's text; nullopt when it does not exist (a controller
// feature this kernel lacks); an error when the cgroup itself is gone.
Result<std::optional<std::string>> read_opt(const CgroupDir& d, const std::string& name) {
  auto text = d.read_file(name);
  if (text) return std::optional<std::string>(std::move(text).value());
  int err = text.error().code;
  if (err == ENODEV || (err == ENOENT && !path_exists(d.path()))) return gone();
  if (err == ENOENT || err == EOPNOTSUPP) return std::optional<std::string>();
  return std::move(text).error();
}

// A one-value file: a decimal number or "max" (kUnlimited). Missing: *out
// untouched, false returned.
Result<bool> read_u64(const CgroupDir& d, const std::string& name, uint64_t* out) {
  auto text = read_opt(d, name);
  if (!text) return std::move(text).error();
  if (!*text) return false;
  std::string v = trim(**text);
  if (v == "max") {
    *out = kUnlimited;
    return true;
  }
  auto n = to_u64(v);
  if (!n) return bad_content(d, name, v);
  *out = *n;
  return true;
}

// Page-counter limits: the counter's maximum (PAGE_COUNTER_MAX pages, maybe
// rounded down to a huge page) means no limit. v1 prints it as bytes; so
// does v2's hugetlb.<size>.max on some kernels (6.x) instead of "max".
Result<bool> read_counter_limit(const CgroupDir& d, const std::string& name, uint64_t granule,
                                uint64_t* out) {
  auto found = read_u64(d, name, out);
  if (found && *found && *out > static_cast<uint64_t>(INT64_MAX) - granule) *out = kUnlimited;
  return found;
}

// "key value" lines (memory.stat, cpu.stat, memory.events, ...). Lines that
// are not a key and a decimal number are skipped. Missing file: empty map.
Result<KeyValues> read_keyed(const CgroupDir& d, const std::string& name, bool* found = nullptr) {
  auto text = read_opt(d, name);
  if (!text) return std::move(text).error();
  if (found != nullptr) *found = text->has_value();
  KeyValues out;
  if (!*text) return out;
  for (const auto& line : split(**text, '\n')) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    if (auto v = to_u64(trim(std::string_view(line).substr(sp + 1)))) out[line.substr(0, sp)] = *v;
  }
  return out;
}

uint64_t value_of(const KeyValues& kv, const std::string& key) {
  auto it = kv.find(key);
  return it == kv.end() ? 0 : it->second;
}

// Whitespace-separated numbers (cpuacct.usage_percpu).
Result<std::vector<uint64_t>> read_list(const CgroupDir& d, const std::string& name) {
  auto text = read_opt(d, name);
  if (!text) return std::move(text).error();
  std::vector<uint64_t> out;
  if (!*text) return out;
  for (const auto& f : split(trim(**text), ' ')) {
    if (f.empty()) continue;
    auto v = to_u64(f);
    if (!v) return bad_content(d, name, f);
    out.push_back(*v);
  }
  return out;
}

// Which directory serves each controller for this container. On v2 a
// controller's files exist in the leaf only when the parent enabled it
// (the leaf's cgroup.controllers lists it).
class Sources {
 public:
  explicit Sources(const std::vector<CgroupDir>& dirs) : dirs_(dirs) {
    for (const auto& d : dirs_)
      if (d.v2() && v2_leaf_ == nullptr) v2_leaf_ = &d;
  }

  const CgroupDir* v2_leaf() const { return v2_leaf_; }

  // The directory serving controller, or nullptr when none does.
  Result<const CgroupDir*> serving(std::string_view controller) {
    const CgroupDir* d = dir_for(dirs_, controller);
    if (d == nullptr || !d->v2()) return d;
    if (!leaf_controllers_) {
      auto text = read_opt(*d, "cgroup.controllers");
      if (!text) return std::move(text).error();
      leaf_controllers_.emplace();
      if (*text) {
        for (auto& c : split(trim(**text), ' '))
          if (!c.empty()) leaf_controllers_->push_back(std::move(c));
      }
    }
    bool on = std::find(leaf_controllers_->begin(), leaf_controllers_->end(), controller) !=
              leaf_controllers_->end();
    return on ? d : nullptr;
  }

 private:
  const std::vector<CgroupDir>& dirs_;
  const CgroupDir* v2_leaf_ = nullptr;
  std::optional<std::vector<std::string>> leaf_controllers_;
};

// ---- cpu ----------------------------------------------------------------

Status read_cpuacct_v1(const CgroupDir& d, CpuStats* c) {
  NSBOX_TRY(read_u64(d, "cpuacct.usage", &c->total_ns));
  auto percpu = read_list(d, "cpuacct.usage_percpu");
  if (!percpu) return std::move(percpu).error();
  c->percpu_ns = std::move(percpu).value();
  // "cpu user system" per CPU in ns, after a header line.
  auto all = read_opt(d, "cpuacct.usage_all");
  if (!all) return std::move(all).error();
  if (*all) {
    auto lines = split(**all, '\n');
    for (size_t i = 1; i < lines.size(); ++i) {
      auto f = split(lines[i], ' ');
      if (f.size() != 3) continue;
      auto user = to_u64(f[1]);
      auto sys = to_u64(f[2]);
      if (!user || !sys) return bad_content(d, "cpuacct.usage_all", lines[i]);
      c->percpu_user_ns.push_back(*user);
      c->percpu_kernel_ns.push_back(*sys);
    }
  }
  // cpuacct.stat counts USER_HZ ticks.
  auto stat = read_keyed(d, "cpuacct.stat");
  if (!stat) return std::move(stat).error();
  long hz = ::sysconf(_SC_CLK_TCK);
  uint64_t ticks = hz > 0 ? static_cast<uint64_t>(hz) : 100;
  c->user_ns = value_of(*stat, "user") * kNsPerSec / ticks;
  c->kernel_ns = value_of(*stat, "system") * kNsPerSec / ticks;
  return {};
}

Status read_cpu_v1(const CgroupDir& d, CpuStats* c) {
  auto stat = read_keyed(d, "cpu.stat");
  if (!stat) return std::move(stat).error();
  c->periods = value_of(*stat, "nr_periods");
  c->throttled_periods = value_of(*stat, "nr_throttled");
  c->throttled_time_ns = value_of(*stat, "throttled_time");
  auto quota = read_opt(d, "cpu.cfs_quota_us");
  if (!quota) return std::move(quota).error();
  if (*quota) {
    long long q = 0;
    if (!parse_int64(trim(**quota), &q)) return bad_content(d, "cpu.cfs_quota_us", **quota);
    if (q > 0) c->quota_us = q;
  }
  auto period = read_u64(d, "cpu.cfs_period_us", &c->period_us);
  if (!period) return std::move(period).error();
  return {};
}

Status read_cpu_max_v2(const CgroupDir& d, CpuStats* c) {
  auto text = read_opt(d, "cpu.max");
  if (!text) return std::move(text).error();
  if (!*text) return {};
  auto f = split(trim(**text), ' ');
  if (f.size() != 2) return bad_content(d, "cpu.max", **text);
  auto period = to_u64(f[1]);
  if (!period) return bad_content(d, "cpu.max", **text);
  c->period_us = *period;
  if (f[0] == "max") return {};
  long long q = 0;
  if (!parse_int64(f[0], &q)) return bad_content(d, "cpu.max", **text);
  c->quota_us = q;
  return {};
}

Status read_cpu(Sources& src, Stats* s) {
  auto acct = src.serving("cpuacct");
  if (!acct) return std::move(acct).error();
  auto cpu = src.serving("cpu");
  if (!cpu) return std::move(cpu).error();
  const CgroupDir* v2 = src.v2_leaf();
  if (*acct == nullptr && *cpu == nullptr && v2 == nullptr) return {};
  CpuStats c;
  // Usage: v1 cpuacct, else the cgroup2 leaf's cpu.stat, which exists even
  // without the cpu controller.
  bool usage_v1 = *acct != nullptr && !(*acct)->v2();
  bool bandwidth_v2 = *cpu != nullptr && (*cpu)->v2();
  KeyValues v2_stat;
  if (v2 != nullptr && (!usage_v1 || bandwidth_v2)) {
    auto stat = read_keyed(*v2, "cpu.stat");
    if (!stat) return std::move(stat).error();
    v2_stat = std::move(stat).value();
  }
  if (usage_v1) {
    NSBOX_TRY(read_cpuacct_v1(**acct, &c));
  } else if (v2 != nullptr) {
    c.total_ns = value_of(v2_stat, "usage_usec") * kNsPerUs;
    c.user_ns = value_of(v2_stat, "user_usec") * kNsPerUs;
    c.kernel_ns = value_of(v2_stat, "system_usec") * kNsPerUs;
  }
  // Bandwidth: v1 cpu, else v2 cpu (nr_* lines appear with the controller).
  if (*cpu != nullptr && !(*cpu)->v2()) {
    NSBOX_TRY(read_cpu_v1(**cpu, &c));
  } else if (bandwidth_v2) {
    c.periods = value_of(v2_stat, "nr_periods");
    c.throttled_periods = value_of(v2_stat, "nr_throttled");
    c.throttled_time_ns = value_of(v2_stat, "throttled_usec") * kNsPerUs;
    NSBOX_TRY(read_cpu_max_v2(**cpu, &c));
  }
  s->cpu = std::move(c);
  return {};
}

// ---- memory -------------------------------------------------------------

uint64_t page_size() {
  long ps = ::sysconf(_SC_PAGESIZE);
  return ps > 0 ? static_cast<uint64_t>(ps) : 4096;
}

// v1 <prefix>.usage_in_bytes, .max_usage_in_bytes, .limit_in_bytes,
// .failcnt; false when the counter does not exist (no swap accounting...).
Result<bool> read_entry_v1(const CgroupDir& d, const std::string& prefix, MemoryEntry* e) {
  auto found = read_u64(d, prefix + ".usage_in_bytes", &e->usage);
  if (!found || !*found) return found;
  auto max = read_u64(d, prefix + ".max_usage_in_bytes", &e->max_usage);
  if (!max) return std::move(max).error();
  e->has_max_usage = *max;
  NSBOX_TRY(read_counter_limit(d, prefix + ".limit_in_bytes", page_size(), &e->limit));
  NSBOX_TRY(read_u64(d, prefix + ".failcnt", &e->failcnt));
  return true;
}

Status read_memory_v1(const CgroupDir& d, MemoryStats* m) {
  NSBOX_TRY(read_entry_v1(d, "memory", &m->usage));
  auto swap = read_entry_v1(d, "memory.memsw", &m->swap);
  if (!swap) return std::move(swap).error();
  m->has_swap = *swap;
  auto kmem = read_entry_v1(d, "memory.kmem", &m->kernel);
  if (!kmem) return std::move(kmem).error();
  m->has_kernel = *kmem;
  auto tcp = read_entry_v1(d, "memory.kmem.tcp", &m->kernel_tcp);
  if (!tcp) return std::move(tcp).error();
  m->has_kernel_tcp = *tcp;
  auto oom = read_keyed(d, "memory.oom_control");
  if (!oom) return std::move(oom).error();
  m->oom_kill = value_of(*oom, "oom_kill");
  m->under_oom = value_of(*oom, "under_oom") != 0;
  auto raw = read_keyed(d, "memory.stat");
  if (!raw) return std::move(raw).error();
  m->raw = std::move(raw).value();
  m->cache = value_of(m->raw, "cache");
  return {};
}

Status read_memory_v2(const CgroupDir& d, MemoryStats* m) {
  NSBOX_TRY(read_u64(d, "memory.current", &m->usage.usage));
  auto peak = read_u64(d, "memory.peak", &m->usage.max_usage);  // since 5.19
  if (!peak) return std::move(peak).error();
  m->usage.has_max_usage = *peak;
  NSBOX_TRY(read_u64(d, "memory.max", &m->usage.limit));
  auto events = read_keyed(d, "memory.events");
  if (!events) return std::move(events).error();
  m->usage.failcnt = value_of(*events, "max");
  m->oom = value_of(*events, "oom");
  m->oom_kill = value_of(*events, "oom_kill");
  // Swap: reported as memory + swap, as v1's memsw and runc do.
  uint64_t swap = 0;
  auto has_swap = read_u64(d, "memory.swap.current", &swap);
  if (!has_swap) return std::move(has_swap).error();
  m->has_swap = *has_swap;
  if (m->has_swap) {
    uint64_t swap_max = kUnlimited;
    NSBOX_TRY(read_u64(d, "memory.swap.max", &swap_max));
    auto swap_events = read_keyed(d, "memory.swap.events");
    if (!swap_events) return std::move(swap_events).error();
    m->swap.usage = m->usage.usage + swap;
    m->swap.limit = swap_max == kUnlimited || m->usage.limit == kUnlimited
                        ? kUnlimited
                        : swap_max + m->usage.limit;
    m->swap.failcnt = value_of(*swap_events, "max");
  }
  auto raw = read_keyed(d, "memory.stat");
  if (!raw) return std::move(raw).error();
  m->raw = std::move(raw).value();
  m->cache = value_of(m->raw, "file");
  return {};
}

Status read_memory(Sources& src, Stats* s) {
  auto d = src.serving("memory");
  if (!d) return std::move(d).error();
  if (*d == nullptr) return {};
  MemoryStats m;
  NSBOX_TRY((*d)->v2() ? read_memory_v2(**d, &m) : read_memory_v1(**d, &m));
  s->memory = std::move(m);
  return {};
}

// ---- pids ---------------------------------------------------------------

Status read_pids(Sources& src, Stats* s) {
  auto d = src.serving("pids");
  if (!d) return std::move(d).error();
  if (*d == nullptr) return {};
  PidsStats p;
  NSBOX_TRY(read_u64(**d, "pids.current", &p.current));
  NSBOX_TRY(read_u64(**d, "pids.max", &p.limit));
  auto events = read_keyed(**d, "pids.events");
  if (!events) return std::move(events).error();
  p.failcnt = value_of(*events, "max");
  s->pids = p;
  return {};
}

// ---- blkio / io ---------------------------------------------------------

// "8:0 Read 123" lines ("8:0 123" without an op); the "Total N" summary
// line is skipped.
Result<std::vector<BlkioEntry>> parse_blkio_file(const CgroupDir& d, const std::string& name) {
  auto text = read_opt(d, name);
  if (!text) return std::move(text).error();
  std::vector<BlkioEntry> out;
  if (!*text) return out;
  for (const auto& line : split(**text, '\n')) {
    std::vector<std::string> f;
    for (auto& w : split(line, ' '))
      if (!w.empty()) f.push_back(std::move(w));
    if (f.empty() || (f.size() == 2 && f[0] == "Total")) continue;
    size_t colon = f[0].find(':');
    if ((f.size() != 2 && f.size() != 3) || colon == std::string::npos) {
      return bad_content(d, name, line);
    }
    auto major = to_u64(std::string_view(f[0]).substr(0, colon));
    auto minor = to_u64(std::string_view(f[0]).substr(colon + 1));
    auto value = to_u64(f.back());
    if (!major || !minor || !value) return bad_content(d, name, line);
    out.push_back(BlkioEntry{*major, *minor, f.size() == 3 ? f[1] : "", *value});
  }
  return out;
}

Status read_blkio_v1(const CgroupDir& d, BlkioStats* b) {
  // runc's order: the first family whose serviced file has entries.
  static const char* const kFamilies[][2] = {
      {"blkio.bfq.io_serviced_recursive", "blkio.bfq.io_service_bytes_recursive"},
      {"blkio.io_serviced_recursive", "blkio.io_service_bytes_recursive"},
      {"blkio.throttle.io_serviced_recursive", "blkio.throttle.io_service_bytes_recursive"},
      {"blkio.throttle.io_serviced", "blkio.throttle.io_service_bytes"},
  };
  for (const auto& family : kFamilies) {
    auto serviced = parse_blkio_file(d, family[0]);
    if (!serviced) return std::move(serviced).error();
    if (serviced->empty()) continue;
    auto bytes = parse_blkio_file(d, family[1]);
    if (!bytes) return std::move(bytes).error();
    b->io_serviced_recursive = std::move(serviced).value();
    b->io_service_bytes_recursive = std::move(bytes).value();
    return {};
  }
  return {};
}

// "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6": bytes and ios as
// v1-style Read/Write entries, as runc maps them (discards are dropped).
Status read_io_v2(const CgroupDir& d, BlkioStats* b) {
  auto text = read_opt(d, "io.stat");
  if (!text) return std::move(text).error();
  if (!*text) return {};
  for (const auto& line : split(**text, '\n')) {
    std::vector<std::string> f;
    for (auto& w : split(line, ' '))
      if (!w.empty()) f.push_back(std::move(w));
    if (f.size() < 2) continue;
    size_t colon = f[0].find(':');
    if (colon == std::string::npos) continue;
    auto major = to_u64(std::string_view(f[0]).substr(0, colon));
    auto minor = to_u64(std::string_view(f[0]).substr(colon + 1));
    if (!major || !minor) return bad_content(d, "io.stat", line);
    for (size_t i = 1; i < f.size(); ++i) {
      size_t eq = f[i].find('=');
      if (eq == std::string::npos) continue;
      std::string key = f[i].substr(0, eq);
      std::vector<BlkioEntry>* table = nullptr;
      const char* op = nullptr;
      if (key == "rbytes" || key == "wbytes") table = &b->io_service_bytes_recursive;
      if (key == "rios" || key == "wios") table = &b->io_serviced_recursive;
      if (table == nullptr) continue;
      op = key[0] == 'r' ? "Read" : "Write";
      auto value = to_u64(std::string_view(f[i]).substr(eq + 1));
      if (!value) return bad_content(d, "io.stat", line);
      table->push_back(BlkioEntry{*major, *minor, op, *value});
    }
  }
  return {};
}

Status read_blkio(Sources& src, Stats* s) {
  auto v1 = src.serving("blkio");
  if (!v1) return std::move(v1).error();
  const CgroupDir* d = *v1;
  if (d == nullptr) {
    auto v2 = src.serving("io");
    if (!v2) return std::move(v2).error();
    d = *v2;
  }
  if (d == nullptr) return {};
  BlkioStats b;
  NSBOX_TRY(d->v2() ? read_io_v2(*d, &b) : read_blkio_v1(*d, &b));
  s->blkio = std::move(b);
  return {};
}

// ---- hugetlb ------------------------------------------------------------

struct HugePageSize {
  uint64_t bytes;
  std::string name;  // "2MB", as the hugetlb control files name it
};

// 2097152 -> "2MB", 65536 -> "64KB", 1073741824 -> "1GB".
std::string huge_page_name(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%s", v, kUnits[unit]);
  return buf;
}

// The huge page sizes the kernel supports: /sys/kernel/mm/hugepages/hugepages-<N>kB.
std::vector<HugePageSize> huge_page_sizes() {
  std::vector<HugePageSize> out;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(kHugepagesDir), ::closedir);
  if (!dir) return out;
  while (const dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    constexpr std::string_view kPrefix = "hugepages-", kSuffix = "kB";
    if (name.size() <= kPrefix.size() + kSuffix.size() || !starts_with(name, kPrefix) ||
        name.substr(name.size() - kSuffix.size()) != kSuffix) {
      continue;
    }
    auto kb = to_u64(name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
    if (kb) out.push_back(HugePageSize{*kb * 1024, huge_page_name(*kb * 1024)});
  }
  std::sort(out.begin(), out.end(),
            [](const HugePageSize& a, const HugePageSize& b) { return a.bytes < b.bytes; });
  return out;
}

Status read_hugetlb(Sources& src, Stats* s) {
  auto d = src.serving("hugetlb");
  if (!d) return std::move(d).error();
  if (*d == nullptr) return {};
  const CgroupDir& dir = **d;
  for (const auto& size : huge_page_sizes()) {
    std::string prefix = "hugetlb." + size.name;
    HugetlbStats h;
    if (dir.v2()) {
      auto found = read_u64(dir, prefix + ".current", &h.usage);
      if (!found) return std::move(found).error();
      if (!*found) continue;
      NSBOX_TRY(read_counter_limit(dir, prefix + ".max", size.bytes, &h.limit));
      auto events = read_keyed(dir, prefix + ".events");
      if (!events) return std::move(events).error();
      h.failcnt = value_of(*events, "max");
    } else {
      auto found = read_u64(dir, prefix + ".usage_in_bytes", &h.usage);
      if (!found) return std::move(found).error();
      if (!*found) continue;
      auto max = read_u64(dir, prefix + ".max_usage_in_bytes", &h.max_usage);
      if (!max) return std::move(max).error();
      h.has_max_usage = *max;
      NSBOX_TRY(read_counter_limit(dir, prefix + ".limit_in_bytes", size.bytes, &h.limit));
      NSBOX_TRY(read_u64(dir, prefix + ".failcnt", &h.failcnt));
    }
    s->hugetlb[size.name] = h;
  }
  return {};
}

// memory.events "oom_kill" of a v2 cgroup, read by path.
Result<uint64_t> oom_kills_v2(const std::string& events_path) {
  auto text = nsbox::read_file(events_path);
  if (!text) {
    int err = text.error().code;
    if (err == ENOENT || err == ENODEV) return gone();
    return std::move(text).error();
  }
  for (const auto& line : split(*text, '\n')) {
    if (!starts_with(line, "oom_kill ")) continue;
    if (auto v = to_u64(trim(std::string_view(line).substr(9)))) return *v;
    return make_error(events_path + ": unexpected content " + nsbox::quoted(line));
  }
  return uint64_t{0};
}

}  // namespace

Result<Stats> read_stats(const std::vector<CgroupDir>& dirs) {
  for (const auto& d : dirs)
    if (!path_exists(d.path())) return gone();
  Sources src(dirs);
  Stats s;
  NSBOX_TRY(read_cpu(src, &s));
  NSBOX_TRY(read_memory(src, &s));
  NSBOX_TRY(read_pids(src, &s));
  NSBOX_TRY(read_blkio(src, &s));
  NSBOX_TRY(read_hugetlb(src, &s));
  return s;
}

Result<OomWatch> watch_oom(const std::vector<CgroupDir>& dirs) {
  const CgroupDir* d = dir_for(dirs, "memory");
  if (d == nullptr) return make_error("no memory cgroup controller on this host");
  if (!path_exists(d->path())) return gone();
  if (d->v2()) {
    Sources src(dirs);
    auto on = src.serving("memory");
    if (!on) return std::move(on).error();
    if (*on == nullptr) {
      return make_error("the memory controller is not enabled for the container's cgroup " +
                        d->path());
    }
    std::string path = join_path(d->path(), "memory.events");
    UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!fd) return sys_error("inotify_init1");
    if (::inotify_add_watch(fd.get(), path.c_str(), IN_MODIFY) < 0) {
      if (errno == ENOENT && !path_exists(d->path())) return gone();
      return sys_error("inotify_add_watch " + path);
    }
    // Read after the watch exists: a kill in between is counted here, not lost.
    auto kills = oom_kills_v2(path);
    if (!kills) return std::move(kills).error();
    return OomWatch(std::move(fd), UniqueFd(), path, true, *kills);
  }
  UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!efd) return sys_error("eventfd");
  std::string path = join_path(d->path(), "memory.oom_control");
  UniqueFd control(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!control) {
    if (errno == ENOENT && !path_exists(d->path())) return gone();
    return sys_error("open " + path);
  }
  std::string line = std::to_string(efd.get()) + " " + std::to_string(control.get());
  NSBOX_TRY_CTX(d->write_file("cgroup.event_control", line), "register OOM notification");
  return OomWatch(std::move(efd), std::move(control), path, false, 0);
}

Result<uint64_t> OomWatch::consume() {
  if (!fd_) return make_error("OOM watch is not set up");
  if (!v2_) {
    uint64_t n = 0;
    ssize_t got = 0;
    do {
      got = ::read(fd_.get(), &n, sizeof n);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && errno != EAGAIN) return sys_error("read OOM eventfd");
    if (got != static_cast<ssize_t>(sizeof n)) return uint64_t{0};
    // The kernel also signals the eventfd when the cgroup is removed.
    if (!path_exists(events_path_)) return gone();
    return n;
  }
  alignas(inotify_event) char buf[4096];
  bool removed = false;
  for (;;) {
    ssize_t got = ::read(fd_.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) break;
    if (got < 0) return sys_error("read inotify");
    if (got == 0) break;
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= got;) {
      inotify_event ev{};
      std::copy_n(buf + off, sizeof ev, reinterpret_cast<char*>(&ev));
      if ((ev.mask & IN_IGNORED) != 0) removed = true;
      off += static_cast<ssize_t>(sizeof ev + ev.len);
    }
  }
  auto kills = oom_kills_v2(events_path_);
  if (!kills) return std::move(kills).error();
  if (removed) return gone();
  uint64_t delta = *kills > last_ ? *kills - last_ : 0;
  last_ = *kills;
  return delta;
}

}  // namespace nsbox::cgroup
