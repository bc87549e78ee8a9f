// Reverse- and forward-paths of MAIL FROM and RCPT TO (RFC 5321 4.1.2), with the UTF-8
// additions of SMTPUTF8 (RFC 6531 3.3):
//
//   Path         = "<" [ A-d-l ":" ] Mailbox ">"       (the source route A-d-l is ignored)
//   Reverse-path = Path / "<>"
//   Mailbox      = Local-part "@" ( Domain / address-literal )
//
// plus the special recipient "<Postmaster>" (RFC 5321 4.1.1.3). The parser is linear in its
// input and refuses anything over the size limits below.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "plugins/email/smtp/smtp_error.h"

namespace post::email {

// RFC 5321 4.5.3.1.1-3: sizes (octets) an SMTP server must accept and may refuse beyond.
inline constexpr std::size_t kMaxLocalPartBytes = 64;
inline constexpr std::size_t kMaxDomainBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 256;  // counting "<", ">" and any source route
// RFC 1035 2.3.4: a DNS label.
inline constexpr std::size_t kMaxDomainLabelBytes = 63;

// A parsed path. The local part is stored decoded (the content of a quoted string without
// its quotes and backslashes), so "\"john.doe\"@x" and "john.doe@x" compare equal.
struct SmtpPath {
  bool null = false;       // the null reverse-path "<>"
  std::string local_part;  // decoded; empty for "<>"
  std::string domain;      // a domain name as written, or an address literal with its
                           // brackets; empty for "<>" and for "<Postmaster>"

  // "local@domain", quoting the local part only when it is not a dot-string; "" for "<>",
  // "Postmaster" (as written) for "<Postmaster>".
  std::string mailbox() const;
  // True when the local part or the domain holds UTF-8 (needs SMTPUTF8).
  bool has_non_ascii() const;
  // True for the domain-less "<Postmaster>", valid only as a recipient.
  bool is_bare_postmaster() const { return !null && domain.empty(); }
};

// Parses `text` as a whole: a path, "<>" or "<Postmaster>", nothing before or after it.
// UTF-8 is accepted when well-formed; the caller refuses it without SMTPUTF8. Errors name the
// part that was wrong and never quote the input.
SmtpResult<SmtpPath> parse_path(std::string_view text);

// A path parsed from the start of a longer text, and how many bytes of it the path used.
struct PathPrefix {
  SmtpPath path;
  std::size_t length = 0;
};

// Parses the path at the start of `text` and stops after its ">"; the rest (MAIL and RCPT
// parameters) is the caller's. Same rules and errors as parse_path().
SmtpResult<PathPrefix> parse_path_prefix(std::string_view text);

}  // namespace post::email
