#include "security/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/log.h"
#include "common/util.h"
#include "spec/state.h"

namespace nsbox::security {

namespace {

constexpr const char* kPath = "linux.seccomp";
constexpr uint32_t kDefaultErrno = EPERM;

std::string field(std::string_view key) { return std::string(kPath) + "." + std::string(key); }
std::string item(std::string_view key, size_t i) {
  return field(key) + "[" + std::to_string(i) + "]";
}

Error seccomp_error(const std::string& what, int rc) { return sys_error(what, -rc); }

// The libseccomp action for an OCI action name.
Result<uint32_t> action_value(const std::string& name, const std::optional<uint32_t>& errno_ret,
                              const std::string& path) {
  uint32_t err = errno_ret.value_or(kDefaultErrno);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return make_error(path + ": unknown action " + nsbox::quoted(name));
}

Result<scmp_compare> compare_op(const std::string& name, const std::string& path) {
  static constexpr std::pair<std::string_view, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [n, op] : kOps) {
    if (n == name) return op;
  }
  return make_error(path + ": unknown operator " + nsbox::quoted(name));
}

struct Flag {
  std::string_view name;
  unsigned int value;
};
constexpr Flag kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

long sys_seccomp(unsigned int op, unsigned int flags, const void* args) {
  return ::syscall(SYS_seccomp, op, flags, args);
}

// The kernel checks the flags before it reads the program: with a null
// program a known combination fails with EFAULT, an unknown one with EINVAL.
bool kernel_accepts(unsigned int flags) {
  return sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, nullptr) < 0 && errno != EINVAL;
}

Result<unsigned int> filter_flags(const spec::Seccomp& cfg, bool notify) {
  unsigned int flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  for (size_t i = 0; i < cfg.flags.size(); ++i) {
    const Flag* f = nullptr;
    for (const auto& k : kFlags) {
      if (k.name == cfg.flags[i]) f = &k;
    }
    if (f == nullptr)
      return make_error(item("flags", i) + ": unknown flag " + nsbox::quoted(cfg.flags[i]));
    // As libseccomp: waiting killably concerns a listener only.
    if (f->value == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify) continue;
    unsigned int alone = f->value;
    if (alone == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) alone |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (!kernel_accepts(alone)) {
      return make_error(item("flags", i) + ": " + cfg.flags[i] + " not supported by this kernel",
                        EINVAL);
    }
    flags |= f->value;
  }
  // TSYNC and a listener together need TSYNC_ESRCH (Linux 5.7).
  if ((flags & SECCOMP_FILTER_FLAG_TSYNC) != 0 && notify) {
    flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  if (!kernel_accepts(flags)) {
    return make_error(field("flags") + ": this combination is not supported by this kernel",
                      EINVAL);
  }
  return flags;
}

struct CtxRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxRelease>;

Status add_architectures(scmp_filter_ctx ctx, const spec::Seccomp& cfg) {
  for (size_t i = 0; i < cfg.architectures.size(); ++i) {
    const std::string& name = cfg.architectures[i];
    constexpr std::string_view kPrefix = "SCMP_ARCH_";
    std::string lower = starts_with(name, kPrefix) ? name.substr(kPrefix.size()) : name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
    if (arch == 0) {
      return make_error(item("architectures", i) + ": " + name +
                        " not supported by this libseccomp");
    }
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) return seccomp_error(item("architectures", i), rc);
  }
  return {};
}

// runc's rule: all conditions in one rule (they must all match) unless an
// argument index repeats; then one rule per condition (any may match).
Status add_syscall(scmp_filter_ctx ctx, uint32_t action, int nr,
                   const std::vector<scmp_arg_cmp>& conds, const std::string& what) {
  bool repeated = false;
  for (size_t i = 0; i < conds.size(); ++i) {
    for (size_t j = i + 1; j < conds.size(); ++j) repeated |= conds[i].arg == conds[j].arg;
  }
  if (!repeated) {
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned int>(conds.size()),
                                    conds.empty() ? nullptr : conds.data());
    return rc < 0 ? Status(seccomp_error(what, rc)) : Status{};
  }
  for (const auto& c : conds) {
    int rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
    if (rc < 0) return seccomp_error(what, rc);
  }
  return {};
}

Status add_rules(scmp_filter_ctx ctx, const spec::Seccomp& cfg, uint32_t default_action) {
  for (size_t i = 0; i < cfg.syscalls.size(); ++i) {
    const auto& sc = cfg.syscalls[i];
    std::string path = item("syscalls", i);
    auto action = action_value(sc.action, sc.errno_ret, path + ".action");
    if (!action) return std::move(action).error();
    if (*action == default_action) {
      // libseccomp refuses a rule that does what the default does.
      log::debug(path + ": skipped, its action is the default action");
      continue;
    }
    std::vector<scmp_arg_cmp> conds;
    for (size_t j = 0; j < sc.args.size(); ++j) {
      const auto& a = sc.args[j];
      auto op = compare_op(a.op, path + ".args[" + std::to_string(j) + "].op");
      if (!op) return std::move(op).error();
      conds.push_back(scmp_arg_cmp{a.index, *op, a.value, a.value_two});
    }
    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug(path + ": skipping syscall " + nsbox::quoted(name) + ", unknown to libseccomp");
        continue;
      }
      NSBOX_TRY(add_syscall(ctx, *action, nr, conds, std::string(path).append(": ").append(name)));
    }
  }
  return {};
}

Result<std::vector<sock_filter>> export_program(scmp_filter_ctx ctx) {
  UniqueFd mem(::memfd_create("nsbox-seccomp", MFD_CLOEXEC));
  if (!mem) return sys_error("seccomp: memfd_create");
  int rc = seccomp_export_bpf(ctx, mem.get());
  if (rc < 0) return seccomp_error(std::string(kPath) + ": generate the filter", rc);
  if (::lseek(mem.get(), 0, SEEK_SET) < 0) return sys_error("seccomp: lseek");
  auto bytes = read_all(mem.get());
  if (!bytes) return std::move(bytes).error();
  size_t n = bytes->size() / sizeof(sock_filter);
  if (n == 0 || bytes->size() % sizeof(sock_filter) != 0) {
    return make_error(std::string(kPath) + ": libseccomp generated a malformed program");
  }
  if (n > BPF_MAXINSNS) {
    return make_error(std::string(kPath) + ": the filter has " + std::to_string(n) +
                      " instructions, more than the kernel's " + std::to_string(BPF_MAXINSNS));
  }
  std::vector<sock_filter> program(n);
  std::memcpy(program.data(), bytes->data(), n * sizeof(sock_filter));
  return program;
}

Result<UniqueFd> connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string target = path;
  UniqueFd dir;
  if (target.size() >= sizeof addr.sun_path) {
    // Too long for sun_path: go through the directory's fd.
    size_t slash = path.rfind('/');
    dir.reset(::open(path.substr(0, slash + 1).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return sys_error("open directory of " + path);
    target = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + path.substr(slash + 1);
    if (target.size() >= sizeof addr.sun_path) return make_error(path + ": name too long");
  }
  std::memcpy(addr.sun_path, target.c_str(), target.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    return sys_error("connect to " + path);
  }
  return fd;
}

// The whole message with the fd on the first sendmsg (the spec allows more
// calls for the rest of a long payload, without fds).
Status send_state_with_fd(int sock, const std::string& data, int fd) {
  for (size_t off = 0; off < data.size();) {
    auto n = send_with_fd(sock, std::string_view(data).substr(off), off == 0 ? fd : -1);
    if (!n) return std::move(n).error();
    off += *n;
  }
  return {};
}

}  // namespace

Result<SeccompFilter> build_seccomp(const spec::Seccomp& cfg) {
  auto def = action_value(cfg.default_action, cfg.default_errno_ret, field("defaultAction"));
  if (!def) return std::move(def).error();
  Ctx ctx(seccomp_init(*def));
  if (!ctx) {
    return make_error(field("defaultAction") + ": libseccomp refused " + cfg.default_action +
                      " (not supported by this kernel or libseccomp?)");
  }
  NSBOX_TRY(add_architectures(ctx.get(), cfg));
  NSBOX_TRY(add_rules(ctx.get(), cfg, *def));
  SeccompFilter f;
  for (const auto& sc : cfg.syscalls) f.notify |= sc.action == "SCMP_ACT_NOTIFY";
  auto program = export_program(ctx.get());
  if (!program) return std::move(program).error();
  f.program = std::move(*program);
  auto flags = filter_flags(cfg, f.notify);
  if (!flags) return std::move(flags).error();
  f.flags = *flags;
  log::debug(std::string(kPath) + ": filter of " + std::to_string(f.program.size()) +
             " instructions" + (f.notify ? ", with a listener" : ""));
  return f;
}

Result<UniqueFd> load_seccomp(const SeccompFilter& filter) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(filter.program.size());
  prog.filter = const_cast<sock_filter*>(filter.program.data());
  long rc = sys_seccomp(SECCOMP_SET_MODE_FILTER, filter.flags, &prog);
  if (rc < 0) return sys_error(std::string(kPath) + ": load the filter");
  if (!filter.notify) return UniqueFd();
  return UniqueFd(static_cast<int>(rc));
}

Status send_to_seccomp_agent(const spec::Seccomp& cfg, pid_t pid, const std::string& state_json,
                             int listener_fd) {
  std::string ctx = field("listenerPath") + ": " + cfg.listener_path;
  auto state = nlohmann::ordered_json::parse(state_json, nullptr, false);
  if (state.is_discarded()) return make_error(ctx + ": bad container state");
  nlohmann::ordered_json msg = {
      {"ociVersion", spec::State{}.oci_version},
      {"fds", nlohmann::ordered_json::array({"seccompFd"})},
      {"pid", pid},
  };
  if (!cfg.listener_metadata.empty()) msg["metadata"] = cfg.listener_metadata;
  msg["state"] = std::move(state);
  auto sock = connect_unix(cfg.listener_path);
  if (!sock) return std::move(sock).error().wrap(field("listenerPath"));
  std::string text = msg.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  NSBOX_TRY_CTX(send_state_with_fd(sock->get(), text, listener_fd), ctx);
  return {};
}

}  // namespace nsbox::security
