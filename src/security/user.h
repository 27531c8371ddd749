// Switching the container process to its configured user, in the child just
// before exec, in the order that keeps the requested capabilities.
#pragma once

#include "common/result.h"
#include "security/capabilities.h"
#include "spec/config.h"

namespace nsbox::security {

// prctl(PR_SET_KEEPCAPS, 1); setgroups(additionalGids); setresgid(gid);
// setresuid(uid); prctl(PR_SET_KEEPCAPS, 0); apply_caps(caps); umask.
// setgroups is skipped when /proc/self/setgroups is "deny" (user namespace
// mapped without setgroups); asking for additionalGids then is an error.
// With an empty additionalGids the supplementary groups are cleared.
// Errors name the field: "process.user.uid: setresuid(1000): Operation not permitted".
Status switch_user(const spec::User& user, const CapSets& caps);

// prctl(PR_SET_NO_NEW_PRIVS, 1) for process.noNewPrivileges.
Status set_no_new_privileges();

// Root of a user namespace just created or joined, so that files we create
// are owned by a mapped id. An unmapped 0 is not an error: the user switch
// comes later.
Status become_root_in_user_ns();

}  // namespace nsbox::security
