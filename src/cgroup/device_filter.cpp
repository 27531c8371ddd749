#include "cgroup/device_filter.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "common/fd.h"

namespace nsbox::cgroup {
namespace {

// ---- instruction encoding (the kernel's BPF_* insn macros are not UAPI) ----

constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return bpf_insn{code, dst, src, off, imm};
}
// dst = *(u32*)(src + off), zero-extended.
constexpr bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
// 32-bit ALU with an immediate (op: BPF_AND, BPF_RSH, ...); clears the upper half.
constexpr bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
// if (dst <op> imm) pc += off. The offset is patched once the block is known.
constexpr bpf_insn jump_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Registers after the prologue.
constexpr uint8_t kCtx = BPF_REG_1;  // struct bpf_cgroup_dev_ctx*; then scratch
constexpr uint8_t kType = BPF_REG_2;
constexpr uint8_t kAccess = BPF_REG_3;  // requested bits not decided yet
constexpr uint8_t kMajor = BPF_REG_4;
constexpr uint8_t kMinor = BPF_REG_5;
constexpr uint8_t kScratch = BPF_REG_1;

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

Result<int32_t> access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    switch (c) {
      case 'r':
        bits |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        bits |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        bits |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        return make_error("access \"" + access + "\": expected a non-empty subset of rwm");
    }
  }
  if (bits == 0) return make_error("access \"\": expected a non-empty subset of rwm");
  return bits;
}

// A rule is emitted as one block: tests that jump past the block when the rule
// does not apply, then its verdict. Returns true when the block always exits
// (the rule matches every request), i.e. nothing after it is reachable.
Result<bool> append_block(const DeviceAccessRule& r, std::vector<bpf_insn>* prog) {
  auto access = access_bits(r.access);
  if (!access) return std::move(access).error();
  std::vector<bpf_insn> b;
  std::vector<size_t> skips;  // jumps to the end of the block
  auto skip_unless = [&](uint8_t op, uint8_t reg, int32_t imm) {
    skips.push_back(b.size());
    b.push_back(jump_imm(op, reg, imm));
  };
  switch (r.type) {
    case 'a':
      break;
    case 'c':
      skip_unless(BPF_JNE, kType, BPF_DEVCG_DEV_CHAR);
      break;
    case 'b':
      skip_unless(BPF_JNE, kType, BPF_DEVCG_DEV_BLOCK);
      break;
    default:
      return make_error(std::string("type \"") + r.type + "\": expected a, c or b");
  }
  if (r.major >= 0) skip_unless(BPF_JNE, kMajor, static_cast<int32_t>(r.major));
  if (r.minor >= 0) skip_unless(BPF_JNE, kMinor, static_cast<int32_t>(r.minor));
  bool partial = *access != kAllAccess;
  if (partial) {  // the rule says nothing about the bits still undecided
    b.push_back(mov32_reg(kScratch, kAccess));
    b.push_back(alu32_imm(BPF_AND, kScratch, *access));
    skip_unless(BPF_JEQ, kScratch, 0);
  }
  if (r.allow && partial) {  // grant its bits; others are decided by earlier rules
    b.push_back(alu32_imm(BPF_AND, kAccess, ~*access & kAllAccess));
    skip_unless(BPF_JNE, kAccess, 0);
  }
  b.push_back(mov64_imm(BPF_REG_0, r.allow ? 1 : 0));
  b.push_back(exit_insn());
  for (size_t i : skips) b[i].off = static_cast<int16_t>(b.size() - i - 1);
  prog->insert(prog->end(), b.begin(), b.end());
  return skips.empty();
}

// ---- bpf(2) ----------------------------------------------------------------

constexpr size_t kLogSize = size_t{64} * 1024;
constexpr int kLoadAttempts = 5;  // the verifier may return EAGAIN when interrupted

int bpf(int cmd, bpf_attr* attr) {
  return static_cast<int>(::syscall(SYS_bpf, cmd, attr, sizeof(*attr)));
}

uint64_t ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// The last lines of the verifier log, on one line.
std::string log_tail(const std::string& log) {
  std::string s = log.substr(0, log.find('\0'));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  constexpr size_t kMax = 400;
  if (s.size() > kMax) s = "..." + s.substr(s.size() - kMax);
  std::string out;
  for (char c : s) out += c == '\n' ? std::string("; ") : std::string(1, c);
  return out;
}

Result<UniqueFd> load(const std::vector<bpf_insn>& prog) {
  static const char kLicense[] = "Apache";
  auto attempt = [&](std::string* log) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = ptr(prog.data());
    attr.insn_cnt = static_cast<uint32_t>(prog.size());
    attr.license = ptr(kLicense);
    if (log != nullptr) {
      attr.log_level = 1;
      attr.log_buf = ptr(log->data());
      attr.log_size = static_cast<uint32_t>(log->size());
    }
    int fd = -1;
    for (int i = 0; i < kLoadAttempts; ++i) {
      fd = bpf(BPF_PROG_LOAD, &attr);
      if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
    }
    return fd;
  };
  int fd = attempt(nullptr);
  if (fd >= 0) return UniqueFd(fd);
  int err = errno;
  std::string what = "bpf(BPF_PROG_LOAD) of the device filter";
  if (err == EINVAL || err == EACCES) {  // rejected by the verifier: say why
    std::string log(kLogSize, '\0');
    fd = attempt(&log);
    if (fd >= 0) return UniqueFd(fd);
    err = errno;
    if (auto tail = log_tail(log); !tail.empty()) what += " (verifier: " + tail + ")";
  }
  return sys_error(what, err);
}

// Ids of the device programs attached directly to the cgroup.
Result<std::vector<uint32_t>> attached_ids(int cgroup_dirfd) {
  std::vector<uint32_t> ids(8);
  for (;;) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = static_cast<uint32_t>(cgroup_dirfd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = ptr(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (bpf(BPF_PROG_QUERY, &attr) == 0) {
      ids.resize(std::min<size_t>(attr.query.prog_cnt, ids.size()));
      return ids;
    }
    if (errno != ENOSPC || attr.query.prog_cnt <= ids.size()) {
      return sys_error("bpf(BPF_PROG_QUERY) of the cgroup's device programs");
    }
    ids.resize(attr.query.prog_cnt);  // more were attached than we had room for
  }
}

Status detach(int cgroup_dirfd, uint32_t id) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_id = id;
  UniqueFd prog(bpf(BPF_PROG_GET_FD_BY_ID, &attr));
  if (!prog) {
    if (errno == ENOENT) return {};  // detached and freed meanwhile
    return sys_error("bpf(BPF_PROG_GET_FD_BY_ID) of device program " + std::to_string(id));
  }
  std::memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroup_dirfd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (bpf(BPF_PROG_DETACH, &attr) != 0 && errno != ENOENT) {
    return sys_error("bpf(BPF_PROG_DETACH) of the previous device program " + std::to_string(id));
  }
  return {};
}

}  // namespace

Result<std::vector<bpf_insn>> device_filter_program(const std::vector<DeviceAccessRule>& rules) {
  std::vector<bpf_insn> prog = {
      load_u32(kType, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_AND, kType, 0xFFFF),  // low 16 bits: BPF_DEVCG_DEV_*
      load_u32(kAccess, kCtx, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_RSH, kAccess, 16),  // high 16 bits: BPF_DEVCG_ACC_*
      load_u32(kMajor, kCtx, offsetof(bpf_cgroup_dev_ctx, major)),
      load_u32(kMinor, kCtx, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  constexpr int64_t kMaxImm = std::numeric_limits<int32_t>::max();
  for (size_t i = rules.size(); i-- > 0;) {
    const auto& r = rules[i];
    if (r.major > kMaxImm || r.minor > kMaxImm) continue;
    auto always_exits = append_block(r, &prog);
    if (!always_exits) {
      return std::move(always_exits).error().wrap("device rule " + std::to_string(i));
    }
    if (*always_exits) return prog;
  }
  prog.push_back(mov64_imm(BPF_REG_0, 0));  // no rule decided every bit: deny
  prog.push_back(exit_insn());
  return prog;
}

Status attach_device_filter(int cgroup_dirfd, const std::vector<DeviceAccessRule>& rules) {
  auto prog = device_filter_program(rules);
  if (!prog) return std::move(prog).error();
  auto old = attached_ids(cgroup_dirfd);
  if (!old) return std::move(old).error();
  auto fd = load(*prog);
  if (!fd) return std::move(fd).error();
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroup_dirfd);
  attr.attach_bpf_fd = static_cast<uint32_t>(fd->get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) != 0) {
    return sys_error("bpf(BPF_PROG_ATTACH) of the device filter");
  }
  // The attachment holds its own reference: our fd closes on return.
  for (uint32_t id : *old) NSBOX_TRY(detach(cgroup_dirfd, id));
  return {};
}

}  // namespace nsbox::cgroup
