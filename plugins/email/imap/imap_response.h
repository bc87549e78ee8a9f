// Building blocks of server responses (RFC 3501 7, 9): strings, flag lists, sequence sets
// and status lines in the form clients parse.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "plugins/email/imap/imap_date.h"
#include "plugins/email/imap/imap_mutf7.h"
#include "plugins/email/imap/imap_result.h"
#include "plugins/email/imap/imap_sequence.h"

namespace post::email {

// Longest string sent as a quoted string; longer ones go as literals, which clients read
// without unescaping and which keep response lines short.
inline constexpr std::size_t kMaxQuotedBytes = 1024;

// `s` as an IMAP string: quoted ("a \"b\"") when it is at most kMaxQuotedBytes of 7-bit
// text without NUL, CR or LF, otherwise a literal ("{5}\r\nhello"). Any bytes are safe.
std::string quote_or_literal(std::string_view s);

// `s` as an nstring: NIL when absent, else quote_or_literal.
std::string format_nstring(std::optional<std::string_view> s);

// `s` as an astring: bare when it is a non-empty atom (ASTRING-CHARs, 7-bit) other than
// NIL, else quote_or_literal. For mailbox names and header field names in responses.
std::string format_astring(std::string_view s);

// A parenthesised flag list: "(\Seen $Forwarded)". Each flag must already be a valid flag
// (a keyword atom or a "\" system flag), as parse results and stored flags are.
std::string format_flags(std::span<const std::string> flags);

// A status response line, CRLF included: "A1 OK SELECT completed\r\n", or untagged
// ("* OK ...") for an empty tag. CR and LF in `text` are replaced by spaces.
std::string format_status_response(std::string_view tag, ImapStatus status, std::string_view text);

// format_sequence_set (imap_sequence.h), format_date_time (imap_date.h) and the modified
// UTF-7 pair (imap_mutf7.h) complete the helpers; this header brings them in.

}  // namespace post::email
