// nsbox-testprog: a static helper the integration tests bind-mount into
// containers (the busybox rootfs has no memory hog or fork counter).
//   hog MIB      touch MIB MiB of memory, 1 MiB at a time; prints "hog-done"
//                only if it survives
//   forks N      fork N children that sleep until killed; prints
//                "forked S failed F errno E"
//   spin MS      busy-loop for MS ms of wall time; prints "cpu_ms C wall_ms W"
//   exe-scan 0   the CVE-2019-5736 probe: for every other process, whether
//                /proc/PID/exe opens (O_PATH), the file's dev:ino, whether
//                its mount is read-only, and whether it reopens for writing
//                (never writes): lines "PID denied ERRNO" or
//                "PID DEV:INO ro|rw write ERRNO|WRITABLE"
//   notify TEXT  sd_notify: TEXT as one datagram to $NOTIFY_SOCKET
//   ipc-make KEY a SysV message queue with key KEY holding one message;
//                prints "made ID", then waits until killed
//   keyring 0    the serial of the session keyring: "keyring SERIAL"
//   ipc-find KEY whether a message queue with key KEY exists here: prints
//                "found ID MESSAGES" or "absent"
#include <dirent.h>
#include <fcntl.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

int hog(long mib) {
  std::vector<char*> blocks;
  for (long i = 0; i < mib; ++i) {
    char* p = static_cast<char*>(std::malloc(1 << 20));
    if (p == nullptr) {
      std::printf("hog-malloc-failed %ld\n", i);
      return 1;
    }
    std::memset(p, 1, 1 << 20);
    blocks.push_back(p);
  }
  std::printf("hog-done %ld\n", mib);
  return 0;
}

int forks(long n) {
  long ok = 0, failed = 0;
  int err = 0;
  for (long i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (;;) ::pause();
    }
    if (pid > 0) {
      ++ok;
    } else {
      ++failed;
      err = errno;
    }
  }
  std::printf("forked %ld failed %ld errno %d\n", ok, failed, err);
  return 0;
}

long cpu_ms() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

int spin(long ms) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto end = start + std::chrono::milliseconds(ms);
  volatile unsigned long x = 0;
  while (Clock::now() < end) {
    for (int i = 0; i < 10000; ++i) x = x + 1;
  }
  long wall = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::printf("cpu_ms %ld wall_ms %ld\n", cpu_ms(), wall);
  return 0;
}

// sd_notify: one datagram with `text` to $NOTIFY_SOCKET.
int notify(const char* text) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr) return 1;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  ssize_t n =
      ::sendto(fd, text, std::strlen(text), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (n < 0) std::perror("sendto");
  return n < 0 ? 1 : 0;
}

int exe_scan() {
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return 1;
  while (dirent* e = ::readdir(d)) {
    long pid = std::strtol(e->d_name, nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string exe = std::string("/proc/") + e->d_name + "/exe";
    int fd = ::open(exe.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      std::printf("%ld denied %d\n", pid, errno);
      continue;
    }
    struct stat st {};
    ::fstat(fd, &st);
    struct statvfs sv {};
    const char* mnt = ::fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0 ? "ro" : "rw";
    std::string again = "/proc/self/fd/" + std::to_string(fd);
    int wfd = ::open(again.c_str(), O_WRONLY | O_CLOEXEC);
    if (wfd >= 0) {
      std::printf("%ld %lu:%lu %s WRITABLE\n", pid, static_cast<unsigned long>(st.st_dev),
                  static_cast<unsigned long>(st.st_ino), mnt);
      ::close(wfd);
    } else {
      std::printf("%ld %lu:%lu %s write %d\n", pid, static_cast<unsigned long>(st.st_dev),
                  static_cast<unsigned long>(st.st_ino), mnt, errno);
    }
    ::close(fd);
  }
  ::closedir(d);
  return 0;
}

int fail(const char* what) {
  std::perror(what);
  return 1;
}

int keyring() {
  constexpr long kGetKeyringId = 0;     // KEYCTL_GET_KEYRING_ID
  constexpr long kSessionKeyring = -3;  // KEY_SPEC_SESSION_KEYRING
  long serial = ::syscall(SYS_keyctl, kGetKeyringId, kSessionKeyring, 0L);
  if (serial < 0) return fail("keyctl");
  std::printf("keyring %ld\n", serial);
  return 0;
}

int ipc_make(long key) {
  int id = ::msgget(static_cast<key_t>(key), IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) return fail("msgget");
  struct {
    long mtype;
    char mtext[8];
  } msg = {1, "hello"};
  if (::msgsnd(id, &msg, sizeof msg.mtext, 0) < 0) return fail("msgsnd");
  std::printf("made %d\n", id);
  for (;;) ::pause();
}

int ipc_find(long key) {
  int id = ::msgget(static_cast<key_t>(key), 0);
  if (id < 0) {
    if (errno != ENOENT) return fail("msgget");
    std::printf("absent\n");
    return 0;
  }
  struct msqid_ds ds {};
  if (::msgctl(id, IPC_STAT, &ds) < 0) return fail("msgctl");
  std::printf("found %d %lu\n", id, static_cast<unsigned long>(ds.msg_qnum));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  if (argc != 3) {
    std::fprintf(stderr, "usage: nsbox-testprog hog MIB | forks N | spin MS\n");
    return 2;
  }
  long n = std::strtol(argv[2], nullptr, 10);
  std::string_view cmd = argv[1];
  if (cmd == "hog") return hog(n);
  if (cmd == "forks") return forks(n);
  if (cmd == "spin") return spin(n);
  if (cmd == "exe-scan") return exe_scan();
  if (cmd == "notify") return notify(argv[2]);
  if (cmd == "keyring") return keyring();
  if (cmd == "ipc-make") return ipc_make(n);
  if (cmd == "ipc-find") return ipc_find(n);
  std::fprintf(stderr, "nsbox-testprog: unknown command %s\n", argv[1]);
  return 2;
}
