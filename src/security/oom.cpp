#include "security/oom.h"

#include <fcntl.h>
#include <linux/oom.h>
#include <unistd.h>

#include <string>

#include "common/fd.h"
#include "common/procfs.h"
#include "common/util.h"

namespace nsbox::security {
namespace {

constexpr const char* kField = "process.oomScoreAdj";

// The current value, for the error message; "?" when unreadable.
std::string read_current(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? trim(std::string_view(buf, static_cast<size_t>(n))) : "?";
}

Error lower_error(pid_t pid, int value, const std::string& current, int err) {
  return make_error(std::string(kField) + ": lowering oom_score_adj of pid " + std::to_string(pid) +
                        " from " + current + " to " + std::to_string(value) +
                        " needs CAP_SYS_RESOURCE",
                    err);
}

}  // namespace

Status set_oom_score_adj(pid_t pid, int value) {
  if (value < OOM_SCORE_ADJ_MIN || value > OOM_SCORE_ADJ_MAX) {
    return make_error(std::string(kField) + ": " + std::to_string(value) + " out of range [" +
                          std::to_string(OOM_SCORE_ADJ_MIN) + ", " +
                          std::to_string(OOM_SCORE_ADJ_MAX) + "]",
                      EINVAL);
  }
  const std::string path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
  auto fd = procfs::open_verified(path, O_RDWR);
  if (!fd) return std::move(fd).error().wrap(kField);
  const std::string data = std::to_string(value);
  if (::pwrite(fd->get(), data.data(), data.size(), 0) == static_cast<ssize_t>(data.size())) {
    return {};
  }
  const int err = errno;
  if (err == EACCES || err == EPERM) return lower_error(pid, value, read_current(fd->get()), err);
  return sys_error(std::string(kField) + ": write " + data + " to " + path, err);
}

}  // namespace nsbox::security
