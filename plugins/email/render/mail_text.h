// The text of stored mail as the IMAP server reads it: header fields of a header block,
// RFC 2047 encoded-words (both ways), the base64 and quoted-printable transfer encodings, and
// the few charsets converted to UTF-8 here. Pure functions over bytes; nothing here throws on
// input, and every decoder is lenient (malformed input is kept, never refused), because what
// is being decoded is mail that was already accepted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/common/ascii.h"
#include "plugins/email/common/base64.h"

namespace post::email {

// One field of a header block. All views point into the block given to split_header_fields.
struct HeaderField {
  std::string_view name;   // the field name, trailing white space before ':' removed; empty
                           // for a line without a colon (kept so that nothing is lost)
  std::string_view lines;  // the whole field as written: first line, continuation lines,
                           // every line ending included
  std::string_view value;  // everything after the colon, still folded, without the last
                           // line ending
};

// The fields of `header_block` in order, up to (not including) its blank line or its end. A
// line starting with SP or HT continues the field before it (a leading one is a nameless
// field). Lines may end in CRLF or LF.
std::vector<HeaderField> split_header_fields(std::string_view header_block);

// `value` unfolded (RFC 5322 2.2.3: every line ending followed by SP or HT is removed; other
// CR and LF become nothing) with leading and trailing SP and HT trimmed.
std::string unfold_header_value(std::string_view value);

// Decodes the RFC 2047 encoded-words of an unfolded header value to UTF-8. White space
// between two adjacent encoded-words is dropped (RFC 2047 6.2), and the bytes of adjacent
// words in one charset are joined before conversion, so a character split across words
// survives. A malformed word is kept as written. Charsets: see to_utf8().
std::string decode_header_words(std::string_view value);

// Whether `utf8` cannot go into an IMAP response as it is and must be sent as encoded-words:
// it has a byte >= 0x80, a control character other than HT, or "=?" (which a client would
// take for the start of an encoded-word).
bool needs_header_encoding(std::string_view utf8);

// Longest encoded-word (RFC 2047 2) written by encode_header_words.
inline constexpr std::size_t kMaxEncodedWordBytes = 75;

// `utf8` unchanged when !needs_header_encoding(utf8); otherwise as "=?UTF-8?B?...?=" words of
// at most kMaxEncodedWordBytes each, separated by one space, each holding whole UTF-8
// characters (a byte sequence that is not UTF-8 is cut anywhere). Decoding the result with
// decode_header_words gives `utf8` back.
std::string encode_header_words(std::string_view utf8);

// Base64 is common/base64.h's: encode_base64, and decode_base64_lenient for bodies and words.

// Decodes quoted-printable (RFC 2045 6.7): "=XX" is a byte, "=" before a line ending is a soft
// line break, any other "=" is kept. With `q_encoding` (RFC 2047 4.2) "_" is a space.
std::string decode_quoted_printable(std::string_view text, bool q_encoding = false);

// Decodes a body by its Content-Transfer-Encoding (lower case): base64 and quoted-printable
// are decoded, anything else (7bit, 8bit, binary, unknown) is returned as it is.
std::string decode_transfer_encoding(std::string_view body, std::string_view encoding);

// `bytes` in `charset` (any case) converted to UTF-8. Converted: ISO-8859-1 (and its
// aliases), ISO-8859-15 and windows-1252. UTF-8, US-ASCII, an empty name and every charset
// not listed are returned unchanged (the bytes are then matched as they are).
std::string to_utf8(std::string_view bytes, std::string_view charset);

}  // namespace post::email
