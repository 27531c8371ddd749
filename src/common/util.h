// Small file and string helpers shared by every module. All fds O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/result.h"

namespace nsbox {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_file_at(int dirfd, const std::string& path);
// Write the whole buffer to an existing file (no O_CREAT), e.g. procfs/sysfs.
Status write_file(const std::string& path, std::string_view data);
Status write_file_at(int dirfd, const std::string& path, std::string_view data);
// Write atomically: temp file in the same directory, fsync-free rename.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0600);
// Write all bytes to an fd, retrying on EINTR/short writes.
Status write_all(int fd, std::string_view data);
// One sendmsg(MSG_NOSIGNAL) of data on a unix socket with `fd` attached
// (SCM_RIGHTS) unless fd < 0; EINTR is retried. Returns the bytes sent.
Result<size_t> send_with_fd(int sock, std::string_view data, int fd);
Result<std::string> read_all(int fd);

// mkdir -p with the given mode; existing directories are fine.
Status mkdir_p(const std::string& path, mode_t mode = 0755);
// rm -rf of a directory tree we own (does not cross mount points).
Status remove_tree(const std::string& path);

// argv/envp for execve: pointers into v, NULL-terminated (v must outlive it).
std::vector<char*> c_strings(std::vector<std::string>& v);

std::vector<std::string> split(std::string_view s, char sep);
bool starts_with(std::string_view s, std::string_view prefix);
std::string trim(std::string_view s);
// Absolute, lexically cleaned path ("a/../b" -> "/b"); relative to cwd.
std::string clean_path(std::string_view p);
std::string join_path(std::string_view a, std::string_view b);

// "text" in double quotes with quotes, backslashes and control characters
// escaped, so that user input cannot break a one-line message.
std::string quoted(std::string_view s);

// Parse a decimal integer; false on junk or overflow.
bool parse_int64(std::string_view s, long long* out);
// A byte count as docker/runc read memory flags: "1024", "512k", "32m", "1.5g",
// "2GiB", "64MB" (binary multiples, case-insensitive); "-1" is -1 (unlimited).
bool parse_bytes(std::string_view s, long long* out);

// Current time as RFC 3339 with nanoseconds, UTC ("2026-11-29T07:20:59.289669654Z").
std::string now_rfc3339();

// Process start time (field 22 of /proc/PID/stat); 0 when the pid is gone.
unsigned long long proc_start_time(pid_t pid);

}  // namespace nsbox
