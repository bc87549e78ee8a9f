// SEARCH (RFC 3501 6.4.4): whether one message matches a tree of search keys. Pure: the
// server fetches what search_needs() asks for (nothing, the top header block, or the layout
// and the leaf bodies) and hands it in through a MatchContext.
//
// Strings: a key's string matches as a substring, ASCII case-insensitively (A-Z fold to a-z;
// other bytes, UTF-8 included, compare exactly). The server accepts only the UTF-8 and
// US-ASCII charsets, so a key is UTF-8.
//
// Header keys (FROM, TO, CC, BCC, SUBJECT, HEADER) look at every field of that name in the
// top header block, unfolded and with RFC 2047 encoded-words decoded by decode_header_words
// (mail_text.h: UTF-8, US-ASCII, ISO-8859-1/-15 and windows-1252 are converted, other
// charsets are matched as their raw decoded bytes). When the layout is given, FROM, TO, CC,
// BCC and SUBJECT also match the GMime-decoded Envelope (names and addresses), which covers
// the charsets not converted here. HEADER with an empty string matches any message that has
// the field.
//
// BODY looks at the content of every text/* leaf, including those of embedded messages, and
// at the header blocks of embedded messages (they are body text of the outer message). Each
// leaf is decoded by its Content-Transfer-Encoding (base64 and quoted-printable, with the
// small decoders of mail_text.h, not GMime) and converted from its charset parameter like
// header words; 7bit, 8bit and binary bodies are matched as their raw bytes. HTML is matched
// with its markup. TEXT matches the header (field names and decoded values) or the body.
//
// Dates: BEFORE, ON and SINCE compare the calendar day of the internal date in UTC.
// SENTBEFORE, SENTON and SENTSINCE compare the day written in the Date header ("disregarding
// time and timezone", RFC 3501), read from the header block; when it does not parse, the UTC
// day of Envelope::date_unix is used if the layout is given; with neither, they never match.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "plugins/email/imap/imap_search.h"
#include "plugins/email/mime/mime_layout.h"
#include "plugins/email/store/mail_record.h"

namespace post::email {

// One message as SEARCH sees it. Views and pointers are borrowed for the call.
struct MatchContext {
  std::uint32_t sequence = 0;  // message sequence number
  std::uint32_t uid = 0;
  bool recent = false;  // \Recent in this session
  const store::Flags& flags;
  std::uint32_t size = 0;                    // RFC822.SIZE
  std::int64_t internal_date = 0;            // INTERNALDATE, unix seconds
  std::uint32_t max_sequence = 0;            // "*" of a sequence set: the number of messages
  std::uint32_t max_uid = 0;                 // "*" of a UID set: the highest UID in use
  const MessageLayout* layout = nullptr;     // null when only the header was fetched
  std::string_view header_block;             // the message's top header block (always given)
  std::span<const std::string_view> bodies;  // the leaf bodies; empty unless text was fetched
};

// What the server must fetch before it can match a message, from least to most.
enum class SearchNeeds {
  kFlagsOnly,  // flags, sizes, dates, numbers: the folder's own state
  kHeader,     // also the top header block
  kText,       // also the layout and every leaf body (BODY, TEXT)
};

// The most that any key of `key` needs.
SearchNeeds search_needs(const SearchKey& key);

// Whether the message in `context` matches `key` (RFC 3501 6.4.4; see the file comment for
// how strings and dates compare). Total: a key whose data the context lacks (BODY without
// layout and bodies, or bodies that do not fit the layout) does not match; it is never an
// error. Bounded by the depth of `key`, which the parser limits.
bool matches(const SearchKey& key, const MatchContext& context);

}  // namespace post::email
