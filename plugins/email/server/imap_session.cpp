#include "plugins/email/server/imap_session.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <set>
#include <utility>

#include "plugins/email/common/ascii.h"
#include "plugins/email/imap/imap_response.h"
#include "plugins/email/render/imap_match.h"
#include "plugins/email/render/imap_render.h"
#include "plugins/email/server/message_walk.h"
#include "plugins/email/smtp/smtp_sasl.h"

namespace post::email {
namespace {

constexpr std::string_view kSystemFlagNames[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                                 "\\Draft"};
constexpr store::SystemFlag kSystemFlagBits[] = {store::kSeen, store::kAnswered, store::kFlagged,
                                                 store::kDeleted, store::kDraft};

// Client flags as stored flags; nullopt for a flag that cannot be stored ("\Recent" is
// skipped, as it is the server's; an unknown "\Foo" or a bad keyword is refused).
std::optional<store::Flags> to_flags(const std::vector<std::string>& names) {
  store::Flags flags;
  for (const auto& name : names) {
    if (!name.empty() && name[0] == '\\') {
      if (iequals(name, "\\Recent")) continue;
      bool known = false;
      for (std::size_t i = 0; i < std::size(kSystemFlagNames); ++i) {
        if (iequals(name, kSystemFlagNames[i])) {
          flags.system |= kSystemFlagBits[i];
          known = true;
        }
      }
      if (!known) return std::nullopt;
    } else {
      if (!store::is_valid_keyword(name)) return std::nullopt;
      flags.keywords.push_back(name);
    }
  }
  store::normalize(flags);
  return flags;
}

// The store's folder name for a client's mailbox name: INBOX folded, a trailing delimiter
// dropped (RFC 3501 6.3.3).
std::string folder_name(std::string_view name) {
  std::string out = store::canonical_folder_name(name);
  while (out.size() > 1 && out.back() == store::kHierarchyDelimiter) out.pop_back();
  return out;
}

// LIST pattern matching (RFC 3501 6.3.8): '*' matches anything, '%' anything but the
// delimiter.
bool pattern_matches(std::string_view pattern, std::string_view name) {
  // Iterative matching with backtracking over the last wildcard; '%' cannot cross '/'.
  std::size_t p = 0, n = 0;
  std::vector<std::pair<std::size_t, std::size_t>> stars;  // (pattern pos, name pos)
  while (n < name.size() || p < pattern.size()) {
    if (p < pattern.size()) {
      char c = pattern[p];
      if (c == '*' || c == '%') {
        stars.emplace_back(p, n);
        ++p;
        continue;
      }
      if (n < name.size() && c == name[n]) {
        ++p;
        ++n;
        continue;
      }
    }
    // Backtrack: let the most recent wildcard take one more byte.
    bool resumed = false;
    while (!stars.empty()) {
      auto& [sp, sn] = stars.back();
      if (sn < name.size() && (pattern[sp] == '*' || name[sn] != store::kHierarchyDelimiter)) {
        ++sn;
        p = sp + 1;
        n = sn;
        resumed = true;
        break;
      }
      stars.pop_back();
    }
    if (!resumed) return false;
  }
  return true;
}

// The special use (RFC 6154) of the folders this server gives a meaning: mail sent goes to
// "Sent", moving mail to "Junk" blocks its sender; "Drafts", "Trash" and "Archive" by name, as
// clients name them.
std::string_view special_use(std::string_view name) {
  if (name == "Sent") return "\\Sent";
  if (name == "Junk") return "\\Junk";
  if (name == "Drafts") return "\\Drafts";
  if (name == "Trash") return "\\Trash";
  if (name == "Archive") return "\\Archive";
  return {};
}

std::string status_items(const store::Folder& folder, const std::vector<StatusItem>& items,
                         std::uint32_t recent) {
  std::string out;
  for (StatusItem item : items) {
    if (!out.empty()) out += ' ';
    switch (item) {
      case StatusItem::kMessages:
        out += "MESSAGES " + std::to_string(folder.message_count());
        break;
      case StatusItem::kRecent: out += "RECENT " + std::to_string(recent); break;
      case StatusItem::kUidNext: out += "UIDNEXT " + std::to_string(folder.uidnext()); break;
      case StatusItem::kUidValidity:
        out += "UIDVALIDITY " + std::to_string(folder.uidvalidity());
        break;
      case StatusItem::kUnseen: out += "UNSEEN " + std::to_string(folder.unseen_count()); break;
    }
  }
  return out;
}

std::string io_text(const IoError& e) {
  return e.temporary ? "[UNAVAILABLE] " + e.message + ", try again later" : e.message;
}

}  // namespace

ImapSession::ImapSession(ImapServices& services, ImapSessionOptions options)
    : services_(services),
      options_(std::move(options)),
      reader_(options_.limits),
      tls_active_(options_.tls_active) {}

ImapSession::~ImapSession() {
  deselect();
}

void ImapSession::start() {
  untagged("OK [CAPABILITY " + capabilities() + "] " + options_.hostname + " ePOST IMAP ready");
}

std::string ImapSession::capabilities() const {
  std::string caps =
      "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT SPECIAL-USE";
  if (state_ == State::kNotAuthenticated) {
    if (options_.tls_available && !tls_active_) caps += " STARTTLS";
    caps += login_allowed() ? " AUTH=PLAIN" : " LOGINDISABLED";
  }
  return caps;
}

void ImapSession::send(std::string_view bytes) {
  output_.append(bytes);
}

void ImapSession::untagged(std::string_view line) {
  output_ += "* ";
  output_.append(line);
  output_ += "\r\n";
}

void ImapSession::bye(std::string_view text) {
  untagged("BYE " + std::string(text));
  closed_ = true;
}

void ImapSession::finish(const std::string& tag, ImapStatus status, std::string_view text) {
  if (state_ == State::kSelected && selected_) sync(expunges_allowed_);
  send(format_status_response(tag, status, text));
  busy_ = false;
  if (!pumping_) {
    pump();
    if (wake_) wake_();
  }
}

void ImapSession::feed(std::string_view bytes) {
  if (closed_) return;
  reader_.feed(bytes);
  pump();
}

void ImapSession::pump() {
  if (pumping_) return;
  pumping_ = true;
  while (!closed_) {
    if (busy_ && !idling_ && !authenticating_) break;
    auto event = reader_.next();
    if (!event) break;
    if (auto* raw = std::get_if<RawCommand>(&*event)) {
      auto command = parse_imap_command(*raw, reader_.limits());
      if (!command.ok()) {
        send(command.error().reply_line());
        continue;
      }
      busy_ = true;
      expunges_allowed_ = command->uid || (command->kind != ImapCommandKind::kFetch &&
                                           command->kind != ImapCommandKind::kStore &&
                                           command->kind != ImapCommandKind::kSearch);
      run(*command);
    } else if (std::get_if<ContinuationRequest>(&*event)) {
      send(kLiteralContinuation);
    } else if (std::get_if<IdleDone>(&*event)) {
      idling_ = false;
      finish(idle_tag_, ImapStatus::kOk, "IDLE terminated");
    } else if (auto* auth = std::get_if<AuthenticateResponse>(&*event)) {
      authenticating_ = false;
      if (auth->cancelled) {
        finish(auth_tag_, ImapStatus::kBad, "AUTHENTICATE cancelled");
      } else {
        authenticate_with(auth_tag_, auth->line);
      }
    } else if (auto* error = std::get_if<ReaderError>(&*event)) {
      send(error->error.reply_line());
      if (idling_ || authenticating_) {  // IDLE or AUTHENTICATE has ended with that BAD
        idling_ = false;
        authenticating_ = false;
        busy_ = false;
      }
      if (error->close_connection) bye("Cannot continue after that command");
    }
  }
  pumping_ = false;
}

void ImapSession::run(const ImapCommand& c) {
  switch (c.kind) {
    case ImapCommandKind::kCapability:
    case ImapCommandKind::kNoop:
    case ImapCommandKind::kLogout:
    case ImapCommandKind::kId: return run_any_state(c);
    case ImapCommandKind::kStartTls: return start_tls(c.tag);
    case ImapCommandKind::kLogin:
    case ImapCommandKind::kAuthenticate:
      if (state_ != State::kNotAuthenticated) {
        return finish(c.tag, ImapStatus::kBad, "Already authenticated");
      }
      if (c.kind == ImapCommandKind::kLogin) {
        const auto& a = c.args<LoginArguments>();
        return login(c.tag, a.user, a.password);
      }
      return authenticate(c);
    default: break;
  }
  if (state_ == State::kNotAuthenticated) {
    return finish(c.tag, ImapStatus::kBad, "Log in first");
  }
  switch (c.kind) {
    case ImapCommandKind::kCheck:
    case ImapCommandKind::kClose:
    case ImapCommandKind::kUnselect:
    case ImapCommandKind::kExpunge:
    case ImapCommandKind::kSearch:
    case ImapCommandKind::kFetch:
    case ImapCommandKind::kStore:
    case ImapCommandKind::kCopy:
    case ImapCommandKind::kMove:
      if (state_ != State::kSelected) {
        return finish(c.tag, ImapStatus::kBad, "Select a mailbox first");
      }
      return run_selected(c);
    default: return run_authenticated(c);
  }
}

void ImapSession::run_any_state(const ImapCommand& c) {
  switch (c.kind) {
    case ImapCommandKind::kCapability:
      untagged("CAPABILITY " + capabilities());
      return finish(c.tag, ImapStatus::kOk, "CAPABILITY completed");
    case ImapCommandKind::kNoop: return finish(c.tag, ImapStatus::kOk, "NOOP completed");
    case ImapCommandKind::kLogout:
      deselect();
      untagged("BYE Logging out");
      send(format_status_response(c.tag, ImapStatus::kOk, "LOGOUT completed"));
      closed_ = true;
      busy_ = false;
      return;
    case ImapCommandKind::kId:
      untagged("ID (\"name\" \"ePOST\" \"vendor\" \"POST\")");
      return finish(c.tag, ImapStatus::kOk, "ID completed");
    default: return finish(c.tag, ImapStatus::kBad, "Unexpected command");
  }
}

void ImapSession::login(const std::string& tag, const std::string& user_in,
                        const std::string& password) {
  if (!login_allowed()) {
    return finish(tag, ImapStatus::kNo,
                  options_.tls_available
                      ? "[PRIVACYREQUIRED] Use STARTTLS before logging in"
                      : "[PRIVACYREQUIRED] Logging in needs TLS, which is not set up here");
  }
  std::string user = to_ascii_lower(user_in);
  MailAccount* account =
      services_.check_password(user, password) ? services_.account(user) : nullptr;
  if (account == nullptr) {
    services_.log_warning("IMAP login failed for " + user);
    if (++failed_logins_ >= options_.max_failed_logins) {
      send(format_status_response(tag, ImapStatus::kNo,
                                  "[AUTHENTICATIONFAILED] Invalid credentials"));
      busy_ = false;
      return bye("Too many failed logins");
    }
    return finish(tag, ImapStatus::kNo, "[AUTHENTICATIONFAILED] Invalid credentials");
  }
  std::weak_ptr<bool> alive = alive_;
  account->open([this, alive, tag, account](IoResult<void> r) {
    if (alive.expired()) return;
    if (!r.ok()) {
      services_.log_warning("IMAP login of " + account->user() +
                            ": cannot read the folder list: " + r.error().message);
      return finish(tag, ImapStatus::kNo, "[UNAVAILABLE] Mail is not readable now, try again");
    }
    account_ = account;
    state_ = State::kAuthenticated;
    finish(tag, ImapStatus::kOk, "[CAPABILITY " + capabilities() + "] Logged in");
  });
}

void ImapSession::start_tls(const std::string& tag) {
  if (!options_.tls_available || !start_tls_) {
    return finish(tag, ImapStatus::kBad, "STARTTLS is not offered here");
  }
  if (tls_active_) return finish(tag, ImapStatus::kBad, "TLS is already active");
  if (state_ != State::kNotAuthenticated) {
    return finish(tag, ImapStatus::kBad, "STARTTLS only before logging in");
  }
  send(format_status_response(tag, ImapStatus::kOk, "Begin TLS negotiation now"));
  // busy_ stays set: nothing is read or run until tls_started().
  start_tls_();
}

void ImapSession::tls_started(bool ok) {
  if (!ok) {
    closed_ = true;
    busy_ = false;
    return;
  }
  reader_.discard_buffered();
  tls_active_ = true;
  busy_ = false;
  pump();
  if (wake_) wake_();
}

void ImapSession::authenticate(const ImapCommand& c) {
  const auto& a = c.args<AuthenticateArguments>();
  if (a.mechanism != "PLAIN") {
    return finish(c.tag, ImapStatus::kNo, "Unsupported authentication mechanism");
  }
  if (a.initial_response) {
    return authenticate_with(c.tag, *a.initial_response == "=" ? "" : *a.initial_response);
  }
  auth_tag_ = c.tag;
  authenticating_ = true;
  send("+ \r\n");
  reader_.expect_authenticate_response(c.tag);
}

void ImapSession::authenticate_with(const std::string& tag, std::string_view base64) {
  auto decoded = decode_base64_strict(base64);
  if (!decoded) return finish(tag, ImapStatus::kBad, "Invalid base64");
  auto plain = parse_plain_response(*decoded);
  if (!plain.ok()) return finish(tag, ImapStatus::kBad, "Invalid PLAIN response");
  if (!plain->authzid.empty() && to_ascii_lower(plain->authzid) != to_ascii_lower(plain->authcid)) {
    return finish(tag, ImapStatus::kNo, "[AUTHORIZATIONFAILED] Cannot act as another user");
  }
  login(tag, plain->authcid, plain->password);
}

void ImapSession::run_authenticated(const ImapCommand& c) {
  switch (c.kind) {
    case ImapCommandKind::kEnable:
      untagged("ENABLED");
      return finish(c.tag, ImapStatus::kOk, "ENABLE completed");
    case ImapCommandKind::kSelect:
    case ImapCommandKind::kExamine: return select(c);
    case ImapCommandKind::kCreate: return create(c.tag, c.args<MailboxArguments>().mailbox);
    case ImapCommandKind::kDelete: return remove(c.tag, c.args<MailboxArguments>().mailbox);
    case ImapCommandKind::kRename:
      return rename(c.tag, c.args<RenameArguments>().from, c.args<RenameArguments>().to);
    case ImapCommandKind::kSubscribe:
    case ImapCommandKind::kUnsubscribe:
      return subscribe(c.tag, c.args<MailboxArguments>().mailbox,
                       c.kind == ImapCommandKind::kSubscribe);
    case ImapCommandKind::kList:
    case ImapCommandKind::kLsub: return list(c);
    case ImapCommandKind::kNamespace:
      untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
      return finish(c.tag, ImapStatus::kOk, "NAMESPACE completed");
    case ImapCommandKind::kStatus: return status(c);
    case ImapCommandKind::kAppend: return append(c);
    case ImapCommandKind::kIdle: return idle(c.tag);
    default: return finish(c.tag, ImapStatus::kBad, "Unexpected command");
  }
}

void ImapSession::run_selected(const ImapCommand& c) {
  switch (c.kind) {
    case ImapCommandKind::kCheck: return finish(c.tag, ImapStatus::kOk, "CHECK completed");
    case ImapCommandKind::kClose:
      if (selected_->read_only) {
        deselect();
        return finish(c.tag, ImapStatus::kOk, "CLOSE completed");
      }
      return expunge(c, true);
    case ImapCommandKind::kUnselect:
      deselect();
      return finish(c.tag, ImapStatus::kOk, "UNSELECT completed");
    case ImapCommandKind::kExpunge: return expunge(c, false);
    case ImapCommandKind::kSearch: return search(c);
    case ImapCommandKind::kFetch: return fetch(c);
    case ImapCommandKind::kStore: return store(c);
    case ImapCommandKind::kCopy:
    case ImapCommandKind::kMove: return copy(c);
    default: return finish(c.tag, ImapStatus::kBad, "Unexpected command");
  }
}

// ---- mailboxes ----

void ImapSession::deselect() {
  if (selected_ && account_) account_->unwatch(selected_->watch);
  selected_.reset();
  if (state_ == State::kSelected) state_ = State::kAuthenticated;
}

const store::Folder& ImapSession::folder() const {
  return *account_->loaded_folder(selected_->uidvalidity);
}

void ImapSession::select(const ImapCommand& c) {
  deselect();
  std::string name = folder_name(c.args<MailboxArguments>().mailbox);
  bool read_only = c.kind == ImapCommandKind::kExamine;
  std::weak_ptr<bool> alive = alive_;
  account_->open([this, alive, tag = c.tag, name, read_only](IoResult<void> r) {
    if (alive.expired()) return;
    if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
    auto uidvalidity = account_->mailbox().uidvalidity(name);
    if (!uidvalidity) return finish(tag, ImapStatus::kNo, "[NONEXISTENT] No such mailbox");
    account_->open_folder(*uidvalidity, [this, alive, tag, name, read_only,
                                         uv = *uidvalidity](IoResult<store::Folder*> f) {
      if (alive.expired()) return;
      if (!f.ok()) return finish(tag, ImapStatus::kNo, io_text(f.error()));
      const store::Folder& folder = **f;
      Selected s;
      s.name = name;
      s.uidvalidity = uv;
      s.read_only = read_only;
      s.recent_from = read_only ? folder.uidnext() : account_->claim_recent(uv);
      for (const auto& m : folder.messages()) s.view.push_back({m.uid, m.flags});
      s.watch = account_->watch(uv, [this] {
        changed_ = true;
        if (idling_) {
          sync(true);
          if (wake_) wake_();
        }
      });
      std::vector<std::string> flag_names(std::begin(kSystemFlagNames), std::end(kSystemFlagNames));
      flag_names.insert(flag_names.end(), folder.keywords().begin(), folder.keywords().end());
      untagged("FLAGS " + format_flags(flag_names));
      flag_names.push_back("\\*");
      untagged("OK [PERMANENTFLAGS " + format_flags(flag_names) + "] Flags permitted");
      untagged(std::to_string(folder.message_count()) + " EXISTS");
      untagged(std::to_string(folder.count_from_uid(s.recent_from)) + " RECENT");
      if (auto unseen = folder.first_unseen()) {
        untagged("OK [UNSEEN " + std::to_string(*unseen) + "] First unseen");
      }
      untagged("OK [UIDVALIDITY " + std::to_string(uv) + "] UIDs valid");
      untagged("OK [UIDNEXT " + std::to_string(folder.uidnext()) + "] Predicted next UID");
      selected_ = std::move(s);
      state_ = State::kSelected;
      changed_ = false;
      finish(tag, ImapStatus::kOk,
             read_only ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
    });
  });
}

void ImapSession::create(const std::string& tag, const std::string& mailbox) {
  std::string name = folder_name(mailbox);
  if (!store::is_valid_folder_name(name)) {
    return finish(tag, ImapStatus::kNo, "[CANNOT] Invalid mailbox name");
  }
  if (account_->mailbox().exists(name)) {
    return finish(tag, ImapStatus::kNo, "[ALREADYEXISTS] Mailbox exists");
  }
  // The name and each missing superior ("a/b/c" creates "a" and "a/b" too).
  std::vector<std::string> names;
  for (std::size_t at = name.find(store::kHierarchyDelimiter); at != std::string::npos;
       at = name.find(store::kHierarchyDelimiter, at + 1)) {
    std::string superior = name.substr(0, at);
    if (!account_->mailbox().exists(superior)) names.push_back(superior);
  }
  names.push_back(name);
  std::weak_ptr<bool> alive = alive_;
  // Each CreateFolder takes the next UIDVALIDITY, known once the one before is applied: the
  // appends are chained, not sent at once.
  auto step = std::make_shared<std::function<void(std::size_t)>>();
  *step = [this, alive, tag, names, step](std::size_t i) {
    if (i == names.size()) {
      auto keep = std::move(*step);  // ends the cycle; this closure lives until it returns
      return finish(tag, ImapStatus::kOk, "CREATE completed");
    }
    store::CreateFolder record{names[i], account_->mailbox().next_uidvalidity()};
    account_->append_to_list(record, [this, alive, tag, step, i](IoResult<void> r) {
      if (alive.expired()) return;
      if (!r.ok()) {
        auto keep = std::move(*step);
        return finish(tag, ImapStatus::kNo, io_text(r.error()));
      }
      (*step)(i + 1);
    });
  };
  (*step)(0);
}

void ImapSession::remove(const std::string& tag, const std::string& mailbox) {
  std::string name = folder_name(mailbox);
  if (name == store::kInboxName) return finish(tag, ImapStatus::kNo, "[CANNOT] INBOX stays");
  if (!account_->mailbox().exists(name)) {
    return finish(tag, ImapStatus::kNo, "[NONEXISTENT] No such mailbox");
  }
  if (selected_ && selected_->name == name) deselect();
  std::weak_ptr<bool> alive = alive_;
  account_->append_to_list(store::DeleteFolder{name}, [this, alive, tag](IoResult<void> r) {
    if (alive.expired()) return;
    if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
    finish(tag, ImapStatus::kOk, "DELETE completed");
  });
}

void ImapSession::rename(const std::string& tag, const std::string& from_in,
                         const std::string& to_in) {
  std::string from = folder_name(from_in), to = folder_name(to_in);
  if (!account_->mailbox().exists(from)) {
    return finish(tag, ImapStatus::kNo, "[NONEXISTENT] No such mailbox");
  }
  if (!store::is_valid_folder_name(to)) {
    return finish(tag, ImapStatus::kNo, "[CANNOT] Invalid mailbox name");
  }
  if (account_->mailbox().exists(to)) {
    return finish(tag, ImapStatus::kNo, "[ALREADYEXISTS] Mailbox exists");
  }
  store::RenameFolder record{from, to, 0};
  if (from == store::kInboxName)
    record.new_inbox_uidvalidity = account_->mailbox().next_uidvalidity();
  if (selected_ && selected_->name == from) deselect();
  std::weak_ptr<bool> alive = alive_;
  account_->append_to_list(record, [this, alive, tag](IoResult<void> r) {
    if (alive.expired()) return;
    if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
    finish(tag, ImapStatus::kOk, "RENAME completed");
  });
}

void ImapSession::subscribe(const std::string& tag, const std::string& mailbox, bool on) {
  std::string name = folder_name(mailbox);
  if (!store::is_valid_folder_name(name)) {
    return finish(tag, ImapStatus::kNo, "[CANNOT] Invalid mailbox name");
  }
  if (on && !account_->mailbox().exists(name)) {
    return finish(tag, ImapStatus::kNo, "[NONEXISTENT] No such mailbox");
  }
  std::weak_ptr<bool> alive = alive_;
  account_->append_to_list(store::Subscribe{name, on}, [this, alive, tag, on](IoResult<void> r) {
    if (alive.expired()) return;
    if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
    finish(tag, ImapStatus::kOk, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
  });
}

void ImapSession::list(const ImapCommand& c) {
  const auto& a = c.args<ListArguments>();
  bool lsub = c.kind == ImapCommandKind::kLsub;
  const char* verb = lsub ? "LSUB" : "LIST";
  if (a.pattern.empty()) {
    untagged(std::string(verb) + " (\\Noselect) \"/\" \"\"");
    return finish(c.tag, ImapStatus::kOk, std::string(verb) + " completed");
  }
  std::string pattern = a.reference + a.pattern;
  if (pattern.size() >= 5 && iequals(pattern.substr(0, 5), "INBOX") &&
      (pattern.size() == 5 || pattern[5] == store::kHierarchyDelimiter)) {
    pattern = std::string(store::kInboxName) + pattern.substr(5);
  }
  const store::Mailbox& mb = account_->mailbox();
  std::set<std::string> names;
  if (lsub) {
    names = mb.subscriptions();
  } else {
    for (const auto& [name, uv] : mb.folders()) names.insert(name);
  }
  for (const auto& name : names) {
    std::string matched = name;
    if (!pattern_matches(pattern, name)) {
      bool inbox = name == store::kInboxName;
      if (!(inbox && pattern_matches(to_ascii_lower(pattern), "inbox"))) continue;
    }
    std::string attributes;
    if (!mb.exists(name)) {
      attributes = "\\NonExistent";
    } else {
      attributes = mb.has_inferiors(name) ? "\\HasChildren" : "\\HasNoChildren";
    }
    if (!lsub && mb.subscribed(name)) attributes += " \\Subscribed";
    if (auto use = special_use(name); !use.empty()) attributes += " " + std::string(use);
    untagged(std::string(verb) + " (" + attributes + ") \"/\" " + format_astring(matched));
  }
  finish(c.tag, ImapStatus::kOk, std::string(verb) + " completed");
}

void ImapSession::status(const ImapCommand& c) {
  const auto& a = c.args<StatusArguments>();
  std::string name = folder_name(a.mailbox);
  std::weak_ptr<bool> alive = alive_;
  account_->open(
      [this, alive, tag = c.tag, name, items = a.items, shown = a.mailbox](IoResult<void> r) {
        if (alive.expired()) return;
        if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
        auto uv = account_->mailbox().uidvalidity(name);
        if (!uv) return finish(tag, ImapStatus::kNo, "[NONEXISTENT] No such mailbox");
        account_->open_folder(*uv, [this, alive, tag, items, shown](IoResult<store::Folder*> f) {
          if (alive.expired()) return;
          if (!f.ok()) return finish(tag, ImapStatus::kNo, io_text(f.error()));
          untagged("STATUS " + format_astring(shown) + " (" + status_items(**f, items, 0) + ")");
          finish(tag, ImapStatus::kOk, "STATUS completed");
        });
      });
}

void ImapSession::append(const ImapCommand& c) {
  const auto& a = c.args<AppendArguments>();
  auto uv = account_->mailbox().uidvalidity(folder_name(a.mailbox));
  if (!uv) return finish(c.tag, ImapStatus::kNo, "[TRYCREATE] No such mailbox");
  auto flags = to_flags(a.flags);
  if (!flags) return finish(c.tag, ImapStatus::kBad, "Invalid flag");
  std::int64_t internal_date = a.internal_date ? a.internal_date->unix_seconds()
                                               : static_cast<std::int64_t>(std::time(nullptr));
  std::weak_ptr<bool> alive = alive_;
  store_message(services_.io(), a.message,
                [this, alive, tag = c.tag, uv = *uv, flags = *flags,
                 internal_date](IoResult<StoredMessage> stored) {
                  if (alive.expired()) return;
                  if (!stored.ok()) return finish(tag, ImapStatus::kNo, io_text(stored.error()));
                  store::Insert insert;
                  insert.message = std::move(stored->ref);
                  insert.message.internal_date = internal_date;
                  insert.flags = flags;
                  account_->append_to_folder(uv, insert, [this, alive, tag, uv](IoResult<void> r) {
                    if (alive.expired()) return;
                    if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
                    std::uint32_t uid = account_->loaded_folder(uv)->uidnext() - 1;
                    finish(tag, ImapStatus::kOk,
                           "[APPENDUID " + std::to_string(uv) + " " + std::to_string(uid) +
                               "] APPEND completed");
                  });
                });
}

void ImapSession::idle(const std::string& tag) {
  idle_tag_ = tag;
  idling_ = true;
  if (selected_) sync(true);
  send("+ idling\r\n");
  reader_.expect_idle_done(tag);
}

// ---- the selected folder ----

void ImapSession::sync(bool expunges) {
  if (!selected_ || !changed_) return;
  const store::Folder& f = folder();
  auto& view = selected_->view;
  bool kept_expunged = false;
  if (expunges) {
    // Highest first, so that each number is still the client's number for that message.
    for (std::size_t i = view.size(); i-- > 0;) {
      if (f.by_uid(view[i].uid) == nullptr) {
        untagged(std::to_string(i + 1) + " EXPUNGE");
        view.erase(view.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  for (std::size_t i = 0; i < view.size(); ++i) {
    const store::Message* m = f.by_uid(view[i].uid);
    if (m == nullptr) {
      kept_expunged = true;
      continue;
    }
    if (!(m->flags == view[i].flags)) {
      view[i].flags = m->flags;
      untagged(std::to_string(i + 1) + " FETCH (UID " + std::to_string(m->uid) + " FLAGS " +
               flags_of(m->flags, m->uid >= selected_->recent_from) + ")");
    }
  }
  std::uint32_t last = view.empty() ? 0 : view.back().uid;
  std::size_t before = view.size();
  for (const auto& m : f.uid_range(last + 1, store::kMaxUid)) view.push_back({m.uid, m.flags});
  if (view.size() != before) {
    untagged(std::to_string(view.size()) + " EXISTS");
    std::uint32_t recent = 0;
    for (const auto& e : view) recent += e.uid >= selected_->recent_from ? 1 : 0;
    untagged(std::to_string(recent) + " RECENT");
  }
  changed_ = kept_expunged;
}

std::string ImapSession::flags_of(const store::Flags& flags, bool recent) const {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < std::size(kSystemFlagNames); ++i) {
    if (flags.has(kSystemFlagBits[i])) names.emplace_back(kSystemFlagNames[i]);
  }
  if (recent) names.emplace_back("\\Recent");
  names.insert(names.end(), flags.keywords.begin(), flags.keywords.end());
  return format_flags(names);
}

std::optional<std::vector<std::pair<std::uint32_t, std::uint32_t>>> ImapSession::resolve(
    const std::string& tag, const SequenceSet& set, bool uid) {
  const auto& view = selected_->view;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  if (uid) {
    std::uint32_t largest = view.empty() ? 0 : view.back().uid;
    auto ranges = set.resolve(largest);
    for (std::size_t i = 0; i < view.size(); ++i) {
      std::uint32_t u = view[i].uid;
      for (const auto& r : ranges) {
        if (u >= r.first && u <= r.last) {
          out.emplace_back(static_cast<std::uint32_t>(i + 1), u);
          break;
        }
      }
    }
    return out;
  }
  auto largest = static_cast<std::uint32_t>(view.size());
  for (const auto& r : set.resolve(largest)) {
    if (r.last > largest || r.first == 0) {
      finish(tag, ImapStatus::kBad, "Invalid message sequence number");
      return std::nullopt;
    }
    for (std::uint32_t n = r.first; n <= r.last; ++n) out.emplace_back(n, view[n - 1].uid);
  }
  return out;
}

void ImapSession::expunge(const ImapCommand& c, bool close_after) {
  if (selected_->read_only) {
    return finish(c.tag, ImapStatus::kNo, "[READ-ONLY] Mailbox is read-only");
  }
  std::vector<std::uint32_t> uids = folder().deleted_uids();
  if (!close_after && c.args<ExpungeArguments>().uids) {
    auto chosen = resolve(c.tag, *c.args<ExpungeArguments>().uids, true);
    if (!chosen) return;
    std::set<std::uint32_t> in_set;
    for (auto& [seq, uid] : *chosen) in_set.insert(uid);
    std::erase_if(uids, [&](std::uint32_t u) { return !in_set.contains(u); });
  }
  std::string done_text = close_after ? "CLOSE completed" : "EXPUNGE completed";
  if (uids.empty()) {
    if (close_after) deselect();
    return finish(c.tag, ImapStatus::kOk, done_text);
  }
  std::weak_ptr<bool> alive = alive_;
  std::uint32_t uv = selected_->uidvalidity;
  account_->append_to_folder(uv, store::Expunge{store::UidSet::of(uids)},
                             [this, alive, tag = c.tag, close_after, done_text](IoResult<void> r) {
                               if (alive.expired()) return;
                               if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
                               if (close_after) deselect();
                               finish(tag, ImapStatus::kOk, done_text);
                             });
}

void ImapSession::store(const ImapCommand& c) {
  const auto& a = c.args<StoreArguments>();
  if (selected_->read_only) {
    return finish(c.tag, ImapStatus::kNo, "[READ-ONLY] Mailbox is read-only");
  }
  auto flags = to_flags(a.flags);
  if (!flags) return finish(c.tag, ImapStatus::kBad, "Invalid flag");
  auto chosen = resolve(c.tag, a.set, c.uid);
  if (!chosen) return;
  std::vector<std::uint32_t> uids;
  for (auto& [seq, uid] : *chosen) {
    if (folder().by_uid(uid) != nullptr) uids.push_back(uid);
  }
  auto answer = [this, tag = c.tag, silent = a.silent, uid_command = c.uid, chosen = *chosen]() {
    const store::Folder& f = folder();
    for (auto& [seq, uid] : chosen) {
      const store::Message* m = f.by_uid(uid);
      if (m == nullptr) continue;
      auto& entry = selected_->view[seq - 1];
      bool changed = !(entry.flags == m->flags);
      entry.flags = m->flags;
      if (silent && !changed) continue;
      if (silent) continue;
      untagged(std::to_string(seq) + " FETCH (" +
               (uid_command ? "UID " + std::to_string(uid) + " " : std::string()) + "FLAGS " +
               flags_of(m->flags, uid >= selected_->recent_from) + ")");
    }
    finish(tag, ImapStatus::kOk, "STORE completed");
  };
  if (uids.empty()) return answer();
  store::SetFlags record;
  record.uids = store::UidSet::of(uids);
  record.mode = a.mode == StoreMode::kReplace ? store::FlagMode::kReplace
                : a.mode == StoreMode::kAdd   ? store::FlagMode::kAdd
                                              : store::FlagMode::kRemove;
  record.flags = *flags;
  std::weak_ptr<bool> alive = alive_;
  account_->append_to_folder(selected_->uidvalidity, record,
                             [this, alive, tag = c.tag, answer](IoResult<void> r) {
                               if (alive.expired()) return;
                               if (!r.ok()) return finish(tag, ImapStatus::kNo, io_text(r.error()));
                               answer();
                             });
}

void ImapSession::copy(const ImapCommand& c) {
  const auto& a = c.args<CopyArguments>();
  bool move = c.kind == ImapCommandKind::kMove;
  if (move && selected_->read_only) {
    return finish(c.tag, ImapStatus::kNo, "[READ-ONLY] Mailbox is read-only");
  }
  std::string target_name = folder_name(a.mailbox);
  auto target_uv = account_->mailbox().uidvalidity(target_name);
  if (!target_uv) return finish(c.tag, ImapStatus::kNo, "[TRYCREATE] No such mailbox");
  auto chosen = resolve(c.tag, a.set, c.uid);
  if (!chosen) return;
  std::vector<std::uint32_t> uids;
  for (auto& [seq, uid] : *chosen) uids.push_back(uid);
  std::weak_ptr<bool> alive = alive_;
  account_->open_folder(*target_uv, [this, alive, tag = c.tag, uids, move, target_name,
                                     tuv = *target_uv](IoResult<store::Folder*> f) {
    if (alive.expired()) return;
    if (!f.ok()) return finish(tag, ImapStatus::kNo, io_text(f.error()));
    if (!selected_) return finish(tag, ImapStatus::kNo, "Mailbox closed meanwhile");
    auto plan = store::plan_copy(folder(), uids, **f);
    if (!plan.ok()) return finish(tag, ImapStatus::kNo, plan.error().detail);
    if (plan->inserts.empty()) {
      return finish(tag, ImapStatus::kOk, move ? "MOVE completed" : "COPY completed");
    }
    auto shared_plan = std::make_shared<store::CopyPlan>(std::move(*plan));
    auto step = std::make_shared<std::function<void(std::size_t)>>();
    std::uint32_t suv = selected_->uidvalidity;
    *step = [this, alive, tag, move, target_name, tuv, suv, shared_plan, step](std::size_t i) {
      const store::CopyPlan& p = *shared_plan;
      auto fail = [this, tag, step](const IoError& e) {
        auto keep = std::move(*step);
        finish(tag, ImapStatus::kNo, io_text(e));
      };
      if (i < p.inserts.size()) {
        return account_->append_to_folder(tuv, p.inserts[i],
                                          [alive, step, fail, i](IoResult<void> r) {
                                            if (alive.expired()) return;
                                            if (!r.ok()) return fail(r.error());
                                            (*step)(i + 1);
                                          });
      }
      std::vector<std::uint32_t> from, to;
      for (auto& [s, t] : p.uid_map) {
        from.push_back(s);
        to.push_back(t);
      }
      std::string code = "[COPYUID " + std::to_string(tuv) + " " +
                         format_sequence_set(sequence_set_from(from)) + " " +
                         format_sequence_set(sequence_set_from(to)) + "]";
      auto junk_then_finish = [this, alive, tag, move, target_name, shared_plan, step,
                               code](std::size_t) {
        // Moving mail to Junk blocks its verified senders.
        std::vector<std::string> senders;
        if (iequals(target_name, "Junk")) senders = shared_plan->senders;
        auto blocked = std::make_shared<std::size_t>(0);
        auto next_block = std::make_shared<std::function<void()>>();
        *next_block = [this, alive, tag, move, senders, blocked, next_block, step, code]() {
          if (*blocked < senders.size() && !account_->mailbox().is_blocked(senders[*blocked])) {
            std::string who = senders[(*blocked)++];
            return account_->append_to_list(store::Block{who, true},
                                            [alive, next_block](IoResult<void>) {
                                              if (alive.expired()) return;
                                              (*next_block)();
                                            });
          }
          if (*blocked < senders.size()) {
            ++*blocked;
            return (*next_block)();
          }
          auto keep_block = std::move(*next_block);
          auto keep_step = std::move(*step);
          if (move) {
            untagged("OK " + code + " Moved");
            return finish(tag, ImapStatus::kOk, "MOVE completed");
          }
          finish(tag, ImapStatus::kOk, code + " COPY completed");
        };
        (*next_block)();
      };
      if (move && !p.source_expunge.uids.empty()) {
        return account_->append_to_folder(suv, p.source_expunge,
                                          [alive, fail, junk_then_finish](IoResult<void> r) {
                                            if (alive.expired()) return;
                                            if (!r.ok()) return fail(r.error());
                                            junk_then_finish(0);
                                          });
      }
      junk_then_finish(0);
    };
    (*step)(0);
  });
}

}  // namespace post::email
