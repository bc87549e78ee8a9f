// Bytes from an IMAP client, cut into random reads, through the command reader and the
// parser, with the reader switched into IDLE, AUTHENTICATE and STARTTLS modes as a server
// would: nothing may crash, hang, read out of bounds or recurse without bound. Every reply
// must be one line, and every formatter must give back what the parser reads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugins/email/imap/imap_command.h"
#include "plugins/email/imap/imap_response.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using post::fuzz::check;

using namespace post::email;

// A reply goes out as one line: the text never carries a line end.
void check_reply(const ImapError& error) {
  check(error.text.find_first_of("\r\n") == std::string::npos);
  std::string line = error.reply_line();
  check(line.size() >= 2 && line.find('\n') == line.size() - 1);
}

void check_mailbox(const std::string& name) {
  auto utf8 = decode_modified_utf7(name);
  check(utf8.ok());  // the parser only lets valid names through
  auto again = encode_modified_utf7(*utf8);
  check(again.ok());
  auto round = decode_modified_utf7(*again);
  check(round.ok() && *round == *utf8);
}

void check_string_round_trip(std::string_view value) {
  auto login = parse_imap_command("t LOGIN " + quote_or_literal(value) + " x");
  check(login.ok() && login->args<LoginArguments>().user == value);
}

void exercise(const ImapCommand& command, const ImapLimits& limits) {
  switch (command.kind) {
    case ImapCommandKind::kLogin:
      check_string_round_trip(command.args<LoginArguments>().user);
      check_string_round_trip(command.args<LoginArguments>().password);
      break;
    case ImapCommandKind::kSelect:
    case ImapCommandKind::kExamine:
    case ImapCommandKind::kCreate:
    case ImapCommandKind::kDelete:
    case ImapCommandKind::kSubscribe:
    case ImapCommandKind::kUnsubscribe:
      check_mailbox(command.args<MailboxArguments>().mailbox);
      (void)format_astring(command.args<MailboxArguments>().mailbox);
      break;
    case ImapCommandKind::kRename:
      check_mailbox(command.args<RenameArguments>().from);
      check_mailbox(command.args<RenameArguments>().to);
      break;
    case ImapCommandKind::kList:
    case ImapCommandKind::kLsub: check_mailbox(command.args<ListArguments>().pattern); break;
    case ImapCommandKind::kAppend: {
      const auto& append = command.args<AppendArguments>();
      check_mailbox(append.mailbox);
      (void)format_flags(append.flags);
      if (append.internal_date) {
        std::int64_t when = append.internal_date->unix_seconds();
        (void)format_date_time(when, append.internal_date->zone_minutes);
      }
      break;
    }
    case ImapCommandKind::kSearch: {
      const auto& criteria = command.args<SearchCriteria>();
      auto again = parse_imap_command("t SEARCH " + format_search_criteria(criteria), limits);
      check(again.ok() && again->args<SearchCriteria>() == criteria);
      break;
    }
    case ImapCommandKind::kFetch: {
      const auto& fetch = command.args<FetchArguments>();
      auto set = parse_sequence_set(format_sequence_set(fetch.set));
      check(set.ok() && *set == fetch.set);
      (void)fetch.set.resolve(1000);
      (void)fetch.set.contains(7, 3);
      for (const FetchItem& item : fetch.items) {
        std::string name = format_fetch_item_name(item);
        check(!name.empty());
        (void)fetch_item_sets_seen(item);
      }
      break;
    }
    case ImapCommandKind::kStore: {
      const auto& store = command.args<StoreArguments>();
      auto again = parse_imap_command("t STORE " + format_sequence_set(store.set) + " FLAGS " +
                                      format_flags(store.flags));
      check(again.ok() && again->args<StoreArguments>().flags == store.flags);
      break;
    }
    case ImapCommandKind::kCopy:
    case ImapCommandKind::kMove: check_mailbox(command.args<CopyArguments>().mailbox); break;
    default: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0 seeds the read sizes; byte 1 picks tight or default limits and STARTTLS handling.
  std::uint32_t seed = 0x9e3779b9u ^ data[0];
  const std::uint8_t options = data[1];
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  ImapLimits limits;
  if (options & 1) {
    limits.max_line_bytes = 256;
    limits.max_literal_bytes = 128;
    limits.max_append_literal_bytes = 4096;
    limits.max_command_bytes = 1024;
    limits.max_nesting_depth = 8;
  }
  ImapCommandReader reader(limits);

  std::size_t off = 0;
  while (off < input.size() && !reader.closed()) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    std::size_t chunk = (seed % 8 == 0) ? 1 + seed % 4096 : 1 + seed % 16;
    chunk = std::min(chunk, input.size() - off);
    reader.feed(input.substr(off, chunk));
    off += chunk;
    while (auto event = reader.next()) {
      if (auto* raw = std::get_if<RawCommand>(&*event)) {
        for (const LiteralSpan& literal : raw->literals) {
          check(literal.offset + literal.size <= raw->bytes.size());
        }
        auto command = parse_imap_command(*raw, limits);
        if (!command.ok()) {
          check_reply(command.error());
          continue;
        }
        check(command->tag == raw->tag);
        exercise(*command, limits);
        if (command->kind == ImapCommandKind::kIdle) {
          reader.expect_idle_done(command->tag);
        } else if (command->kind == ImapCommandKind::kAuthenticate &&
                   !command->args<AuthenticateArguments>().initial_response) {
          reader.expect_authenticate_response(command->tag);
        } else if (command->kind == ImapCommandKind::kStartTls && (options & 2)) {
          (void)reader.discard_buffered();
        }
      } else if (auto* error = std::get_if<ReaderError>(&*event)) {
        check_reply(error->error);
        if (error->close_connection) check(reader.closed());
      } else if (auto* auth = std::get_if<AuthenticateResponse>(&*event)) {
        check(auth->line.find('\n') == std::string::npos);
      }
    }
    check(reader.buffered() <= limits.max_line_bytes + 1);
  }

  // The same bytes as a mailbox name, both ways.
  if (auto decoded = decode_modified_utf7(input); decoded.ok()) {
    auto encoded = encode_modified_utf7(*decoded);
    check(encoded.ok());
    auto round = decode_modified_utf7(*encoded);
    check(round.ok() && *round == *decoded);
  }
  if (auto encoded = encode_modified_utf7(input); encoded.ok()) {
    auto decoded = decode_modified_utf7(*encoded);
    check(decoded.ok() && *decoded == input);
  }
  (void)quote_or_literal(input);
  return 0;
}
