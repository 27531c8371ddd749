// Manager::apply_resources: linux.resources (devices aside) written to the
// control files of the directory serving each controller (controllers.h).
// Three passes, so that a field the host cannot honour fails before anything
// is written:
//  1. plan: route every field that is set to its directory, convert values
//     for cgroup v2, reject fields the serving cgroup version lacks;
//  2. on cgroup v2, enable each controller the plan needs in the
//     cgroup.subtree_control of every level above the leaf; then check that
//     every control file exists (some only appear once their controller is
//     enabled), picking among alternatives (blkio.weight/blkio.bfq.weight...);
//  3. write, in runc's order. Writes that depend on each other (memory and
//     memory+swap, CFS period, burst and quota, realtime period and runtime)
//     form a group: one failing with EINVAL is retried after the others.
// Values runc treats as "unset" (0 for memory limits, CPU shares, quota and
// period) are not written either.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <utility>

#include "cgroup/controllers.h"
#include "cgroup/resources_internal.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/util.h"

namespace nsbox::cgroup {

uint64_t cpu_shares_to_weight(uint64_t shares) {
  constexpr uint64_t kMaxShares = 262144;
  constexpr uint64_t kMaxWeight = 10000;
  if (shares == 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= kMaxShares) return kMaxWeight;
  double l = std::log2(static_cast<double>(shares));
  // A quadratic in log2(shares) through (2, 1), (1024, 100) and (262144, 10000).
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<uint64_t>(std::ceil(std::pow(10, exponent)));
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<std::optional<std::string>> swap_max_value(int64_t swap, int64_t memory) {
  // Memory unlimited and swap unset: both unlimited, as v1 would have it.
  if (memory == -1 && swap == 0) return std::optional<std::string>("max");
  if (swap == -1) return std::optional<std::string>("max");
  if (swap == 0) return std::optional<std::string>();
  if (memory == 0 || memory == -1) {
    return make_error("unable to set swap limit without memory limit");
  }
  if (memory < 0) return make_error("invalid memory value " + std::to_string(memory));
  if (swap < memory) {
    return make_error("memory+swap limit " + std::to_string(swap) + " is lower than memory limit " +
                      std::to_string(memory));
  }
  return std::optional<std::string>(std::to_string(swap - memory));
}

std::string hugepage_size_name(uint64_t kb) {
  constexpr uint64_t kMB = 1024;  // in kB
  constexpr uint64_t kGB = kMB * 1024;
  if (kb != 0 && kb % kGB == 0) return std::to_string(kb / kGB) + "GB";
  if (kb != 0 && kb % kMB == 0) return std::to_string(kb / kMB) + "MB";
  return std::to_string(kb) + "KB";
}

namespace {

std::string field(std::string_view sub) { return "linux.resources." + std::string(sub); }

bool is_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "parent.key", or "parent.\"key\"" when key is not identifier-like (as the
// JSON paths of spec parsing errors).
std::string key_path(const std::string& parent, std::string_view key) {
  return parent + "." + (is_identifier(key) ? std::string(key) : nsbox::quoted(key));
}

std::string index_path(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

// v2 spelling of a v1-style value: -1 is "max".
std::string v2_value(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

std::string device(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || (static_cast<unsigned char>(c) < 0x20); });
}

bool file_exists(const std::string& path) {
  return ::faccessat(AT_FDCWD, path.c_str(), F_OK, 0) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

Result<uint64_t> read_uint(const CgroupDir& d, const std::string& file) {
  auto text = d.read_file(file);
  if (!text) return std::move(text).error();
  long long v = 0;
  std::string t = trim(*text);
  if (t == "max") return UINT64_MAX;
  if (!parse_int64(t, &v) || v < 0)
    return make_error(file + ": unexpected content " + nsbox::quoted(t));
  return static_cast<uint64_t>(v);
}

// Host hugepage sizes ("2MB, 1GB"), from /sys/kernel/mm/hugepages.
std::string host_hugepage_sizes() {
  std::vector<uint64_t> kbs;
  if (DIR* d = ::opendir("/sys/kernel/mm/hugepages")) {
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      constexpr std::string_view kPrefix = "hugepages-";
      constexpr std::string_view kSuffix = "kB";
      if (!starts_with(name, kPrefix) || name.size() <= kPrefix.size() + kSuffix.size() ||
          name.substr(name.size() - kSuffix.size()) != kSuffix) {
        continue;
      }
      long long kb = 0;
      auto digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
      if (parse_int64(digits, &kb) && kb > 0) kbs.push_back(static_cast<uint64_t>(kb));
    }
    ::closedir(d);
  }
  std::sort(kbs.begin(), kbs.end());
  std::string out;
  for (uint64_t kb : kbs) out += (out.empty() ? "" : ", ") + hugepage_size_name(kb);
  return out.empty() ? "none" : out;
}

// Levels from the hierarchy's mountpoint down to the leaf's parent get "+C"
// in cgroup.subtree_control unless C is already there, so that the leaf has
// C's control files.
Status enable_controller(const CgroupDir& d, const std::string& controller) {
  const std::string& mount = d.hierarchy().mountpoint;
  std::string leaf = d.path();
  std::vector<std::string> parts;
  for (auto& p : split(std::string_view(leaf).substr(std::min(mount.size(), leaf.size())), '/'))
    if (!p.empty()) parts.push_back(std::move(p));
  std::string level = mount;
  for (const auto& part : parts) {
    std::string file = join_path(level, "cgroup.subtree_control");
    auto cur = nsbox::read_file(file);
    if (!cur) return std::move(cur).error().wrap("enable the " + controller + " controller");
    auto enabled = split(trim(*cur), ' ');
    if (std::find(enabled.begin(), enabled.end(), controller) == enabled.end()) {
      NSBOX_TRY_CTX(nsbox::write_file(file, "+" + controller),
                    "enable the " + controller + " controller");
    }
    level = join_path(level, part);
  }
  return {};
}

// One control file to write. Among choices, the first whose file exists is
// written.
struct Choice {
  std::string file, value;
};

struct Op {
  std::string field;  // JSON path named by errors
  const CgroupDir* dir = nullptr;
  std::string controller;  // v2: enabled above the leaf first ("" for cgroup.* files)
  std::vector<Choice> choices;
  bool optional = false;       // no file: nothing to do
  std::string missing;         // why the host lacks every choice (default: names the file)
  int group = 0;               // consecutive ops with the same non-zero group are ordered together
  bool verify_shares = false;  // v1 cpu.shares: the kernel clamps silently; read it back
  size_t chosen = 0;
  bool skip = false;
};

Status write_op(const Op& op) {
  const Choice& c = op.choices[op.chosen];
  std::string path = join_path(op.dir->path(), c.file);
  auto fail = [&](int err) {
    return make_error(
        op.field + ": write " + c.file + " " + nsbox::quoted(c.value) + ": " + std::strerror(err),
        err);
  };
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return fail(errno);
  ssize_t n = ::write(fd.get(), c.value.data(), c.value.size());
  if (n < 0) return fail(errno);
  if (static_cast<size_t>(n) != c.value.size()) return fail(EIO);
  if (op.verify_shares) {
    auto got = read_uint(*op.dir, c.file);
    if (!got) return std::move(got).error().wrap(op.field);
    long long want_signed = 0;
    (void)parse_int64(c.value, &want_signed);
    auto want = static_cast<uint64_t>(want_signed);
    if (want > *got) {
      return make_error(op.field + ": the maximum allowed cpu-shares is " + std::to_string(*got));
    }
    if (want < *got) {
      return make_error(op.field + ": the minimum allowed cpu-shares is " + std::to_string(*got));
    }
  }
  return {};
}

// Where a controller's files go: dir is null when the host lacks it; v2 says
// which cgroup version would serve it (pure v2 hosts: v2 even when missing).
struct Target {
  const CgroupDir* dir = nullptr;
  bool v2 = false;
};

class Plan {
 public:
  explicit Plan(const std::vector<CgroupDir>& dirs) : dirs_(dirs) {}

  Status memory(const spec::MemoryResources& m);
  Status cpu(const spec::CpuResources& c);
  Status pids(int64_t limit);
  Status block_io(const spec::BlockIoResources& b);
  Status hugepages(const std::vector<spec::HugepageLimit>& limits);
  Status network(const spec::NetworkResources& n);
  Status rdma(const std::map<std::string, spec::RdmaLimit>& limits);
  Status unified(const std::map<std::string, std::string>& files);
  Status apply();

 private:
  Target target(std::string_view controller) const {
    const CgroupDir* d = dir_for(dirs_, controller);
    bool pure_v2 = !dirs_.empty() && std::all_of(dirs_.begin(), dirs_.end(),
                                                 [](const CgroupDir& x) { return x.v2(); });
    return Target{d, d != nullptr ? d->v2() : pure_v2};
  }
  static Error missing(const std::string& f, std::string_view controller) {
    return make_error(f + ": no " + std::string(controller) + " cgroup controller on this host");
  }
  static Error not_v2(const std::string& f, const std::string& why = "") {
    return make_error(f + ": not available on cgroup v2" + (why.empty() ? "" : " (" + why + ")"));
  }
  Op& add(std::string f, const CgroupDir* d, std::string controller, std::string file,
          std::string value, int group = 0) {
    Op op;
    op.field = std::move(f);
    op.dir = d;
    op.controller = std::move(controller);
    op.choices.push_back(Choice{std::move(file), std::move(value)});
    op.group = group;
    ops_.push_back(std::move(op));
    return ops_.back();
  }
  Status resolve(Op* op) const;
  Status write_group(size_t begin, size_t end) const;

  const std::vector<CgroupDir>& dirs_;
  std::vector<Op> ops_;
  int groups_ = 0;
};

Status Plan::memory(const spec::MemoryResources& m) {
  if (m.kernel) {
    log::warn(field("memory.kernel") + " is ignored (deprecated by the kernel), as runc does");
  }
  if (m.kernel_tcp) {
    log::warn(field("memory.kernelTCP") + " is ignored (deprecated by the kernel), as runc does");
  }
  bool limit = m.limit && *m.limit != 0;
  bool reservation = m.reservation && *m.reservation != 0;
  bool swap = m.swap && *m.swap != 0;
  std::string first;
  if (limit) {
    first = "memory.limit";
  } else if (reservation) {
    first = "memory.reservation";
  } else if (swap) {
    first = "memory.swap";
  } else if (m.swappiness) {
    first = "memory.swappiness";
  } else if (m.disable_oom_killer) {
    first = "memory.disableOOMKiller";
  } else if (m.use_hierarchy) {
    first = "memory.useHierarchy";
  } else {
    return {};  // checkBeforeUpdate alone, or only ignored fields
  }
  Target t = target("memory");
  if (t.v2) {
    if (m.swappiness) return not_v2(field("memory.swappiness"));
    if (m.disable_oom_killer.value_or(false)) return not_v2(field("memory.disableOOMKiller"));
    if (m.use_hierarchy && !*m.use_hierarchy) {
      return not_v2(field("memory.useHierarchy"), "it is always hierarchical");
    }
  }
  const CgroupDir* d = t.dir;
  if (d == nullptr) return missing(field(first), "memory");

  if (!d->v2()) {
    // memory+swap must stay >= memory: the group retries whichever write the
    // kernel refuses with EINVAL after the other.
    int g = ++groups_;
    int64_t memsw = swap ? *m.swap : 0;  // 0: not written
    std::string memsw_field = field("memory.swap");
    if (m.limit == -1 && !swap &&
        file_exists(join_path(d->path(), "memory.memsw.limit_in_bytes"))) {
      memsw = -1;  // unlimited memory means unlimited memory+swap, as runc
      memsw_field = field("memory.limit");
    }
    if (limit) {
      add(field("memory.limit"), d, "memory", "memory.limit_in_bytes", std::to_string(*m.limit), g);
    }
    if (memsw != 0) {
      add(memsw_field, d, "memory", "memory.memsw.limit_in_bytes", std::to_string(memsw), g);
    }
    if (reservation) {
      add(field("memory.reservation"), d, "memory", "memory.soft_limit_in_bytes",
          std::to_string(*m.reservation));
    }
    if (m.swappiness) {
      add(field("memory.swappiness"), d, "memory", "memory.swappiness",
          std::to_string(*m.swappiness));
    }
    if (m.disable_oom_killer) {
      bool on = *m.disable_oom_killer;
      add(field("memory.disableOOMKiller"), d, "memory", "memory.oom_control", on ? "1" : "0")
          .optional = !on;
    }
    if (m.use_hierarchy) {
      add(field("memory.useHierarchy"), d, "memory", "memory.use_hierarchy",
          *m.use_hierarchy ? "1" : "0");
    }
    return {};
  }

  // cgroup v2.
  if (m.check_before_update.value_or(false) && (limit || swap)) {
    auto usage = read_uint(*d, "memory.current");
    if (usage && limit && *m.limit > 0 && static_cast<uint64_t>(*m.limit) < *usage) {
      return make_error(field("memory.limit") + ": " + std::to_string(*m.limit) +
                        " is lower than current usage " + std::to_string(*usage) +
                        " (checkBeforeUpdate)");
    }
    auto swap_usage = read_uint(*d, "memory.swap.current");
    if (usage && swap_usage && swap && *m.swap > 0 &&
        static_cast<uint64_t>(*m.swap) < *usage + *swap_usage) {
      return make_error(field("memory.swap") + ": " + std::to_string(*m.swap) +
                        " is lower than current usage " + std::to_string(*usage + *swap_usage) +
                        " (memory+swap, checkBeforeUpdate)");
    }
  }
  bool implicit_swap = m.limit == -1 && !swap;
  if (swap || implicit_swap) {
    int64_t mem = limit ? *m.limit : -1;
    if (!limit) {  // update of swap alone: against the limit in force
      auto cur = read_uint(*d, "memory.max");
      if (cur && *cur != UINT64_MAX) mem = static_cast<int64_t>(*cur);
    }
    std::string f = field(swap ? "memory.swap" : "memory.limit");
    auto v = swap_max_value(swap ? *m.swap : 0, mem);
    if (!v) return std::move(v).error().wrap(f);
    if (*v) {
      // Without swap accounting the file is missing; "max" and "0" then hold
      // anyway (runc ignores them too).
      Op& op = add(f, d, "memory", "memory.swap.max", **v);
      op.optional = **v == "max" || **v == "0";
    }
  }
  if (limit) add(field("memory.limit"), d, "memory", "memory.max", v2_value(*m.limit));
  if (reservation) {
    add(field("memory.reservation"), d, "memory", "memory.low", v2_value(*m.reservation));
  }
  return {};
}

Status Plan::cpu(const spec::CpuResources& c) {
  bool shares = c.shares && *c.shares != 0;
  bool period = c.period && *c.period != 0;
  bool quota = c.quota && *c.quota != 0;
  std::string first;
  if (shares) {
    first = "cpu.shares";
  } else if (quota) {
    first = "cpu.quota";
  } else if (period) {
    first = "cpu.period";
  } else if (c.burst) {
    first = "cpu.burst";
  } else if (c.realtime_period) {
    first = "cpu.realtimePeriod";
  } else if (c.realtime_runtime) {
    first = "cpu.realtimeRuntime";
  } else if (c.idle) {
    first = "cpu.idle";
  }
  if (!first.empty()) {
    Target t = target("cpu");
    if (t.v2 && c.realtime_period) return not_v2(field("cpu.realtimePeriod"));
    if (t.v2 && c.realtime_runtime) return not_v2(field("cpu.realtimeRuntime"));
    const CgroupDir* d = t.dir;
    if (d == nullptr) return missing(field(first), "cpu");
    if (!d->v2()) {
      if (shares) {
        add(field("cpu.shares"), d, "cpu", "cpu.shares", std::to_string(*c.shares)).verify_shares =
            true;
      }
      int g = ++groups_;
      if (period)
        add(field("cpu.period"), d, "cpu", "cpu.cfs_period_us", std::to_string(*c.period), g);
      if (c.burst)
        add(field("cpu.burst"), d, "cpu", "cpu.cfs_burst_us", std::to_string(*c.burst), g);
      if (quota) add(field("cpu.quota"), d, "cpu", "cpu.cfs_quota_us", std::to_string(*c.quota), g);
      g = ++groups_;
      if (c.realtime_period) {
        add(field("cpu.realtimePeriod"), d, "cpu", "cpu.rt_period_us",
            std::to_string(*c.realtime_period), g);
      }
      if (c.realtime_runtime) {
        add(field("cpu.realtimeRuntime"), d, "cpu", "cpu.rt_runtime_us",
            std::to_string(*c.realtime_runtime), g);
      }
      if (c.idle) add(field("cpu.idle"), d, "cpu", "cpu.idle", std::to_string(*c.idle));
    } else {
      if (shares) {
        add(field("cpu.shares"), d, "cpu", "cpu.weight",
            std::to_string(cpu_shares_to_weight(*c.shares)));
      }
      if (c.idle) add(field("cpu.idle"), d, "cpu", "cpu.idle", std::to_string(*c.idle));
      int g = ++groups_;
      if (c.burst) add(field("cpu.burst"), d, "cpu", "cpu.max.burst", std::to_string(*c.burst), g);
      if (quota || period) {
        // cpu.max is "QUOTA PERIOD": the half not given keeps its value.
        std::string cur_quota = "max";
        std::string cur_period = "100000";
        if (auto cur = d->read_file("cpu.max")) {
          auto parts = split(trim(*cur), ' ');
          if (parts.size() == 2) {
            cur_quota = parts[0];
            cur_period = parts[1];
          }
        }
        std::string value = (quota ? v2_value(*c.quota) : cur_quota) + " " +
                            (period ? std::to_string(*c.period) : cur_period);
        add(field(quota ? "cpu.quota" : "cpu.period"), d, "cpu", "cpu.max", value, g);
      }
    }
  }
  if (c.cpus) {
    const CgroupDir* d = dir_for(dirs_, "cpuset");
    if (d == nullptr) return missing(field("cpu.cpus"), "cpuset");
    add(field("cpu.cpus"), d, "cpuset", "cpuset.cpus", *c.cpus);
  }
  if (c.mems) {
    const CgroupDir* d = dir_for(dirs_, "cpuset");
    if (d == nullptr) return missing(field("cpu.mems"), "cpuset");
    add(field("cpu.mems"), d, "cpuset", "cpuset.mems", *c.mems);
  }
  return {};
}

Status Plan::pids(int64_t limit) {
  const CgroupDir* d = dir_for(dirs_, "pids");
  if (d == nullptr) return missing(field("pids.limit"), "pids");
  add(field("pids.limit"), d, "pids", "pids.max", v2_value(limit));
  return {};
}

Status Plan::block_io(const spec::BlockIoResources& b) {
  struct Throttle {
    const std::vector<spec::BlockIoThrottleDevice>* devices;
    const char* name;     // JSON name
    const char* v1_file;  // blkio.throttle.*
    const char* v2_key;   // io.max key
  };
  const Throttle throttles[] = {
      {&b.throttle_read_bps, "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
      {&b.throttle_write_bps, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
      {&b.throttle_read_iops, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
      {&b.throttle_write_iops, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device",
       "wiops"},
  };
  std::string first;
  if (b.weight) {
    first = "blockIO.weight";
  } else if (b.leaf_weight) {
    first = "blockIO.leafWeight";
  } else if (!b.weight_device.empty()) {
    first = "blockIO.weightDevice[0]";
  } else {
    for (const auto& t : throttles) {
      if (!t.devices->empty()) {
        first = std::string("blockIO.") + t.name + "[0]";
        break;
      }
    }
  }
  if (first.empty()) return {};

  const CgroupDir* d = dir_for(dirs_, "blkio");
  if (d == nullptr) d = dir_for(dirs_, "io");
  Target t = d != nullptr ? Target{d, d->v2()} : target("io");
  if (t.v2) {
    if (b.leaf_weight) return not_v2(field("blockIO.leafWeight"));
    for (size_t i = 0; i < b.weight_device.size(); ++i) {
      if (b.weight_device[i].leaf_weight) {
        return not_v2(index_path(field("blockIO.weightDevice"), i) + ".leafWeight");
      }
    }
  }
  if (d == nullptr) {
    return make_error(field(first) + ": no blkio (v1) or io (v2) cgroup controller on this host");
  }
  const bool v2 = d->v2();
  const std::string ctl = v2 ? "io" : "blkio";

  if (b.weight) {
    Op& op = v2 ? add(field("blockIO.weight"), d, ctl, "io.bfq.weight", std::to_string(*b.weight))
                : add(field("blockIO.weight"), d, ctl, "blkio.weight", std::to_string(*b.weight));
    if (v2) {
      op.choices.push_back(
          Choice{"io.weight", "default " + std::to_string(blkio_weight_to_io_weight(*b.weight))});
      op.missing =
          "not available on this host (the io controller has neither io.bfq.weight nor "
          "io.weight)";
    } else {
      op.choices.push_back(Choice{"blkio.bfq.weight", std::to_string(*b.weight)});
      op.missing =
          "not available on this host (the blkio controller has neither blkio.weight nor "
          "blkio.bfq.weight)";
    }
  }
  if (b.leaf_weight) {
    add(field("blockIO.leafWeight"), d, ctl, "blkio.leaf_weight", std::to_string(*b.leaf_weight));
  }
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& wd = b.weight_device[i];
    std::string f = index_path(field("blockIO.weightDevice"), i);
    std::string dev = device(wd.major, wd.minor) + " ";  // "MAJ:MIN "
    if (wd.weight) {
      std::string w = std::to_string(*wd.weight);
      Op& op = add(f + ".weight", d, ctl, v2 ? "io.bfq.weight" : "blkio.weight_device", dev + w);
      if (v2) {
        op.choices.push_back(
            Choice{"io.weight", dev + std::to_string(blkio_weight_to_io_weight(*wd.weight))});
        op.missing =
            "not available on this host (the io controller has neither io.bfq.weight "
            "nor io.weight)";
      } else {
        op.choices.push_back(Choice{"blkio.bfq.weight_device", dev + w});
        op.missing =
            "not available on this host (the blkio controller has neither "
            "blkio.weight_device nor blkio.bfq.weight_device)";
      }
    }
    if (wd.leaf_weight) {
      add(f + ".leafWeight", d, ctl, "blkio.leaf_weight_device",
          dev + std::to_string(*wd.leaf_weight));
    }
  }
  for (const auto& t : throttles) {
    for (size_t i = 0; i < t.devices->size(); ++i) {
      const auto& td = (*t.devices)[i];
      std::string f = index_path(field(std::string("blockIO.") + t.name), i);
      std::string dev = device(td.major, td.minor);
      if (v2) {
        add(f, d, ctl, "io.max", dev + " " + t.v2_key + "=" + std::to_string(td.rate));
      } else {
        add(f, d, ctl, t.v1_file, dev + " " + std::to_string(td.rate));
      }
    }
  }
  return {};
}

Status Plan::hugepages(const std::vector<spec::HugepageLimit>& limits) {
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& h = limits[i];
    std::string f = index_path(field("hugepageLimits"), i);
    const CgroupDir* d = dir_for(dirs_, "hugetlb");
    if (d == nullptr) return missing(f, "hugetlb");
    if (h.page_size.empty() || h.page_size.find('/') != std::string::npos ||
        h.page_size.find('.') != std::string::npos) {
      return make_error(f + ".pageSize: invalid page size " + nsbox::quoted(h.page_size));
    }
    std::string prefix = "hugetlb." + h.page_size;
    std::string value = std::to_string(h.limit);
    Op& op = add(f, d, "hugetlb", prefix + (d->v2() ? ".max" : ".limit_in_bytes"), value);
    op.missing = "page size " + nsbox::quoted(h.page_size) + " is not available on this host (" +
                 "hugepage sizes: " + host_hugepage_sizes() + ")";
    // Reservations (kernel 5.7+) are limited too when the kernel has them.
    add(f, d, "hugetlb", prefix + (d->v2() ? ".rsvd.max" : ".rsvd.limit_in_bytes"), value)
        .optional = true;
  }
  return {};
}

Status Plan::network(const spec::NetworkResources& n) {
  auto v1_only = [&](const std::string& f, std::string_view ctl) -> Result<const CgroupDir*> {
    Target t = target(ctl);
    if (t.v2) return not_v2(f, "no " + std::string(ctl) + " controller; use eBPF instead");
    if (t.dir == nullptr) return missing(f, ctl);
    return t.dir;
  };
  if (n.class_id) {
    std::string f = field("network.classID");
    auto d = v1_only(f, "net_cls");
    if (!d) return std::move(d).error();
    add(f, *d, "net_cls", "net_cls.classid", std::to_string(*n.class_id));
  }
  for (size_t i = 0; i < n.priorities.size(); ++i) {
    const auto& p = n.priorities[i];
    std::string f = index_path(field("network.priorities"), i);
    auto d = v1_only(f, "net_prio");
    if (!d) return std::move(d).error();
    if (p.name.empty() || has_space(p.name)) {
      return make_error(f + ".name: invalid interface name " + nsbox::quoted(p.name));
    }
    add(f, *d, "net_prio", "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority));
  }
  return {};
}

Status Plan::rdma(const std::map<std::string, spec::RdmaLimit>& limits) {
  for (const auto& [dev, lim] : limits) {
    std::string f = key_path(field("rdma"), dev);
    const CgroupDir* d = dir_for(dirs_, "rdma");
    if (d == nullptr) return missing(f, "rdma");
    if (dev.empty() || has_space(dev)) return make_error(f + ": invalid device name");
    std::string value = dev;
    if (lim.hca_handles) value += " hca_handle=" + std::to_string(*lim.hca_handles);
    if (lim.hca_objects) value += " hca_object=" + std::to_string(*lim.hca_objects);
    add(f, d, "rdma", "rdma.max", value);
  }
  return {};
}

Status Plan::unified(const std::map<std::string, std::string>& files) {
  auto no_file = [](const std::string& key) {
    return "not available on this host (no " + key + " in the cgroup v2 hierarchy)";
  };
  const CgroupDir* v2dir = nullptr;
  for (const auto& d : dirs_) {
    if (d.v2()) {
      v2dir = &d;
      break;
    }
  }
  for (const auto& [key, value] : files) {
    std::string f = key_path(field("unified"), key);
    if (key.empty() || key.find('/') != std::string::npos || key.find('.') == std::string::npos ||
        key[0] == '.') {
      return make_error(f + ": not a cgroup v2 control file name");
    }
    if (v2dir == nullptr) return make_error(f + ": no cgroup v2 hierarchy on this host");
    std::string ctl = key.substr(0, key.find('.'));
    if (ctl == "cgroup") {
      add(f, v2dir, "", key, value).missing = no_file(key);
      continue;
    }
    const CgroupDir* d = dir_for(dirs_, ctl);
    if (d != nullptr && !d->v2()) {
      f += ": the " + ctl;
      return make_error(f +
                        " controller is in a cgroup v1 hierarchy on this host, not in cgroup v2");
    }
    if (d == nullptr) {
      f += ": no " + ctl;
      return make_error(f + " controller in the cgroup v2 hierarchy of this host");
    }
    add(f, d, ctl, key, value).missing = no_file(key);
  }
  return {};
}

// Pick the first existing choice; none: skip an optional op, else an error.
Status Plan::resolve(Op* op) const {
  for (size_t i = 0; i < op->choices.size(); ++i) {
    if (file_exists(join_path(op->dir->path(), op->choices[i].file))) {
      op->chosen = i;
      return {};
    }
  }
  if (op->optional) {
    op->skip = true;
    return {};
  }
  std::string why = op->missing;
  if (why.empty()) {
    why = "not available on this host (the " + op->controller + " controller has no " +
          op->choices[0].file + ")";
  }
  return make_error(op->field + ": " + why, ENOENT);
}

// Writes refused with EINVAL are retried once the rest of the group is in.
Status Plan::write_group(size_t begin, size_t end) const {
  std::vector<size_t> retry;
  for (size_t i = begin; i < end; ++i) {
    if (ops_[i].skip) continue;
    auto st = write_op(ops_[i]);
    if (st) continue;
    if (st.error().code != EINVAL || end - begin == 1) return st;
    retry.push_back(i);
  }
  for (size_t i : retry) NSBOX_TRY(write_op(ops_[i]));
  return {};
}

Status Plan::apply() {
  std::set<const CgroupDir*> seen;
  for (const auto& op : ops_) {
    if (!seen.insert(op.dir).second) continue;
    if (::access(op.dir->path().c_str(), F_OK) != 0) {
      return sys_error(op.field + ": cgroup " + op.dir->path());
    }
  }
  std::set<std::pair<const CgroupDir*, std::string>> enabled;
  for (const auto& op : ops_) {
    if (!op.dir->v2() || op.controller.empty()) continue;
    if (!enabled.insert({op.dir, op.controller}).second) continue;
    NSBOX_TRY_CTX(enable_controller(*op.dir, op.controller), op.field);
  }
  for (auto& op : ops_) NSBOX_TRY(resolve(&op));
  for (size_t i = 0; i < ops_.size();) {
    size_t end = i + 1;
    if (ops_[i].group != 0) {
      while (end < ops_.size() && ops_[end].group == ops_[i].group) ++end;
    }
    NSBOX_TRY(write_group(i, end));
    i = end;
  }
  return {};
}

}  // namespace

Status apply_resources(const std::vector<CgroupDir>& dirs, const spec::Resources& r) {
  Plan plan(dirs);
  if (r.memory) NSBOX_TRY(plan.memory(*r.memory));
  if (r.cpu) NSBOX_TRY(plan.cpu(*r.cpu));
  if (r.pids_limit) NSBOX_TRY(plan.pids(*r.pids_limit));
  if (r.block_io) NSBOX_TRY(plan.block_io(*r.block_io));
  NSBOX_TRY(plan.hugepages(r.hugepage_limits));
  if (r.network) NSBOX_TRY(plan.network(*r.network));
  NSBOX_TRY(plan.rdma(r.rdma));
  NSBOX_TRY(plan.unified(r.unified));
  return plan.apply();
}

}  // namespace nsbox::cgroup
