#include "plugins/email/imap/imap_search.h"

#include <array>

#include "plugins/email/imap/imap_lexer.h"
#include "plugins/email/imap/imap_response.h"

namespace post::email {
namespace {

// Longest client word echoed back in an error text.
constexpr std::size_t kMaxEchoedWordBytes = 32;

enum class Argument { kNone, kString, kKeyword, kHeader, kDate, kSize, kUidSet, kNot, kOr };

struct KeySyntax {
  std::string_view name;
  SearchKeyKind kind;
  Argument argument;
};

constexpr KeySyntax kKeys[] = {
    {"ALL", SearchKeyKind::kAll, Argument::kNone},
    {"ANSWERED", SearchKeyKind::kAnswered, Argument::kNone},
    {"BCC", SearchKeyKind::kBcc, Argument::kString},
    {"BEFORE", SearchKeyKind::kBefore, Argument::kDate},
    {"BODY", SearchKeyKind::kBody, Argument::kString},
    {"CC", SearchKeyKind::kCc, Argument::kString},
    {"DELETED", SearchKeyKind::kDeleted, Argument::kNone},
    {"DRAFT", SearchKeyKind::kDraft, Argument::kNone},
    {"FLAGGED", SearchKeyKind::kFlagged, Argument::kNone},
    {"FROM", SearchKeyKind::kFrom, Argument::kString},
    {"HEADER", SearchKeyKind::kHeader, Argument::kHeader},
    {"KEYWORD", SearchKeyKind::kKeyword, Argument::kKeyword},
    {"LARGER", SearchKeyKind::kLarger, Argument::kSize},
    {"NEW", SearchKeyKind::kNew, Argument::kNone},
    {"NOT", SearchKeyKind::kNot, Argument::kNot},
    {"OLD", SearchKeyKind::kOld, Argument::kNone},
    {"ON", SearchKeyKind::kOn, Argument::kDate},
    {"OR", SearchKeyKind::kOr, Argument::kOr},
    {"RECENT", SearchKeyKind::kRecent, Argument::kNone},
    {"SEEN", SearchKeyKind::kSeen, Argument::kNone},
    {"SENTBEFORE", SearchKeyKind::kSentBefore, Argument::kDate},
    {"SENTON", SearchKeyKind::kSentOn, Argument::kDate},
    {"SENTSINCE", SearchKeyKind::kSentSince, Argument::kDate},
    {"SINCE", SearchKeyKind::kSince, Argument::kDate},
    {"SMALLER", SearchKeyKind::kSmaller, Argument::kSize},
    {"SUBJECT", SearchKeyKind::kSubject, Argument::kString},
    {"TEXT", SearchKeyKind::kText, Argument::kString},
    {"TO", SearchKeyKind::kTo, Argument::kString},
    {"UID", SearchKeyKind::kUid, Argument::kUidSet},
    {"UNANSWERED", SearchKeyKind::kUnanswered, Argument::kNone},
    {"UNDELETED", SearchKeyKind::kUndeleted, Argument::kNone},
    {"UNDRAFT", SearchKeyKind::kUndraft, Argument::kNone},
    {"UNFLAGGED", SearchKeyKind::kUnflagged, Argument::kNone},
    {"UNKEYWORD", SearchKeyKind::kUnkeyword, Argument::kKeyword},
    {"UNSEEN", SearchKeyKind::kUnseen, Argument::kNone},
};

const KeySyntax* find_key(std::string_view word) {
  for (const KeySyntax& key : kKeys) {
    if (iequals(word, key.name)) return &key;
  }
  return nullptr;
}

const KeySyntax* find_kind(SearchKeyKind kind) {
  for (const KeySyntax& key : kKeys) {
    if (key.kind == kind) return &key;
  }
  return nullptr;
}

ImapResult<SearchKey> parse_search_key(ImapLexer& lexer);

// The keys of a parenthesised list, the lexer standing after '('.
ImapResult<SearchKey> parse_key_list(ImapLexer& lexer) {
  IMAP_TRY(lexer.enter_nesting());
  SearchKey list;
  list.kind = SearchKeyKind::kAnd;
  for (;;) {
    IMAP_TRY_ASSIGN(SearchKey key, parse_search_key(lexer));
    list.children.push_back(std::move(key));
    if (lexer.consume(')')) break;
    if (lexer.at_end()) return lexer.error("Unterminated search key list");
    if (!lexer.consume(' ')) return lexer.error("Invalid search key list");
  }
  lexer.leave_nesting();
  return list;
}

ImapResult<SearchKey> parse_search_key(ImapLexer& lexer) {
  if (lexer.at_end() || lexer.peek() == ' ' || lexer.peek() == ')') {
    return lexer.error("Missing search key");
  }
  if (lexer.consume('(')) return parse_key_list(lexer);
  SearchKey key;
  if (lexer.peek() == '*' || (lexer.peek() >= '1' && lexer.peek() <= '9')) {
    key.kind = SearchKeyKind::kSequenceSet;
    IMAP_TRY_ASSIGN(key.set, lexer.parse_sequence_set("sequence set"));
    return key;
  }
  std::string_view word = lexer.read_atom();
  const KeySyntax* syntax = find_key(word);
  if (syntax == nullptr) {
    if (word.empty() || word.size() > kMaxEchoedWordBytes) {
      return lexer.error("Invalid search key");
    }
    return lexer.error("Unknown search key " + to_upper(word));
  }
  key.kind = syntax->kind;
  switch (syntax->argument) {
    case Argument::kNone: break;
    case Argument::kString: {
      IMAP_TRY(lexer.expect_space("search string"));
      IMAP_TRY_ASSIGN(key.value, lexer.parse_astring("search string"));
      break;
    }
    case Argument::kKeyword: {
      IMAP_TRY(lexer.expect_space("keyword"));
      IMAP_TRY_ASSIGN(key.value, lexer.parse_atom("keyword"));
      break;
    }
    case Argument::kHeader: {
      IMAP_TRY(lexer.expect_space("header field name"));
      IMAP_TRY_ASSIGN(key.field, lexer.parse_astring("header field name"));
      IMAP_TRY(lexer.expect_space("search string"));
      IMAP_TRY_ASSIGN(key.value, lexer.parse_astring("search string"));
      break;
    }
    case Argument::kDate: {
      IMAP_TRY(lexer.expect_space("date"));
      IMAP_TRY_ASSIGN(key.date, lexer.parse_date());
      break;
    }
    case Argument::kSize: {
      IMAP_TRY(lexer.expect_space("size"));
      IMAP_TRY_ASSIGN(key.size, lexer.parse_number("size"));
      break;
    }
    case Argument::kUidSet: {
      IMAP_TRY(lexer.expect_space("UID set"));
      IMAP_TRY_ASSIGN(key.set, lexer.parse_sequence_set("UID set"));
      break;
    }
    case Argument::kNot: {
      IMAP_TRY(lexer.enter_nesting());
      IMAP_TRY(lexer.expect_space("search key"));
      IMAP_TRY_ASSIGN(SearchKey child, parse_search_key(lexer));
      key.children.push_back(std::move(child));
      lexer.leave_nesting();
      break;
    }
    case Argument::kOr: {
      IMAP_TRY(lexer.enter_nesting());
      for (int i = 0; i < 2; ++i) {
        IMAP_TRY(lexer.expect_space("search key"));
        IMAP_TRY_ASSIGN(SearchKey child, parse_search_key(lexer));
        key.children.push_back(std::move(child));
      }
      lexer.leave_nesting();
      break;
    }
  }
  // A key runs up to a space, a ')' or the end; "SEENX" or "ALL(" are not keys.
  if (!lexer.at_end() && lexer.peek() != ' ' && lexer.peek() != ')') {
    return lexer.error("Invalid search key");
  }
  return key;
}

void append_key(std::string& out, const SearchKey& key) {
  if (key.kind == SearchKeyKind::kAnd) {
    out += '(';
    for (std::size_t i = 0; i < key.children.size(); ++i) {
      if (i > 0) out += ' ';
      append_key(out, key.children[i]);
    }
    out += ')';
    return;
  }
  if (key.kind == SearchKeyKind::kSequenceSet) {
    out += format_sequence_set(key.set);
    return;
  }
  const KeySyntax* syntax = find_kind(key.kind);
  if (syntax == nullptr) return;
  out += syntax->name;
  switch (syntax->argument) {
    case Argument::kNone: break;
    case Argument::kString: out += ' ' + quote_or_literal(key.value); break;
    case Argument::kKeyword: out += ' ' + key.value; break;
    case Argument::kHeader:
      out += ' ' + format_astring(key.field) + ' ' + quote_or_literal(key.value);
      break;
    case Argument::kDate: {
      static constexpr std::array<std::string_view, 12> kMonths = {
          "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      out += ' ' + std::to_string(key.date.day) + '-';
      out += kMonths[static_cast<std::size_t>(key.date.month - 1) % 12];
      std::string year = std::to_string(key.date.year);
      out += '-' + std::string(year.size() < 4 ? 4 - year.size() : 0, '0') + year;
      break;
    }
    case Argument::kSize: out += ' ' + std::to_string(key.size); break;
    case Argument::kUidSet: out += ' ' + format_sequence_set(key.set); break;
    case Argument::kNot:
    case Argument::kOr:
      for (const SearchKey& child : key.children) {
        out += ' ';
        append_key(out, child);
      }
      break;
  }
}

}  // namespace

ImapResult<SearchCriteria> parse_search_criteria(ImapLexer& lexer) {
  SearchCriteria criteria;
  criteria.key.kind = SearchKeyKind::kAnd;
  IMAP_TRY(lexer.expect_space("search key"));
  if (lexer.consume_word("CHARSET")) {
    IMAP_TRY(lexer.expect_space("charset"));
    IMAP_TRY_ASSIGN(std::string charset, lexer.parse_astring("charset"));
    criteria.charset = std::move(charset);
    IMAP_TRY(lexer.expect_space("search key"));
  }
  for (;;) {
    IMAP_TRY_ASSIGN(SearchKey key, parse_search_key(lexer));
    criteria.key.children.push_back(std::move(key));
    if (lexer.at_end()) return criteria;
    if (lexer.peek() == ')') return lexer.error("Unbalanced ')' in search keys");
    IMAP_TRY(lexer.expect_space("search key"));
  }
}

std::string format_search_key(const SearchKey& key) {
  std::string out;
  append_key(out, key);
  return out;
}

std::string format_search_criteria(const SearchCriteria& criteria) {
  std::string out;
  if (criteria.charset) out += "CHARSET " + format_astring(*criteria.charset) + ' ';
  if (criteria.key.kind != SearchKeyKind::kAnd) {
    append_key(out, criteria.key);
    return out;
  }
  for (std::size_t i = 0; i < criteria.key.children.size(); ++i) {
    if (i > 0) out += ' ';
    append_key(out, criteria.key.children[i]);
  }
  return out;
}

}  // namespace post::email
