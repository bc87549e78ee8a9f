// Bytes from a POP3 client, cut into reads like TCP segments, into a Pop3Session whose
// questions are answered from the same bytes (logins accepted, refused or failed for now,
// maildrops of a few messages with now and then a bad uid, message contents cut from the
// input, commits that succeed or fail, now and then no answer at all). Nothing may crash,
// hang or read out of bounds; the session must stay within its memory limits; every event must
// be well-formed; and the output, read back as a client reads it, must be status lines of
// printable ASCII, multi-line responses ended by "." with every dot-led line stuffed, and
// RETR contents exactly as long as their "+OK <size> octets" says.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/pop3/pop3_content.h"
#include "plugins/email/pop3/pop3_session.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using post::fuzz::check;
using post::fuzz::Rng;

using namespace post::email;

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_printable(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c >= ' ' && c < 0x7F; });
}

// What kind of response a status line opens.
enum class Body { kNone, kListing, kContent };

Body body_after(std::string_view status, std::uint64_t* octets) {
  if (status == "+OK Capability list follows" || status == "+OK unique-id listing follows") {
    return Body::kListing;
  }
  if (status == "+OK top of message follows") return Body::kContent;
  if (status.substr(0, 4) != "+OK ") return Body::kNone;
  std::string_view rest = status.substr(4);
  std::size_t space = rest.find(' ');
  if (space == std::string_view::npos || !is_digits(rest.substr(0, space))) return Body::kNone;
  std::string_view words = rest.substr(space);
  if (words == " octets") {
    *octets = 0;
    for (char c : rest.substr(0, space)) *octets = *octets * 10 + static_cast<unsigned>(c - '0');
    return Body::kContent;
  }
  if (words.substr(0, 10) == " message (" || words.substr(0, 11) == " messages (") {
    return Body::kListing;
  }
  return Body::kNone;
}

// Reads all the output as a client would; aborts on anything malformed.
void check_transcript(std::string_view out) {
  std::size_t pos = 0;
  auto next_line = [&]() {
    std::size_t end = out.find("\r\n", pos);
    check(end != std::string_view::npos);
    std::string_view line = out.substr(pos, end - pos);
    pos = end + 2;
    return line;
  };
  while (pos < out.size()) {
    std::string_view status = next_line();
    check(status.size() + 2 <= 512 && is_printable(status));
    check(status == "+OK" || status.substr(0, 4) == "+OK " || status.substr(0, 5) == "-ERR ");
    std::uint64_t octets = 0;
    Body body = body_after(status, &octets);
    bool retr = body == Body::kContent && status != "+OK top of message follows";
    if (body == Body::kNone) continue;
    std::uint64_t size = 0;
    while (true) {
      std::string_view line = next_line();
      if (line == ".") break;
      if (!line.empty() && line.front() == '.') {
        check(line.size() >= 2 && line[1] == '.');
        line.remove_prefix(1);
      }
      if (body == Body::kListing)
        check(!line.empty() && line.size() + 2 <= 512 && is_printable(line));
      size += line.size() + 2;
    }
    if (retr) check(size == octets);
  }
  // Every LF ends a line.
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\n') check(i > 0 && out[i - 1] == '\r');
  }
}

struct Driver {
  Pop3Session& session;
  std::string_view input;
  Rng& rng;
  std::size_t max_messages;
  std::string transcript;
  std::vector<Pop3Message> maildrop;  // the one the session shows

  Pop3Maildrop make_maildrop() {
    Pop3Maildrop drop;
    unsigned count = rng.below(6);
    for (unsigned i = 0; i < count; ++i) {
      std::string uid = "uid-" + std::to_string(rng.below(1000)) + "-" + std::to_string(i);
      switch (rng.below(16)) {
        case 0: uid = "bad uid"; break;
        case 1: uid = std::string(kPop3MaxUidBytes + rng.below(2), 'u') + std::to_string(i); break;
        case 2: uid = i > 0 ? drop.messages[0].uid : uid; break;
        default: break;
      }
      drop.messages.push_back({rng.next() % (rng.below(4) == 0 ? ~0ULL : 100000), uid});
    }
    return drop;
  }

  std::string make_content() {
    if (input.empty() || rng.below(8) == 0) return {};
    std::size_t start = rng.below(static_cast<unsigned>(input.size()));
    std::size_t length = rng.below(static_cast<unsigned>(input.size() - start) + 1);
    return std::string(input.substr(start, length));
  }

  void answer(const Pop3Event& event) {
    if (auto* login = std::get_if<Pop3Login>(&event)) {
      check(!login->user.empty() && !login->password.empty());
      // "USER " / "PASS " and CRLF around each.
      check(login->user.size() + 7 <= kPop3MaxCommandLineBytesCeiling);
      check(login->password.size() + 7 <= kPop3MaxCommandLineBytesCeiling);
      if (rng.below(2) == 0) {
        Pop3Maildrop drop = make_maildrop();
        std::vector<Pop3Message> messages = drop.messages;
        session.login_result(std::move(drop));
        // Pipelined commands behind PASS may already have run (QUIT: kUpdate).
        if (session.state() != Pop3State::kAuthorization) {
          maildrop = std::move(messages);
          if (maildrop.size() > max_messages) maildrop.resize(max_messages);
        }
      } else {
        session.login_result(static_cast<Pop3LoginFailure>(rng.below(3)));
      }
    } else if (auto* retrieve = std::get_if<Pop3Retrieve>(&event)) {
      check(session.state() == Pop3State::kTransaction);
      check(retrieve->message >= 1 && retrieve->message <= maildrop.size());
      check(retrieve->uid == maildrop[retrieve->message - 1].uid);
      if (rng.below(8) == 0) {
        session.retrieve_result(static_cast<Pop3RetrieveFailure>(rng.below(2)));
      } else {
        std::string content = make_content();
        if (retrieve->top_lines) {
          check(pop3_content_size(content, retrieve->top_lines) <= pop3_content_size(content));
        }
        session.retrieve_result(content);
      }
    } else if (auto* commit = std::get_if<Pop3Commit>(&event)) {
      check(session.state() == Pop3State::kUpdate);
      check(std::is_sorted(commit->deleted.begin(), commit->deleted.end()));
      check(std::adjacent_find(commit->deleted.begin(), commit->deleted.end()) ==
            commit->deleted.end());
      for (std::size_t number : commit->deleted) check(number >= 1 && number <= maildrop.size());
      session.commit_result(rng.below(4) != 0);
      check(session.closed());
    } else if (std::get_if<Pop3StartTls>(&event)) {
      check(session.state() == Pop3State::kAuthorization && !session.tls_active());
      session.tls_started(rng.below(4) != 0);
      check(session.closed() || (session.tls_active() && session.buffered_bytes() == 0));
    } else {
      check(session.closed() && !session.awaiting_answer());
    }
  }

  // Takes the session's output and answers its events until it has nothing more to say.
  void drain() {
    while (true) {
      check(session.buffered_bytes() <= kPop3MaxBufferedInputBytes);
      if (session.has_output()) {
        transcript += session.take_output();
        continue;
      }
      auto event = session.next_event();
      if (!event) return;
      if (rng.below(32) != 0) answer(*event);  // else left unanswered: input only piles up
      if (!session.awaiting_answer() && !session.has_output()) {
        switch (rng.below(64)) {  // answers to no question: ignored
          case 0: session.commit_result(true); break;
          case 1: session.retrieve_result("out of turn\r\n"); break;
          case 2: session.login_result(Pop3LoginFailure::kTemporary); break;
          case 3: session.login_result(Pop3Maildrop{}); break;
          default: break;
        }
        check(!session.has_output() && !session.awaiting_answer());
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0 picks the options, byte 1 how the stream is cut into reads.
  std::uint8_t config = data[0];
  std::size_t chunk = 1 + data[1] % 128;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  Pop3Options options;
  options.hostname = "fuzz.example";
  options.loopback = config & 1;
  options.tls_active = config & 2;
  options.tls_available = config & 128;
  options.max_line_bytes =
      (config & 4) ? kPop3MaxCommandLineBytesCeiling : kPop3RfcCommandLineBytes;
  options.max_messages = (config & 8) ? 2 : kPop3DefaultMaxMessages;
  options.max_errors = (config & 16) ? 3 : 1000;
  options.max_login_failures = (config & 32) ? 1 : 1000;
  if (config & 64) options.greeting = "ready\r\n-ERR \x01 not a status";

  Rng rng(input);
  Pop3Session session(options);
  Driver driver{session, input, rng, options.max_messages, {}, {}};
  driver.drain();
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    session.feed(input.substr(off, chunk));
    driver.drain();
  }
  if (rng.below(4) == 0) {
    session.terminate(rng.below(2) ? Pop3CloseReason::kIdleTimeout
                                   : Pop3CloseReason::kShuttingDown);
    driver.drain();
    check(session.closed());
  }
  check_transcript(driver.transcript);

  // The content functions on their own, on the whole input.
  std::uint64_t top = rng.below(4);
  check(pop3_content_size(input, top) <= pop3_content_size(input));
  std::string stuffed;
  append_pop3_content(stuffed, input);
  check(stuffed.size() >= pop3_content_size(input) + 3);
  return 0;
}
