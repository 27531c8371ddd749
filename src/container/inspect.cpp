// `ipcs` and `ns`: views of a container's namespaces from the host.
//
// ipcs: /proc/sysvipc/{msg,shm,sem} and the IPC sysctls show the reader's
// IPC namespace, so a forked child (no exec) joins the init's IPC namespace
// and reads them; for POSIX message queues it unshares a mount namespace and
// mounts a fresh mqueue filesystem, which belongs to the IPC namespace it is
// in. The child sends raw file contents back over a pipe ("NAME\0TEXT\0"
// records); the parent parses them.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "common/syscalls.h"
#include "common/util.h"
#include "container/internal.h"

namespace nsbox::container {

namespace {

const char* const kLimitFiles[] = {
    "kernel/msgmax",     "kernel/msgmnb",        "kernel/msgmni", "kernel/shmmax",
    "kernel/shmall",     "kernel/shmmni",        "kernel/sem",    "fs/mqueue/queues_max",
    "fs/mqueue/msg_max", "fs/mqueue/msgsize_max"};

const char* const kNsNames[] = {"mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"};

Status require_live(const Opened& c) {
  if (c.status == "created" || c.status == "running" || c.status == "paused") return {};
  return make_error("container " + c.rec.id + " not running (" + c.status + ")");
}

// ---- child side: no exceptions escape, only _exit ----

void put(std::string* out, const std::string& name, const std::string& text) {
  out->append(name);
  out->push_back('\0');
  out->append(text);
  out->push_back('\0');
}

Status list_mqueues(std::string* out) {
  if (::unshare(CLONE_NEWNS) < 0) return sys_error("unshare mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
    return sys_error("make / private");
  }
  UniqueFd fs(::fsopen("mqueue", FSOPEN_CLOEXEC));
  if (!fs) return sys_error("fsopen mqueue");
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return sys_error("create mqueue filesystem");
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (!mnt) return sys_error("fsmount mqueue");
  int dfd = ::openat(mnt.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return sys_error("open mqueue root");
  DIR* d = ::fdopendir(dfd);
  if (d == nullptr) {
    ::close(dfd);
    return sys_error("fdopendir mqueue root");
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;  // gone since
    auto text = read_file_at(dfd, name);
    put(out,
        "mq:" + std::to_string(st.st_uid) + ":" + std::to_string(st.st_mode & 07777) + ":" + name,
        text ? *text : std::string());
  }
  ::closedir(d);
  return {};
}

Status collect(int ns_fd, std::string* out) {
  if (::setns(ns_fd, CLONE_NEWIPC) < 0) return sys_error("join the IPC namespace");
  for (const char* f : {"msg", "shm", "sem"}) {
    auto text = read_file(std::string("/proc/sysvipc/") + f);
    if (!text) return std::move(text).error();
    put(out, f, *text);
  }
  for (const char* f : kLimitFiles) {
    auto text = read_file(std::string("/proc/sys/") + f);
    if (text) put(out, std::string("limit:") + f, trim(*text));  // fs/mqueue: may be absent
  }
  return list_mqueues(out);
}

[[noreturn]] void child_main(int ns_fd, int wr) noexcept {
  int code = 0;
  try {
    std::string out;
    auto s = collect(ns_fd, &out);
    if (!s) {
      out.clear();
      put(&out, "error", s.error().msg);
      code = 1;
    }
    if (!write_all(wr, out)) code = 2;
  } catch (...) {
    code = 3;
  }
  ::_exit(code);
}

// ---- parent side ----

std::vector<std::string> fields(const std::string& line) {
  auto f = split(line, ' ');
  f.erase(std::remove(f.begin(), f.end(), ""), f.end());
  return f;
}

unsigned long long num(const std::map<std::string, std::string>& row, const std::string& col) {
  auto it = row.find(col);
  long long v = 0;
  if (it == row.end() || !parse_int64(it->second, &v) || v < 0) return 0;
  return static_cast<unsigned long long>(v);
}

// /proc/sysvipc/X: a header line naming the columns, then one row each.
Status parse_sysvipc(const std::string& kind, const std::string& text, IpcView* v) {
  auto lines = split(text, '\n');
  if (lines.empty()) return make_error("/proc/sysvipc/" + kind + ": empty");
  auto header = fields(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    auto f = fields(lines[i]);
    if (f.empty()) continue;
    if (f.size() < header.size()) return make_error("/proc/sysvipc/" + kind + ": short row");
    std::map<std::string, std::string> row;
    for (size_t k = 0; k < header.size(); ++k) row[header[k]] = f[k];
    IpcObject o;
    o.kind = kind;
    long long key = 0;
    parse_int64(row["key"], &key);
    o.key = key;
    o.id = static_cast<long long>(num(row, kind + "id"));
    o.uid = num(row, "uid");
    o.perms = static_cast<unsigned>(std::strtoul(row["perms"].c_str(), nullptr, 8));
    if (kind == "msg") {
      o.bytes = num(row, "cbytes");
      o.messages = num(row, "qnum");
      v->msg_queues += 1;
      v->msg_messages += o.messages;
      v->msg_bytes += o.bytes;
    } else if (kind == "shm") {
      o.size = num(row, "size");
      o.attached = num(row, "nattch");
    } else {
      o.nsems = num(row, "nsems");
    }
    v->objects.push_back(std::move(o));
  }
  return {};
}

Status parse_mq(const std::string& name, const std::string& text, IpcView* v) {
  // "mq:UID:MODE:NAME"
  auto rest = name.substr(3);
  size_t a = rest.find(':');
  size_t b = a == std::string::npos ? a : rest.find(':', a + 1);
  if (b == std::string::npos) return make_error("ipcs: bad mqueue record");
  PosixMq q;
  long long uid = 0, mode = 0;
  parse_int64(rest.substr(0, a), &uid);
  parse_int64(rest.substr(a + 1, b - a - 1), &mode);
  q.uid = static_cast<unsigned long long>(uid);
  q.perms = static_cast<unsigned>(mode);
  q.name = "/" + rest.substr(b + 1);
  q.info = trim(text);
  for (const auto& f : fields(q.info)) {
    long long n = 0;
    if (starts_with(f, "QSIZE:") && parse_int64(f.substr(6), &n)) q.qsize = n;
  }
  v->mqueues.push_back(std::move(q));
  return {};
}

Result<IpcView> parse_records(const std::string& data) {
  IpcView v;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n1 = data.find('\0', pos);
    if (n1 == std::string::npos) return make_error("ipcs: truncated reply");
    size_t n2 = data.find('\0', n1 + 1);
    if (n2 == std::string::npos) return make_error("ipcs: truncated reply");
    std::string name = data.substr(pos, n1 - pos);
    std::string text = data.substr(n1 + 1, n2 - n1 - 1);
    pos = n2 + 1;
    if (name == "error") return make_error("ipcs: " + text);
    if (name == "msg" || name == "shm" || name == "sem") {
      NSBOX_TRY(parse_sysvipc(name, text, &v));
    } else if (starts_with(name, "limit:")) {
      std::string key = name.substr(6);
      std::replace(key.begin(), key.end(), '/', '.');
      std::replace(text.begin(), text.end(), '\t', ' ');
      v.limits.emplace_back(key, text);
    } else if (starts_with(name, "mq:")) {
      NSBOX_TRY(parse_mq(name, text, &v));
    }
  }
  std::sort(v.mqueues.begin(), v.mqueues.end(),
            [](const PosixMq& a, const PosixMq& b) { return a.name < b.name; });
  return v;
}

// The init's /proc/PID/ns/<name>, opened while the init is verified alive
// (pidfd held, start time checked after the open).
Result<UniqueFd> open_init_ns(const Record& rec, const char* name) {
  UniqueFd pidfd(sys::pidfd_open(rec.pid, 0));
  std::string path = "/proc/" + std::to_string(rec.pid) + "/ns/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pidfd || !fd || proc_start_time(rec.pid) != rec.start_time) {
    return make_error("container " + rec.id + " not running");
  }
  return fd;
}

// Inode of the init's namespace, 0 when it does not exist (no time ns) or
// the init is gone.
unsigned long long init_ns_inode(const Record& rec, const char* name) {
  struct stat st {};
  std::string path = "/proc/" + std::to_string(rec.pid) + "/ns/" + name;
  if (::stat(path.c_str(), &st) < 0) return 0;
  if (proc_start_time(rec.pid) != rec.start_time) return 0;
  return st.st_ino;
}

unsigned long long ns_inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

Result<IpcView> ipc_view(const Runtime& rt, const std::string& id) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  NSBOX_TRY(require_live(*c));
  auto ns = open_init_ns(c->rec, "ipc");
  if (!ns) return std::move(ns).error();
  c->dir = ContainerDir();  // the namespace fd keeps it; no lock needed
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe");
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) child_main(ns->get(), wr.get());
  wr.reset();
  auto data = read_all(rd.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!data) return std::move(data).error();
  auto v = parse_records(*data);
  if (!v) return v;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error("ipcs: the reader in the IPC namespace failed (status " +
                      std::to_string(status) + ")");
  }
  return v;
}

Result<std::vector<NsShare>> namespaces(const Runtime& rt, const std::string& id) {
  Record self;
  {
    auto c = open_container(rt, id, false);
    if (!c) return std::move(c).error();
    NSBOX_TRY(require_live(*c));
    self = c->rec;
  }
  std::vector<NsShare> out;
  for (const char* name : kNsNames) {
    NsShare s;
    s.type = name;
    s.inode = init_ns_inode(self, name);
    if (s.inode == 0) {
      if (proc_start_time(self.pid) != self.start_time) {
        return make_error("container " + id + " not running");
      }
      continue;  // not supported by this kernel
    }
    std::string leaf = std::string("/ns/") + name;
    s.host = s.inode == ns_inode("/proc/self" + leaf) || s.inode == ns_inode("/proc/1" + leaf);
    out.push_back(std::move(s));
  }
  auto ids = Store(rt.root).list();
  if (!ids) return std::move(ids).error();
  for (const auto& other : *ids) {
    if (other == id) continue;
    auto c = open_container(rt, other, false);
    if (!c || !require_live(*c)) continue;
    for (auto& s : out) {
      if (init_ns_inode(c->rec, s.type.c_str()) == s.inode) s.containers.push_back(other);
    }
  }
  return out;
}

Result<std::string> namespace_path(const Runtime& rt, const std::string& id, spec::NsType type) {
  auto c = open_container(rt, id, false);
  if (!c) return std::move(c).error();
  NSBOX_TRY(require_live(*c));
  const char* name = spec::ns_proc_name(type);
  if (init_ns_inode(c->rec, name) == 0) {
    if (proc_start_time(c->rec.pid) != c->rec.start_time) {
      return make_error("container " + id + " not running");
    }
    return make_error(std::string("no ") + name + " namespace (the kernel lacks it)");
  }
  return "/proc/" + std::to_string(c->rec.pid) + "/ns/" + name;
}

}  // namespace nsbox::container
