// Splitting an incoming message into its layout and leaf bodies, with GMime 3 as the MIME
// parser. This file holds no MIME grammar of its own: GMime finds the entities, their headers
// and body offsets; this code only turns GMime's offsets into byte ranges of the input and
// checks that they tile the message exactly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/mime/mime_error.h"
#include "plugins/email/mime/mime_layout.h"

namespace post::email {

// The largest message decompose() handles. The SMTP engine refuses larger ones at MAIL FROM
// (SIZE) and at DATA; this is the last line of defence, sized so that a message, its
// normalised copy and GMime's copy fit comfortably in memory.
inline constexpr std::size_t kMaxMessageBytes = 64u << 20;
// The largest top-level header block. Headers are kept in the message record and summarised
// in the notification; RFC 5322 limits lines, not blocks, but 1 MiB of headers is abuse.
inline constexpr std::size_t kMaxHeaderBlockBytes = 1u << 20;
// The deepest MIME nesting kept as structure (multiparts and message/rfc822 parts count one
// level each). Real mail rarely goes past 5; IMAP clients recurse over BODYSTRUCTURE.
inline constexpr int kMaxMimeDepth = 32;
// The most MIME entities (every part, multipart and embedded message) kept as structure. Also
// bounds GMime's recursive parser: a message with more Content-Type header lines than this is
// not handed to GMime's MIME parser at all.
inline constexpr std::size_t kMaxMimeParts = 1000;

// A message split for storage: its layout and one body per leaf, in document order
// (bodies[i] belongs to the leaf whose body_index is i).
struct DecomposedMessage {
  MessageLayout layout;
  std::vector<std::string> bodies;
};

// Returns `text` with every bare LF ("\n" not preceded by "\r") turned into CRLF. Other bytes,
// bare CR included, are kept.
std::string normalise_line_endings(std::string_view text);

// Decomposes an RFC 5322 message.
//
// Line endings: the message is first normalised to CRLF (normalise_line_endings); sizes,
// line counts, header blocks and bodies all refer to the normalised bytes, which is what IMAP
// serves. reassemble(layout, bodies) == normalise_line_endings(message) for every message
// this function accepts; for CRLF input that is the input itself.
//
// Malformed MIME never fails: when GMime cannot make sense of the structure, when a limit
// above (depth, parts) is exceeded, or when GMime's offsets do not tile the message exactly,
// the message is kept as one opaque text/plain leaf (layout.mime == false) whose header is the
// top-level header block and whose body is the rest. The envelope is still filled from the
// header block.
//
// Refuses: an empty input or one whose first line is not a header field (kNotAMessage), more
// than kMaxMessageBytes before or after normalisation (kMessageTooLarge), a top-level header
// block over kMaxHeaderBlockBytes (kHeaderTooLarge), and kGMimeUnavailable when
// ensure_gmime_initialised() fails. Never throws on input; allocation failure aside.
MimeResult<DecomposedMessage> decompose(std::string_view rfc5322_message);

}  // namespace post::email
