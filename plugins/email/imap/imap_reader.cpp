#include "plugins/email/imap/imap_reader.h"

#include <algorithm>
#include <limits>

#include "plugins/email/imap/imap_lexer.h"

namespace post::email {
namespace {

// Bytes of a skipped line kept to find a literal marker at its end. A marker is at most
// "~{4294967295+}"; a longer digit run (leading zeros) is taken as an oversize literal.
constexpr std::size_t kSkipTailBytes = 64;
// Reclaim consumed buffer space once this much has accumulated.
constexpr std::size_t kCompactThreshold = std::size_t{64} * 1024;

struct LiteralMarker {
  std::uint64_t size = 0;
  bool too_large = false;  // more than 32 bits, or digits beyond what we could see
  bool synchronizing = true;
  bool literal8 = false;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The literal marker that ends `line` ("{n}", "{n+}", "~{n}", "~{n+}"), if any. `truncated`
// says `line` is only the tail of the real line: a digit run reaching its start is then a
// marker of unknown, too large size rather than no marker.
std::optional<LiteralMarker> find_literal_marker(std::string_view line, bool truncated) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  LiteralMarker marker;
  std::size_t end = line.size() - 1;  // index of '}'
  if (end > 0 && line[end - 1] == '+') {
    marker.synchronizing = false;
    --end;
  }
  std::size_t begin = end;
  while (begin > 0 && is_digit(line[begin - 1])) --begin;
  if (begin == 0) {
    if (truncated && begin != end) {
      marker.too_large = true;
      return marker;
    }
    return std::nullopt;
  }
  if (begin == end || line[begin - 1] != '{') return std::nullopt;
  marker.literal8 = begin >= 2 && line[begin - 2] == '~';
  for (std::size_t i = begin; i < end; ++i) {
    marker.size = marker.size * 10 + static_cast<std::uint64_t>(line[i] - '0');
    if (marker.size > std::numeric_limits<std::uint32_t>::max()) {
      marker.too_large = true;
      break;
    }
  }
  return marker;
}

// The tag of a command starting with `head`, or "" when it has none we can echo.
std::string tag_of(std::string_view head) {
  std::size_t space = head.substr(0, kMaxTagBytes + 1).find(' ');
  std::string_view tag = head.substr(0, space);
  if (tag.size() > kMaxTagBytes || !is_valid_tag(tag)) return {};
  return std::string(tag);
}

// Whether the command starting with `head` is an APPEND.
bool is_append(std::string_view head) {
  constexpr std::string_view kAppend = "APPEND";
  head = head.substr(0, kMaxTagBytes + 1 + kAppend.size() + 1);
  std::size_t space = head.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view rest = head.substr(space + 1);
  std::string_view name = rest.substr(0, rest.find_first_of(" \r\n{("));
  return iequals(name, kAppend);
}

ImapError make_reader_error(ImapErrc code, ImapStatus status, std::string tag, std::string text) {
  return ImapError{code, status, std::move(tag), std::move(text)};
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes) return false;
  // tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR = ATOM-CHAR / "]" (RFC 3501 9).
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return c != '+' && (c == ']' || is_atom_char(c)); });
}

void ImapCommandReader::feed(std::string_view bytes) {
  if (state_ == State::kClosed) return;
  buffer_.append(bytes);
}

std::optional<ImapReaderEvent> ImapCommandReader::next() {
  for (;;) {
    std::size_t consumed_before = consumed_;
    State state_before = state_;
    std::optional<ImapReaderEvent> event;
    switch (state_) {
      case State::kCommandLine: event = read_command_line(); break;
      case State::kLiteral: event = read_literal(); break;
      case State::kSkipLine: event = skip_line(); break;
      case State::kSkipLiteral: event = skip_literal(); break;
      case State::kIdleLine:
      case State::kAuthenticateLine: event = read_special_line(); break;
      case State::kClosed:
        buffer_.clear();
        consumed_ = 0;
        return std::nullopt;
    }
    if (event) {
      compact();
      return event;
    }
    if (consumed_ == consumed_before && state_ == state_before) {
      compact();
      return std::nullopt;  // needs more input
    }
  }
}

std::optional<ImapReaderEvent> ImapCommandReader::read_command_line() {
  std::size_t newline = buffer_.find('\n', consumed_ + scanned_);
  if (newline == std::string::npos) {
    scanned_ = buffer_.size() - consumed_;
    // A line end still to come may be preceded by a CR that is not part of the line.
    if (scanned_ > limits_.max_line_bytes + 1) {
      start_skipping(Pending::kLineTooLong);
    } else if (command_.size() + scanned_ > command_limit() + 1) {
      start_skipping(Pending::kCommandTooLarge);
    }
    return std::nullopt;
  }
  std::string_view line(buffer_.data() + consumed_, newline - consumed_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits_.max_line_bytes) {
    start_skipping(Pending::kLineTooLong);
    return std::nullopt;
  }
  if (command_.size() + line.size() > command_limit()) {
    start_skipping(Pending::kCommandTooLarge);
    return std::nullopt;
  }
  if (command_.empty() && line.empty()) {  // a blank line between commands: nothing to do
    consumed_ = newline + 1;
    scanned_ = 0;
    return std::nullopt;
  }

  std::optional<LiteralMarker> marker = find_literal_marker(line, false);
  command_.append(line);
  consumed_ = newline + 1;
  scanned_ = 0;
  if (!marker) {
    RawCommand command;
    command.tag = tag_of(command_);
    command.bytes = std::move(command_);
    command.literals = std::move(literals_);
    reset_command();
    return command;
  }

  if (marker->literal8 && marker->synchronizing) {
    ReaderError refusal{make_reader_error(ImapErrc::kUnsupported, ImapStatus::kBad,
                                          tag_of(command_), "literal8 is not supported"),
                        false};
    reset_command();
    return refusal;
  }
  bool literal_too_large = marker->too_large || marker->size > literal_limit();
  bool command_too_large =
      !literal_too_large && command_.size() + 2 + marker->size > command_limit();
  if (command_too_large && !marker->synchronizing) {
    // The literal is on its way and small enough to skip: skip it and the rest of the
    // command, then refuse the command.
    start_skipping(Pending::kCommandTooLarge);
    skip_literal_remaining_ = static_cast<std::size_t>(marker->size);
    state_ = State::kSkipLiteral;
    return std::nullopt;
  }
  if (command_too_large) {
    ReaderError refusal{make_reader_error(ImapErrc::kCommandTooLarge, ImapStatus::kBad,
                                          current_tag(), "[TOOBIG] Command too large"),
                        false};
    reset_command();
    return refusal;
  }
  if (literal_too_large) {
    ReaderError refusal = refuse_oversize_literal(current_tag(), current_is_append(),
                                                  marker->synchronizing, marker->literal8);
    reset_command();
    if (refusal.close_connection) state_ = State::kClosed;
    return refusal;
  }
  auto size = static_cast<std::size_t>(marker->size);
  command_ += "\r\n";
  literals_.push_back(LiteralSpan{command_.size(), size, marker->synchronizing});
  literal_remaining_ = size;
  state_ = State::kLiteral;
  if (marker->synchronizing) return ContinuationRequest{size};
  return std::nullopt;
}

std::optional<ImapReaderEvent> ImapCommandReader::read_literal() {
  std::size_t take = std::min(buffer_.size() - consumed_, literal_remaining_);
  command_.append(buffer_, consumed_, take);
  consumed_ += take;
  literal_remaining_ -= take;
  if (literal_remaining_ == 0) {
    state_ = State::kCommandLine;
    scanned_ = 0;
  }
  return std::nullopt;
}

void ImapCommandReader::start_skipping(Pending why) {
  pending_ = why;
  if (why == Pending::kNotDone || why == Pending::kAuthTooLong) {
    pending_tag_ = special_tag_;
    pending_append_ = false;
  } else {
    pending_tag_ = current_tag();
    pending_append_ = current_is_append();
  }
  reset_command();
  skip_tail_.clear();
  skip_first_line_ = true;  // whether skip_tail_ still holds the whole line
  scanned_ = 0;
  state_ = State::kSkipLine;
}

std::optional<ImapReaderEvent> ImapCommandReader::skip_line() {
  std::size_t newline = buffer_.find('\n', consumed_);
  std::size_t end = newline == std::string::npos ? buffer_.size() : newline;
  skip_tail_.append(buffer_, consumed_, end - consumed_);
  if (skip_tail_.size() > kSkipTailBytes * 2) {
    skip_tail_.erase(0, skip_tail_.size() - kSkipTailBytes);
    skip_first_line_ = false;
  }
  if (newline == std::string::npos) {
    consumed_ = buffer_.size();
    return std::nullopt;
  }
  consumed_ = newline + 1;
  std::string_view tail = skip_tail_;
  if (!tail.empty() && tail.back() == '\r') tail.remove_suffix(1);
  std::optional<LiteralMarker> marker = find_literal_marker(tail, !skip_first_line_);
  skip_tail_.clear();
  skip_first_line_ = true;
  if (!marker || marker->synchronizing) {
    // The command ends here: either at this line, or at a synchronizing literal whose data
    // the client will not send, since it gets our tagged reply instead of a continuation.
    return finish_skipping();
  }
  std::size_t limit =
      pending_append_ ? limits_.max_append_literal_bytes : limits_.max_literal_bytes;
  if (marker->too_large || marker->size > limit) {
    ReaderError refusal =
        refuse_oversize_literal(pending_tag_, pending_append_, false, marker->literal8);
    pending_ = Pending::kNone;
    state_ = State::kClosed;
    return refusal;
  }
  skip_literal_remaining_ = static_cast<std::size_t>(marker->size);
  state_ = State::kSkipLiteral;
  return std::nullopt;
}

std::optional<ImapReaderEvent> ImapCommandReader::skip_literal() {
  std::size_t take = std::min(buffer_.size() - consumed_, skip_literal_remaining_);
  consumed_ += take;
  skip_literal_remaining_ -= take;
  if (skip_literal_remaining_ == 0) state_ = State::kSkipLine;
  return std::nullopt;
}

std::optional<ImapReaderEvent> ImapCommandReader::finish_skipping() {
  ImapError error;
  error.tag = pending_tag_;
  error.status = ImapStatus::kBad;
  switch (pending_) {
    case Pending::kLineTooLong:
      error.code = ImapErrc::kLineTooLong;
      error.text = "Command line too long";
      break;
    case Pending::kCommandTooLarge:
      error.code = ImapErrc::kCommandTooLarge;
      error.text = "Command too large";
      break;
    case Pending::kNotDone:
      error.code = ImapErrc::kExpectedDone;
      error.text = "Expected DONE";
      break;
    case Pending::kAuthTooLong:
      error.code = ImapErrc::kLineTooLong;
      error.text = "Authentication response too long";
      break;
    case Pending::kNone:
      error.code = ImapErrc::kSyntax;
      error.text = "Invalid command";
      break;
  }
  pending_ = Pending::kNone;
  state_ = State::kCommandLine;
  return ReaderError{std::move(error), false};
}

std::optional<ImapReaderEvent> ImapCommandReader::read_special_line() {
  Pending overflow = state_ == State::kIdleLine ? Pending::kNotDone : Pending::kAuthTooLong;
  std::size_t newline = buffer_.find('\n', consumed_ + scanned_);
  if (newline == std::string::npos) {
    scanned_ = buffer_.size() - consumed_;
    if (scanned_ > limits_.max_line_bytes + 1) start_skipping(overflow);
    return std::nullopt;
  }
  std::string_view line(buffer_.data() + consumed_, newline - consumed_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits_.max_line_bytes) {
    start_skipping(overflow);
    return std::nullopt;
  }
  if (state_ == State::kIdleLine) {
    if (!iequals(line, "DONE")) {
      // Not consumed: skipping reads this line again, and any literal it announces.
      start_skipping(Pending::kNotDone);
      return std::nullopt;
    }
    consumed_ = newline + 1;
    scanned_ = 0;
    state_ = State::kCommandLine;
    return IdleDone{};
  }
  AuthenticateResponse response{std::string(line), line == "*"};
  consumed_ = newline + 1;
  scanned_ = 0;
  state_ = State::kCommandLine;
  return response;
}

ReaderError ImapCommandReader::refuse_oversize_literal(std::string tag, bool append,
                                                       bool synchronizing, bool literal8) {
  ImapError error;
  error.code = ImapErrc::kLiteralTooLarge;
  error.tag = std::move(tag);
  if (literal8) {
    error.code = ImapErrc::kUnsupported;
    error.text = "literal8 is not supported";
  } else if (append) {
    error.status = ImapStatus::kNo;
    error.text = "[TOOBIG] Message too large (limit " +
                 std::to_string(limits_.max_append_literal_bytes) + " bytes)";
  } else {
    error.text = "[TOOBIG] Literal too large (limit " + std::to_string(limits_.max_literal_bytes) +
                 " bytes)";
  }
  if (!synchronizing && error.status == ImapStatus::kNo) error.status = ImapStatus::kBad;
  return ReaderError{std::move(error), !synchronizing};
}

void ImapCommandReader::expect_idle_done(std::string idle_tag) {
  if (state_ == State::kClosed) return;
  special_tag_ = std::move(idle_tag);
  reset_command();
  scanned_ = 0;
  state_ = State::kIdleLine;
}

void ImapCommandReader::expect_authenticate_response(std::string authenticate_tag) {
  if (state_ == State::kClosed) return;
  special_tag_ = std::move(authenticate_tag);
  reset_command();
  scanned_ = 0;
  state_ = State::kAuthenticateLine;
}

std::size_t ImapCommandReader::discard_buffered() {
  std::size_t dropped = buffer_.size() - consumed_;
  buffer_.clear();
  consumed_ = 0;
  scanned_ = 0;
  reset_command();
  pending_ = Pending::kNone;
  skip_tail_.clear();
  if (state_ != State::kClosed) state_ = State::kCommandLine;
  return dropped;
}

void ImapCommandReader::reset_command() {
  command_.clear();
  command_.shrink_to_fit();
  literals_.clear();
  literal_remaining_ = 0;
}

void ImapCommandReader::compact() {
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
    if (buffer_.capacity() > kCompactThreshold) buffer_.shrink_to_fit();
  } else if (consumed_ >= kCompactThreshold && consumed_ * 2 >= buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
}

std::string ImapCommandReader::current_tag() const {
  if (!command_.empty()) return tag_of(command_);
  return tag_of(std::string_view(buffer_).substr(consumed_));
}

bool ImapCommandReader::current_is_append() const {
  if (!command_.empty()) return is_append(command_);
  return is_append(std::string_view(buffer_).substr(consumed_));
}

std::size_t ImapCommandReader::literal_limit() const {
  return current_is_append() ? limits_.max_append_literal_bytes : limits_.max_literal_bytes;
}

std::size_t ImapCommandReader::command_limit() const {
  return current_is_append() ? limits_.max_command_bytes + limits_.max_append_literal_bytes
                             : limits_.max_command_bytes;
}

}  // namespace post::email
