#include "plugins/email/store/mail_record.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace post::email::store {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

Bytes32 filled(std::uint8_t value) {
  Bytes32 out;
  out.fill(value);
  return out;
}

Insert sample_insert() {
  Insert insert;
  insert.message.message_id = filled(0xAB);
  insert.message.size = 123456;
  insert.message.internal_date = -86400 * 365;  // before 1970
  insert.message.sender = "alice@example.org";
  insert.message.layout = std::string("\x00\x01layout\xFF", 9);
  insert.message.parts = {PartRef{filled(1), filled(2)}, PartRef{filled(3), filled(4)}};
  insert.flags.system = kSeen | kFlagged;
  insert.flags.keywords = {"$Forwarded", "Work"};
  return insert;
}

std::vector<MailRecord> one_of_each() {
  return {
      sample_insert(),
      SetFlags{UidSet{{{1, 3}, {7, 7}, {9, 4000000000u}}}, FlagMode::kAdd, Flags{kDeleted, {"x"}}},
      SetFlags{UidSet{{{5, 5}}}, FlagMode::kRemove, Flags{kSeen, {}}},
      SetFlags{UidSet{{{5, 5}}}, FlagMode::kReplace, Flags{}},
      Expunge{UidSet{{{2, 2}, {4, 10}}}},
      Expunge{UidSet{{{0xFFFFFFFFu, 0xFFFFFFFFu}}}},
      SnapshotMarker{0xFFFFFFFFFFFFFFFFull, filled(7), filled(8)},
      CreateFolder{"Archive/2026", 42},
      DeleteFolder{"Old"},
      RenameFolder{"a", "b/c", 0},
      RenameFolder{"inbox", "Old Inbox", 9},
      Subscribe{"Lists/posts", false},
      Block{"spammer@example.com", true},
  };
}

StoreErrc error_of(std::string_view input) {
  auto record = decode(input);
  EXPECT_FALSE(record.ok()) << "accepted";
  return record.ok() ? StoreErrc{} : record.error().code;
}

TEST(MailRecord, EveryKindRoundTrips) {
  for (const MailRecord& record : one_of_each()) {
    ASSERT_TRUE(validate(record).ok()) << record.index();
    std::string encoded = encode(record);
    auto decoded = decode(encoded);
    ASSERT_TRUE(decoded.ok()) << record.index() << ": " << decoded.error().detail;
    EXPECT_EQ(*decoded, record);
    EXPECT_EQ(encode(*decoded), encoded);
  }
}

TEST(MailRecord, StartsWithMagicVersionAndKind) {
  EXPECT_EQ(encode(Expunge{UidSet{{{2, 2}}}}), bytes({0xE5, 1, 3, 1, 2, 0}));
  EXPECT_EQ(encode(Block{"a@b", false}), bytes({0xE5, 1, 20, 3, 'a', '@', 'b', 0}));
}

TEST(MailRecord, SortsRecordsIntoTheirLogs) {
  for (const MailRecord& record : one_of_each()) {
    bool folder = record.index() <= 3;
    EXPECT_EQ(is_folder_record(record), folder) << record.index();
  }
}

TEST(MailRecord, SkipsExtensionFieldsAfterTheKnownOnes) {
  std::string encoded = encode(Block{"a@b", true});
  encoded += bytes({3, 'n', 'e', 'w', 0});  // a 3-byte field and an empty one
  auto decoded = decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
  EXPECT_EQ(*decoded, MailRecord(Block{"a@b", true}));
  EXPECT_EQ(error_of(encode(Block{"a@b", true}) + bytes({4, 'x'})), StoreErrc::kTruncated);
}

TEST(MailRecord, RefusesEveryTruncation) {
  for (const MailRecord& record : one_of_each()) {
    std::string encoded = encode(record);
    for (std::size_t cut = 0; cut < encoded.size(); ++cut) {
      auto decoded = decode(std::string_view(encoded).substr(0, cut));
      // A cut can only be accepted if it falls where trailing fields start, and none do here.
      EXPECT_FALSE(decoded.ok()) << record.index() << " cut at " << cut;
    }
  }
  EXPECT_EQ(error_of(""), StoreErrc::kTruncated);
  EXPECT_EQ(error_of(bytes({0xE5, 1})), StoreErrc::kTruncated);
}

TEST(MailRecord, RefusesBadHeaders) {
  EXPECT_EQ(error_of(bytes({0xE4, 1, 3, 1, 2, 0})), StoreErrc::kBadMagic);
  EXPECT_EQ(error_of(bytes({0xE5, 0, 3, 1, 2, 0})), StoreErrc::kUnsupportedVersion);
  EXPECT_EQ(error_of(bytes({0xE5, 2, 3, 1, 2, 0})), StoreErrc::kUnsupportedVersion);
  EXPECT_EQ(error_of(bytes({0xE5, 1, 0, 1, 2, 0})), StoreErrc::kUnknownKind);
  EXPECT_EQ(error_of(bytes({0xE5, 1, 5})), StoreErrc::kUnknownKind);
  EXPECT_EQ(error_of(bytes({0xE5, 1, 21})), StoreErrc::kUnknownKind);
  EXPECT_EQ(error_of(bytes({0xE5, 1, 64, 1, 1, 0, 0, 0})), StoreErrc::kWrongKind);
}

TEST(MailRecord, RefusesMalformedVarints) {
  // Expunge whose range count is written overlong (0x81 0x00 is 1 in two bytes).
  EXPECT_EQ(error_of(bytes({0xE5, 1, 3, 0x81, 0x00, 2, 0})), StoreErrc::kBadVarint);
  // Eleven continuation bytes.
  EXPECT_EQ(error_of(bytes(
                {0xE5, 1, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})),
            StoreErrc::kBadVarint);
  // Ten bytes whose last carries bits past 64.
  EXPECT_EQ(
      error_of(bytes({0xE5, 1, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02})),
      StoreErrc::kBadVarint);
  // UIDVALIDITY past 32 bits.
  EXPECT_EQ(error_of(bytes({0xE5, 1, 16, 1, 'a', 0x80, 0x80, 0x80, 0x80, 0x10})),
            StoreErrc::kBadValue);
}

TEST(MailRecord, RefusesOversizedFields) {
  Insert insert = sample_insert();
  insert.message.layout.assign(kMaxLayoutBytes + 1, 'x');
  EXPECT_EQ(validate(insert).error().code, StoreErrc::kTooLarge);
  EXPECT_EQ(error_of(encode(insert)), StoreErrc::kTooLarge);

  insert = sample_insert();
  insert.message.parts.resize(kMaxParts + 1);
  EXPECT_EQ(error_of(encode(insert)), StoreErrc::kTooLarge);

  insert = sample_insert();
  insert.message.sender.assign(kMaxAddressBytes + 1, 'a');
  EXPECT_EQ(error_of(encode(insert)), StoreErrc::kTooLarge);

  insert = sample_insert();
  insert.flags.keywords.clear();
  for (std::size_t i = 0; i <= kMaxKeywordsPerMessage; ++i) {
    insert.flags.keywords.push_back("k" + std::to_string(1000 + i));
  }
  EXPECT_EQ(error_of(encode(insert)), StoreErrc::kTooLarge);

  insert = sample_insert();
  insert.flags.keywords = {std::string(kMaxKeywordBytes + 1, 'k')};
  EXPECT_EQ(error_of(encode(insert)), StoreErrc::kTooLarge);

  Expunge expunge;
  for (std::uint32_t i = 0; i <= kMaxUidRanges; ++i)
    expunge.uids.ranges.push_back({2 * i + 1, 2 * i + 1});
  EXPECT_EQ(validate(expunge).error().code, StoreErrc::kTooLarge);
  EXPECT_EQ(error_of(encode(expunge)), StoreErrc::kTooLarge);

  EXPECT_EQ(error_of(encode(CreateFolder{std::string(kMaxFolderNameBytes + 1, 'a'), 5})),
            StoreErrc::kTooLarge);
  EXPECT_EQ(error_of(encode(Block{std::string(kMaxAddressBytes + 1, 'a'), true})),
            StoreErrc::kTooLarge);

  std::string huge = encode(Block{"a@b", true});
  huge.resize(kMaxRecordBytes + 1, '\0');  // extension fields of length 0, one byte too many
  EXPECT_EQ(error_of(huge), StoreErrc::kTooLarge);
  huge.resize(kMaxRecordBytes);
  EXPECT_TRUE(decode(huge).ok());
}

TEST(MailRecord, RefusesCountsTheInputCannotHold) {
  // An Expunge claiming 4000 ranges in 2 bytes, and an Insert claiming 100 parts in none.
  EXPECT_EQ(error_of(bytes({0xE5, 1, 3, 0xA0, 0x1F, 1, 0})), StoreErrc::kTruncated);
  std::string insert = encode(Insert{});
  insert.resize(insert.size() - 3);  // drop part count, system flags and keyword count
  insert += bytes({100});
  EXPECT_EQ(error_of(insert), StoreErrc::kTruncated);
}

TEST(MailRecord, RefusesValuesOutOfRange) {
  EXPECT_EQ(error_of(encode(SetFlags{UidSet{{{1, 1}}}, FlagMode::kAdd, Flags{0x20, {}}})),
            StoreErrc::kBadValue);
  EXPECT_EQ(error_of(bytes({0xE5, 1, 2, 1, 1, 0, 3, 0, 0})), StoreErrc::kBadValue);  // mode 3
  EXPECT_EQ(error_of(encode(CreateFolder{"a", 0})), StoreErrc::kBadValue);
  EXPECT_EQ(error_of(bytes({0xE5, 1, 19, 1, 'a', 2})), StoreErrc::kBadValue);  // on = 2
  EXPECT_EQ(error_of(bytes({0xE5, 1, 20, 1, 'a', 7})), StoreErrc::kBadValue);  // on = 7
  EXPECT_EQ(error_of(encode(RenameFolder{"INBOX", "x", 0})), StoreErrc::kBadValue);
  EXPECT_EQ(error_of(encode(RenameFolder{"a", "x", 5})), StoreErrc::kBadValue);
  EXPECT_EQ(error_of(encode(Block{"", true})), StoreErrc::kBadValue);
  EXPECT_EQ(error_of(encode(Block{"a b@c", true})), StoreErrc::kBadValue);
  // A message size past 32 bits.
  std::string insert = encode(Insert{});
  std::string big =
      insert.substr(0, 3 + 32) + bytes({0x80, 0x80, 0x80, 0x80, 0x10}) + insert.substr(3 + 32 + 1);
  EXPECT_EQ(error_of(big), StoreErrc::kBadValue);
}

TEST(MailRecord, RefusesBadFolderNames) {
  for (std::string name : {std::string(), std::string("/a"), std::string("a/"), std::string("a//b"),
                           std::string("a\nb"), std::string("a\rb"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(is_valid_folder_name(name)) << name;
    EXPECT_EQ(error_of(encode(CreateFolder{name, 3})), StoreErrc::kBadName) << name;
    EXPECT_EQ(error_of(encode(DeleteFolder{name})), StoreErrc::kBadName) << name;
    EXPECT_EQ(error_of(encode(Subscribe{name, true})), StoreErrc::kBadName) << name;
    EXPECT_EQ(error_of(encode(RenameFolder{"a", name, 0})), StoreErrc::kBadName) << name;
  }
  std::string deep = "a";
  for (std::size_t i = 1; i < kMaxFolderDepth; ++i) deep += "/a";
  EXPECT_TRUE(is_valid_folder_name(deep));
  EXPECT_FALSE(is_valid_folder_name(deep + "/a"));
  EXPECT_TRUE(is_valid_folder_name("Entw\xC3\xBCrfe"));
  EXPECT_TRUE(is_valid_folder_name("&AOQ-"));
}

TEST(MailRecord, RefusesBadKeywords) {
  for (std::string keyword :
       {"\\Seen", "two words", "a(b", "a]", "q\"", "%", "*", "{", "caf\xC3\xA9", ""}) {
    EXPECT_FALSE(is_valid_keyword(keyword)) << keyword;
    Insert insert;
    insert.flags.keywords = {keyword};
    EXPECT_EQ(error_of(encode(insert)), StoreErrc::kBadKeyword) << keyword;
  }
  Insert unsorted;
  unsorted.flags.keywords = {"b", "a"};
  EXPECT_EQ(error_of(encode(unsorted)), StoreErrc::kBadKeyword);
  Insert duplicated;
  duplicated.flags.keywords = {"a", "a"};
  EXPECT_EQ(error_of(encode(duplicated)), StoreErrc::kBadKeyword);
  normalize(unsorted.flags);
  EXPECT_EQ(unsorted.flags.keywords, (std::vector<std::string>{"a", "b"}));
}

TEST(MailRecord, RefusesNonCanonicalUidSets) {
  EXPECT_EQ(error_of(bytes({0xE5, 1, 3, 0})), StoreErrc::kBadUidSet);              // empty
  EXPECT_EQ(error_of(bytes({0xE5, 1, 3, 1, 0, 0})), StoreErrc::kBadUidSet);        // UID 0
  EXPECT_EQ(error_of(bytes({0xE5, 1, 3, 2, 1, 0, 0, 0})), StoreErrc::kBadUidSet);  // 1, 2
  // 4294967295 + 1.
  EXPECT_EQ(error_of(bytes({0xE5, 1, 3, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1})),
            StoreErrc::kBadUidSet);
  EXPECT_EQ(validate(Expunge{UidSet{{{3, 2}}}}).error().code, StoreErrc::kBadUidSet);
  EXPECT_EQ(validate(Expunge{UidSet{{{1, 2}, {3, 4}}}}).error().code, StoreErrc::kBadUidSet);
  EXPECT_EQ(validate(Expunge{UidSet{{{5, 6}, {1, 2}}}}).error().code, StoreErrc::kBadUidSet);
  EXPECT_EQ(validate(Expunge{UidSet{{{0, 2}}}}).error().code, StoreErrc::kBadUidSet);
}

TEST(UidSet, BuildsCanonicalRanges) {
  std::vector<std::uint32_t> uids = {9, 3, 1, 2, 0, 3, 7, 8, 0xFFFFFFFFu};
  UidSet set = UidSet::of(uids);
  EXPECT_EQ(set.ranges, (std::vector<UidRange>{{1, 3}, {7, 9}, {0xFFFFFFFFu, 0xFFFFFFFFu}}));
  EXPECT_EQ(set.count(), 7u);
  EXPECT_TRUE(set.contains(8));
  EXPECT_FALSE(set.contains(4));
  EXPECT_FALSE(set.contains(0));
  EXPECT_TRUE(validate(Expunge{set}).ok());
}

TEST(StoreError, EveryCodeHasItsOwnMessage) {
  std::set<std::string> messages;
  for (int code = static_cast<int>(StoreErrc::kTruncated);
       code <= static_cast<int>(StoreErrc::kNoSuchMessage); ++code) {
    std::error_code error = static_cast<StoreErrc>(code);
    EXPECT_STREQ(error.category().name(), "email-store");
    EXPECT_TRUE(messages.insert(error.message()).second) << code;
  }
  EXPECT_EQ(std::error_code(static_cast<StoreErrc>(999)).message(), "unknown email-store error");
}

TEST(FolderName, FoldsOnlyTheInboxLevel) {
  EXPECT_EQ(canonical_folder_name("inbox"), "INBOX");
  EXPECT_EQ(canonical_folder_name("InBoX/Sub"), "INBOX/Sub");
  EXPECT_EQ(canonical_folder_name("inboxes"), "inboxes");
  EXPECT_EQ(canonical_folder_name("Work/inbox"), "Work/inbox");
  EXPECT_EQ(folder_log_name(42), "folder/42");
}

}  // namespace
}  // namespace post::email::store
