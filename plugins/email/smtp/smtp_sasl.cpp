#include "plugins/email/smtp/smtp_sasl.h"

#include "plugins/email/smtp/smtp_text.h"

namespace post::email {

SmtpResult<PlainCredentials> parse_plain_response(std::string_view decoded) {
  std::size_t first = decoded.find('\0');
  if (first == std::string_view::npos) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response without separators");
  }
  std::size_t second = decoded.find('\0', first + 1);
  if (second == std::string_view::npos || decoded.find('\0', second + 1) != decoded.npos) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response needs exactly two NULs");
  }
  PlainCredentials out;
  out.authzid = decoded.substr(0, first);
  out.authcid = decoded.substr(first + 1, second - first - 1);
  out.password = decoded.substr(second + 1);
  if (out.authcid.empty() || out.password.empty()) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response with empty user or password");
  }
  if (out.authzid.size() > kMaxSaslFieldBytes || out.authcid.size() > kMaxSaslFieldBytes ||
      out.password.size() > kMaxSaslFieldBytes) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN field longer than 255 bytes");
  }
  if (!is_valid_utf8(out.authzid) || !is_valid_utf8(out.authcid) || !is_valid_utf8(out.password)) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response is not UTF-8");
  }
  return out;
}

}  // namespace post::email
