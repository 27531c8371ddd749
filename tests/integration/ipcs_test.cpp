// `nsbox ipcs` and `nsbox ns` on real containers. The IPC objects are made
// inside the container's IPC namespace by a forked child of the test that
// joins it (setns on the init's /proc/PID/ns/ipc): SysV objects and POSIX
// queues belong to the namespace, not to a process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "harness.h"

using nlohmann::json;
using nsbox::it::Output;
using nsbox::it::Sandbox;
using nsbox::it::slurp;

namespace {

constexpr key_t kMsgKey = 0x6e5b1001;
constexpr key_t kShmKey = 0x6e5b1002;
constexpr key_t kSemKey = 0x6e5b1003;
constexpr const char* kMqName = "/nsbox-test";

// In the IPC namespace of `pid`: one message queue holding one 5-byte
// message, one 4096-byte shm segment, one set of 3 semaphores and the POSIX
// queue /nsbox-test holding 3 bytes. Returns the child's exit code (0: ok).
int make_ipc(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/ipc";
  int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return 100;
  pid_t child = ::fork();
  if (child == 0) {
    if (::setns(ns, CLONE_NEWIPC) < 0) ::_exit(1);
    int q = ::msgget(kMsgKey, IPC_CREAT | IPC_EXCL | 0600);
    if (q < 0) ::_exit(2);
    struct {
      long mtype;
      char text[5];
    } m = {1, {'h', 'e', 'l', 'l', 'o'}};
    if (::msgsnd(q, &m, sizeof m.text, IPC_NOWAIT) < 0) ::_exit(3);
    if (::shmget(kShmKey, 4096, IPC_CREAT | IPC_EXCL | 0640) < 0) ::_exit(4);
    if (::semget(kSemKey, 3, IPC_CREAT | IPC_EXCL | 0600) < 0) ::_exit(5);
    mq_attr attr{};
    attr.mq_maxmsg = 4;
    attr.mq_msgsize = 16;
    mqd_t mq = ::mq_open(kMqName, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600, &attr);
    if (mq == static_cast<mqd_t>(-1)) ::_exit(6);
    if (::mq_send(mq, "abc", 3, 0) < 0) ::_exit(7);
    ::_exit(0);
  }
  ::close(ns);
  if (child < 0) return 101;
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 102;
}

// The keys (decimal, as /proc/sysvipc prints them) in the caller's IPC
// namespace (the host's, for the test).
bool host_has_key(key_t key) {
  for (const char* f : {"msg", "shm", "sem"}) {
    std::istringstream in(slurp(std::string("/proc/sysvipc/") + f));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream row(line);
      long long k = 0;
      if (row >> k && k == key) return true;
    }
  }
  return false;
}

std::string start(Sandbox& sb, json cfg, const std::string& prefix = "ipc") {
  std::string id = sb.new_id(prefix);
  auto o = sb.nsbox({"run", "-d", "-b", sb.bundle(cfg, "b-" + id), id});
  EXPECT_EQ(o.status, 0) << o.err;
  return id;
}

json ipcs_json(Sandbox& sb, const std::string& id) {
  auto o = sb.nsbox({"ipcs", id, "--format", "json"});
  EXPECT_EQ(o.status, 0) << o.err;
  return json::parse(o.out, nullptr, false);
}

unsigned long long inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Any process whose IPC namespace has this inode.
bool ipc_ns_in_use(unsigned long long ino) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (inode_of(e.path().string() + "/ns/ipc") == ino) return true;
  }
  return false;
}

}  // namespace

TEST(Ipcs, ListsExactlyTheObjectsMadeInsideAndNoneSurviveDelete) {
  Sandbox sb;
  std::string id = start(sb, Sandbox::default_config({"sleep", "600"}));
  std::string other = start(sb, Sandbox::default_config({"sleep", "600"}));
  int pid = sb.pid_of(id);
  ASSERT_GT(pid, 0);
  unsigned long long ipc_ino = inode_of("/proc/" + std::to_string(pid) + "/ns/ipc");
  ASSERT_NE(ipc_ino, 0u);
  ASSERT_EQ(make_ipc(pid), 0);

  json j = ipcs_json(sb, id);
  ASSERT_FALSE(j.is_discarded());
  ASSERT_EQ(j["msg"].size(), 1u) << j.dump();
  EXPECT_EQ(j["msg"][0]["key"], kMsgKey);
  EXPECT_EQ(j["msg"][0]["messages"], 1);
  EXPECT_EQ(j["msg"][0]["bytes"], 5);
  EXPECT_EQ(j["msg"][0]["owner"], 0);
  EXPECT_EQ(j["msg"][0]["perms"], "0600");
  ASSERT_EQ(j["shm"].size(), 1u) << j.dump();
  EXPECT_EQ(j["shm"][0]["key"], kShmKey);
  EXPECT_EQ(j["shm"][0]["size"], 4096);
  EXPECT_EQ(j["shm"][0]["attached"], 0);
  EXPECT_EQ(j["shm"][0]["perms"], "0640");
  ASSERT_EQ(j["sem"].size(), 1u) << j.dump();
  EXPECT_EQ(j["sem"][0]["key"], kSemKey);
  EXPECT_EQ(j["sem"][0]["nsems"], 3);
  ASSERT_EQ(j["posix_mq"].size(), 1u) << j.dump();
  EXPECT_EQ(j["posix_mq"][0]["name"], kMqName);
  EXPECT_EQ(j["posix_mq"][0]["size"], 3);
  EXPECT_EQ(j["totals"], json({{"queues", 1}, {"messages", 1}, {"bytes", 5}}));
  for (const char* k : {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.shmmax",
                        "kernel.shmall", "kernel.shmmni", "kernel.sem"}) {
    EXPECT_TRUE(j["limits"].contains(k)) << k << " in " << j.dump();
  }

  // The table names them too; the host's own view does not have them.
  auto t = sb.nsbox({"ipcs", id});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("0x6e5b1001"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("/nsbox-test"), std::string::npos) << t.out;
  for (key_t k : {kMsgKey, kShmKey, kSemKey}) EXPECT_FALSE(host_has_key(k)) << k;

  // Another container's namespace is empty.
  json o = ipcs_json(sb, other);
  EXPECT_TRUE(o["msg"].empty() && o["shm"].empty() && o["sem"].empty() && o["posix_mq"].empty())
      << o.dump();
  EXPECT_EQ(o["totals"], json({{"queues", 0}, {"messages", 0}, {"bytes", 0}}));

  // After delete the namespace is gone with everything in it.
  ASSERT_EQ(sb.nsbox({"delete", "--force", id}).status, 0);
  for (int i = 0; i < 50 && ipc_ns_in_use(ipc_ino); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(ipc_ns_in_use(ipc_ino));
  for (key_t k : {kMsgKey, kShmKey, kSemKey}) EXPECT_FALSE(host_has_key(k)) << k;
  auto gone = sb.nsbox({"ipcs", id});
  EXPECT_NE(gone.status, 0);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
}

TEST(Ipcs, ShowsTheContainersSysctlLimits) {
  Sandbox sb;
  json cfg = Sandbox::default_config({"sleep", "600"});
  cfg["linux"]["sysctl"] = {{"kernel.msgmnb", "12345"}};
  std::string id = start(sb, cfg);
  json j = ipcs_json(sb, id);
  EXPECT_EQ(j["limits"]["kernel.msgmnb"], 12345) << j.dump();
  EXPECT_NE(slurp("/proc/sys/kernel/msgmnb"), "12345\n");
  auto t = sb.nsbox({"ipcs", "--format", "table", id});
  EXPECT_EQ(t.status, 0);
  EXPECT_NE(t.out.find("12345"), std::string::npos) << t.out;
}

TEST(Ipcs, StoppedContainerAndBadFormat) {
  Sandbox sb;
  std::string id = start(sb, Sandbox::default_config({"true"}));
  for (int i = 0; i < 100 && !nsbox::it::contains(sb.nsbox({"state", id}).out, "stopped"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto o = sb.nsbox({"ipcs", id});
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.err.find("not running"), std::string::npos) << o.err;
  o = sb.nsbox({"ns", id});
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.err.find("not running"), std::string::npos) << o.err;
  o = sb.nsbox({"ipcs", "--format", "xml", id});
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.err.find("--format"), std::string::npos) << o.err;
}

TEST(NsVerb, SharedWithOtherContainerAndHost) {
  Sandbox sb;
  std::string first = start(sb, Sandbox::default_config({"sleep", "600"}), "ns");
  int pid1 = sb.pid_of(first);
  ASSERT_GT(pid1, 0);
  json cfg = Sandbox::default_config({"sleep", "600"});
  auto& nss = cfg["linux"]["namespaces"];
  json kept = json::array();
  for (const auto& n : nss) {
    if (n["type"] != "uts" && n["type"] != "network") kept.push_back(n);
  }
  kept.push_back({{"type", "network"}, {"path", "/proc/" + std::to_string(pid1) + "/ns/net"}});
  nss = kept;
  cfg.erase("hostname");  // the host's UTS namespace
  std::string second = start(sb, cfg, "ns");

  auto o = sb.nsbox({"ns", second, "--format", "json"});
  ASSERT_EQ(o.status, 0) << o.err;
  json j = json::parse(o.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << o.out;
  std::map<std::string, json> by;
  for (const auto& e : j) by[e["type"]] = e;
  for (const char* t : {"mnt", "uts", "ipc", "pid", "net", "user", "cgroup"}) {
    ASSERT_TRUE(by.count(t)) << t << " in " << o.out;
  }
  EXPECT_EQ(std::to_string(by["net"]["inode"].get<unsigned long long>()),
            std::to_string(inode_of("/proc/" + std::to_string(pid1) + "/ns/net")));
  EXPECT_EQ(by["net"]["containers"], json::array({first})) << o.out;
  EXPECT_EQ(by["net"]["host"], false);
  for (const char* t : {"uts", "user"}) {
    EXPECT_EQ(by[t]["host"], true) << t << ": " << o.out;
    EXPECT_TRUE(by[t]["containers"].empty() || by[t]["containers"] == json::array({first}))
        << o.out;
  }
  for (const char* t : {"mnt", "ipc", "pid"}) {
    EXPECT_EQ(by[t]["host"], false) << t;
    EXPECT_TRUE(by[t]["containers"].empty()) << t << ": " << o.out;
  }
  EXPECT_EQ(by["user"]["containers"], json::array({first})) << o.out;  // both the host's

  // The table of the first names the second on net.
  auto t = sb.nsbox({"ns", first});
  ASSERT_EQ(t.status, 0) << t.err;
  std::istringstream in(t.out);
  std::string line;
  bool net_seen = false;
  while (std::getline(in, line)) {
    if (line.rfind("net ", 0) == 0) {
      net_seen = true;
      EXPECT_NE(line.find(second), std::string::npos) << line;
      EXPECT_EQ(line.find("host"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(net_seen) << t.out;
}
