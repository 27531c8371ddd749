// Integration-test harness: drives the built nsbox binary as a user would.
// Every Sandbox has its own --root, its own bundle directory, unique IDs,
// and on destruction deletes its containers and checks nothing is left.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nsbox::it {

struct Output {
  int status = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

// Run a program (argv[0] is a path) with optional stdin; 60 s timeout.
Output run_program(const std::vector<std::string>& argv, const std::string& input = {},
                   int timeout_s = 60);

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& root() const { return root_; }
  const std::string& dir() const { return dir_; }
  // A unique container ID (registered for cleanup).
  std::string new_id(const std::string& prefix = "c");
  // An ID nsbox chose (an anonymous sandbox), checked by leftovers() too.
  void adopt_id(const std::string& id) { ids_.push_back(id); }
  // The default config (nsbox spec), with root.path pointing at the shared
  // busybox rootfs (read-only) and process.args set.
  static nlohmann::json default_config(const std::vector<std::string>& args = {"true"});
  // Write a bundle directory with this config; returns its path.
  std::string bundle(const nlohmann::json& cfg, const std::string& name = "bundle");
  std::string bundle_raw(const std::string& config_text, const std::string& name = "bundle");
  // nsbox --root <root> ARGS...
  Output nsbox(const std::vector<std::string>& args, const std::string& input = {});
  // nsbox run of a config; stdout of the container.
  Output run(const nlohmann::json& cfg, const std::string& input = {});
  // The container's pid from `nsbox state` (-1 when state fails).
  int pid_of(const std::string& id);
  // Nothing left in --root, no cgroup or mount naming one of our IDs.
  std::string leftovers() const;

 private:
  std::string dir_;
  std::string root_;
  std::vector<std::string> ids_;
};

std::string nsbox_binary();
// Whole file ("" when unreadable); substring test.
std::string slurp(const std::string& path);
bool contains(const std::string& s, const std::string& what);
// The lines of s, without their '\n'.
std::vector<std::string> split_lines(const std::string& s);
// Pids (other than ours) whose command line contains `needle`.
std::vector<pid_t> pids_with(const std::string& needle);
std::string rootfs_path();
// cfg with build/bundle-tools bind-mounted read-only at /home: the
// container can run /home/nsbox-testprog (hog, forks, spin).
void add_testprog(nlohmann::json& cfg);
// Remove the linux.namespaces entry of this type ("pid", "mount", ...).
void remove_ns(nlohmann::json& cfg, const std::string& type);
// The host directory holding nsbox-testprog (build/bundle-tools).
std::string testprog_dir();
// Inode of /proc/self/ns/<name> on the host.
std::string host_ns(const std::string& name);

}  // namespace nsbox::it
