#include "plugins/email/smtp/smtp_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace post::email {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A submission port reached over the network: STARTTLS offered, AUTH only after it.
SmtpOptions network_options() {
  SmtpOptions options;
  options.hostname = "node.example";
  options.tls_available = true;
  return options;
}

// A client on loopback: AUTH allowed in plaintext.
SmtpOptions loopback_options() {
  SmtpOptions options;
  options.hostname = "node.example";
  options.loopback = true;
  return options;
}

std::string plain_response(std::string_view user, std::string_view password) {
  std::string message;
  message.push_back('\0');
  message += user;
  message.push_back('\0');
  message += password;
  return encode_base64(message);
}

// Drives a session like a connection would: feeds bytes, collects reply lines and events.
class Client {
 public:
  explicit Client(SmtpOptions options = loopback_options()) : session(std::move(options)) {
    collect();
  }

  void send(std::string_view bytes) {
    session.feed(bytes);
    collect();
  }

  // Reply lines received since the last call, without CRLF.
  std::vector<std::string> replies() {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
      std::size_t end = output_.find("\r\n", start);
      if (end == std::string::npos) break;
      lines.push_back(output_.substr(start, end - start));
      start = end + 2;
    }
    output_.erase(0, start);
    return lines;
  }

  // The one reply line received since the last call.
  std::string reply() {
    auto lines = replies();
    EXPECT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
    return lines.empty() ? std::string() : lines.back();
  }

  // Sends `line` + CRLF and returns the one reply line it got.
  std::string command(std::string_view line) {
    send(std::string(line) + "\r\n");
    return reply();
  }

  // Takes the oldest event, which must be an E.
  template <class E>
  E event() {
    EXPECT_FALSE(events.empty()) << "no event";
    if (events.empty()) return E{};
    SmtpEvent front = std::move(events.front());
    events.erase(events.begin());
    E* typed = std::get_if<E>(&front);
    EXPECT_NE(typed, nullptr) << "event of another type, index " << front.index();
    return typed ? std::move(*typed) : E{};
  }

  void auth_result(AuthVerdict verdict) {
    session.auth_result(verdict);
    collect();
  }
  void rcpt_result(const SmtpVerdict& verdict) {
    session.rcpt_result(verdict);
    collect();
  }
  void message_result(const SmtpVerdict& verdict) {
    session.message_result(verdict);
    collect();
  }
  void tls_started() {
    session.tls_started();
    collect();
  }

  // EHLO, its reply dropped.
  void ehlo() {
    send("EHLO client.example\r\n");
    (void)replies();
  }

  // EHLO, then AUTH PLAIN as alice, accepted.
  void log_in() {
    ehlo();
    send("AUTH PLAIN " + plain_response("alice", "secret") + "\r\n");
    (void)event<AuthRequest>();
    auth_result(AuthVerdict::kAccepted);
    EXPECT_THAT(reply(), StartsWith("235 2.7.0"));
  }

  // MAIL FROM and one accepted RCPT TO, then DATA.
  void start_message(std::string_view from = "<alice@node.example>",
                     std::string_view to = "<bob@post.example>") {
    EXPECT_THAT(command("MAIL FROM:" + std::string(from)), StartsWith("250 2.1.0"));
    send("RCPT TO:" + std::string(to) + "\r\n");
    (void)event<RcptRequest>();
    rcpt_result(SmtpVerdict::accept());
    EXPECT_THAT(reply(), StartsWith("250 2.1.5"));
    EXPECT_THAT(command("DATA"), StartsWith("354 "));
  }

  SmtpSession session;
  std::vector<SmtpEvent> events;

 private:
  void collect() {
    output_ += session.take_output();
    while (auto e = session.next_event()) events.push_back(std::move(*e));
  }

  std::string output_;
};

// ---------------------------------------------------------------------------------------------
// Greeting, EHLO, a whole transaction
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, GreetsWith220AndNoEnhancedCode) {
  Client client;
  EXPECT_EQ(client.reply(), "220 node.example ESMTP POST");
}

TEST(SmtpSession, EhloOverTheNetworkOffersStartTlsButNotAuth) {
  Client client(network_options());
  (void)client.replies();
  client.send("EHLO client.example\r\n");
  EXPECT_THAT(client.replies(),
              ElementsAre("250-node.example", "250-SIZE 26214400", "250-PIPELINING", "250-8BITMIME",
                          "250-SMTPUTF8", "250-ENHANCEDSTATUSCODES", "250 STARTTLS"));
  EXPECT_EQ(client.session.client_hostname(), "client.example");
}

TEST(SmtpSession, EhloOnLoopbackOffersAuthWithoutTls) {
  Client client;
  (void)client.replies();
  client.send("EHLO [127.0.0.1]\r\n");
  auto lines = client.replies();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "250 AUTH PLAIN LOGIN");
}

TEST(SmtpSession, HeloAnswersWithoutExtensions) {
  Client client;
  (void)client.replies();
  EXPECT_EQ(client.command("HELO client.example"), "250 node.example");
  // MAIL parameters and AUTH need EHLO.
  EXPECT_THAT(client.command("AUTH PLAIN"), StartsWith("503 5.5.1"));
}

TEST(SmtpSession, HelloNeedsAHostname) {
  Client client;
  (void)client.replies();
  EXPECT_THAT(client.command("EHLO"), StartsWith("501 5.5.4"));
  EXPECT_THAT(client.command("HELO"), StartsWith("501 5.5.4"));
  EXPECT_THAT(client.command("EHLO bad\x01name"), StartsWith("501 5.5.4"));
}

TEST(SmtpSession, DeliversACompleteTransaction) {
  Client client;
  (void)client.replies();
  client.log_in();
  EXPECT_EQ(client.session.authenticated_user(), "alice");
  EXPECT_EQ(client.command("MAIL FROM:<alice@node.example> BODY=8BITMIME SIZE=42"), "250 2.1.0 Ok");
  client.send("RCPT TO:<bob@post.example>\r\n");
  EXPECT_THAT(client.replies(), IsEmpty());  // waits for the caller
  auto rcpt = client.event<RcptRequest>();
  EXPECT_EQ(rcpt.address, "bob@post.example");
  EXPECT_EQ(rcpt.path.domain, "post.example");
  client.rcpt_result(SmtpVerdict::accept());
  EXPECT_EQ(client.reply(), "250 2.1.5 Ok");
  EXPECT_EQ(client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
  client.send("Subject: hi\r\n\r\nHello Bob.\r\n.\r\n");
  EXPECT_THAT(client.replies(), IsEmpty());
  auto message = client.event<MessageReceived>();
  EXPECT_EQ(message.mail_from, "alice@node.example");
  EXPECT_THAT(message.rcpt_to, ElementsAre("bob@post.example"));
  EXPECT_EQ(message.params.body, BodyType::k8BitMime);
  EXPECT_EQ(message.params.size, 42u);
  EXPECT_EQ(message.data, "Subject: hi\r\n\r\nHello Bob.\r\n");
  client.message_result(SmtpVerdict::queued("Q1234"));
  EXPECT_EQ(client.reply(), "250 2.0.0 Ok: queued as Q1234");
  EXPECT_EQ(client.command("QUIT"), "221 2.0.0 node.example closing connection");
  EXPECT_EQ(client.event<Close>().reason, CloseReason::kQuit);
  EXPECT_TRUE(client.session.closed());
  client.send("NOOP\r\n");
  EXPECT_THAT(client.replies(), IsEmpty());
}

TEST(SmtpSession, AcceptsTheNullReversePath) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message("<>");
  client.send(".\r\n");
  EXPECT_EQ(client.event<MessageReceived>().mail_from, "");
}

TEST(SmtpSession, RsetEndsTheTransaction) {
  Client client;
  (void)client.replies();
  client.log_in();
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
  client.send("RCPT TO:<bob@post.example>\r\n");
  (void)client.event<RcptRequest>();
  client.rcpt_result(SmtpVerdict::accept());
  (void)client.replies();
  EXPECT_EQ(client.command("RSET"), "250 2.0.0 Ok");
  EXPECT_THAT(client.command("DATA"), StartsWith("503 5.5.1"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
  EXPECT_THAT(client.command("RSET now"), StartsWith("501 5.5.4"));
}

TEST(SmtpSession, AnswersNoopVrfyHelpAndRefusesExpnAndBdat) {
  Client client;
  (void)client.replies();
  EXPECT_EQ(client.command("NOOP"), "250 2.0.0 Ok");
  EXPECT_EQ(client.command("NOOP anything"), "250 2.0.0 Ok");
  EXPECT_THAT(client.command("VRFY bob"), StartsWith("252 2.5.0"));
  EXPECT_THAT(client.command("VRFY"), StartsWith("501 5.5.4"));
  EXPECT_THAT(client.command("HELP"), StartsWith("214 2.0.0"));
  EXPECT_THAT(client.command("EXPN staff"), StartsWith("502 5.5.1"));
  EXPECT_THAT(client.command("BDAT 10 LAST"), StartsWith("502 5.5.1"));
  EXPECT_THAT(client.command("QUIT now"), StartsWith("501 5.5.4"));
}

// ---------------------------------------------------------------------------------------------
// Pipelining
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, PipelinedCommandsAreAnsweredInOrderAsAnswersArrive) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.send(
      "MAIL FROM:<alice@node.example>\r\n"
      "RCPT TO:<bob@post.example>\r\n"
      "RCPT TO:<nobody@post.example>\r\n"
      "RCPT TO:<carol@elsewhere.example>\r\n"
      "DATA\r\n");
  EXPECT_THAT(client.replies(), ElementsAre("250 2.1.0 Ok"));
  EXPECT_TRUE(client.session.awaiting_answer());
  EXPECT_EQ(client.event<RcptRequest>().address, "bob@post.example");
  EXPECT_TRUE(client.events.empty());  // one question at a time
  client.rcpt_result(SmtpVerdict::accept());
  EXPECT_THAT(client.replies(), ElementsAre("250 2.1.5 Ok"));
  EXPECT_EQ(client.event<RcptRequest>().address, "nobody@post.example");
  client.rcpt_result(SmtpVerdict::permanent_failure("No such ePOST user"));
  EXPECT_THAT(client.replies(), ElementsAre("550 5.1.1 No such ePOST user"));
  EXPECT_EQ(client.event<RcptRequest>().address, "carol@elsewhere.example");
  client.rcpt_result(SmtpVerdict::accept("Ok, via the SMTP bridge"));
  EXPECT_THAT(client.replies(), ElementsAre("250 2.1.5 Ok, via the SMTP bridge",
                                            "354 End data with <CR><LF>.<CR><LF>"));
  // After the message, the client may pipeline the next transaction and QUIT.
  client.send(
      "body\r\n.\r\n"
      "MAIL FROM:<alice@node.example>\r\n"
      "QUIT\r\n");
  auto message = client.event<MessageReceived>();
  EXPECT_THAT(message.rcpt_to, ElementsAre("bob@post.example", "carol@elsewhere.example"));
  EXPECT_THAT(client.replies(), IsEmpty());
  client.message_result(SmtpVerdict::temporary_failure());
  EXPECT_THAT(client.replies(),
              ElementsAre(StartsWith("451 4.3.0"), "250 2.1.0 Ok", StartsWith("221 2.0.0")));
  EXPECT_EQ(client.event<Close>().reason, CloseReason::kQuit);
}

// The same session, fed whole or a byte at a time, answered the same way, says the same.
std::string run_session(std::string_view script, std::size_t chunk) {
  SmtpSession session(loopback_options());
  std::string output = session.take_output();
  std::vector<std::string> payloads;
  auto answer_events = [&] {
    while (auto event = session.next_event()) {
      if (std::holds_alternative<AuthRequest>(*event)) {
        session.auth_result(std::get<AuthRequest>(*event).password == "secret");
      } else if (auto* rcpt = std::get_if<RcptRequest>(&*event)) {
        session.rcpt_result(rcpt->path.domain == "post.example" ? SmtpVerdict::accept()
                                                                : SmtpVerdict::permanent_failure());
      } else if (auto* message = std::get_if<MessageReceived>(&*event)) {
        payloads.push_back(message->data);
        session.message_result(SmtpVerdict::queued(std::to_string(payloads.size())));
      }
      output += session.take_output();
    }
  };
  for (std::size_t i = 0; i < script.size(); i += chunk) {
    session.feed(script.substr(i, chunk));
    output += session.take_output();
    answer_events();
  }
  for (const auto& payload : payloads) output += "[" + payload + "]";
  return output;
}

TEST(SmtpSession, GivesTheSameRepliesHoweverTheInputIsCut) {
  const std::string script =
      "EHLO client\r\n"
      "AUTH PLAIN " +
      plain_response("alice", "wrong") +
      "\r\n"
      "AUTH LOGIN\r\n" +
      encode_base64("alice") + "\r\n" + encode_base64("secret") +
      "\r\n"
      "MAIL FROM:<alice@node.example> SIZE=100\r\n"
      "RCPT TO:<bob@post.example>\r\n"
      "RCPT TO:<eve@other.example>\r\n"
      "DATA\r\n"
      "line one\r\n..dotted\r\n\r\n.\r\n"
      "MAIL FROM:<>\r\nRCPT TO:<carol@post.example>\r\nDATA\r\n"
      "x\r\n.\r\n"
      "bogus\r\n"
      "QUIT\r\n";
  std::string whole = run_session(script, script.size());
  EXPECT_THAT(whole, HasSubstr("535 5.7.8"));
  EXPECT_THAT(whole, HasSubstr("250 2.0.0 Ok: queued as 2"));
  EXPECT_THAT(whole, HasSubstr("500 5.5.2"));
  EXPECT_THAT(whole, HasSubstr("[line one\r\n.dotted\r\n\r\n][x\r\n]"));
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u}) {
    EXPECT_EQ(run_session(script, chunk), whole) << "chunk " << chunk;
  }
}

TEST(SmtpSession, DropsPipelinedInputBeyondItsLimitAndClosesAfterTheAnswer) {
  Client client;
  (void)client.replies();
  client.log_in();
  (void)client.command("MAIL FROM:<alice@node.example>");
  client.send("RCPT TO:<bob@post.example>\r\n");
  (void)client.event<RcptRequest>();
  std::string junk(64 * 1024, 'x');
  for (std::size_t sent = 0; sent <= kMaxBufferedInputBytes; sent += junk.size()) {
    client.send(junk);
    EXPECT_LE(client.session.buffered_bytes(), kMaxBufferedInputBytes);
  }
  EXPECT_THAT(client.replies(), IsEmpty());
  client.rcpt_result(SmtpVerdict::accept());
  EXPECT_THAT(client.replies(), ElementsAre("250 2.1.5 Ok", StartsWith("421 4.7.0")));
  EXPECT_EQ(client.event<Close>().reason, CloseReason::kInputOverflow);
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
}

TEST(SmtpSession, IgnoresAnswersToQuestionsNotAsked) {
  Client client;
  (void)client.replies();
  client.rcpt_result(SmtpVerdict::accept());
  client.message_result(SmtpVerdict::queued("x"));
  client.auth_result(AuthVerdict::kAccepted);
  client.tls_started();
  EXPECT_THAT(client.replies(), IsEmpty());
  EXPECT_FALSE(client.session.authenticated());
  EXPECT_FALSE(client.session.tls_active());
}

// ---------------------------------------------------------------------------------------------
// AUTH
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, AuthPlainWithAnInitialResponse) {
  Client client;
  (void)client.replies();
  client.send("EHLO c\r\nAUTH PLAIN " + plain_response("alice", "secret") + "\r\n");
  (void)client.replies();
  auto request = client.event<AuthRequest>();
  EXPECT_EQ(request.mechanism, "PLAIN");
  EXPECT_EQ(request.user, "alice");
  EXPECT_EQ(request.password, "secret");
  EXPECT_EQ(request.authzid, "");
  client.auth_result(AuthVerdict::kAccepted);
  EXPECT_EQ(client.reply(), "235 2.7.0 Authentication successful");
  EXPECT_TRUE(client.session.authenticated());
  EXPECT_THAT(client.command("AUTH PLAIN " + plain_response("alice", "secret")),
              StartsWith("503 5.5.1"));
  // EHLO after AUTH no longer offers it.
  client.send("EHLO c\r\n");
  EXPECT_THAT(client.replies(), ::testing::Not(::testing::Contains("250 AUTH PLAIN LOGIN")));
}

TEST(SmtpSession, AuthPlainWithAContinuation) {
  Client client;
  (void)client.replies();
  client.ehlo();
  EXPECT_EQ(client.command("AUTH PLAIN"), "334 ");
  std::string with_authzid = std::string("alice") + '\0' + "alice" + '\0' + "secret";
  client.send(encode_base64(with_authzid) + "\r\n");
  auto request = client.event<AuthRequest>();
  EXPECT_EQ(request.authzid, "alice");
  EXPECT_EQ(request.user, "alice");
  client.session.auth_result(true);
  client.send("");
  EXPECT_THAT(client.reply(), StartsWith("235 2.7.0"));
}

TEST(SmtpSession, AuthLoginPromptsForUserAndPassword) {
  Client client;
  (void)client.replies();
  client.ehlo();
  EXPECT_EQ(client.command("auth login"), "334 VXNlcm5hbWU6");
  EXPECT_EQ(client.command(encode_base64("alice")), "334 UGFzc3dvcmQ6");
  client.send(encode_base64("secret") + "\r\n");
  auto request = client.event<AuthRequest>();
  EXPECT_EQ(request.mechanism, "LOGIN");
  EXPECT_EQ(request.user, "alice");
  EXPECT_EQ(request.password, "secret");
  client.session.auth_result(true);
  client.send("");
  EXPECT_THAT(client.reply(), StartsWith("235 2.7.0"));
  EXPECT_EQ(client.session.authenticated_user(), "alice");
}

TEST(SmtpSession, AuthLoginWithTheUserAsInitialResponse) {
  Client client;
  (void)client.replies();
  client.ehlo();
  EXPECT_EQ(client.command("AUTH LOGIN " + encode_base64("alice")), "334 UGFzc3dvcmQ6");
  client.send(encode_base64("secret") + "\r\n");
  EXPECT_EQ(client.event<AuthRequest>().user, "alice");
}

TEST(SmtpSession, AWrongPasswordGets535AndNoMailIsAccepted) {
  Client client;
  (void)client.replies();
  client.ehlo();
  client.send("AUTH PLAIN " + plain_response("alice", "guess") + "\r\n");
  (void)client.event<AuthRequest>();
  client.auth_result(AuthVerdict::kRejected);
  EXPECT_EQ(client.reply(), "535 5.7.8 Authentication credentials invalid");
  EXPECT_FALSE(client.session.authenticated());
  EXPECT_EQ(client.command("MAIL FROM:<alice@node.example>"), "530 5.7.0 Authentication required");
  EXPECT_THAT(client.command("RCPT TO:<bob@post.example>"), StartsWith("503 5.5.1"));
  EXPECT_THAT(client.command("DATA"), StartsWith("503 5.5.1"));
  EXPECT_TRUE(client.events.empty());
}

TEST(SmtpSession, AuthTemporaryFailureGets454) {
  Client client;
  (void)client.replies();
  client.ehlo();
  client.send("AUTH PLAIN " + plain_response("alice", "secret") + "\r\n");
  (void)client.event<AuthRequest>();
  client.auth_result(AuthVerdict::kTemporaryFailure);
  EXPECT_EQ(client.reply(), "454 4.7.0 Temporary authentication failure");
}

TEST(SmtpSession, AuthWithoutTlsOffLoopbackGets538) {
  Client client(network_options());
  (void)client.replies();
  (void)client.replies();
  client.send("EHLO c\r\n");
  (void)client.replies();
  EXPECT_EQ(client.command("AUTH PLAIN " + plain_response("alice", "secret")),
            "538 5.7.11 Encryption required for requested authentication mechanism");
  EXPECT_TRUE(client.events.empty());  // the password went nowhere
  EXPECT_EQ(client.command("MAIL FROM:<alice@node.example>"),
            "530 5.7.0 Must issue a STARTTLS command first");
}

TEST(SmtpSession, AuthOverTlsOffLoopbackIsAllowed) {
  SmtpOptions options = network_options();
  options.tls_active = true;  // implicit TLS
  Client client(options);
  (void)client.replies();
  client.send("EHLO c\r\n");
  auto lines = client.replies();
  EXPECT_THAT(lines, ::testing::Contains("250 AUTH PLAIN LOGIN"));
  EXPECT_THAT(lines, ::testing::Not(::testing::Contains(HasSubstr("STARTTLS"))));
  client.send("AUTH PLAIN " + plain_response("alice", "secret") + "\r\n");
  (void)client.event<AuthRequest>();
}

TEST(SmtpSession, AuthCanBeCancelled) {
  Client client;
  (void)client.replies();
  client.ehlo();
  EXPECT_EQ(client.command("AUTH LOGIN"), "334 VXNlcm5hbWU6");
  EXPECT_EQ(client.command("*"), "501 5.7.0 Authentication cancelled");
  EXPECT_EQ(client.command("AUTH PLAIN"), "334 ");
  EXPECT_EQ(client.command("*"), "501 5.7.0 Authentication cancelled");
  EXPECT_EQ(client.command("AUTH PLAIN *"), "501 5.7.0 Authentication cancelled");
  EXPECT_EQ(client.command("NOOP"), "250 2.0.0 Ok");  // back to commands
  EXPECT_TRUE(client.events.empty());
}

TEST(SmtpSession, AuthRefusesMalformedResponses) {
  Client client;
  (void)client.replies();
  client.ehlo();
  EXPECT_EQ(client.command("AUTH PLAIN not*base64"), "501 5.5.2 Cannot decode base64 response");
  EXPECT_THAT(client.command("AUTH PLAIN " + encode_base64("alice:secret")),
              StartsWith("501 5.5.2 Bad PLAIN response"));
  EXPECT_THAT(client.command("AUTH PLAIN ="), StartsWith("501 5.5.2"));
  EXPECT_EQ(client.command("AUTH LOGIN"), "334 VXNlcm5hbWU6");
  EXPECT_THAT(client.command("%%%"), StartsWith("501 5.5.2"));
  EXPECT_EQ(client.command("AUTH CRAM-MD5"), "504 5.5.4 Unrecognized authentication type");
  EXPECT_THAT(client.command("AUTH"), StartsWith("501 5.5.4"));
  EXPECT_THAT(client.command("AUTH PLAIN a b"), StartsWith("501 5.5.4"));
  EXPECT_TRUE(client.events.empty());
}

TEST(SmtpSession, AuthIsRefusedDuringATransaction) {
  SmtpOptions options = loopback_options();
  options.require_auth = false;
  Client client(options);
  (void)client.replies();
  client.ehlo();
  EXPECT_THAT(client.command("MAIL FROM:<a@b.example>"), StartsWith("250"));
  EXPECT_THAT(client.command("AUTH PLAIN " + plain_response("a", "b")), StartsWith("503 5.5.1"));
}

// ---------------------------------------------------------------------------------------------
// STARTTLS
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, StartTlsDiscardsPlaintextPipelinedBehindIt) {
  Client client(network_options());
  (void)client.replies();
  (void)client.replies();
  client.send(
      "EHLO c\r\n"
      "STARTTLS\r\n"
      "AUTH PLAIN " +
      plain_response("alice", "secret") +
      "\r\n"
      "MAIL FROM:<injected@evil.example>\r\n");
  auto lines = client.replies();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "220 2.0.0 Ready to start TLS");
  (void)client.event<StartTls>();
  EXPECT_TRUE(client.events.empty());
  client.send("RCPT TO:<more@evil.example>\r\n");  // still plaintext, before the handshake
  client.tls_started();
  EXPECT_THAT(client.replies(), IsEmpty());  // no greeting after TLS
  EXPECT_TRUE(client.events.empty());
  EXPECT_TRUE(client.session.tls_active());
  // EHLO was forgotten; the injected commands never ran.
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("503 5.5.1"));
  client.send("EHLO c\r\n");
  lines = client.replies();
  EXPECT_THAT(lines, ::testing::Contains("250 AUTH PLAIN LOGIN"));
  EXPECT_THAT(lines, ::testing::Not(::testing::Contains(HasSubstr("STARTTLS"))));
  EXPECT_THAT(client.command("STARTTLS"), StartsWith("503 5.5.1"));
}

TEST(SmtpSession, StartTlsForgetsAuthenticationAndTheTransaction) {
  SmtpOptions options = loopback_options();
  options.tls_available = true;
  Client client(options);
  (void)client.replies();
  client.log_in();
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
  EXPECT_THAT(client.command("STARTTLS"), StartsWith("220 2.0.0"));
  client.tls_started();
  EXPECT_FALSE(client.session.authenticated());
  EXPECT_EQ(client.session.authenticated_user(), "");
  client.ehlo();
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("530 5.7.0"));
}

TEST(SmtpSession, StartTlsRefusedWhenNotOfferedOrMalformed) {
  Client client;
  (void)client.replies();
  EXPECT_THAT(client.command("STARTTLS"), StartsWith("502 5.5.1"));
  Client network(network_options());
  (void)network.replies();
  EXPECT_THAT(network.command("STARTTLS now"), StartsWith("501 5.5.4"));
}

// ---------------------------------------------------------------------------------------------
// DATA
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, DataRemovesDotStuffing) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message();
  client.send("..leading dot\r\n..\r\n...\r\nend\r\n.\r\n");
  EXPECT_EQ(client.event<MessageReceived>().data, ".leading dot\r\n.\r\n..\r\nend\r\n");
}

TEST(SmtpSession, DataEndMarkerMayBeSplitAcrossReads) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message();
  for (char c : std::string("a\r\n.\r\n")) client.send(std::string(1, c));
  EXPECT_EQ(client.event<MessageReceived>().data, "a\r\n");
}

TEST(SmtpSession, AnEmptyMessageIsAllowed) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message();
  client.send(".\r\n");
  EXPECT_EQ(client.event<MessageReceived>().data, "");
}

TEST(SmtpSession, OnlyCrlfDotCrlfEndsData) {
  // SMTP smuggling: "<LF>.<LF>", "<LF>.<CR><LF>" and "<CR><LF>.<LF>" are content.
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message();
  client.send(
      "a\n.\nMAIL FROM:<x@evil.example>\r\n"
      "b\n.\r\nRCPT TO:<y@evil.example>\r\n"
      "c\r\n.\nDATA\r\n"
      ".\r\n");
  auto message = client.event<MessageReceived>();
  EXPECT_EQ(message.data,
            "a\r\n.\r\nMAIL FROM:<x@evil.example>\r\n"
            "b\r\n.\r\nRCPT TO:<y@evil.example>\r\n"
            "c\r\n.\r\nDATA\r\n");
  EXPECT_TRUE(client.events.empty());
}

TEST(SmtpSession, UnstuffsDotsAfterABareLf) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message();
  client.send("a\n..b\r\n.\r\n");
  EXPECT_EQ(client.event<MessageReceived>().data, "a\r\n.b\r\n");
}

TEST(SmtpSession, DeliversATenMebibyteMessage) {
  Client client;
  (void)client.replies();
  client.log_in();
  const std::size_t size = 10 * 1024 * 1024;
  client.start_message("<alice@node.example> SIZE=" + std::to_string(size));
  std::string line(998, 'm');
  line += "\r\n";
  std::string chunk;
  for (int i = 0; i < 64; ++i) chunk += line;  // 64000 bytes
  std::size_t sent = 0;
  while (sent + chunk.size() <= size) {
    client.send(chunk);
    sent += chunk.size();
  }
  client.send(std::string(size - sent - 2, 'r') + "\r\n.\r\n");
  auto message = client.event<MessageReceived>();
  EXPECT_EQ(message.data.size(), size);
  client.message_result(SmtpVerdict::queued("big"));
  EXPECT_EQ(client.reply(), "250 2.0.0 Ok: queued as big");
}

TEST(SmtpSession, AMessageOverSizeGets552AndIsNotKept) {
  SmtpOptions options = loopback_options();
  options.max_message_bytes = 1024 * 1024;
  Client client(options);
  (void)client.replies();
  client.log_in();
  client.start_message();
  std::string chunk;
  while (chunk.size() < 64 * 1024) chunk += std::string(78, 'z') + "\r\n";
  for (int i = 0; i < 64; ++i) {  // 4 MiB
    client.send(chunk);
    EXPECT_LE(client.session.buffered_bytes(), options.max_message_bytes);
  }
  EXPECT_THAT(client.replies(), IsEmpty());  // the client is not listening yet
  client.send(".\r\n");
  EXPECT_EQ(client.reply(), "552 5.3.4 Message size exceeds fixed maximum message size");
  EXPECT_TRUE(client.events.empty());
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
  // The session carries on.
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
}

TEST(SmtpSession, ADeclaredSizeOverTheLimitGets552) {
  Client client;
  (void)client.replies();
  client.log_in();
  EXPECT_EQ(client.command("MAIL FROM:<alice@node.example> SIZE=26214401"),
            "552 5.3.4 Message size exceeds fixed maximum message size");
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example> SIZE=99999999999999999999"),
              StartsWith("552 5.3.4"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example> SIZE=26214400"), StartsWith("250"));
}

TEST(SmtpSession, ADataLineOverTheLimitRefusesTheMessage) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message();
  std::string huge(kDefaultMaxDataLineBytes + 10, 'L');
  for (std::size_t i = 0; i < huge.size(); i += 4096) client.send(huge.substr(i, 4096));
  EXPECT_LE(client.session.buffered_bytes(), kDefaultMaxDataLineBytes + 8192);
  client.send("\r\nshort\r\n.\r\n");
  EXPECT_THAT(client.reply(), StartsWith("554 5.6.0 Message refused: a line is longer than"));
  EXPECT_TRUE(client.events.empty());
  // A long but allowed line goes through.
  client.start_message();
  std::string long_line(5000, 'l');
  client.send(long_line + "\r\n.\r\n");
  EXPECT_EQ(client.event<MessageReceived>().data, long_line + "\r\n");
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, UnknownCommandsGet500) {
  Client client;
  (void)client.replies();
  EXPECT_EQ(client.command("HELLO"), "500 5.5.2 Command not recognized");
  EXPECT_EQ(client.command(""), "500 5.5.2 Command not recognized");
  EXPECT_EQ(client.command("GET / HTTP/1.1"), "500 5.5.2 Command not recognized");
}

TEST(SmtpSession, CommandsOutOfSequenceGet503) {
  Client client;
  (void)client.replies();
  EXPECT_EQ(client.command("MAIL FROM:<alice@node.example>"), "503 5.5.1 Send HELO/EHLO first");
  client.log_in();
  EXPECT_EQ(client.command("RCPT TO:<bob@post.example>"), "503 5.5.1 Need MAIL command");
  EXPECT_EQ(client.command("DATA"), "503 5.5.1 Need MAIL command");
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
  EXPECT_EQ(client.command("MAIL FROM:<alice@node.example>"), "503 5.5.1 Nested MAIL command");
  EXPECT_EQ(client.command("DATA"), "503 5.5.1 Need RCPT command");
}

TEST(SmtpSession, MalformedMailAndRcptGet501Or555) {
  Client client;
  (void)client.replies();
  client.log_in();
  EXPECT_THAT(client.command("MAIL FROM:alice@node.example"), StartsWith("501 5.1.7"));
  EXPECT_THAT(client.command("MAIL TO:<alice@node.example>"), StartsWith("501 5.1.7"));
  EXPECT_THAT(client.command("MAIL FROM:<Postmaster>"), StartsWith("501 5.1.7"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example> RET=HDRS"), StartsWith("555 5.5.4"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example> SIZE=ten"), StartsWith("501 5.5.4"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example> BODY=BINARYMIME"),
              StartsWith("501 5.5.4"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
  EXPECT_THAT(client.command("RCPT TO:<bob@-post.example>"), StartsWith("501 5.1.3"));
  EXPECT_THAT(client.command("RCPT TO:<>"), StartsWith("501 5.1.3"));
  EXPECT_THAT(client.command("RCPT TO:bob@post.example"), StartsWith("501 5.1.3"));
  EXPECT_THAT(client.command("RCPT TO:<bob@post.example> NOTIFY=NEVER"), StartsWith("555 5.5.4"));
  EXPECT_TRUE(client.events.empty());
}

TEST(SmtpSession, ATooLongCommandLineGets500AndTheSessionSurvives) {
  Client client;
  (void)client.replies();
  EXPECT_EQ(client.command("NOOP " + std::string(2000, 'x')), "500 5.5.2 Line too long");
  // Fed in pieces without an end, the line is answered once and not kept.
  std::string piece(1000, 'y');
  for (int i = 0; i < 100; ++i) {
    client.send(piece);
    EXPECT_LE(client.session.buffered_bytes(), kDefaultMaxCommandLineBytes);
  }
  EXPECT_THAT(client.replies(), ElementsAre("500 5.5.2 Line too long"));
  client.send("\r\n");
  EXPECT_THAT(client.replies(), IsEmpty());
  EXPECT_EQ(client.command("NOOP"), "250 2.0.0 Ok");
  // An AUTH line may be longer (RFC 4954: 12288 octets).
  client.ehlo();
  EXPECT_THAT(client.command("AUTH PLAIN " + std::string(4000, 'A')), StartsWith("501 5.5.2"));
}

TEST(SmtpSession, TooManyErrorsGet421AndClose) {
  SmtpOptions options = loopback_options();
  options.max_errors = 3;
  Client client(options);
  (void)client.replies();
  client.send("BAD\r\nBAD\r\nBAD\r\nBAD\r\nNOOP\r\n");
  EXPECT_THAT(client.replies(),
              ElementsAre(StartsWith("500"), StartsWith("500"), StartsWith("500"),
                          "421 4.7.0 node.example Too many errors, closing connection"));
  EXPECT_EQ(client.event<Close>().reason, CloseReason::kTooManyErrors);
  EXPECT_TRUE(client.session.closed());
}

TEST(SmtpSession, TooManyRecipientsGet452) {
  SmtpOptions options = loopback_options();
  options.max_recipients = 2;
  Client client(options);
  (void)client.replies();
  client.log_in();
  (void)client.command("MAIL FROM:<alice@node.example>");
  for (const char* to : {"<a@post.example>", "<b@post.example>"}) {
    client.send(std::string("RCPT TO:") + to + "\r\n");
    (void)client.event<RcptRequest>();
    client.rcpt_result(SmtpVerdict::accept());
    EXPECT_THAT(client.reply(), StartsWith("250 2.1.5"));
  }
  EXPECT_EQ(client.command("RCPT TO:<c@post.example>"), "452 4.5.3 Too many recipients");
  EXPECT_TRUE(client.events.empty());
}

TEST(SmtpSession, ARepeatedRecipientIsAcceptedOnceWithoutAskingAgain) {
  Client client;
  (void)client.replies();
  client.log_in();
  client.start_message("<alice@node.example>", "<bob@post.example>");
  client.send(".\r\n");
  (void)client.event<MessageReceived>();
  client.message_result(SmtpVerdict::queued("1"));
  (void)client.replies();
  (void)client.command("MAIL FROM:<alice@node.example>");
  client.send("RCPT TO:<bob@post.example>\r\n");
  (void)client.event<RcptRequest>();
  client.rcpt_result(SmtpVerdict::accept());
  (void)client.replies();
  EXPECT_EQ(client.command("RCPT TO:<\"bob\"@post.example>"), "250 2.1.5 Ok");
  EXPECT_TRUE(client.events.empty());
  (void)client.command("DATA");
  client.send(".\r\n");
  EXPECT_THAT(client.event<MessageReceived>().rcpt_to, ElementsAre("bob@post.example"));
}

TEST(SmtpSession, DataWithNoAcceptedRecipientGets554) {
  Client client;
  (void)client.replies();
  client.log_in();
  (void)client.command("MAIL FROM:<alice@node.example>");
  client.send("RCPT TO:<nobody@post.example>\r\nDATA\r\n");
  (void)client.event<RcptRequest>();
  client.rcpt_result(SmtpVerdict::temporary_failure());
  EXPECT_THAT(client.replies(),
              ElementsAre("451 4.3.0 Recipient temporarily unavailable, try again later",
                          "554 5.5.1 No valid recipients"));
}

TEST(SmtpSession, VerdictsCannotInjectReplies) {
  Client client;
  (void)client.replies();
  client.log_in();
  (void)client.command("MAIL FROM:<alice@node.example>");
  client.send("RCPT TO:<bob@post.example>\r\n");
  (void)client.event<RcptRequest>();
  SmtpVerdict verdict = SmtpVerdict::permanent_failure("no\r\n250 2.1.5 Ok", "5.1.10");
  verdict.code = 553;
  client.rcpt_result(verdict);
  EXPECT_EQ(client.reply(), "553 5.1.10 no??250 2.1.5 Ok");
}

TEST(SmtpSession, TerminateSends421) {
  Client client;
  (void)client.replies();
  client.session.terminate(CloseReason::kIdleTimeout);
  client.send("");
  EXPECT_EQ(client.reply(), "421 4.4.2 node.example Timeout, closing connection");
  EXPECT_EQ(client.event<Close>().reason, CloseReason::kIdleTimeout);
}

// ---------------------------------------------------------------------------------------------
// SMTPUTF8
// ---------------------------------------------------------------------------------------------

TEST(SmtpSession, Utf8AddressesNeedSmtputf8) {
  Client client;
  (void)client.replies();
  client.log_in();
  const std::string sender = "<j\xc3\xb6rg@node.example>";
  const std::string recipient = "<\xe7\x94\xb0\xe4\xb8\xad@post.example>";
  EXPECT_THAT(client.command("MAIL FROM:" + sender), StartsWith("553 5.6.7"));
  EXPECT_THAT(client.command("MAIL FROM:<alice@node.example>"), StartsWith("250"));
  EXPECT_THAT(client.command("RCPT TO:" + recipient), StartsWith("553 5.6.7"));
  (void)client.command("RSET");
  EXPECT_THAT(client.command("MAIL FROM:" + sender + " SMTPUTF8"), StartsWith("250"));
  client.send("RCPT TO:" + recipient + "\r\n");
  EXPECT_EQ(client.event<RcptRequest>().address, "\xe7\x94\xb0\xe4\xb8\xad@post.example");
  client.rcpt_result(SmtpVerdict::accept());
  (void)client.replies();
  (void)client.command("DATA");
  client.send("Subject: Gr\xc3\xbc\xc3\x9f\x65\r\n\r\nx\r\n.\r\n");
  auto message = client.event<MessageReceived>();
  EXPECT_TRUE(message.params.smtputf8);
  EXPECT_EQ(message.mail_from, "j\xc3\xb6rg@node.example");
  EXPECT_EQ(message.data, "Subject: Gr\xc3\xbc\xc3\x9f\x65\r\n\r\nx\r\n");
  client.message_result(SmtpVerdict::queued("u"));
  EXPECT_THAT(client.reply(), StartsWith("250 2.0.0"));
  EXPECT_THAT(client.command("MAIL FROM:<j\xc3@x.example> SMTPUTF8"), StartsWith("501 5.1.7"));
}

}  // namespace
}  // namespace post::email
