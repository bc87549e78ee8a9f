#include "plugins/email/imap/imap_lexer.h"

#include <array>
#include <limits>

#include "plugins/email/imap/imap_mutf7.h"

namespace post::email {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_8bit(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}

char to_upper_ascii(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

constexpr std::array<std::string_view, 5> kSystemFlags = {"\\Answered", "\\Flagged", "\\Deleted",
                                                          "\\Seen", "\\Draft"};

}  // namespace

bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']': return false;
    default: return true;
  }
}

bool is_astring_char(char c) {
  return is_atom_char(c) || c == ']' || is_8bit(c);
}

bool is_list_char(char c) {
  return is_astring_char(c) || c == '%' || c == '*';
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_upper_ascii(c);
  return out;
}

bool ImapLexer::consume(char c) {
  if (at_end() || input_[pos_] != c) return false;
  ++pos_;
  return true;
}

bool ImapLexer::consume_word(std::string_view word) {
  if (input_.size() - pos_ < word.size()) return false;
  if (!iequals(input_.substr(pos_, word.size()), word)) return false;
  std::size_t after = pos_ + word.size();
  if (after < input_.size() && is_atom_char(input_[after])) return false;
  pos_ = after;
  return true;
}

ImapError ImapLexer::error(std::string text, ImapErrc code, ImapStatus status) const {
  return ImapError{code, status, tag_, std::move(text)};
}

ImapResult<void> ImapLexer::expect_space(std::string_view what) {
  if (at_end() || peek() == ')') return error("Missing " + std::string(what));
  if (!consume(' ')) return error("Expected space before " + std::string(what));
  return {};
}

ImapResult<void> ImapLexer::expect(char c, std::string_view text) {
  if (!consume(c)) return error(std::string(text));
  return {};
}

ImapResult<void> ImapLexer::expect_end() {
  if (!at_end()) return error("Unexpected extra arguments");
  return {};
}

std::string_view ImapLexer::read_atom() {
  std::size_t start = pos_;
  while (!at_end() && is_atom_char(input_[pos_])) ++pos_;
  return input_.substr(start, pos_ - start);
}

ImapResult<std::string> ImapLexer::parse_atom(std::string_view what) {
  if (at_end() || peek() == ' ' || peek() == ')') return error("Missing " + std::string(what));
  std::string_view atom = read_atom();
  if (atom.empty()) return error("Invalid " + std::string(what));
  return std::string(atom);
}

ImapResult<std::string> ImapLexer::parse_astring(std::string_view what) {
  char c = peek();
  if (at_end() || c == ' ' || c == ')') return error("Missing " + std::string(what));
  if (c == '"' || c == '{' || (c == '~' && peek(1) == '{')) return parse_string(what);
  std::size_t start = pos_;
  while (!at_end() && is_astring_char(input_[pos_])) ++pos_;
  if (pos_ == start) return error("Invalid " + std::string(what));
  return std::string(input_.substr(start, pos_ - start));
}

ImapResult<std::string> ImapLexer::parse_string(std::string_view what) {
  char c = peek();
  if (at_end() || c == ' ' || c == ')') return error("Missing " + std::string(what));
  if (c == '"') return parse_quoted(what);
  if (c == '{') return parse_literal(what);
  if (c == '~' && peek(1) == '{') {
    return error("literal8 is not supported", ImapErrc::kUnsupported);
  }
  return error("Invalid " + std::string(what));
}

ImapResult<std::string> ImapLexer::parse_quoted(std::string_view what) {
  ++pos_;  // the opening quote
  std::string out;
  for (;;) {
    if (at_end()) return error("Unterminated quoted string");
    char c = input_[pos_++];
    if (c == '"') return out;
    if (c == '\\') {
      char escaped = peek();
      if (escaped != '"' && escaped != '\\') return error("Invalid " + std::string(what));
      out += escaped;
      ++pos_;
    } else if (c == '\r' || c == '\n' || c == '\0') {
      return error("Invalid " + std::string(what));
    } else {
      out += c;
    }
  }
}

ImapResult<std::string> ImapLexer::parse_literal(std::string_view what) {
  ++pos_;  // '{'
  std::uint64_t size = 0;
  std::size_t digits = 0;
  while (is_digit(peek())) {
    size = size * 10 + static_cast<std::uint64_t>(peek() - '0');
    if (size > std::numeric_limits<std::uint32_t>::max()) {
      return error("Invalid literal in " + std::string(what));
    }
    ++pos_;
    ++digits;
  }
  consume('+');
  if (digits == 0 || !consume('}') || !consume('\r') || !consume('\n')) {
    return error("Invalid literal in " + std::string(what));
  }
  if (input_.size() - pos_ < size) return error("Truncated literal in " + std::string(what));
  std::string out(input_.substr(pos_, static_cast<std::size_t>(size)));
  pos_ += static_cast<std::size_t>(size);
  return out;
}

ImapResult<std::optional<std::string>> ImapLexer::parse_nstring(std::string_view what) {
  if (consume_word("NIL")) return std::optional<std::string>();
  IMAP_TRY_ASSIGN(std::string s, parse_string(what));
  return std::optional<std::string>(std::move(s));
}

ImapResult<std::string> ImapLexer::validate_mailbox(std::string name) {
  if (iequals(name, "INBOX")) return std::string("INBOX");
  if (!is_valid_modified_utf7(name)) {
    return error("[CANNOT] Mailbox name is not valid modified UTF-7", ImapErrc::kBadMailboxName,
                 ImapStatus::kNo);
  }
  return name;
}

ImapResult<std::string> ImapLexer::parse_mailbox(std::string_view what) {
  IMAP_TRY_ASSIGN(std::string name, parse_astring(what));
  return validate_mailbox(std::move(name));
}

ImapResult<std::string> ImapLexer::parse_list_mailbox(std::string_view what) {
  char c = peek();
  if (at_end() || c == ' ' || c == ')') return error("Missing " + std::string(what));
  std::string name;
  if (c == '"' || c == '{' || (c == '~' && peek(1) == '{')) {
    IMAP_TRY_ASSIGN(name, parse_string(what));
  } else {
    std::size_t start = pos_;
    while (!at_end() && is_list_char(input_[pos_])) ++pos_;
    if (pos_ == start) return error("Invalid " + std::string(what));
    name = std::string(input_.substr(start, pos_ - start));
  }
  if (!is_valid_modified_utf7(name)) {
    return error("[CANNOT] Mailbox name is not valid modified UTF-7", ImapErrc::kBadMailboxName,
                 ImapStatus::kNo);
  }
  return name;
}

ImapResult<std::uint32_t> ImapLexer::parse_digits(std::string_view what, bool nonzero) {
  if (at_end() || peek() == ' ' || peek() == ')') return error("Missing " + std::string(what));
  if (!is_digit(peek()) || (nonzero && peek() == '0')) {
    return error("Invalid " + std::string(what));
  }
  std::uint64_t value = 0;
  while (is_digit(peek())) {
    value = value * 10 + static_cast<std::uint64_t>(peek() - '0');
    if (value > std::numeric_limits<std::uint32_t>::max()) {
      return error("Invalid " + std::string(what));
    }
    ++pos_;
  }
  return static_cast<std::uint32_t>(value);
}

ImapResult<std::uint32_t> ImapLexer::parse_number(std::string_view what) {
  return parse_digits(what, false);
}

ImapResult<std::uint32_t> ImapLexer::parse_nz_number(std::string_view what) {
  return parse_digits(what, true);
}

ImapResult<SequenceSet> ImapLexer::parse_sequence_set(std::string_view what) {
  if (at_end() || peek() == ' ' || peek() == ')') return error("Missing " + std::string(what));
  auto seq_number = [&]() -> ImapResult<std::uint32_t> {
    if (consume('*')) return kSequenceStar;
    if (!is_digit(peek()) || peek() == '0') return error("Invalid " + std::string(what));
    return parse_nz_number(what);
  };
  SequenceSet set;
  do {
    IMAP_TRY_ASSIGN(std::uint32_t first, seq_number());
    std::uint32_t last = first;
    if (consume(':')) {
      IMAP_TRY_ASSIGN(last, seq_number());
    }
    if (first == kSequenceStar) std::swap(first, last);
    if (last != kSequenceStar && first > last) std::swap(first, last);
    set.ranges.push_back(SequenceRange{first, last});
  } while (consume(','));
  if (!at_end() && peek() != ' ' && peek() != ')') return error("Invalid " + std::string(what));
  return set;
}

ImapResult<std::string> ImapLexer::parse_flag() {
  if (at_end() || peek() == ' ' || peek() == ')') return error("Missing flag");
  if (consume('\\')) {
    std::string_view name = read_atom();
    for (std::string_view flag : kSystemFlags) {
      if (iequals(name, flag.substr(1))) return std::string(flag);
    }
    return error("Invalid system flag");
  }
  std::string_view keyword = read_atom();
  if (keyword.empty()) return error("Invalid flag");
  return std::string(keyword);
}

ImapResult<std::vector<std::string>> ImapLexer::parse_flag_list() {
  if (at_end()) return error("Missing flag list");
  if (!consume('(')) return error("Invalid flag list");
  std::vector<std::string> flags;
  if (consume(')')) return flags;
  for (;;) {
    IMAP_TRY_ASSIGN(std::string flag, parse_flag());
    flags.push_back(std::move(flag));
    if (consume(')')) return flags;
    if (!consume(' ')) return error("Invalid flag list");
  }
}

ImapResult<int> ImapLexer::parse_month() {
  if (input_.size() - pos_ < 3) return error("Invalid month");
  std::string_view name = input_.substr(pos_, 3);
  for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
    if (iequals(name, kMonthNames[i])) {
      pos_ += 3;
      return static_cast<int>(i) + 1;
    }
  }
  return error("Invalid month");
}

ImapResult<ImapDate> ImapLexer::parse_date() {
  if (at_end() || peek() == ' ' || peek() == ')') return error("Missing date");
  bool quoted = consume('"');
  ImapDate date;
  auto digits = [&](int min_count, int max_count, int& out) {
    int count = 0;
    out = 0;
    while (count < max_count && is_digit(peek())) {
      out = out * 10 + (peek() - '0');
      ++pos_;
      ++count;
    }
    return count >= min_count;
  };
  if (!digits(1, 2, date.day) || !consume('-')) return error("Invalid date");
  auto month = parse_month();
  if (!month.ok()) return error("Invalid date");
  date.month = *month;
  if (!consume('-') || !digits(4, 4, date.year)) return error("Invalid date");
  if (quoted && !consume('"')) return error("Invalid date");
  if (!is_valid_date(date.year, date.month, date.day)) return error("Invalid date");
  return date;
}

ImapResult<ImapDateTime> ImapLexer::parse_date_time() {
  if (at_end() || peek() == ' ' || peek() == ')') return error("Missing date-time");
  ImapDateTime t;
  auto fixed = [&](int count, int& out) {
    out = 0;
    for (int i = 0; i < count; ++i) {
      if (!is_digit(peek())) return false;
      out = out * 10 + (peek() - '0');
      ++pos_;
    }
    return true;
  };
  if (!consume('"')) return error("Invalid date-time");
  // date-day-fixed is SP DIGIT or 2DIGIT; a single digit is accepted too.
  consume(' ');
  if (!fixed(1, t.date.day)) return error("Invalid date-time");
  if (is_digit(peek())) t.date.day = t.date.day * 10 + (input_[pos_++] - '0');
  if (!consume('-')) return error("Invalid date-time");
  auto month = parse_month();
  if (!month.ok()) return error("Invalid date-time");
  t.date.month = *month;
  int zone = 0;
  if (!consume('-') || !fixed(4, t.date.year) || !consume(' ') || !fixed(2, t.hour) ||
      !consume(':') || !fixed(2, t.minute) || !consume(':') || !fixed(2, t.second) ||
      !consume(' ')) {
    return error("Invalid date-time");
  }
  int sign = consume('+') ? 1 : (consume('-') ? -1 : 0);
  if (sign == 0 || !fixed(4, zone) || !consume('"')) return error("Invalid date-time");
  if (!is_valid_date(t.date.year, t.date.month, t.date.day) || t.hour > 23 || t.minute > 59 ||
      t.second > 60 || zone % 100 > 59) {
    return error("Invalid date-time");
  }
  t.zone_minutes = sign * (zone / 100 * 60 + zone % 100);
  return t;
}

ImapResult<void> ImapLexer::enter_nesting() {
  if (depth_ >= max_depth_) return error("Too deeply nested", ImapErrc::kNestingTooDeep);
  ++depth_;
  return {};
}

}  // namespace post::email
