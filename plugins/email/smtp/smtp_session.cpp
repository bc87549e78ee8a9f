#include "plugins/email/smtp/smtp_session.h"

#include <algorithm>
#include <utility>

#include "plugins/email/smtp/smtp_text.h"

namespace post::email {
namespace {

constexpr std::string_view kHelpText =
    "Commands: EHLO HELO AUTH STARTTLS MAIL RCPT DATA RSET NOOP VRFY HELP QUIT";

// RFC 4954 4: the LOGIN prompts, base64 of "Username:" and "Password:".
constexpr std::string_view kLoginUserPrompt = "VXNlcm5hbWU6";
constexpr std::string_view kLoginPasswordPrompt = "UGFzc3dvcmQ6";

const VerdictDefaults kRcptDefaults = {
    {250, "2.1.5", "Ok"},
    {451, "4.3.0", "Recipient temporarily unavailable, try again later"},
    {550, "5.1.1", "Recipient address rejected"},
};

const VerdictDefaults kMessageDefaults = {
    {250, "2.0.0", "Ok"},
    {451, "4.3.0", "Temporary failure, try again later"},
    {554, "5.6.0", "Message refused"},
};

// Our hostname as it may appear in replies: printable ASCII, at most kMaxHostnameBytes.
std::string sanitise_hostname(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, kMaxHostnameBytes)) {
    if (c > ' ' && c < 0x7F) out.push_back(c);
  }
  return out.empty() ? std::string("localhost") : out;
}

// An EHLO/HELO argument: one word of printable ASCII or UTF-8, at most kMaxHostnameBytes.
bool is_acceptable_client_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostnameBytes) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7F) return false;
  }
  return is_valid_utf8(name);
}

std::string with_detail(std::string_view text, const SmtpError& error) {
  std::string out(text);
  if (!error.detail.empty()) {
    out += ": ";
    out += error.detail;
  }
  return out;
}

}  // namespace

SmtpSession::SmtpSession(SmtpOptions options) : options_(std::move(options)) {
  options_.hostname = sanitise_hostname(options_.hostname);
  options_.max_message_bytes = std::max<std::size_t>(options_.max_message_bytes, 1);
  options_.max_recipients = std::max<std::size_t>(options_.max_recipients, 1);
  options_.max_errors = std::max<std::size_t>(options_.max_errors, 1);
  options_.max_command_line_bytes =
      std::clamp(options_.max_command_line_bytes, kRfcCommandLineBytes, kMaxAuthLineBytes);
  options_.max_data_line_bytes =
      std::clamp(options_.max_data_line_bytes, kRfcTextLineBytes, kMaxDataLineBytesCeiling);
  tls_active_ = options_.tls_active;
  // RFC 2034 3: no enhanced code on the greeting.
  reply(220, {}, options_.hostname + " ESMTP POST");
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

void SmtpSession::feed(std::string_view bytes) {
  if (closed_ || input_overflowed_ || bytes.empty()) return;
  if (awaiting_ != Awaiting::kNothing) {
    buffer_input(bytes);
    return;
  }
  if (input_.empty()) {
    // The common case: process straight from the caller's buffer, keep only the rest.
    std::size_t used = consume(bytes);
    if (!closed_) buffer_input(bytes.substr(used));
    return;
  }
  input_.append(bytes);
  resume();
}

void SmtpSession::buffer_input(std::string_view bytes) {
  if (input_.size() + bytes.size() > kMaxBufferedInputBytes) {
    drop_buffered_input();
    return;
  }
  input_.append(bytes);
}

void SmtpSession::drop_buffered_input() {
  input_overflowed_ = true;
  std::string().swap(input_);
  scanned_without_lf_ = 0;
  if (awaiting_ == Awaiting::kNothing) {
    // Not reachable with the line limits below kMaxBufferedInputBytes; kept as a backstop.
    reply(421, "4.7.0", options_.hostname + " Too much input, closing connection");
    close_connection(CloseReason::kInputOverflow);
  }
}

void SmtpSession::resume() {
  if (closed_ || awaiting_ != Awaiting::kNothing || input_.empty()) return;
  std::size_t used = consume(input_);
  if (closed_) {
    std::string().swap(input_);  // only now: consume() was reading it
    return;
  }
  input_.erase(0, used);
  if (input_.size() > kMaxBufferedInputBytes) drop_buffered_input();
}

void SmtpSession::after_answer() {
  if (closed_) return;
  if (input_overflowed_) {
    reply(421, "4.7.0", options_.hostname + " Too much pipelined input, closing connection");
    close_connection(CloseReason::kInputOverflow);
    return;
  }
  resume();
}

std::size_t SmtpSession::line_limit(std::string_view line_start) const {
  switch (mode_) {
    case Mode::kData: return options_.max_data_line_bytes;
    case Mode::kAuthPlain:
    case Mode::kAuthLoginUser:
    case Mode::kAuthLoginPassword: return kMaxAuthLineBytes;
    case Mode::kCommand:
      return istarts_with(line_start, "AUTH ") ? kMaxAuthLineBytes
                                               : options_.max_command_line_bytes;
  }
  return options_.max_command_line_bytes;
}

// Splits `input` into lines and handles each, until a question is outstanding, the session
// closes, or only a partial line is left. Returns the number of bytes used. Lines end at LF;
// a CR before it is removed (and remembered, which only DATA cares about). A line longer than
// its limit is answered at once, and its rest skipped as it arrives, so an endless line costs
// no memory.
std::size_t SmtpSession::consume(std::string_view input) {
  std::size_t pos = 0;
  std::size_t search_from = scanned_without_lf_;
  scanned_without_lf_ = 0;
  while (pos < input.size() && !closed_ && awaiting_ == Awaiting::kNothing) {
    std::string_view rest = input.substr(pos);
    std::size_t lf = rest.find('\n', std::min(search_from, rest.size()));
    search_from = 0;
    if (lf == std::string_view::npos) {
      if (skipping_line_) return input.size();
      // A partial line may end in the CR of its CRLF; the limit counts CRLF.
      if (rest.size() + 1 > line_limit(rest)) {
        on_line_too_long();
        skipping_line_ = true;
        return input.size();
      }
      scanned_without_lf_ = rest.size();
      return pos;
    }
    std::string_view line = rest.substr(0, lf);
    pos += lf + 1;
    bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.remove_suffix(1);
    if (skipping_line_) {
      skipping_line_ = false;
      previous_line_crlf_ = crlf;
      continue;
    }
    if (line.size() + 2 > line_limit(line)) {
      on_line_too_long();
      previous_line_crlf_ = crlf;
      continue;
    }
    switch (mode_) {
      case Mode::kCommand: handle_command(line); break;
      case Mode::kAuthPlain:
      case Mode::kAuthLoginUser:
      case Mode::kAuthLoginPassword: on_auth_response(line); break;
      case Mode::kData: on_data_line(line, crlf); break;
    }
  }
  return pos;
}

void SmtpSession::on_line_too_long() {
  if (mode_ == Mode::kData) {
    // Refused after the end of data, when the client listens again.
    message_line_too_long_ = true;
    release_body();
    return;
  }
  mode_ = Mode::kCommand;  // an AUTH exchange ends with it
  auth_user_.clear();
  reply_error(500, "5.5.2", "Line too long");
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

void SmtpSession::handle_command(std::string_view line) {
  SmtpCommand command = parse_command_line(line);
  std::string_view argument = command.argument;
  switch (command.verb) {
    case SmtpVerb::kHelo: on_hello(argument, false); return;
    case SmtpVerb::kEhlo: on_hello(argument, true); return;
    case SmtpVerb::kMail: on_mail(argument); return;
    case SmtpVerb::kRcpt: on_rcpt(argument); return;
    case SmtpVerb::kData: on_data(argument); return;
    case SmtpVerb::kAuth: on_auth(argument); return;
    case SmtpVerb::kStartTls: on_starttls(argument); return;
    case SmtpVerb::kRset:
      if (!argument.empty()) return reply_error(501, "5.5.4", "Syntax: RSET");
      transaction_.reset();
      return reply(250, "2.0.0", "Ok");
    case SmtpVerb::kNoop: return reply(250, "2.0.0", "Ok");
    case SmtpVerb::kQuit:
      if (!argument.empty()) return reply_error(501, "5.5.4", "Syntax: QUIT");
      reply(221, "2.0.0", options_.hostname + " closing connection");
      return close_connection(CloseReason::kQuit);
    case SmtpVerb::kVrfy:
      if (argument.empty()) return reply_error(501, "5.5.4", "Syntax: VRFY address");
      return reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
    case SmtpVerb::kHelp: return reply(214, "2.0.0", kHelpText);
    case SmtpVerb::kExpn:
    case SmtpVerb::kBdat:
    case SmtpVerb::kTurn:
    case SmtpVerb::kEtrn: return reply_error(502, "5.5.1", "Command not implemented");
    case SmtpVerb::kUnknown: return reply_error(500, "5.5.2", "Command not recognized");
  }
}

void SmtpSession::on_hello(std::string_view argument, bool extended) {
  std::string_view name = argument.substr(0, argument.find(' '));
  if (!is_acceptable_client_name(name)) {
    return reply_error(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  }
  transaction_.reset();  // RFC 5321 4.1.4: like RSET
  greeted_ = true;
  extended_ = extended;
  client_hostname_ = std::string(name);
  // RFC 2034 3: no enhanced codes in replies to HELO and EHLO.
  if (!extended) return reply(250, {}, options_.hostname);
  std::vector<std::string> lines;
  lines.push_back(options_.hostname);
  lines.push_back("SIZE " + std::to_string(options_.max_message_bytes));
  for (const char* keyword : {"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"}) {
    lines.emplace_back(keyword);
  }
  if (options_.tls_available && !tls_active_) lines.emplace_back("STARTTLS");
  if (auth_allowed_here() && !authenticated_) lines.emplace_back("AUTH PLAIN LOGIN");
  append_multiline_reply(output_, 250, lines);
}

void SmtpSession::on_mail(std::string_view argument) {
  if (!greeted_) return reply_error(503, "5.5.1", "Send HELO/EHLO first");
  if (transaction_) return reply_error(503, "5.5.1", "Nested MAIL command");
  if (options_.require_auth && !authenticated_) {
    if (must_start_tls_first()) {
      return reply_error(530, "5.7.0", "Must issue a STARTTLS command first");
    }
    return reply_error(530, "5.7.0", "Authentication required");
  }
  auto parsed = parse_path_command(argument, "FROM:");
  if (!parsed) {
    return reply_error(501, "5.1.7", with_detail("Bad sender address syntax", parsed.error()));
  }
  if (parsed->path.is_bare_postmaster()) {
    return reply_error(501, "5.1.7", "Bad sender address syntax: address has no @domain");
  }
  if (!parsed->parameters.empty() && !extended_) {
    return reply_error(555, "5.5.4", "MAIL parameters need EHLO");
  }
  auto params = interpret_mail_parameters(parsed->parameters);
  if (!params) {
    if (params.error().code == SmtpErrc::kUnknownParameter) {
      return reply_error(555, "5.5.4", "Unsupported MAIL parameter");
    }
    return reply_error(501, "5.5.4", with_detail("Bad MAIL parameter", params.error()));
  }
  if (params->size && *params->size > options_.max_message_bytes) {
    return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  }
  if (parsed->path.has_non_ascii() && !params->smtputf8) {
    return reply_error(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8");
  }
  transaction_ = Transaction{std::move(parsed->path), std::move(*params), {}, false};
  reply(250, "2.1.0", "Ok");
}

void SmtpSession::on_rcpt(std::string_view argument) {
  if (!transaction_) return reply_error(503, "5.5.1", "Need MAIL command");
  auto parsed = parse_path_command(argument, "TO:");
  if (!parsed) {
    return reply_error(501, "5.1.3", with_detail("Bad recipient address syntax", parsed.error()));
  }
  if (parsed->path.null) {
    return reply_error(501, "5.1.3", "Bad recipient address syntax: null path");
  }
  if (!parsed->parameters.empty()) return reply_error(555, "5.5.4", "Unsupported RCPT parameter");
  if (parsed->path.has_non_ascii() && !transaction_->params.smtputf8) {
    return reply_error(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8");
  }
  transaction_->rcpt_attempted = true;
  std::string address = parsed->path.mailbox();
  const auto& accepted = transaction_->recipients;
  if (std::find(accepted.begin(), accepted.end(), address) != accepted.end()) {
    return reply(250, "2.1.5", "Ok");  // accepted before; delivered once
  }
  if (accepted.size() >= options_.max_recipients) {
    return reply(452, "4.5.3", "Too many recipients");
  }
  pending_recipient_ = address;
  awaiting_ = Awaiting::kRcpt;
  events_.emplace_back(RcptRequest{std::move(address), std::move(parsed->path)});
}

void SmtpSession::on_data(std::string_view argument) {
  if (!argument.empty()) return reply_error(501, "5.5.4", "Syntax: DATA");
  if (!transaction_) return reply_error(503, "5.5.1", "Need MAIL command");
  if (transaction_->recipients.empty()) {
    if (transaction_->rcpt_attempted) return reply(554, "5.5.1", "No valid recipients");
    return reply_error(503, "5.5.1", "Need RCPT command");
  }
  // RFC 2034 3: enhanced codes go on 2xx, 4xx and 5xx replies only.
  reply(354, {}, "End data with <CR><LF>.<CR><LF>");
  mode_ = Mode::kData;
  release_body();
  previous_line_crlf_ = true;
  message_too_big_ = false;
  message_line_too_long_ = false;
}

// RFC 5321 4.5.2: a line of just "." ends the data; a leading "." of any other line is
// removed. Only "." between two CRLFs ends it (see the smuggling note in the header); a "."
// line next to a bare LF is content. Lines are stored with CRLF, and counted against SIZE
// as stored; once over, nothing more is kept.
void SmtpSession::on_data_line(std::string_view line, bool ended_by_crlf) {
  if (previous_line_crlf_ && ended_by_crlf && line == ".") return finish_data();
  previous_line_crlf_ = ended_by_crlf;
  if (line.size() > 1 && line.front() == '.') line.remove_prefix(1);
  if (message_too_big_ || message_line_too_long_) return;
  if (body_.size() + line.size() + 2 > options_.max_message_bytes) {
    message_too_big_ = true;
    release_body();
    return;
  }
  body_.append(line);
  body_.append("\r\n");
}

void SmtpSession::finish_data() {
  mode_ = Mode::kCommand;
  if (!transaction_) return release_body();  // not reached: DATA needs a transaction
  Transaction transaction = std::move(*transaction_);
  transaction_.reset();
  if (message_too_big_) {
    release_body();
    return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  }
  if (message_line_too_long_) {
    release_body();
    return reply(554, "5.6.0",
                 "Message refused: a line is longer than " +
                     std::to_string(options_.max_data_line_bytes) + " bytes");
  }
  MessageReceived message;
  message.mail_from = transaction.mail_from.mailbox();
  message.rcpt_to = std::move(transaction.recipients);
  message.params = std::move(transaction.params);
  message.data = std::move(body_);
  release_body();
  awaiting_ = Awaiting::kMessage;
  events_.emplace_back(std::move(message));
}

void SmtpSession::on_auth(std::string_view argument) {
  if (!extended_) return reply_error(503, "5.5.1", "Send EHLO first");
  if (authenticated_) return reply_error(503, "5.5.1", "Already authenticated");
  if (transaction_) {
    return reply_error(503, "5.5.1", "AUTH not permitted during a mail transaction");
  }
  if (!auth_allowed_here()) {
    return reply_error(538, "5.7.11", "Encryption required for requested authentication mechanism");
  }
  std::size_t space = argument.find(' ');
  std::string_view mechanism = argument.substr(0, space);
  std::string_view initial;
  bool has_initial = space != std::string_view::npos;
  if (has_initial) initial = argument.substr(space + 1);
  if (mechanism.empty() ||
      (has_initial && (initial.empty() || initial.find(' ') != initial.npos))) {
    return reply_error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  }
  bool plain = iequals(mechanism, "PLAIN");
  if (!plain && !iequals(mechanism, "LOGIN")) {
    return reply_error(504, "5.5.4", "Unrecognized authentication type");
  }
  if (!has_initial) {
    mode_ = plain ? Mode::kAuthPlain : Mode::kAuthLoginUser;
    return reply(334, {}, plain ? std::string_view() : kLoginUserPrompt);
  }
  if (initial == "*") return reply(501, "5.7.0", "Authentication cancelled");
  // RFC 4954 4: "=" is an initial response of zero length.
  mode_ = plain ? Mode::kAuthPlain : Mode::kAuthLoginUser;
  on_auth_response(initial == "=" ? std::string_view() : initial);
}

void SmtpSession::on_auth_response(std::string_view line) {
  Mode mode = mode_;
  mode_ = Mode::kCommand;
  if (line == "*") {
    auth_user_.clear();
    return reply(501, "5.7.0", "Authentication cancelled");
  }
  auto decoded = decode_base64_strict(line);
  if (!decoded) {
    auth_user_.clear();
    return reply_error(501, "5.5.2", "Cannot decode base64 response");
  }
  switch (mode) {
    case Mode::kAuthPlain: {
      auto credentials = parse_plain_response(*decoded);
      if (!credentials) {
        return reply_error(501, "5.5.2", with_detail("Bad PLAIN response", credentials.error()));
      }
      return request_auth("PLAIN", std::move(credentials->authzid), std::move(credentials->authcid),
                          std::move(credentials->password));
    }
    case Mode::kAuthLoginUser:
      if (decoded->empty() || decoded->size() > kMaxSaslFieldBytes || !is_valid_utf8(*decoded)) {
        return reply_error(501, "5.5.2", "Bad LOGIN user name");
      }
      auth_user_ = std::move(*decoded);
      mode_ = Mode::kAuthLoginPassword;
      return reply(334, {}, kLoginPasswordPrompt);
    case Mode::kAuthLoginPassword: {
      std::string user = std::move(auth_user_);
      auth_user_.clear();
      if (decoded->empty() || decoded->size() > kMaxSaslFieldBytes || !is_valid_utf8(*decoded)) {
        return reply_error(501, "5.5.2", "Bad LOGIN password");
      }
      return request_auth("LOGIN", {}, std::move(user), std::move(*decoded));
    }
    case Mode::kCommand:
    case Mode::kData: return;  // not reached: only called in the AUTH modes
  }
}

void SmtpSession::request_auth(std::string mechanism, std::string authzid, std::string user,
                               std::string password) {
  auth_user_ = user;
  awaiting_ = Awaiting::kAuth;
  events_.emplace_back(
      AuthRequest{std::move(mechanism), std::move(authzid), std::move(user), std::move(password)});
}

void SmtpSession::on_starttls(std::string_view argument) {
  if (!argument.empty()) return reply_error(501, "5.5.4", "Syntax: STARTTLS");
  if (tls_active_) return reply_error(503, "5.5.1", "TLS already active");
  if (!options_.tls_available) return reply_error(502, "5.5.1", "STARTTLS not offered");
  reply(220, "2.0.0", "Ready to start TLS");
  awaiting_ = Awaiting::kTls;
  events_.emplace_back(StartTls{});
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

void SmtpSession::auth_result(AuthVerdict verdict) {
  if (closed_ || awaiting_ != Awaiting::kAuth) return;
  awaiting_ = Awaiting::kNothing;
  std::string user = std::move(auth_user_);
  auth_user_.clear();
  switch (verdict) {
    case AuthVerdict::kAccepted:
      authenticated_ = true;
      authenticated_user_ = std::move(user);
      reply(235, "2.7.0", "Authentication successful");
      break;
    case AuthVerdict::kRejected:
      reply_error(535, "5.7.8", "Authentication credentials invalid");
      break;
    case AuthVerdict::kTemporaryFailure:
      reply(454, "4.7.0", "Temporary authentication failure");
      break;
  }
  after_answer();
}

void SmtpSession::rcpt_result(const SmtpVerdict& verdict) {
  if (closed_ || awaiting_ != Awaiting::kRcpt) return;
  awaiting_ = Awaiting::kNothing;
  if (verdict.kind == SmtpVerdict::Kind::kAccept && transaction_) {
    transaction_->recipients.push_back(std::move(pending_recipient_));
  }
  pending_recipient_.clear();
  append_reply(output_, resolve_verdict(verdict, kRcptDefaults));
  after_answer();
}

void SmtpSession::message_result(const SmtpVerdict& verdict) {
  if (closed_ || awaiting_ != Awaiting::kMessage) return;
  awaiting_ = Awaiting::kNothing;
  append_reply(output_, resolve_verdict(verdict, kMessageDefaults));
  after_answer();
}

void SmtpSession::tls_started() {
  if (closed_ || awaiting_ != Awaiting::kTls) return;
  awaiting_ = Awaiting::kNothing;
  // RFC 3207 4.2 and CVE-2011-0411: nothing received before the handshake counts.
  std::string().swap(input_);
  scanned_without_lf_ = 0;
  skipping_line_ = false;
  input_overflowed_ = false;
  tls_active_ = true;
  forget_client();
}

void SmtpSession::terminate(CloseReason reason) {
  if (closed_) return;
  if (reason == CloseReason::kIdleTimeout) {
    reply(421, "4.4.2", options_.hostname + " Timeout, closing connection");
  } else {
    reply(421, "4.3.2", options_.hostname + " Service shutting down, closing connection");
  }
  close_connection(reason);
  std::string().swap(input_);
}

// ---------------------------------------------------------------------------------------------
// Output and state
// ---------------------------------------------------------------------------------------------

std::string SmtpSession::take_output() {
  std::string out;
  out.swap(output_);
  return out;
}

std::optional<SmtpEvent> SmtpSession::next_event() {
  if (events_.empty()) return std::nullopt;
  SmtpEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void SmtpSession::reply(int code, std::string_view enhanced_code, std::string_view text) {
  append_reply(output_, SmtpReply{code, std::string(enhanced_code), std::string(text)});
}

void SmtpSession::reply_error(int code, std::string_view enhanced_code, std::string_view text) {
  if (++errors_ > options_.max_errors) {
    reply(421, "4.7.0", options_.hostname + " Too many errors, closing connection");
    return close_connection(CloseReason::kTooManyErrors);
  }
  reply(code, enhanced_code, text);
}

void SmtpSession::close_connection(CloseReason reason) {
  // input_ may be what consume() is reading; feed(), resume() and terminate() drop it after.
  closed_ = true;
  awaiting_ = Awaiting::kNothing;
  mode_ = Mode::kCommand;
  scanned_without_lf_ = 0;
  release_body();
  auth_user_.clear();
  events_.emplace_back(Close{reason});
}

void SmtpSession::forget_client() {
  mode_ = Mode::kCommand;
  greeted_ = false;
  extended_ = false;
  client_hostname_.clear();
  authenticated_ = false;
  authenticated_user_.clear();
  auth_user_.clear();
  transaction_.reset();
  pending_recipient_.clear();
  release_body();
}

void SmtpSession::release_body() {
  std::string().swap(body_);
}

}  // namespace post::email
