// The typed parent <-> init protocol over a SOCK_SEQPACKET socketpair.
// Every message is one packet: a type and an optional text payload. The
// init's messages carry SCM_CREDENTIALS, so the parent learns the init's pid
// as seen from its own PID namespace even when the init is a grandchild.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <string>

#include "common/fd.h"
#include "common/result.h"

namespace nsbox::process {

enum class Msg : uint32_t {
  kHello = 1,        // init -> parent: I exist (pid in credentials)
  kNeedIdMaps,       // init -> parent: write my uid_map/gid_map
  kNamespacesReady,  // init -> parent: namespaces exist; run prestart/createRuntime hooks
  kCreated,          // init -> parent: environment complete, waiting for start
  kError,            // either way: payload is the one-line reason
  kWarning,          // init -> parent: payload is a warning to log
  kContinue,         // parent -> init: go on
  kSeccompFd,        // init -> parent: the seccomp listener (SCM_RIGHTS) for the agent
  kConsoleFd,        // init -> parent: the pty master (SCM_RIGHTS) of process.terminal
};

// Error code of recv() when the peer closed its end: it exited, or (the
// exec child) its close-on-exec end went with a successful execve.
constexpr int kPeerClosed = EPIPE;

const char* msg_name(Msg m);  // "kHello" -> "hello", for debug logs

struct Packet {
  Msg type;
  std::string text;
  pid_t sender_pid = 0;  // from SCM_CREDENTIALS, 0 when absent
  UniqueFd fd;           // from SCM_RIGHTS (kSeccompFd, kConsoleFd), close-on-exec
};

class Channel {
 public:
  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<std::pair<Channel, Channel>> make_pair();  // {parent end, child end}

  Status send(Msg type, const std::string& text = {}, bool with_creds = false);
  // A packet without text carrying one fd (SCM_RIGHTS).
  Status send_fd(Msg type, int fd);
  Result<Packet> recv();  // EOF is an error "init exited"
  // recv() that expects one type; a kError packet becomes its Error.
  Status expect(Msg type);
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

}  // namespace nsbox::process
