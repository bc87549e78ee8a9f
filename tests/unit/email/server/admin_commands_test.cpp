// The email plugin's operator commands (postctl command email ...) over an in-memory ring.
#include "plugins/email/server/admin_commands.h"

#include <gtest/gtest.h>

#include "tests/unit/email/server/memory_admin_target.h"

namespace post::email {
namespace {

using testing::MemoryAdminTarget;
using testing::MemoryMailIo;

class AdminCommandsTest : public ::testing::Test {
 protected:
  AdminCommandsTest() {
    io_.deferred = true;
    io_.served = {"bob@example.org", "team@example.org"};
  }
  AdminAnswer run(std::vector<std::string> args) {
    std::optional<AdminAnswer> out;
    int answers = 0;
    run_admin_command(target_, args, [&](AdminAnswer a) {
      ++answers;
      out = std::move(a);
    });
    io_.run();
    EXPECT_EQ(answers, 1);
    return out.value_or(AdminAnswer{false, "no answer"});
  }

  MemoryMailIo io_;
  MemoryAdminTarget target_{io_};
};

TEST_F(AdminCommandsTest, BlockAndUnblockChangeTheBlockListOnce) {
  auto a = run({"block", "bob@example.org", "Mallory@Example.org", "eve@example.org"});
  ASSERT_TRUE(a.ok) << a.text;
  EXPECT_EQ(a.text,
            "blocked mallory@example.org for bob@example.org\n"
            "blocked eve@example.org for bob@example.org\n");
  a = run({"block", "bob@example.org", "eve@example.org"});
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.text, "nothing to change\n");
  EXPECT_EQ(io_.log_size("bob@example.org", "folders"), 2u);
  a = run({"blocked", "bob@example.org"});
  ASSERT_TRUE(a.ok) << a.text;
  EXPECT_EQ(a.text, "eve@example.org\nmallory@example.org\n");

  // Another account object (a restarted plugin) reads the same list back from the log.
  MailAccount fresh(io_, "bob@example.org");
  bool opened = false;
  fresh.open([&](IoResult<void> r) { opened = r.ok(); });
  io_.run();
  ASSERT_TRUE(opened);
  EXPECT_TRUE(fresh.mailbox().is_blocked("MALLORY@example.org"));

  a = run({"unblock", "bob@example.org", "mallory@example.org"});
  ASSERT_TRUE(a.ok) << a.text;
  a = run({"blocked", "bob@example.org"});
  EXPECT_EQ(a.text, "eve@example.org\n");

  // A user this node does not serve: POST refuses to read their folders, and the answer says so.
  a = run({"block", "carol@example.org", "eve@example.org"});
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.text.rfind("cannot read carol@example.org's folders: ", 0), 0u) << a.text;
}

TEST_F(AdminCommandsTest, ListsAreChangedAndShownAndBadCommandsGetUsage) {
  auto a = run({"list-members", "team@example.org"});
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.text, "team@example.org is not a mailing list\n");
  a = run({"list-add", "team@example.org", "alice@example.org", "bob@example.org"});
  ASSERT_TRUE(a.ok) << a.text;
  EXPECT_EQ(a.text, "team@example.org has 2 member(s)\nalice@example.org\nbob@example.org\n");
  a = run({"list-remove", "team@example.org", "alice@example.org"});
  ASSERT_TRUE(a.ok) << a.text;
  a = run({"list-members", "Team@example.org"});
  ASSERT_TRUE(a.ok) << a.text;
  EXPECT_EQ(a.text, "bob@example.org\n");
  a = run({"list-add", "other@example.org", "bob@example.org"});
  EXPECT_FALSE(a.ok) << "a list whose keys this node does not hold";

  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"block", "bob@example.org"},
                                             {"block", "bob", "eve@example.org"},
                                             {"blocked"},
                                             {"list-add", "team@example.org"},
                                             {"list-members", "a", "b"}}) {
    a = run(bad);
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.text.rfind("usage: " + bad[0], 0), 0u) << a.text;
  }
  a = run({"block", "bob@example.org", "not-an-address"});
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.text, "not an address: not-an-address\n");
  a = run({"frobnicate"});
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.text.rfind("unknown command frobnicate\n", 0), 0u);
  a = run({"help"});
  EXPECT_TRUE(a.ok);
  EXPECT_NE(a.text.find("list-add LIST ADDRESS..."), std::string::npos);
}

}  // namespace
}  // namespace post::email
