#include "plugins/email/imap/imap_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/email/imap/imap_command.h"

namespace post::email {
namespace {

std::vector<ImapReaderEvent> drain(ImapCommandReader& reader) {
  std::vector<ImapReaderEvent> events;
  while (auto event = reader.next()) events.push_back(std::move(*event));
  return events;
}

std::vector<ImapReaderEvent> feed_all(ImapCommandReader& reader, std::string_view bytes) {
  reader.feed(bytes);
  return drain(reader);
}

// A readable summary of an event, so sequences of events compare in one EXPECT_EQ.
std::string describe(const ImapReaderEvent& event) {
  if (const auto* raw = std::get_if<RawCommand>(&event)) return "command[" + raw->bytes + "]";
  if (const auto* cont = std::get_if<ContinuationRequest>(&event)) {
    return "continue{" + std::to_string(cont->literal_size) + "}";
  }
  if (std::holds_alternative<IdleDone>(event)) return "idle-done";
  if (const auto* auth = std::get_if<AuthenticateResponse>(&event)) {
    return std::string(auth->cancelled ? "auth-cancel[" : "auth[") + auth->line + "]";
  }
  const auto& error = std::get<ReaderError>(event);
  std::string line = error.error.reply_line();
  line.resize(line.size() - 2);
  return (error.close_connection ? "fatal[" : "error[") + line + "]";
}

std::vector<std::string> describe_all(const std::vector<ImapReaderEvent>& events) {
  std::vector<std::string> out;
  out.reserve(events.size());
  for (const auto& event : events) out.push_back(describe(event));
  return out;
}

ImapLimits small_limits() {
  ImapLimits limits;
  limits.max_line_bytes = 100;
  limits.max_literal_bytes = 50;
  limits.max_append_literal_bytes = 1000;
  limits.max_command_bytes = 300;
  return limits;
}

TEST(ImapCommandReader, FramesOneCommandPerLine) {
  ImapCommandReader reader;
  auto events = feed_all(reader, "a1 NOOP\r\nA2 CAPABILITY\r\n");
  ASSERT_EQ(events.size(), 2u);
  const auto& first = std::get<RawCommand>(events[0]);
  EXPECT_EQ(first.tag, "a1");
  EXPECT_EQ(first.bytes, "a1 NOOP");
  EXPECT_TRUE(first.literals.empty());
  EXPECT_EQ(std::get<RawCommand>(events[1]).tag, "A2");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(ImapCommandReader, WaitsForTheEndOfTheLine) {
  ImapCommandReader reader;
  EXPECT_TRUE(feed_all(reader, "A1 NO").empty());
  EXPECT_TRUE(feed_all(reader, "OP\r").empty());
  EXPECT_EQ(describe_all(feed_all(reader, "\n")), std::vector<std::string>{"command[A1 NOOP]"});
}

TEST(ImapCommandReader, AcceptsBareLineFeedsAndSkipsBlankLines) {
  ImapCommandReader reader;
  auto events = feed_all(reader, "\r\nA1 NOOP\n\nA2 LOGIN {3}\nabc\n");
  EXPECT_EQ(describe_all(events), (std::vector<std::string>{"command[A1 NOOP]", "continue{3}",
                                                            "command[A2 LOGIN {3}\r\nabc]"}));
}

TEST(ImapCommandReader, SynchronizingLiteralWaitsForTheContinuation) {
  ImapCommandReader reader;
  EXPECT_EQ(describe_all(feed_all(reader, "A1 LOGIN {5}\r\n")),
            std::vector<std::string>{"continue{5}"});
  EXPECT_EQ(kLiteralContinuation, "+ Ready for literal\r\n");
  EXPECT_EQ(describe_all(feed_all(reader, "alice {6}\r\n")),
            std::vector<std::string>{"continue{6}"});
  auto events = feed_all(reader, "secret\r\n");
  ASSERT_EQ(events.size(), 1u);
  const auto& raw = std::get<RawCommand>(events[0]);
  EXPECT_EQ(raw.bytes, "A1 LOGIN {5}\r\nalice {6}\r\nsecret");
  ASSERT_EQ(raw.literals.size(), 2u);
  EXPECT_EQ(raw.bytes.substr(raw.literals[0].offset, raw.literals[0].size), "alice");
  EXPECT_EQ(raw.bytes.substr(raw.literals[1].offset, raw.literals[1].size), "secret");
  EXPECT_TRUE(raw.literals[0].synchronizing);

  auto command = parse_imap_command(raw);
  ASSERT_TRUE(command.ok()) << command.error().reply_line();
  EXPECT_EQ(command->args<LoginArguments>().user, "alice");
  EXPECT_EQ(command->args<LoginArguments>().password, "secret");
}

TEST(ImapCommandReader, NonSynchronizingLiteralNeedsNoContinuation) {
  ImapCommandReader reader;
  // mbsync's APPEND with LITERAL+.
  auto events = feed_all(reader, "11 APPEND \"INBOX\" (\\Seen) {11+}\r\nhello world\r\n");
  ASSERT_EQ(events.size(), 1u);
  const auto& raw = std::get<RawCommand>(events[0]);
  ASSERT_EQ(raw.literals.size(), 1u);
  EXPECT_FALSE(raw.literals[0].synchronizing);
  auto command = parse_imap_command(raw);
  ASSERT_TRUE(command.ok()) << command.error().reply_line();
  EXPECT_EQ(command->args<AppendArguments>().message, "hello world");
}

TEST(ImapCommandReader, LiteralDataIsOpaque) {
  ImapCommandReader reader;
  // Line ends, braces and a would-be command inside literal data are just data.
  std::string message = "Subject: x {3}\r\n\r\nA9 LOGOUT\r\n";
  auto events = feed_all(reader, "A1 APPEND INBOX {" + std::to_string(message.size()) + "+}\r\n" +
                                     message + "\r\nA2 NOOP\r\n");
  ASSERT_EQ(events.size(), 2u);
  auto command = parse_imap_command(std::get<RawCommand>(events[0]));
  ASSERT_TRUE(command.ok()) << command.error().reply_line();
  EXPECT_EQ(command->args<AppendArguments>().message, message);
  EXPECT_EQ(std::get<RawCommand>(events[1]).bytes, "A2 NOOP");
}

TEST(ImapCommandReader, ZeroLengthLiteral) {
  ImapCommandReader reader;
  auto events = feed_all(reader, "A1 LOGIN {0+}\r\n {0}\r\n\r\n");
  EXPECT_EQ(describe_all(events),
            (std::vector<std::string>{"continue{0}", "command[A1 LOGIN {0+}\r\n {0}\r\n]"}));
  auto command = parse_imap_command(std::get<RawCommand>(events[1]));
  ASSERT_TRUE(command.ok()) << command.error().reply_line();
  EXPECT_EQ(command->args<LoginArguments>().user, "");
}

TEST(ImapCommandReader, ByteByByteFeedingGivesTheSameEvents) {
  const std::string session =
      "A1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n"
      "A2 SELECT INBOX\r\n"
      "A3 APPEND INBOX (\\Seen) {12}\r\nline1\r\nline2\r\n"
      "A4 SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\xc3\xa9t\xc3 FROM x\r\n"
      "A5 UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER]<0.1024>)\r\n"
      "A6 LOGOUT\r\n";
  ImapCommandReader whole;
  auto expected = describe_all(feed_all(whole, session));
  ASSERT_EQ(expected.size(), 8u);

  ImapCommandReader bytewise;
  std::vector<ImapReaderEvent> events;
  for (char c : session) {
    bytewise.feed(std::string_view(&c, 1));
    auto more = drain(bytewise);
    for (auto& e : more) events.push_back(std::move(e));
  }
  EXPECT_EQ(describe_all(events), expected);
  for (const auto& event : events) {
    if (const auto* raw = std::get_if<RawCommand>(&event)) {
      auto command = parse_imap_command(*raw);
      EXPECT_TRUE(command.ok()) << raw->bytes << " -> " << command.error().reply_line();
    }
  }
}

TEST(ImapCommandReader, OversizeSynchronizingLiteralIsRefusedAndReadingContinues) {
  ImapCommandReader reader(small_limits());
  auto events = feed_all(reader, "A1 LOGIN {51}\r\nA2 NOOP\r\n");
  EXPECT_EQ(describe_all(events),
            (std::vector<std::string>{"error[A1 BAD [TOOBIG] Literal too large (limit 50 bytes)]",
                                      "command[A2 NOOP]"}));
  EXPECT_EQ(std::get<ReaderError>(events[0]).error.code, ImapErrc::kLiteralTooLarge);
  EXPECT_FALSE(reader.closed());
}

TEST(ImapCommandReader, OversizeAppendMessageGetsNoTooBig) {
  ImapCommandReader reader(small_limits());
  auto events = feed_all(reader, "A1 APPEND INBOX {1001}\r\nA2 NOOP\r\n");
  EXPECT_EQ(describe_all(events),
            (std::vector<std::string>{"error[A1 NO [TOOBIG] Message too large (limit 1000 bytes)]",
                                      "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, AppendTakesLargeMessagesWhileOtherLiteralsStaySmall) {
  ImapLimits limits;
  constexpr std::size_t kMiB = std::size_t{1024} * 1024;
  constexpr std::size_t kRead = std::size_t{64} * 1024;
  limits.max_append_literal_bytes = 16 * kMiB;
  ImapCommandReader reader(limits);
  std::string message(10 * kMiB, 'x');
  for (std::size_t i = 76; i < message.size(); i += 78) message.replace(i, 2, "\r\n");
  EXPECT_EQ(describe_all(feed_all(reader, "A1 APPEND INBOX {10485760}\r\n")),
            std::vector<std::string>{"continue{10485760}"});
  for (std::size_t off = 0; off < message.size(); off += kRead) {
    reader.feed(std::string_view(message).substr(off, kRead));
    EXPECT_FALSE(reader.next().has_value());
  }
  auto events = feed_all(reader, "\r\nA2 LOGIN {70000}\r\n");
  ASSERT_EQ(events.size(), 2u);
  auto command = parse_imap_command(std::get<RawCommand>(events[0]), limits);
  ASSERT_TRUE(command.ok()) << command.error().reply_line();
  EXPECT_EQ(command->args<AppendArguments>().message, message);
  EXPECT_EQ(std::get<ReaderError>(events[1]).error.status, ImapStatus::kBad);
  EXPECT_EQ(std::get<ReaderError>(events[1]).error.code, ImapErrc::kLiteralTooLarge);
}

TEST(ImapCommandReader, OversizeNonSynchronizingLiteralClosesTheConnection) {
  ImapCommandReader reader(small_limits());
  auto events = feed_all(reader, "A1 LOGIN {51+}\r\n" + std::string(51, 'x') + "\r\nA2 NOOP\r\n");
  EXPECT_EQ(describe_all(events),
            std::vector<std::string>{"fatal[A1 BAD [TOOBIG] Literal too large (limit 50 bytes)]"});
  EXPECT_TRUE(reader.closed());
  reader.feed("A3 NOOP\r\n");
  EXPECT_FALSE(reader.next().has_value());
}

TEST(ImapCommandReader, LiteralSizeBeyondThirtyTwoBitsIsTooLarge) {
  ImapCommandReader sync_reader;
  auto events = feed_all(sync_reader, "A1 LOGIN {99999999999999999999}\r\nA2 NOOP\r\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(std::get<ReaderError>(events[0]).close_connection);

  ImapCommandReader nonsync_reader;
  events = feed_all(nonsync_reader, "A1 LOGIN {99999999999999999999+}\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(std::get<ReaderError>(events[0]).close_connection);
}

TEST(ImapCommandReader, CommandTooLargeAcrossLiteralsIsSkippedAndRefused) {
  ImapCommandReader reader(small_limits());
  // Each literal is within its limit; together they pass max_command_bytes. The literal
  // that would pass it is skipped (the client sends it anyway), then the rest of the command.
  std::string command = "A1 SEARCH";
  for (int i = 0; i < 7; ++i) command += " TEXT {45+}\r\n" + std::string(45, 'a');
  EXPECT_EQ(describe_all(feed_all(reader, command + "\r\nA2 NOOP\r\n")),
            (std::vector<std::string>{"error[A1 BAD Command too large]", "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, SynchronizingLiteralPassingTheCommandLimitIsRefused) {
  ImapCommandReader reader(small_limits());
  std::string command = "A1 SEARCH";
  for (int i = 0; i < 4; ++i) command += " TEXT {45+}\r\n" + std::string(45, 'a');
  EXPECT_EQ(
      describe_all(feed_all(reader, command + " SUBJECT {45}\r\nA2 NOOP\r\n")),
      (std::vector<std::string>{"error[A1 BAD [TOOBIG] Command too large]", "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, OverlongLineIsSkippedAndRefused) {
  ImapCommandReader reader(small_limits());
  std::string line = "A1 SEARCH TEXT " + std::string(10'000, 'a');
  for (std::size_t off = 0; off < line.size(); off += 97) {
    reader.feed(std::string_view(line).substr(off, 97));
    EXPECT_FALSE(reader.next().has_value());
    EXPECT_LE(reader.buffered(), 200u);  // skipped bytes are not kept
  }
  auto events = feed_all(reader, "\r\nA2 NOOP\r\n");
  EXPECT_EQ(describe_all(events),
            (std::vector<std::string>{"error[A1 BAD Command line too long]", "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, OverlongLineSkipsItsNonSynchronizingLiteral) {
  ImapCommandReader reader(small_limits());
  std::string line = "A1 LOGIN " + std::string(200, 'u') + " {9+}\r\nA9 LOGOUT\r\nA2 NOOP\r\n";
  EXPECT_EQ(describe_all(feed_all(reader, line)),
            (std::vector<std::string>{"error[A1 BAD Command line too long]", "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, OverlongLineWithOversizeNonSynchronizingLiteralCloses) {
  ImapCommandReader reader(small_limits());
  std::string line = "A1 LOGIN " + std::string(200, 'u') + " {1000000+}\r\n";
  auto events = feed_all(reader, line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(std::get<ReaderError>(events[0]).close_connection);
  EXPECT_EQ(std::get<ReaderError>(events[0]).error.tag, "A1");
}

TEST(ImapCommandReader, OverlongLineWithoutValidTagGetsAnUntaggedReply) {
  ImapCommandReader reader(small_limits());
  auto events = feed_all(reader, std::string(500, '(') + "\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ReaderError>(events[0]).error.reply_line(), "* BAD Command line too long\r\n");
}

TEST(ImapCommandReader, SynchronizingLiteral8IsRefusedBeforeItIsSent) {
  ImapCommandReader reader;
  auto events = feed_all(reader, "A1 APPEND INBOX ~{5}\r\nA2 NOOP\r\n");
  EXPECT_EQ(
      describe_all(events),
      (std::vector<std::string>{"error[A1 BAD literal8 is not supported]", "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, NonSynchronizingLiteral8IsFramedAndRefusedByTheParser) {
  ImapCommandReader reader;
  auto events = feed_all(reader, "A1 APPEND INBOX ~{5+}\r\nhello\r\nA2 NOOP\r\n");
  ASSERT_EQ(events.size(), 2u);
  auto command = parse_imap_command(std::get<RawCommand>(events[0]));
  ASSERT_FALSE(command.ok());
  EXPECT_EQ(command.error().reply_line(), "A1 BAD literal8 is not supported\r\n");
  EXPECT_EQ(describe(events[1]), "command[A2 NOOP]");
}

TEST(ImapCommandReader, RecognisesDoneAfterIdle) {
  ImapCommandReader reader;
  reader.feed("A1 IDLE\r\ndone\r\nA2 NOOP\r\n");
  auto idle = reader.next();
  ASSERT_TRUE(idle.has_value());
  EXPECT_EQ(describe(*idle), "command[A1 IDLE]");
  reader.expect_idle_done("A1");
  EXPECT_EQ(describe_all(drain(reader)),
            (std::vector<std::string>{"idle-done", "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, AnythingButDoneEndsIdleWithBad) {
  ImapCommandReader reader;
  reader.expect_idle_done("A1");
  EXPECT_TRUE(feed_all(reader, "DON").empty());
  EXPECT_EQ(describe_all(feed_all(reader, "E NOW\r\nA3 NOOP\r\n")),
            (std::vector<std::string>{"error[A1 BAD Expected DONE]", "command[A3 NOOP]"}));
}

TEST(ImapCommandReader, ReadsAuthenticateResponses) {
  ImapCommandReader reader;
  reader.feed("A1 AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n*\r\nA2 NOOP\r\n");
  EXPECT_EQ(describe(*reader.next()), "command[A1 AUTHENTICATE PLAIN]");
  reader.expect_authenticate_response("A1");
  EXPECT_EQ(describe(*reader.next()), "auth[AGFsaWNlAHNlY3JldA==]");
  reader.expect_authenticate_response("A1");
  EXPECT_EQ(describe(*reader.next()), "auth-cancel[*]");
  EXPECT_EQ(describe(*reader.next()), "command[A2 NOOP]");
}

TEST(ImapCommandReader, OverlongAuthenticateResponseIsRefused) {
  ImapCommandReader reader(small_limits());
  reader.expect_authenticate_response("A1");
  EXPECT_EQ(describe_all(feed_all(reader, std::string(300, 'A') + "\r\nA2 NOOP\r\n")),
            (std::vector<std::string>{"error[A1 BAD Authentication response too long]",
                                      "command[A2 NOOP]"}));
}

TEST(ImapCommandReader, StartTlsDiscardsPlaintextSentAhead) {
  ImapCommandReader reader;
  reader.feed("A1 STARTTLS\r\nA2 LOGIN mallory {4+}\r\nevil\r\n");
  EXPECT_EQ(describe(*reader.next()), "command[A1 STARTTLS]");
  EXPECT_EQ(reader.discard_buffered(), 29u);
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_EQ(describe_all(feed_all(reader, "A2 NOOP\r\n")),
            std::vector<std::string>{"command[A2 NOOP]"});
}

TEST(ImapCommandReader, LimitsCanChangeBetweenCommands) {
  ImapCommandReader reader(small_limits());
  EXPECT_EQ(std::get<ReaderError>(*feed_all(reader, "A1 LOGIN {60}\r\n").begin()).error.code,
            ImapErrc::kLiteralTooLarge);
  ImapLimits wider = small_limits();
  wider.max_literal_bytes = 100;
  reader.set_limits(wider);
  EXPECT_EQ(describe_all(feed_all(reader, "A2 LOGIN {60}\r\n")),
            std::vector<std::string>{"continue{60}"});
}

}  // namespace
}  // namespace post::email
