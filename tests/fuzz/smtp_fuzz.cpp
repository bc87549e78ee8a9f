// Bytes from an SMTP client, cut into reads like TCP segments, into an SmtpSession whose
// questions are answered at random (accepted, refused, failed for now, TLS started or not, now
// and then not at all), and the same bytes straight into parse_path. Nothing may crash, hang
// or read out of bounds; every reply must be a well-formed line; the session must stay within
// its memory limits; delivered messages must be CRLF lines within SIZE; and a parsed path must
// parse again, to the same mailbox, from its own rendering.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plugins/email/smtp/smtp_session.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using post::fuzz::check;
using post::fuzz::Rng;

using namespace post::email;

// Every reply line: "ddd" then ' ' or '-', printable ASCII, CRLF, at most 512 bytes.
void check_output(std::string_view out) {
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find("\r\n", start);
    check(end != std::string_view::npos);
    std::string_view line = out.substr(start, end - start);
    check(line.size() >= 4 && line.size() + 2 <= 512);
    check(line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
          line[2] <= '9' && (line[3] == ' ' || line[3] == '-'));
    for (char c : line) check(c >= ' ' && c < 0x7F);
    start = end + 2;
  }
}

void check_message(const MessageReceived& message, const SmtpOptions& options) {
  check(message.data.size() <= options.max_message_bytes);
  check(!message.rcpt_to.empty() && message.rcpt_to.size() <= options.max_recipients);
  if (!message.data.empty()) check(message.data.size() >= 2 && message.data.back() == '\n');
  for (std::size_t i = 0; i < message.data.size(); ++i) {
    if (message.data[i] == '\n') check(i > 0 && message.data[i - 1] == '\r');
  }
}

SmtpVerdict random_verdict(Rng& rng) {
  switch (rng.below(4)) {
    case 0: return SmtpVerdict::permanent_failure("no", rng.below(2) ? "5.1.1" : "bogus");
    case 1: return SmtpVerdict::temporary_failure();
    default: return SmtpVerdict::queued("id\r\n250 injected");
  }
}

// Takes the session's output and answers its events until it has nothing more to say.
void drain(SmtpSession& session, const SmtpOptions& options, Rng& rng) {
  while (true) {
    check_output(session.take_output());
    check(session.buffered_bytes() <= kMaxBufferedInputBytes + options.max_message_bytes);
    auto event = session.next_event();
    if (!event) return;
    if (rng.below(32) == 0) continue;  // left unanswered: later input only piles up
    if (auto* auth = std::get_if<AuthRequest>(&*event)) {
      check(!auth->user.empty() && auth->user.size() <= kMaxSaslFieldBytes);
      session.auth_result(static_cast<AuthVerdict>(rng.below(3)));
    } else if (auto* rcpt = std::get_if<RcptRequest>(&*event)) {
      check(!rcpt->path.null && rcpt->address == rcpt->path.mailbox());
      session.rcpt_result(rng.below(2) ? SmtpVerdict::accept() : random_verdict(rng));
    } else if (auto* message = std::get_if<MessageReceived>(&*event)) {
      check_message(*message, options);
      session.message_result(random_verdict(rng));
    } else if (std::holds_alternative<StartTls>(*event)) {
      if (rng.below(8) == 0) {
        session.terminate(CloseReason::kShuttingDown);
      } else {
        session.tls_started();
        check(session.tls_active() && !session.authenticated());
      }
    } else {
      check(session.closed() && !session.awaiting_answer());
    }
    if (rng.below(64) == 0) session.rcpt_result(SmtpVerdict::accept());  // out of turn
  }
}

void check_path(std::string_view text) {
  auto path = parse_path(text);
  if (!path.ok() || path->null) return;
  auto again = parse_path("<" + path->mailbox() + ">");
  check(again.ok() && again->mailbox() == path->mailbox());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0 picks the options, byte 1 how the stream is cut into reads.
  std::uint8_t config = data[0];
  std::size_t chunk = 1 + data[1] % 128;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  SmtpOptions options;
  options.hostname = "fuzz.example";
  options.loopback = config & 1;
  options.tls_available = config & 2;
  options.tls_active = config & 4;
  options.require_auth = !(config & 8);
  options.max_message_bytes = (config & 16) ? 64 : 1024 * 1024;
  options.max_recipients = (config & 32) ? 2 : kDefaultMaxRecipients;
  options.max_errors = (config & 64) ? 3 : 1000;
  options.max_data_line_bytes = (config & 128) ? kRfcTextLineBytes : kDefaultMaxDataLineBytes;

  Rng rng(input);
  SmtpSession session(options);
  drain(session, options, rng);
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    session.feed(input.substr(off, chunk));
    drain(session, options, rng);
  }
  if (rng.below(4) == 0) {
    session.terminate(CloseReason::kIdleTimeout);
    drain(session, options, rng);
    check(session.closed());
  }

  // The same bytes as paths: the whole input, and each line of it.
  check_path(input);
  std::size_t start = 0;
  while (start < input.size()) {
    std::size_t end = input.find('\n', start);
    std::string_view line = input.substr(start, end == input.npos ? input.npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    check_path(line);
    std::size_t colon = line.find(':');  // "MAIL FROM:<...>" -> "<...>"
    if (colon != std::string_view::npos) check_path(line.substr(colon + 1));
    if (end == input.npos) break;
    start = end + 1;
  }
  return 0;
}
