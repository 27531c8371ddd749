#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nsbox::it {

namespace {

std::atomic<int> g_counter{0};

}  // namespace

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// Pids (other than ours) whose command line contains `needle`.
std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<pid_t> pids_with(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (pid == getpid()) continue;
    std::string cmd = slurp(e.path().string() + "/cmdline");
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    if (contains(cmd, needle)) out.push_back(pid);
  }
  return out;
}

std::string nsbox_binary() { return NSBOX_BINARY; }
std::string rootfs_path() { return std::string(NSBOX_BUNDLE) + "/rootfs"; }

void add_testprog(nlohmann::json& cfg) {
  cfg["mounts"].push_back({{"destination", "/home"},
                           {"type", "bind"},
                           {"source", NSBOX_TESTPROG_DIR},
                           {"options", {"bind", "ro"}}});
}

void remove_ns(nlohmann::json& cfg, const std::string& type) {
  auto& nss = cfg["linux"]["namespaces"];
  for (size_t i = 0; i < nss.size(); ++i) {
    if (nss[i]["type"] == type) {
      nss.erase(i);
      return;
    }
  }
}

std::string testprog_dir() { return NSBOX_TESTPROG_DIR; }

std::string host_ns(const std::string& name) {
  return std::filesystem::read_symlink("/proc/self/ns/" + name).string();
}

Output run_program(const std::vector<std::string>& argv, const std::string& input, int timeout_s) {
  // stdout/stderr go to memfds, not pipes: a container created by the
  // program inherits them and may outlive it, so EOF cannot mark the end.
  int out = memfd_create("out", MFD_CLOEXEC);
  int err = memfd_create("err", MFD_CLOEXEC);
  int in[2];
  if (out < 0 || err < 0 || pipe2(in, O_CLOEXEC) < 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  Output o;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  pollfd pfd{pidfd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_s * 1000) == 0) {
    kill(pid, SIGKILL);
    o.err += "[harness: timed out] ";
  }
  close(pidfd);
  int st = 0;
  waitpid(pid, &st, 0);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  auto drain = [](int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, static_cast<off_t>(s.size()))) > 0) {
      s.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return s;
  };
  o.out = drain(out);
  o.err += drain(err);
  return o;
}

Sandbox::Sandbox() {
  char tmpl[] = "/tmp/nsbox-it-XXXXXX";
  dir_ = mkdtemp(tmpl);
  root_ = dir_ + "/state";
}

Sandbox::~Sandbox() {
  for (const auto& id : ids_) nsbox({"delete", "--force", id});
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string Sandbox::new_id(const std::string& prefix) {
  std::string id = prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++g_counter);
  ids_.push_back(id);
  return id;
}

nlohmann::json Sandbox::default_config(const std::vector<std::string>& args) {
  auto cfg = nlohmann::json::parse(slurp(std::string(NSBOX_BUNDLE) + "/config.json"));
  cfg["root"]["path"] = rootfs_path();
  cfg["process"]["args"] = args;
  return cfg;
}

std::string Sandbox::bundle(const nlohmann::json& cfg, const std::string& name) {
  return bundle_raw(cfg.dump(2), name);
}

std::string Sandbox::bundle_raw(const std::string& config_text, const std::string& name) {
  std::string b = dir_ + "/" + name;
  std::filesystem::create_directories(b);
  std::ofstream(b + "/config.json") << config_text;
  return b;
}

Output Sandbox::nsbox(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {nsbox_binary(), "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, input);
}

Output Sandbox::run(const nlohmann::json& cfg, const std::string& input) {
  std::string id = new_id("run");
  std::string b = bundle(cfg, "bundle-" + id);
  return nsbox({"run", "--bundle", b, id}, input);
}

int Sandbox::pid_of(const std::string& id) {
  auto o = nsbox({"state", id});
  return o.status == 0 ? nlohmann::json::parse(o.out)["pid"].get<int>() : -1;
}

std::string Sandbox::leftovers() const {
  std::string out;
  std::error_code ec;
  if (std::filesystem::exists(root_, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(root_, ec)) {
      out += "state:" + e.path().filename().string() + " ";
    }
  }
  std::string mounts = slurp("/proc/self/mountinfo");
  for (const auto& id : ids_) {
    if (mounts.find(id) != std::string::npos) out += "mount:" + id + " ";
    for (const char* h : {"memory", "pids", "devices", "freezer", "cpu", "unified", ""}) {
      std::string p = std::string("/sys/fs/cgroup/") + h + "/nsbox/" + id;
      if (std::filesystem::exists(p, ec)) out += "cgroup:" + p + " ";
    }
  }
  return out;
}

}  // namespace nsbox::it
