// process.terminal: a pty allocated inside the container (its devpts), the
// process's stdio and controlling terminal; the master goes to the runtime,
// which passes it to --console-socket (runc's protocol: one SCM_RIGHTS
// message) or proxies it to its own terminal.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "common/fd.h"
#include "common/result.h"
#include "spec/config.h"

namespace nsbox::process {

struct Pty {
  UniqueFd master;
  UniqueFd peer;  // the terminal side, already stdio of the caller
};

// Child side, inside the container's mount namespace: open /dev/ptmx, size
// the terminal (consoleSize), make the peer the controlling terminal of a
// new session and dup it to 0-2.
Result<Pty> open_terminal(const std::optional<spec::ConsoleSize>& size);

// Init side, after pivot_root: bind the pty over /dev/console (created
// when missing), resolved inside the root.
Status mount_console(int peer_fd);

// Runtime side: send the master to the unix socket at `path` (SCM_RIGHTS,
// with the name "/dev/ptmx" as payload, as runc does).
Status send_to_console_socket(const std::string& path, int master_fd);

// Runtime side, `run`/`exec` in the foreground without a console socket:
// stdin goes to the master and the master to stdout, our terminal in raw
// mode (restored by the destructor) with its window size kept in step. The
// caller polls stdin_fd() (when >= 0) and master_fd() and calls the
// matching on_*() method.
class TerminalProxy {
 public:
  explicit TerminalProxy(UniqueFd master);
  ~TerminalProxy();
  TerminalProxy(const TerminalProxy&) = delete;
  TerminalProxy& operator=(const TerminalProxy&) = delete;

  int stdin_fd() const { return stdin_open_ ? 0 : -1; }
  int master_fd() const { return master_.get(); }
  // Copy what stdin has; at its end, an end-of-file character goes to the
  // program (a pipe, not a terminal, was our stdin) and stdin is dropped.
  void on_stdin();
  // Copy what the master has to stdout; false when it hung up.
  bool on_master();
  void on_window_change();
  // After the program ended: copy what is left without blocking.
  void drain();

 private:
  UniqueFd master_;
  bool stdin_open_ = true;
  bool raw_ = false;
  struct termios* saved_ = nullptr;
};

}  // namespace nsbox::process
