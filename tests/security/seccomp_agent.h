// A seccomp agent for the tests (linux.seccomp.listenerPath): the listening
// socket nsbox sends the ContainerProcessState and the listener of an
// SCMP_ACT_NOTIFY filter to.
//
// Two ways to use it, not both at once:
// - by hand: receive() one connection, answer_notification() one
//   notification with an errno;
// - serve(): a thread accepts every connection and answers every
//   notification with SECCOMP_USER_NOTIF_FLAG_CONTINUE (the syscall runs),
//   except the first one on the listener of the connection hold() names,
//   which it keeps pending until release(): the process stays blocked in
//   that syscall.
#pragma once

#include <linux/seccomp.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"

namespace nsbox::it {

class Agent {
 public:
  explicit Agent(const std::string& path);
  ~Agent();  // stop()
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  bool bound() const { return bound_; }

  // By hand: one connection (10 s at most), its state and the fds sent with it.
  bool receive(nlohmann::json* state, std::vector<UniqueFd>* fds, std::string* error);

  // Hold the first notification on the listener of connection `n` (0-based,
  // in the order nsbox connects). Call before serve().
  void hold(int n) { hold_connection_ = n; }
  // Start the serving thread.
  void serve();
  // The held notification (its pid is in our PID namespace), once it has
  // come; nullopt after `timeout_ms`.
  std::optional<seccomp_notif> held(int timeout_ms);
  // The held notification is still pending (SECCOMP_IOCTL_NOTIF_ID_VALID):
  // its pid still names the process blocked in the syscall.
  bool held_pending();
  // Answer the held notification with CONTINUE.
  bool release();
  // The states received by the serving thread, in order.
  std::vector<nlohmann::json> states();
  // Stop serving: every listener is closed (a pending notification then
  // fails its syscall with ENOSYS). Idempotent.
  void stop();

 private:
  struct Listener {
    int connection = -1;
    UniqueFd fd;
  };
  void loop();
  void accept_one();
  void handle(Listener& l);

  std::string path_;
  UniqueFd sock_;
  UniqueFd wake_;  // eventfd: stop
  bool bound_ = false;
  int hold_connection_ = -1;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> states_;
  std::vector<Listener> listeners_;  // the serving thread's, and release()'s under mu_
  bool holding_ = false;             // a notification has been held (only one ever)
  bool released_ = false;
  int held_fd_ = -1;  // the listener the held notification came on
  seccomp_notif held_{};
};

// Answer one notification (10 s at most) with `error`; returns the syscall
// number asked, or -1 (no notification), -2 (recv failed), -3 (send failed).
int answer_notification(int listener, int error);

}  // namespace nsbox::it
