#include "common/util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>

namespace nsbox {

Error sys_error(const std::string& what, int err) {
  return Error{err, what + ": " + std::strerror(err)};
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<size_t> send_with_fd(int sock, std::string_view data, int fd) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  for (;;) {
    ssize_t n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return sys_error("sendmsg");
  }
}

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file_at(int dirfd, const std::string& path) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open " + path);
  auto r = read_all(fd.get());
  if (!r) return std::move(r).error().wrap(path);
  return r;
}

Result<std::string> read_file(const std::string& path) { return read_file_at(AT_FDCWD, path); }

Status write_file_at(int dirfd, const std::string& path, std::string_view data) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return sys_error("open " + path);
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return sys_error("write " + path);
  if (static_cast<size_t>(n) != data.size()) return make_error("write " + path + ": short write");
  return {};
}

Status write_file(const std::string& path, std::string_view data) {
  return write_file_at(AT_FDCWD, path, data);
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return sys_error("create " + tmp);
  if (auto r = write_all(fd.get(), data); !r) {
    ::unlink(tmp.c_str());
    return std::move(r).error().wrap(tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    auto e = sys_error("rename " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

Status mkdir_p(const std::string& path, mode_t mode) {
  std::string cur;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) return sys_error("mkdir " + cur);
  }
  return {};
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Error{ec.value(), "remove " + path + ": " + ec.message()};
  return {};
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

std::string clean_path(std::string_view p) {
  std::string base;
  if (p.empty() || p[0] != '/') {
    char buf[4096];
    if (::getcwd(buf, sizeof buf) != nullptr) base = buf;
  }
  std::vector<std::string> parts;
  for (const auto& seg : split(base + "/" + std::string(p), '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(seg);
  }
  std::string out;
  for (const auto& seg : parts) out += "/" + seg;
  return out.empty() ? "/" : out;
}

std::string join_path(std::string_view a, std::string_view b) {
  std::string out(a);
  if (out.empty() || out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool parse_int64(std::string_view s, long long* out) {
  if (s.empty()) return false;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
    if (s.size() == 1) return false;
  }
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned d = static_cast<unsigned>(s[i] - '0');
    if (v > (9223372036854775808ULL - d) / 10) return false;
    v = v * 10 + d;
  }
  if (!neg && v > 9223372036854775807ULL) return false;
  *out = neg ? static_cast<long long>(0 - v) : static_cast<long long>(v);
  return true;
}

bool parse_bytes(std::string_view s, long long* out) {
  if (s == "-1") {
    *out = -1;
    return true;
  }
  size_t end = 0;
  while (end < s.size() && ((s[end] >= '0' && s[end] <= '9') || s[end] == '.')) ++end;
  std::string number(s.substr(0, end));
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      std::count(number.begin(), number.end(), '.') > 1) {
    return false;
  }
  std::string unit;
  for (char c : s.substr(end)) {
    if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  int shift = 0;
  if (!unit.empty() && unit != "b") {
    std::string_view rest = std::string_view(unit).substr(1);
    if (rest != "" && rest != "b" && rest != "ib") return false;
    static constexpr std::string_view kPrefixes = "kmgtp";
    size_t at = kPrefixes.find(unit[0]);
    if (at == std::string_view::npos) return false;
    shift = 10 * static_cast<int>(at + 1);
  }
  long double value = std::strtold(number.c_str(), nullptr);
  value *= static_cast<long double>(1ULL << shift);
  if (value > 9.2e18L) return false;
  *out = static_cast<long long>(value);
  return true;
}

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

unsigned long long proc_start_time(pid_t pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!s) return 0;
  // comm (field 2) may hold spaces and parens: fields resume after the last ')'.
  size_t p = s->rfind(')');
  if (p == std::string::npos) return 0;
  auto fields = split(std::string_view(*s).substr(p + 2), ' ');
  // fields[0] is field 3 (state); starttime is field 22 -> index 19.
  if (fields.size() < 20) return 0;
  long long v = 0;
  if (!parse_int64(fields[19], &v)) return 0;
  return static_cast<unsigned long long>(v);
}

}  // namespace nsbox
