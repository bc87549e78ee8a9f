#include "plugins/email/imap/imap_sequence.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace post::email {
namespace {

SequenceSet set_of(std::string_view text) {
  auto set = parse_sequence_set(text);
  EXPECT_TRUE(set.ok()) << text << " -> " << set.error().text;
  return set.ok() ? *set : SequenceSet{};
}

TEST(SequenceSet, ParsesNumbersRangesAndStar) {
  EXPECT_EQ(set_of("1").ranges, (std::vector<SequenceRange>{{1, 1}}));
  EXPECT_EQ(set_of("1:*").ranges, (std::vector<SequenceRange>{{1, kSequenceStar}}));
  EXPECT_EQ(set_of("*").ranges, (std::vector<SequenceRange>{{kSequenceStar, kSequenceStar}}));
  EXPECT_EQ(set_of("2,4:7,9,12:*").ranges,
            (std::vector<SequenceRange>{{2, 2}, {4, 7}, {9, 9}, {12, kSequenceStar}}));
  EXPECT_EQ(set_of("4294967295").ranges, (std::vector<SequenceRange>{{4294967295u, 4294967295u}}));
}

TEST(SequenceSet, ReversedRangesAreTheSameRange) {
  EXPECT_EQ(set_of("5:2"), set_of("2:5"));
  EXPECT_EQ(set_of("*:4"), set_of("4:*"));
  EXPECT_EQ(format_sequence_set(set_of("5:2,*:4")), "2:5,4:*");
}

TEST(SequenceSet, RefusesWhatTheGrammarRefuses) {
  for (std::string_view bad : {"", "0", "0:5", "1:0", "01", "1:", ":1", ",", "1,", ",1", "1,,2",
                               "4294967296", "1:2:3", "a", "1 2", "*1", "1-5", "$"}) {
    auto set = parse_sequence_set(bad);
    EXPECT_FALSE(set.ok()) << bad;
    if (!set.ok()) {
      EXPECT_EQ(set.error().code, ImapErrc::kSyntax) << bad;
    }
  }
  EXPECT_EQ(parse_sequence_set("1:").error().text, "Invalid sequence set");
}

TEST(SequenceSet, StarResolvesToTheLargestNumberAtRunTime) {
  SequenceSet set = set_of("2:4,3:6,9,12:*");
  EXPECT_EQ(set.resolve(20), (std::vector<SequenceRange>{{2, 6}, {9, 9}, {12, 20}}));
  // "12:*" with 10 messages is 10:12 (RFC 3501 6.4.8): the last message is included.
  EXPECT_EQ(set.resolve(10), (std::vector<SequenceRange>{{2, 6}, {9, 12}}));
  EXPECT_TRUE(set.contains(10, 10));
  EXPECT_FALSE(set.contains(8, 10));
  EXPECT_FALSE(set.contains(0, 10));
  EXPECT_TRUE(set.uses_star());
  EXPECT_FALSE(set_of("1:5").uses_star());
}

TEST(SequenceSet, StarInAnEmptyMailboxSelectsNothing) {
  EXPECT_TRUE(set_of("*").resolve(0).empty());
  EXPECT_EQ(set_of("1:*").resolve(0), (std::vector<SequenceRange>{{1, 1}}));
  EXPECT_FALSE(set_of("*").contains(1, 0));
}

TEST(SequenceSet, ResolveMergesAdjacentRangesAndHandlesTheTop) {
  EXPECT_EQ(set_of("1:3,4,6:7,5").resolve(100), (std::vector<SequenceRange>{{1, 7}}));
  EXPECT_EQ(set_of("4294967295,1:4294967294").resolve(1),
            (std::vector<SequenceRange>{{1, 4294967295u}}));
}

TEST(SequenceSet, CompressesNumbersForUidplusResponses) {
  std::vector<std::uint32_t> uids = {7, 3, 1, 2, 2, 9, 10, 0};
  EXPECT_EQ(format_sequence_set(sequence_set_from(uids)), "1:3,7,9:10");
  EXPECT_EQ(format_sequence_set(sequence_set_from({})), "");
  std::vector<std::uint32_t> top = {4294967295u, 4294967294u};
  EXPECT_EQ(format_sequence_set(sequence_set_from(top)), "4294967294:4294967295");
}

}  // namespace
}  // namespace post::email
