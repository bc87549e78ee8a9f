#include "plugins/email/imap/imap_command.h"

#include "plugins/email/imap/imap_lexer.h"

namespace post::email {
namespace {

// Longest client word echoed back in an error text.
constexpr std::size_t kMaxEchoedWordBytes = 32;

struct CommandSyntax {
  std::string_view name;
  ImapCommandKind kind;
  bool uid_form;  // may follow "UID"
};

constexpr CommandSyntax kCommands[] = {
    {"CAPABILITY", ImapCommandKind::kCapability, false},
    {"NOOP", ImapCommandKind::kNoop, false},
    {"LOGOUT", ImapCommandKind::kLogout, false},
    {"ID", ImapCommandKind::kId, false},
    {"STARTTLS", ImapCommandKind::kStartTls, false},
    {"AUTHENTICATE", ImapCommandKind::kAuthenticate, false},
    {"LOGIN", ImapCommandKind::kLogin, false},
    {"ENABLE", ImapCommandKind::kEnable, false},
    {"SELECT", ImapCommandKind::kSelect, false},
    {"EXAMINE", ImapCommandKind::kExamine, false},
    {"CREATE", ImapCommandKind::kCreate, false},
    {"DELETE", ImapCommandKind::kDelete, false},
    {"RENAME", ImapCommandKind::kRename, false},
    {"SUBSCRIBE", ImapCommandKind::kSubscribe, false},
    {"UNSUBSCRIBE", ImapCommandKind::kUnsubscribe, false},
    {"LIST", ImapCommandKind::kList, false},
    {"LSUB", ImapCommandKind::kLsub, false},
    {"NAMESPACE", ImapCommandKind::kNamespace, false},
    {"STATUS", ImapCommandKind::kStatus, false},
    {"APPEND", ImapCommandKind::kAppend, false},
    {"IDLE", ImapCommandKind::kIdle, false},
    {"CHECK", ImapCommandKind::kCheck, false},
    {"CLOSE", ImapCommandKind::kClose, false},
    {"UNSELECT", ImapCommandKind::kUnselect, false},
    {"EXPUNGE", ImapCommandKind::kExpunge, true},
    {"SEARCH", ImapCommandKind::kSearch, true},
    {"FETCH", ImapCommandKind::kFetch, true},
    {"STORE", ImapCommandKind::kStore, true},
    {"COPY", ImapCommandKind::kCopy, true},
    {"MOVE", ImapCommandKind::kMove, true},
};

const CommandSyntax* find_command(std::string_view name) {
  for (const CommandSyntax& command : kCommands) {
    if (iequals(name, command.name)) return &command;
  }
  return nullptr;
}

ImapError unknown_word(const ImapLexer& lexer, std::string_view prefix, std::string_view word) {
  if (word.size() > kMaxEchoedWordBytes) {
    return lexer.error(std::string(prefix), ImapErrc::kUnknownCommand);
  }
  return lexer.error(std::string(prefix) + " " + to_upper(word), ImapErrc::kUnknownCommand);
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// base64 (RFC 3501 9): groups of four, '=' padding only at the end; or "=" alone (SASL-IR).
bool is_base64(std::string_view s) {
  if (s == "=") return true;
  if (s.empty() || s.size() % 4 != 0) return false;
  std::size_t padding = 0;
  while (padding < 2 && s[s.size() - 1 - padding] == '=') ++padding;
  for (std::size_t i = 0; i + padding < s.size(); ++i) {
    if (!is_base64_char(s[i])) return false;
  }
  return true;
}

ImapResult<NoArguments> parse_no_arguments(ImapLexer& lexer) {
  IMAP_TRY(lexer.expect_end());
  return NoArguments{};
}

ImapResult<LoginArguments> parse_login(ImapLexer& lexer) {
  LoginArguments args;
  IMAP_TRY(lexer.expect_space("user name"));
  IMAP_TRY_ASSIGN(args.user, lexer.parse_astring("user name"));
  IMAP_TRY(lexer.expect_space("password"));
  IMAP_TRY_ASSIGN(args.password, lexer.parse_astring("password"));
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<AuthenticateArguments> parse_authenticate(ImapLexer& lexer) {
  AuthenticateArguments args;
  IMAP_TRY(lexer.expect_space("authentication mechanism"));
  IMAP_TRY_ASSIGN(std::string mechanism, lexer.parse_atom("authentication mechanism"));
  args.mechanism = to_upper(mechanism);
  if (lexer.consume(' ')) {
    std::string_view rest = lexer.rest();
    if (!is_base64(rest)) return lexer.error("Invalid initial response");
    args.initial_response = std::string(rest);
    lexer.advance(rest.size());
  }
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<EnableArguments> parse_enable(ImapLexer& lexer) {
  EnableArguments args;
  do {
    IMAP_TRY(lexer.expect_space("capability"));
    IMAP_TRY_ASSIGN(std::string capability, lexer.parse_atom("capability"));
    args.capabilities.push_back(to_upper(capability));
  } while (!lexer.at_end());
  return args;
}

ImapResult<IdArguments> parse_id(ImapLexer& lexer) {
  IdArguments args;
  IMAP_TRY(lexer.expect_space("ID parameter list"));
  if (lexer.consume_word("NIL")) {
    IMAP_TRY(lexer.expect_end());
    return args;
  }
  if (!lexer.consume('(')) return lexer.error("Invalid ID parameter list");
  if (!lexer.consume(')')) {
    for (;;) {
      if (args.fields.size() == kMaxIdFields) return lexer.error("Too many ID fields");
      IMAP_TRY_ASSIGN(std::string field, lexer.parse_string("ID field name"));
      if (field.size() > kMaxIdFieldBytes) return lexer.error("ID field name too long");
      IMAP_TRY(lexer.expect_space("ID field value"));
      IMAP_TRY_ASSIGN(std::optional<std::string> value, lexer.parse_nstring("ID field value"));
      if (value && value->size() > kMaxIdValueBytes) {
        return lexer.error("ID field value too long");
      }
      args.fields.emplace_back(std::move(field), std::move(value));
      if (lexer.consume(')')) break;
      if (!lexer.consume(' ')) return lexer.error("Invalid ID parameter list");
    }
  }
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<MailboxArguments> parse_mailbox_arguments(ImapLexer& lexer) {
  MailboxArguments args;
  IMAP_TRY(lexer.expect_space("mailbox name"));
  IMAP_TRY_ASSIGN(args.mailbox, lexer.parse_mailbox("mailbox name"));
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<RenameArguments> parse_rename(ImapLexer& lexer) {
  RenameArguments args;
  IMAP_TRY(lexer.expect_space("mailbox name"));
  IMAP_TRY_ASSIGN(args.from, lexer.parse_mailbox("mailbox name"));
  IMAP_TRY(lexer.expect_space("new mailbox name"));
  IMAP_TRY_ASSIGN(args.to, lexer.parse_mailbox("new mailbox name"));
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<ListArguments> parse_list(ImapLexer& lexer) {
  ListArguments args;
  IMAP_TRY(lexer.expect_space("reference name"));
  IMAP_TRY_ASSIGN(args.reference, lexer.parse_mailbox("reference name"));
  IMAP_TRY(lexer.expect_space("mailbox pattern"));
  IMAP_TRY_ASSIGN(args.pattern, lexer.parse_list_mailbox("mailbox pattern"));
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<StatusArguments> parse_status(ImapLexer& lexer) {
  StatusArguments args;
  IMAP_TRY(lexer.expect_space("mailbox name"));
  IMAP_TRY_ASSIGN(args.mailbox, lexer.parse_mailbox("mailbox name"));
  IMAP_TRY(lexer.expect_space("status items"));
  if (!lexer.consume('(')) return lexer.error("Invalid status item list");
  static constexpr struct {
    std::string_view name;
    StatusItem item;
  } kItems[] = {{"MESSAGES", StatusItem::kMessages},
                {"RECENT", StatusItem::kRecent},
                {"UIDNEXT", StatusItem::kUidNext},
                {"UIDVALIDITY", StatusItem::kUidValidity},
                {"UNSEEN", StatusItem::kUnseen}};
  for (;;) {
    if (lexer.at_end() || lexer.peek() == ')') return lexer.error("Missing status item");
    std::string_view word = lexer.read_atom();
    bool known = false;
    for (const auto& item : kItems) {
      if (iequals(word, item.name)) {
        args.items.push_back(item.item);
        known = true;
        break;
      }
    }
    if (!known) {
      if (word.empty() || word.size() > kMaxEchoedWordBytes) {
        return lexer.error("Invalid status item");
      }
      return lexer.error("Unknown status item " + to_upper(word));
    }
    if (lexer.consume(')')) break;
    if (!lexer.consume(' ')) return lexer.error("Invalid status item list");
  }
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<AppendArguments> parse_append(ImapLexer& lexer) {
  AppendArguments args;
  IMAP_TRY(lexer.expect_space("mailbox name"));
  IMAP_TRY_ASSIGN(args.mailbox, lexer.parse_mailbox("mailbox name"));
  IMAP_TRY(lexer.expect_space("message literal"));
  if (lexer.peek() == '(') {
    IMAP_TRY_ASSIGN(args.flags, lexer.parse_flag_list());
    IMAP_TRY(lexer.expect_space("message literal"));
  }
  if (lexer.peek() == '"') {
    IMAP_TRY_ASSIGN(ImapDateTime date, lexer.parse_date_time());
    args.internal_date = date;
    IMAP_TRY(lexer.expect_space("message literal"));
  }
  if (lexer.at_end()) return lexer.error("Missing message literal");
  if (lexer.peek() == '~') return lexer.error("literal8 is not supported", ImapErrc::kUnsupported);
  if (lexer.peek() != '{') return lexer.error("Message must be a literal");
  IMAP_TRY_ASSIGN(args.message, lexer.parse_string("message literal"));
  if (!lexer.at_end()) return lexer.error("MULTIAPPEND is not supported");
  return args;
}

ImapResult<FetchArguments> parse_fetch(ImapLexer& lexer) {
  FetchArguments args;
  IMAP_TRY(lexer.expect_space("sequence set"));
  IMAP_TRY_ASSIGN(args.set, lexer.parse_sequence_set("sequence set"));
  IMAP_TRY(lexer.expect_space("fetch attributes"));
  IMAP_TRY_ASSIGN(args.items, parse_fetch_items(lexer));
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<StoreArguments> parse_store(ImapLexer& lexer) {
  StoreArguments args;
  IMAP_TRY(lexer.expect_space("sequence set"));
  IMAP_TRY_ASSIGN(args.set, lexer.parse_sequence_set("sequence set"));
  IMAP_TRY(lexer.expect_space("store action"));
  if (lexer.consume('+')) {
    args.mode = StoreMode::kAdd;
  } else if (lexer.consume('-')) {
    args.mode = StoreMode::kRemove;
  }
  std::string action = to_upper(lexer.read_atom());
  if (action == "FLAGS.SILENT") {
    args.silent = true;
  } else if (action != "FLAGS") {
    return lexer.error("Invalid store action");
  }
  IMAP_TRY(lexer.expect_space("flags"));
  if (lexer.peek() == '(') {
    IMAP_TRY_ASSIGN(args.flags, lexer.parse_flag_list());
  } else {
    for (;;) {
      IMAP_TRY_ASSIGN(std::string flag, lexer.parse_flag());
      args.flags.push_back(std::move(flag));
      if (lexer.at_end()) break;
      IMAP_TRY(lexer.expect_space("flag"));
    }
  }
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<CopyArguments> parse_copy(ImapLexer& lexer) {
  CopyArguments args;
  IMAP_TRY(lexer.expect_space("sequence set"));
  IMAP_TRY_ASSIGN(args.set, lexer.parse_sequence_set("sequence set"));
  IMAP_TRY(lexer.expect_space("mailbox name"));
  IMAP_TRY_ASSIGN(args.mailbox, lexer.parse_mailbox("mailbox name"));
  IMAP_TRY(lexer.expect_end());
  return args;
}

ImapResult<ExpungeArguments> parse_expunge(ImapLexer& lexer, bool uid) {
  ExpungeArguments args;
  if (uid) {
    IMAP_TRY(lexer.expect_space("UID set"));
    IMAP_TRY_ASSIGN(SequenceSet set, lexer.parse_sequence_set("UID set"));
    args.uids = std::move(set);
  }
  IMAP_TRY(lexer.expect_end());
  return args;
}

template <class T>
ImapResult<ImapArguments> widen(ImapResult<T> result) {
  if (!result.ok()) return std::move(result).error();
  return ImapArguments(std::move(result).value());
}

ImapResult<ImapArguments> parse_arguments(ImapLexer& lexer, ImapCommandKind kind, bool uid) {
  using K = ImapCommandKind;
  switch (kind) {
    case K::kCapability:
    case K::kNoop:
    case K::kLogout:
    case K::kStartTls:
    case K::kNamespace:
    case K::kIdle:
    case K::kCheck:
    case K::kClose:
    case K::kUnselect: return widen(parse_no_arguments(lexer));
    case K::kLogin: return widen(parse_login(lexer));
    case K::kAuthenticate: return widen(parse_authenticate(lexer));
    case K::kEnable: return widen(parse_enable(lexer));
    case K::kId: return widen(parse_id(lexer));
    case K::kSelect:
    case K::kExamine:
    case K::kCreate:
    case K::kDelete:
    case K::kSubscribe:
    case K::kUnsubscribe: return widen(parse_mailbox_arguments(lexer));
    case K::kRename: return widen(parse_rename(lexer));
    case K::kList:
    case K::kLsub: return widen(parse_list(lexer));
    case K::kStatus: return widen(parse_status(lexer));
    case K::kAppend: return widen(parse_append(lexer));
    case K::kSearch: return widen(parse_search_criteria(lexer));
    case K::kFetch: return widen(parse_fetch(lexer));
    case K::kStore: return widen(parse_store(lexer));
    case K::kCopy:
    case K::kMove: return widen(parse_copy(lexer));
    case K::kExpunge: return widen(parse_expunge(lexer, uid));
  }
  return lexer.error("Unknown command", ImapErrc::kUnknownCommand);
}

}  // namespace

std::string_view command_name(ImapCommandKind kind) {
  for (const CommandSyntax& command : kCommands) {
    if (command.kind == kind) return command.name;
  }
  return "UNKNOWN";
}

ImapResult<ImapCommand> parse_imap_command(const RawCommand& raw, const ImapLimits& limits) {
  return parse_imap_command(std::string_view(raw.bytes), limits);
}

ImapResult<ImapCommand> parse_imap_command(std::string_view text, const ImapLimits& limits) {
  ImapLexer lexer(text, "", limits.max_nesting_depth);
  std::string_view tag = text.substr(0, text.find(' '));
  if (!is_valid_tag(tag)) {
    return lexer.error(tag.empty() ? "Missing tag" : "Invalid tag", ImapErrc::kBadTag);
  }
  lexer.advance(tag.size());
  lexer.set_tag(std::string(tag));

  ImapCommand command;
  command.tag = std::string(tag);
  IMAP_TRY(lexer.expect_space("command name"));
  std::string_view name = lexer.read_atom();
  if (name.empty()) return lexer.error("Missing command name");
  if (iequals(name, "UID")) {
    command.uid = true;
    IMAP_TRY(lexer.expect_space("UID command"));
    name = lexer.read_atom();
    const CommandSyntax* syntax = find_command(name);
    if (syntax == nullptr || !syntax->uid_form) {
      if (name.empty()) return lexer.error("Missing UID command");
      return unknown_word(lexer, "Unknown command UID", name);
    }
    command.kind = syntax->kind;
  } else {
    const CommandSyntax* syntax = find_command(name);
    if (syntax == nullptr) return unknown_word(lexer, "Unknown command", name);
    command.kind = syntax->kind;
  }
  if (!lexer.at_end() && lexer.peek() != ' ') return lexer.error("Invalid command name");
  IMAP_TRY_ASSIGN(command.arguments, parse_arguments(lexer, command.kind, command.uid));
  return command;
}

}  // namespace post::email
