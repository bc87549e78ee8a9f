// Tests of SEARCH matching (plugins/email/render/imap_match.h) against real messages.
#include "plugins/email/render/imap_match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/email/imap/imap_command.h"
#include "tests/unit/email/render/render_samples.h"

namespace post::email {
namespace {

using render_samples::kMixed;
using render_samples::kRawUtf8;
using render_samples::kRfc3501;
using render_samples::Stored;

// 2025-02-04 07:30:00 UTC, which is Mon, 3 Feb 2025 23:30:00 -0800 (kMixed's Date).
constexpr std::int64_t kDelivered = 1738654200;

// The keys of "SEARCH <keys>" as the parser builds them (one kAnd node).
SearchKey key_of(std::string_view keys) {
  auto command = parse_imap_command("s SEARCH " + std::string(keys));
  EXPECT_TRUE(command.ok()) << keys;
  if (!command.ok()) return {};
  return command->args<SearchCriteria>().key;
}

// A string key built directly, for UTF-8 values.
SearchKey string_key(SearchKeyKind kind, std::string value, std::string field = {}) {
  SearchKey key;
  key.kind = kind;
  key.value = std::move(value);
  key.field = std::move(field);
  return key;
}

// Message 3 of 10, UID 42 of at most 50, with everything fetched (or less: see the flags).
struct Fixture {
  explicit Fixture(std::string_view text) : stored(text) {}

  MatchContext context(bool with_layout = true, bool with_bodies = true) const {
    return MatchContext{.sequence = 3,
                        .uid = 42,
                        .recent = recent,
                        .flags = flags,
                        .size = static_cast<std::uint32_t>(stored.layout().size),
                        .internal_date = internal_date,
                        .max_sequence = 10,
                        .max_uid = 50,
                        .layout = with_layout ? &stored.layout() : nullptr,
                        .header_block = stored.layout().header(),
                        .bodies = with_bodies ? std::span<const std::string_view>(stored.bodies)
                                              : std::span<const std::string_view>()};
  }
  bool match(std::string_view keys) const { return matches(key_of(keys), context()); }
  bool match(const SearchKey& key) const { return matches(key, context()); }
  bool match_header_only(const SearchKey& key) const { return matches(key, context(false, false)); }

  Stored stored;
  store::Flags flags;
  bool recent = false;
  std::int64_t internal_date = kDelivered;
};

TEST(SearchNeeds, IsTheMostThatAnyKeyNeeds) {
  EXPECT_EQ(search_needs(key_of("ALL")), SearchNeeds::kFlagsOnly);
  EXPECT_EQ(search_needs(key_of("SEEN UID 1:* LARGER 10 SINCE 1-Feb-2025 KEYWORD $x")),
            SearchNeeds::kFlagsOnly);
  EXPECT_EQ(search_needs(key_of("UNSEEN FROM bob")), SearchNeeds::kHeader);
  EXPECT_EQ(search_needs(key_of("NOT (HEADER X-Tags beta)")), SearchNeeds::kHeader);
  EXPECT_EQ(search_needs(key_of("SENTON 1-Feb-2025")), SearchNeeds::kHeader);
  EXPECT_EQ(search_needs(key_of("OR SEEN BODY x")), SearchNeeds::kText);
  EXPECT_EQ(search_needs(key_of("SUBJECT a NOT TEXT x")), SearchNeeds::kText);
}

TEST(Matches, SystemFlagsAndTheirNegations) {
  Fixture m(kRfc3501);
  m.flags.system = store::kSeen | store::kFlagged;
  EXPECT_TRUE(m.match("SEEN FLAGGED UNANSWERED UNDELETED UNDRAFT"));
  EXPECT_FALSE(m.match("UNSEEN"));
  EXPECT_FALSE(m.match("ANSWERED"));
  EXPECT_FALSE(m.match("DELETED"));
  EXPECT_FALSE(m.match("DRAFT"));
  EXPECT_FALSE(m.match("UNFLAGGED"));
  m.flags.system = store::kAnswered | store::kDeleted | store::kDraft;
  EXPECT_TRUE(m.match("ANSWERED DELETED DRAFT UNSEEN UNFLAGGED"));
}

TEST(Matches, NewIsRecentAndUnseenOldIsNotRecent) {
  Fixture m(kRfc3501);
  m.recent = true;
  EXPECT_TRUE(m.match("NEW"));
  EXPECT_TRUE(m.match("RECENT"));
  EXPECT_FALSE(m.match("OLD"));
  m.flags.system = store::kSeen;
  EXPECT_FALSE(m.match("NEW"));
  EXPECT_TRUE(m.match("RECENT"));
  m.recent = false;
  EXPECT_TRUE(m.match("OLD"));
  EXPECT_FALSE(m.match("RECENT"));
  EXPECT_FALSE(m.match("NEW"));
}

TEST(Matches, KeywordsCompareIgnoringAsciiCase) {
  Fixture m(kRfc3501);
  m.flags.keywords = {"$Forwarded", "Work"};
  EXPECT_TRUE(m.match("KEYWORD $forwarded"));
  EXPECT_TRUE(m.match("KEYWORD Work UNKEYWORD $Junk"));
  EXPECT_FALSE(m.match("KEYWORD $Junk"));
  EXPECT_FALSE(m.match("UNKEYWORD work"));
}

TEST(Matches, UidAndSequenceSetsResolveStarAgainstTheLargest) {
  Fixture m(kRfc3501);  // sequence 3 of 10, UID 42 of 50
  EXPECT_TRUE(m.match("UID 1:10,42"));
  EXPECT_TRUE(m.match("UID 40:*"));
  EXPECT_FALSE(m.match("UID 43:*"));
  EXPECT_FALSE(m.match("UID *"));
  EXPECT_FALSE(m.match("UID 60:*"));  // 50:60 (RFC 3501 6.4.8): 42 is not in it
  EXPECT_TRUE(m.match("3"));
  EXPECT_TRUE(m.match("2:4"));
  EXPECT_FALSE(m.match("4:*"));
  EXPECT_FALSE(m.match("*"));
  EXPECT_TRUE(m.match("NOT 1:2"));
}

TEST(Matches, LargerAndSmallerAreStrict) {
  Fixture m(kRfc3501);  // 397 octets
  EXPECT_TRUE(m.match("LARGER 396"));
  EXPECT_FALSE(m.match("LARGER 397"));
  EXPECT_TRUE(m.match("SMALLER 398"));
  EXPECT_FALSE(m.match("SMALLER 397"));
}

TEST(Matches, InternalDateComparesTheUtcDay) {
  Fixture m(kMixed);  // delivered 2025-02-04 07:30 UTC
  EXPECT_TRUE(m.match("ON 4-Feb-2025"));
  EXPECT_FALSE(m.match("ON 3-Feb-2025"));
  EXPECT_TRUE(m.match("SINCE 4-Feb-2025"));
  EXPECT_FALSE(m.match("SINCE 5-Feb-2025"));
  EXPECT_TRUE(m.match("BEFORE 5-Feb-2025"));
  EXPECT_FALSE(m.match("BEFORE 4-Feb-2025"));
  m.internal_date = -1;  // 1969-12-31 23:59:59 UTC
  EXPECT_TRUE(m.match("ON 31-Dec-1969"));
  EXPECT_TRUE(m.match("BEFORE 1-Jan-1970"));
}

TEST(Matches, SentDatesUseTheDayWrittenInTheDateHeader) {
  Fixture m(kMixed);  // Date: Mon, 3 Feb 2025 23:30:00 -0800 (4 Feb in UTC)
  EXPECT_TRUE(m.match("SENTON 3-Feb-2025"));
  EXPECT_FALSE(m.match("SENTON 4-Feb-2025"));
  EXPECT_TRUE(m.match("SENTBEFORE 4-Feb-2025"));
  EXPECT_FALSE(m.match("SENTBEFORE 3-Feb-2025"));
  EXPECT_TRUE(m.match("SENTSINCE 3-Feb-2025"));
  EXPECT_FALSE(m.match("SENTSINCE 4-Feb-2025"));
  EXPECT_TRUE(m.match_header_only(key_of("SENTON 3-Feb-2025")));

  Fixture rfc(kRfc3501);  // Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
  EXPECT_TRUE(rfc.match("SENTON 17-Jul-1996"));
}

TEST(Matches, SentDatesNeverMatchWithoutADate) {
  Fixture m(kRawUtf8);
  EXPECT_FALSE(m.match("SENTON 3-Feb-2025"));
  EXPECT_FALSE(m.match("SENTBEFORE 1-Jan-2100"));
  EXPECT_FALSE(m.match("SENTSINCE 1-Jan-1900"));
  EXPECT_TRUE(m.match("NOT SENTSINCE 1-Jan-1900"));
}

TEST(Matches, AddressKeysMatchDecodedFieldsIgnoringAsciiCase) {
  Fixture m(kMixed);
  EXPECT_TRUE(m.match(string_key(SearchKeyKind::kFrom, "andré müller")));
  EXPECT_TRUE(m.match_header_only(string_key(SearchKeyKind::kFrom, "André")));
  EXPECT_TRUE(m.match("FROM ANDRE@EXAMPLE.ORG"));
  EXPECT_TRUE(m.match("TO carol"));
  EXPECT_TRUE(m.match("TO \"Bob <bob@\""));
  EXPECT_FALSE(m.match("TO dave"));  // only in the embedded message
  EXPECT_FALSE(m.match("FROM dave"));
  EXPECT_FALSE(m.match("CC bob"));
  EXPECT_FALSE(m.match("BCC bob"));
  EXPECT_FALSE(m.match("CC \"\""));  // no Cc field at all

  Fixture rfc(kRfc3501);
  EXPECT_TRUE(rfc.match_header_only(key_of("CC klensin")));
  EXPECT_TRUE(rfc.match_header_only(key_of("CC \"John Klensin\"")));
  EXPECT_TRUE(rfc.match_header_only(key_of("FROM \"Terry Gray\"")));
}

TEST(Matches, SubjectMatchesTheDecodedText) {
  Fixture m(kMixed);
  EXPECT_TRUE(m.match_header_only(string_key(SearchKeyKind::kSubject, "grüße aus Köln")));
  EXPECT_FALSE(m.match_header_only(string_key(SearchKeyKind::kSubject, "KÖLN")));  // ASCII fold
  EXPECT_FALSE(m.match("SUBJECT R3LDvMOfZSBhdXMgS8O2bG4"));  // not the encoded form

  Fixture raw(kRawUtf8);  // raw UTF-8 header (RFC 6532)
  EXPECT_TRUE(raw.match_header_only(string_key(SearchKeyKind::kSubject, "Grüße")));
}

TEST(Matches, EncodedWordsInOtherCharsetsAreConverted) {
  const store::Flags flags;
  const std::string header =
      "Subject: =?ISO-8859-1?Q?Caf=E9?= =?windows-1252?B?gA==?= and\r\n"
      " =?utf-8?q?more?=\r\nX-Koi: =?koi8-r?B?8NLJ?=\r\n\r\n";
  const MatchContext context{.flags = flags, .header_block = header, .bodies = {}};
  EXPECT_TRUE(matches(string_key(SearchKeyKind::kSubject, "café€ and more"), context));
  EXPECT_TRUE(matches(string_key(SearchKeyKind::kHeader, "\xF0\xD2\xC9", "x-koi"), context));
}

TEST(Matches, HeaderKeyMatchesAnyFieldOfThatNameAndEmptyMeansPresent) {
  Fixture m(kMixed);
  EXPECT_TRUE(m.match_header_only(key_of("HEADER X-Tags beta")));
  EXPECT_TRUE(m.match_header_only(key_of("HEADER x-tags \"alpha,\tbeta\"")));
  EXPECT_TRUE(m.match_header_only(key_of("HEADER Received 23:31:00")));
  EXPECT_TRUE(m.match_header_only(key_of("HEADER MESSAGE-ID \"\"")));
  EXPECT_FALSE(m.match_header_only(key_of("HEADER X-Missing \"\"")));
  EXPECT_FALSE(m.match_header_only(key_of("HEADER X-Tags gamma")));

  Fixture raw(kRawUtf8);
  EXPECT_TRUE(raw.match_header_only(key_of("HEADER X-Empty \"\"")));
  EXPECT_FALSE(raw.match_header_only(key_of("HEADER X-Empty x")));
}

TEST(Matches, BodySearchesDecodedTextPartsOnly) {
  Fixture m(kMixed);
  EXPECT_TRUE(m.match("BODY \"soft break\""));  // quoted-printable soft line break
  EXPECT_TRUE(m.match(string_key(SearchKeyKind::kBody, "Grüße AUS")));     // QP-encoded UTF-8
  EXPECT_TRUE(m.match(string_key(SearchKeyKind::kBody, "café au lait")));  // base64 latin-1
  EXPECT_TRUE(m.match("BODY \"hello <b>WORLD\""));                         // HTML with its markup
  EXPECT_TRUE(m.match("BODY \"embedded body\""));  // inside the message/rfc822
  EXPECT_TRUE(m.match("BODY \"original note\""));  // the embedded header is body text
  EXPECT_FALSE(m.match("BODY needle"));            // in the PDF attachment
  EXPECT_FALSE(m.match("BODY K=C3=B6ln"));         // encoded form is not matched
  EXPECT_FALSE(m.match("BODY mx.example.org"));    // top header is not body
  EXPECT_FALSE(m.match_header_only(key_of("BODY \"soft break\"")));
}

TEST(Matches, BodiesThatDoNotFitTheLayoutDoNotMatch) {
  Fixture m(kMixed);
  std::vector<std::string_view> wrong(m.stored.bodies);
  wrong[1] = "soft break";  // body of 2.1, wrong size
  MatchContext context = m.context();
  context.bodies = wrong;
  EXPECT_FALSE(matches(key_of("BODY \"soft break\""), context));
  context.bodies = {};
  EXPECT_FALSE(matches(key_of("BODY Hello"), context));
}

TEST(Matches, TextIsHeaderOrBody) {
  Fixture m(kMixed);
  EXPECT_TRUE(m.match("TEXT mx.example.org"));
  EXPECT_TRUE(m.match(string_key(SearchKeyKind::kText, "from: andré")));
  EXPECT_TRUE(m.match("TEXT \"soft break\""));
  EXPECT_FALSE(m.match("TEXT needle"));
  EXPECT_TRUE(m.match_header_only(key_of("TEXT mx.example.org")));
  EXPECT_FALSE(m.match_header_only(key_of("TEXT \"soft break\"")));
}

TEST(Matches, AndOrNotCombine) {
  Fixture m(kMixed);
  m.flags.system = store::kSeen;
  EXPECT_TRUE(m.match("SEEN FROM andre TO bob"));
  EXPECT_FALSE(m.match("SEEN FROM andre TO dave"));
  EXPECT_TRUE(m.match("OR TO dave TO carol"));
  EXPECT_FALSE(m.match("OR TO dave UNSEEN"));
  EXPECT_TRUE(m.match("NOT (UNSEEN OR TO dave LARGER 1000000)"));
  EXPECT_TRUE(m.match("OR (UNSEEN DELETED) (SEEN SUBJECT k)"));
  EXPECT_FALSE(m.match("NOT ALL"));
}

}  // namespace
}  // namespace post::email
