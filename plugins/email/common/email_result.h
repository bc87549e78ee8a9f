// EmailResult: a value or an error, what every function of the email plugin's libraries
// returns on a path input can reach (they never throw). The plugin sees only the SDK, so it
// cannot use host/core/result.h; this is the one result type its libraries share, each with
// an error struct of its own (SmtpError, ImapError, MimeError, StoreError).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace post::email {

template <class T, class Error>
class [[nodiscard]] EmailResult {
 public:
  EmailResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  EmailResult(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

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

 private:
  std::variant<T, Error> v_;
};

// Success or an error.
template <class Error>
class [[nodiscard]] EmailResult<void, Error> {
 public:
  EmailResult() = default;
  EmailResult(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

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
  Error error_{};
  bool ok_ = true;
};

}  // namespace post::email
