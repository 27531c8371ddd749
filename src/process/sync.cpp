#include "process/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/util.h"

namespace nsbox::process {

namespace {
constexpr size_t kMaxPayload = 8192;
}

const char* msg_name(Msg m) {
  switch (m) {
    case Msg::kHello:
      return "hello";
    case Msg::kNeedIdMaps:
      return "need id maps";
    case Msg::kNamespacesReady:
      return "mounts ready, run hooks";
    case Msg::kCreated:
      return "created";
    case Msg::kError:
      return "error";
    case Msg::kWarning:
      return "warning";
    case Msg::kContinue:
      return "continue";
    case Msg::kConsoleFd:
      return "console fd";
    case Msg::kSeccompFd:
      return "seccomp listener";
  }
  return "unknown";
}

Result<std::pair<Channel, Channel>> Channel::make_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    return sys_error("socketpair");
  }
  int on = 1;
  if (::setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return sys_error("setsockopt SO_PASSCRED");
  }
  return std::pair<Channel, Channel>{Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

Status Channel::send(Msg type, const std::string& text, bool with_creds) {
  std::string buf(sizeof(uint32_t), '\0');
  auto t = static_cast<uint32_t>(type);
  std::memcpy(buf.data(), &t, sizeof t);
  buf += text.substr(0, kMaxPayload);
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(ucred))] = {};
  if (with_creds) {
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(ucred));
    ucred cred{::getpid(), ::getuid(), ::getgid()};
    std::memcpy(CMSG_DATA(c), &cred, sizeof cred);
  }
  for (;;) {
    if (::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL) >= 0) return {};
    if (errno != EINTR) return sys_error("sync send");
  }
}

Status Channel::send_fd(Msg type, int fd) {
  auto t = static_cast<uint32_t>(type);
  auto n =
      send_with_fd(fd_.get(), std::string_view(reinterpret_cast<const char*>(&t), sizeof t), fd);
  if (!n) return std::move(n).error().wrap("sync send");
  return {};
}

Result<Packet> Channel::recv() {
  std::string buf(kMaxPayload + sizeof(uint32_t), '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))] = {};
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ssize_t n;
  do {
    n = ::recvmsg(fd_.get(), &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("sync receive");
  Packet p{};
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_CREDENTIALS) {
      ucred cred{};
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      p.sender_pid = cred.pid;
    } else if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      p.fd.reset(fd);  // owned at once: no return below leaks it
    }
  }
  if (n < static_cast<ssize_t>(sizeof(uint32_t))) {
    return make_error("container init exited before finishing its setup", kPeerClosed);
  }
  uint32_t t = 0;
  std::memcpy(&t, buf.data(), sizeof t);
  p.type = static_cast<Msg>(t);
  p.text = buf.substr(sizeof t, static_cast<size_t>(n) - sizeof t);
  return p;
}

Status Channel::expect(Msg type) {
  auto p = recv();
  if (!p) return std::move(p).error();
  if (p->type == Msg::kError) return make_error(p->text);
  if (p->type != type)
    return make_error("sync: unexpected message " + std::to_string(static_cast<uint32_t>(p->type)));
  return {};
}

}  // namespace nsbox::process
