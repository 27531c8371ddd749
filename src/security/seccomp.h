// linux.seccomp: the filter is compiled by libseccomp on the runtime side,
// before the init is cloned; the init only hands the finished BPF program
// to seccomp(2). Errors name the JSON path of the field they come from.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "spec/config.h"

namespace nsbox::security {

struct SeccompFilter {
  std::vector<sock_filter> program;  // what libseccomp generated (seccomp_export_bpf)
  unsigned int flags = 0;            // SECCOMP_FILTER_FLAG_* for seccomp(2)
  bool notify = false;               // an SCMP_ACT_NOTIFY rule: the load returns a listener
};

// Build the filter (runtime side; nothing is loaded):
// - defaultAction/defaultErrnoRet (ERRNO and TRACE default to EPERM);
// - architectures (the native one is always there);
// - every rule whose action differs from the default action (libseccomp
//   refuses the others), on every name libseccomp resolves: unknown names
//   are skipped with a debug log, as runc does;
// - args as runc: one rule with every condition, or, when an argument
//   index appears twice, one rule per condition (libseccomp refuses two
//   conditions on one index in a rule);
// - flags, checked against the running kernel. SECCOMP_FILTER_FLAG_NEW_LISTENER
//   is added for a notify filter (with TSYNC_ESRCH when TSYNC is asked);
//   WAIT_KILLABLE_RECV is dropped without one, as libseccomp does.
Result<SeccompFilter> build_seccomp(const spec::Seccomp& cfg);

// seccomp(SECCOMP_SET_MODE_FILTER) in the calling thread. Without
// no_new_privs this needs CAP_SYS_ADMIN in the caller's user namespace.
// Returns the listener (close-on-exec) of a notify filter, else an empty fd.
// Only system calls: safe in the init.
Result<UniqueFd> load_seccomp(const SeccompFilter& filter);

// The OCI seccomp agent protocol (runtime side): connect to listenerPath (a
// unix stream socket) and send one ContainerProcessState
//   {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}
// with the listener attached (SCM_RIGHTS), then close the connection.
// state_json is the container's OCI state (status "creating").
Status send_to_seccomp_agent(const spec::Seccomp& cfg, pid_t pid, const std::string& state_json,
                             int listener_fd);

}  // namespace nsbox::security
