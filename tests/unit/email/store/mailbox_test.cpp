#include "plugins/email/store/mailbox.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace post::email::store {
namespace {

class FolderList {
 public:
  StoreStatus append(const MailRecord& record) { return mailbox.apply(record, next_++); }
  StoreErrc refusal(const MailRecord& record) {
    Mailbox before = mailbox;
    auto status = append(record);
    EXPECT_FALSE(status.ok());
    // Refused records change nothing but the index.
    EXPECT_EQ(mailbox.folders(), before.folders());
    EXPECT_EQ(mailbox.next_uidvalidity(), before.next_uidvalidity());
    return status.ok() ? StoreErrc{} : status.error().code;
  }
  Mailbox mailbox;

 private:
  std::uint64_t next_ = 0;
};

using Folders = std::map<std::string, std::uint32_t>;

TEST(Mailbox, StartsWithInboxOnly) {
  Mailbox mailbox;
  EXPECT_EQ(mailbox.folders(), (Folders{{"INBOX", kInitialInboxUidValidity}}));
  EXPECT_EQ(mailbox.uidvalidity("inbox"), kInitialInboxUidValidity);
  EXPECT_EQ(mailbox.next_uidvalidity(), kInitialInboxUidValidity + 1);
  EXPECT_FALSE(mailbox.last_applied_index());
  EXPECT_TRUE(mailbox.subscriptions().empty());
}

TEST(Mailbox, CreatesFoldersUnderRisingUidValidity) {
  FolderList list;
  ASSERT_TRUE(list.append(CreateFolder{"Sent", 2}).ok());
  ASSERT_TRUE(list.append(CreateFolder{"Archive/2026", 10}).ok());
  EXPECT_EQ(list.mailbox.next_uidvalidity(), 11u);
  EXPECT_EQ(list.mailbox.uidvalidity("Archive/2026"), 10u);
  EXPECT_FALSE(list.mailbox.exists("Archive"));  // superiors are not created
  EXPECT_TRUE(list.mailbox.has_inferiors("Archive"));
  EXPECT_FALSE(list.mailbox.has_inferiors("Sent"));
  EXPECT_EQ(list.refusal(CreateFolder{"Sent", 11}), StoreErrc::kFolderExists);
  EXPECT_EQ(list.refusal(CreateFolder{"inBOX", 12}), StoreErrc::kFolderExists);
  EXPECT_EQ(list.refusal(CreateFolder{"Drafts", 10}), StoreErrc::kStaleUidValidity);
  EXPECT_EQ(list.refusal(CreateFolder{"Drafts", 3}), StoreErrc::kStaleUidValidity);
  ASSERT_TRUE(list.append(CreateFolder{"inbox/Lists", 11}).ok());
  EXPECT_TRUE(list.mailbox.exists("INBOX/Lists"));
  EXPECT_EQ(list.mailbox.last_applied_index(), 6u);
}

TEST(Mailbox, DeletesOneNameButNeverInbox) {
  FolderList list;
  ASSERT_TRUE(list.append(CreateFolder{"a", 2}).ok());
  ASSERT_TRUE(list.append(CreateFolder{"a/b", 3}).ok());
  ASSERT_TRUE(list.append(DeleteFolder{"a"}).ok());
  EXPECT_EQ(list.mailbox.folders(), (Folders{{"INBOX", 1}, {"a/b", 3}}));
  EXPECT_EQ(list.refusal(DeleteFolder{"a"}), StoreErrc::kNoSuchFolder);
  EXPECT_EQ(list.refusal(DeleteFolder{"Inbox"}), StoreErrc::kInboxIsPermanent);
  // A name deleted and created again gets a new UIDVALIDITY, and so a new log.
  ASSERT_TRUE(list.append(CreateFolder{"a", list.mailbox.next_uidvalidity()}).ok());
  EXPECT_EQ(list.mailbox.uidvalidity("a"), 4u);
  EXPECT_NE(folder_log_name(4), folder_log_name(2));
}

TEST(Mailbox, RenamesAFolderWithItsInferiors) {
  FolderList list;
  ASSERT_TRUE(list.append(CreateFolder{"a", 2}).ok());
  ASSERT_TRUE(list.append(CreateFolder{"a/b", 3}).ok());
  ASSERT_TRUE(list.append(CreateFolder{"a/b/c", 4}).ok());
  ASSERT_TRUE(list.append(CreateFolder{"a-z", 5}).ok());
  ASSERT_TRUE(list.append(RenameFolder{"a", "x/y", 0}).ok());
  EXPECT_EQ(list.mailbox.folders(),
            (Folders{{"INBOX", 1}, {"a-z", 5}, {"x/y", 2}, {"x/y/b", 3}, {"x/y/b/c", 4}}));
  EXPECT_EQ(list.refusal(RenameFolder{"a", "q", 0}), StoreErrc::kNoSuchFolder);
  EXPECT_EQ(list.refusal(RenameFolder{"x/y", "a-z", 0}), StoreErrc::kFolderExists);
  EXPECT_EQ(list.refusal(RenameFolder{"x/y", "x/y/b/new", 0}), StoreErrc::kBadName);
  ASSERT_TRUE(list.append(CreateFolder{"m/b", 6}).ok());
  EXPECT_EQ(list.refusal(RenameFolder{"x/y", "m", 0}), StoreErrc::kFolderExists);  // m/b
  EXPECT_EQ(list.mailbox.next_uidvalidity(), 7u);
}

TEST(Mailbox, RenamingInboxHandsItsLogToTheNewNameAndStartsAFreshInbox) {
  FolderList list;
  ASSERT_TRUE(list.append(CreateFolder{"INBOX/kept", 2}).ok());
  ASSERT_TRUE(list.append(RenameFolder{"inbox", "Old", 3}).ok());
  // Old has INBOX's former messages (its log, folder_log_name(1)); INBOX starts empty.
  EXPECT_EQ(list.mailbox.folders(), (Folders{{"INBOX", 3}, {"INBOX/kept", 2}, {"Old", 1}}));
  EXPECT_EQ(list.mailbox.next_uidvalidity(), 4u);
  EXPECT_EQ(list.refusal(RenameFolder{"INBOX", "Older", 3}), StoreErrc::kStaleUidValidity);
  EXPECT_EQ(list.refusal(RenameFolder{"INBOX", "Old", 9}), StoreErrc::kFolderExists);
  // Renaming another folder onto INBOX is refused: INBOX always exists.
  EXPECT_EQ(list.refusal(RenameFolder{"Old", "inbox", 0}), StoreErrc::kFolderExists);
}

TEST(Mailbox, SubscribesNamesThatNeedNotExist) {
  FolderList list;
  ASSERT_TRUE(list.append(Subscribe{"inbox", true}).ok());
  ASSERT_TRUE(list.append(Subscribe{"Later", true}).ok());
  EXPECT_TRUE(list.mailbox.subscribed("INBOX"));
  EXPECT_TRUE(list.mailbox.subscribed("Later"));
  EXPECT_FALSE(list.mailbox.exists("Later"));
  ASSERT_TRUE(list.append(Subscribe{"Later", false}).ok());
  ASSERT_TRUE(list.append(Subscribe{"Never", false}).ok());
  EXPECT_EQ(list.mailbox.subscriptions(), (std::set<std::string>{"INBOX"}));
}

TEST(Mailbox, KeepsABlockListIgnoringAsciiCase) {
  FolderList list;
  ASSERT_TRUE(list.append(Block{"Spammer@Example.COM", true}).ok());
  EXPECT_TRUE(list.mailbox.is_blocked("spammer@example.com"));
  EXPECT_TRUE(list.mailbox.is_blocked("SPAMMER@EXAMPLE.COM"));
  EXPECT_FALSE(list.mailbox.is_blocked("friend@example.com"));
  ASSERT_TRUE(list.append(Block{"SPAMMER@example.com", false}).ok());
  EXPECT_FALSE(list.mailbox.is_blocked("spammer@example.com"));
  EXPECT_TRUE(list.mailbox.blocked().empty());
}

TEST(Mailbox, ConsumesFolderRecordsAndRefusesFallingIndices) {
  FolderList list;
  EXPECT_EQ(list.refusal(Expunge{UidSet{{{1, 1}}}}), StoreErrc::kNotForThisLog);
  EXPECT_EQ(list.mailbox.last_applied_index(), 0u);
  EXPECT_EQ(list.mailbox.apply(CreateFolder{"a", 5}, 0).error().code, StoreErrc::kOutOfOrder);
  EXPECT_FALSE(list.mailbox.exists("a"));
}

}  // namespace
}  // namespace post::email::store
