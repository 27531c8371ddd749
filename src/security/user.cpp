#include "security/user.h"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/util.h"

namespace nsbox::security {
namespace {

Status set_keepcaps(bool on) {
  if (::prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) < 0) {
    return sys_error(std::string("prctl(PR_SET_KEEPCAPS, ") + (on ? "1)" : "0)"));
  }
  return {};
}

// False in a user namespace whose gid_map was written with setgroups denied.
bool setgroups_allowed() {
  auto text = read_file("/proc/self/setgroups");
  return !text || trim(*text) != "deny";
}

std::string gid_list(const std::vector<uint32_t>& gids) {
  std::string out;
  for (uint32_t g : gids) out += (out.empty() ? "" : ", ") + std::to_string(g);
  return "[" + out + "]";
}

Status set_groups(const std::vector<uint32_t>& gids) {
  const std::string field = "process.user.additionalGids";
  if (!setgroups_allowed()) {
    if (gids.empty()) return {};
    return make_error(
        field + ": cannot set " + gid_list(gids) + ": setgroups is denied in this user namespace",
        EPERM);
  }
  std::vector<gid_t> list(gids.begin(), gids.end());
  if (::setgroups(list.size(), list.data()) < 0) {
    return sys_error(field + ": setgroups(" + gid_list(gids) + ")");
  }
  return {};
}

Status set_ids(uint32_t uid, uint32_t gid) {
  if (::setresgid(gid, gid, gid) < 0) {
    return sys_error("process.user.gid: setresgid(" + std::to_string(gid) + ")");
  }
  if (::setresuid(uid, uid, uid) < 0) {
    return sys_error("process.user.uid: setresuid(" + std::to_string(uid) + ")");
  }
  return {};
}

}  // namespace

Status switch_user(const spec::User& user, const CapSets& caps) {
  NSBOX_TRY(set_keepcaps(true));
  NSBOX_TRY(set_groups(user.additional_gids));
  NSBOX_TRY(set_ids(user.uid, user.gid));
  NSBOX_TRY(set_keepcaps(false));
  NSBOX_TRY(apply_caps(caps));
  if (user.umask) ::umask(static_cast<mode_t>(*user.umask & 0777));
  return {};
}

Status set_no_new_privileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return sys_error("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return {};
}

Status become_root_in_user_ns() {
  if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) return sys_error("setresgid(0)");
  if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return sys_error("setresuid(0)");
  return {};
}

}  // namespace nsbox::security
