#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
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

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::string nsbox_binary() { return NSBOX_BINARY; }
std::string rootfs_path() { return std::string(NSBOX_BUNDLE) + "/rootfs"; }

std::string host_ns(const std::string& name) {
  return std::filesystem::read_symlink("/proc/self/ns/" + name).string();
}

Output run_program(const std::vector<std::string>& argv, const std::string& input, int timeout_s) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  Output o;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      o.err += "\n[harness: timed out]";
      break;
    }
    if (poll(fds, 2, static_cast<int>(left)) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(n));
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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
