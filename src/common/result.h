// Errors as values: every fallible libnsbox call returns Result<T>.
// Safe to use on both sides of clone(): no exceptions are thrown.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace nsbox {

struct Error {
  int code = 0;     // errno value, 0 when not a syscall failure
  std::string msg;  // one line: "what: why"

  // Prefix context: err.wrap("mount /proc") -> "mount /proc: <msg>".
  Error wrap(const std::string& ctx) const& { return Error{code, ctx + ": " + msg}; }
  Error wrap(const std::string& ctx) && {
    msg = ctx + ": " + msg;
    return std::move(*this);
  }
};

// Error from the current errno: "what: strerror(errno)".
Error sys_error(const std::string& what, int err = errno);
// Error without errno.
inline Error make_error(std::string msg, int code = 0) { return Error{code, std::move(msg)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT(google-explicit-constructor)
  Result(Error e)
      : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace nsbox

// Propagate an error: NSBOX_TRY(expr) returns early from a function returning
// Result<...> when expr failed.
#define NSBOX_TRY(expr)                                             \
  do {                                                              \
    auto nsbox_try_r_ = (expr);                                     \
    if (!nsbox_try_r_.ok()) return std::move(nsbox_try_r_).error(); \
  } while (0)

#define NSBOX_TRY_CTX(expr, ctx)                                              \
  do {                                                                        \
    auto nsbox_try_r_ = (expr);                                               \
    if (!nsbox_try_r_.ok()) return std::move(nsbox_try_r_).error().wrap(ctx); \
  } while (0)
