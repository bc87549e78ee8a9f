// IMAP4rev1 commands (RFC 3501 6) as typed values, with the extensions ePOST offers: IDLE
// (RFC 2177), UIDPLUS (RFC 4315: UID EXPUNGE), MOVE (RFC 6851), NAMESPACE (RFC 2342),
// ENABLE (RFC 5161), ID (RFC 2971), UNSELECT (RFC 3691), SASL-IR (RFC 4959) and LITERAL+
// (RFC 7888, in the reader). parse_imap_command turns one RawCommand from the
// ImapCommandReader into an ImapCommand, or into the BAD/NO reply that refuses it; the
// connection survives every refusal.
//
//   ImapCommandReader reader(limits);
//   reader.feed(bytes);
//   while (auto event = reader.next()) {
//     if (auto* raw = std::get_if<RawCommand>(&*event)) {
//       ImapResult<ImapCommand> command = parse_imap_command(*raw, limits);
//       if (!command.ok()) send(command.error().reply_line()); else run(*command);
//     } else ...  // ContinuationRequest, IdleDone, AuthenticateResponse, ReaderError
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "plugins/email/imap/imap_date.h"
#include "plugins/email/imap/imap_fetch.h"
#include "plugins/email/imap/imap_reader.h"
#include "plugins/email/imap/imap_result.h"
#include "plugins/email/imap/imap_search.h"
#include "plugins/email/imap/imap_sequence.h"

namespace post::email {

enum class ImapCommandKind {
  // Any state.
  kCapability,
  kNoop,
  kLogout,
  kId,
  // Not authenticated.
  kStartTls,
  kAuthenticate,
  kLogin,
  // Authenticated.
  kEnable,
  kSelect,
  kExamine,
  kCreate,
  kDelete,
  kRename,
  kSubscribe,
  kUnsubscribe,
  kList,
  kLsub,
  kNamespace,
  kStatus,
  kAppend,
  kIdle,
  // Selected.
  kCheck,
  kClose,
  kUnselect,
  kExpunge,
  kSearch,
  kFetch,
  kStore,
  kCopy,
  kMove,
};

// The command's name as clients write it: "FETCH", "STARTTLS".
std::string_view command_name(ImapCommandKind kind);

enum class StatusItem { kMessages, kRecent, kUidNext, kUidValidity, kUnseen };

// How STORE changes the flags: FLAGS, +FLAGS or -FLAGS.
enum class StoreMode { kReplace, kAdd, kRemove };

// The arguments of each kind of command. ImapCommand::arguments holds the one that its kind
// names here:
//   NoArguments            CAPABILITY NOOP LOGOUT STARTTLS NAMESPACE IDLE CHECK CLOSE UNSELECT
//   LoginArguments         LOGIN
//   AuthenticateArguments  AUTHENTICATE
//   EnableArguments        ENABLE
//   IdArguments            ID
//   MailboxArguments       SELECT EXAMINE CREATE DELETE SUBSCRIBE UNSUBSCRIBE
//   RenameArguments        RENAME
//   ListArguments          LIST LSUB
//   StatusArguments        STATUS
//   AppendArguments        APPEND
//   SearchCriteria         SEARCH, UID SEARCH
//   FetchArguments         FETCH, UID FETCH
//   StoreArguments         STORE, UID STORE
//   CopyArguments          COPY MOVE, UID COPY, UID MOVE
//   ExpungeArguments       EXPUNGE, UID EXPUNGE
// Mailbox names are modified UTF-7 as sent (validated), with INBOX in any case made "INBOX".
struct NoArguments {
  bool operator==(const NoArguments&) const = default;
};

struct LoginArguments {
  std::string user;
  std::string password;
  bool operator==(const LoginArguments&) const = default;
};

struct AuthenticateArguments {
  std::string mechanism;  // upper case: "PLAIN"
  // SASL-IR initial response, base64 as sent; "=" stands for an empty response.
  std::optional<std::string> initial_response;
  bool operator==(const AuthenticateArguments&) const = default;
};

struct EnableArguments {
  std::vector<std::string> capabilities;  // upper case
  bool operator==(const EnableArguments&) const = default;
};

// RFC 2971 limits what a client may send.
inline constexpr std::size_t kMaxIdFields = 30;
inline constexpr std::size_t kMaxIdFieldBytes = 30;
inline constexpr std::size_t kMaxIdValueBytes = 1024;

struct IdArguments {
  // Empty for "ID NIL". A NIL value is nullopt.
  std::vector<std::pair<std::string, std::optional<std::string>>> fields;
  bool operator==(const IdArguments&) const = default;
};

struct MailboxArguments {
  std::string mailbox;
  bool operator==(const MailboxArguments&) const = default;
};

struct RenameArguments {
  std::string from;
  std::string to;
  bool operator==(const RenameArguments&) const = default;
};

struct ListArguments {
  std::string reference;
  std::string pattern;  // may hold the wildcards '*' and '%'
  bool operator==(const ListArguments&) const = default;
};

struct StatusArguments {
  std::string mailbox;
  std::vector<StatusItem> items;  // at least one, in the client's order
  bool operator==(const StatusArguments&) const = default;
};

struct AppendArguments {
  std::string mailbox;
  std::vector<std::string> flags;
  std::optional<ImapDateTime> internal_date;
  std::string message;
  bool operator==(const AppendArguments&) const = default;
};

struct FetchArguments {
  SequenceSet set;
  std::vector<FetchItem> items;  // at least one; macros expanded
  bool operator==(const FetchArguments&) const = default;
};

struct StoreArguments {
  SequenceSet set;
  StoreMode mode = StoreMode::kReplace;
  bool silent = false;
  std::vector<std::string> flags;  // may be empty ("FLAGS ()")
  bool operator==(const StoreArguments&) const = default;
};

struct CopyArguments {
  SequenceSet set;
  std::string mailbox;
  bool operator==(const CopyArguments&) const = default;
};

struct ExpungeArguments {
  std::optional<SequenceSet> uids;  // UID EXPUNGE only
  bool operator==(const ExpungeArguments&) const = default;
};

using ImapArguments =
    std::variant<NoArguments, LoginArguments, AuthenticateArguments, EnableArguments, IdArguments,
                 MailboxArguments, RenameArguments, ListArguments, StatusArguments, AppendArguments,
                 SearchCriteria, FetchArguments, StoreArguments, CopyArguments, ExpungeArguments>;

struct ImapCommand {
  std::string tag;
  ImapCommandKind kind = ImapCommandKind::kNoop;
  bool uid =
      false;  // "UID FETCH", "UID STORE", "UID COPY", "UID MOVE", "UID SEARCH", "UID EXPUNGE"
  ImapArguments arguments;

  // The arguments as the type the table above names for `kind`.
  template <class T>
  const T& args() const {
    return std::get<T>(arguments);
  }
};

// Parses one command framed by ImapCommandReader. Refusals carry the command's tag (or none
// when the tag itself is invalid) and the reply text: BAD for syntax ("Missing mailbox
// name", "Unknown command FOO", "Invalid sequence set", "Too deeply nested"), NO [CANNOT]
// for a mailbox name that is not valid modified UTF-7. Search keys nest at most
// limits.max_nesting_depth deep; literal8 and extensions we do not offer (CONDSTORE
// modifiers, MULTIAPPEND, LIST-EXTENDED) are refused with BAD.
ImapResult<ImapCommand> parse_imap_command(const RawCommand& raw, const ImapLimits& limits = {});

// Parses a command given as text (literals written inline as "{n}\r\n<data>"), for tests and
// tools.
ImapResult<ImapCommand> parse_imap_command(std::string_view text, const ImapLimits& limits = {});

}  // namespace post::email
