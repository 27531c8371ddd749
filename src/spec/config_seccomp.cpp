// Decoding of linux.seccomp. Names are checked against the spec's lists
// (libseccomp v2.6.0's constants) without libseccomp, which only
// security/seccomp.cpp links: syscall names are resolved there, when the
// filter is built, and a name libseccomp does not know is skipped as runc
// does (profiles list syscalls newer than the library).
#include <algorithm>
#include <string_view>

#include "spec/config_decode.h"

namespace nsbox::spec {

namespace {

constexpr std::string_view kActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};

constexpr std::string_view kArchitectures[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

constexpr std::string_view kFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

constexpr std::string_view kOperators[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

constexpr uint32_t kMaxSyscallArgs = 6;
constexpr std::string_view kNotify = "SCMP_ACT_NOTIFY";

template <size_t N>
bool known(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

Status check_action(const std::string& action, const std::string& path) {
  if (!known(kActions, action)) return path_error(path, "unknown action " + quote(action));
  return {};
}

// errnoRet/defaultErrnoRet: the spec requires an error for actions that
// take no errno.
Status check_errno_ret(const std::string& action, const std::optional<uint32_t>& errno_ret,
                       const std::string& path) {
  if (errno_ret && action != "SCMP_ACT_ERRNO" && action != "SCMP_ACT_TRACE") {
    return path_error(
        path, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno (action is " + action + ")");
  }
  return {};
}

template <size_t N>
Status check_names(const std::vector<std::string>& values, const std::string_view (&names)[N],
                   const std::string& path, const char* what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!known(names, values[i])) {
      return path_error(index_path(path, i),
                        std::string("unknown ") + what + " " + quote(values[i]));
    }
  }
  return {};
}

}  // namespace

Status decode(const json& v, const std::string& path, SeccompArg* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path, {"index", "value", "valueTwo", "op"});
  NSBOX_TRY(get_required(v, "index", path, &out->index));
  if (out->index >= kMaxSyscallArgs) {
    return path_error(field_path(path, "index"), "must be less than 6 (syscalls have 6 arguments)");
  }
  NSBOX_TRY(get_required(v, "value", path, &out->value));
  NSBOX_TRY(get(v, "valueTwo", path, &out->value_two));
  NSBOX_TRY(get_required(v, "op", path, &out->op));
  if (!known(kOperators, out->op)) {
    return path_error(field_path(path, "op"), "unknown operator " + quote(out->op));
  }
  return {};
}

Status decode(const json& v, const std::string& path, SeccompSyscall* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path, {"names", "action", "errnoRet", "args"});
  NSBOX_TRY(get_required(v, "names", path, &out->names));
  if (out->names.empty()) return path_error(field_path(path, "names"), "needs at least one name");
  NSBOX_TRY(get_required(v, "action", path, &out->action));
  NSBOX_TRY(check_action(out->action, field_path(path, "action")));
  NSBOX_TRY(get(v, "errnoRet", path, &out->errno_ret));
  NSBOX_TRY(check_errno_ret(out->action, out->errno_ret, field_path(path, "errnoRet")));
  return get(v, "args", path, &out->args);
}

Status decode(const json& v, const std::string& path, Seccomp* out) {
  NSBOX_TRY(expect_object(v, path));
  log_unknown_keys(v, path,
                   {"defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
                    "listenerMetadata", "syscalls"});
  std::string default_path = field_path(path, "defaultAction");
  NSBOX_TRY(get_required(v, "defaultAction", path, &out->default_action));
  NSBOX_TRY(check_action(out->default_action, default_path));
  if (out->default_action == kNotify) {
    return path_error(default_path, "SCMP_ACT_NOTIFY cannot be the default action");
  }
  NSBOX_TRY(get(v, "defaultErrnoRet", path, &out->default_errno_ret));
  NSBOX_TRY(check_errno_ret(out->default_action, out->default_errno_ret,
                            field_path(path, "defaultErrnoRet")));
  NSBOX_TRY(get(v, "architectures", path, &out->architectures));
  NSBOX_TRY(check_names(out->architectures, kArchitectures, field_path(path, "architectures"),
                        "architecture"));
  NSBOX_TRY(get(v, "flags", path, &out->flags));
  NSBOX_TRY(check_names(out->flags, kFlags, field_path(path, "flags"), "flag"));
  NSBOX_TRY(get(v, "listenerPath", path, &out->listener_path));
  NSBOX_TRY(get(v, "listenerMetadata", path, &out->listener_metadata));
  if (!out->listener_metadata.empty() && out->listener_path.empty()) {
    return path_error(field_path(path, "listenerMetadata"), "needs listenerPath");
  }
  std::string syscalls_path = field_path(path, "syscalls");
  NSBOX_TRY(get(v, "syscalls", path, &out->syscalls));
  bool notify = false;
  for (size_t i = 0; i < out->syscalls.size(); ++i) {
    const auto& sc = out->syscalls[i];
    if (sc.action != kNotify) continue;
    std::string rule = index_path(syscalls_path, i);
    if (out->listener_path.empty()) {
      return path_error(field_path(path, "listenerPath"),
                        "required by SCMP_ACT_NOTIFY (" + rule + ".action)");
    }
    // The init hands the listener to nsbox with sendmsg right after loading
    // the filter: a notification there would wait for an agent that cannot
    // have the listener yet.
    for (size_t j = 0; j < sc.names.size(); ++j) {
      if (sc.names[j] == "sendmsg") {
        return path_error(index_path(field_path(rule, "names"), j),
                          "SCMP_ACT_NOTIFY cannot be used for sendmsg (it passes the listener to "
                          "the seccomp agent)");
      }
    }
    notify = true;
  }
  // Without an SCMP_ACT_NOTIFY rule listenerPath is ignored (the spec says so).
  if (notify) NSBOX_TRY(expect_absolute(out->listener_path, field_path(path, "listenerPath")));
  return {};
}

std::span<const std::string_view> seccomp_actions() { return kActions; }
std::span<const std::string_view> seccomp_operators() { return kOperators; }
std::span<const std::string_view> seccomp_architectures() { return kArchitectures; }
std::span<const std::string_view> seccomp_flags() { return kFlags; }

}  // namespace nsbox::spec
