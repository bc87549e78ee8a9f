// SEARCH criteria (RFC 3501 6.4.4) as a tree of search keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plugins/email/imap/imap_date.h"
#include "plugins/email/imap/imap_result.h"
#include "plugins/email/imap/imap_sequence.h"

namespace post::email {

class ImapLexer;

enum class SearchKeyKind {
  kAnd,  // all children match: a parenthesised list, and the top of every search
  kOr,   // two children
  kNot,  // one child
  kAll,
  kAnswered,
  kDeleted,
  kDraft,
  kFlagged,
  kNew,  // RECENT UNSEEN
  kOld,  // NOT RECENT
  kRecent,
  kSeen,
  kUnanswered,
  kUndeleted,
  kUndraft,
  kUnflagged,
  kUnseen,
  kKeyword,    // value: the keyword
  kUnkeyword,  // value: the keyword
  kBcc,        // value: the string, for this and the keys down to kHeader
  kBody,
  kCc,
  kFrom,
  kSubject,
  kText,
  kTo,
  kHeader,  // field: the header field name; value: the string ("" matches any value)
  kBefore,  // date, for this and the keys down to kSentSince
  kOn,
  kSince,
  kSentBefore,
  kSentOn,
  kSentSince,
  kLarger,  // size
  kSmaller,
  kUid,          // set: UIDs
  kSequenceSet,  // set: message sequence numbers
};

struct SearchKey {
  SearchKeyKind kind = SearchKeyKind::kAll;
  std::string field;
  std::string value;
  ImapDate date;
  std::uint32_t size = 0;
  SequenceSet set;
  std::vector<SearchKey> children;
  bool operator==(const SearchKey&) const = default;
};

// The arguments of SEARCH: the optional CHARSET name as sent (the server answers
// NO [BADCHARSET] for one it does not know) and the keys, as one kAnd node.
struct SearchCriteria {
  std::optional<std::string> charset;
  SearchKey key;
  bool operator==(const SearchCriteria&) const = default;
};

// Parses "[SP CHARSET SP astring] 1*(SP search-key)"; the lexer stands right after the
// word SEARCH. Parentheses, NOT and OR each count one level against the lexer's nesting
// limit, so a hostile chain cannot exhaust the stack.
ImapResult<SearchCriteria> parse_search_criteria(ImapLexer& lexer);

// The key in SEARCH syntax; a kAnd node is written as a parenthesised list. Parsing the
// output gives the same tree back.
std::string format_search_key(const SearchKey& key);

// The arguments of a SEARCH command in its syntax ("CHARSET UTF-8 FROM \"x\" UNSEEN"), the
// top kAnd node written as its keys: parse_search_criteria of " " + this gives `criteria`
// back, for any criteria that parsing produced.
std::string format_search_criteria(const SearchCriteria& criteria);

}  // namespace post::email
