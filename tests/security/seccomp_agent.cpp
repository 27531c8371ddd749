#include "seccomp_agent.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

using nlohmann::json;

namespace nsbox::it {

namespace {

bool fail(std::string* error, const std::string& what) {
  *error = what + ": " + std::strerror(errno);
  return false;
}

// What nsbox sends on one connection: the state, with the fds (SCM_RIGHTS),
// then EOF.
bool read_state(int conn, json* state, std::vector<UniqueFd>* fds, std::string* error) {
  std::string text;
  char buf[4096];
  for (;;) {
    iovec iov{buf, sizeof buf};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char ctl[CMSG_SPACE(4 * sizeof(int))] = {};
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    ssize_t n = ::recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0) return fail(error, "recvmsg");
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        fds->emplace_back(fd);
      }
    }
    if (n == 0) break;  // nsbox closes the connection after one state
    text.append(buf, static_cast<size_t>(n));
  }
  *state = json::parse(text, nullptr, false);
  return !state->is_discarded() || fail(error, "bad JSON: " + text);
}

bool answer_continue(int listener, uint64_t id) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
}

}  // namespace

Agent::Agent(const std::string& path) : path_(path) {
  sock_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bound_ = sock_ && wake_ &&
           ::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
           ::listen(sock_.get(), 4) == 0;
}

Agent::~Agent() { stop(); }

bool Agent::receive(json* state, std::vector<UniqueFd>* fds, std::string* error) {
  pollfd p{sock_.get(), POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return fail(error, "no connection");
  UniqueFd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return fail(error, "accept");
  return read_state(conn.get(), state, fds, error);
}

void Agent::serve() {
  thread_ = std::thread([this] { loop(); });
}

void Agent::loop() {
  for (;;) {
    std::vector<pollfd> p = {{wake_.get(), POLLIN, 0}, {sock_.get(), POLLIN, 0}};
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& l : listeners_) p.push_back({l.fd.get(), POLLIN, 0});
    }
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents != 0) return;
    if (p[1].revents != 0) accept_one();
    for (size_t i = 2; i < p.size(); ++i) {
      if (p[i].revents == 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
        if (it->fd.get() != p[i].fd) continue;
        if ((p[i].revents & POLLIN) != 0) handle(*it);
        // No process left under the filter.
        if ((p[i].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 && (p[i].revents & POLLIN) == 0) {
          if (held_fd_ == it->fd.get()) held_fd_ = -1;
          listeners_.erase(it);
        }
        break;
      }
    }
  }
}

void Agent::accept_one() {
  UniqueFd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return;
  json state;
  std::vector<UniqueFd> fds;
  std::string error;
  if (!read_state(conn.get(), &state, &fds, &error)) state = {{"agent-error", error}};
  std::lock_guard<std::mutex> lock(mu_);
  int n = static_cast<int>(states_.size());
  states_.push_back(std::move(state));
  for (auto& fd : fds) listeners_.push_back({n, std::move(fd)});
  cv_.notify_all();
}

// Called with mu_ held.
void Agent::handle(Listener& l) {
  seccomp_notif req{};
  // ENOENT: the process went away (or was interrupted) since poll.
  if (::ioctl(l.fd.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return;
  if (l.connection == hold_connection_ && !holding_) {
    holding_ = true;
    held_ = req;
    held_fd_ = l.fd.get();
    cv_.notify_all();
    return;
  }
  answer_continue(l.fd.get(), req.id);
}

std::optional<seccomp_notif> Agent::held(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return holding_; })) {
    return std::nullopt;
  }
  return held_;
}

bool Agent::held_pending() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!holding_ || released_ || held_fd_ < 0) return false;
  uint64_t id = held_.id;
  return ::ioctl(held_fd_, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool Agent::release() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!holding_ || released_ || held_fd_ < 0) return false;
  released_ = true;
  return answer_continue(held_fd_, held_.id);
}

std::vector<json> Agent::states() {
  std::lock_guard<std::mutex> lock(mu_);
  return states_;
}

void Agent::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  held_fd_ = -1;
  listeners_.clear();
}

int answer_notification(int listener, int error) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return -1;
  seccomp_notif req{};
  if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return -2;
  seccomp_notif_resp resp{};
  resp.id = req.id;
  resp.error = -error;
  if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) return -3;
  return req.data.nr;
}

}  // namespace nsbox::it
