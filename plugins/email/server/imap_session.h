// The IMAP4rev1 server (RFC 3501) of the email plugin, with IDLE, UIDPLUS, MOVE, NAMESPACE,
// LITERAL+, ENABLE, ID, UNSELECT and SASL-IR: one ImapSession per client connection. It takes
// the client's bytes and gives the bytes to send back; the connection object does the I/O.
// Commands run one at a time, in order (pipelined commands wait in the reader); a command
// that needs POST (a log read or append, message bodies from the secure store) completes
// later, when its MailIo callbacks have run, and the session then calls its wake callback so
// that the connection sends the output and reads again.
//
// Folders are MailAccount folders (one shared state per user on the node); a session keeps
// its own view of the selected folder (the UIDs and flags it has told the client about), so
// sequence numbers only change when the session reports EXPUNGE, as RFC 3501 7.4.1 wants.
// Changes made by other sessions and by deliveries reach the client as untagged EXISTS,
// RECENT, FETCH (FLAGS) and EXPUNGE responses after a command completes, and at once while
// the client idles.
//
// Mailbox names are kept as the client sends them (modified UTF-7, validated by the parser),
// with "/" as the hierarchy delimiter.
//
// Single-threaded: every call and callback on the thread that owns the accounts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/imap/imap_command.h"
#include "plugins/email/imap/imap_reader.h"
#include "plugins/email/server/mail_account.h"
#include "plugins/email/server/stored_message.h"

namespace post::email {

// What a session needs of the plugin.
class ImapServices {
 public:
  virtual ~ImapServices() = default;
  // Whether `password` is `user`'s (user lower-cased by the caller).
  virtual bool check_password(const std::string& user, const std::string& password) = 0;
  // The account of `user` when this node serves it, else null.
  virtual MailAccount* account(const std::string& user) = 0;
  virtual MessageLoader& loader() = 0;
  virtual MailIo& io() = 0;
  // Logs a line about this server's work (a failed login, a POST error).
  virtual void log_warning(const std::string& text) = 0;
};

struct ImapSessionOptions {
  std::string hostname = "localhost";
  // LOGIN and AUTHENTICATE are allowed without TLS only on loopback.
  bool loopback = false;
  // STARTTLS may be offered (the caller has a certificate).
  bool tls_available = false;
  // The connection is already TLS (implicit TLS, RFC 8314).
  bool tls_active = false;
  ImapLimits limits;
  // Failed logins before the session is closed.
  int max_failed_logins = 3;
};

class ImapSession {
 public:
  ImapSession(ImapServices& services, ImapSessionOptions options);
  ~ImapSession();
  ImapSession(const ImapSession&) = delete;
  ImapSession& operator=(const ImapSession&) = delete;

  // Called when output appeared or the session became ready for input outside feed() (a
  // command that completed later, new mail while idling).
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

  // Called after the tagged OK to STARTTLS is in the output: the caller sends the output,
  // runs the TLS handshake and then calls tls_started(). No command runs meanwhile.
  void set_start_tls(std::function<void()> start_tls) { start_tls_ = std::move(start_tls); }
  // The handshake STARTTLS asked for ended: on success, bytes that arrived in plaintext after
  // the command are dropped (RFC 3501 6.2.1: no command injection) and the session goes on
  // over TLS; on failure it closes.
  void tls_started(bool ok);
  bool tls_active() const { return tls_active_; }

  // Writes the greeting.
  void start();
  // Takes bytes from the client and runs the commands they complete.
  void feed(std::string_view bytes);

  bool has_output() const { return !output_.empty(); }
  std::string take_output() { return std::move(output_); }
  // Whether the connection should read more: not while a command runs (its followers wait
  // in the client's socket), except while idling (DONE must be read).
  bool wants_input() const { return !closed_ && (!busy_ || idling_ || authenticating_); }
  // True once the session said BYE: close after sending the output.
  bool closed() const { return closed_; }

 private:
  enum class State { kNotAuthenticated, kAuthenticated, kSelected };
  struct ViewEntry {
    std::uint32_t uid = 0;
    store::Flags flags;
  };
  struct Selected {
    std::string name;
    std::uint32_t uidvalidity = 0;
    bool read_only = false;
    std::uint32_t recent_from = 0;  // UIDs from here on are \Recent for this session
    std::vector<ViewEntry> view;    // what the client knows, by sequence number - 1
    int watch = 0;
  };
  void pump();
  void run(const ImapCommand& command);
  void run_any_state(const ImapCommand& command);
  void run_authenticated(const ImapCommand& command);
  void run_selected(const ImapCommand& command);

  void start_tls(const std::string& tag);
  bool login_allowed() const { return options_.loopback || tls_active_; }
  void login(const std::string& tag, const std::string& user, const std::string& password);
  void authenticate(const ImapCommand& command);
  void authenticate_with(const std::string& tag, std::string_view base64);
  void select(const ImapCommand& command);
  void create(const std::string& tag, const std::string& name);
  void remove(const std::string& tag, const std::string& name);
  void rename(const std::string& tag, const std::string& from, const std::string& to);
  void subscribe(const std::string& tag, const std::string& name, bool on);
  void list(const ImapCommand& command);
  void status(const ImapCommand& command);
  void append(const ImapCommand& command);
  void idle(const std::string& tag);
  void expunge(const ImapCommand& command, bool close_after);
  void fetch(const ImapCommand& command);
  void search(const ImapCommand& command);
  void store(const ImapCommand& command);
  void copy(const ImapCommand& command);

  // Sends untagged responses for what changed in the selected folder since the client was
  // last told; EXPUNGE only when `expunges` (not during FETCH, STORE, SEARCH).
  void sync(bool expunges);
  void deselect();
  // The selected folder's shared state (loaded: SELECT opened it).
  const store::Folder& folder() const;
  // The messages a set names in the session's view: (sequence number, UID) pairs, ascending;
  // nullopt (and a BAD sent) for a message number past the view.
  std::optional<std::vector<std::pair<std::uint32_t, std::uint32_t>>> resolve(
      const std::string& tag, const SequenceSet& set, bool uid);

  // Ends the running command with a tagged response; pump() goes on with the next one.
  void finish(const std::string& tag, ImapStatus status, std::string_view text);
  void untagged(std::string_view line);  // "* " + line + CRLF
  void send(std::string_view bytes);
  void bye(std::string_view text);
  std::string capabilities() const;
  std::string flags_of(const store::Flags& flags, bool recent) const;

  ImapServices& services_;
  ImapSessionOptions options_;
  ImapCommandReader reader_;
  std::function<void()> wake_;
  std::function<void()> start_tls_;
  bool tls_active_ = false;
  std::string output_;
  State state_ = State::kNotAuthenticated;
  MailAccount* account_ = nullptr;
  std::optional<Selected> selected_;
  bool busy_ = false;            // a command is running
  bool idling_ = false;          // in IDLE, waiting for DONE
  bool authenticating_ = false;  // in AUTHENTICATE, waiting for the client's response
  bool pumping_ = false;         // inside pump(): finish() does not re-enter it
  bool closed_ = false;
  bool changed_ = false;  // the selected folder changed since the last sync
  // EXPUNGE responses wait while a FETCH, STORE or SEARCH runs (RFC 3501 7.4.1).
  bool expunges_allowed_ = true;
  std::string idle_tag_;
  std::string auth_tag_;
  int failed_logins_ = 0;
  // Set while the session exists; callbacks of operations in flight check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace post::email
