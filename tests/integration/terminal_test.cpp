// process.terminal (a pty from the container's devpts as stdio and
// /dev/console; the master sent to --console-socket or proxied by `run`),
// --preserve-fds, LISTEN_FDS and the session keyring.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "harness.h"

using nlohmann::json;
using nsbox::it::contains;
using nsbox::it::Sandbox;

namespace {

// A console socket as an engine has one: listens, receives one fd.
class ConsoleServer {
 public:
  explicit ConsoleServer(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ =
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 1) == 0;
  }
  ~ConsoleServer() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool ok() const { return ok_; }
  // The received fd (-1 on failure) and the message's payload.
  int receive(std::string* payload) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return -1;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    char buf[256] = {};
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    ssize_t n = ::recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    ::close(conn);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    if (n <= 0 || c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
    payload->assign(buf, static_cast<size_t>(n));
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
};

// Read from the pty master until `want` shows up (10 s at most).
std::string read_until(int fd, const std::string& want) {
  std::string got;
  for (int i = 0; i < 100 && !contains(got, want); ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

json terminal_config(const std::vector<std::string>& args) {
  auto cfg = Sandbox::default_config(args);
  cfg["process"]["terminal"] = true;
  return cfg;
}

}  // namespace

TEST(Terminal, RunInTheForegroundProxiesThePty) {
  Sandbox sb;
  auto cfg = terminal_config({"sh", "-c", "tty; stty size; read line; echo got $line"});
  cfg["process"]["consoleSize"] = {{"height", 33}, {"width", 99}};
  auto o = sb.run(cfg, "typed\n");
  EXPECT_EQ(o.status, 0) << o.err;
  // Our stdin is not a terminal: the consoleSize stays; input is echoed.
  EXPECT_TRUE(contains(o.out, "/dev/pts/0")) << o.out;
  EXPECT_TRUE(contains(o.out, "33 99")) << o.out;
  EXPECT_TRUE(contains(o.out, "got typed")) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Terminal, ConsoleSocketGetsTheMasterAndConsoleIsThePty) {
  Sandbox sb;
  ConsoleServer console(sb.dir() + "/console.sock");
  ASSERT_TRUE(console.ok());
  std::string id = sb.new_id("tty");
  auto b = sb.bundle(terminal_config({"sh"}), id);
  auto c = sb.nsbox({"create", "-b", b, "--console-socket", sb.dir() + "/console.sock", id});
  ASSERT_EQ(c.status, 0) << c.err;
  std::string payload;
  int master = console.receive(&payload);
  ASSERT_GE(master, 0);
  EXPECT_EQ(payload, "/dev/ptmx");
  ASSERT_EQ(sb.nsbox({"start", id}).status, 0);
  std::string cmd = "echo answer $((6*7)); ls -l /dev/console; tty\n";
  ASSERT_EQ(::write(master, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
  std::string out = read_until(master, "/dev/pts/0\r\n");
  EXPECT_TRUE(contains(out, "answer 42")) << out;
  EXPECT_TRUE(contains(out, "136,   0")) << out;  // /dev/console is pts 0
  // The same through exec: a second pty.
  ConsoleServer exec_console(sb.dir() + "/exec.sock");
  auto e = sb.nsbox({"exec", "-t", "-d", "--console-socket", sb.dir() + "/exec.sock", id, "sh"});
  ASSERT_EQ(e.status, 0) << e.err;
  int exec_master = exec_console.receive(&payload);
  ASSERT_GE(exec_master, 0);
  cmd = "tty; echo exec $((6*7))\n";
  ASSERT_EQ(::write(exec_master, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
  out = read_until(exec_master, "exec 42");
  EXPECT_TRUE(contains(out, "/dev/pts/1")) << out;
  ::close(exec_master);
  ::close(master);
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}

TEST(Terminal, DetachedWithoutConsoleSocketIsRefused) {
  Sandbox sb;
  std::string id = sb.new_id("tty");
  auto o = sb.nsbox({"create", "-b", sb.bundle(terminal_config({"true"}), id), id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "--console-socket")) << o.err;
  id = sb.new_id("tty");
  o = sb.nsbox({"create", "-b", sb.bundle(Sandbox::default_config(), id), "--console-socket",
                sb.dir() + "/none.sock", id});
  EXPECT_NE(o.status, 0);
  EXPECT_TRUE(contains(o.err, "process.terminal is false")) << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// --preserve-fds and LISTEN_FDS (socket activation: LISTEN_PID is nsbox's
// pid, the container's process gets LISTEN_FDS=N LISTEN_PID=1).
TEST(CreateIo, PreservedAndListenFdsReachTheContainer) {
  Sandbox sb;
  auto cfg = Sandbox::default_config(
      {"sh", "-c",
       "for f in 3 4 5 6 7 8; do [ -e /proc/self/fd/$f ] && echo fd $f; done; "
       "echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"});
  std::string b = sb.bundle(cfg);
  auto run = [&](const std::string& prefix, const std::string& flags) {
    std::string cmd = "exec 3</proc/self/stat 4</proc/self/stat 7</proc/self/stat; " + prefix +
                      "'" + nsbox::it::nsbox_binary() + "' --root '" + sb.root() + "' run -b '" +
                      b + "' " + flags + sb.new_id("fds");
    return nsbox::it::run_program({"/bin/sh", "-c", cmd});
  };
  auto o = run("", "--preserve-fds 1 ");
  EXPECT_EQ(o.out, "fd 3\nLISTEN_FDS= LISTEN_PID=\n") << o.err;
  o = run("", "");
  EXPECT_EQ(o.out, "LISTEN_FDS= LISTEN_PID=\n") << o.err;
  // sh execs nsbox, so $$ is nsbox's pid.
  o = run("export LISTEN_FDS=1 LISTEN_PID=$$; exec ", "--preserve-fds 1 ");
  EXPECT_EQ(o.out, "fd 3\nfd 4\nLISTEN_FDS=1 LISTEN_PID=1\n") << o.err;
  EXPECT_EQ(sb.leftovers(), "");
}

// A session keyring of its own, named after the container, unless
// --no-new-keyring (/proc/keys unmasked for the test).
TEST(CreateIo, NewSessionKeyringUnlessNoNewKeyring) {
  Sandbox sb;
  auto cfg = Sandbox::default_config({"cat", "/proc/keys"});
  auto& masked = cfg["linux"]["maskedPaths"];
  for (size_t i = 0; i < masked.size(); ++i) {
    if (masked[i] == "/proc/keys") masked.erase(i);
  }
  std::string b = sb.bundle(cfg);
  std::string id = sb.new_id("key");
  auto o = sb.nsbox({"run", "-b", b, id});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "keyring   " + id + ":")) << o.out;
  id = sb.new_id("key");
  o = sb.nsbox({"run", "--no-new-keyring", "-b", b, id});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_FALSE(contains(o.out, "keyring   " + id + ":")) << o.out;
  EXPECT_EQ(sb.leftovers(), "");
}

// NOTIFY_SOCKET (a systemd unit of Type=notify running nsbox): the
// container's READY=1 reaches the caller's socket with MAINPID, and `start`
// returns only after it.
TEST(CreateIo, NotifySocketForwardsReady) {
  Sandbox sb;
  std::string host_sock = sb.dir() + "/notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, host_sock.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto cfg = Sandbox::default_config(
      {"sh", "-c",
       "echo $NOTIFY_SOCKET > /run/path; /home/nsbox-testprog notify READY=1; sleep 60"});
  nsbox::it::add_testprog(cfg);
  // /run/notify is created in a tmpfs, not in the shared rootfs.
  cfg["mounts"].push_back({{"destination", "/run"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  std::string id = sb.new_id("ntf");
  std::string cmd = "NOTIFY_SOCKET='" + host_sock + "' '" + nsbox::it::nsbox_binary() +
                    "' --root '" + sb.root() + "' run -d -b '" + sb.bundle(cfg, id) + "' " + id;
  auto o = nsbox::it::run_program({"/bin/sh", "-c", cmd});
  ASSERT_EQ(o.status, 0) << o.err;
  // run -d returned: the message is already there.
  char buf[256] = {};
  ssize_t n = ::recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf), "READY=1\nMAINPID=" + std::to_string(sb.pid_of(id)) + "\n");
  EXPECT_EQ(sb.nsbox({"exec", id, "cat", "/run/path"}).out, "/run/notify/notify.sock\n");
  EXPECT_EQ(sb.nsbox({"delete", "-f", id}).status, 0);
  EXPECT_EQ(sb.leftovers(), "");
}
