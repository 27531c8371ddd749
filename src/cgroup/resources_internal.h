// Internal to resources.cpp (and its unit tests): the pure conversions from
// the OCI (cgroup v1 scale) values of linux.resources to cgroup v2 values,
// the same ones runc and crun use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace nsbox::cgroup {

// cpu.shares (v1, 2..262144, default 1024) -> cpu.weight (v2, 1..10000,
// default 100) with the log-quadratic curve of current runc and crun, which
// maps 2 -> 1, 1024 -> 100 and 262144 -> 10000. 0 (unset) -> 0: write nothing.
uint64_t cpu_shares_to_weight(uint64_t shares);

// blkio weight (v1, 10..1000) -> io.weight (v2, 1..10000), linearly:
// 1 + (w - 10) * 9999 / 990. 0 (unset) -> 0.
uint64_t blkio_weight_to_io_weight(uint64_t weight);

// The memory.swap.max value for the OCI memory.swap (memory + swap, bytes,
// -1 unlimited, 0 unset) given the memory limit in force (-1 unlimited, 0
// unset), as runc's ConvertMemorySwapToCgroupV2Value: "max" when memory is
// unlimited and swap unset, or when swap is -1; nullopt (leave alone) when
// swap is unset; "0" when swap equals memory; else swap - memory. Errors:
// swap without a memory limit, swap below memory.
Result<std::optional<std::string>> swap_max_value(int64_t swap, int64_t memory);

// A hugepage size in kB (as in /sys/kernel/mm/hugepages/hugepages-<N>kB) in
// the kernel's hugetlb file spelling: 2048 -> "2MB", 1048576 -> "1GB",
// 64 -> "64KB".
std::string hugepage_size_name(uint64_t kb);

}  // namespace nsbox::cgroup
