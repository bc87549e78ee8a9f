// The email plugin on three real postd processes: alice (node 1) submits a message over SMTP
// with python3's smtplib to bob (node 2); bob's node gets it as a POST notification of the
// application "email" from alice and appends it to bob's INBOX log. A wrong password and a
// MAIL FROM that is not the authenticated user are refused. The same ring then takes what a
// real client sends: swaks (/usr/bin/swaks, Debian's package) submits plain text, an
// attachment, 10 MiB, UTF-8 headers and pipelined commands; a message over max_message_bytes
// gets 552 and a wrong password 535. Delivery is checked in bob's node's log and in the
// notification's payload (size, subject, parts).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <crypt.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "host/core/crypto.h"
#include "plugins/email/mime/mime_decompose.h"
#include "plugins/email/server/delivery_payload.h"
#include "tests/support/postd_cluster.h"

namespace post {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ClusterBinaries;
using ::testing::HasSubstr;
using testing::PostdCluster;

constexpr int kNodes = 3;
constexpr int kAliceNode = 1;
constexpr int kBobNode = 2;
const std::string kAlice = "alice@example.org";
const std::string kBob = "bob@example.org";
const std::string kAlicePassword = "correct horse battery staple";
// Each email plugin's max_message_bytes: above the 10 MiB message, below the refused one.
constexpr std::size_t kMaxMessageBytes = 11 * 1024 * 1024;
constexpr const char* kSwaks = "/usr/bin/swaks";

// Sends one message with smtplib and prints what happened as "result: <outcome> <code>".
constexpr const char* kSmtpClient = R"PY(
import smtplib, sys
port, user, password, mail_from, rcpt = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
message = ("From: Alice <%s>\r\nTo: Bob <%s>\r\nSubject: Lunch?\r\n"
           "Message-ID: <lunch-1@example.org>\r\nDate: Thu, 26 Nov 2026 05:00:00 +0000\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
           "--b1\r\nContent-Type: text/plain\r\n\r\nShall we meet at noon?\r\n"
           "--b1\r\nContent-Type: application/octet-stream\r\n\r\nAAAA\r\n--b1--\r\n") % (mail_from, rcpt)
try:
    with smtplib.SMTP("127.0.0.1", int(port), timeout=60) as s:
        s.ehlo("client.example.org")
        s.login(user, password)
        s.sendmail(mail_from, [rcpt], message)
    print("result: sent 250")
except smtplib.SMTPAuthenticationError as e:
    print("result: auth-refused %d" % e.smtp_code)
except smtplib.SMTPDataError as e:
    print("result: data-refused %d %s" % (e.smtp_code, e.smtp_error))
except smtplib.SMTPSenderRefused as e:
    print("result: sender-refused %d" % e.smtp_code)
except smtplib.SMTPRecipientsRefused as e:
    print("result: recipients-refused")
except Exception as e:
    print("result: error %r" % (e,))
)PY";

std::string hash_password(const std::string& password) {
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), "$6$postemailtest$", &data);
  return out == nullptr ? "" : out;
}

class EmailInPostd : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(fs::path(dir_.path()) / "plugins");
    fs::copy_file(POST_PLUGIN_EMAIL, fs::path(dir_.path()) / "plugins" / "email.so");
    std::string hash = hash_password(kAlicePassword);
    ASSERT_FALSE(hash.empty());
    std::ofstream(dir_.file("passwd")) << "# test users\n"
                                       << kAlice << ":{CRYPT}" << hash << "\n"
                                       << kBob << ":{CRYPT}" << hash_password("bob's") << "\n";
    std::ofstream(dir_.file("client.py")) << kSmtpClient;

    cluster_ = std::make_unique<PostdCluster>(
        dir_, ClusterBinaries{POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes,
        std::string(testing::kFastPastryYaml) + "plugin_dirs: [plugins]\n");
    ASSERT_TRUE(cluster_->ok()) << cluster_->error();
    ASSERT_TRUE(cluster_->add_user(kAliceNode, "Alice", kAlice)) << cluster_->error();
    ASSERT_TRUE(cluster_->add_user(kBobNode, "Bob", kBob)) << cluster_->error();
    // After add_user, which rewrites the configurations.
    for (int i : {kAliceNode, kBobNode}) {
      smtp_port_[i] = testing::free_port();
      // Every listener on a port of its own: two nodes of one machine cannot share IMAP's
      // default port.
      imap_port_[i] = testing::free_port();
      std::ofstream(dir_.file("node" + std::to_string(i) + ".yaml"), std::ios::app)
          << "plugins:\n"
          << "  - name: email\n"
          << "    path: plugins/email.so\n"
          << "    config: {smtp_listen: \"127.0.0.1:" << smtp_port_[i]
          << "\", imap_listen: \"127.0.0.1:" << imap_port_[i] << "\", hostname: node" << i
          << ".example.org, passwd_file: \"" << dir_.file("passwd")
          << "\", max_message_bytes: " << kMaxMessageBytes << "}\n";
    }
    cluster_->start_all();
    for (int i = 0; i < kNodes; ++i) {
      std::string why;
      ASSERT_TRUE(cluster_->wait_ready(i, 60s, &why)) << why;
    }
    ASSERT_NO_FATAL_FAILURE(wait_published(kAliceNode, kAlice));
    ASSERT_NO_FATAL_FAILURE(wait_published(kBobNode, kBob));
  }

  void wait_published(int i, const std::string& email) {
    std::string why;
    ASSERT_TRUE(cluster_->wait_published(i, email, 60s, &why)) << why;
  }

  // Runs the smtplib client against node i; the "result: ..." line it printed.
  std::string submit(int i, const std::string& user, const std::string& password,
                     const std::string& mail_from, const std::string& rcpt) {
    static int runs = 0;
    std::string log = dir_.file("smtp." + std::to_string(runs++) + ".log");
    testing::run_command({"/usr/bin/python3", dir_.file("client.py"), std::to_string(smtp_port_[i]),
                          user, password, mail_from, rcpt},
                         log);
    std::string out = testing::read_file(log);
    auto at = out.find("result: ");
    return at == std::string::npos ? out : out.substr(at, out.find('\n', at) - at);
  }

  // What swaks did: its exit status (0: every reply was the expected one; 26: the message was
  // refused after DATA; 28: AUTH failed) and its transcript.
  struct SwaksRun {
    int exit_code = -1;
    std::string transcript;
  };

  // Runs swaks against node i's SMTP port: EHLO, AUTH PLAIN as `user`, then what `args` says
  // (--from, --to, --body, --data, ...).
  SwaksRun swaks(int i, const std::vector<std::string>& args, const std::string& user = kAlice,
                 const std::string& password = kAlicePassword) {
    static int runs = 0;
    SwaksRun run;
    if (!fs::exists(kSwaks)) {
      ADD_FAILURE() << kSwaks << " is missing: tools/install-deps installs it";
      return run;
    }
    std::string log = dir_.file("swaks." + std::to_string(runs++) + ".log");
    std::vector<std::string> argv = {
        kSwaks,   "--server",           "127.0.0.1", "--port",    std::to_string(smtp_port_[i]),
        "--ehlo", "client.example.org", "--auth",    "PLAIN",     "--auth-user",
        user,     "--auth-password",    password,    "--timeout", "60"};
    argv.insert(argv.end(), args.begin(), args.end());
    run.exit_code = testing::run_command(argv, log);
    run.transcript = testing::read_file(log);
    return run;
  }

  // The queue ids ("250 2.0.0 Ok: queued as <id>": the message id's first 16 hex digits) in a
  // swaks transcript, in order.
  static std::vector<std::string> queue_ids(const std::string& transcript) {
    std::vector<std::string> ids;
    std::regex queued("<- +250 2\\.0\\.0 Ok: queued as ([0-9a-f]{16})");
    for (std::sregex_iterator it(transcript.begin(), transcript.end(), queued), end; it != end;
         ++it) {
      ids.push_back((*it)[1].str());
    }
    return ids;
  }

  struct Delivered {
    std::string message_id;  // 64 hex digits
    int log_index = -1;
  };

  // Waits (up to 30 s) for node i's email plugin to log that it appended the message whose id
  // starts with `queue_id` to `user`'s INBOX. A failure names what the logs say.
  Delivered wait_delivered(int i, const std::string& user, const std::string& queue_id) {
    std::string quoted = std::regex_replace(user, std::regex("[.^$|()\\[\\]{}*+?\\\\]"), "\\$&");
    std::regex delivered("email: delivered message (" + queue_id + "[0-9a-f]{" +
                         std::to_string(64 - queue_id.size()) + "}) to " + quoted +
                         "'s INBOX at log index ([0-9]+)");
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      std::string log = cluster_->log(i);
      std::smatch m;
      if (std::regex_search(log, m, delivered)) return {m[1].str(), std::stoi(m[2].str())};
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "node" << i << " did not deliver message " << queue_id << " to " << user
                      << "'s INBOX\n"
                      << all_logs();
        return {};
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  // The payload of the email notification node i holds for `user` with message id `id`.
  std::optional<email::DeliveryPayload> payload_of(int i, const std::string& user,
                                                   const std::string& id) {
    auto run = cluster_->postctl(i, {"notifications", "--user", user});
    if (run.exit_code != 0 || !run.json.contains("notifications")) {
      ADD_FAILURE() << "postctl notifications --user " << user << ": " << run.out;
      return std::nullopt;
    }
    for (const auto& n : run.json["notifications"]) {
      if (n.value("application", "") != "email") continue;
      auto bytes = crypto::base64_decode(n.value("app_data_base64", ""));
      if (!bytes) continue;
      std::string why;
      auto payload = email::decode_payload(to_string(*bytes), &why);
      if (payload && email::hex(payload->message_id) == id) return payload;
    }
    ADD_FAILURE() << "no email notification for message " << id << " at node" << i << ":\n"
                  << run.out;
    return std::nullopt;
  }

  // Sends one message with swaks (`args` after the defaults from alice to bob) and waits until
  // bob's node delivered it; its payload as bob's node holds it.
  std::optional<email::DeliveryPayload> send_to_bob(const std::vector<std::string>& args,
                                                    SwaksRun* run_out = nullptr) {
    std::vector<std::string> all = {"--from", kAlice, "--to", kBob};
    all.insert(all.end(), args.begin(), args.end());
    SwaksRun run = swaks(kAliceNode, all);
    if (run_out) *run_out = run;
    if (run.exit_code != 0) {
      ADD_FAILURE() << "swaks exited with " << run.exit_code << ":\n" << run.transcript;
      return std::nullopt;
    }
    auto ids = queue_ids(run.transcript);
    if (ids.size() != 1) {
      ADD_FAILURE() << "expected one queued message in:\n" << run.transcript;
      return std::nullopt;
    }
    Delivered d = wait_delivered(kBobNode, kBob, ids[0]);
    if (d.message_id.empty()) return std::nullopt;
    return payload_of(kBobNode, kBob, d.message_id);
  }

  // Writes a message of exactly `bytes` bytes (CRLF lines of text under a text/plain header)
  // to `name` in the test's directory; returns its path.
  std::string write_message(const std::string& name, std::size_t bytes) {
    std::string m = "From: Alice <" + kAlice + ">\r\nTo: Bob <" + kBob + ">\r\nSubject: " + name +
                    "\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\nMessage-ID: <" + name +
                    "@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n";
    m.reserve(bytes);
    for (std::size_t line = 0; m.size() < bytes; ++line) {
      std::string text = "line " + std::to_string(line) + " of " + name + ": ";
      text.append(76 - text.size() % 76, static_cast<char>('a' + line % 26));
      text += "\r\n";
      m += text;
    }
    m.resize(bytes - 2);  // the last line may be cut: end it again
    if (m.back() == '\r') m.back() = '.';
    m += "\r\n";
    std::string path = dir_.file(name);
    std::ofstream(path, std::ios::binary) << m;
    return path;
  }

  std::string all_logs() {
    std::string logs;
    for (int i = 0; i < kNodes; ++i) {
      logs += "---- node" + std::to_string(i) + "\n" + cluster_->log(i);
    }
    return logs;
  }

  testing::TempDir dir_;
  std::unique_ptr<PostdCluster> cluster_;
  unsigned short smtp_port_[kNodes] = {};
  unsigned short imap_port_[kNodes] = {};
};

TEST_F(EmailInPostd, AMessageAliceSubmitsLandsInBobsInbox) {
  EXPECT_EQ(submit(kAliceNode, kAlice, kAlicePassword, kAlice, kBob), "result: sent 250")
      << all_logs();

  // Bob's node received one notification of the application "email" from alice...
  nlohmann::json notifications;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto run = cluster_->postctl(kBobNode, {"notifications", "--user", kBob});
    if (run.exit_code == 0 && run.json.contains("notifications") &&
        !run.json["notifications"].empty()) {
      notifications = run.json["notifications"];
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << run.out << all_logs();
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_EQ(notifications.size(), 1u) << notifications.dump();
  EXPECT_EQ(notifications[0]["application"], "email");
  EXPECT_EQ(notifications[0]["sender_email"], kAlice);

  // ...and its email plugin appended the Insert to bob's INBOX, as the first record.
  std::regex delivered("email: delivered message ([0-9a-f]{64}) to " + kBob +
                       "'s INBOX at log index 0");
  deadline = std::chrono::steady_clock::now() + 20s;
  while (!std::regex_search(cluster_->log(kBobNode), delivered)) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << all_logs();
    std::this_thread::sleep_for(200ms);
  }
  std::smatch m;
  std::string bob_log = cluster_->log(kBobNode);
  ASSERT_TRUE(std::regex_search(bob_log, m, delivered));
  // The sender's node names the same message id.
  EXPECT_THAT(cluster_->log(kAliceNode),
              HasSubstr("sent message " + m[1].str() + " from " + kAlice));

  // Both plugins reloaded live: the SMTP port stays, and the next message is bob's second.
  for (int i : {kAliceNode, kBobNode}) {
    auto reload = cluster_->postctl(i, {"reload", "email"});
    ASSERT_EQ(reload.exit_code, 0) << reload.out << all_logs();
  }
  EXPECT_EQ(submit(kAliceNode, kAlice, kAlicePassword, kAlice, kBob), "result: sent 250")
      << all_logs();
  deadline = std::chrono::steady_clock::now() + 20s;
  while (cluster_->log(kBobNode).find("'s INBOX at log index 1") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << all_logs();
    std::this_thread::sleep_for(200ms);
  }
}

TEST_F(EmailInPostd, AWrongPasswordIsRefused) {
  EXPECT_EQ(submit(kAliceNode, kAlice, "not the password", kAlice, kBob),
            "result: auth-refused 535")
      << all_logs();
  EXPECT_THAT(cluster_->log(kBobNode), ::testing::Not(HasSubstr("delivered message")));
}

TEST_F(EmailInPostd, AMailFromThatIsNotTheUserIsRefused) {
  std::string result = submit(kAliceNode, kAlice, kAlicePassword, "mallory@example.org", kBob);
  EXPECT_THAT(result, ::testing::StartsWith("result: data-refused 553")) << all_logs();
  EXPECT_THAT(cluster_->log(kAliceNode), ::testing::Not(HasSubstr("sent message")));
}

TEST_F(EmailInPostd, AnUnknownRecipientIsRefusedAfterData) {
  std::string result = submit(kAliceNode, kAlice, kAlicePassword, kAlice, "carol@example.org");
  EXPECT_THAT(result, ::testing::StartsWith("result: data-refused 550")) << all_logs();
}

TEST_F(EmailInPostd, ARecipientOutsideEpostIsRefusedAtRcptWithoutABridge) {
  SwaksRun run = swaks(
      kAliceNode, {"--from", kAlice, "--to", "friend@elsewhere.net", "--body", "hello from ePOST"});
  EXPECT_EQ(run.exit_code, 24) << run.transcript;  // swaks: the server refused every RCPT
  EXPECT_THAT(run.transcript,
              HasSubstr("550 5.7.1 mail to elsewhere.net would leave ePOST, and this node has "
                        "no SMTP bridge"));
  EXPECT_THAT(cluster_->log(kAliceNode), ::testing::Not(HasSubstr("sent message")));
}

TEST_F(EmailInPostd, ANotificationThatIsNotAMessageIsDroppedNotDelivered) {
  auto run = cluster_->postctl(kAliceNode, {"--timeout", "40", "notify", "--from", kAlice, "--to",
                                            kBob, "--app", "email", "--data", "garbage"});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (cluster_->log(kBobNode).find("email: dropped an email notification from " + kAlice) ==
         std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << all_logs();
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_THAT(cluster_->log(kBobNode), ::testing::Not(HasSubstr("delivered message")));
  EXPECT_TRUE(cluster_->running(kBobNode));
}

// swaks, a real SMTP client, against the same ring.

TEST_F(EmailInPostd, SwaksPlainTextMessageLandsInBobsInbox) {
  SwaksRun run;
  auto payload = send_to_bob({"--header", "Subject: Plain text from swaks", "--body",
                              "Shall we meet at noon?\nBring the map."},
                             &run);
  ASSERT_TRUE(payload);
  EXPECT_THAT(run.transcript, HasSubstr("<-  235 "));  // AUTH PLAIN accepted
  EXPECT_EQ(payload->subject, "Plain text from swaks");
  EXPECT_EQ(payload->mail_from, kAlice);
  EXPECT_EQ(payload->to, kBob);
  EXPECT_EQ(payload->parts.size(), 1u);
  EXPECT_THAT(cluster_->log(kAliceNode),
              HasSubstr("sent message " + email::hex(payload->message_id) + " from " + kAlice +
                        " to 1 recipient(s)"));
}

TEST_F(EmailInPostd, SwaksMultipartMessageWithAnAttachmentKeepsBothParts) {
  std::string attachment = dir_.file("notes.pdf");
  {
    std::ofstream out(attachment, std::ios::binary);
    for (int i = 0; i < 48 * 1024; ++i) out.put(static_cast<char>((i * 7919) % 251));
  }
  auto payload = send_to_bob({"--header", "Subject: The notes", "--body", "The notes are attached.",
                              "--attach-type", "application/pdf", "--attach-name", "notes.pdf",
                              "--attach", "@" + attachment});
  ASSERT_TRUE(payload);
  EXPECT_EQ(payload->subject, "The notes");
  // The text and the attachment, each a body of its own in the secure store.
  ASSERT_EQ(payload->parts.size(), 2u);
  for (const auto& part : payload->parts) EXPECT_NE(part.handle, decltype(part.handle){});
  EXPECT_NE(payload->parts[0].handle, payload->parts[1].handle);
  EXPECT_GT(payload->size, 48u * 1024 * 4 / 3);  // the attachment, base64-encoded
}

TEST_F(EmailInPostd, SwaksTenMiBMessageIsDeliveredWhole) {
  constexpr std::size_t kBytes = 10 * 1024 * 1024;
  std::string message = write_message("ten-mib", kBytes);
  ASSERT_EQ(fs::file_size(message), kBytes);
  SwaksRun run;
  auto payload = send_to_bob({"--data", "@" + message, "--suppress-data"}, &run);
  ASSERT_TRUE(payload) << run.transcript.substr(0, 4096);
  EXPECT_EQ(payload->subject, "ten-mib");
  // To the byte as swaks submitted it: swaks ends DATA with CRLF "." CRLF after the file's own
  // last CRLF, so the message gets one empty line more than the file.
  EXPECT_EQ(payload->size, kBytes + 2);
  EXPECT_EQ(payload->parts.size(), 1u);
}

TEST_F(EmailInPostd, SwaksUtf8HeadersArriveIntact) {
  const std::string subject = "Grüße aus Zürich — 日本語 🙂";
  SwaksRun run;
  auto payload =
      send_to_bob({"--header", "Subject: " + subject, "--header",
                   "From: Ålice Ünicode <" + kAlice + ">", "--add-header", "MIME-Version: 1.0",
                   "--add-header", "Content-Type: text/plain; charset=utf-8", "--add-header",
                   "Content-Transfer-Encoding: 8bit", "--body", "Ça va? Привет."},
                  &run);
  ASSERT_TRUE(payload);
  // The server offers SMTPUTF8 and 8BITMIME (swaks 20201014, Debian 12's, cannot send the
  // SMTPUTF8 MAIL parameter itself, so the UTF-8 is in headers and body only).
  EXPECT_THAT(run.transcript, HasSubstr("<-  250-SMTPUTF8"));
  EXPECT_THAT(run.transcript, HasSubstr("<-  250-8BITMIME"));
  EXPECT_EQ(payload->subject, subject);
  EXPECT_EQ(payload->from, kAlice);
}

TEST_F(EmailInPostd, SwaksPipelinedTransactionsAreEachDelivered) {
  // Two transactions, each with MAIL, both RCPTs and DATA sent as one batch (RFC 2920), to bob
  // and to alice herself.
  for (int round = 0; round < 2; ++round) {
    SwaksRun run = swaks(kAliceNode, {"--pipeline", "--from", kAlice, "--to", kBob + "," + kAlice,
                                      "--header", "Subject: pipelined " + std::to_string(round)});
    ASSERT_EQ(run.exit_code, 0) << run.transcript << all_logs();
    // swaks pipelined: its MAIL, RCPT, RCPT and DATA went out before the first reply came.
    EXPECT_TRUE(std::regex_search(run.transcript,
                                  std::regex(" -> MAIL FROM:<[^>]*>\\n -> RCPT TO:<[^>]*>\\n"
                                             " -> RCPT TO:<[^>]*>\\n -> DATA\\n")))
        << run.transcript;
    auto ids = queue_ids(run.transcript);
    ASSERT_EQ(ids.size(), 1u) << run.transcript;
    Delivered to_bob = wait_delivered(kBobNode, kBob, ids[0]);
    Delivered to_alice = wait_delivered(kAliceNode, kAlice, ids[0]);
    EXPECT_EQ(to_bob.log_index, round);
    EXPECT_EQ(to_alice.log_index, round);
    EXPECT_EQ(to_bob.message_id, to_alice.message_id);
  }
}

TEST_F(EmailInPostd, SwaksMessageOverMaxMessageBytesGets552AndIsNotSent) {
  std::string message = write_message("too-big", kMaxMessageBytes + 64 * 1024);
  SwaksRun run = swaks(
      kAliceNode, {"--from", kAlice, "--to", kBob, "--data", "@" + message, "--suppress-data"});
  EXPECT_EQ(run.exit_code, 26) << run.transcript;  // "server did not accept mail following data"
  EXPECT_THAT(run.transcript, HasSubstr("<** 552 5.3.4 "));
  EXPECT_THAT(run.transcript, HasSubstr("SIZE " + std::to_string(kMaxMessageBytes)));
  EXPECT_THAT(cluster_->log(kAliceNode), ::testing::Not(HasSubstr("sent message")));
  EXPECT_THAT(cluster_->log(kBobNode), ::testing::Not(HasSubstr("delivered message")));
}

TEST_F(EmailInPostd, SwaksWrongPasswordGets535AndNothingIsDelivered) {
  SwaksRun run = swaks(kAliceNode, {"--from", kAlice, "--to", kBob}, kAlice, "not the password");
  EXPECT_EQ(run.exit_code, 28) << run.transcript;  // "error in AUTH transaction"
  EXPECT_THAT(run.transcript, HasSubstr("<** 535 "));
  // swaks stops at the refused AUTH: no transaction began, so nothing can be delivered.
  EXPECT_THAT(run.transcript, ::testing::Not(HasSubstr("MAIL FROM")));
  EXPECT_THAT(cluster_->log(kAliceNode), ::testing::Not(HasSubstr("sent message")));
  EXPECT_THAT(cluster_->log(kAliceNode), HasSubstr("SMTP AUTH failed for a client on 127.0.0.1"));
  EXPECT_THAT(cluster_->log(kBobNode), ::testing::Not(HasSubstr("delivered message")));
}

TEST(EmailConfig, BadConfigurationIsRefusedAtInitWithTheReason) {
  testing::TempDir dir;
  fs::create_directories(fs::path(dir.path()) / "plugins");
  fs::copy_file(POST_PLUGIN_EMAIL, fs::path(dir.path()) / "plugins" / "email.so");
  std::ofstream(dir.file("bad-passwd")) << kAlice << ":plaintext\n";
  PostdCluster cluster(dir, ClusterBinaries{POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, 1,
                       std::string(testing::kFastPastryYaml) + "plugin_dirs: [plugins]\n");
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  std::ofstream(dir.file("node0.yaml"), std::ios::app)
      << "plugins:\n"
      << "  - {name: no-passwd, path: plugins/email.so, config: {smtp_listen: \"127.0.0.1:0\"}}\n"
      << "  - {name: bad-passwd, path: plugins/email.so, config: {passwd_file: \""
      << dir.file("bad-passwd") << "\"}}\n"
      << "  - {name: bad-size, path: plugins/email.so, config: {passwd_file: \""
      << dir.file("bad-passwd") << "\", max_message_bytes: 0}}\n";
  cluster.start(0);
  std::string why;
  ASSERT_TRUE(cluster.wait_ready(0, 60s, &why)) << why;
  auto run = cluster.postctl(0, {"plugins"});
  std::map<std::string, nlohmann::json> all;
  for (const auto& p : run.json["plugins"]) all[p.value("name", "")] = p;
  EXPECT_EQ(all["no-passwd"].value("state", ""), "not loaded") << run.out;
  EXPECT_THAT(all["no-passwd"].value("error", ""), HasSubstr("passwd_file is required"));
  EXPECT_THAT(all["bad-passwd"].value("error", ""),
              HasSubstr("line 1: the password is not {CRYPT}<hash>"));
  EXPECT_THAT(all["bad-size"].value("error", ""), HasSubstr("max_message_bytes must be 1 to"));
}

// The payload codec and the flat layout, without a node.

std::string reassemble_flat(std::string_view flat, const std::vector<std::string>& bodies) {
  std::string out;
  std::size_t at = 4;  // "EFL" + version
  auto le = [&](int n) {
    std::size_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= std::size_t{static_cast<unsigned char>(flat[at + static_cast<std::size_t>(i)])}
           << (8 * i);
    at += static_cast<std::size_t>(n);
    return v;
  };
  while (at < flat.size()) {
    char tag = flat[at++];
    if (tag == 0) {
      std::size_t n = le(4);
      out.append(flat.substr(at, n));
      at += n;
    } else {
      out.append(bodies.at(le(2)));
    }
  }
  return out;
}

TEST(EmailDeliveryPayload, FlatLayoutAndBodiesGiveTheMessageBack) {
  const std::string message =
      "From: a@x\r\nTo: b@y\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\npreamble\r\n"
      "--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
      "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@z\r\nSubject: in\r\n\r\ninner\r\n"
      "--b1--\r\nepilogue\r\n";
  auto d = email::decompose(message);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(reassemble_flat(email::flatten_layout(d->layout), d->bodies), message);
}

TEST(EmailDeliveryPayload, RoundTripsAndRefusesGarbage) {
  email::DeliveryPayload p;
  p.message_id = email::sha256("m");
  p.size = 1234;
  p.sent_at = 1790000000;
  p.mail_from = kAlice;
  p.subject = std::string(1000, 's');       // cut to kMaxSummaryFieldBytes
  p.layout = std::string("I") + "EFL\x01";  // an inline flat layout
  p.parts.resize(email::kMaxPayloadParts);
  p.parts[3].key[0] = 7;
  std::string bytes = email::encode_payload(p);
  EXPECT_LE(bytes.size(), email::kMaxPayloadBytes);
  std::string why;
  auto back = email::decode_payload(bytes, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->message_id, p.message_id);
  EXPECT_EQ(back->size, 1234u);
  EXPECT_EQ(back->sent_at, 1790000000);
  EXPECT_EQ(back->subject.size(), email::kMaxSummaryFieldBytes);
  EXPECT_EQ(back->layout, p.layout);
  ASSERT_EQ(back->parts.size(), email::kMaxPayloadParts);
  EXPECT_EQ(back->parts[3].key[0], 7);

  EXPECT_FALSE(email::decode_payload("", &why));
  EXPECT_FALSE(email::decode_payload("garbage", &why));
  EXPECT_FALSE(email::decode_payload(bytes + "x", &why));
  EXPECT_EQ(why, "trailing bytes");
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
    EXPECT_FALSE(email::decode_payload(bytes.substr(0, cut), &why)) << cut;
  }
}

}  // namespace
}  // namespace post
