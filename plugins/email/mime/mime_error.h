// Errors of the MIME layer of the ePOST plugin, and the small result type it returns. Like the
// SMTP engine, this library links into the plugin and carries its own Result rather than
// host/core's.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "plugins/email/common/email_result.h"

namespace post::email {

enum class MimeErrc {
  kNotAMessage = 1,   // empty, or does not start with an RFC 5322 header field
  kMessageTooLarge,   // over kMaxMessageBytes
  kHeaderTooLarge,    // the top-level header block is over kMaxHeaderBlockBytes
  kLayoutMismatch,    // reassemble(): bodies do not fit the layout (count or sizes)
  kGMimeUnavailable,  // libgmime could not be pinned or initialised
};

// The category of MimeErrc ("mime").
const std::error_category& mime_category();

inline std::error_code make_error_code(MimeErrc e) {
  return {static_cast<int>(e), mime_category()};
}

// An error code plus what was wrong, in our own words; `detail` never quotes the input.
struct MimeError {
  MimeErrc code = MimeErrc::kNotAMessage;
  std::string detail;
};

// A value or a MimeError (plugins/email/common/email_result.h).
template <class T>
using MimeResult = EmailResult<T, MimeError>;

// Success or a MimeError.
using MimeStatus = MimeResult<std::monostate>;

inline MimeStatus mime_ok() {
  return std::monostate{};
}

// Builds a MimeError.
inline MimeError mime_error(MimeErrc code, std::string detail) {
  return MimeError{code, std::move(detail)};
}

}  // namespace post::email

template <>
struct std::is_error_code_enum<post::email::MimeErrc> : std::true_type {};
