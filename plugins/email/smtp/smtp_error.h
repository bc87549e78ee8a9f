// Errors of the SMTP engine's parsers, and the small result type they return. The engine is
// linked into a plugin and depends on the C++ standard library only, so it carries its own
// Result rather than host/core's.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "plugins/email/common/email_result.h"

namespace post::email {

enum class SmtpErrc {
  kPathSyntax = 1,        // not "<...>", text around it, no "@domain"
  kLocalPartSyntax,       // a local part that is neither a dot-string nor a quoted string
  kDomainSyntax,          // a domain name that breaks RFC 5321's sub-domain rules
  kAddressLiteralSyntax,  // "[...]" that is no IPv4, IPv6 or general address literal
  kPathTooLong,           // over one of the RFC 5321 4.5.3.1 size limits
  kBadUtf8,               // non-ASCII bytes that are not well-formed UTF-8
  kParameterSyntax,       // MAIL/RCPT parameters that are not keyword[=value] pairs
  kUnknownParameter,      // a parameter of an extension we do not offer
  kDuplicateParameter,    // the same parameter twice
  kBadParameterValue,     // SIZE=abc, BODY=BINARYMIME, ...
  kBadBase64,             // an AUTH response that is not base64
  kBadSaslResponse,       // a decoded AUTH response of the wrong shape
};

// The category of SmtpErrc ("smtp").
const std::error_category& smtp_category();

inline std::error_code make_error_code(SmtpErrc e) {
  return {static_cast<int>(e), smtp_category()};
}

// An error code plus what was wrong, in our own words. `detail` never quotes the input, so it
// may go into a reply line as it is.
struct SmtpError {
  SmtpErrc code = SmtpErrc::kPathSyntax;
  std::string detail;
};

// A value or a SmtpError (plugins/email/common/email_result.h).
template <class T>
using SmtpResult = EmailResult<T, SmtpError>;

// Builds an SmtpError.
inline SmtpError smtp_error(SmtpErrc code, std::string detail) {
  return SmtpError{code, std::move(detail)};
}

}  // namespace post::email

template <>
struct std::is_error_code_enum<post::email::SmtpErrc> : std::true_type {};
