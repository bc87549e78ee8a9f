#include "plugins/email/store/folder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace post::email::store {
namespace {

using Uids = std::vector<std::uint32_t>;

Insert message(std::uint8_t id, std::uint8_t flags = 0, std::string sender = "") {
  Insert insert;
  insert.message.message_id.fill(id);
  insert.message.size = 100u + id;
  insert.message.internal_date = 1'700'000'000 + id;
  insert.message.sender = std::move(sender);
  insert.flags.system = flags;
  return insert;
}

// A folder fed records at indices 0, 1, 2, ...
class Log {
 public:
  explicit Log(std::uint32_t uidvalidity = 7) : folder(uidvalidity) {}
  StoreStatus append(const MailRecord& record) { return folder.apply(record, next_++); }
  void insert_n(int n, std::uint8_t flags = 0) {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(append(message(static_cast<std::uint8_t>(i), flags)).ok());
  }
  Uids uids() const {
    Uids out;
    for (const Message& m : folder.messages()) out.push_back(m.uid);
    return out;
  }
  Folder folder;

 private:
  std::uint64_t next_ = 0;
};

UidSet set(std::initializer_list<std::uint32_t> uids) {
  return UidSet::of(std::vector<std::uint32_t>(uids));
}

TEST(Folder, StartsEmpty) {
  Folder folder(99);
  EXPECT_EQ(folder.uidvalidity(), 99u);
  EXPECT_EQ(folder.uidnext(), 1u);
  EXPECT_EQ(folder.message_count(), 0u);
  EXPECT_FALSE(folder.last_applied_index());
  EXPECT_FALSE(folder.first_unseen());
  EXPECT_EQ(folder.by_sequence(1), nullptr);
  EXPECT_EQ(folder.by_uid(1), nullptr);
}

TEST(Folder, InsertsTakeUidNextInLogOrder) {
  Log log;
  log.insert_n(3);
  EXPECT_EQ(log.uids(), (Uids{1, 2, 3}));
  EXPECT_EQ(log.folder.uidnext(), 4u);
  EXPECT_EQ(log.folder.last_applied_index(), 2u);
  EXPECT_EQ(log.folder.by_uid(2)->ref.message_id[0], 1);
  EXPECT_EQ(log.folder.by_sequence(3)->uid, 3u);
  EXPECT_EQ(log.folder.by_sequence(3)->ref.size, 102u);
}

TEST(Folder, ReplayGivesTheSameUidsEveryTime) {
  std::vector<MailRecord> records = {message(1),
                                     message(2),
                                     Expunge{set({1})},
                                     message(3),
                                     SetFlags{set({2}), FlagMode::kAdd, Flags{kSeen, {}}},
                                     message(4)};
  Folder first(5), second(5);
  for (std::size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(first.apply(records[i], 10 + 3 * i).ok());
    ASSERT_TRUE(second.apply(records[i], 10 + 3 * i).ok());
  }
  EXPECT_EQ(first, second);
  std::vector<std::uint32_t> uids;
  for (const Message& m : first.messages()) uids.push_back(m.uid);
  EXPECT_EQ(uids, (Uids{2, 3, 4}));
  EXPECT_EQ(first.uidnext(), 5u);  // expunged UIDs are never reused
}

TEST(Folder, RefusesIndicesThatDoNotRise) {
  Log log;
  log.insert_n(2);
  Folder before = log.folder;
  EXPECT_EQ(log.folder.apply(message(9), 1).error().code, StoreErrc::kOutOfOrder);
  EXPECT_EQ(log.folder.apply(message(9), 0).error().code, StoreErrc::kOutOfOrder);
  EXPECT_EQ(log.folder, before);
  EXPECT_TRUE(log.folder.apply(message(9), 100).ok());  // gaps are fine
  EXPECT_EQ(log.folder.last_applied_index(), 100u);
}

TEST(Folder, ConsumesFolderListRecordsWithoutChangingState) {
  Log log;
  log.insert_n(1);
  EXPECT_EQ(log.append(CreateFolder{"x", 3}).error().code, StoreErrc::kNotForThisLog);
  EXPECT_EQ(log.folder.message_count(), 1u);
  EXPECT_EQ(log.folder.last_applied_index(), 1u);
  EXPECT_TRUE(log.append(SnapshotMarker{}).ok());
  EXPECT_EQ(log.folder.last_applied_index(), 2u);
}

TEST(Folder, ReplacesAddsAndRemovesFlags) {
  Log clean;
  clean.insert_n(3);
  ASSERT_TRUE(
      clean.append(SetFlags{set({1, 2}), FlagMode::kAdd, Flags{kSeen | kFlagged, {"a", "b"}}})
          .ok());
  EXPECT_EQ(clean.folder.by_uid(1)->flags, (Flags{kSeen | kFlagged, {"a", "b"}}));
  EXPECT_EQ(clean.folder.by_uid(3)->flags, Flags{});
  EXPECT_EQ(clean.folder.unseen_count(), 1u);

  ASSERT_TRUE(clean.append(SetFlags{set({2, 3}), FlagMode::kAdd, Flags{kAnswered, {"c"}}}).ok());
  EXPECT_EQ(clean.folder.by_uid(2)->flags, (Flags{kSeen | kFlagged | kAnswered, {"a", "b", "c"}}));
  EXPECT_EQ(clean.folder.by_uid(3)->flags, (Flags{kAnswered, {"c"}}));

  ASSERT_TRUE(
      clean.append(SetFlags{set({1, 2, 3}), FlagMode::kRemove, Flags{kSeen, {"b", "zz"}}}).ok());
  EXPECT_EQ(clean.folder.by_uid(1)->flags, (Flags{kFlagged, {"a"}}));
  EXPECT_EQ(clean.folder.by_uid(2)->flags, (Flags{kFlagged | kAnswered, {"a", "c"}}));
  EXPECT_EQ(clean.folder.unseen_count(), 3u);

  ASSERT_TRUE(
      clean.append(SetFlags{set({2}), FlagMode::kReplace, Flags{kDraft | kDeleted, {"d"}}}).ok());
  EXPECT_EQ(clean.folder.by_uid(2)->flags, (Flags{kDraft | kDeleted, {"d"}}));
  EXPECT_EQ(clean.folder.deleted_count(), 1u);
  EXPECT_EQ(clean.folder.first_unseen(), 1u);
  // Every keyword ever set is remembered for FLAGS / PERMANENTFLAGS.
  EXPECT_EQ(clean.folder.keywords(), (std::vector<std::string>{"a", "b", "c", "d"}));

  // UIDs that do not exist are ignored.
  ASSERT_TRUE(clean.append(SetFlags{set({2, 40}), FlagMode::kAdd, Flags{kSeen, {}}}).ok());
  EXPECT_EQ(clean.folder.message_count(), 3u);
  EXPECT_EQ(clean.folder.unseen_count(), 2u);
}

TEST(Folder, RefusesKeywordsPastTheFolderLimit) {
  Log log;
  log.insert_n(1);
  for (std::size_t i = 0; i < kMaxKeywordsPerFolder; i += kMaxKeywordsPerMessage) {
    Flags flags;
    for (std::size_t k = i; k < i + kMaxKeywordsPerMessage; ++k)
      flags.keywords.push_back("k" + std::to_string(10000 + k));
    ASSERT_TRUE(log.append(SetFlags{set({1}), FlagMode::kAdd, flags}).ok());
  }
  EXPECT_EQ(log.folder.keywords().size(), kMaxKeywordsPerFolder);
  Folder before = log.folder;
  EXPECT_EQ(log.append(SetFlags{set({1}), FlagMode::kAdd, Flags{0, {"one-more"}}}).error().code,
            StoreErrc::kTooLarge);
  EXPECT_EQ(log.folder.messages()[0], before.messages()[0]);
  EXPECT_EQ(log.append(Insert{MessageRef{}, Flags{0, {"one-more"}}}).error().code,
            StoreErrc::kTooLarge);
  EXPECT_EQ(log.folder.message_count(), 1u);
  EXPECT_TRUE(log.append(SetFlags{set({1}), FlagMode::kRemove, Flags{0, {"one-more"}}}).ok());
}

TEST(Folder, ExpungeRenumbersSequenceNumbers) {
  Log log;
  log.insert_n(6);
  ASSERT_TRUE(log.append(SetFlags{set({2, 3, 5}), FlagMode::kAdd, Flags{kDeleted, {}}}).ok());
  EXPECT_EQ(log.folder.deleted_uids(), (Uids{2, 3, 5}));
  UidSet doomed = UidSet::of(log.folder.deleted_uids());
  // Sequence numbers 2, 3, 5 reported one after another: 2, 2 (old 3), 3 (old 5).
  EXPECT_EQ(log.folder.expunge_responses(doomed), (Uids{2, 2, 3}));
  ASSERT_TRUE(log.append(Expunge{doomed}).ok());
  EXPECT_EQ(log.uids(), (Uids{1, 4, 6}));
  EXPECT_EQ(log.folder.sequence_of(4), 2u);
  EXPECT_EQ(log.folder.sequence_of(6), 3u);
  EXPECT_EQ(log.folder.sequence_of(5), 0u);
  EXPECT_EQ(log.folder.by_sequence(3)->uid, 6u);
  EXPECT_EQ(log.folder.deleted_count(), 0u);
  EXPECT_EQ(log.folder.unseen_count(), 3u);
  // Expunging UIDs that are gone already changes nothing.
  Folder before = log.folder;
  ASSERT_TRUE(log.append(Expunge{set({2, 3})}).ok());
  EXPECT_EQ(log.folder.messages().size(), before.messages().size());
}

TEST(Folder, CountsUnseenRecentAndFirstUnseen) {
  Log log;
  log.insert_n(2, kSeen);
  log.insert_n(3);
  EXPECT_EQ(log.folder.unseen_count(), 3u);
  EXPECT_EQ(log.folder.first_unseen(), 3u);
  EXPECT_EQ(log.folder.count_from_uid(4), 2u);
  EXPECT_EQ(log.folder.count_from_uid(6), 0u);
  EXPECT_EQ(log.folder.count_from_uid(1), 5u);
}

TEST(Folder, ResolvesMessageNumberSets) {
  Log log;
  log.insert_n(5);
  auto r = log.folder.resolve_sequence_set(std::vector<NumberRange>{{4, kStar}, {1, 1}, {2, 4}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Uids{1, 2, 3, 4, 5}));
  r = log.folder.resolve_sequence_set(std::vector<NumberRange>{{kStar, kStar}});
  EXPECT_EQ(*r, (Uids{5}));
  r = log.folder.resolve_sequence_set(std::vector<NumberRange>{{kStar, 3}});  // "*:3" = 3:5
  EXPECT_EQ(*r, (Uids{3, 4, 5}));
  EXPECT_EQ(log.folder.resolve_sequence_set(std::vector<NumberRange>{{2, 6}}).error().code,
            StoreErrc::kNoSuchMessage);
  Folder empty(1);
  EXPECT_EQ(empty.resolve_sequence_set(std::vector<NumberRange>{{1, kStar}}).error().code,
            StoreErrc::kNoSuchMessage);
}

TEST(Folder, ResolvesUidSetsToExistingMessages) {
  Log log;
  log.insert_n(6);
  ASSERT_TRUE(log.append(Expunge{set({2, 6})}).ok());  // left: 1 3 4 5
  EXPECT_EQ(log.folder.resolve_uid_set(std::vector<NumberRange>{{1, 3}}), (Uids{1, 3}));
  EXPECT_EQ(log.folder.resolve_uid_set(std::vector<NumberRange>{{kStar, kStar}}), (Uids{5}));
  // "UID 100:*" includes the highest UID even though 100 is above it (RFC 3501 6.4.8).
  EXPECT_EQ(log.folder.resolve_uid_set(std::vector<NumberRange>{{100, kStar}}), (Uids{5}));
  EXPECT_EQ(log.folder.resolve_uid_set(std::vector<NumberRange>{{6, 1000}}), Uids{});
  EXPECT_EQ(log.folder.resolve_uid_set(std::vector<NumberRange>{{4, 4}, {1, 4}}), (Uids{1, 3, 4}));
  EXPECT_EQ(log.folder.uid_range(2, 4).size(), 2u);
  EXPECT_EQ(log.folder.uid_range(4, 2).size(), 0u);
  EXPECT_EQ(log.folder.uid_range(1, 0xFFFFFFFFu).size(), 4u);
  Folder empty(1);
  EXPECT_EQ(empty.resolve_uid_set(std::vector<NumberRange>{{1, kStar}}), Uids{});
  // Repeated and overlapping ranges are merged before messages are collected.
  std::vector<NumberRange> repeated(10'000, NumberRange{1, kStar});
  repeated.push_back({3, 3});
  repeated.push_back({0xFFFFFFFFu, 0xFFFFFFFFu});
  EXPECT_EQ(log.folder.resolve_uid_set(repeated), (Uids{1, 3, 4, 5}));
  auto numbers = log.folder.resolve_sequence_set(std::vector<NumberRange>(10'000, {1, kStar}));
  ASSERT_TRUE(numbers.ok());
  EXPECT_EQ(*numbers, (Uids{1, 2, 3, 4}));
}

TEST(Folder, CopyPlanMapsSourceUidsToTargetUids) {
  Log source, target(8);
  source.insert_n(5);
  ASSERT_TRUE(source.append(SetFlags{set({3}), FlagMode::kAdd, Flags{kSeen, {"Work"}}}).ok());
  target.insert_n(2);
  ASSERT_TRUE(target.append(Expunge{set({2})}).ok());  // target UIDNEXT stays 3

  auto plan = plan_copy(source.folder, Uids{5, 3, 9, 3}, target.folder);
  ASSERT_TRUE(plan.ok());
  using Pair = std::pair<std::uint32_t, std::uint32_t>;
  EXPECT_EQ(plan->uid_map, (std::vector<Pair>{{3, 3}, {5, 4}}));
  ASSERT_EQ(plan->inserts.size(), 2u);
  for (const Insert& insert : plan->inserts) ASSERT_TRUE(target.append(insert).ok());
  EXPECT_EQ(target.uids(), (Uids{1, 3, 4}));
  EXPECT_EQ(target.folder.by_uid(3)->flags, (Flags{kSeen, {"Work"}}));
  EXPECT_EQ(target.folder.by_uid(3)->ref, source.folder.by_uid(3)->ref);
  EXPECT_EQ(target.folder.by_uid(4)->ref, source.folder.by_uid(5)->ref);

  // MOVE: the source expunges what was copied.
  EXPECT_EQ(plan->source_expunge.uids, set({3, 5}));
  ASSERT_TRUE(source.append(plan->source_expunge).ok());
  EXPECT_EQ(source.uids(), (Uids{1, 2, 4}));
}

TEST(Folder, CopyPlanCollectsSendersForJunk) {
  Log source, junk(9);
  ASSERT_TRUE(source.append(message(1, 0, "a@x")).ok());
  ASSERT_TRUE(source.append(message(2, 0, "")).ok());
  ASSERT_TRUE(source.append(message(3, 0, "a@x")).ok());
  ASSERT_TRUE(source.append(message(4, 0, "b@y")).ok());
  auto plan = plan_copy(source.folder, Uids{1, 2, 3, 4}, junk.folder);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->senders, (std::vector<std::string>{"a@x", "b@y"}));
  auto nothing = plan_copy(source.folder, Uids{77}, junk.folder);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->inserts.empty());
  EXPECT_TRUE(nothing->source_expunge.uids.empty());
}

}  // namespace
}  // namespace post::email::store
