// SMTP command lines (RFC 5321 4.1): the verb, its argument, and the path and ESMTP
// parameters of MAIL FROM and RCPT TO. Pure functions over one line without its CRLF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/smtp/smtp_error.h"
#include "plugins/email/smtp/smtp_path.h"

namespace post::email {

// More parameters than any combination of the extensions we offer can use (SIZE, BODY,
// SMTPUTF8, AUTH); a longer list is an error, not a reason to allocate.
inline constexpr std::size_t kMaxMailParameters = 16;
// SIZE=<digits>: more digits than 2^64 has decimal digits is refused as malformed.
inline constexpr std::size_t kMaxSizeDigits = 20;

enum class SmtpVerb {
  kUnknown,
  kHelo,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kAuth,
  kStartTls,
  kBdat,  // recognised only to say "not implemented": CHUNKING is not offered
  kTurn,
  kEtrn,
};

struct SmtpCommand {
  SmtpVerb verb = SmtpVerb::kUnknown;
  std::string_view argument;  // after the verb and its space, trailing spaces removed
};

// Splits a command line (without CRLF) into its verb, matched case-insensitively, and the
// rest. A verb not followed by a space or the end of the line is kUnknown ("MAILFROM").
// The argument is a view into `line`.
SmtpCommand parse_command_line(std::string_view line);

// One esmtp-param (RFC 5321 4.1.2): keyword upper-cased, value as written.
struct EsmtpParameter {
  std::string keyword;
  std::optional<std::string> value;
};

// The argument of MAIL ("FROM:<path> params") or RCPT ("TO:<path> params").
struct PathCommand {
  SmtpPath path;
  std::vector<EsmtpParameter> parameters;
};

// Parses the argument of MAIL or RCPT: `keyword` ("FROM:" or "TO:", any case), optional
// spaces (tolerated, RFC 5321 says none), a path (parse_path_prefix), then space-separated
// parameters. Refuses a missing keyword or path (kPathSyntax), a malformed path, malformed
// parameters (kParameterSyntax) and more than kMaxMailParameters of them.
SmtpResult<PathCommand> parse_path_command(std::string_view argument, std::string_view keyword);

enum class BodyType { kUnspecified, k7Bit, k8BitMime };

// The MAIL FROM parameters of the extensions we offer.
struct MailParameters {
  std::optional<std::uint64_t> size;       // SIZE= (RFC 1870); saturates at UINT64_MAX
  BodyType body = BodyType::kUnspecified;  // BODY= (RFC 6152)
  bool smtputf8 = false;                   // SMTPUTF8 (RFC 6531)
  std::optional<std::string> auth;         // AUTH= (RFC 4954 5), xtext as written; unused
};

// Interprets MAIL FROM parameters. Refuses a parameter of an extension not offered
// (kUnknownParameter, which RFC 5321 answers with 555), one repeated with another value
// (kDuplicateParameter; an identical repeat is harmless and real clients send it, e.g.
// Python's smtplib adds SMTPUTF8 and BODY=8BITMIME to the caller's own), and SIZE, BODY,
// SMTPUTF8 or AUTH with a wrong value or none (kBadParameterValue). The SIZE limit itself is
// the session's to check.
SmtpResult<MailParameters> interpret_mail_parameters(const std::vector<EsmtpParameter>& parameters);

}  // namespace post::email
