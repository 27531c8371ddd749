#include "ns/namespaces.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "common/procfs.h"
#include "common/util.h"

namespace nsbox::ns {

using spec::NsType;

namespace {

std::string map_text(const std::vector<spec::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

Result<UniqueFd> open_ns(const spec::Namespace& n, size_t index) {
  std::string field = "linux.namespaces[" + std::to_string(index) + "].path";
  UniqueFd fd(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error(field + ": open " + n.path);
  int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0) return sys_error(field + ": " + n.path + " is not a namespace");
  if (type != spec::ns_clone_flag(n.type)) {
    return make_error(field + ": " + n.path + " is not a " + spec::ns_type_name(n.type) +
                      " namespace");
  }
  return fd;
}

}  // namespace

Result<Plan> plan(const spec::Config& cfg) {
  Plan p;
  if (!cfg.linux_) return p;
  bool joins_other = false;
  const auto& nss = cfg.linux_->namespaces;
  for (size_t i = 0; i < nss.size(); ++i) {
    const auto& n = nss[i];
    if (n.path.empty()) {
      if (n.type == NsType::kUser) p.new_user = true;
      if (n.type == NsType::kPid) p.new_pid = true;
      if (n.type == NsType::kTime) {
        p.new_time = true;
        continue;
      }
      if (n.type == NsType::kCgroup) {
        p.new_cgroup = true;
        continue;
      }
      p.clone_flags |= static_cast<uint64_t>(spec::ns_clone_flag(n.type));
      continue;
    }
    auto fd = open_ns(n, i);
    if (!fd) return std::move(fd).error();
    if (n.type == NsType::kPid) {
      p.pid_join = std::move(*fd);
      continue;
    }
    if (n.type != NsType::kUser) joins_other = true;
    Join j{n.type, n.path, std::move(*fd)};
    if (n.type == NsType::kUser) {
      p.joins.insert(p.joins.begin(), std::move(j));
    } else {
      p.joins.push_back(std::move(j));
    }
  }
  bool joins_user = !p.joins.empty() && p.joins.front().type == NsType::kUser;
  p.staged = joins_user || (p.new_user && joins_other);
  if (p.staged) {
    p.unshare_flags =
        static_cast<int>(p.clone_flags & ~static_cast<uint64_t>(CLONE_NEWUSER | CLONE_NEWPID));
    p.clone_flags = 0;
  }
  return p;
}

Result<UniqueFd> enter_pid_ns_for_children(int pid_ns_fd) {
  if (pid_ns_fd < 0) return UniqueFd();
  UniqueFd own(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own) return sys_error("open /proc/self/ns/pid");
  if (::setns(pid_ns_fd, CLONE_NEWPID) < 0) return sys_error("join pid namespace");
  return own;
}

Result<UniqueFd> enter_pid_ns_for_children(const Plan& p) {
  return enter_pid_ns_for_children(p.pid_join.get());
}

Status restore_pid_ns(int own_pid_ns_fd) {
  if (own_pid_ns_fd < 0) return {};
  if (::setns(own_pid_ns_fd, CLONE_NEWPID) < 0) return sys_error("restore pid namespace");
  return {};
}

Status join(const Plan& p, bool user_only) {
  for (const auto& j : p.joins) {
    bool is_user = j.type == NsType::kUser;
    if (user_only != is_user) continue;
    if (::setns(j.fd.get(), spec::ns_clone_flag(j.type)) < 0) {
      return sys_error(std::string("join ") + spec::ns_type_name(j.type) + " namespace " + j.path);
    }
  }
  return {};
}

Result<UniqueFd> open_time_offsets() {
  auto fd = procfs::open_verified("/proc/self/timens_offsets", O_WRONLY);
  if (!fd) return std::move(fd).error().wrap("linux.timeOffsets");
  return fd;
}

Status unshare_time_ns(const spec::Linux& lx, int offsets_fd) {
  if (::unshare(CLONE_NEWTIME) < 0) return sys_error("unshare time namespace");
  // One write per clock: the kernel parses a single clock per write on some versions.
  for (const auto& [clock, off] : lx.time_offsets) {
    std::string line =
        clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    NSBOX_TRY_CTX(write_all(offsets_fd, line), "linux.timeOffsets." + clock);
  }
  return {};
}

Status enter_time_ns_for_children() {
  UniqueFd fd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open /proc/self/ns/time_for_children");
  if (::setns(fd.get(), CLONE_NEWTIME) < 0) return sys_error("enter time namespace");
  return {};
}

Status write_id_maps(pid_t pid, const spec::Linux& lx) {
  std::string base = "/proc/" + std::to_string(pid) + "/";
  NSBOX_TRY_CTX(procfs::write_verified(base + "uid_map", map_text(lx.uid_mappings)),
                "linux.uidMappings");
  NSBOX_TRY_CTX(procfs::write_verified(base + "gid_map", map_text(lx.gid_mappings)),
                "linux.gidMappings");
  return {};
}

}  // namespace nsbox::ns
