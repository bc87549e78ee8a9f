#include "plugins/email/pop3/pop3_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "plugins/email/pop3/pop3_content.h"

namespace post::email {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A client on loopback: USER and PASS allowed in plaintext.
Pop3Options loopback_options() {
  Pop3Options options;
  options.hostname = "dewey";
  options.greeting = "POP3 server ready";
  options.loopback = true;
  return options;
}

// A client reached over the network, without TLS.
Pop3Options network_options() {
  Pop3Options options = loopback_options();
  options.loopback = false;
  return options;
}

// A message of exactly `size` octets with CRLF line endings: a header, a blank line, a body.
std::string message_of_size(std::size_t size, std::string_view subject) {
  std::string message = "Subject: " + std::string(subject) + "\r\n\r\n";
  message += std::string(size - message.size() - 2, 'x');
  message += "\r\n";
  return message;
}

// The two messages of the RFC 1939 section 10 example: 120 and 200 octets.
const std::string kMessage1 = message_of_size(120, "one");
const std::string kMessage2 = message_of_size(200, "two");

Pop3Maildrop rfc_maildrop() {
  return Pop3Maildrop{{{120, "whqtswO00WBw418f9t5JxYwZ"}, {200, "QhdPYR:00WBw1Ph7x7"}}};
}

// Drives a session like a connection would: feeds bytes, collects the output and the events.
class Client {
 public:
  explicit Client(Pop3Options options = loopback_options()) : session(std::move(options)) {
    collect();
  }

  void send(std::string_view bytes) {
    session.feed(bytes);
    collect();
  }

  // The output received since the last call.
  std::string output() { return std::exchange(output_, {}); }

  // Sends `line` + CRLF and returns the output it got.
  std::string command(std::string_view line) {
    send(std::string(line) + "\r\n");
    return output();
  }

  // The events since the last call.
  std::vector<Pop3Event> events() { return std::exchange(events_, {}); }

  // The one event since the last call, which must be a T.
  template <class T>
  T event() {
    auto all = events();
    EXPECT_EQ(all.size(), 1u);
    if (all.size() != 1 || !std::holds_alternative<T>(all.front())) {
      ADD_FAILURE() << "not the expected event";
      return T{};
    }
    return std::get<T>(std::move(all.front()));
  }

  // Logs in as mrose with the RFC maildrop.
  void log_in(Pop3Maildrop maildrop = rfc_maildrop()) {
    send("USER mrose\r\nPASS tanstaaf\r\n");
    event<Pop3Login>();
    session.login_result(std::move(maildrop));
    collect();
    output();
  }

  // Drains the session like the loop in pop3_session.h.
  void collect() {
    while (true) {
      if (session.has_output()) {
        output_ += session.take_output();
      } else if (auto event = session.next_event()) {
        events_.push_back(std::move(*event));
      } else {
        break;
      }
    }
  }

  Pop3Session session;

 private:
  std::string output_;
  std::vector<Pop3Event> events_;
};

// Runs `input` through a session cut into reads of `chunk` bytes, answering every question at
// once (mrose/tanstaaf, the RFC maildrop, commits succeed), and returns all output.
std::string run_script(std::string_view input, std::size_t chunk) {
  Pop3Session session(loopback_options());
  std::string transcript;
  auto drain = [&] {
    while (true) {
      if (session.has_output()) {
        transcript += session.take_output();
        continue;
      }
      auto event = session.next_event();
      if (!event) return;
      if (auto* login = std::get_if<Pop3Login>(&*event)) {
        if (login->password == "tanstaaf") {
          session.login_result(rfc_maildrop());
        } else {
          session.login_result(Pop3LoginFailure::kInvalidCredentials);
        }
      } else if (auto* retrieve = std::get_if<Pop3Retrieve>(&*event)) {
        session.retrieve_result(retrieve->message == 1 ? kMessage1 : kMessage2);
      } else if (std::holds_alternative<Pop3Commit>(*event)) {
        session.commit_result(true);
      }
    }
  };
  drain();
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    session.feed(input.substr(off, chunk));
    drain();
  }
  return transcript;
}

TEST(Pop3Session, GreetsWithTheConfiguredTextOrTheHostname) {
  EXPECT_EQ(Client().output(), "+OK POP3 server ready\r\n");
  Pop3Options options;
  options.hostname = "mail.example\r\n";
  EXPECT_EQ(Client(options).output(), "+OK mail.example POP3 server ready\r\n");
  options.greeting = "hello\r\n-ERR injected";
  EXPECT_EQ(Client(options).output(), "+OK hello-ERR injected\r\n");
}

// RFC 1939 section 10, with USER and PASS in place of APOP.
TEST(Pop3Session, ReproducesTheRfc1939ExampleSession) {
  Client client;
  EXPECT_EQ(client.output(), "+OK POP3 server ready\r\n");
  EXPECT_EQ(client.command("USER mrose"), "+OK send PASS\r\n");
  EXPECT_EQ(client.command("PASS tanstaaf"), "");
  EXPECT_TRUE(client.session.awaiting_answer());
  EXPECT_EQ(client.session.user(), "");
  Pop3Login login = client.event<Pop3Login>();
  EXPECT_EQ(login.user, "mrose");
  EXPECT_EQ(login.password, "tanstaaf");
  client.session.login_result(rfc_maildrop());
  client.collect();
  EXPECT_EQ(client.output(), "+OK mrose's maildrop has 2 messages (320 octets)\r\n");
  EXPECT_EQ(client.session.state(), Pop3State::kTransaction);
  EXPECT_EQ(client.session.user(), "mrose");

  EXPECT_EQ(client.command("STAT"), "+OK 2 320\r\n");
  EXPECT_EQ(client.command("LIST"), "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n");

  EXPECT_EQ(client.command("RETR 1"), "");
  Pop3Retrieve retrieve = client.event<Pop3Retrieve>();
  EXPECT_EQ(retrieve.message, 1u);
  EXPECT_EQ(retrieve.uid, "whqtswO00WBw418f9t5JxYwZ");
  EXPECT_FALSE(retrieve.top_lines);
  client.session.retrieve_result(kMessage1);
  client.collect();
  EXPECT_EQ(client.output(), "+OK 120 octets\r\n" + kMessage1 + ".\r\n");
  EXPECT_EQ(client.command("DELE 1"), "+OK message 1 deleted\r\n");

  EXPECT_EQ(client.command("RETR 2"), "");
  EXPECT_EQ(client.event<Pop3Retrieve>().message, 2u);
  client.session.retrieve_result(kMessage2);
  client.collect();
  EXPECT_EQ(client.output(), "+OK 200 octets\r\n" + kMessage2 + ".\r\n");
  EXPECT_EQ(client.command("DELE 2"), "+OK message 2 deleted\r\n");

  EXPECT_EQ(client.command("QUIT"), "");
  EXPECT_EQ(client.session.state(), Pop3State::kUpdate);
  EXPECT_THAT(client.event<Pop3Commit>().deleted, ElementsAre(1u, 2u));
  client.session.commit_result(true);
  client.collect();
  EXPECT_EQ(client.output(), "+OK dewey POP3 server signing off (maildrop empty)\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kQuit);
  EXPECT_TRUE(client.session.closed());
}

TEST(Pop3Session, AnswersPipelinedCommandsInOrderFromOneFeed) {
  Client client;
  client.output();
  client.send("USER mrose\r\nPASS tanstaaf\r\nSTAT\r\nRETR 2\r\nUIDL 2\r\nQUIT\r\n");
  EXPECT_EQ(client.output(), "+OK send PASS\r\n");
  client.event<Pop3Login>();
  EXPECT_GT(client.session.buffered_bytes(), 0u);
  client.session.login_result(rfc_maildrop());
  client.collect();
  EXPECT_EQ(client.output(), "+OK mrose's maildrop has 2 messages (320 octets)\r\n+OK 2 320\r\n");
  EXPECT_EQ(client.event<Pop3Retrieve>().message, 2u);
  client.session.retrieve_result(kMessage2);
  client.collect();
  EXPECT_EQ(client.output(),
            "+OK 200 octets\r\n" + kMessage2 + ".\r\n+OK 2 QhdPYR:00WBw1Ph7x7\r\n");
  EXPECT_THAT(client.event<Pop3Commit>().deleted, IsEmpty());
  client.session.commit_result(true);
  client.collect();
  EXPECT_EQ(client.output(), "+OK dewey POP3 server signing off (2 messages left)\r\n");
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
}

TEST(Pop3Session, SplittingTheInputIntoSingleBytesChangesNothing) {
  const std::string script =
      "CAPA\r\nUSER mrose\r\nPASS wrong\r\nUSER mrose\nPASS tanstaaf\r\nSTAT\r\nLIST\r\n"
      "UIDL\r\nTOP 1 0\r\nRETR 1\r\nDELE 1\r\nLIST 1\r\nRSET\r\nDELE 2\r\nbogus\r\nQUIT\r\n";
  std::string whole = run_script(script, script.size());
  EXPECT_THAT(whole, ::testing::HasSubstr("+OK dewey POP3 server signing off (1 message left)"));
  EXPECT_EQ(run_script(script, 1), whole);
  EXPECT_EQ(run_script(script, 7), whole);
}

TEST(Pop3Session, AdvertisesItsCapabilities) {
  Client client;
  client.output();
  EXPECT_EQ(client.command("CAPA"),
            "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nIMPLEMENTATION POST\r\n.\r\n");
  client.log_in();
  // USER is no longer of use in the TRANSACTION state.
  EXPECT_EQ(client.command("capa"),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nIMPLEMENTATION POST\r\n.\r\n");
}

TEST(Pop3Session, RefusesUserAndPassWithoutTlsOffLoopback) {
  Client client(network_options());
  client.output();
  EXPECT_EQ(client.command("CAPA"),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nIMPLEMENTATION POST\r\n.\r\n");
  EXPECT_EQ(client.command("USER mrose"),
            "-ERR [AUTH] Plaintext authentication disallowed without TLS\r\n");
  EXPECT_EQ(client.command("PASS tanstaaf"),
            "-ERR [AUTH] Plaintext authentication disallowed without TLS\r\n");
  EXPECT_THAT(client.events(), IsEmpty());
  EXPECT_EQ(client.session.state(), Pop3State::kAuthorization);
}

TEST(Pop3Session, AllowsUserAndPassOverTls) {
  Pop3Options options = network_options();
  options.tls_active = true;
  Client client(options);
  EXPECT_TRUE(client.session.tls_active());
  client.log_in();
  EXPECT_EQ(client.session.state(), Pop3State::kTransaction);
}

TEST(Pop3Session, AnswersLoginFailuresWithResponseCodes) {
  Client client;
  client.output();
  client.send("USER mrose\r\nPASS x\r\n");
  client.event<Pop3Login>();
  client.session.login_result(Pop3LoginFailure::kMaildropInUse);
  client.collect();
  EXPECT_EQ(client.output(),
            "+OK send PASS\r\n-ERR [IN-USE] Maildrop is locked by another session\r\n");

  client.send("USER mrose\r\nPASS x\r\n");
  client.event<Pop3Login>();
  client.session.login_result(Pop3LoginFailure::kTemporary);
  client.collect();
  EXPECT_EQ(client.output(),
            "+OK send PASS\r\n-ERR [SYS/TEMP] Temporary failure, try again later\r\n");

  client.send("USER mrose\r\nPASS x\r\n");
  client.event<Pop3Login>();
  client.session.login_result(Pop3LoginFailure::kInvalidCredentials);
  client.collect();
  EXPECT_EQ(client.output(), "+OK send PASS\r\n-ERR [AUTH] Invalid user name or password\r\n");
  EXPECT_EQ(client.session.state(), Pop3State::kAuthorization);
  EXPECT_EQ(client.session.user(), "");
  EXPECT_EQ(client.command("STAT"), "-ERR Command not valid in AUTHORIZATION state\r\n");

  client.log_in();
  EXPECT_EQ(client.session.state(), Pop3State::kTransaction);
}

TEST(Pop3Session, ClosesAfterTooManyRejectedLogins) {
  Client client;
  client.output();
  for (int i = 0; i < 3; ++i) {
    client.send("USER mrose\r\nPASS guess\r\n");
    client.event<Pop3Login>();
    client.session.login_result(Pop3LoginFailure::kInvalidCredentials);
    client.collect();
  }
  EXPECT_EQ(client.output(),
            "+OK send PASS\r\n-ERR [AUTH] Invalid user name or password\r\n"
            "+OK send PASS\r\n-ERR [AUTH] Invalid user name or password\r\n"
            "+OK send PASS\r\n-ERR [AUTH] Invalid user name or password, closing connection\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kLoginFailures);
}

TEST(Pop3Session, TakesThePasswordAsTheRestOfTheLineRightAfterUser) {
  Client client;
  client.output();
  EXPECT_EQ(client.command("PASS x"), "-ERR Send USER first\r\n");
  EXPECT_EQ(client.command("USER mrose"), "+OK send PASS\r\n");
  EXPECT_EQ(client.command("NOOP"), "-ERR Command not valid in AUTHORIZATION state\r\n");
  EXPECT_EQ(client.command("PASS x"), "-ERR Send USER first\r\n");
  EXPECT_EQ(client.command("USER"), "-ERR Syntax: USER name\r\n");
  EXPECT_EQ(client.command("USER  "), "-ERR Syntax: USER name\r\n");
  EXPECT_EQ(client.command("USER a\x01"), "-ERR Syntax: USER name\r\n");
  EXPECT_EQ(client.command("USER mrose "), "+OK send PASS\r\n");
  EXPECT_EQ(client.command("pass  two words "), "");
  Pop3Login login = client.event<Pop3Login>();
  EXPECT_EQ(login.user, "mrose");
  EXPECT_EQ(login.password, " two words ");
}

TEST(Pop3Session, RefusesApopAuthAndStls) {
  Client client;
  client.output();
  EXPECT_EQ(client.command("APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
            "-ERR APOP not supported\r\n");
  EXPECT_EQ(client.command("AUTH PLAIN"), "-ERR AUTH not supported\r\n");
  EXPECT_EQ(client.command("STLS"), "-ERR STLS not available\r\n");
  EXPECT_EQ(client.command("XTND XMIT"), "-ERR Unknown command\r\n");
  EXPECT_EQ(client.command(""), "-ERR Unknown command\r\n");
}

TEST(Pop3Session, StlsStartsTlsDropsInjectedPlaintextAndThenAllowsUserAndPass) {
  Pop3Options options = network_options();
  options.tls_available = true;
  Client client(options);
  client.output();
  EXPECT_THAT(client.command("CAPA"), ::testing::HasSubstr("STLS\r\n"));
  EXPECT_EQ(client.command("USER mrose"),
            "-ERR [AUTH] Plaintext authentication disallowed without TLS\r\n");
  // A command sent in plaintext behind STLS must not run once TLS is up.
  client.send("STLS\r\nUSER injected\r\n");
  EXPECT_EQ(client.output(), "+OK Begin TLS negotiation\r\n");
  client.event<Pop3StartTls>();
  EXPECT_TRUE(client.session.awaiting_answer());
  client.session.tls_started(true);
  client.collect();
  EXPECT_TRUE(client.session.tls_active());
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
  EXPECT_EQ(client.output(), "");
  EXPECT_THAT(client.command("CAPA"), ::testing::Not(::testing::HasSubstr("STLS")));
  EXPECT_EQ(client.command("STLS"), "-ERR STLS not available\r\n");
  EXPECT_EQ(client.command("USER mrose"), "+OK send PASS\r\n");
}

TEST(Pop3Session, AFailedStlsHandshakeClosesTheSession) {
  Pop3Options options = network_options();
  options.tls_available = true;
  Client client(options);
  client.output();
  client.command("STLS");
  client.event<Pop3StartTls>();
  client.session.tls_started(false);
  client.collect();
  EXPECT_TRUE(client.session.closed());
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kTlsFailed);
}

TEST(Pop3Session, QuitBeforeLoginClosesWithoutCommit) {
  Client client;
  client.output();
  EXPECT_EQ(client.command("quit"), "+OK dewey POP3 server signing off\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kQuit);
  client.send("NOOP\r\n");
  EXPECT_EQ(client.output(), "");
}

TEST(Pop3Session, ByteStuffsAndNormalisesTheMessage) {
  Client client;
  client.log_in();
  client.command("RETR 1");
  client.event<Pop3Retrieve>();
  client.session.retrieve_result("Subject: dots\n\n.\r\n..two\rstays\n.end");
  client.collect();
  EXPECT_EQ(client.output(),
            "+OK 39 octets\r\nSubject: dots\r\n\r\n..\r\n...two\rstays\r\n..end\r\n.\r\n");
}

TEST(Pop3Session, SendsAnEmptyMessageAsJustTheTerminator) {
  Client client;
  client.log_in();
  client.command("RETR 2");
  client.event<Pop3Retrieve>();
  client.session.retrieve_result("");
  client.collect();
  EXPECT_EQ(client.output(), "+OK 0 octets\r\n.\r\n");
}

TEST(Pop3Session, TopSendsTheHeaderAndTheFirstBodyLines) {
  const std::string message = "From: a\r\nSubject: s\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n";
  auto top = [&](std::string_view command) {
    Client client;
    client.log_in();
    client.command(command);
    Pop3Retrieve retrieve = client.event<Pop3Retrieve>();
    EXPECT_TRUE(retrieve.top_lines.has_value());
    client.session.retrieve_result(message);
    client.collect();
    return client.output();
  };
  EXPECT_EQ(top("TOP 1 0"), "+OK top of message follows\r\nFrom: a\r\nSubject: s\r\n\r\n.\r\n");
  EXPECT_EQ(
      top("TOP 1 2"),
      "+OK top of message follows\r\nFrom: a\r\nSubject: s\r\n\r\nline 1\r\n..line 2\r\n.\r\n");
  EXPECT_EQ(top("TOP 1 3"), "+OK top of message follows\r\n" + message.substr(0, 31) +
                                "..line 2\r\nline 3\r\n.\r\n");
  EXPECT_EQ(top("TOP 1 99999999999999999999999"), top("TOP 1 3"));
  EXPECT_EQ(pop3_content_size("no body\r\n", 0), 9u);
}

TEST(Pop3Session, TopOfAMessageWithoutABlankLineIsTheWholeMessage) {
  Client client;
  client.log_in();
  client.command("TOP 2 0");
  client.event<Pop3Retrieve>();
  client.session.retrieve_result("From: a\nSubject: s");
  client.collect();
  EXPECT_EQ(client.output(), "+OK top of message follows\r\nFrom: a\r\nSubject: s\r\n.\r\n");
}

TEST(Pop3Session, ListsOneMessageOnASingleLine) {
  Client client;
  client.log_in();
  EXPECT_EQ(client.command("LIST 2"), "+OK 2 200\r\n");
  EXPECT_EQ(client.command("UIDL 1"), "+OK 1 whqtswO00WBw418f9t5JxYwZ\r\n");
  EXPECT_EQ(client.command("UIDL"),
            "+OK unique-id listing follows\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n"
            "2 QhdPYR:00WBw1Ph7x7\r\n.\r\n");
}

TEST(Pop3Session, HidesDeletedMessagesUntilRset) {
  Client client;
  client.log_in();
  EXPECT_EQ(client.command("DELE 1"), "+OK message 1 deleted\r\n");
  EXPECT_EQ(client.command("DELE 1"), "-ERR message 1 already deleted\r\n");
  EXPECT_EQ(client.command("STAT"), "+OK 1 200\r\n");
  EXPECT_EQ(client.command("LIST"), "+OK 1 message (200 octets)\r\n2 200\r\n.\r\n");
  EXPECT_EQ(client.command("LIST 1"), "-ERR message 1 already deleted\r\n");
  EXPECT_EQ(client.command("UIDL"),
            "+OK unique-id listing follows\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n");
  EXPECT_EQ(client.command("UIDL 1"), "-ERR message 1 already deleted\r\n");
  EXPECT_EQ(client.command("RETR 1"), "-ERR message 1 already deleted\r\n");
  EXPECT_EQ(client.command("TOP 1 0"), "-ERR message 1 already deleted\r\n");
  EXPECT_EQ(client.command("RSET"), "+OK maildrop has 2 messages (320 octets)\r\n");
  EXPECT_EQ(client.command("LIST 1"), "+OK 1 120\r\n");
  EXPECT_EQ(client.command("DELE 2"), "+OK message 2 deleted\r\n");
  EXPECT_EQ(client.command("NOOP"), "+OK\r\n");
  EXPECT_EQ(client.command("QUIT"), "");
  EXPECT_THAT(client.event<Pop3Commit>().deleted, ElementsAre(2u));
  client.session.commit_result(true);
  client.collect();
  EXPECT_EQ(client.output(), "+OK dewey POP3 server signing off (1 message left)\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kQuit);
}

TEST(Pop3Session, ReportsAFailedCommit) {
  Client client;
  client.log_in();
  client.command("DELE 1");
  client.command("QUIT");
  client.event<Pop3Commit>();
  client.session.commit_result(false);
  client.collect();
  EXPECT_EQ(client.output(), "-ERR [SYS/TEMP] some deleted messages not removed\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kQuit);
}

TEST(Pop3Session, ValidatesMessageNumbersAndArguments) {
  Client client;
  client.log_in();
  const std::string no_such = "-ERR no such message, only 2 messages in maildrop\r\n";
  EXPECT_EQ(client.command("RETR 0"), no_such);
  EXPECT_EQ(client.command("RETR 3"), no_such);
  EXPECT_EQ(client.command("LIST 18446744073709551617"), no_such);
  EXPECT_EQ(client.command("DELE 99999999999999999999999999"), no_such);
  EXPECT_EQ(client.command("RETR +1"), "-ERR Invalid message number\r\n");
  EXPECT_EQ(client.command("RETR -1"), "-ERR Invalid message number\r\n");
  EXPECT_EQ(client.command("RETR 1a"), "-ERR Invalid message number\r\n");
  EXPECT_EQ(client.command("NOOP"), "+OK\r\n");  // ten errors in a row would end the session
  EXPECT_EQ(client.command("RETR"), "-ERR Syntax: RETR msg\r\n");
  EXPECT_EQ(client.command("RETR 1 2"), "-ERR Syntax: RETR msg\r\n");
  EXPECT_EQ(client.command("LIST 1 2"), "-ERR Syntax: LIST [msg]\r\n");
  EXPECT_EQ(client.command("TOP 1"), "-ERR Syntax: TOP msg n\r\n");
  EXPECT_EQ(client.command("TOP 1 -1"), "-ERR Invalid line count\r\n");
  EXPECT_EQ(client.command("STAT 1"), "-ERR Syntax: STAT\r\n");
  EXPECT_EQ(client.command("USER mrose"), "-ERR Command not valid in TRANSACTION state\r\n");
  EXPECT_THAT(client.events(), IsEmpty());
  // A doubled or trailing space is forgiven, a leading zero is a number.
  EXPECT_EQ(client.command("LIST  01 "), "+OK 1 120\r\n");
}

TEST(Pop3Session, AnswersAnOverlongLineAndCarriesOn) {
  Client client;
  client.output();
  // 255 octets with CRLF is the limit (RFC 2449 4).
  std::string at_limit = "USER " + std::string(255 - 7, 'u');
  EXPECT_EQ(client.command(at_limit), "+OK send PASS\r\n");
  EXPECT_EQ(client.command(at_limit + "u"), "-ERR Line too long\r\n");
  client.send(std::string(1000, 'a'));
  EXPECT_EQ(client.output(), "");
  client.send(std::string(1000, 'a') + "\r\nQUIT\r\n");
  EXPECT_EQ(client.output(), "-ERR Line too long\r\n+OK dewey POP3 server signing off\r\n");
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
}

TEST(Pop3Session, ClosesOnAnEndlessLine) {
  Client client;
  client.output();
  for (int i = 0; i < 80 && !client.session.closed(); ++i) client.send(std::string(1024, 'a'));
  EXPECT_EQ(client.output(), "-ERR Line too long, closing connection\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kInputOverflow);
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
}

TEST(Pop3Session, ClosesAfterTooManyErrorsInARow) {
  Client client;
  client.output();
  for (int i = 0; i < 9; ++i) EXPECT_EQ(client.command("BOGUS"), "-ERR Unknown command\r\n");
  EXPECT_EQ(client.command("CAPA").substr(0, 3), "+OK");  // a success starts the count again
  for (int i = 0; i < 9; ++i) EXPECT_EQ(client.command("BOGUS"), "-ERR Unknown command\r\n");
  EXPECT_EQ(client.command("BOGUS"), "-ERR Too many errors, closing connection\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kTooManyErrors);
}

TEST(Pop3Session, ClosesWhenAClientPilesUpInputWhileAQuestionIsOpen) {
  Client client;
  client.output();
  client.send("USER mrose\r\nPASS tanstaaf\r\n");
  client.event<Pop3Login>();
  std::string noops;
  while (noops.size() <= kPop3MaxBufferedInputBytes) noops += "NOOP\r\n";
  client.send(noops);
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
  client.session.login_result(rfc_maildrop());
  client.collect();
  EXPECT_EQ(client.output(),
            "+OK send PASS\r\n+OK mrose's maildrop has 2 messages (320 octets)\r\n"
            "-ERR Too much pipelined input, closing connection\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kInputOverflow);
}

TEST(Pop3Session, StopsAtTheOutputHighWaterMarkAndGoesOnWhenOutputIsTaken) {
  Pop3Maildrop maildrop;
  for (int i = 0; i < 1000; ++i) maildrop.messages.push_back({1000000, "uid" + std::to_string(i)});
  Client client;
  client.log_in(std::move(maildrop));
  std::string lists;
  for (int i = 0; i < 200; ++i) lists += "LIST\r\n";
  client.session.feed(lists);
  std::string first = client.session.take_output();
  EXPECT_LT(first.size(), kPop3OutputHighWaterBytes + 20000);
  EXPECT_GT(client.session.buffered_bytes(), 0u);
  client.collect();
  std::string all = first + client.output();
  std::string one_list = client.command("LIST");
  EXPECT_EQ(all.size(), 200 * one_list.size());
  EXPECT_EQ(client.session.buffered_bytes(), 0u);
}

TEST(Pop3Session, RefusesAMaildropWithBadUids) {
  for (const char* uid : {"", "has space", "\x7f"}) {
    Client client;
    client.output();
    client.send("USER mrose\r\nPASS tanstaaf\r\n");
    client.event<Pop3Login>();
    client.session.login_result(Pop3Maildrop{{{10, "ok"}, {10, uid}}});
    client.collect();
    EXPECT_EQ(client.output(), "+OK send PASS\r\n-ERR [SYS/TEMP] Maildrop unavailable\r\n");
    EXPECT_EQ(client.session.state(), Pop3State::kAuthorization);
  }
  Client client;
  client.send("USER mrose\r\nPASS tanstaaf\r\n");
  client.event<Pop3Login>();
  client.session.login_result(Pop3Maildrop{{{10, "same"}, {10, "same"}}});
  EXPECT_EQ(client.session.state(), Pop3State::kAuthorization);
  client.session.login_result(rfc_maildrop());  // no question outstanding: ignored
  EXPECT_EQ(client.session.state(), Pop3State::kAuthorization);
}

TEST(Pop3Session, ShowsAtMostMaxMessages) {
  Pop3Options options = loopback_options();
  options.max_messages = 1;
  Client client(options);
  client.log_in();
  EXPECT_EQ(client.command("STAT"), "+OK 1 120\r\n");
  EXPECT_EQ(client.command("RETR 2"), "-ERR no such message, only 1 message in maildrop\r\n");
}

TEST(Pop3Session, ReportsRetrieveFailures) {
  Client client;
  client.log_in();
  client.send("RETR 1\r\nTOP 2 1\r\nNOOP\r\n");
  client.event<Pop3Retrieve>();
  client.session.commit_result(true);  // not the outstanding question: ignored
  client.session.retrieve_result(Pop3RetrieveFailure::kTemporary);
  client.collect();
  client.event<Pop3Retrieve>();
  client.session.retrieve_result(Pop3RetrieveFailure::kPermanent);
  client.collect();
  EXPECT_EQ(client.output(),
            "-ERR [SYS/TEMP] message 1 temporarily unavailable\r\n"
            "-ERR message 2 cannot be retrieved\r\n+OK\r\n");
}

TEST(Pop3Session, TerminatesWithoutCommitting) {
  Client client;
  client.log_in();
  client.command("DELE 1");
  client.command("RETR 2");
  client.event<Pop3Retrieve>();
  client.session.terminate(Pop3CloseReason::kIdleTimeout);
  client.collect();
  EXPECT_EQ(client.output(), "-ERR Idle for too long, closing connection\r\n");
  EXPECT_EQ(client.event<Pop3Close>().reason, Pop3CloseReason::kIdleTimeout);
  EXPECT_FALSE(client.session.awaiting_answer());
  client.session.retrieve_result(kMessage2);
  client.collect();
  EXPECT_EQ(client.output(), "");
}

}  // namespace
}  // namespace post::email
