#include "container/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/util.h"

namespace nsbox::container {

using nlohmann::json;

namespace {
constexpr const char* kRecord = "record.json";
constexpr const char* kConfig = "config.json";
constexpr const char* kStartSock = "start.sock";

bool id_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '+' || c == '-';
}

Status lock_dir(int fd, bool exclusive) {
  while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
    if (errno != EINTR) return sys_error("lock");
  }
  return {};
}
}  // namespace

Status validate_id(const std::string& id) {
  if (id.empty()) return make_error("container id: must not be empty");
  if (id.size() > 255) return make_error("container id: longer than 255 characters");
  if (id == "." || id == "..") return make_error("container id " + nsbox::quoted(id) + ": invalid");
  for (char c : id) {
    if (!id_char_ok(c)) {
      return make_error("container id " + nsbox::quoted(id) +
                        ": invalid character (allowed: letters, digits, _ . + -)");
    }
  }
  return {};
}

Result<Record> ContainerDir::load() const {
  auto text = read_file_at(fd_.get(), kRecord);
  if (!text) return std::move(text).error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error("corrupt state " + path_ + "/" + kRecord);
  Record r;
  r.id = j.value("id", "");
  r.bundle = j.value("bundle", "");
  r.rootfs = j.value("rootfs", "");
  r.pid = j.value("pid", 0);
  r.start_time = j.value("startTime", 0ULL);
  r.created = j.value("created", "");
  r.status = j.value("status", "");
  r.cgroup = j.value("cgroup", "");
  r.has_late_hooks = j.value("lateHooks", false);
  r.no_new_keyring = j.value("noNewKeyring", false);
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (const auto& [k, v] : j["annotations"].items()) {
      if (v.is_string()) r.annotations[k] = v.get<std::string>();
    }
  }
  return r;
}

Status ContainerDir::save(const Record& r) const {
  json j = {{"id", r.id},
            {"bundle", r.bundle},
            {"rootfs", r.rootfs},
            {"pid", r.pid},
            {"startTime", r.start_time},
            {"created", r.created},
            {"status", r.status},
            {"cgroup", r.cgroup},
            {"lateHooks", r.has_late_hooks},
            {"noNewKeyring", r.no_new_keyring},
            {"annotations", r.annotations}};
  return write_file_atomic(path_ + "/" + kRecord, j.dump());
}

Status ContainerDir::save_config(const std::string& text) const {
  return write_file_atomic(path_ + "/" + kConfig, text);
}

Result<std::string> ContainerDir::load_config() const { return read_file_at(fd_.get(), kConfig); }

std::string ContainerDir::start_socket_path() const {
  return "/proc/self/fd/" + std::to_string(fd_.get()) + "/" + kStartSock;
}

bool ContainerDir::has_start_socket() const {
  struct stat st {};
  return ::fstatat(fd_.get(), kStartSock, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void ContainerDir::remove_start_socket() const { ::unlinkat(fd_.get(), kStartSock, 0); }

Status ContainerDir::destroy() {
  auto r = remove_tree(path_);
  fd_.reset();
  return r;
}

Result<ContainerDir> Store::create(const std::string& id) const {
  NSBOX_TRY(validate_id(id));
  NSBOX_TRY_CTX(mkdir_p(root_, 0700), "--root");
  std::string path = root_ + "/" + id;
  if (::mkdir(path.c_str(), 0700) < 0) {
    if (errno == EEXIST)
      return make_error("container with id \"" + id + "\" already exists", EEXIST);
    return sys_error("create state directory " + path);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    auto e = sys_error("open " + path);
    ::rmdir(path.c_str());
    return e;
  }
  if (auto r = lock_dir(fd.get(), true); !r) {
    ::rmdir(path.c_str());
    return std::move(r).error();
  }
  return ContainerDir(path, std::move(fd));
}

Result<ContainerDir> Store::open(const std::string& id, bool exclusive) const {
  NSBOX_TRY(validate_id(id));
  std::string path = root_ + "/" + id;
  // runc's words, which engines match ("container does not exist"), then the ID.
  auto missing = [&] { return make_error("container does not exist: \"" + id + "\"", ENOENT); };
  // O_NOFOLLOW: a symlink planted as <root>/<id> must not make delete remove,
  // or other verbs trust, a directory elsewhere.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return missing();
    struct stat st {};
    if ((errno == ELOOP || errno == ENOTDIR) && ::lstat(path.c_str(), &st) == 0 &&
        S_ISLNK(st.st_mode)) {
      return make_error("state directory " + path + " is a symlink", ELOOP);
    }
    return sys_error("open " + path);
  }
  NSBOX_TRY(lock_dir(fd.get(), exclusive));
  // The directory may have been deleted (or never finished) while we waited.
  struct stat st {};
  if (::fstatat(fd.get(), kRecord, &st, 0) < 0) return missing();
  return ContainerDir(path, std::move(fd));
}

Result<std::vector<std::string>> Store::list() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root_, ec)) {
    if (e.is_directory(ec) && validate_id(e.path().filename()).ok()) {
      ids.push_back(e.path().filename());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error{ec.value(), "list " + root_ + ": " + ec.message()};
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace nsbox::container
