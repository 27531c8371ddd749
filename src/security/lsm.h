// Linux security modules: which ones are active on this host (probed at run
// time, never assumed from the build) and the exec labels of
// process.apparmorProfile and process.selinuxLabel.
#pragma once

#include <string>

#include "common/result.h"
#include "spec/config.h"

namespace nsbox::security {

struct LsmHost {
  bool apparmor = false;
  bool selinux = false;
};

// Reads files under `root` ("" is the host's "/"; unit tests pass a fake tree):
//  - <root>/sys/kernel/security/lsm: the active LSMs, comma-separated
//    ("lockdown,capability,landlock,yama,apparmor"). securityfs may not be
//    mounted; then only the checks below decide.
//  - AppArmor: listed there (when readable), and <root>/sys/kernel/security/apparmor
//    exists or <root>/sys/module/apparmor/parameters/enabled reads "Y".
//  - SELinux: listed there (when readable), and <root>/sys/fs/selinux/enforce
//    exists (selinuxfs mounted).
LsmHost probe_lsms(const std::string& root = "");

// At create, before anything exists: a requested label needs its LSM.
// "process.apparmorProfile: AppArmor is not enabled on this host",
// "process.selinuxLabel: SELinux is not enabled on this host", the same for
// "linux.mountLabel" — which with SELinux present is "not supported yet"
// (the context= mount option is not applied).
Status check_lsm_config(const spec::Config& cfg, const LsmHost& host);

// In the init, after its last fork (startContainer hooks: a hook would
// inherit the exec label) and before no_new_privs and execve: "exec
// <profile>" to /proc/thread-self/attr/apparmor/exec (kernels without the
// per-LSM directory: /proc/thread-self/attr/exec), the SELinux label to
// /proc/thread-self/attr/exec. Each file is checked to be on procfs before
// the write. Both take effect at execve. Errors name the field.
Status set_exec_labels(const spec::Process& proc);

}  // namespace nsbox::security
