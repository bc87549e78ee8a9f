// ePOST with the mail clients people use, on a ring of four real postd: alice is served by
// node 1 and bob by node 3, each node with the email plugin's SMTP, IMAP and POP3 servers.
// Messages go in with smtplib and swaks and come out with python's imaplib and poplib, curl
// and mbsync (isync), all from Debian's packages; the scripts the tests drive are in
// email_clients/. What each test checks is a thing a person does: read, flag, move, search,
// expunge and append; see new mail arrive while idling; find everything again after the node
// restarts; get mail sent while their node was down, exactly once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <crypt.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/postd_cluster.h"

namespace post {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ClusterBinaries;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostdCluster;

constexpr int kNodes = 4;
constexpr int kAliceNode = 1;
constexpr int kBobNode = 3;
const std::string kAlice = "alice@example.org";
const std::string kBob = "bob@example.org";
const std::string kAlicePassword = "alice's long passphrase";
const std::string kBobPassword = "bob's long passphrase";

std::string hash_password(const std::string& password) {
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), "$6$postclienttest$", &data);
  return out == nullptr ? "" : out;
}

struct Ports {
  unsigned short smtp = 0, imap = 0, pop3 = 0;
  unsigned short smtps = 0, imaps = 0, pop3s = 0;  // implicit TLS
};

// A user of the ring: served by node `node`, with a POST puzzle of `puzzle_bits` that every
// sender's node must solve (POST's optional spam defence).
struct User {
  int node = 0;
  std::string name;
  std::string email;
  std::string password;
  int puzzle_bits = 0;
};

class EmailClients : public ::testing::Test {
 protected:
  // alice on node 1; bob on node 3, who asks senders for a small puzzle.
  virtual std::vector<User> users() const {
    return {{kAliceNode, "Alice", kAlice, kAlicePassword, 0},
            {kBobNode, "Bob", kBob, kBobPassword, 8}};
  }

  void SetUp() override {
    fs::create_directories(fs::path(dir_.path()) / "plugins");
    fs::copy_file(POST_PLUGIN_EMAIL, fs::path(dir_.path()) / "plugins" / "email.so");
    {
      std::ofstream passwd(dir_.file("passwd"));
      for (const User& u : users()) {
        passwd << u.email << ":{CRYPT}" << hash_password(u.password) << "\n";
      }
    }
    // A certificate for 127.0.0.1, which the clients verify: every node offers STARTTLS.
    Run cert = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir_.file("tls.key"),
                    "-out", dir_.file("tls.pem")});
    ASSERT_EQ(cert.exit_code, 0) << cert.out;
    cluster_ = std::make_unique<PostdCluster>(
        dir_, ClusterBinaries{POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes,
        std::string(testing::kFastPastryYaml) + "plugin_dirs: [plugins]\n");
    ASSERT_TRUE(cluster_->ok()) << cluster_->error();
    std::set<int> mail_nodes;
    for (const User& u : users()) {
      ASSERT_TRUE(cluster_->add_user(u.node, u.name, u.email, u.puzzle_bits)) << cluster_->error();
      mail_nodes.insert(u.node);
    }
    // After add_user, which rewrites the configurations.
    for (int i : mail_nodes) {
      Ports& p = ports_[i];
      p = {testing::free_port(), testing::free_port(), testing::free_port(),
           testing::free_port(), testing::free_port(), testing::free_port()};
      std::ofstream(dir_.file("node" + std::to_string(i) + ".yaml"), std::ios::app)
          << "plugins:\n"
          << "  - name: email\n"
          << "    path: plugins/email.so\n"
          << "    config: {smtp_listen: \"127.0.0.1:" << p.smtp
          << "\", imap_listen: \"127.0.0.1:" << p.imap << "\", pop3_listen: \"127.0.0.1:" << p.pop3
          << "\", hostname: node" << i << ".example.org, passwd_file: \"" << dir_.file("passwd")
          << "\", tls_certificate: \"" << dir_.file("tls.pem") << "\", tls_key: \""
          << dir_.file("tls.key") << "\", submissions_listen: \"127.0.0.1:" << p.smtps
          << "\", imaps_listen: \"127.0.0.1:" << p.imaps
          << "\", pop3s_listen: \"127.0.0.1:" << p.pop3s << "\"}\n";
    }
    cluster_->start_all();
    for (int i = 0; i < kNodes; ++i) {
      std::string why;
      ASSERT_TRUE(cluster_->wait_ready(i, 60s, &why)) << why;
    }
    for (const User& u : users()) ASSERT_NO_FATAL_FAILURE(wait_published(u.node, u.email));
  }

  void wait_published(int i, const std::string& email) {
    std::string why;
    ASSERT_TRUE(cluster_->wait_published(i, email, 60s, &why)) << why;
  }

  struct Run {
    int exit_code = -1;
    std::string out;
  };

  Run run(std::vector<std::string> argv) {
    static int runs = 0;
    std::string log = dir_.file("client." + std::to_string(runs++) + ".log");
    Run r;
    r.exit_code = testing::run_command(argv, log);
    r.out = testing::read_file(log);
    return r;
  }

  // imap_client.py `what` with `args`.
  Run client(const std::string& what, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/python3", EMAIL_CLIENTS_DIR "/imap_client.py", what};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  // swaks from alice (node 1) to `to`, with `args` after the defaults; its exit status.
  Run swaks(const std::string& to, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/swaks",
                                     "--server",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(ports_[kAliceNode].smtp),
                                     "--auth",
                                     "PLAIN",
                                     "--auth-user",
                                     kAlice,
                                     "--auth-password",
                                     kAlicePassword,
                                     "--from",
                                     kAlice,
                                     "--to",
                                     to,
                                     "--timeout",
                                     "60"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  // Waits (up to 60 s) until node i has logged `count` deliveries to `user`'s INBOX.
  void wait_deliveries(int i, const std::string& user, std::size_t count) {
    std::regex delivered("email: delivered message [0-9a-f]{64} to " +
                         std::regex_replace(user, std::regex("[.]"), "\\.") + "'s INBOX");
    auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      std::string log = cluster_->log(i);
      auto n = static_cast<std::size_t>(std::distance(
          std::sregex_iterator(log.begin(), log.end(), delivered), std::sregex_iterator()));
      if (n >= count) {
        EXPECT_EQ(n, count) << "more deliveries than messages sent";
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL() << "node" << i << " delivered " << n << " of " << count << " messages to " << user
               << "\n"
               << cluster_->log(i);
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  std::string imap_port(int i) { return std::to_string(ports_[i].imap); }

  testing::TempDir dir_;
  std::unique_ptr<PostdCluster> cluster_;
  Ports ports_[kNodes];
};

TEST_F(EmailClients, AliceOnNode1MailsBobOnNode3WhoReadsFlagsMovesAndAppendsWithImaplib) {
  ASSERT_EQ(
      swaks(kBob, {"--header", "Subject: Lunch?", "--body", "Shall we meet at noon?"}).exit_code,
      0);
  ASSERT_EQ(swaks(kBob, {"--header", "Subject: Minutes", "--attach-type", "text/csv", "--attach",
                         "@" + std::string(EMAIL_CLIENTS_DIR) + "/imap_client.py"})
                .exit_code,
            0);
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 2));

  Run r = client("workout", {imap_port(kBobNode), kBob, kBobPassword});
  ASSERT_EQ(r.exit_code, 0) << r.out << cluster_->log(kBobNode);
  EXPECT_THAT(r.out, HasSubstr("step: select OK [\"2\"]"));
  EXPECT_THAT(r.out, HasSubstr("step: search-unseen OK [\"1 2\"]"));
  EXPECT_THAT(r.out, HasSubstr("step: search-subject OK [\"1\"]"));
  EXPECT_THAT(r.out, HasSubstr("Subject: Lunch?"));
  EXPECT_THAT(r.out, HasSubstr("Shall we meet at noon?"));
  // bob's node says who sent it, as the host verified it.
  EXPECT_THAT(r.out, HasSubstr("X-POST-Verified-Sender: " + kAlice + "\\r\\n"));
  EXPECT_THAT(r.out, HasSubstr("step: flags-after-read OK [\"1 (UID 1 FLAGS (\\\\Seen"));
  EXPECT_THAT(r.out, HasSubstr("step: copy OK"));
  // Archive is UIDVALIDITY 2: COPY made bob's UID 1 its UID 1, MOVE his UID 2 its UID 2.
  EXPECT_THAT(r.out, HasSubstr("step: move OK [\"2 1 1\", \"2 2 2\"]"));
  // MOVE's own EXPUNGE (message 2), then EXPUNGE's (message 1).
  EXPECT_THAT(r.out, HasSubstr("step: expunge OK [\"2\", \"1\"]"));
  EXPECT_THAT(r.out, HasSubstr("step: append OK [\"[APPENDUID"));
  EXPECT_THAT(r.out, HasSubstr("step: status OK [\"Archive (MESSAGES 3 UNSEEN 1 UIDNEXT 4)\"]"));
  EXPECT_THAT(r.out, HasSubstr("\\\"/\\\" Archive"));
  // The sender's copy is in alice's Sent folder.
  Run sent = client("listing", {imap_port(kAliceNode), kAlice, kAlicePassword, "Sent"});
  EXPECT_THAT(sent.out, HasSubstr("Subject: Lunch?")) << sent.out;
  EXPECT_THAT(sent.out, HasSubstr("Subject: Minutes"));

  // curl reads the archived message by UID, as a script would.
  Run curl = run({"/usr/bin/curl", "-sS", "--max-time", "60", "--user", kBob + ":" + kBobPassword,
                  "imap://127.0.0.1:" + imap_port(kBobNode) + "/Archive;UID=1"});
  EXPECT_EQ(curl.exit_code, 0) << curl.out;
  EXPECT_THAT(curl.out, HasSubstr("Shall we meet at noon?"));

  // A restart of bob's node keeps every message, flag and UID.
  Run before = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "Archive"});
  ASSERT_EQ(before.exit_code, 0) << before.out;
  cluster_->stop(kBobNode);
  cluster_->start(kBobNode);
  std::string why;
  ASSERT_TRUE(cluster_->wait_ready(kBobNode, 60s, &why)) << why;
  Run after = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "Archive"});
  ASSERT_EQ(after.exit_code, 0) << after.out;
  auto listing_of = [](const std::string& out) {
    auto at = out.find("step: listing");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_FALSE(listing_of(before.out).empty()) << before.out;
  EXPECT_EQ(listing_of(after.out), listing_of(before.out));
  EXPECT_THAT(listing_of(after.out), HasSubstr("UID 3 FLAGS (\\\\Seen)"));

  // So does a hot reload of the plugin (postctl reload email): the new instance rebuilds the
  // same state from the logs, and serves at once.
  auto reload = cluster_->postctl(kBobNode, {"reload", "email"});
  ASSERT_EQ(reload.exit_code, 0) << reload.out << cluster_->log(kBobNode);
  Run reloaded = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "Archive"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.out << cluster_->log(kBobNode);
  EXPECT_EQ(listing_of(reloaded.out), listing_of(before.out));
  EXPECT_TRUE(cluster_->running(kBobNode));
}

TEST_F(EmailClients, ClientsStartTlsAndVerifyTheNodesCertificate) {
  const Ports& p = ports_[kBobNode];
  Run r = client("tls", {std::to_string(p.imap), std::to_string(p.smtp), std::to_string(p.pop3),
                         kBob, kBobPassword, dir_.file("tls.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.out << cluster_->log(kBobNode);
  EXPECT_THAT(r.out, HasSubstr("step: imap-starttls OK"));
  EXPECT_THAT(r.out, HasSubstr("step: imap-cipher OK \"TLSv1."));
  EXPECT_THAT(r.out, HasSubstr("step: imap-login OK"));
  EXPECT_THAT(r.out, HasSubstr("step: smtp-starttls 220"));
  EXPECT_THAT(r.out, HasSubstr("step: smtp-sent OK"));
  EXPECT_THAT(r.out, HasSubstr("step: pop3-stls +OK Begin TLS negotiation"));
  EXPECT_THAT(r.out, HasSubstr("step: pop3-pass +OK"));
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 1));
  // curl, requiring TLS, reads the message sent over TLS.
  Run curl = run({"/usr/bin/curl", "-sS", "--max-time", "60", "--ssl-reqd", "--cacert",
                  dir_.file("tls.pem"), "--user", kBob + ":" + kBobPassword,
                  "imap://127.0.0.1:" + imap_port(kBobNode) + "/INBOX;UID=1"});
  EXPECT_EQ(curl.exit_code, 0) << curl.out;
  EXPECT_THAT(curl.out, HasSubstr("Subject: over TLS"));
}

TEST_F(EmailClients, ClientsUseTheImplicitTlsPorts) {
  const Ports& p = ports_[kBobNode];
  Run r =
      client("implicit-tls", {std::to_string(p.imaps), std::to_string(p.smtps),
                              std::to_string(p.pop3s), kBob, kBobPassword, dir_.file("tls.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.out << cluster_->log(kBobNode);
  EXPECT_THAT(r.out, HasSubstr("step: imaps-login OK"));
  EXPECT_THAT(r.out, HasSubstr("step: smtps-sent OK"));
  EXPECT_THAT(r.out, HasSubstr("step: pop3s-pass +OK"));
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 1));
}

TEST_F(EmailClients, AnIdlingClientSeesNewMailArrive) {
  Run r = client("idle", {imap_port(kBobNode), kBob, kBobPassword,
                          std::to_string(ports_[kAliceNode].smtp), kAlice, kAlicePassword});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("step: select OK 0"));
  EXPECT_THAT(r.out, HasSubstr("step: idle + idling"));
  EXPECT_THAT(r.out, HasSubstr("step: exists OK 1")) << cluster_->log(kBobNode);
  EXPECT_THAT(r.out, HasSubstr("step: done a3 OK IDLE terminated"));
}

TEST_F(EmailClients, MailSentWhileBobsNodeIsDownArrivesOnceAfterItComesBack) {
  cluster_->stop(kBobNode);
  Run sent = swaks(kBob, {"--header", "Subject: While you were out", "--body", "Call me back."});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  cluster_->start(kBobNode);
  std::string why;
  ASSERT_TRUE(cluster_->wait_ready(kBobNode, 60s, &why)) << why;
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 1));
  // Let any duplicate arrive before counting.
  std::this_thread::sleep_for(3s);
  Run r = client("pop3", {std::to_string(ports_[kBobNode].pop3), kBob, kBobPassword});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("step: stat OK [1, "));
  EXPECT_THAT(r.out, HasSubstr("Call me back."));
  EXPECT_THAT(r.out, HasSubstr("step: quit +OK"));
  // POP3 deleted it: the INBOX is empty now.
  Run left = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "INBOX"});
  EXPECT_THAT(left.out, HasSubstr("step: select OK [\"0\"]")) << left.out;
}

// The file of the message whose text holds `needle` in a Maildir folder, or "".
std::string maildir_file_with(const std::string& folder, const std::string& needle) {
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    if (testing::read_file(entry.path().string()).find(needle) != std::string::npos) {
      return entry.path().string();
    }
  }
  return "";
}

TEST_F(EmailClients, MbsyncSyncsBothWaysFlagsDeletionsAndNewMail) {
  ASSERT_EQ(swaks(kBob, {"--header", "Subject: Sync me", "--body", "mirrored by mbsync"}).exit_code,
            0);
  ASSERT_EQ(
      swaks(kBob, {"--header", "Subject: Delete me", "--body", "deleted in the Maildir"}).exit_code,
      0);
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 2));
  std::string maildir = dir_.file("Maildir") + "/";
  fs::create_directories(maildir);
  std::ofstream(dir_.file("mbsyncrc"))
      << "IMAPAccount bob\nHost 127.0.0.1\nPort " << ports_[kBobNode].imap << "\nUser " << kBob
      << "\nPass \"" << kBobPassword << "\"\nSSLType None\nAuthMechs LOGIN\n\n"
      << "IMAPStore bob-remote\nAccount bob\n\n"
      << "MaildirStore bob-local\nPath " << maildir << "\nInbox " << maildir << "INBOX\n\n"
      << "Channel bob\nFar :bob-remote:\nNear :bob-local:\nPatterns INBOX\nCreate Near\n"
      << "Sync All\nExpunge Both\nSyncState *\n";
  Run pull = run({"/usr/bin/mbsync", "-c", dir_.file("mbsyncrc"), "-a"});
  ASSERT_EQ(pull.exit_code, 0) << pull.out << cluster_->log(kBobNode);
  std::string keep = maildir_file_with(maildir + "INBOX", "Subject: Sync me");
  std::string gone = maildir_file_with(maildir + "INBOX", "Subject: Delete me");
  ASSERT_FALSE(keep.empty());
  ASSERT_FALSE(gone.empty());
  EXPECT_THAT(testing::read_file(keep), HasSubstr("mirrored by mbsync"));

  // In the Maildir: flag one (Maildir info ":2,F"), delete the other, file a new one.
  std::string base = fs::path(keep).filename().string();
  base = base.substr(0, base.find(':'));
  fs::rename(keep, maildir + "INBOX/cur/" + base + ":2,FS");
  fs::remove(gone);
  std::ofstream(maildir + "INBOX/new/1795680000.local.host")
      << "From: bob@example.org\r\nSubject: Written offline\r\n\r\nsynced up by mbsync\r\n";
  Run push = run({"/usr/bin/mbsync", "-c", dir_.file("mbsyncrc"), "-a"});
  ASSERT_EQ(push.exit_code, 0) << push.out << cluster_->log(kBobNode);

  Run listing = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "INBOX"});
  ASSERT_EQ(listing.exit_code, 0) << listing.out;
  EXPECT_THAT(listing.out, HasSubstr("step: select OK [\"2\"]"));
  EXPECT_THAT(listing.out, HasSubstr("FLAGS (\\\\Seen \\\\Flagged) BODY[HEADER.FIELDS (SUBJECT)] "
                                     "{20}\", \"Subject: Sync me"));
  EXPECT_THAT(listing.out, HasSubstr("Subject: Written offline"));
  EXPECT_THAT(listing.out, Not(HasSubstr("Subject: Delete me")));
}

TEST_F(EmailClients, CurlSearchesFlagsAppendsMovesAndExpunges) {
  ASSERT_EQ(swaks(kBob, {"--header", "Subject: For curl", "--body", "handled by curl"}).exit_code,
            0);
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 1));
  std::string url = "imap://127.0.0.1:" + imap_port(kBobNode) + "/";
  auto curl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl",          "-sS", "--max-time", "60", "--user",
                                     kBob + ":" + kBobPassword};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  };
  Run search = curl({"--url", url + "INBOX", "--request", "UID SEARCH SUBJECT \"For curl\""});
  EXPECT_EQ(search.exit_code, 0) << search.out;
  EXPECT_THAT(search.out, HasSubstr("* SEARCH 1"));
  Run flag = curl({"--url", url + "INBOX", "--request", "UID STORE 1 +FLAGS (\\Flagged)"});
  EXPECT_EQ(flag.exit_code, 0) << flag.out;
  EXPECT_THAT(flag.out, HasSubstr("FLAGS (\\Flagged"));
  Run create = curl({"--url", url, "--request", "CREATE Kept"});
  EXPECT_EQ(create.exit_code, 0) << create.out;
  // An upload is an APPEND.
  std::string note = dir_.file("note.eml");
  std::ofstream(note) << "From: bob@example.org\r\nSubject: Uploaded by curl\r\n\r\nhi\r\n";
  Run append = curl({"--url", url + "Kept", "--upload-file", note});
  EXPECT_EQ(append.exit_code, 0) << append.out;
  Run move = curl({"--url", url + "INBOX", "--request", "UID MOVE 1 Kept"});
  EXPECT_EQ(move.exit_code, 0) << move.out;
  Run expunge = curl({"--url", url + "Kept", "--request", "UID STORE 1 +FLAGS (\\Deleted)"});
  EXPECT_EQ(expunge.exit_code, 0) << expunge.out;
  Run done = curl({"--url", url + "Kept", "--request", "EXPUNGE"});
  EXPECT_EQ(done.exit_code, 0) << done.out;
  EXPECT_THAT(done.out, HasSubstr("* 1 EXPUNGE"));
  // What is left: the moved message in Kept, flagged; INBOX empty.
  Run kept = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "Kept"});
  EXPECT_THAT(kept.out, HasSubstr("step: select OK [\"1\"]")) << kept.out;
  EXPECT_THAT(kept.out, HasSubstr("Subject: For curl"));
  EXPECT_THAT(kept.out, HasSubstr("\\\\Flagged"));
  Run inbox = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "INBOX"});
  EXPECT_THAT(inbox.out, HasSubstr("step: select OK [\"0\"]")) << inbox.out;
}

// A mailing list and a block list, run by operators with postctl: team@example.org is a list
// whose keys node 1 holds (its maintainer's node), with members bob (node 3) and carol (node 2).
class EmailListsAndBlocking : public EmailClients {
 protected:
  static constexpr int kCarolNode = 2;
  static constexpr int kTeamNode = kAliceNode;
  std::vector<User> users() const override {
    return {{kAliceNode, "Alice", kAlice, kAlicePassword, 0},
            {kBobNode, "Bob", kBob, kBobPassword, 0},
            {kCarolNode, "Carol", "carol@example.org", "carol's long passphrase", 0},
            {kTeamNode, "Team", "team@example.org", "the list's unused passphrase", 0}};
  }
  // postctl command email ARGS... on node i.
  testing::PostctlRun email_command(int i, std::vector<std::string> args) {
    args.insert(args.begin(), {"command", "email"});
    return cluster_->postctl(i, args, false);
  }
  // Waits (up to 60 s) until node i's log holds `text`.
  void wait_logged(int i, const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (cluster_->log(i).find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL() << "node" << i << " never logged \"" << text << "\"\n" << cluster_->log(i);
      }
      std::this_thread::sleep_for(100ms);
    }
  }
};

TEST_F(EmailListsAndBlocking, MailToAListReachesItsMembersAndABlockedSendersMailIsDropped) {
  // The maintainer's node adds the members; any node reads the list; no other node changes it.
  auto added = email_command(kTeamNode, {"list-add", "team@example.org", kBob, "carol@example.org"});
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_THAT(added.out, HasSubstr("team@example.org has 2 member(s)"));
  auto shown = email_command(kBobNode, {"list-members", "team@example.org"});
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_EQ(shown.out, "bob@example.org\ncarol@example.org\n");
  auto refused = email_command(kBobNode, {"list-add", "team@example.org", "mallory@example.org"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  auto not_a_list = email_command(kCarolNode, {"list-members", kAlice});
  EXPECT_EQ(not_a_list.exit_code, 1) << not_a_list.out;
  EXPECT_THAT(not_a_list.out, HasSubstr("alice@example.org is not a mailing list"));

  // alice writes to the list: her node expands it, each member gets the mail from alice.
  Run sent = swaks("team@example.org", {"--header", "Subject: Team lunch", "--body", "Friday?"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 1));
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kCarolNode, "carol@example.org", 1));
  EXPECT_THAT(cluster_->log(kAliceNode), HasSubstr("expanding mailing list team@example.org to 2"));
  EXPECT_THAT(cluster_->log(kTeamNode), Not(HasSubstr("to team@example.org's INBOX")));
  Run read = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "INBOX"});
  EXPECT_THAT(read.out, HasSubstr("Team lunch")) << read.out;

  // bob blocks alice from his node: her next message is accepted by her node but dropped at
  // bob's; unblocked, the one after arrives.
  auto blocked = email_command(kBobNode, {"block", kBob, "Alice@Example.org"});
  ASSERT_EQ(blocked.exit_code, 0) << blocked.out;
  EXPECT_EQ(blocked.out, "blocked alice@example.org for bob@example.org\n");
  auto list = email_command(kBobNode, {"blocked", kBob});
  EXPECT_EQ(list.out, "alice@example.org\n");
  sent = swaks(kBob, {"--header", "Subject: Are you there?", "--body", "Hello?"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_NO_FATAL_FAILURE(wait_logged(kBobNode, "alice@example.org is on the block list"));
  auto unblocked = email_command(kBobNode, {"unblock", kBob, kAlice});
  ASSERT_EQ(unblocked.exit_code, 0) << unblocked.out;
  sent = swaks(kBob, {"--header", "Subject: Sorry", "--body", "Unblocked me?"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  ASSERT_NO_FATAL_FAILURE(wait_deliveries(kBobNode, kBob, 2));
  read = client("listing", {imap_port(kBobNode), kBob, kBobPassword, "INBOX"});
  EXPECT_THAT(read.out, HasSubstr("Sorry"));
  EXPECT_THAT(read.out, Not(HasSubstr("Are you there?")));

  // Commands the plugin does not know, and bad arguments, get a clear answer and exit 1.
  auto unknown = email_command(kBobNode, {"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.out, HasSubstr("unknown command frobnicate"));
  auto bad = email_command(kBobNode, {"block", kBob, "not-an-address"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, HasSubstr("not an address: not-an-address"));
}

// Ten recipients spread over the ring, all on example.org.
class EmailToTenUsers : public EmailClients {
 protected:
  std::vector<User> users() const override {
    std::vector<User> all = {{kAliceNode, "Alice", kAlice, kAlicePassword, 0}};
    for (int n = 0; n < 10; ++n) {
      all.push_back({n % kNodes, "User " + std::to_string(n),
                     "user" + std::to_string(n) + "@example.org", "password " + std::to_string(n),
                     0});
    }
    return all;
  }

  // Bytes the ring's block stores hold, over all nodes.
  std::uint64_t ring_bytes_used() {
    std::uint64_t total = 0;
    for (int i = 0; i < kNodes; ++i) {
      auto status = cluster_->status(i);
      if (status.is_null()) {
        ADD_FAILURE() << "no status from node" << i;
        continue;
      }
      total += status["past"]["bytes_used"].get<std::uint64_t>();
    }
    return total;
  }
};

TEST_F(EmailToTenUsers, TheSameAttachmentSentToTenUsersInTenMessagesIsStoredOnce) {
  // 1 MiB of random bytes as the attachment: stored ten times it would add 10 x k x 1.33 MiB
  // (base64) to the ring, about 40 MiB with k = 3; stored once, k times that.
  std::string attachment = dir_.file("report.bin");
  {
    std::ifstream random("/dev/urandom", std::ios::binary);
    std::string bytes(1 << 20, '\0');
    random.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(attachment, std::ios::binary) << bytes;
  }
  std::uint64_t before = ring_bytes_used();
  for (int n = 0; n < 10; ++n) {
    std::string to = "user" + std::to_string(n) + "@example.org";
    Run sent =
        swaks(to, {"--header", "Subject: the report", "--body", "Here it is, " + to + ".",
                   "--attach-type", "application/octet-stream", "--attach", "@" + attachment});
    ASSERT_EQ(sent.exit_code, 0) << sent.out;
  }
  for (int n = 0; n < 10; ++n) {
    ASSERT_NO_FATAL_FAILURE(
        wait_deliveries(n % kNodes, "user" + std::to_string(n) + "@example.org", 1));
  }
  std::uint64_t added = ring_bytes_used() - before;
  constexpr std::uint64_t kEncoded = (std::uint64_t{1} << 20) * 4 / 3;
  // Once (k = 3 replicas, plus texts, layouts, notifications, log records): well under twice
  // that; ten times: over 30 times the attachment.
  EXPECT_LT(added, 2 * 3 * kEncoded) << "the ring grew by " << added << " bytes";
  EXPECT_GT(added, 3 * kEncoded) << "the attachment should be in the ring k times";
}

}  // namespace
}  // namespace post
