// The SASL pieces of SMTP AUTH (RFC 4954): the PLAIN message (RFC 4616), and base64 for
// challenges and responses (common/base64.h). LOGIN is two base64 lines and needs nothing more.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "plugins/email/common/base64.h"
#include "plugins/email/smtp/smtp_error.h"

namespace post::email {

// RFC 4954 4: an AUTH command line, and each client response line, may be 12288 octets.
inline constexpr std::size_t kMaxAuthLineBytes = 12288;
// RFC 4616 2: authcid and passwd are at most 255 octets; authzid the same by our choice.
inline constexpr std::size_t kMaxSaslFieldBytes = 255;

struct PlainCredentials {
  std::string authzid;  // empty when the client asks for no other identity
  std::string authcid;
  std::string password;
};

// Splits a decoded PLAIN message "[authzid] NUL authcid NUL passwd". Refuses anything but
// exactly two NULs, an empty authcid or password, a field over kMaxSaslFieldBytes, and
// fields that are not UTF-8 (kBadSaslResponse).
SmtpResult<PlainCredentials> parse_plain_response(std::string_view decoded);

}  // namespace post::email
