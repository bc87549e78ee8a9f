// Errors of the IMAP command layer. Every failure that client input can cause is a value:
// an ImapError says what went wrong (ImapErrc, convertible to std::error_code) and which
// status response the server sends for it ("A1 BAD Missing mailbox name"). Nothing here
// throws. The library depends on the C++ standard library only, so it carries its own small
// ImapResult<T> instead of host/core's Result<T>.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "plugins/email/common/email_result.h"

namespace post::email {

enum class ImapErrc {
  kSyntax = 1,       // the command does not follow the RFC 3501 grammar
  kUnknownCommand,   // the command name is not one this server implements
  kBadTag,           // the line does not start with a valid tag
  kLineTooLong,      // a line of the command exceeds ImapLimits::max_line_bytes
  kCommandTooLarge,  // the whole command exceeds ImapLimits::max_command_bytes
  kLiteralTooLarge,  // a literal exceeds its limit
  kNestingTooDeep,   // search keys nested beyond ImapLimits::max_nesting_depth
  kUnsupported,      // valid IMAP, but an extension we do not offer (literal8, ...)
  kBadMailboxName,   // a mailbox name that is not valid modified UTF-7
  kBadUtf8,          // text that should be UTF-8 and is not
  kBadModifiedUtf7,  // text that should be modified UTF-7 and is not
  kExpectedDone,     // a line other than DONE while idling
};

const std::error_category& imap_category();

inline std::error_code make_error_code(ImapErrc e) {
  return {static_cast<int>(e), imap_category()};
}

// The condition of a status response (RFC 3501 7.1).
enum class ImapStatus { kOk, kNo, kBad, kBye };

// "OK", "NO", "BAD" or "BYE".
std::string_view status_name(ImapStatus status);

// A refused command and the reply that refuses it. `tag` is the command's tag, or empty when
// the command had no valid tag (the reply is then untagged, "* BAD ..."). `text` is safe to
// send: it never contains CR, LF or bytes that the client sent outside an atom.
struct ImapError {
  ImapErrc code = ImapErrc::kSyntax;
  ImapStatus status = ImapStatus::kBad;
  std::string tag;
  std::string text;

  std::error_code error_code() const { return make_error_code(code); }
  // The reply line, CRLF included: "<tag or *> <BAD|NO> <text>\r\n".
  std::string reply_line() const;
};

// A value or an ImapError (plugins/email/common/email_result.h); ImapResult<void> is success
// or an ImapError.
template <class T>
using ImapResult = EmailResult<T, ImapError>;

}  // namespace post::email

template <>
struct std::is_error_code_enum<post::email::ImapErrc> : std::true_type {};

// Evaluates `expr` (an ImapResult); returns its error from the enclosing function if it failed.
#define IMAP_TRY(expr)                            \
  do {                                            \
    auto&& imap_try_result_ = (expr);             \
    if (!imap_try_result_.ok()) {                 \
      return std::move(imap_try_result_).error(); \
    }                                             \
  } while (false)

#define IMAP_CONCAT_INNER(a, b) a##b
#define IMAP_CONCAT(a, b) IMAP_CONCAT_INNER(a, b)

// Declares `decl` from the value of `expr` (an ImapResult), or returns its error.
#define IMAP_TRY_ASSIGN(decl, expr) \
  IMAP_TRY_ASSIGN_IMPL(IMAP_CONCAT(imap_try_, __LINE__), decl, expr)
#define IMAP_TRY_ASSIGN_IMPL(tmp, decl, expr)   \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
