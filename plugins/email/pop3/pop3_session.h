// Pop3Session: the server side of one POP3 connection (RFC 1939, with CAPA and response codes
// from RFC 2449 and RFC 3206), as a sans-I/O state machine. It never touches a socket, a clock
// or a thread: bytes come in, response bytes and events go out, and questions it cannot answer
// alone (a password, a message's content, removing deleted messages) are events the caller
// answers later.
//
// Event model
//   The caller owns the connection. After it passes received bytes to feed(), after each
//   answer it gives and after each take_output(), it drains the session:
//
//     while (true) {
//       if (session.has_output()) send(session.take_output());
//       else if (auto event = session.next_event()) act_on(*event);
//       else break;
//     }
//
//   and acts on each event:
//     Pop3Login     check the credentials and lock the maildrop; answer with login_result()
//     Pop3Retrieve  read the message (RETR) or its beginning (TOP); answer with
//                   retrieve_result()
//     Pop3Commit    the client sent QUIT in the TRANSACTION state: remove the deleted
//                   messages and release the maildrop; answer with commit_result()
//     Pop3Close     close the connection once the output is sent; release the maildrop
//                   (without removing anything, RFC 1939 6) if it is still held
//   Pop3Login, Pop3Retrieve and Pop3Commit are questions: at most one is outstanding, and until
//   it is answered the session processes no further command and only buffers what arrives
//   (RFC 2449 6.6: responses keep the order of pipelined commands). The caller may stop
//   reading while awaiting_answer(); if it keeps feeding more than kPop3MaxBufferedInputBytes,
//   the buffered input is dropped and the session closes with -ERR right after the answer's
//   response. The session also stops processing commands while more than
//   kPop3OutputHighWaterBytes of output wait to be taken, and goes on in take_output(), so a
//   client that pipelines thousands of LISTs cannot make it hold their answers all at once.
//   Answers may come at any later time (the session is not thread-safe: one thread or strand
//   at a time). Answers that match no outstanding question are ignored.
//
// Security
//   - USER and PASS are refused without TLS unless the connection is loopback ("-ERR [AUTH]"),
//     and USER is not advertised in CAPA then. There is no TLS in the plugin yet, so STLS is
//     not offered; options.tls_active marks a connection that is already TLS.
//   - A rejected login counts against max_login_failures, after which the session closes.
//     Other client errors in a row (unknown commands, bad arguments, over-long lines) close it
//     after max_errors.
//   - Every buffer is bounded: the command line (255 octets with its CRLF by default, RFC 2449
//     4), the input buffered while a question is outstanding, the output held before it is
//     taken (see above) and the maildrop (max_messages). A line that goes on without a newline
//     for kPop3MaxDiscardedLineBytes ends the session.
//   - No response echoes client input, except a user name of printable ASCII in the login
//     response (RFC 1939 10); caller-supplied text (hostname, greeting) is sanitised.
//
// Nothing on an input path throws or blocks; malformed input gets its -ERR response and the
// session carries on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace post::email {

// RFC 2449 4: a command line is at most 255 octets with its CRLF.
inline constexpr std::size_t kPop3RfcCommandLineBytes = 255;
// A caller may allow longer lines (long passwords); never more than this.
inline constexpr std::size_t kPop3MaxCommandLineBytesCeiling = 1024;
// An over-long line is skipped as it arrives; one that has not ended after this many bytes
// is not a POP3 client talking, and the session closes.
inline constexpr std::size_t kPop3MaxDiscardedLineBytes = 64 * 1024;
// Input kept while a question is outstanding. A pipelining client sends at most one window
// of commands (a RETR for every message is ~12 bytes each); 64 KiB bounds what a client that
// does not wait can make us hold.
inline constexpr std::size_t kPop3MaxBufferedInputBytes = 64 * 1024;
// Output held before the session stops starting new commands. One response may exceed it (a
// message, a LIST of a large maildrop); it only stops the next ones.
inline constexpr std::size_t kPop3OutputHighWaterBytes = 256 * 1024;
// Messages shown in one session: the first ones of the maildrop, the rest in a later session
// once these are deleted. Bounds the maildrop held and a LIST or UIDL answer to a few MiB.
inline constexpr std::size_t kPop3DefaultMaxMessages = 100000;
// Client errors in a row (unknown commands, bad syntax, wrong state) before the session ends.
inline constexpr std::size_t kPop3DefaultMaxErrors = 10;
// Rejected logins per connection before the session ends (slows password guessing).
inline constexpr std::size_t kPop3DefaultMaxLoginFailures = 3;
// RFC 1939 7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E.
inline constexpr std::size_t kPop3MaxUidBytes = 70;
// Caller-supplied response text: our hostname (RFC 1035 2.3.4) and the greeting.
inline constexpr std::size_t kPop3MaxHostnameBytes = 255;
inline constexpr std::size_t kPop3MaxGreetingBytes = 200;

struct Pop3Options {
  std::string hostname = "localhost";  // in the greeting and the QUIT response
  // The text after "+OK " in the greeting; empty means "<hostname> POP3 server ready".
  // Printable ASCII only, at most kPop3MaxGreetingBytes; anything else is removed.
  std::string greeting;
  bool loopback = false;       // the client is on 127.0.0.0/8 or ::1: USER/PASS without TLS allowed
  bool tls_active = false;     // the connection is already TLS (implicit TLS, RFC 8314)
  bool tls_available = false;  // STLS may be offered (RFC 2595; the caller has a certificate)
  // Command line limit counting the CRLF; clamped to
  // [kPop3RfcCommandLineBytes, kPop3MaxCommandLineBytesCeiling].
  std::size_t max_line_bytes = kPop3RfcCommandLineBytes;
  std::size_t max_messages = kPop3DefaultMaxMessages;             // at least 1
  std::size_t max_errors = kPop3DefaultMaxErrors;                 // at least 1
  std::size_t max_login_failures = kPop3DefaultMaxLoginFailures;  // at least 1
};

// RFC 1939 3: the states of a session.
enum class Pop3State {
  kAuthorization,  // before a successful login
  kTransaction,    // the maildrop is open
  kUpdate,         // QUIT received in TRANSACTION; the deletions are being committed
};

// One message of a maildrop, as the caller lists it at login.
struct Pop3Message {
  std::uint64_t size = 0;  // octets as sent: CRLF line endings, before byte-stuffing
  std::string uid;         // UIDL: 1..kPop3MaxUidBytes characters 0x21-0x7E, unique, persistent
};

// The maildrop of the user who logged in, in the order the messages are numbered (from 1).
struct Pop3Maildrop {
  std::vector<Pop3Message> messages;
};

// A client gave USER and PASS. The caller checks the credentials, locks the maildrop (RFC
// 1939 4: one session per maildrop) and drops the password.
struct Pop3Login {
  std::string user;
  std::string password;
};

// A client asked for a message (RETR) or its beginning (TOP).
struct Pop3Retrieve {
  std::size_t message = 0;                 // its number, 1-based, in the maildrop given
  std::string uid;                         // its unique-id, from the maildrop given
  std::optional<std::uint64_t> top_lines;  // TOP: body lines wanted; nullopt for RETR
};

// A client sent QUIT in the TRANSACTION state (RFC 1939 6: the UPDATE state). The caller
// removes the messages and releases the maildrop; an empty list is still a commit.
struct Pop3Commit {
  std::vector<std::size_t> deleted;  // message numbers, ascending
};

enum class Pop3CloseReason {
  kQuit,           // the client sent QUIT
  kTooManyErrors,  // max_errors client errors in a row
  kLoginFailures,  // max_login_failures logins rejected
  kInputOverflow,  // input piled up while a question was outstanding, or an endless line
  kIdleTimeout,    // the caller's timer (RFC 1939 3: at least 10 minutes), via terminate()
  kShuttingDown,   // the node is stopping, via terminate()
  kTlsFailed,      // the TLS handshake STLS asked for failed
};

// The response is in the output; the caller closes the connection after sending it.
struct Pop3Close {
  Pop3CloseReason reason = Pop3CloseReason::kQuit;
};

// A client sent STLS and "+OK Begin TLS negotiation" is in the output: the caller sends it,
// runs the TLS handshake and answers with tls_started().
struct Pop3StartTls {};

using Pop3Event = std::variant<Pop3Login, Pop3Retrieve, Pop3Commit, Pop3Close, Pop3StartTls>;

enum class Pop3LoginFailure {
  kInvalidCredentials,  // -ERR [AUTH]; counts against max_login_failures
  kMaildropInUse,       // -ERR [IN-USE]: another session holds the lock
  kTemporary,           // -ERR [SYS/TEMP]: the key store or the maildrop is unavailable
};

enum class Pop3RetrieveFailure {
  kTemporary,  // -ERR [SYS/TEMP]: try again later
  kPermanent,  // -ERR: the message cannot be read (gone, corrupt)
};

class Pop3Session {
 public:
  // Starts a session in the AUTHORIZATION state: the "+OK" greeting is already in the
  // output. Out-of-range options are clamped as documented on Pop3Options.
  explicit Pop3Session(Pop3Options options);

  // Takes bytes received from the client, in any cut, and processes as much as it can. Does
  // nothing once closed().
  void feed(std::string_view bytes);

  // The bytes to send to the client, in order; the session forgets them. If it had stopped
  // at kPop3OutputHighWaterBytes, it goes on with the buffered commands, which may leave new
  // output and events: drain again (see the event model above).
  std::string take_output();
  bool has_output() const { return !output_.empty(); }

  // The next event, oldest first; nullopt when there is none.
  std::optional<Pop3Event> next_event();

  // Answers the outstanding Pop3Login: the login succeeded and this is the user's maildrop.
  // The session shows its first max_messages messages. A maildrop with an invalid or
  // duplicate uid is a caller bug: it is refused with -ERR [SYS/TEMP] and the session stays
  // in AUTHORIZATION (the caller still holds the lock, and releases it on Pop3Close).
  void login_result(Pop3Maildrop maildrop);
  // Answers the outstanding Pop3Login with a failure; the session stays in AUTHORIZATION,
  // or closes after max_login_failures kInvalidCredentials.
  void login_result(Pop3LoginFailure failure);

  // Answers the outstanding Pop3Retrieve with the message. The session writes "+OK <size>
  // octets" (RETR; size after CRLF normalisation) or "+OK" (TOP), the content with line
  // endings normalised to CRLF, a final CRLF added if missing, lines that begin with "."
  // byte-stuffed, and the terminating ".". For TOP it writes the header, the blank line and
  // the first top_lines lines of the body, whatever the caller passes after them.
  void retrieve_result(std::string_view content);
  // Answers the outstanding Pop3Retrieve with a failure.
  void retrieve_result(Pop3RetrieveFailure failure);

  // Answers the outstanding Pop3StartTls: on success every byte that arrived in plaintext
  // after STLS is dropped (RFC 2595 4, no command injection) and the session goes on over TLS;
  // on failure it closes (Pop3Close with kTlsFailed).
  void tls_started(bool ok);

  // Answers the outstanding Pop3Commit: "+OK ... signing off" when the deleted messages are
  // removed, "-ERR [SYS/TEMP] some deleted messages not removed" otherwise (RFC 1939 6).
  // Either way the session then closes.
  void commit_result(bool committed);

  // Ends the session on the caller's initiative: -ERR then a Pop3Close event. Any outstanding
  // question is dropped, and nothing is committed (RFC 1939 3).
  void terminate(Pop3CloseReason reason);

  // True once a Pop3Close event was emitted; the session ignores all further input and
  // answers.
  bool closed() const { return closed_; }
  // True while a question (Pop3Login, Pop3Retrieve, Pop3Commit) is outstanding; input is
  // only buffered meanwhile.
  bool awaiting_answer() const { return !closed_ && awaiting_ != Awaiting::kNothing; }

  Pop3State state() const { return state_; }
  bool tls_active() const { return tls_active_; }
  // The user of the successful login; empty before.
  const std::string& user() const { return user_; }
  // Bytes of input held for this connection, for memory accounting and tests.
  std::size_t buffered_bytes() const { return input_.size(); }

 private:
  enum class Awaiting { kNothing, kLogin, kRetrieve, kCommit, kTls };

  struct Entry {
    Pop3Message message;
    bool deleted = false;
  };

  // Input.
  bool processing_paused() const {
    return closed_ || awaiting_ != Awaiting::kNothing ||
           output_.size() >= kPop3OutputHighWaterBytes;
  }
  std::size_t consume(std::string_view input);
  void resume();
  void buffer_input(std::string_view bytes);

  // Commands.
  void handle_command(std::string_view line);
  void handle_authorization(std::string_view keyword, std::string_view arguments);
  void handle_transaction(std::string_view keyword, std::string_view arguments);
  void on_capa();
  void on_stls();
  void on_user(std::string_view arguments);
  void on_pass(std::string_view arguments);
  void on_quit();
  void on_stat();
  void on_list(std::string_view arguments, bool unique_ids);
  void on_retrieve(std::string_view arguments, bool top);
  void on_dele(std::string_view arguments);
  void on_rset();
  // The message that `argument` names, or nullptr after an -ERR response.
  Entry* visible_message(std::string_view argument);

  // Output.
  void ok(std::string_view text);
  void server_error(std::string_view text);
  void client_error(std::string_view text);
  void close_connection(Pop3CloseReason reason);
  bool login_allowed_here() const { return tls_active_ || options_.loopback; }
  std::size_t visible_count() const;
  std::uint64_t visible_octets() const;
  std::string maildrop_summary() const;

  Pop3Options options_;
  std::string output_;
  std::deque<Pop3Event> events_;

  std::string input_;                   // received, not yet processed
  std::size_t scanned_without_lf_ = 0;  // leading bytes of input_ known to hold no LF
  bool skipping_line_ = false;          // discarding the rest of an over-long line
  std::size_t discarded_bytes_ = 0;     // of that line so far
  bool input_overflowed_ = false;       // input was dropped while paused; -ERR and close follow
  bool closed_ = false;
  Awaiting awaiting_ = Awaiting::kNothing;
  std::size_t errors_in_a_row_ = 0;
  std::size_t login_failures_ = 0;

  Pop3State state_ = Pop3State::kAuthorization;
  bool tls_active_ = false;
  std::optional<std::string> pending_user_;  // USER's argument, for the PASS right after it
  std::string login_user_;                   // the user of the Pop3Login outstanding
  std::string user_;
  std::vector<Entry> maildrop_;
  std::size_t pending_message_ = 0;  // the Pop3Retrieve outstanding
  std::optional<std::uint64_t> pending_top_lines_;
};

}  // namespace post::email
