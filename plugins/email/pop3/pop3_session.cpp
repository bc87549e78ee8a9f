#include "plugins/email/pop3/pop3_session.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "plugins/email/pop3/pop3_content.h"

namespace post::email {
namespace {

constexpr std::string_view kImplementation = "POST";

char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}

bool is_printable_ascii(char c) {
  return c >= ' ' && c < 0x7F;
}

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// Caller-supplied text as it may appear in a response: printable ASCII, at most `limit`.
std::string sanitise(std::string_view text, std::size_t limit, bool allow_spaces) {
  std::string out;
  for (char c : text) {
    if (out.size() == limit) break;
    if (is_printable_ascii(c) && (allow_spaces || c != ' ')) out.push_back(c);
  }
  return out;
}

// RFC 1939 7: 1 to 70 characters in the range 0x21 to 0x7E.
bool is_valid_uid(std::string_view uid) {
  if (uid.empty() || uid.size() > kPop3MaxUidBytes) return false;
  return std::all_of(uid.begin(), uid.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

// The words of `arguments`, split at runs of spaces (RFC 1939 3 asks for single spaces; a
// doubled or trailing one is forgiven). At most `max` words; nullopt when there are more.
std::optional<std::vector<std::string_view>> split_words(std::string_view arguments,
                                                         std::size_t max) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < arguments.size()) {
    if (arguments[pos] == ' ') {
      ++pos;
      continue;
    }
    std::size_t end = std::min(arguments.find(' ', pos), arguments.size());
    if (words.size() == max) return std::nullopt;
    words.push_back(arguments.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

// A decimal number: digits only (no sign, no space). A value beyond uint64 saturates, which
// no message number or line count can reach. nullopt when it is not a number.
std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

std::string plural(std::uint64_t count, std::string_view noun) {
  std::string out = std::to_string(count);
  out += ' ';
  out += noun;
  if (count != 1) out += 's';
  return out;
}

}  // namespace

Pop3Session::Pop3Session(Pop3Options options) : options_(std::move(options)) {
  options_.hostname = sanitise(options_.hostname, kPop3MaxHostnameBytes, false);
  if (options_.hostname.empty()) options_.hostname = "localhost";
  options_.greeting = sanitise(options_.greeting, kPop3MaxGreetingBytes, true);
  if (options_.greeting.empty()) options_.greeting = options_.hostname + " POP3 server ready";
  options_.max_line_bytes = std::clamp(options_.max_line_bytes, kPop3RfcCommandLineBytes,
                                       kPop3MaxCommandLineBytesCeiling);
  options_.max_messages = std::max<std::size_t>(options_.max_messages, 1);
  options_.max_errors = std::max<std::size_t>(options_.max_errors, 1);
  options_.max_login_failures = std::max<std::size_t>(options_.max_login_failures, 1);
  tls_active_ = options_.tls_active;
  ok(options_.greeting);
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

void Pop3Session::feed(std::string_view bytes) {
  if (closed_ || input_overflowed_ || bytes.empty()) return;
  if (processing_paused()) return buffer_input(bytes);
  if (input_.empty()) {
    // The common case: process straight from the caller's buffer, keep only the rest.
    std::size_t used = consume(bytes);
    if (!closed_) buffer_input(bytes.substr(used));
    return;
  }
  input_.append(bytes);  // behind a partial line; what consume() leaves is capped below
  resume();
}

// Keeps input that cannot be processed now. Beyond kPop3MaxBufferedInputBytes it is all
// dropped, and the session closes as soon as it may respond again (resume()).
void Pop3Session::buffer_input(std::string_view bytes) {
  if (input_overflowed_) return;
  if (input_.size() + bytes.size() > kPop3MaxBufferedInputBytes) {
    input_overflowed_ = true;
    std::string().swap(input_);
    scanned_without_lf_ = 0;
    return;
  }
  input_.append(bytes);
}

// Goes on with the buffered input once nothing holds it back: after an answer, after
// take_output(), after feed() appended to a partial line.
void Pop3Session::resume() {
  if (processing_paused()) return;
  if (input_overflowed_) {
    std::string().swap(input_);
    server_error("Too much pipelined input, closing connection");
    return close_connection(Pop3CloseReason::kInputOverflow);
  }
  if (input_.empty()) return;
  std::size_t used = consume(input_);
  if (closed_) {
    std::string().swap(input_);  // only now: consume() was reading it
    return;
  }
  input_.erase(0, used);
  if (input_.size() > kPop3MaxBufferedInputBytes) {
    // Only when consume() paused at a question or the output high-water mark: it leaves no
    // longer partial line than max_line_bytes.
    input_overflowed_ = true;
    std::string().swap(input_);
    scanned_without_lf_ = 0;
  }
}

// Splits `input` into lines and handles each, until a question is outstanding, the output is
// over its high-water mark, the session closes, or only a partial line is left. Returns the
// number of bytes used. Lines end at LF; a CR before it is removed. A line longer than
// max_line_bytes is skipped as it arrives and answered when it ends, so an endless line costs
// no memory; after kPop3MaxDiscardedLineBytes it ends the session.
std::size_t Pop3Session::consume(std::string_view input) {
  std::size_t pos = 0;
  std::size_t search_from = scanned_without_lf_;
  scanned_without_lf_ = 0;
  while (pos < input.size() && !processing_paused()) {
    std::string_view rest = input.substr(pos);
    std::size_t lf = rest.find('\n', std::min(search_from, rest.size()));
    search_from = 0;
    if (lf == std::string_view::npos) {
      if (!skipping_line_ && rest.size() + 1 > options_.max_line_bytes) {
        // A partial line may end in the CR of its CRLF; the limit counts CRLF.
        skipping_line_ = true;
        discarded_bytes_ = 0;
      }
      if (!skipping_line_) {
        scanned_without_lf_ = rest.size();
        return pos;
      }
      discarded_bytes_ += rest.size();
      if (discarded_bytes_ > kPop3MaxDiscardedLineBytes) {
        skipping_line_ = false;
        server_error("Line too long, closing connection");
        close_connection(Pop3CloseReason::kInputOverflow);
      }
      return input.size();
    }
    std::string_view line = rest.substr(0, lf);
    pos += lf + 1;
    if (skipping_line_) {
      skipping_line_ = false;
      client_error("Line too long");
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() + 2 > options_.max_line_bytes) {
      client_error("Line too long");
      continue;
    }
    handle_command(line);
  }
  return pos;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

void Pop3Session::handle_command(std::string_view line) {
  std::size_t space = line.find(' ');
  std::string_view keyword = line.substr(0, space);
  std::string_view arguments =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  // RFC 1939 7: PASS only "immediately after a successful USER command".
  std::optional<std::string> user = std::move(pending_user_);
  pending_user_.reset();
  if (iequals(keyword, "PASS") && state_ == Pop3State::kAuthorization) {
    pending_user_ = std::move(user);
  }

  if (iequals(keyword, "CAPA")) return on_capa();
  if (iequals(keyword, "QUIT")) return on_quit();
  if (state_ == Pop3State::kAuthorization) return handle_authorization(keyword, arguments);
  handle_transaction(keyword, arguments);
}

void Pop3Session::handle_authorization(std::string_view keyword, std::string_view arguments) {
  if (iequals(keyword, "USER")) return on_user(arguments);
  if (iequals(keyword, "PASS")) return on_pass(arguments);
  if (iequals(keyword, "APOP")) return client_error("APOP not supported");
  if (iequals(keyword, "AUTH")) return client_error("AUTH not supported");
  if (iequals(keyword, "STLS")) return on_stls();
  for (std::string_view other : {"STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "NOOP", "RSET"}) {
    if (iequals(keyword, other)) return client_error("Command not valid in AUTHORIZATION state");
  }
  client_error("Unknown command");
}

void Pop3Session::handle_transaction(std::string_view keyword, std::string_view arguments) {
  bool no_arguments = arguments.find_first_not_of(' ') == std::string_view::npos;
  if (iequals(keyword, "STAT")) {
    if (!no_arguments) return client_error("Syntax: STAT");
    return on_stat();
  }
  if (iequals(keyword, "LIST")) return on_list(arguments, false);
  if (iequals(keyword, "UIDL")) return on_list(arguments, true);
  if (iequals(keyword, "RETR")) return on_retrieve(arguments, false);
  if (iequals(keyword, "TOP")) return on_retrieve(arguments, true);
  if (iequals(keyword, "DELE")) return on_dele(arguments);
  if (iequals(keyword, "NOOP")) {
    if (!no_arguments) return client_error("Syntax: NOOP");
    return ok({});
  }
  if (iequals(keyword, "RSET")) {
    if (!no_arguments) return client_error("Syntax: RSET");
    return on_rset();
  }
  for (std::string_view other : {"USER", "PASS", "APOP", "AUTH", "STLS"}) {
    if (iequals(keyword, other)) return client_error("Command not valid in TRANSACTION state");
  }
  client_error("Unknown command");
}

// RFC 2449 5; USER only where it may be used (RFC 2449 6.3), with STLS once there is TLS.
void Pop3Session::on_capa() {
  std::string& out = output_;
  out += "+OK Capability list follows\r\n";
  out += "TOP\r\n";
  if (state_ == Pop3State::kAuthorization && login_allowed_here()) out += "USER\r\n";
  if (state_ == Pop3State::kAuthorization && options_.tls_available && !tls_active_) {
    out += "STLS\r\n";
  }
  out += "UIDL\r\nPIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n";
  out += "IMPLEMENTATION ";
  out += kImplementation;
  out += "\r\n.\r\n";
  errors_in_a_row_ = 0;
}

void Pop3Session::on_stls() {
  if (!options_.tls_available || tls_active_) return client_error("STLS not available");
  pending_user_.reset();
  errors_in_a_row_ = 0;
  ok("Begin TLS negotiation");
  awaiting_ = Awaiting::kTls;
  events_.emplace_back(Pop3StartTls{});
}

void Pop3Session::tls_started(bool ok_) {
  if (closed_ || awaiting_ != Awaiting::kTls) return;
  awaiting_ = Awaiting::kNothing;
  if (!ok_) return close_connection(Pop3CloseReason::kTlsFailed);
  input_.clear();
  scanned_without_lf_ = 0;
  skipping_line_ = false;
  input_overflowed_ = false;
  tls_active_ = true;
}

void Pop3Session::on_user(std::string_view arguments) {
  if (!login_allowed_here()) {
    // RFC 3206 4: [AUTH], the client must not retry without a change (TLS) from its user.
    return client_error("[AUTH] Plaintext authentication disallowed without TLS");
  }
  if (arguments.empty() || has_control_characters(arguments)) {
    return client_error("Syntax: USER name");
  }
  std::size_t first = arguments.find_first_not_of(' ');
  std::size_t last = arguments.find_last_not_of(' ');
  if (first == std::string_view::npos) return client_error("Syntax: USER name");
  pending_user_ = std::string(arguments.substr(first, last - first + 1));
  ok("send PASS");
}

// RFC 1939 7: the password is the rest of the line, spaces included.
void Pop3Session::on_pass(std::string_view arguments) {
  if (!login_allowed_here()) {
    pending_user_.reset();
    return client_error("[AUTH] Plaintext authentication disallowed without TLS");
  }
  std::optional<std::string> user = std::move(pending_user_);
  pending_user_.reset();
  if (!user) return client_error("Send USER first");
  if (arguments.empty() || has_control_characters(arguments)) {
    return client_error("Syntax: PASS password");
  }
  login_user_ = *user;
  awaiting_ = Awaiting::kLogin;
  events_.emplace_back(Pop3Login{std::move(*user), std::string(arguments)});
}

void Pop3Session::on_quit() {
  std::string signing_off = options_.hostname + " POP3 server signing off";
  if (state_ == Pop3State::kAuthorization) {
    ok(signing_off);
    return close_connection(Pop3CloseReason::kQuit);
  }
  state_ = Pop3State::kUpdate;
  Pop3Commit commit;
  for (std::size_t i = 0; i < maildrop_.size(); ++i) {
    if (maildrop_[i].deleted) commit.deleted.push_back(i + 1);
  }
  awaiting_ = Awaiting::kCommit;
  events_.emplace_back(std::move(commit));
}

void Pop3Session::on_stat() {
  ok(std::to_string(visible_count()) + " " + std::to_string(visible_octets()));
}

// LIST and UIDL (RFC 1939 5 and 7): one message, or every one not deleted.
void Pop3Session::on_list(std::string_view arguments, bool unique_ids) {
  auto words = split_words(arguments, 1);
  if (!words) return client_error(unique_ids ? "Syntax: UIDL [msg]" : "Syntax: LIST [msg]");
  auto value = [&](const Entry& entry) {
    return unique_ids ? entry.message.uid : std::to_string(entry.message.size);
  };
  if (!words->empty()) {
    Entry* entry = visible_message(words->front());
    if (!entry) return;
    std::size_t number = static_cast<std::size_t>(entry - maildrop_.data()) + 1;
    return ok(std::to_string(number) + " " + value(*entry));
  }
  if (unique_ids) {
    ok("unique-id listing follows");
  } else {
    ok(plural(visible_count(), "message") + " (" + plural(visible_octets(), "octet") + ")");
  }
  for (std::size_t i = 0; i < maildrop_.size(); ++i) {
    if (maildrop_[i].deleted) continue;
    output_ += std::to_string(i + 1);
    output_ += ' ';
    output_ += value(maildrop_[i]);
    output_ += "\r\n";
  }
  output_ += ".\r\n";
}

// RETR msg, TOP msg n (RFC 1939 5 and 7).
void Pop3Session::on_retrieve(std::string_view arguments, bool top) {
  std::string_view syntax = top ? "Syntax: TOP msg n" : "Syntax: RETR msg";
  auto words = split_words(arguments, top ? 2 : 1);
  if (!words || words->size() != (top ? 2u : 1u)) return client_error(syntax);
  std::optional<std::uint64_t> top_lines;
  if (top) {
    top_lines = parse_number((*words)[1]);
    if (!top_lines) return client_error("Invalid line count");
  }
  Entry* entry = visible_message(words->front());
  if (!entry) return;
  pending_message_ = static_cast<std::size_t>(entry - maildrop_.data()) + 1;
  pending_top_lines_ = top_lines;
  awaiting_ = Awaiting::kRetrieve;
  events_.emplace_back(Pop3Retrieve{pending_message_, entry->message.uid, top_lines});
}

void Pop3Session::on_dele(std::string_view arguments) {
  auto words = split_words(arguments, 1);
  if (!words || words->size() != 1) return client_error("Syntax: DELE msg");
  Entry* entry = visible_message(words->front());
  if (!entry) return;
  entry->deleted = true;
  std::size_t number = static_cast<std::size_t>(entry - maildrop_.data()) + 1;
  ok("message " + std::to_string(number) + " deleted");
}

void Pop3Session::on_rset() {
  for (Entry& entry : maildrop_) entry.deleted = false;
  ok("maildrop has " + maildrop_summary());
}

Pop3Session::Entry* Pop3Session::visible_message(std::string_view argument) {
  auto number = parse_number(argument);
  if (!number) {
    client_error("Invalid message number");
    return nullptr;
  }
  if (*number == 0 || *number > maildrop_.size()) {
    client_error("no such message, only " + plural(maildrop_.size(), "message") + " in maildrop");
    return nullptr;
  }
  Entry& entry = maildrop_[static_cast<std::size_t>(*number - 1)];
  if (entry.deleted) {
    client_error("message " + std::to_string(*number) + " already deleted");
    return nullptr;
  }
  return &entry;
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

void Pop3Session::login_result(Pop3Maildrop maildrop) {
  if (closed_ || awaiting_ != Awaiting::kLogin) return;
  awaiting_ = Awaiting::kNothing;
  auto& messages = maildrop.messages;
  if (messages.size() > options_.max_messages) messages.resize(options_.max_messages);
  std::vector<std::string_view> uids;
  uids.reserve(messages.size());
  bool valid = true;
  for (const Pop3Message& message : messages) {
    valid = valid && is_valid_uid(message.uid);
    uids.push_back(message.uid);
  }
  std::sort(uids.begin(), uids.end());
  valid = valid && std::adjacent_find(uids.begin(), uids.end()) == uids.end();
  if (!valid) {
    login_user_.clear();
    server_error("[SYS/TEMP] Maildrop unavailable");
    return resume();
  }
  maildrop_.clear();
  maildrop_.reserve(messages.size());
  for (Pop3Message& message : messages) maildrop_.push_back(Entry{std::move(message), false});
  state_ = Pop3State::kTransaction;
  user_ = std::move(login_user_);
  login_user_.clear();
  // RFC 1939 10: "+OK mrose's maildrop has 2 messages (320 octets)".
  bool echo_user =
      !user_.empty() && user_.size() <= 64 &&
      std::all_of(user_.begin(), user_.end(), [](char c) { return c > ' ' && c < 0x7F; });
  ok((echo_user ? user_ + "'s maildrop has " : std::string("maildrop has ")) + maildrop_summary());
  resume();
}

void Pop3Session::login_result(Pop3LoginFailure failure) {
  if (closed_ || awaiting_ != Awaiting::kLogin) return;
  awaiting_ = Awaiting::kNothing;
  login_user_.clear();
  switch (failure) {
    case Pop3LoginFailure::kInvalidCredentials:
      if (++login_failures_ >= options_.max_login_failures) {
        server_error("[AUTH] Invalid user name or password, closing connection");
        return close_connection(Pop3CloseReason::kLoginFailures);
      }
      client_error("[AUTH] Invalid user name or password");
      break;
    case Pop3LoginFailure::kMaildropInUse:
      server_error("[IN-USE] Maildrop is locked by another session");
      break;
    case Pop3LoginFailure::kTemporary:
      server_error("[SYS/TEMP] Temporary failure, try again later");
      break;
  }
  resume();
}

void Pop3Session::retrieve_result(std::string_view content) {
  if (closed_ || awaiting_ != Awaiting::kRetrieve) return;
  awaiting_ = Awaiting::kNothing;
  if (pending_top_lines_) {
    ok("top of message follows");
  } else {
    ok(std::to_string(pop3_content_size(content)) + " octets");
  }
  append_pop3_content(output_, content, pending_top_lines_);
  pending_top_lines_.reset();
  resume();
}

void Pop3Session::retrieve_result(Pop3RetrieveFailure failure) {
  if (closed_ || awaiting_ != Awaiting::kRetrieve) return;
  awaiting_ = Awaiting::kNothing;
  std::string number = std::to_string(pending_message_);
  pending_top_lines_.reset();
  if (failure == Pop3RetrieveFailure::kTemporary) {
    server_error("[SYS/TEMP] message " + number + " temporarily unavailable");
  } else {
    server_error("message " + number + " cannot be retrieved");
  }
  resume();
}

void Pop3Session::commit_result(bool committed) {
  if (closed_ || awaiting_ != Awaiting::kCommit) return;
  awaiting_ = Awaiting::kNothing;
  if (!committed) {
    server_error("[SYS/TEMP] some deleted messages not removed");
  } else {
    std::size_t left = visible_count();
    std::string text = options_.hostname + " POP3 server signing off (";
    text += left == 0 ? std::string("maildrop empty") : plural(left, "message") + " left";
    text += ')';
    ok(text);
  }
  close_connection(Pop3CloseReason::kQuit);
}

void Pop3Session::terminate(Pop3CloseReason reason) {
  if (closed_) return;
  if (reason == Pop3CloseReason::kIdleTimeout) {
    server_error("Idle for too long, closing connection");
  } else {
    server_error("[SYS/TEMP] Server shutting down, closing connection");
  }
  close_connection(reason);
  std::string().swap(input_);
}

// ---------------------------------------------------------------------------------------------
// Output and state
// ---------------------------------------------------------------------------------------------

std::string Pop3Session::take_output() {
  std::string out;
  out.swap(output_);
  resume();
  return out;
}

std::optional<Pop3Event> Pop3Session::next_event() {
  if (events_.empty()) return std::nullopt;
  Pop3Event event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void Pop3Session::ok(std::string_view text) {
  errors_in_a_row_ = 0;
  output_ += "+OK";
  if (!text.empty()) {
    output_ += ' ';
    output_ += text;
  }
  output_ += "\r\n";
}

void Pop3Session::server_error(std::string_view text) {
  output_ += "-ERR ";
  output_ += text;
  output_ += "\r\n";
}

void Pop3Session::client_error(std::string_view text) {
  if (++errors_in_a_row_ >= options_.max_errors) {
    server_error("Too many errors, closing connection");
    return close_connection(Pop3CloseReason::kTooManyErrors);
  }
  server_error(text);
}

void Pop3Session::close_connection(Pop3CloseReason reason) {
  // input_ may be what consume() is reading; feed(), resume() and terminate() drop it after.
  closed_ = true;
  awaiting_ = Awaiting::kNothing;
  scanned_without_lf_ = 0;
  skipping_line_ = false;
  pending_user_.reset();
  login_user_.clear();
  pending_top_lines_.reset();
  events_.emplace_back(Pop3Close{reason});
}

std::size_t Pop3Session::visible_count() const {
  return static_cast<std::size_t>(
      std::count_if(maildrop_.begin(), maildrop_.end(), [](const Entry& e) { return !e.deleted; }));
}

std::uint64_t Pop3Session::visible_octets() const {
  std::uint64_t total = 0;
  for (const Entry& entry : maildrop_) {
    if (!entry.deleted) total = saturating_add(total, entry.message.size);
  }
  return total;
}

// "2 messages (320 octets)", as in RFC 1939 5 and 10.
std::string Pop3Session::maildrop_summary() const {
  return plural(visible_count(), "message") + " (" + plural(visible_octets(), "octet") + ")";
}

}  // namespace post::email
