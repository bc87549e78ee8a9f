// FETCH data items (RFC 3501 6.4.5): what a FETCH or UID FETCH asks for about each message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plugins/email/imap/imap_result.h"

namespace post::email {

class ImapLexer;

enum class FetchAttribute {
  kEnvelope,
  kFlags,
  kInternalDate,
  kRfc822,        // the whole message; sets \Seen
  kRfc822Header,  // like BODY.PEEK[HEADER]
  kRfc822Size,
  kRfc822Text,  // like BODY[TEXT]; sets \Seen
  kBody,        // BODYSTRUCTURE without extension data
  kBodyStructure,
  kUid,
  kBodySection,  // BODY[section]<partial> and BODY.PEEK[section]<partial>
};

// The part of a message after the part numbers of a section (RFC 3501 6.4.5, "section-text").
enum class SectionText {
  kNone,             // the whole part (or message)
  kHeader,           // HEADER
  kHeaderFields,     // HEADER.FIELDS (list)
  kHeaderFieldsNot,  // HEADER.FIELDS.NOT (list)
  kText,             // TEXT
  kMime,             // MIME: the part's MIME header; only after part numbers
};

// A section spec: "1.2.HEADER" is part {1, 2} and kHeader; "" is the whole message.
struct BodySection {
  std::vector<std::uint32_t> part;
  SectionText text = SectionText::kNone;
  // For kHeaderFields and kHeaderFieldsNot: the field names as sent, each a valid RFC 5322
  // field name (printable ASCII, no ':'); never empty for those two.
  std::vector<std::string> header_fields;
  bool operator==(const BodySection&) const = default;
};

// "<origin.count>": `count` octets (at least 1) from octet `origin`.
struct FetchPartial {
  std::uint32_t origin = 0;
  std::uint32_t count = 1;
  bool operator==(const FetchPartial&) const = default;
};

struct FetchItem {
  FetchAttribute attribute = FetchAttribute::kFlags;
  BodySection section;                  // kBodySection only
  bool peek = false;                    // BODY.PEEK: leaves \Seen alone
  std::optional<FetchPartial> partial;  // kBodySection only
  bool operator==(const FetchItem&) const = default;
};

// Parses the fetch items of a FETCH command: a macro (ALL, FAST, FULL, expanded to its
// items), one fetch attribute, or a parenthesised list of them. The lexer stands on the
// first byte after "FETCH <set> ".
ImapResult<std::vector<FetchItem>> parse_fetch_items(ImapLexer& lexer);

// The item's name in a FETCH response: "FLAGS", "RFC822.SIZE", "BODY[1.2.HEADER]<0>",
// "BODY[HEADER.FIELDS (X-TUID MESSAGE-ID)]". BODY.PEEK is answered as BODY and a partial
// shows its origin only (RFC 3501 7.4.2).
std::string format_fetch_item_name(const FetchItem& item);

// Whether fetching the item sets \Seen on the message: BODY[...] without PEEK, RFC822 and
// RFC822.TEXT.
bool fetch_item_sets_seen(const FetchItem& item);

}  // namespace post::email
