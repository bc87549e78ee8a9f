// The IMAP server engine end to end over an in-memory ring: real commands in, the exact
// responses out, mail state in logs that a fresh account reads back.
#include "plugins/email/server/imap_session.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "plugins/email/mime/gmime_runtime.h"
#include "tests/unit/email/server/memory_mail_io.h"

namespace post::email {
namespace {

using testing::MemoryMailIo;

const std::string kPlain =
    "From: Bob <bob@example.org>\r\n"
    "To: Alice <alice@example.org>\r\n"
    "Subject: lunch\r\n"
    "Date: Thu, 26 Nov 2026 08:00:00 +0000\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "\r\n"
    "Shall we have lunch at noon?\r\n";

const std::string kMultipart =
    "From: Carol <carol@example.org>\r\n"
    "To: alice@example.org\r\n"
    "Subject: report\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "The report is attached.\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"r.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
    "\r\n"
    "JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
    "--b1--\r\n";

class Services : public ImapServices {
 public:
  explicit Services(MemoryMailIo& io) : io_(io), loader_(io) {}
  bool check_password(const std::string& user, const std::string& password) override {
    auto it = passwords.find(user);
    return it != passwords.end() && it->second == password;
  }
  MailAccount* account(const std::string& user) override {
    if (!passwords.contains(user)) return nullptr;
    auto& a = accounts[user];
    if (!a) a = std::make_unique<MailAccount>(io_, user);
    return a.get();
  }
  MessageLoader& loader() override { return loader_; }
  MailIo& io() override { return io_; }
  void log_warning(const std::string& text) override { warnings.push_back(text); }

  std::map<std::string, std::string> passwords{{"alice@example.org", "secret"},
                                               {"bob@example.org", "hunter2"}};
  std::map<std::string, std::unique_ptr<MailAccount>> accounts;
  std::vector<std::string> warnings;

 private:
  MemoryMailIo& io_;
  MessageLoader loader_;
};

// One client connection.
class Client {
 public:
  Client(Services& services, MemoryMailIo& io, bool loopback = true, bool tls = false) : io_(io) {
    ImapSessionOptions options;
    options.hostname = "node1.example.org";
    options.loopback = loopback;
    options.tls_available = tls;
    session_ = std::make_unique<ImapSession>(services, options);
    session_->set_wake([this] { ++wakes; });
    session_->set_start_tls([this] { ++tls_requests; });
    session_->start();
    greeting = session_->take_output();
  }
  // Sends `bytes`, lets the ring answer everything, and gives the server's output.
  std::string say(std::string_view bytes) {
    session_->feed(bytes);
    io_.run();
    return session_->take_output();
  }
  std::string output() {
    io_.run();
    return session_->take_output();
  }
  ImapSession& session() { return *session_; }

  std::string greeting;
  int wakes = 0;
  int tls_requests = 0;

 private:
  MemoryMailIo& io_;
  std::unique_ptr<ImapSession> session_;
};

class ImapSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ensure_gmime_initialised().ok()); }

  // Delivers `message` to `user`'s INBOX the way the plugin does: stored, then inserted.
  // With `verified`, as the plugin files a notification: behind the verified-sender header.
  void deliver(const std::string& user, const std::string& message, std::string sender = "",
               bool verified = false) {
    MailAccount* account = services.account(user);
    ASSERT_NE(account, nullptr);
    bool done = false;
    store_message(io, message, [&](IoResult<StoredMessage> stored) {
      ASSERT_TRUE(stored.ok()) << stored.error().message;
      store::Insert insert;
      insert.message = stored->ref;
      if (verified) {
        auto layout = verified_sender_layout(sender, stored->ref.layout);
        ASSERT_TRUE(layout);
        insert.message.layout = *layout;
        insert.message.size += static_cast<std::uint32_t>(verified_sender_header(sender).size());
      }
      insert.message.internal_date = 1795680000;  // 2026-11-26 08:00:00 UTC
      insert.message.sender = sender;
      account->append_to_folder(store::kInitialInboxUidValidity, insert, [&](IoResult<void> r) {
        ASSERT_TRUE(r.ok()) << r.error().message;
        done = true;
      });
    });
    io.run();
    ASSERT_TRUE(done);
  }

  MemoryMailIo io;
  Services services{io};
};

TEST_F(ImapSessionTest, GreetsLogsInAndSelectsAnEmptyInbox) {
  Client c(services, io);
  EXPECT_EQ(c.greeting,
            "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE "
            "UNSELECT SPECIAL-USE AUTH=PLAIN] node1.example.org ePOST IMAP ready\r\n");
  EXPECT_EQ(c.say("a1 LOGIN alice@example.org secret\r\n"),
            "a1 OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE "
            "UNSELECT SPECIAL-USE] Logged in\r\n");
  EXPECT_EQ(c.say("a2 SELECT inbox\r\n"),
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n"
            "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] Flags "
            "permitted\r\n"
            "* 0 EXISTS\r\n"
            "* 0 RECENT\r\n"
            "* OK [UIDVALIDITY 1] UIDs valid\r\n"
            "* OK [UIDNEXT 1] Predicted next UID\r\n"
            "a2 OK [READ-WRITE] SELECT completed\r\n");
  EXPECT_EQ(c.say("a3 LOGOUT\r\n"), "* BYE Logging out\r\na3 OK LOGOUT completed\r\n");
  EXPECT_TRUE(c.session().closed());
}

TEST_F(ImapSessionTest, WrongPasswordsGetNothingAndThreeEndTheConnection) {
  Client c(services, io);
  EXPECT_EQ(c.say("a1 LOGIN alice@example.org wrong\r\n"),
            "a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
  EXPECT_EQ(c.say("a2 SELECT INBOX\r\n"), "a2 BAD Log in first\r\n");
  EXPECT_EQ(c.say("a3 LOGIN nobody@example.org secret\r\n"),
            "a3 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
  EXPECT_EQ(c.say("a4 LOGIN alice@example.org hunter2\r\n"),
            "a4 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n* BYE Too many failed logins\r\n");
  EXPECT_TRUE(c.session().closed());
  EXPECT_EQ(services.warnings.size(), 3u);
}

TEST_F(ImapSessionTest, NoLoginWithoutTlsOffLoopback) {
  Client c(services, io, /*loopback=*/false);
  EXPECT_NE(c.greeting.find("LOGINDISABLED"), std::string::npos);
  EXPECT_EQ(c.say("a1 LOGIN alice@example.org secret\r\n"),
            "a1 NO [PRIVACYREQUIRED] Logging in needs TLS, which is not set up here\r\n");
  EXPECT_EQ(c.say("a2 STARTTLS\r\n"), "a2 BAD STARTTLS is not offered here\r\n");
}

TEST_F(ImapSessionTest, StartTlsThenLoginAndPlaintextSentAfterTheCommandIsDropped) {
  Client c(services, io, /*loopback=*/false, /*tls=*/true);
  EXPECT_NE(c.greeting.find(" STARTTLS LOGINDISABLED]"), std::string::npos) << c.greeting;
  EXPECT_EQ(c.say("a1 LOGIN alice@example.org secret\r\n"),
            "a1 NO [PRIVACYREQUIRED] Use STARTTLS before logging in\r\n");
  // A command injected behind STARTTLS in the same packet must not run after the handshake.
  EXPECT_EQ(c.say("a2 STARTTLS\r\na3 LOGIN alice@example.org secret\r\n"),
            "a2 OK Begin TLS negotiation now\r\n");
  EXPECT_EQ(c.tls_requests, 1);
  EXPECT_FALSE(c.session().wants_input());
  c.session().tls_started(true);
  EXPECT_EQ(c.output(), "");
  EXPECT_TRUE(c.session().tls_active());
  EXPECT_EQ(c.say("a4 CAPABILITY\r\n"),
            "* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE "
            "UNSELECT SPECIAL-USE AUTH=PLAIN\r\na4 OK CAPABILITY completed\r\n");
  EXPECT_EQ(c.say("a5 STARTTLS\r\n"), "a5 BAD TLS is already active\r\n");
  EXPECT_EQ(c.say("a6 LOGIN alice@example.org secret\r\n").substr(0, 5), "a6 OK");
}

TEST_F(ImapSessionTest, AFailedHandshakeEndsTheSession) {
  Client c(services, io, /*loopback=*/false, /*tls=*/true);
  c.say("a1 STARTTLS\r\n");
  c.session().tls_started(false);
  EXPECT_TRUE(c.session().closed());
}

TEST_F(ImapSessionTest, AuthenticatePlainWithAndWithoutInitialResponse) {
  Client c(services, io);
  // "\0alice@example.org\0secret"
  EXPECT_EQ(c.say("a1 AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(c.say("AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n").substr(0, 5), "a1 OK");
  Client d(services, io);
  EXPECT_EQ(d.say("b1 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n\r\n"),
            "b1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
}

TEST_F(ImapSessionTest, FetchesADeliveredMessageExactlyAndMarksItSeen) {
  deliver("alice@example.org", kPlain);
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  std::string selected = c.say("a2 SELECT INBOX\r\n");
  EXPECT_NE(selected.find("* 1 EXISTS\r\n"), std::string::npos);
  EXPECT_NE(selected.find("* OK [UNSEEN 1] First unseen\r\n"), std::string::npos);
  EXPECT_EQ(c.say("a3 FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"),
            "* 1 FETCH (FLAGS (\\Recent) RFC822.SIZE " + std::to_string(kPlain.size()) +
                " BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: lunch\r\n\r\n)\r\n"
                "a3 OK FETCH completed\r\n");
  EXPECT_EQ(c.say("a4 UID FETCH 1 (BODY[])\r\n"),
            "* 1 FETCH (UID 1 BODY[] {" + std::to_string(kPlain.size()) + "}\r\n" + kPlain +
                " FLAGS (\\Seen \\Recent))\r\na4 OK FETCH completed\r\n");
}

TEST_F(ImapSessionTest, ADeliveredMessageNamesItsVerifiedSenderAndAForgedClaimIsRenamed) {
  const std::string forged =
      "X-POST-Verified-Sender: ceo@example.org\r\nFrom: CEO <ceo@example.org>\r\n"
      "Subject: wire the money\r\n\r\nNow please.\r\n";
  deliver("alice@example.org", forged, "mallory@example.org", /*verified=*/true);
  const std::string shown =
      "X-POST-Verified-Sender: mallory@example.org\r\nX-POST-Unchecked-Claim: "
      "ceo@example.org\r\nFrom: CEO <ceo@example.org>\r\nSubject: wire the money\r\n\r\n"
      "Now please.\r\n";
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 EXAMINE INBOX\r\n");
  EXPECT_EQ(
      c.say("a3 FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (X-POST-Verified-Sender)])\r\n"),
      "* 1 FETCH (RFC822.SIZE " + std::to_string(shown.size()) +
          " BODY[HEADER.FIELDS (X-POST-Verified-Sender)] {47}\r\n"
          "X-POST-Verified-Sender: mallory@example.org\r\n\r\n)\r\na3 OK FETCH completed\r\n");
  EXPECT_EQ(c.say("a4 FETCH 1 BODY.PEEK[]\r\n"), "* 1 FETCH (BODY[] {" +
                                                     std::to_string(shown.size()) + "}\r\n" +
                                                     shown + ")\r\na4 OK FETCH completed\r\n");
  // A layout that already carries a verified sender cannot come from a sender.
  EXPECT_FALSE(verified_sender_layout("mallory@example.org", "V\x05\x00X: y\r\nI"));
}

TEST_F(ImapSessionTest, EnvelopeAndBodyStructureOfAMultipartMessage) {
  deliver("alice@example.org", kMultipart);
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 EXAMINE INBOX\r\n");
  std::string out = c.say("a3 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY.PEEK[2])\r\n");
  EXPECT_NE(out.find("ENVELOPE (NIL \"report\" ((\"Carol\" NIL \"carol\" \"example.org\"))"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
                     "\"7bit\" 23 0"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"mixed\" (\"boundary\" \"b1\")"), std::string::npos) << out;
  EXPECT_NE(out.find("BODY[2] {28}\r\nJVBERi0xLjQKJcOkw7zDtsOfCg==)"), std::string::npos) << out;
  EXPECT_NE(out.find("a3 OK FETCH completed"), std::string::npos);
}

TEST_F(ImapSessionTest, StoreExpungeAndAFreshAccountSeesTheSameUidsAndFlags) {
  deliver("alice@example.org", kPlain);
  deliver("alice@example.org", kMultipart);
  deliver("alice@example.org", kPlain);
  {
    Client c(services, io);
    c.say("a1 LOGIN alice@example.org secret\r\n");
    c.say("a2 SELECT INBOX\r\n");
    EXPECT_EQ(c.say("a3 STORE 1 +FLAGS (\\Deleted)\r\n"),
              "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\na3 OK STORE completed\r\n");
    EXPECT_EQ(c.say("a4 UID STORE 3 +FLAGS.SILENT (\\Flagged $Important)\r\n"),
              "a4 OK STORE completed\r\n");
    EXPECT_EQ(c.say("a5 EXPUNGE\r\n"), "* 1 EXPUNGE\r\na5 OK EXPUNGE completed\r\n");
    EXPECT_EQ(c.say("a6 FETCH 1:* (UID FLAGS)\r\n"),
              "* 1 FETCH (UID 2 FLAGS (\\Recent))\r\n"
              "* 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent $Important))\r\n"
              "a6 OK FETCH completed\r\n");
  }
  // A node restart: new accounts, the same logs.
  services.accounts.clear();
  Client c(services, io);
  c.say("b1 LOGIN alice@example.org secret\r\n");
  std::string selected = c.say("b2 SELECT INBOX\r\n");
  EXPECT_NE(selected.find("* 2 EXISTS"), std::string::npos);
  EXPECT_NE(selected.find("[UIDNEXT 4]"), std::string::npos);
  EXPECT_EQ(c.say("b3 FETCH 1:* (UID FLAGS)\r\n"),
            "* 1 FETCH (UID 2 FLAGS ())\r\n"
            "* 2 FETCH (UID 3 FLAGS (\\Flagged $Important))\r\n"
            "b3 OK FETCH completed\r\n");
}

TEST_F(ImapSessionTest, FoldersCreateListRenameDeleteAndSubscribe) {
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  EXPECT_EQ(c.say("a2 CREATE Work/Projects\r\n"), "a2 OK CREATE completed\r\n");
  EXPECT_EQ(c.say("a3 CREATE Work\r\n"), "a3 NO [ALREADYEXISTS] Mailbox exists\r\n");
  EXPECT_EQ(c.say("a4 LIST \"\" *\r\n"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasChildren) \"/\" Work\r\n"
            "* LIST (\\HasNoChildren) \"/\" Work/Projects\r\n"
            "a4 OK LIST completed\r\n");
  EXPECT_EQ(c.say("a5 LIST \"\" %\r\n"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasChildren) \"/\" Work\r\n"
            "a5 OK LIST completed\r\n");
  EXPECT_EQ(c.say("a6 RENAME Work Archive\r\n"), "a6 OK RENAME completed\r\n");
  EXPECT_EQ(c.say("a7 SUBSCRIBE Archive/Projects\r\n"), "a7 OK SUBSCRIBE completed\r\n");
  EXPECT_EQ(c.say("a8 LSUB \"\" *\r\n"),
            "* LSUB (\\HasNoChildren) \"/\" Archive/Projects\r\na8 OK LSUB completed\r\n");
  EXPECT_EQ(c.say("a9 DELETE INBOX\r\n"), "a9 NO [CANNOT] INBOX stays\r\n");
  EXPECT_EQ(c.say("a10 DELETE Archive/Projects\r\n"), "a10 OK DELETE completed\r\n");
  EXPECT_EQ(c.say("a11 STATUS Archive (MESSAGES UIDNEXT UNSEEN)\r\n"),
            "* STATUS Archive (MESSAGES 0 UIDNEXT 1 UNSEEN 0)\r\na11 OK STATUS completed\r\n");
  EXPECT_EQ(c.say("a12 SELECT Nowhere\r\n"), "a12 NO [NONEXISTENT] No such mailbox\r\n");
}

TEST_F(ImapSessionTest, ListShowsTheSpecialUseOfSentAndJunk) {
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 CREATE Sent\r\n");
  c.say("a3 CREATE Junk\r\n");
  EXPECT_EQ(c.say("a4 LIST \"\" *\r\n"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n"
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "a4 OK LIST completed\r\n");
}

TEST_F(ImapSessionTest, AppendCopyAndMoveReportTheirUids) {
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 CREATE Archive\r\n");
  EXPECT_EQ(c.say("a3 APPEND INBOX (\\Seen) {" + std::to_string(kPlain.size()) + "+}\r\n" + kPlain +
                  "\r\n"),
            "a3 OK [APPENDUID 1 1] APPEND completed\r\n");
  EXPECT_EQ(c.say("a4 APPEND Nowhere {3+}\r\nx\r\n\r\n"), "a4 NO [TRYCREATE] No such mailbox\r\n");
  c.say("a5 SELECT INBOX\r\n");
  EXPECT_EQ(c.say("a6 COPY 1 Archive\r\n"), "a6 OK [COPYUID 2 1 1] COPY completed\r\n");
  EXPECT_EQ(c.say("a7 UID MOVE 1 Archive\r\n"),
            "* OK [COPYUID 2 1 2] Moved\r\n* 1 EXPUNGE\r\na7 OK MOVE completed\r\n");
  EXPECT_EQ(c.say("a8 STATUS Archive (MESSAGES)\r\n"),
            "* STATUS Archive (MESSAGES 2)\r\na8 OK STATUS completed\r\n");
  EXPECT_EQ(c.say("a9 SELECT Archive\r\n").find("* 2 EXISTS") != std::string::npos, true);
  EXPECT_EQ(c.say("a10 FETCH 2 (FLAGS BODY.PEEK[TEXT])\r\n"),
            "* 2 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {30}\r\nShall we have lunch at "
            "noon?\r\n)\r\na10 OK FETCH completed\r\n");
}

TEST_F(ImapSessionTest, MovingToJunkBlocksTheVerifiedSender) {
  deliver("alice@example.org", kPlain, "bob@example.org");
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 CREATE Junk\r\n");
  c.say("a3 SELECT INBOX\r\n");
  EXPECT_EQ(c.say("a4 MOVE 1 Junk\r\n"),
            "* OK [COPYUID 2 1 1] Moved\r\n* 1 EXPUNGE\r\na4 OK MOVE completed\r\n");
  EXPECT_TRUE(services.account("alice@example.org")->mailbox().is_blocked("Bob@Example.org"));
}

TEST_F(ImapSessionTest, SearchByFlagsHeaderAndBody) {
  deliver("alice@example.org", kPlain);
  deliver("alice@example.org", kMultipart);
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 SELECT INBOX\r\n");
  c.say("a3 STORE 2 +FLAGS (\\Seen)\r\n");
  EXPECT_EQ(c.say("a4 SEARCH UNSEEN\r\n"), "* SEARCH 1\r\na4 OK SEARCH completed\r\n");
  EXPECT_EQ(c.say("a5 UID SEARCH FROM carol\r\n"), "* SEARCH 2\r\na5 OK SEARCH completed\r\n");
  EXPECT_EQ(c.say("a6 SEARCH BODY \"lunch at noon\"\r\n"),
            "* SEARCH 1\r\na6 OK SEARCH completed\r\n");
  EXPECT_EQ(c.say("a7 SEARCH CHARSET KOI8-R ALL\r\n"),
            "a7 NO [BADCHARSET (UTF-8 US-ASCII)] Unknown charset\r\n");
}

TEST_F(ImapSessionTest, AnIdlingClientSeesNewMailAtOnce) {
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 SELECT INBOX\r\n");
  EXPECT_EQ(c.say("a3 IDLE\r\n"), "+ idling\r\n");
  int wakes = c.wakes;
  deliver("alice@example.org", kPlain);
  EXPECT_GT(c.wakes, wakes);
  EXPECT_EQ(c.output(), "* 1 EXISTS\r\n* 1 RECENT\r\n");
  EXPECT_EQ(c.say("DONE\r\n"), "a3 OK IDLE terminated\r\n");
}

TEST_F(ImapSessionTest, ChangesBySessionsAreReportedToOthers) {
  deliver("alice@example.org", kPlain);
  deliver("alice@example.org", kPlain);
  Client a(services, io), b(services, io);
  a.say("a1 LOGIN alice@example.org secret\r\n");
  b.say("b1 LOGIN alice@example.org secret\r\n");
  a.say("a2 SELECT INBOX\r\n");
  b.say("b2 SELECT INBOX\r\n");
  a.say("a3 STORE 1 +FLAGS (\\Deleted)\r\n");
  a.say("a4 EXPUNGE\r\n");
  // b is told during FETCH about flags, not the expunge; NOOP brings the expunge.
  EXPECT_EQ(b.say("b3 FETCH 2 (UID)\r\n"), "* 2 FETCH (UID 2)\r\nb3 OK FETCH completed\r\n");
  EXPECT_EQ(b.say("b4 NOOP\r\n"), "* 1 EXPUNGE\r\nb4 OK NOOP completed\r\n");
}

TEST_F(ImapSessionTest, PipelinedCommandsAnswerInOrderWhileTheRingIsSlow) {
  deliver("alice@example.org", kPlain);
  io.deferred = true;
  Client c(services, io);
  std::string out = c.say(
      "a1 LOGIN alice@example.org secret\r\na2 SELECT INBOX\r\na3 FETCH 1 (UID)\r\n"
      "a4 STORE 1 +FLAGS (\\Answered)\r\na5 LOGOUT\r\n");
  std::size_t at = 0;
  for (std::string_view want : {"a1 OK", "a2 OK", "* 1 FETCH (UID 1)", "a3 OK",
                                "* 1 FETCH (FLAGS (\\Answered \\Recent))", "a4 OK", "a5 OK"}) {
    std::size_t found = out.find(want, at);
    ASSERT_NE(found, std::string::npos) << want << " in\n" << out;
    at = found;
  }
  EXPECT_GT(c.wakes, 0);
}

TEST_F(ImapSessionTest, BadCommandsGetTheRightReplyAndTheSessionGoesOn) {
  Client c(services, io);
  EXPECT_EQ(c.say("a1 FROB\r\n"), "a1 BAD Unknown command FROB\r\n");
  c.say("a2 LOGIN alice@example.org secret\r\n");
  EXPECT_EQ(c.say("a3 FETCH 1 (FLAGS)\r\n"), "a3 BAD Select a mailbox first\r\n");
  c.say("a4 SELECT INBOX\r\n");
  EXPECT_EQ(c.say("a5 FETCH 9 (FLAGS)\r\n"), "a5 BAD Invalid message sequence number\r\n");
  EXPECT_EQ(c.say("a6 STORE 1:* +FLAGS (\\Bogus)\r\n"), "a6 BAD Invalid system flag\r\n");
  EXPECT_EQ(c.say("a7 NOOP\r\n"), "a7 OK NOOP completed\r\n");
}

TEST_F(ImapSessionTest, AStoreThatCannotBeWrittenSaysNoAndChangesNothing) {
  deliver("alice@example.org", kPlain);
  Client c(services, io);
  c.say("a1 LOGIN alice@example.org secret\r\n");
  c.say("a2 SELECT INBOX\r\n");
  io.fail_appends = true;
  EXPECT_EQ(c.say("a3 STORE 1 +FLAGS (\\Flagged)\r\n"),
            "a3 NO [UNAVAILABLE] the ring is unreachable, try again later\r\n");
  io.fail_appends = false;
  EXPECT_EQ(c.say("a4 FETCH 1 (FLAGS)\r\n"),
            "* 1 FETCH (FLAGS (\\Recent))\r\na4 OK FETCH completed\r\n");
}

}  // namespace
}  // namespace post::email
