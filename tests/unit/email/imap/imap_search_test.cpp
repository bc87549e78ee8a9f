#include "plugins/email/imap/imap_search.h"

#include <gtest/gtest.h>

#include <string>

#include "plugins/email/imap/imap_command.h"

namespace post::email {
namespace {

SearchCriteria criteria_of(std::string_view keys, const ImapLimits& limits = {}) {
  auto command = parse_imap_command("s SEARCH " + std::string(keys), limits);
  EXPECT_TRUE(command.ok()) << keys << " -> " << command.error().reply_line();
  if (!command.ok()) return {};
  return command->args<SearchCriteria>();
}

std::string reply_to(std::string_view keys, const ImapLimits& limits = {}) {
  auto command = parse_imap_command("s SEARCH " + std::string(keys), limits);
  if (command.ok()) return "parsed";
  std::string line = command.error().reply_line();
  return line.substr(0, line.size() - 2);
}

TEST(SearchCriteria, TopLevelKeysAreAnAndNode) {
  SearchCriteria c = criteria_of("UNSEEN FROM alice");
  EXPECT_FALSE(c.charset.has_value());
  EXPECT_EQ(c.key.kind, SearchKeyKind::kAnd);
  ASSERT_EQ(c.key.children.size(), 2u);
  EXPECT_EQ(c.key.children[0].kind, SearchKeyKind::kUnseen);
  EXPECT_EQ(c.key.children[1].kind, SearchKeyKind::kFrom);
  EXPECT_EQ(c.key.children[1].value, "alice");
}

TEST(SearchCriteria, OrNotAndParenthesesBuildATree) {
  // Thunderbird's quick filter: an OR chain; plus a negated parenthesised list.
  SearchCriteria c =
      criteria_of("OR OR FROM \"bob\" SUBJECT bob TO bob NOT (DELETED SINCE 1-Feb-1994) UID 1:100");
  ASSERT_EQ(c.key.children.size(), 3u);
  const SearchKey& chain = c.key.children[0];
  EXPECT_EQ(chain.kind, SearchKeyKind::kOr);
  ASSERT_EQ(chain.children.size(), 2u);
  EXPECT_EQ(chain.children[0].kind, SearchKeyKind::kOr);
  EXPECT_EQ(chain.children[0].children[1].kind, SearchKeyKind::kSubject);
  EXPECT_EQ(chain.children[1].kind, SearchKeyKind::kTo);
  const SearchKey& negated = c.key.children[1];
  EXPECT_EQ(negated.kind, SearchKeyKind::kNot);
  ASSERT_EQ(negated.children.size(), 1u);
  EXPECT_EQ(negated.children[0].kind, SearchKeyKind::kAnd);
  EXPECT_EQ(negated.children[0].children[1].date, (ImapDate{1994, 2, 1}));
  EXPECT_EQ(c.key.children[2].kind, SearchKeyKind::kUid);
  EXPECT_EQ(format_sequence_set(c.key.children[2].set), "1:100");
}

TEST(SearchCriteria, EveryKeyOfRfc3501) {
  SearchCriteria c = criteria_of(
      "ALL ANSWERED BCC b BEFORE 1-Jan-2000 BODY x CC c DELETED DRAFT FLAGGED FROM f "
      "HEADER X-Mailer \"\" KEYWORD $Junk LARGER 1000 NEW NOT SEEN OLD ON \"31-Dec-1999\" "
      "OR SEEN UNSEEN RECENT SEEN SENTBEFORE 2-Jan-2000 SENTON 3-Jan-2000 "
      "SENTSINCE 4-Jan-2000 SINCE 5-Jan-2000 SMALLER 2000 SUBJECT s TEXT t TO t UID 5:* "
      "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $Done UNSEEN 2,4:6 (ALL)");
  EXPECT_EQ(c.key.children.size(), 37u);
  const SearchKey& header = c.key.children[10];
  EXPECT_EQ(header.kind, SearchKeyKind::kHeader);
  EXPECT_EQ(header.field, "X-Mailer");
  EXPECT_EQ(header.value, "");
  EXPECT_EQ(c.key.children[12].size, 1000u);
  EXPECT_EQ(c.key.children[16].date, (ImapDate{1999, 12, 31}));
  const SearchKey& set = c.key.children[35];
  EXPECT_EQ(set.kind, SearchKeyKind::kSequenceSet);
  EXPECT_EQ(format_sequence_set(set.set), "2,4:6");
}

TEST(SearchCriteria, CharsetAndLiteralStrings) {
  // A UTF-8 search as Thunderbird sends it: the string as a literal.
  SearchCriteria c = criteria_of("CHARSET UTF-8 SUBJECT {6}\r\nGr\xc3\xbc\xc3\x9f");
  EXPECT_EQ(c.charset, "UTF-8");
  EXPECT_EQ(c.key.children[0].value, "Gr\xc3\xbc\xc3\x9f");
  EXPECT_EQ(criteria_of("charset \"us-ascii\" ALL").charset, "us-ascii");
}

TEST(SearchCriteria, FormattingRoundTrips) {
  for (std::string_view keys : {
           "UNSEEN FROM alice",
           "CHARSET UTF-8 OR NOT (DELETED SEEN) HEADER {3}\r\na b \"q\\\"uote\"",
           "SUBJECT {5}\r\na\r\nbc LARGER 0 SINCE 1-Feb-1994 UID *:3,7 1:*",
           "KEYWORD $Junk (OR ANSWERED (FLAGGED DRAFT) NOT NOT NEW)",
       }) {
    SearchCriteria c = criteria_of(keys);
    std::string text = format_search_criteria(c);
    EXPECT_EQ(criteria_of(text), c) << keys << " -> " << text;
  }
  EXPECT_EQ(format_search_criteria(criteria_of("OR FROM \"a b\" TO c NOT 1:5")),
            "OR FROM \"a b\" TO \"c\" NOT 1:5");
}

TEST(SearchCriteria, DeepNestingIsRefused) {
  ImapLimits limits;
  limits.max_nesting_depth = 8;
  EXPECT_EQ(
      criteria_of(std::string(8, '(') + "ALL" + std::string(8, ')'), limits).key.children.size(),
      1u);
  EXPECT_EQ(reply_to(std::string(9, '(') + "ALL" + std::string(9, ')'), limits),
            "s BAD Too deeply nested");
  std::string nots;
  for (int i = 0; i < 9; ++i) nots += "NOT ";
  EXPECT_EQ(reply_to(nots + "SEEN", limits), "s BAD Too deeply nested");
  std::string ors;
  for (int i = 0; i < 9; ++i) ors += "OR SEEN ";
  EXPECT_EQ(reply_to(ors + "SEEN", limits), "s BAD Too deeply nested");
  // The default limit holds off a hostile nesting that would exhaust the stack.
  auto deep = parse_imap_command("s SEARCH " + std::string(100'000, '(') + "ALL");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().code, ImapErrc::kNestingTooDeep);
  // Siblings do not add up: depth is nesting, not count.
  std::string wide;
  for (int i = 0; i < 50; ++i) wide += "(SEEN) ";
  EXPECT_EQ(criteria_of(wide + "ALL", limits).key.children.size(), 51u);
}

TEST(SearchCriteria, MalformedKeys) {
  EXPECT_EQ(reply_to(""), "s BAD Missing search key");
  EXPECT_EQ(parse_imap_command("s SEARCH").error().text, "Missing search key");
  EXPECT_EQ(reply_to("FROB"), "s BAD Unknown search key FROB");
  EXPECT_EQ(reply_to("SEENX"), "s BAD Unknown search key SEENX");
  EXPECT_EQ(reply_to("FROM"), "s BAD Missing search string");
  EXPECT_EQ(reply_to("SINCE 31-Feb-2024"), "s BAD Invalid date");
  EXPECT_EQ(reply_to("SINCE 1-Fbr-2024"), "s BAD Invalid date");
  EXPECT_EQ(reply_to("SINCE 1-Feb-24"), "s BAD Invalid date");
  EXPECT_EQ(reply_to("SINCE \"1-Feb-2024"), "s BAD Invalid date");
  EXPECT_EQ(reply_to("LARGER big"), "s BAD Invalid size");
  EXPECT_EQ(reply_to("LARGER 99999999999"), "s BAD Invalid size");
  EXPECT_EQ(reply_to("UID 0:5"), "s BAD Invalid UID set");
  EXPECT_EQ(reply_to("KEYWORD \\Seen"), "s BAD Invalid keyword");
  EXPECT_EQ(reply_to("HEADER Subject"), "s BAD Missing search string");
  EXPECT_EQ(reply_to("OR SEEN"), "s BAD Missing search key");
  EXPECT_EQ(reply_to("NOT"), "s BAD Missing search key");
  EXPECT_EQ(reply_to("(SEEN"), "s BAD Unterminated search key list");
  EXPECT_EQ(reply_to("SEEN)"), "s BAD Unbalanced ')' in search keys");
  EXPECT_EQ(reply_to("()"), "s BAD Missing search key");
  EXPECT_EQ(reply_to("SEEN  ALL"), "s BAD Missing search key");
  EXPECT_EQ(reply_to("CHARSET"), "s BAD Missing charset");
  EXPECT_EQ(reply_to("CHARSET UTF-8"), "s BAD Missing search key");
  EXPECT_EQ(reply_to("1:5x"), "s BAD Invalid sequence set");
  EXPECT_EQ(reply_to("RETURN (MIN) ALL"), "s BAD Unknown search key RETURN");
}

}  // namespace
}  // namespace post::email
