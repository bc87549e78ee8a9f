// Framing of IMAP4rev1 client input (RFC 3501 2.2, 4.3; LITERAL+ RFC 7888): raw bytes in,
// complete commands out, sans-I/O. A command is one or more lines; a line that ends in a
// literal marker ("{12}", "{12+}") is followed by exactly that many bytes of literal data and
// then more of the command. The reader never touches a socket: the caller feeds what it
// reads and turns the events it takes out into output (a "+ Ready for literal" continuation,
// a BAD reply, closing the connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plugins/email/imap/imap_result.h"

namespace post::email {

// Longest line of a command, literals excluded. RFC 7162 3.2.1 asks clients to keep lines
// under about 8 KiB and servers to accept at least that; long UID sets from sync clients
// (mbsync, offlineimap) run longer, so we take Dovecot's 64 KiB.
inline constexpr std::size_t kDefaultMaxLineBytes = std::size_t{64} * 1024;
// Largest literal in a command other than APPEND: a password, a search string, a mailbox
// name. Nothing legitimate comes near it.
inline constexpr std::size_t kDefaultMaxLiteralBytes = std::size_t{64} * 1024;
// Largest literal of an APPEND (the message). The caller sets it to its message size limit;
// the default takes a 25 MiB attachment after base64.
inline constexpr std::size_t kDefaultMaxAppendLiteralBytes = std::size_t{36} * 1024 * 1024;
// Largest command, text and literals, not counting an APPEND's message literals.
inline constexpr std::size_t kDefaultMaxCommandBytes = std::size_t{256} * 1024;
// Deepest nesting of search keys (parentheses, NOT, OR). Thunderbird's quick filter builds
// OR chains one level per term; 64 keeps the parser's recursion far from the stack's end.
inline constexpr std::size_t kDefaultMaxNestingDepth = 64;

// The bounds a reader and the parser enforce. A connection may tighten them before login.
struct ImapLimits {
  std::size_t max_line_bytes = kDefaultMaxLineBytes;
  std::size_t max_literal_bytes = kDefaultMaxLiteralBytes;
  std::size_t max_append_literal_bytes = kDefaultMaxAppendLiteralBytes;
  std::size_t max_command_bytes = kDefaultMaxCommandBytes;
  std::size_t max_nesting_depth = kDefaultMaxNestingDepth;
};

// Where a literal's data sits inside RawCommand::bytes.
struct LiteralSpan {
  std::size_t offset = 0;
  std::size_t size = 0;
  bool synchronizing = true;
  bool operator==(const LiteralSpan&) const = default;
};

// One complete command as the client sent it: `bytes` is the command without its final
// line end, literal markers included and each followed by CRLF and the literal data, so a
// marker and its data read as one token (a line ended by bare LF is normalised to CRLF).
// `tag` is the first word when it is a valid tag, otherwise empty.
struct RawCommand {
  std::string tag;
  std::string bytes;
  std::vector<LiteralSpan> literals;
};

// The client sent a synchronizing literal marker that the reader accepted: send
// kLiteralContinuation now; the client waits for it before sending the literal data.
struct ContinuationRequest {
  std::size_t literal_size = 0;
};
inline constexpr std::string_view kLiteralContinuation = "+ Ready for literal\r\n";

// The DONE line that ends IDLE (RFC 2177), after expect_idle_done().
struct IdleDone {};

// One client line of an AUTHENTICATE exchange, after expect_authenticate_response(): the
// base64 text as sent, without its line end. `cancelled` when the line was "*": the server
// then refuses the AUTHENTICATE with a tagged BAD (RFC 3501 6.2.2).
struct AuthenticateResponse {
  std::string line;
  bool cancelled = false;
};

// Input that could not be framed into a command. Send error.reply_line(). When
// `close_connection` is set the reader cannot tell where the next command starts (a
// non-synchronizing literal it would not take is on its way): send "* BYE" and close; the
// reader ignores all further input. Otherwise the reader has skipped the bad command and
// continues with the next one.
struct ReaderError {
  ImapError error;
  bool close_connection = false;
};

using ImapReaderEvent =
    std::variant<RawCommand, ContinuationRequest, IdleDone, AuthenticateResponse, ReaderError>;

// Splits a client's byte stream into commands. Feed bytes as they arrive, then call next()
// until it returns nullopt; each call does the work for at most one event, so the caller can
// change the reader's mode (expect_idle_done, ...) between two events and bytes already
// buffered are read in the new mode. Memory is bounded by the limits, except for bytes fed
// while the caller holds back next(): a caller that stops taking events stops reading too.
//
// Limits (ImapLimits): a line longer than max_line_bytes or a command larger than
// max_command_bytes is skipped to its end (non-synchronizing literals within their limit
// included) and refused with BAD; reading continues. A synchronizing literal over its limit,
// or one that would take the command past max_command_bytes, is refused before the client
// sends it (NO [TOOBIG] for an APPEND message, BAD [TOOBIG] otherwise) and reading continues
// with the next line (RFC 7888 4). A non-synchronizing literal over its limit is refused
// and the connection must close: its data is on the way and will not be read. The literal
// limit is max_append_literal_bytes in an APPEND command and max_literal_bytes in any other;
// an APPEND may be max_command_bytes plus max_append_literal_bytes long. A synchronizing
// literal8 marker ("~{n}") is refused before it is sent; a non-synchronizing one is framed
// and left for the parser to refuse.
class ImapCommandReader {
 public:
  explicit ImapCommandReader(ImapLimits limits = {}) : limits_(limits) {}

  // Appends received bytes. Ignored after a ReaderError that closes the connection.
  void feed(std::string_view bytes);
  // The next event, or nullopt when more bytes are needed.
  std::optional<ImapReaderEvent> next();

  // Reads the next line as the end of IDLE: IdleDone when it is "DONE" (any case), else a
  // ReaderError "<idle_tag> BAD Expected DONE" that also ends the IDLE. Then back to commands.
  void expect_idle_done(std::string idle_tag);
  // Reads the next line as one AuthenticateResponse, then goes back to commands. A line
  // longer than max_line_bytes gives a ReaderError "<tag> BAD ..." that ends the exchange.
  void expect_authenticate_response(std::string authenticate_tag);

  // Drops every byte received and not yet taken, and any command in progress; returns how
  // many bytes were dropped. Call it when STARTTLS succeeds: bytes that arrived before the
  // TLS handshake must not be read as commands of the protected session.
  std::size_t discard_buffered();

  // New limits for what is read from now on.
  void set_limits(const ImapLimits& limits) { limits_ = limits; }
  const ImapLimits& limits() const { return limits_; }

  // Bytes received but not yet turned into an event (excluding a command's assembled part).
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // True after a ReaderError that closes the connection.
  bool closed() const { return state_ == State::kClosed; }

 private:
  enum class State {
    kCommandLine,       // reading a line of a command
    kLiteral,           // copying literal data into the command
    kSkipLine,          // discarding the rest of a refused command's line
    kSkipLiteral,       // discarding a non-synchronizing literal of a refused command
    kIdleLine,          // reading the line that should be DONE
    kAuthenticateLine,  // reading an AUTHENTICATE response line
    kClosed,
  };
  enum class Pending { kNone, kLineTooLong, kCommandTooLarge, kNotDone, kAuthTooLong };

  std::optional<ImapReaderEvent> read_command_line();
  std::optional<ImapReaderEvent> read_literal();
  std::optional<ImapReaderEvent> skip_line();
  std::optional<ImapReaderEvent> skip_literal();
  std::optional<ImapReaderEvent> read_special_line();

  // Starts discarding the current command from consumed_ on; `why` is replied once its end
  // is found.
  void start_skipping(Pending why);
  std::optional<ImapReaderEvent> finish_skipping();
  ReaderError refuse_oversize_literal(std::string tag, bool append, bool synchronizing,
                                      bool literal8);
  void reset_command();
  void compact();
  std::string current_tag() const;
  bool current_is_append() const;
  std::size_t literal_limit() const;
  std::size_t command_limit() const;

  ImapLimits limits_;
  State state_ = State::kCommandLine;
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::size_t scanned_ = 0;  // bytes after consumed_ known to hold no '\n'

  // The command being assembled.
  std::string command_;
  std::vector<LiteralSpan> literals_;
  std::size_t literal_remaining_ = 0;

  // Skipping a refused command.
  Pending pending_ = Pending::kNone;
  std::string pending_tag_;
  bool pending_append_ = false;
  std::string skip_tail_;  // last bytes of the skipped line, for a literal marker
  bool skip_first_line_ = false;
  std::size_t skip_literal_remaining_ = 0;

  std::string special_tag_;  // tag of the IDLE or AUTHENTICATE being continued
};

// Longest tag we accept. Tags are echoed in every reply; clients use a few characters.
inline constexpr std::size_t kMaxTagBytes = 256;

// Whether `tag` is a valid command tag: 1*<ASTRING-CHAR except "+"> (RFC 3501 9), at most
// kMaxTagBytes long.
bool is_valid_tag(std::string_view tag);

}  // namespace post::email
