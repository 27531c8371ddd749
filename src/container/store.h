// The state store: one directory per container under --root, holding the
// runtime's record (record.json), a frozen copy of config.json, and the
// start socket while the container is `created`. Every operation on one ID
// holds an flock on its directory; `create` claims an ID with mkdir.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"

namespace nsbox::container {

// IDs: 1..255 chars of [A-Za-z0-9_.+-], not "." or "..".
Status validate_id(const std::string& id);

struct Record {
  std::string id;
  std::string bundle;                 // absolute
  std::string rootfs;                 // absolute
  pid_t pid = 0;                      // init, as seen from the runtime's PID namespace
  unsigned long long start_time = 0;  // of that pid, guards against pid reuse
  std::string created;                // RFC 3339
  std::string status;                 // last status written: creating, created, running
  std::map<std::string, std::string> annotations;
  std::string cgroup;           // cgroup::Manager::serialize()
  bool has_late_hooks = false;  // poststart or poststop: start/delete read the config
  bool no_new_keyring = false;  // created with --no-new-keyring: exec keeps the caller's too
};

class ContainerDir {
 public:
  ContainerDir() = default;
  ContainerDir(std::string path, UniqueFd dirfd) : path_(std::move(path)), fd_(std::move(dirfd)) {}
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  Result<Record> load() const;
  Status save(const Record& r) const;
  Status save_config(const std::string& text) const;
  Result<std::string> load_config() const;
  // Path usable with bind()/connect() however long the root is (via /proc/self/fd).
  std::string start_socket_path() const;
  bool has_start_socket() const;
  void remove_start_socket() const;
  // Remove the directory and everything in it; the lock goes with it.
  Status destroy();

 private:
  std::string path_;
  UniqueFd fd_;
};

class Store {
 public:
  explicit Store(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  // Claim a new ID: exactly one of racing creators wins.
  Result<ContainerDir> create(const std::string& id) const;
  // Open and lock an existing container ("container X does not exist").
  Result<ContainerDir> open(const std::string& id, bool exclusive = true) const;
  Result<std::vector<std::string>> list() const;

 private:
  std::string root_;
};

}  // namespace nsbox::container
