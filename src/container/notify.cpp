// sd_notify through the container (runc's NOTIFY_SOCKET proxy): when nsbox
// runs with NOTIFY_SOCKET set (a systemd unit of Type=notify), the
// container gets its own socket at /run/notify/notify.sock (a read-only
// bind of <state>/notify); `start` listens there and, once the container
// says READY=1, tells the caller's socket "READY=1" with MAINPID = the
// container's init.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/syscalls.h"
#include "common/util.h"
#include "container/internal.h"

namespace nsbox::container {

namespace {

constexpr const char* kNotifyDir = "notify";
constexpr const char* kInContainer = "/run/notify";

std::string host_notify_socket() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  return s != nullptr ? s : "";
}

Result<sockaddr_un> unix_address(const std::string& path, socklen_t* len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return make_error("NOTIFY_SOCKET " + path + ": not a usable socket path");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  return addr;
}

}  // namespace

Status add_notify_socket(const ContainerDir& dir, spec::Config* cfg) {
  if (host_notify_socket().empty()) return {};
  if (::mkdirat(dir.fd(), kNotifyDir, 0755) < 0 && errno != EEXIST) {
    return sys_error("NOTIFY_SOCKET: mkdir " + dir.path() + "/notify");
  }
  // Without a mount namespace the container sees the host's paths.
  std::string dir_in_container = dir.path() + "/" + kNotifyDir;
  if (cfg->linux_ && cfg->linux_->has_ns(spec::NsType::kMount)) {
    cfg->mounts.push_back({kInContainer,
                           "bind",
                           dir.path() + "/" + kNotifyDir,
                           {"bind", "nosuid", "noexec", "nodev", "ro"}});
    dir_in_container = kInContainer;
  }
  cfg->process->env.push_back("NOTIFY_SOCKET=" + dir_in_container + "/notify.sock");
  return {};
}

Result<UniqueFd> bind_notify_socket(const ContainerDir& dir) {
  struct stat st {};
  if (host_notify_socket().empty() || ::fstatat(dir.fd(), kNotifyDir, &st, 0) < 0) {
    return UniqueFd();
  }
  std::string path =
      "/proc/self/fd/" + std::to_string(dir.fd()) + "/" + kNotifyDir + "/notify.sock";
  ::unlink(path.c_str());
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("NOTIFY_SOCKET: socket");
  socklen_t len = 0;
  auto addr = unix_address(path, &len);
  if (!addr) return std::move(addr).error();
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&*addr), len) < 0) {
    return sys_error("NOTIFY_SOCKET: bind " + path);
  }
  ::chmod(path.c_str(), 0777);  // the container's user may not be root
  return sock;
}

Status forward_ready(int sock, pid_t init) {
  UniqueFd pidfd(sys::pidfd_open(init, 0));
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error("NOTIFY_SOCKET: poll");
    }
    if (fds[0].revents == 0)
      return make_error("NOTIFY_SOCKET: the container exited before READY=1");
    char buf[4096];
    ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    if (n <= 0) continue;
    std::string msg(buf, static_cast<size_t>(n));
    bool ready = false;
    for (const auto& line : split(msg, '\n')) ready = ready || line == "READY=1";
    if (!ready) continue;
    UniqueFd out(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    socklen_t len = 0;
    auto addr = unix_address(host_notify_socket(), &len);
    if (!addr) return std::move(addr).error();
    std::string reply = "READY=1\nMAINPID=" + std::to_string(init) + "\n";
    if (!out || ::sendto(out.get(), reply.data(), reply.size(), 0,
                         reinterpret_cast<sockaddr*>(&*addr), len) < 0) {
      return sys_error("NOTIFY_SOCKET: send to " + host_notify_socket());
    }
    return {};
  }
}

}  // namespace nsbox::container
