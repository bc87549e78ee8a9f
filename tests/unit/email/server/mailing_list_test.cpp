// Mailing lists: the members log's records, and ListDirectory over an in-memory ring where the
// maintainer's node changes a list and another node reads it through the shared log.
#include "plugins/email/server/mailing_list.h"

#include <gtest/gtest.h>

#include "tests/unit/email/server/memory_mail_io.h"

namespace post::email {
namespace {

using testing::MemoryMailIo;
using Names = std::vector<std::string>;

TEST(MailingListRecords, RoundTripAndRefuseWhatIsNoChange) {
  MemberChange join{"carol@example.org", true};
  EXPECT_EQ(encode_member_change(join), "+carol@example.org");
  EXPECT_EQ(decode_member_change("+carol@example.org"), join);
  EXPECT_EQ(decode_member_change("-Carol@Example.ORG"), (MemberChange{"carol@example.org", false}));
  for (std::string_view bad : {"", "+", "carol@example.org", "*carol@example.org", "+carol",
                               "+@example.org", "+carol@", "+a@b@c", "+carol @example.org",
                               "+carol@example.org\n", "+<carol@example.org>"}) {
    EXPECT_FALSE(decode_member_change(bad)) << bad;
  }
  EXPECT_FALSE(plausible_address(std::string(250, 'a') + "@b.cd"));

  Names members;
  EXPECT_TRUE(apply_member_changes(members, {{"a@x", true}, {"b@x", true}, {"a@x", true},
                                             {"c@x", false}, {"a@x", false}, {"a@x", true}}));
  EXPECT_EQ(members, (Names{"b@x", "a@x"}));
  Names full;
  for (std::size_t i = 0; i < kMaxListMembers; ++i) full.push_back(std::to_string(i) + "@x");
  EXPECT_FALSE(apply_member_changes(full, {{"one-more@x", true}}));
  EXPECT_EQ(full.size(), kMaxListMembers);
}

class ListDirectoryTest : public ::testing::Test {
 protected:
  ListDirectoryTest() {
    io_.deferred = true;
    io_.served = {"team@example.org", "alice@example.org"};
  }

  IoResult<ListDirectory::Members> members(ListDirectory& d, const std::string& address) {
    std::optional<IoResult<ListDirectory::Members>> out;
    d.members(address, [&](IoResult<ListDirectory::Members> r) { out.emplace(std::move(r)); });
    io_.run();
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : IoResult<ListDirectory::Members>(IoError{"no answer"});
  }
  IoResult<Names> change(ListDirectory& d, const std::string& list,
                         std::vector<MemberChange> changes) {
    std::optional<IoResult<Names>> out;
    d.change(list, std::move(changes), [&](IoResult<Names> r) { out.emplace(std::move(r)); });
    io_.run();
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : IoResult<Names>(IoError{"no answer"});
  }

  MemoryMailIo io_;
  std::int64_t now_ = 1'000'000;
  ListDirectory maintainer_{io_, [this] { return now_; }};
  ListDirectory elsewhere_{io_, [this] { return now_; }};
};

TEST_F(ListDirectoryTest, TheMaintainerChangesAListAndOtherNodesReadItWithinTheCacheTime) {
  // Not a list yet: a user of this node with no members log, another node's user who shared
  // nothing.
  auto none = members(maintainer_, "alice@example.org");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
  auto unshared = members(elsewhere_, "bob@example.org");
  ASSERT_TRUE(unshared.ok()) << unshared.error().message;
  EXPECT_FALSE(unshared->has_value());

  auto after = change(maintainer_, "Team@Example.org",
                      {{"Carol@example.org", true}, {"dave@example.org", true},
                       {"carol@example.org", true}, {"nobody@example.org", false}});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(*after, (Names{"carol@example.org", "dave@example.org"}));
  EXPECT_EQ(io_.log_size("team@example.org", std::string(kListMembersLog)), 2u)
      << "only the records that change something";

  io_.served = {"alice@example.org"};  // from here on: a node that does not hold team's keys
  auto seen = members(elsewhere_, "team@example.org");
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ(**seen, (Names{"carol@example.org", "dave@example.org"}));

  // Only the node holding the list's keys changes it.
  auto refused = change(elsewhere_, "team@example.org", {{"mallory@example.org", true}});
  EXPECT_FALSE(refused.ok());

  io_.served = {"team@example.org", "alice@example.org"};
  after = change(maintainer_, "team@example.org",
                 {{"carol@example.org", false}, {"erin@example.org", true}});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(*after, (Names{"dave@example.org", "erin@example.org"}));

  io_.served = {"alice@example.org"};
  now_ += kListCacheMs - 1;
  seen = members(elsewhere_, "team@example.org");
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ(**seen, (Names{"carol@example.org", "dave@example.org"})) << "cached";
  now_ += 1;
  seen = members(elsewhere_, "team@example.org");
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ(**seen, (Names{"dave@example.org", "erin@example.org"})) << "read again";

  // A list whose members all left is still a list (with nobody on it).
  io_.served = {"team@example.org"};
  after = change(maintainer_, "team@example.org",
                 {{"dave@example.org", false}, {"erin@example.org", false}});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_TRUE(after->empty());
  auto empty = members(maintainer_, "team@example.org");
  ASSERT_TRUE(empty.ok() && empty->has_value());
  EXPECT_TRUE((*empty)->empty());
}

TEST_F(ListDirectoryTest, BadAddressesAndGarbageRecordsAndUnreadableLogs) {
  EXPECT_FALSE(change(maintainer_, "team", {{"carol@example.org", true}}).ok());
  EXPECT_FALSE(change(maintainer_, "team@example.org", {{"carol", true}}).ok());
  EXPECT_EQ(io_.log_size("team@example.org", std::string(kListMembersLog)), 0u);

  // A record that does not decode is skipped.
  io_.append_log("team@example.org", std::string(kListMembersLog), "garbage",
                 [](IoResult<std::uint64_t>) {});
  io_.append_log("team@example.org", std::string(kListMembersLog), "+carol@example.org",
                 [](IoResult<std::uint64_t>) {});
  io_.run();
  auto seen = members(maintainer_, "team@example.org");
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ(**seen, (Names{"carol@example.org"}));
}

TEST_F(ListDirectoryTest, AReadThatFailsOnALaterPageLosesNothingOfTheEarlierOnes) {
  const std::size_t count = kLogReadPage + 6;
  for (std::size_t i = 0; i < count; ++i) {
    io_.append_log("team@example.org", std::string(kListMembersLog),
                   "+m" + std::to_string(i) + "@example.org", [](IoResult<std::uint64_t>) {});
  }
  io_.run();
  io_.reads_before_failure = 1;  // the first page reads, the second fails
  auto failed = members(elsewhere_, "team@example.org");
  EXPECT_FALSE(failed.ok());
  auto seen = members(elsewhere_, "team@example.org");
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ((*seen)->size(), count);
  EXPECT_EQ((*seen)->front(), "m0@example.org");
}

}  // namespace
}  // namespace post::email
