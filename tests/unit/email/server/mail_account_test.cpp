// MailAccount: the one writer of a user's mail logs, and its state rebuilt from them.
#include "plugins/email/server/mail_account.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "plugins/email/mime/gmime_runtime.h"
#include "tests/unit/email/server/memory_mail_io.h"

namespace post::email {
namespace {

using testing::MemoryMailIo;

const std::string kUser = "alice@example.org";

store::Insert insert_of(std::uint8_t n) {
  store::Insert insert;
  insert.message.message_id[0] = n;
  insert.message.size = 10 + n;
  insert.message.layout = "I";
  return insert;
}

TEST(MailAccountTest, AppendsInFlightTogetherApplyInLogOrder) {
  MemoryMailIo io;
  io.deferred = true;
  MailAccount account(io, kUser);
  std::vector<int> finished;
  for (std::uint8_t i = 1; i <= 5; ++i) {
    account.append_to_folder(store::kInitialInboxUidValidity, insert_of(i),
                             [&, i](IoResult<void> r) {
                               ASSERT_TRUE(r.ok());
                               finished.push_back(i);
                             });
  }
  io.run();
  EXPECT_EQ(finished, (std::vector<int>{1, 2, 3, 4, 5}));
  const store::Folder* inbox = account.loaded_folder(store::kInitialInboxUidValidity);
  ASSERT_NE(inbox, nullptr);
  ASSERT_EQ(inbox->message_count(), 5u);
  for (std::uint32_t uid = 1; uid <= 5; ++uid) {
    EXPECT_EQ(inbox->by_uid(uid)->ref.size, 10 + uid);
  }
}

TEST(MailAccountTest, FolderAppendsAreInFlightTogetherAndAnsweredInOrderAfterAFailure) {
  MemoryMailIo io;
  io.deferred = true;
  MailAccount account(io, kUser);
  const std::uint32_t inbox = store::kInitialInboxUidValidity;
  bool opened = false;
  account.open_folder(inbox, [&](IoResult<store::Folder*> r) { opened = r.ok(); });
  io.run();
  ASSERT_TRUE(opened);
  // Four inserts; the log fails the third. All four go to the log before any answer, the
  // answers come newest first, and still each insert is applied and answered in the order
  // made, with the UID it takes known at its answer.
  std::vector<std::pair<int, std::uint32_t>> finished;  // insert, UID (0: failed)
  for (std::uint8_t i = 1; i <= 4; ++i) {
    io.fail_appends = i == 3;
    account.append_to_folder(inbox, insert_of(i), [&, i](IoResult<void> r) {
      finished.emplace_back(i, r.ok() ? account.loaded_folder(inbox)->uidnext() - 1 : 0);
    });
  }
  io.fail_appends = false;
  EXPECT_EQ(io.log_size(kUser, store::folder_log_name(inbox)), 3u) << "three in the log at once";
  EXPECT_TRUE(finished.empty());
  io.run_newest_first();
  EXPECT_EQ(finished, (std::vector<std::pair<int, std::uint32_t>>{{1, 1}, {2, 2}, {3, 0}, {4, 3}}));
  const store::Folder* folder = account.loaded_folder(inbox);
  ASSERT_EQ(folder->message_count(), 3u);
  EXPECT_EQ(folder->by_uid(3)->ref.size, 14u) << "the fourth insert took UID 3";

  // At most kMaxFolderAppendsInFlight wait for the log at once; the rest follow in order.
  const std::size_t before = io.log_size(kUser, store::folder_log_name(inbox));
  int answered = 0;
  for (std::size_t i = 0; i < kMaxFolderAppendsInFlight + 5; ++i) {
    account.append_to_folder(inbox, insert_of(9), [&](IoResult<void> r) { answered += r.ok(); });
  }
  EXPECT_EQ(io.log_size(kUser, store::folder_log_name(inbox)) - before, kMaxFolderAppendsInFlight);
  io.run();
  EXPECT_EQ(answered, static_cast<int>(kMaxFolderAppendsInFlight + 5));
  EXPECT_EQ(account.loaded_folder(inbox)->message_count(), 3u + kMaxFolderAppendsInFlight + 5);
}

TEST(MailAccountTest, AnAppendStartedFromACompletionIsAppendedOnceInOrder) {
  // A session runs its next command from the completion of the previous one; with a ring that
  // answers at once that re-enters the account (found by imap_session_fuzz).
  for (bool deferred : {false, true}) {
    MemoryMailIo io;
    io.deferred = deferred;
    MailAccount account(io, kUser);
    std::vector<int> finished;
    account.append_to_folder(1, insert_of(1), [&](IoResult<void> r) {
      ASSERT_TRUE(r.ok());
      finished.push_back(1);
      account.append_to_folder(1, insert_of(2), [&](IoResult<void> r2) {
        ASSERT_TRUE(r2.ok());
        finished.push_back(2);
      });
      account.append_to_list(store::DeleteFolder{"Nowhere"}, [&](IoResult<void> r3) {
        EXPECT_FALSE(r3.ok());
        finished.push_back(3);
        account.append_to_folder(1, insert_of(4), [&](IoResult<void>) { finished.push_back(4); });
      });
    });
    io.run();
    // Each callback once; 4 was asked for by 3. (With an immediate ring 2 completes before 3
    // is asked for; with a deferred one 3, refused at once, comes first.)
    std::vector<int> sorted = finished;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int>{1, 2, 3, 4})) << "deferred " << deferred;
    EXPECT_EQ(finished.front(), 1);
    EXPECT_EQ(finished.back(), 4);
    EXPECT_EQ(io.log_size(kUser, store::folder_log_name(1)), 3u);
    EXPECT_EQ(account.loaded_folder(1)->message_count(), 3u);
  }
}

TEST(MailAccountTest, AFreshAccountRebuildsLargeFoldersPageByPageAndSkipsGarbage) {
  MemoryMailIo io;
  {
    MailAccount writer(io, kUser);
    for (int i = 0; i < 2500; ++i) {
      writer.append_to_folder(store::kInitialInboxUidValidity,
                              insert_of(static_cast<std::uint8_t>(i)), [](IoResult<void>) {});
    }
  }
  // Bytes that are not a record (a bug elsewhere, or a record of a later version).
  io.append_log(kUser, store::folder_log_name(1), "not a record", [](IoResult<std::uint64_t>) {});
  MailAccount reader(io, kUser);
  store::Folder* folder = nullptr;
  reader.open_folder(1, [&](IoResult<store::Folder*> f) {
    ASSERT_TRUE(f.ok());
    folder = *f;
  });
  ASSERT_NE(folder, nullptr);
  EXPECT_EQ(folder->message_count(), 2500u);
  EXPECT_EQ(folder->last_applied_index(), 2500u);
  // Later records still apply after the garbage.
  bool done = false;
  reader.append_to_folder(1, insert_of(7), [&](IoResult<void> r) { done = r.ok(); });
  EXPECT_TRUE(done);
  EXPECT_EQ(folder->uidnext(), 2502u);
}

TEST(MailAccountTest, ALargeFolderOpensFromItsSnapshotAndTheRecordsAfterIt) {
  MemoryMailIo io;
  std::string log = store::folder_log_name(1);
  {
    MailAccount writer(io, kUser);
    for (int i = 0; i < 2500; ++i) {
      writer.append_to_folder(1, insert_of(static_cast<std::uint8_t>(i)), [](IoResult<void>) {});
    }
    store::SetFlags seen;
    seen.uids = store::UidSet::of(std::vector<std::uint32_t>{7, 2001});
    seen.mode = store::FlagMode::kAdd;
    seen.flags.system = store::kSeen;
    writer.append_to_folder(1, seen, [](IoResult<void>) {});
  }
  // Snapshots after 1000 and 2000 records.
  EXPECT_EQ(io.log_size(kUser, snapshot_log_name(1)), 2u);
  auto open = [&](MemoryMailIo& from) {
    MailAccount reader(from, kUser);
    std::optional<store::Folder> folder;
    reader.open_folder(1, [&](IoResult<store::Folder*> f) {
      ASSERT_TRUE(f.ok());
      folder = **f;
    });
    return folder;
  };
  io.records_read.clear();
  auto restored = open(io);
  ASSERT_TRUE(restored);
  EXPECT_EQ(io.records_read[log], 501u);  // after the snapshot covering index 1999
  EXPECT_EQ(restored->message_count(), 2500u);
  EXPECT_TRUE(restored->by_uid(7)->flags.has(store::kSeen));
  EXPECT_TRUE(restored->by_uid(2001)->flags.has(store::kSeen));
  EXPECT_EQ(restored->uidnext(), 2501u);

  // The same state as replaying the whole log, which is what a damaged snapshot falls back to.
  io.damage_content();
  io.records_read.clear();
  auto replayed = open(io);
  ASSERT_TRUE(replayed);
  EXPECT_EQ(io.records_read[log], 2501u);
  EXPECT_EQ(*replayed, *restored);
}

TEST(MailAccountTest, GarbageInTheFolderListIsSkippedWithoutChangingIt) {
  MemoryMailIo io;
  io.append_log(kUser, "folders", "not a record", [](IoResult<std::uint64_t>) {});
  MailAccount account(io, kUser);
  bool opened = false;
  account.open([&](IoResult<void> r) { opened = r.ok(); });
  ASSERT_TRUE(opened);
  EXPECT_TRUE(account.mailbox().subscriptions().empty());
  EXPECT_EQ(account.mailbox().last_applied_index(), 0u);
  bool created = false;
  account.append_to_list(store::CreateFolder{"Work", 2},
                         [&](IoResult<void> r) { created = r.ok(); });
  EXPECT_TRUE(created);
  EXPECT_TRUE(account.mailbox().exists("Work"));
}

TEST(MailAccountTest, ARecordTheStateRefusesIsNotAppended) {
  MemoryMailIo io;
  MailAccount account(io, kUser);
  std::optional<IoError> error;
  account.append_to_list(store::DeleteFolder{"Nowhere"}, [&](IoResult<void> r) {
    ASSERT_FALSE(r.ok());
    error = r.error();
  });
  ASSERT_TRUE(error);
  EXPECT_FALSE(error->temporary);
  EXPECT_EQ(io.log_size(kUser, "folders"), 0u);
}

TEST(MailAccountTest, WatchersHearOfChangesToTheirFolderOnly) {
  MemoryMailIo io;
  MailAccount account(io, kUser);
  int inbox = 0, other = 0;
  int w1 = account.watch(1, [&] { ++inbox; });
  account.watch(2, [&] { ++other; });
  account.append_to_folder(1, insert_of(1), [](IoResult<void>) {});
  EXPECT_EQ(inbox, 1);
  EXPECT_EQ(other, 0);
  account.unwatch(w1);
  account.append_to_folder(1, insert_of(2), [](IoResult<void>) {});
  EXPECT_EQ(inbox, 1);
}

TEST(StoredMessageTest, BodiesArePaddedToBucketsAndBack) {
  for (std::size_t n : {0u, 1u, 1020u, 1021u, 5000u, 65532u, 65533u, 200000u}) {
    std::string body(n, 'b');
    std::string stored = pad_body(body);
    std::size_t expected = n + 4 <= 1024    ? 1024
                           : n + 4 <= 2048  ? 2048
                           : n + 4 <= 8192  ? 8192
                           : n + 4 <= 65536 ? 65536
                                            : (n + 4 + 16383) / 16384 * 16384;
    EXPECT_EQ(stored.size(), expected) << n;
    EXPECT_EQ(unpad_body(stored), body) << n;
  }
  EXPECT_FALSE(unpad_body("abc"));
  // Says 9 bytes, holds 3.
  EXPECT_FALSE(unpad_body(std::string({'\x09', '\0', '\0', '\0', 'a', 'b', 'c'})));
}

TEST(StoredMessageTest, TheSameAttachmentIsStoredAsTheSameObject) {
  ASSERT_TRUE(ensure_gmime_initialised().ok());
  MemoryMailIo io;
  auto message = [](const std::string& to) {
    return "From: a@example.org\r\nTo: " + to +
           "\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
           "Content-Type: text/plain\r\n\r\nhello " +
           to +
           "\r\n--b\r\nContent-Type: application/octet-stream\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nQUJDREVGR0g=\r\n--b--\r\n";
  };
  std::vector<StoredMessage> stored;
  for (const char* to : {"b@example.org", "c@example.org", "d@example.org"}) {
    store_message(io, message(to), [&](IoResult<StoredMessage> r) {
      ASSERT_TRUE(r.ok());
      stored.push_back(*r);
    });
  }
  ASSERT_EQ(stored.size(), 3u);
  // Three different text parts, one attachment; layouts inline.
  EXPECT_EQ(io.stored_objects(), 4u);
  EXPECT_EQ(stored[0].ref.parts[1], stored[2].ref.parts[1]);
  // And each reads back byte for byte.
  MessageLoader loader(io);
  loader.load(stored[1].ref, true, [&](IoResult<std::shared_ptr<const LoadedMessage>> r) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*(*r)->message, message("c@example.org"));
    EXPECT_EQ((*r)->envelope.subject, "x");
  });
}

}  // namespace
}  // namespace post::email
