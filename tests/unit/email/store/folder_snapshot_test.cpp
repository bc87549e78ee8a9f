#include "plugins/email/store/folder_snapshot.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "plugins/email/store/mailbox.h"

namespace post::email::store {
namespace {

constexpr std::uint32_t kSeed = 20261126;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Random folder-log records over a small UID space, so that flag changes and expunges hit
// existing messages often. Every record passes validate().
class RecordGenerator {
 public:
  explicit RecordGenerator(std::uint32_t seed) : rng_(seed) {}

  MailRecord next(std::uint32_t uidnext) {
    switch (below(10)) {
      case 0:
      case 1:
      case 2:
      case 3: return insert();
      case 4:
      case 5:
      case 6: return SetFlags{uids(uidnext), static_cast<FlagMode>(below(3)), flags()};
      case 7:
      case 8: return Expunge{uids(uidnext)};
      default: return SnapshotMarker{below(1000), {}, {}};
    }
  }

 private:
  std::uint32_t below(std::uint32_t n) {
    return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_);
  }

  Flags flags() {
    static const std::vector<std::string> kKeywords = {"$Junk", "$Forwarded", "Work", "todo", "x"};
    Flags out;
    out.system = static_cast<std::uint8_t>(below(32));
    for (const std::string& keyword : kKeywords) {
      if (below(3) == 0) out.keywords.push_back(keyword);
    }
    normalize(out);
    return out;
  }

  Insert insert() {
    Insert out;
    for (auto& b : out.message.message_id) b = static_cast<std::uint8_t>(below(256));
    out.message.size = below(1u << 20);
    out.message.internal_date = static_cast<std::int64_t>(below(2'000'000'000)) - 100'000;
    out.message.sender = below(2) ? "s" + std::to_string(below(5)) + "@example.org" : "";
    // One draw per statement: the order of a call's arguments is the compiler's choice, and
    // the seeds must not depend on it.
    std::uint32_t layout_size = below(40);
    auto layout_byte = static_cast<char>(below(256));
    out.message.layout = std::string(layout_size, layout_byte);
    out.message.parts.resize(below(3));
    for (PartRef& part : out.message.parts) {
      part.handle.fill(static_cast<std::uint8_t>(below(256)));
      part.key.fill(static_cast<std::uint8_t>(below(256)));
    }
    out.flags = flags();
    return out;
  }

  UidSet uids(std::uint32_t uidnext) {
    std::vector<std::uint32_t> picked;
    std::uint32_t n = 1 + below(6);
    for (std::uint32_t i = 0; i < n; ++i) picked.push_back(1 + below(uidnext + 2));
    return UidSet::of(picked);
  }

  std::mt19937 rng_;
};

Folder replay(const std::vector<MailRecord>& records, std::size_t from, Folder folder) {
  for (std::size_t i = from; i < records.size(); ++i) {
    EXPECT_TRUE(folder.apply(records[i], i).ok()) << "record " << i;
  }
  return folder;
}

TEST(FolderSnapshot, RoundTripsAnEmptyFolder) {
  Folder folder(77);
  auto restored = decode_snapshot(encode_snapshot(folder));
  ASSERT_TRUE(restored.ok()) << restored.error().detail;
  EXPECT_EQ(*restored, folder);
}

TEST(FolderSnapshot, SnapshotThenRestEqualsReplayingEverything) {
  for (std::uint32_t round = 0; round < 40; ++round) {
    std::uint32_t seed = kSeed + round;
    SCOPED_TRACE("seed " + std::to_string(seed));
    RecordGenerator generator(seed);
    std::vector<MailRecord> records;
    Folder shadow(3);
    std::size_t count = 50 + seed % 250;
    for (std::size_t i = 0; i < count; ++i) {
      records.push_back(generator.next(shadow.uidnext()));
      ASSERT_TRUE(validate(records.back()).ok());
      // Records travel through the codec, as they do through the log.
      auto decoded = decode(encode(records.back()));
      ASSERT_TRUE(decoded.ok());
      ASSERT_EQ(*decoded, records.back());
      ASSERT_TRUE(shadow.apply(records.back(), i).ok());
    }
    Folder all = replay(records, 0, Folder(3));
    EXPECT_EQ(all, shadow);
    std::mt19937 pick(seed);
    for (int k = 0; k < 5; ++k) {
      std::size_t cut = std::uniform_int_distribution<std::size_t>(0, count)(pick);
      Folder prefix =
          replay(std::vector<MailRecord>(records.begin(), records.begin() + cut), 0, Folder(3));
      auto restored = decode_snapshot(encode_snapshot(prefix));
      ASSERT_TRUE(restored.ok()) << restored.error().detail;
      ASSERT_EQ(*restored, prefix) << "cut " << cut;
      EXPECT_EQ(restored->last_applied_index(), prefix.last_applied_index());
      Folder resumed = replay(records, cut, *restored);
      EXPECT_EQ(resumed, all) << "cut " << cut;
      EXPECT_EQ(encode_snapshot(resumed), encode_snapshot(all));
    }
  }
}

TEST(FolderSnapshot, RestoresAHundredThousandMessages) {
  Folder folder(5);
  Insert insert;
  insert.message.layout = std::string(60, 'L');
  for (std::uint64_t i = 0; i < 100'000; ++i) {
    insert.message.message_id[0] = static_cast<std::uint8_t>(i);
    insert.message.size = static_cast<std::uint32_t>(i);
    insert.flags.system = i % 3 == 0 ? kSeen : 0;
    ASSERT_TRUE(folder.apply(insert, i).ok());
  }
  ASSERT_TRUE(folder.apply(Expunge{UidSet{{{10, 20'000}}}}, 100'000).ok());
  std::string snapshot = encode_snapshot(folder);
  auto restored = decode_snapshot(snapshot);
  ASSERT_TRUE(restored.ok()) << restored.error().detail;
  EXPECT_EQ(*restored, folder);
  EXPECT_EQ(restored->message_count(), 100'000u - 19'991u);
  EXPECT_EQ(restored->uidnext(), 100'001u);
  EXPECT_EQ(restored->unseen_count(), folder.unseen_count());
  EXPECT_EQ(restored->last_applied_index(), 100'000u);
}

TEST(FolderSnapshot, RefusesEveryTruncation) {
  Folder folder(9);
  Insert insert;
  insert.flags.keywords = {"a", "b"};
  insert.message.parts.resize(1);
  ASSERT_TRUE(folder.apply(insert, 0).ok());
  ASSERT_TRUE(folder.apply(insert, 1).ok());
  std::string snapshot = encode_snapshot(folder);
  for (std::size_t cut = 0; cut < snapshot.size(); ++cut) {
    EXPECT_FALSE(decode_snapshot(std::string_view(snapshot).substr(0, cut)).ok()) << cut;
  }
  EXPECT_TRUE(decode_snapshot(snapshot + bytes({2, 'e', 'x'})).ok());  // extension field
  EXPECT_FALSE(decode_snapshot(snapshot + bytes({3, 'e'})).ok());
}

StoreErrc snapshot_error(std::string_view input) {
  auto folder = decode_snapshot(input);
  EXPECT_FALSE(folder.ok()) << "accepted";
  return folder.ok() ? StoreErrc{} : folder.error().code;
}

// Header, UIDVALIDITY 1, UIDNEXT 5, next index 0, then the given keyword table and messages.
std::string snapshot_with(std::initializer_list<int> rest) {
  return bytes({0xE5, 1, 64, 1, 5, 0}) + bytes(rest);
}

// One message body (after UID gap, system flags and keyword indices): id, size 0, date 0,
// no sender, no layout, no parts.
std::string message_body() {
  return std::string(32, '\x11') + bytes({0, 0, 0, 0, 0});
}

TEST(FolderSnapshot, RefusesMalformedSnapshots) {
  EXPECT_EQ(snapshot_error(encode(Expunge{UidSet{{{1, 1}}}})), StoreErrc::kWrongKind);
  EXPECT_EQ(snapshot_error(bytes({0xE6, 1, 64})), StoreErrc::kBadMagic);
  EXPECT_EQ(snapshot_error(bytes({0xE5, 9, 64})), StoreErrc::kUnsupportedVersion);
  EXPECT_EQ(snapshot_error(bytes({0xE5, 1, 64, 1, 0, 0, 0, 0})),
            StoreErrc::kBadValue);  // UIDNEXT 0
  EXPECT_EQ(snapshot_error(bytes({0xE5, 1, 64, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0})),
            StoreErrc::kBadValue);  // UIDNEXT past 32 bits
  EXPECT_EQ(snapshot_error(snapshot_with({2, 1, 'b', 1, 'a', 0})), StoreErrc::kBadKeyword);
  EXPECT_EQ(snapshot_error(snapshot_with({2, 1, 'a', 1, 'a', 0})), StoreErrc::kBadKeyword);
  EXPECT_EQ(snapshot_error(snapshot_with({1, 2, '\\', 'x', 0})), StoreErrc::kBadKeyword);
  EXPECT_EQ(snapshot_error(snapshot_with({0x81, 0x08})), StoreErrc::kBadValue);  // 1025 keywords
  // A count of messages the input cannot hold.
  EXPECT_EQ(snapshot_error(snapshot_with({0, 100, 1, 0, 0})), StoreErrc::kTruncated);
  // UID gap 0, UID not below UIDNEXT, flags out of range, keyword index out of the table.
  EXPECT_EQ(snapshot_error(snapshot_with({0, 1, 0, 0, 0}) + message_body()), StoreErrc::kBadValue);
  EXPECT_EQ(snapshot_error(snapshot_with({0, 1, 5, 0, 0}) + message_body()), StoreErrc::kBadValue);
  // A UID gap so large that adding it would wrap around 64 bits back below UIDNEXT.
  EXPECT_EQ(
      snapshot_error(snapshot_with({0, 2, 2, 0, 0}) + message_body() +
                     bytes({0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0, 0}) +
                     message_body()),
      StoreErrc::kBadValue);
  EXPECT_EQ(snapshot_error(snapshot_with({0, 1, 1, 0x40, 0}) + message_body()),
            StoreErrc::kBadValue);
  EXPECT_EQ(snapshot_error(snapshot_with({1, 1, 'a', 1, 1, 0, 1, 1}) + message_body()),
            StoreErrc::kBadKeyword);
  EXPECT_EQ(snapshot_error(snapshot_with({2, 1, 'a', 1, 'b', 1, 1, 0, 2, 1, 1}) + message_body()),
            StoreErrc::kBadKeyword);  // indices not ascending
  // And a well-formed one, for contrast.
  auto good =
      decode_snapshot(snapshot_with({2, 1, 'a', 1, 'b', 1, 4, kSeen, 2, 0, 1}) + message_body());
  ASSERT_TRUE(good.ok()) << good.error().detail;
  EXPECT_EQ(good->by_uid(4)->flags, (Flags{kSeen, {"a", "b"}}));
  EXPECT_EQ(good->unseen_count(), 0u);
  EXPECT_FALSE(good->last_applied_index());
}

TEST(FolderSnapshot, FolderRefusesInsertsOnceUidsRunOut) {
  // UIDNEXT = kMaxUid = 0xFFFFFFFE, nothing else.
  auto folder = decode_snapshot(bytes({0xE5, 1, 64, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0}));
  ASSERT_TRUE(folder.ok()) << folder.error().detail;
  ASSERT_TRUE(folder->apply(Insert{}, 0).ok());
  EXPECT_EQ(folder->by_sequence(1)->uid, kMaxUid);
  EXPECT_EQ(folder->apply(Insert{}, 1).error().code, StoreErrc::kUidsExhausted);
  EXPECT_EQ(folder->message_count(), 1u);
  EXPECT_EQ(folder->last_applied_index(), 1u);
  EXPECT_EQ(plan_copy(*folder, std::vector<std::uint32_t>{kMaxUid}, *folder).error().code,
            StoreErrc::kUidsExhausted);
}

// The fuzzer's seed corpus (tests/fuzz/corpus/mail_record_fuzz: one file per record kind, a
// snapshot and a record sequence) is what the encoder writes today, so a format change
// cannot leave the fuzzer starting from stale seeds. With POST_DUMP_MAIL_RECORD_CORPUS
// naming a directory, the test writes the seeds there instead (to regenerate them).
TEST(FolderSnapshot, TheFuzzSeedCorpusIsWhatTheEncoderWritesToday) {
  const char* dump_dir = std::getenv("POST_DUMP_MAIL_RECORD_CORPUS");
  RecordGenerator generator(kSeed);
  Folder folder(3);
  std::vector<std::pair<std::string, std::string>> files;
  for (std::size_t i = 0; i < 40; ++i) {
    MailRecord record = generator.next(folder.uidnext());
    ASSERT_TRUE(folder.apply(record, i).ok());
    if (i < 12) files.emplace_back("folder_record_" + std::to_string(i), encode(record));
  }
  files.emplace_back("snapshot", encode_snapshot(folder));
  // The fuzzer's third reading: records each preceded by a 2-byte big-endian length.
  std::string sequence;
  for (const auto& [name, content] : files) {
    if (name.rfind("folder_record_", 0) != 0) continue;
    sequence.push_back(static_cast<char>(content.size() >> 8));
    sequence.push_back(static_cast<char>(content.size() & 0xFF));
    sequence += content;
  }
  files.emplace_back("record_sequence", sequence);
  files.emplace_back("create", encode(CreateFolder{"Archive/2026", 42}));
  files.emplace_back("delete", encode(DeleteFolder{"Old"}));
  files.emplace_back("rename_inbox", encode(RenameFolder{"INBOX", "Old", 43}));
  files.emplace_back("subscribe", encode(Subscribe{"Lists", true}));
  files.emplace_back("block", encode(Block{"spam@example.com", true}));
  for (const auto& [name, content] : files) {
    if (dump_dir != nullptr) {
      std::ofstream out(std::string(dump_dir) + "/" + name, std::ios::binary);
      out << content;
      ASSERT_TRUE(out.good()) << name;
      continue;
    }
    std::ifstream in(std::string(POST_MAIL_RECORD_CORPUS) + "/" + name, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing seed " << name;
    std::string committed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(committed, content) << "seed " << name << " differs from what the encoder writes: "
                                  << "regenerate with POST_DUMP_MAIL_RECORD_CORPUS";
  }
}

}  // namespace
}  // namespace post::email::store
