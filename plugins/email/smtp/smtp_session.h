// SmtpSession: the server side of one SMTP submission connection (RFC 5321, RFC 6409), as a
// sans-I/O state machine. It never touches a socket, a clock or a thread: bytes come in, reply
// bytes and events go out, and questions it cannot answer alone (a password, a recipient, a
// finished message) are events the caller answers later.
//
// Event model
//   The caller owns the connection. After it passes received bytes to feed(), and after each
//   answer it gives, it
//     1. sends take_output() to the client: the replies, in the order of the commands; then
//     2. takes next_event() until it returns nullopt, and acts on each event:
//          AuthRequest      check the credentials; answer with auth_result()
//          RcptRequest      decide on the recipient (a local ePOST user, the SMTP bridge,
//                           unknown); answer with rcpt_result()
//          MessageReceived  store or deliver the message; answer with message_result()
//          StartTls         run the TLS handshake on the socket (the 220 reply is already in
//                           the output sent in step 1), then call tls_started()
//          Close            close the connection once the output is sent
//   AuthRequest, RcptRequest, MessageReceived and StartTls are questions: at most one is
//   outstanding, and until it is answered the session replies to nothing more and only buffers
//   what arrives (RFC 2920: replies keep the order of pipelined commands). The caller may stop
//   reading while awaiting_answer(); if it keeps feeding more than kMaxBufferedInputBytes, the
//   buffered input is dropped and the session closes with 421 right after the answer's reply.
//   An answer may come at any later time, from any code path of the caller (the session is
//   not thread-safe: one thread or strand at a time). Answers that match no outstanding
//   question are ignored.
//
// Security
//   - AUTH is refused without TLS unless the connection is loopback (538 5.7.11), and is not
//     advertised then; MAIL needs AUTH when options.require_auth (530 5.7.0), so a client that
//     has not authenticated, or gave a wrong password, gets no mail accepted.
//   - After STARTTLS every byte that arrived in plaintext behind the command is discarded
//     (the CVE-2011-0411 command injection), and all state learnt before TLS (EHLO, AUTH, a
//     transaction) is forgotten (RFC 3207 4.2).
//   - Only CRLF "." CRLF ends DATA. A bare LF ends a line of content (stored as CRLF) but can
//     never end the message, so "<LF>.<LF>" SMTP smuggling is content, not commands.
//   - Every buffer is bounded: command lines, AUTH lines, data lines, the message (SIZE: an
//     oversized message is counted and discarded as it arrives, then refused with 552), and
//     the input buffered while a question is outstanding. Too many errors end the session
//     with 421.
//   - No reply echoes client input; caller-supplied reply text is sanitised.
//
// Nothing on an input path throws or blocks; malformed input gets its 4xx/5xx reply and the
// session carries on.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plugins/email/smtp/smtp_command.h"
#include "plugins/email/smtp/smtp_path.h"
#include "plugins/email/smtp/smtp_reply.h"
#include "plugins/email/smtp/smtp_sasl.h"

namespace post::email {

// RFC 6409 3.1: the submission port is 587; ePOST listens on 2025 by default so that postd
// needs no privileges and leaves a local MTA's ports alone.
inline constexpr unsigned kDefaultSubmissionPort = 2025;

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF.
inline constexpr std::size_t kRfcCommandLineBytes = 512;
// What the MAIL parameters of the extensions we offer may add to 512: SIZE 26 (RFC 1870),
// AUTH= 500 (RFC 4954 5), BODY=8BITMIME and SMTPUTF8 30. AUTH lines have their own limit,
// kMaxAuthLineBytes.
inline constexpr std::size_t kDefaultMaxCommandLineBytes = kRfcCommandLineBytes + 26 + 500 + 30;
// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF. Real clients exceed
// it (long HTML lines), so by default we take up to 64 KiB and refuse the message beyond.
inline constexpr std::size_t kRfcTextLineBytes = 1000;
inline constexpr std::size_t kDefaultMaxDataLineBytes = 64 * 1024;
inline constexpr std::size_t kMaxDataLineBytesCeiling = 1024 * 1024;
// 25 MiB, the limit of the large mail providers, so what their users send fits here too.
inline constexpr std::size_t kDefaultMaxMessageBytes = 25 * 1024 * 1024;
// RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients per message.
inline constexpr std::size_t kDefaultMaxRecipients = 100;
// Errors (unknown commands, bad syntax, bad sequence, failed AUTH) before 421.
inline constexpr std::size_t kDefaultMaxErrors = 10;
// Input kept while a question is outstanding. A compliant pipelining client sends one group
// of commands (at most max_recipients RCPTs of a few hundred bytes) before it must wait, so
// 1 MiB is generous, and it bounds what a client that does not wait can make us hold.
inline constexpr std::size_t kMaxBufferedInputBytes = 1024 * 1024;
// RFC 1035 2.3.4: a domain name (our hostname, the client's EHLO argument).
inline constexpr std::size_t kMaxHostnameBytes = 255;

struct SmtpOptions {
  std::string hostname = "localhost";                       // in the greeting and the EHLO reply
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // SIZE; at least 1
  std::size_t max_recipients = kDefaultMaxRecipients;       // at least 1
  bool tls_available = false;  // STARTTLS may be offered (the caller has a certificate)
  bool tls_active = false;     // the connection is already TLS (implicit TLS, RFC 8314)
  bool loopback = false;       // the client is on 127.0.0.0/8 or ::1: AUTH without TLS is allowed
  bool require_auth = true;    // submission (RFC 6409 4.3): MAIL only after AUTH
  // Line limits counting the CRLF; clamped to [kRfcCommandLineBytes, kMaxAuthLineBytes] and
  // [kRfcTextLineBytes, kMaxDataLineBytesCeiling].
  std::size_t max_command_line_bytes = kDefaultMaxCommandLineBytes;
  std::size_t max_data_line_bytes = kDefaultMaxDataLineBytes;
  std::size_t max_errors = kDefaultMaxErrors;  // at least 1
};

// A client asks to authenticate. `password` is the secret in clear; the caller checks it
// against the keys this node holds and drops it.
struct AuthRequest {
  std::string mechanism;  // "PLAIN" or "LOGIN"
  std::string authzid;    // PLAIN's authorization identity; empty means "same as user"
  std::string user;
  std::string password;
};

// A client names a recipient of the current transaction.
struct RcptRequest {
  std::string address;  // path.mailbox(): "local@domain", or "Postmaster"
  SmtpPath path;
};

// A client finished sending a message to the recipients the caller accepted.
struct MessageReceived {
  std::string mail_from;             // the sender's mailbox; empty for the null path <>
  std::vector<std::string> rcpt_to;  // accepted recipients, each once, in order
  MailParameters params;             // SIZE, BODY and SMTPUTF8 as given with MAIL FROM
  std::string data;                  // dot-unstuffed; every line ends in CRLF
};

// The 220 reply to STARTTLS is in the output; the caller starts the TLS handshake.
struct StartTls {};

enum class CloseReason {
  kQuit,           // the client sent QUIT (221)
  kTooManyErrors,  // more than max_errors errors (421)
  kInputOverflow,  // input piled up while a question was outstanding (421)
  kIdleTimeout,    // the caller's timer, via terminate() (421)
  kShuttingDown,   // the node is stopping, via terminate() (421)
};

// The reply is in the output; the caller closes the connection after sending it.
struct Close {
  CloseReason reason = CloseReason::kQuit;
};

using SmtpEvent = std::variant<AuthRequest, RcptRequest, MessageReceived, StartTls, Close>;

enum class AuthVerdict {
  kAccepted,          // 235 2.7.0
  kRejected,          // 535 5.7.8, counts as an error
  kTemporaryFailure,  // 454 4.7.0 (the key store is unavailable, ...)
};

class SmtpSession {
 public:
  // Starts a session: the 220 greeting is already in the output. Out-of-range options are
  // clamped as documented on SmtpOptions.
  explicit SmtpSession(SmtpOptions options);

  // Takes bytes received from the client, in any cut, and processes as much as it can. Does
  // nothing once closed().
  void feed(std::string_view bytes);

  // The bytes to send to the client, in order; the session forgets them.
  std::string take_output();
  bool has_output() const { return !output_.empty(); }

  // The next event, oldest first; nullopt when there is none.
  std::optional<SmtpEvent> next_event();

  // Answers the outstanding AuthRequest. A bool means accepted or rejected.
  void auth_result(AuthVerdict verdict);
  void auth_result(bool accepted) {
    auth_result(accepted ? AuthVerdict::kAccepted : AuthVerdict::kRejected);
  }

  // Answers the outstanding RcptRequest. Defaults: accept 250 2.1.5, temporary failure
  // 451 4.3.0, permanent failure 550 5.1.1. Only accepted recipients reach MessageReceived.
  void rcpt_result(const SmtpVerdict& verdict);

  // Answers the outstanding MessageReceived. Defaults: accept 250 2.0.0 (use
  // SmtpVerdict::queued(id) to name the queue id), temporary failure 451 4.3.0, permanent
  // failure 554 5.6.0. Either way the transaction is over.
  void message_result(const SmtpVerdict& verdict);

  // The TLS handshake that StartTls asked for succeeded: the session discards the plaintext
  // input it holds and forgets EHLO, AUTH and any transaction; the client starts again with
  // EHLO and no greeting is sent (RFC 3207 4.2). A failed handshake is the caller's to end
  // by closing the connection.
  void tls_started();

  // Ends the session on the caller's initiative: 421 4.4.2 for kIdleTimeout, 421 4.3.2
  // otherwise, then a Close event. Any outstanding question is dropped.
  void terminate(CloseReason reason);

  // True once a Close event was emitted; the session ignores all further input and answers.
  bool closed() const { return closed_; }
  // True while a question (AuthRequest, RcptRequest, MessageReceived, StartTls) is
  // outstanding; input is only buffered meanwhile.
  bool awaiting_answer() const { return !closed_ && awaiting_ != Awaiting::kNothing; }

  bool tls_active() const { return tls_active_; }
  bool authenticated() const { return authenticated_; }
  // The user of the successful AUTH; empty before.
  const std::string& authenticated_user() const { return authenticated_user_; }
  // The argument of the last HELO or EHLO; empty before.
  const std::string& client_hostname() const { return client_hostname_; }
  // Bytes held for this connection (input not yet processed and the message being
  // received), for memory accounting and tests.
  std::size_t buffered_bytes() const { return input_.size() + body_.size(); }

 private:
  enum class Mode { kCommand, kAuthPlain, kAuthLoginUser, kAuthLoginPassword, kData };
  enum class Awaiting { kNothing, kAuth, kRcpt, kMessage, kTls };

  struct Transaction {
    SmtpPath mail_from;
    MailParameters params;
    std::vector<std::string> recipients;  // accepted ones
    bool rcpt_attempted = false;
  };

  // Input.
  std::size_t consume(std::string_view input);
  void resume();
  void buffer_input(std::string_view bytes);
  void drop_buffered_input();
  void after_answer();
  std::size_t line_limit(std::string_view line_start) const;
  void on_line_too_long();

  // Commands.
  void handle_command(std::string_view line);
  void on_hello(std::string_view argument, bool extended);
  void on_mail(std::string_view argument);
  void on_rcpt(std::string_view argument);
  void on_data(std::string_view argument);
  void on_auth(std::string_view argument);
  void on_auth_response(std::string_view line);
  void on_starttls(std::string_view argument);
  void on_data_line(std::string_view line, bool ended_by_crlf);
  void finish_data();
  void request_auth(std::string mechanism, std::string authzid, std::string user,
                    std::string password);

  // Output.
  void reply(int code, std::string_view enhanced_code, std::string_view text);
  void reply_error(int code, std::string_view enhanced_code, std::string_view text);
  void close_connection(CloseReason reason);
  bool auth_allowed_here() const { return tls_active_ || options_.loopback; }
  bool must_start_tls_first() const {
    return options_.tls_available && !tls_active_ && !options_.loopback;
  }
  void forget_client();
  void release_body();

  SmtpOptions options_;
  std::string output_;
  std::deque<SmtpEvent> events_;

  std::string input_;                   // received, not yet processed
  std::size_t scanned_without_lf_ = 0;  // leading bytes of input_ known to hold no LF
  bool skipping_line_ = false;          // discarding the rest of an over-long line
  bool input_overflowed_ = false;       // input was dropped while awaiting; 421 follows
  bool closed_ = false;
  Mode mode_ = Mode::kCommand;
  Awaiting awaiting_ = Awaiting::kNothing;
  std::size_t errors_ = 0;

  bool greeted_ = false;   // HELO or EHLO seen
  bool extended_ = false;  // it was EHLO
  std::string client_hostname_;
  bool tls_active_ = false;
  bool authenticated_ = false;
  std::string authenticated_user_;
  std::string auth_user_;  // LOGIN's user between prompts; the user of an AuthRequest

  std::optional<Transaction> transaction_;
  std::string pending_recipient_;

  std::string body_;
  bool previous_line_crlf_ = true;  // the line before ended in CRLF (DATA's line counts)
  bool message_too_big_ = false;
  bool message_line_too_long_ = false;
};

}  // namespace post::email
