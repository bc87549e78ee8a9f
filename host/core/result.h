// Result<T>: a value or an Error, for every path that input can reach. Nothing on those
// paths throws; libraries that throw are caught in our thin wrappers around them.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace post {

// An error code (one enum per module, each convertible to std::error_code) plus a
// human-readable detail saying what was wrong with what.
struct Error {
  std::error_code code;
  std::string message;

  // "<category>: <code message>: <detail>", the form used in logs and CLI output.
  std::string to_string() const {
    std::string s = code.category().name();
    s += ": ";
    s += code.message();
    if (!message.empty()) {
      s += ": ";
      s += message;
    }
    return s;
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The value; only valid when ok().
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; only valid when !ok().
  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

// An ok Status.
inline Status ok_status() {
  return {};
}

}  // namespace post

#define POST_CONCAT_INNER(a, b) a##b
#define POST_CONCAT(a, b) POST_CONCAT_INNER(a, b)

// Evaluates `expr` (a Result); returns its error from the enclosing function if it failed.
#define POST_TRY(expr)                            \
  do {                                            \
    auto&& post_try_result_ = (expr);             \
    if (!post_try_result_.ok()) {                 \
      return std::move(post_try_result_).error(); \
    }                                             \
  } while (false)

// Declares `decl` from the value of `expr` (a Result), or returns its error.
#define POST_TRY_ASSIGN(decl, expr) \
  POST_TRY_ASSIGN_IMPL(POST_CONCAT(post_try_, __LINE__), decl, expr)
#define POST_TRY_ASSIGN_IMPL(tmp, decl, expr)   \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
