#include "process/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/util.h"
#include "rootfs/rootfs.h"

namespace nsbox::process {

namespace {

constexpr unsigned kPtyMajor = 5, kPtmxMinor = 2;

}  // namespace

Result<Pty> open_terminal(const std::optional<spec::ConsoleSize>& size) {
  Pty pty;
  pty.master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (!pty.master) return sys_error("process.terminal: open /dev/ptmx");
  struct stat st {};
  if (::fstat(pty.master.get(), &st) < 0 || !S_ISCHR(st.st_mode) ||
      major(st.st_rdev) != kPtyMajor || minor(st.st_rdev) != kPtmxMinor) {
    return make_error("process.terminal: /dev/ptmx is not the pty multiplexer");
  }
  int flags = ::fcntl(pty.master.get(), F_GETFL);
  if (flags < 0 || ::fcntl(pty.master.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) {
    return sys_error("process.terminal: fcntl");
  }
  int unlock = 0;
  if (::ioctl(pty.master.get(), TIOCSPTLCK, &unlock) < 0)
    return sys_error("process.terminal: unlockpt");
  pty.peer.reset(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.peer) return sys_error("process.terminal: open the pty");
  if (size && size->height != 0 && size->width != 0) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (::ioctl(pty.peer.get(), TIOCSWINSZ, &ws) < 0) return sys_error("process.consoleSize");
  }
  if (::setsid() < 0) return sys_error("process.terminal: setsid");
  if (::ioctl(pty.peer.get(), TIOCSCTTY, 0) < 0) {
    return sys_error("process.terminal: set the controlling terminal");
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(pty.peer.get(), fd) < 0) return sys_error("process.terminal: dup2");
  }
  return pty;
}

Status mount_console(int peer_fd) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open /");
  auto target =
      rootfs::open_in_root(root.get(), "/dev/console", O_RDONLY | O_CREAT | O_NOFOLLOW, 0666);
  if (!target && target.error().code == ENXIO) {  // a device node: reopen it as O_PATH
    target = rootfs::open_in_root(root.get(), "/dev/console", O_PATH | O_NOFOLLOW);
  }
  if (!target) return std::move(target).error().wrap("process.terminal: /dev/console");
  UniqueFd tree(::open_tree(peer_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree) return sys_error("process.terminal: open_tree of the pty");
  if (::move_mount(tree.get(), "", target->get(), "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    return sys_error("process.terminal: bind the pty over /dev/console");
  }
  return {};
}

Status send_to_console_socket(const std::string& path, int master_fd) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("--console-socket: socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return make_error("--console-socket " + path + ": path too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    return sys_error("--console-socket " + path + ": connect");
  }
  auto sent = send_with_fd(sock.get(), "/dev/ptmx", master_fd);
  if (!sent) return std::move(sent).error().wrap("--console-socket " + path);
  return {};
}

TerminalProxy::TerminalProxy(UniqueFd master) : master_(std::move(master)) {
  static termios saved;
  if (::isatty(0) && ::tcgetattr(0, &saved) == 0) {
    termios raw = saved;
    ::cfmakeraw(&raw);
    raw_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
    if (raw_) saved_ = &saved;
  }
  on_window_change();
}

TerminalProxy::~TerminalProxy() {
  if (raw_) ::tcsetattr(0, TCSANOW, saved_);
}

void TerminalProxy::on_stdin() {
  char buf[4096];
  ssize_t n = ::read(0, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    stdin_open_ = false;
    if (!raw_) {
      // End of a piped stdin: the program reads end-of-file (VEOF).
      termios t{};
      char eof = ::tcgetattr(master_.get(), &t) == 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04';
      (void)write_all(master_.get(), std::string(1, eof));
    }
    return;
  }
  (void)write_all(master_.get(), std::string_view(buf, static_cast<size_t>(n)));
}

bool TerminalProxy::on_master() {
  char buf[4096];
  ssize_t n = ::read(master_.get(), buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;  // EIO: every peer fd is closed
  (void)write_all(1, std::string_view(buf, static_cast<size_t>(n)));
  return true;
}

void TerminalProxy::on_window_change() {
  winsize ws{};
  if (::isatty(0) && ::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row != 0) {
    ::ioctl(master_.get(), TIOCSWINSZ, &ws);
  }
}

void TerminalProxy::drain() {
  int flags = ::fcntl(master_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master_.get(), F_SETFL, flags | O_NONBLOCK) < 0) return;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(master_.get(), buf, sizeof buf);
    if (n <= 0) return;
    (void)write_all(1, std::string_view(buf, static_cast<size_t>(n)));
  }
}

}  // namespace nsbox::process
