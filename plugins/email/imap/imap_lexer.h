// The tokens of IMAP4rev1 commands (RFC 3501 9): atoms, strings (quoted and literal),
// numbers, flags, dates, sequence sets. Internal to post_email_imap: the command, fetch and
// search parsers are built on it. A lexer reads one RawCommand's bytes; each parse_* either
// consumes its token or returns the BAD (or NO) reply that refuses the command.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/common/ascii.h"
#include "plugins/email/imap/imap_date.h"
#include "plugins/email/imap/imap_reader.h"
#include "plugins/email/imap/imap_result.h"
#include "plugins/email/imap/imap_sequence.h"

namespace post::email {

// ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ].
bool is_atom_char(char c);
// ASTRING-CHAR (ATOM-CHAR or "]"), plus 8-bit bytes: clients put raw UTF-8 in unquoted
// passwords and search strings, and refusing them helps nobody.
bool is_astring_char(char c);
// list-char: ATOM-CHAR, "%", "*" or "]" (and 8-bit bytes, as above).
bool is_list_char(char c);

// ASCII upper case.
std::string to_upper(std::string_view s);

class ImapLexer {
 public:
  // `tag` goes into the errors this lexer makes (empty: untagged).
  ImapLexer(std::string_view input, std::string tag,
            std::size_t max_nesting_depth = kDefaultMaxNestingDepth)
      : input_(input), tag_(std::move(tag)), max_depth_(max_nesting_depth) {}

  bool at_end() const { return pos_ >= input_.size(); }
  // The next byte, or '\0' at the end.
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < input_.size() ? input_[pos_ + ahead] : '\0';
  }
  std::string_view rest() const { return input_.substr(pos_); }
  void advance(std::size_t n) { pos_ = std::min(input_.size(), pos_ + n); }
  // Consumes `c` if it is next.
  bool consume(char c);
  // Consumes `word` (any case) if it comes next and is not followed by an atom character.
  bool consume_word(std::string_view word);

  const std::string& tag() const { return tag_; }
  void set_tag(std::string tag) { tag_ = std::move(tag); }
  // An error replying to this command.
  ImapError error(std::string text, ImapErrc code = ImapErrc::kSyntax,
                  ImapStatus status = ImapStatus::kBad) const;

  // One SP before an argument; "Missing <what>" when the command or the list ends instead.
  ImapResult<void> expect_space(std::string_view what);
  // `c`, or the error `text`.
  ImapResult<void> expect(char c, std::string_view text);
  // "Unexpected extra arguments" unless at the end.
  ImapResult<void> expect_end();

  // 1*ATOM-CHAR as it stands in the input; empty when none is next.
  std::string_view read_atom();
  // A non-empty atom.
  ImapResult<std::string> parse_atom(std::string_view what);
  // astring: atom (with "]"), quoted string or literal.
  ImapResult<std::string> parse_astring(std::string_view what);
  // string: quoted string or literal.
  ImapResult<std::string> parse_string(std::string_view what);
  // nstring: string or NIL (nullopt).
  ImapResult<std::optional<std::string>> parse_nstring(std::string_view what);
  // A mailbox name: an astring; "INBOX" in any case becomes "INBOX"; refused with
  // NO [CANNOT] unless valid modified UTF-7 (RFC 3501 5.1.3).
  ImapResult<std::string> parse_mailbox(std::string_view what);
  // list-mailbox: list-chars or a string, validated as modified UTF-7 like a mailbox.
  ImapResult<std::string> parse_list_mailbox(std::string_view what);
  // number: 32-bit unsigned decimal.
  ImapResult<std::uint32_t> parse_number(std::string_view what);
  // nz-number: like number but not 0 and without leading zeros.
  ImapResult<std::uint32_t> parse_nz_number(std::string_view what);
  ImapResult<SequenceSet> parse_sequence_set(std::string_view what);
  // flag: a keyword atom or one of the five settable system flags, normalised to their
  // RFC 3501 spelling ("\seen" becomes "\Seen"). "\Recent" and other "\" flags are refused.
  ImapResult<std::string> parse_flag();
  // flag-list: "(" [flag *(SP flag)] ")".
  ImapResult<std::vector<std::string>> parse_flag_list();
  // date: "1-Feb-1994", optionally quoted.
  ImapResult<ImapDate> parse_date();
  // date-time: "\"17-Jul-1996 02:44:25 -0700\"".
  ImapResult<ImapDateTime> parse_date_time();

  // Counts one level of nesting; fails beyond the limit. Pair with leave_nesting().
  ImapResult<void> enter_nesting();
  void leave_nesting() { --depth_; }

 private:
  ImapResult<std::string> parse_quoted(std::string_view what);
  ImapResult<std::string> parse_literal(std::string_view what);
  ImapResult<std::uint32_t> parse_digits(std::string_view what, bool nonzero);
  ImapResult<int> parse_month();
  ImapResult<std::string> validate_mailbox(std::string name);

  std::string_view input_;
  std::size_t pos_ = 0;
  std::string tag_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
};

}  // namespace post::email
