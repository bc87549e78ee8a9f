// email: the ePOST plugin (docs/protocol/email.md). SMTP submission, IMAP4rev1 and (when
// configured) POP3 on sockets the host listens on, each driven by its sans-I/O engine on an
// Asio loop of the plugin's own thread. A submitted message is decomposed (mime/), its leaf
// bodies and, when large, its layout are put in the secure store (server/stored_message.h),
// and a notification (server/delivery_payload.h) goes to each recipient's node, which appends
// an Insert to the recipient's INBOX log; the sender's copy goes to its Sent folder. Folders
// are POST logs held by MailAccount (server/mail_account.h), which the IMAP and POP3 sessions
// read and write.
//
// Config: smtp_listen ("127.0.0.1:2025"), imap_listen ("127.0.0.1:1143"; "" turns IMAP
// off), pop3_listen (POP3 off unless set, e.g. "127.0.0.1:2110"), hostname ("localhost"),
// passwd_file (required; lines "email:{CRYPT}<crypt(3) hash>"), local_domains (the domains of
// ePOST addresses, comma- or space-separated; default: those of the passwd file's users),
// max_message_bytes (25 MiB),
// tls_certificate and tls_key (PEM files; with them STARTTLS and STLS are offered, and clients
// off loopback may log in once TLS is up), submissions_listen, imaps_listen, pop3s_listen
// (implicit TLS, RFC 8314; off unless set, e.g. "127.0.0.1:1465", "127.0.0.1:1993").
//
// Threads: the host calls the vtable and every callback on its executor; connections, mail
// accounts and deliveries live on the plugin's thread only. Host completions are posted to
// that thread (HostMailIo) before they touch any of them.
//
// Not yet: bounces, the
// X-POST-Verified-Sender header, mailing lists, handing open connections over on a reload
// (drain keeps them; the new version does not take them; the old one closes them).
#include <crypt.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "plugins/email/common/ascii.h"
#include "plugins/email/mime/gmime_runtime.h"
#include "plugins/email/pop3/pop3_session.h"
#include "plugins/email/server/admin_commands.h"
#include "plugins/email/server/delivery_payload.h"
#include "plugins/email/server/imap_session.h"
#include "plugins/email/server/mail_account.h"
#include "plugins/email/server/mailing_list.h"
#include "plugins/email/server/stored_message.h"
#include "plugins/email/smtp/smtp_session.h"
#include "post/sdk.hpp"

#ifndef EMAIL_VERSION
#define EMAIL_VERSION "0.3.0"
#endif

namespace post::email {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using sdk::Host;

// A passwd file larger than this is refused: it lists the few users of one node.
constexpr std::uintmax_t kMaxPasswdFileBytes = 1 << 20;
// Bytes read from a client per read call.
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// The folder a sender's copy goes to (created on first use).
constexpr std::string_view kSentFolder = "Sent";

// email -> crypt(3) hash, from "email:{CRYPT}<hash>" lines; blank lines and '#' comments are
// skipped. Throws sdk::Exception naming the file and line on anything else.
std::map<std::string, std::string> read_passwd_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw sdk::Exception(POST_ERR_INVALID_ARGUMENT, "passwd_file " + path + ": cannot open");
  std::map<std::string, std::string> users;
  std::string line;
  std::uintmax_t total = 0;
  for (int n = 1; std::getline(in, line); ++n) {
    total += line.size() + 1;
    if (total > kMaxPasswdFileBytes) {
      throw sdk::Exception(POST_ERR_INVALID_ARGUMENT, "passwd_file " + path + ": over 1 MiB");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](const char* why) {
      return sdk::Exception(POST_ERR_INVALID_ARGUMENT,
                            "passwd_file " + path + " line " + std::to_string(n) + ": " + why);
    };
    auto colon = line.find(':');
    if (colon == std::string::npos) throw bad("expected email:{CRYPT}<hash>");
    std::string email = to_ascii_lower(line.substr(0, colon));
    std::string rest = line.substr(colon + 1);
    if (email.find('@') == std::string::npos) throw bad("the user is not an email address");
    if (rest.rfind("{CRYPT}", 0) != 0) throw bad("the password is not {CRYPT}<hash>");
    std::string hash = rest.substr(7);
    if (hash.size() < 2 || hash[0] != '$') throw bad("the hash is not a crypt(3) hash ($id$...)");
    users[email] = hash;
  }
  return users;
}

// Whether `password` hashes to `hash` under crypt(3).
bool password_matches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out =
      crypt_rn(password.c_str(), hash.c_str(), data.get(), static_cast<int>(sizeof(crypt_data)));
  if (out == nullptr || out[0] == '*') return false;
  std::string_view computed(out);
  if (computed.size() != hash.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < hash.size(); ++i) {
    diff |= static_cast<unsigned char>(computed[i] ^ hash[i]);
  }
  return diff == 0;
}

store::Bytes32 to_bytes32(const sdk::Bytes& b) {
  store::Bytes32 d{};
  std::copy_n(b.begin(), std::min(b.size(), d.size()), d.begin());
  return d;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool temporary(post_status code) {
  return code != POST_ERR_NOT_FOUND && code != POST_ERR_INVALID_ARGUMENT &&
         code != POST_ERR_TOO_LARGE;
}

IoError io_error(const sdk::Error& e) {
  IoError out{e.message, temporary(e.code)};
  out.not_found = e.code == POST_ERR_NOT_FOUND;
  return out;
}

// MailIo over the host table: every completion is posted to the plugin's loop.
class HostMailIo final : public MailIo {
 public:
  HostMailIo(Host& host, asio::io_context& io) : host_(host), io_(io) {}

  void read_log(const std::string& user, const std::string& log, std::uint64_t from,
                std::function<void(IoResult<std::vector<LogEntry>>)> done) override {
    auto started = host_.log_read(
        user, log, from, kLogReadPage, [this, done](sdk::Result<std::vector<sdk::LogRecord>> r) {
          if (!r.ok()) return later(done, IoResult<std::vector<LogEntry>>(io_error(r.error())));
          std::vector<LogEntry> entries;
          entries.reserve(r->size());
          for (auto& rec : *r) {
            entries.push_back(LogEntry{rec.index, std::string(sdk::to_string_view(rec.data))});
          }
          later(done, IoResult<std::vector<LogEntry>>(std::move(entries)));
        });
    if (!started.ok()) later(done, IoResult<std::vector<LogEntry>>(io_error(started.error())));
  }

  void append_log(const std::string& user, const std::string& log, std::string record,
                  std::function<void(IoResult<std::uint64_t>)> done) override {
    auto started =
        host_.log_append(user, log, as_bytes(record), [this, done](sdk::Result<std::uint64_t> r) {
          if (!r.ok()) {
            return later(done, IoResult<std::uint64_t>(io_error(r.error())));
          }
          later(done, IoResult<std::uint64_t>(*r));
        });
    if (!started.ok()) later(done, IoResult<std::uint64_t>(io_error(started.error())));
  }

  void share_log(const std::string& user, const std::string& log,
                 std::function<void(IoResult<void>)> done) override {
    auto started = host_.log_share(user, log, [this, done](sdk::Status s) {
      if (!s.ok()) return later(done, IoResult<void>(io_error(s.error())));
      later(done, IoResult<void>());
    });
    if (!started.ok()) later(done, IoResult<void>(io_error(started.error())));
  }

  void put_content(std::string content,
                   std::function<void(IoResult<store::PartRef>)> done) override {
    auto started =
        host_.store_put(as_bytes(content), [this, done](sdk::Result<sdk::StoredContent> r) {
          if (!r.ok()) return later(done, IoResult<store::PartRef>(io_error(r.error())));
          later(done, IoResult<store::PartRef>(
                          store::PartRef{to_bytes32(r->handle), to_bytes32(r->key)}));
        });
    if (!started.ok()) later(done, IoResult<store::PartRef>(io_error(started.error())));
  }

  void fetch_content(const store::PartRef& ref,
                     std::function<void(IoResult<std::string>)> done) override {
    auto started = host_.store_fetch(ref.handle, ref.key, [this, done](sdk::Result<sdk::Bytes> r) {
      if (!r.ok()) return later(done, IoResult<std::string>(io_error(r.error())));
      later(done, IoResult<std::string>(std::string(sdk::to_string_view(*r))));
    });
    if (!started.ok()) later(done, IoResult<std::string>(io_error(started.error())));
  }

 private:
  template <class F, class R>
  void later(F done, R result) {
    asio::post(io_, [done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  Host& host_;
  asio::io_context& io_;
};

struct Settings {
  std::string hostname;
  std::string tls_certificate;  // PEM; empty: no TLS
  std::string tls_key;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  std::map<std::string, std::string> users;  // passwd file
  // Domains whose addresses are ePOST users (recipients elsewhere are refused at RCPT).
  std::set<std::string> local_domains;
};

// Everything the connections share; lives on the plugin's thread.
class Service final : public ImapServices, public AdminTarget {
 public:
  explicit Service(Host& h)
      : host(h),
        host_io(h, loop),
        message_loader(host_io),
        list_directory(host_io, [] {
          return std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now().time_since_epoch())
              .count();
        }) {}

  bool check_password(const std::string& user, const std::string& password) override {
    auto known = settings.users.find(user);
    return known != settings.users.end() && password_matches(password, known->second);
  }
  MailAccount* account(const std::string& user) override {
    if (!settings.users.contains(user)) return nullptr;
    return recipient_account(user);
  }
  // The account of a user the host serves (deliveries), whether or not it may log in here.
  MailAccount* recipient_account(const std::string& user) {
    auto& a = accounts[user];
    if (!a) a = std::make_unique<MailAccount>(host_io, user);
    return a.get();
  }
  MailAccount& account_of(const std::string& user) override { return *recipient_account(user); }
  ListDirectory& lists() override { return list_directory; }
  MessageLoader& loader() override { return message_loader; }
  MailIo& io() override { return host_io; }
  void log_warning(const std::string& text) override { host.warn(text); }

  Host& host;
  Settings settings;
  asio::io_context loop;  // the plugin's thread runs it
  HostMailIo host_io;
  MessageLoader message_loader;
  ListDirectory list_directory;  // mailing lists, read through their shared members logs
  std::map<std::string, std::unique_ptr<MailAccount>> accounts;
  std::unique_ptr<asio::ssl::context> tls;  // set when a certificate is configured
  std::set<std::string> pop3_locked;        // users with a POP3 session (RFC 1939: one at a time)
};

// Appends `insert` to folder `name` of `account`, creating the folder first when it is
// missing; logs a failure.
void file_message(Service& service, MailAccount& account, std::string name, store::Insert insert) {
  auto fail = [&service, &account, name](const std::string& why) {
    service.host.error("could not file a message in " + account.user() + "'s " + name + ": " + why);
  };
  account.open([&account, name, insert = std::move(insert), fail](IoResult<void> r) mutable {
    if (!r.ok()) return fail(r.error().message);
    auto append = [&account, insert, fail](std::uint32_t uidvalidity) {
      account.append_to_folder(uidvalidity, insert, [fail](IoResult<void> a) {
        if (!a.ok()) fail(a.error().message);
      });
    };
    if (auto uv = account.mailbox().uidvalidity(name)) return append(*uv);
    store::CreateFolder create{name, account.mailbox().next_uidvalidity()};
    account.append_to_list(create, [&account, name, append, fail](IoResult<void> c) {
      auto uv = account.mailbox().uidvalidity(name);
      if (!uv) return fail(c.ok() ? "the folder did not appear" : c.error().message);
      append(*uv);
    });
  });
}

// One delivery in flight: expands mailing lists among the recipients, stores the message,
// then notifies each recipient, then answers the session, then files the sender's copy in
// Sent.
class Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  using Done = std::function<void(const SmtpVerdict&)>;

  Delivery(Service& service, std::string sender, MessageReceived message, Done done)
      : service_(service),
        sender_(std::move(sender)),
        message_(std::move(message)),
        done_(std::move(done)) {}

  void run() {
    if (message_.rcpt_to.empty()) {
      return finish(SmtpVerdict::permanent_failure("no valid recipients", "5.5.1"));
    }
    expand(0);
  }

 private:
  // Replaces each recipient that is a mailing list by the list's members (the sender's node
  // expands lists, POST paper), one level deep, each address once.
  void expand(std::size_t next) {
    if (next == message_.rcpt_to.size()) {
      message_.rcpt_to = std::move(expanded_);
      if (message_.rcpt_to.empty()) {
        return finish(SmtpVerdict::permanent_failure("the mailing list has no members", "5.1.1"));
      }
      return store();
    }
    auto self = shared_from_this();
    service_.list_directory.members(
        message_.rcpt_to[next], [self, next](IoResult<ListDirectory::Members> r) {
          const std::string& rcpt = self->message_.rcpt_to[next];
          if (!r.ok()) {
            self->service_.host.warn("cannot tell whether " + rcpt +
                                     " is a mailing list: " + r.error().message);
            return self->finish(SmtpVerdict::temporary_failure(
                "cannot read the recipients' mailing lists now, try again later", "4.3.0"));
          }
          if (r->has_value()) {
            self->service_.host.info("expanding mailing list " + rcpt + " to " +
                                     std::to_string((*r)->size()) + " member(s)");
            for (const auto& member : **r) self->add_recipient(member);
          } else {
            self->add_recipient(rcpt);
          }
          self->expand(next + 1);
        });
  }

  void add_recipient(const std::string& address) {
    if (std::find(expanded_.begin(), expanded_.end(), address) == expanded_.end()) {
      expanded_.push_back(address);
    }
  }

  void store() {
    auto self = shared_from_this();
    store_message(service_.host_io, message_.data, [self](IoResult<StoredMessage> r) {
      if (!r.ok()) {
        if (!r.error().temporary) {
          return self->finish(
              SmtpVerdict::permanent_failure("message refused: " + r.error().message, "5.6.0"));
        }
        self->service_.host.warn("storing a message from " + self->sender_ +
                                 " failed: " + r.error().message);
        return self->finish(SmtpVerdict::temporary_failure(
            "cannot store the message now, try again later", "4.3.0"));
      }
      self->stored_ = std::move(*r);
      self->notify_all();
    });
  }

  void notify_all() {
    DeliveryPayload payload;
    payload.message_id = stored_.ref.message_id;
    payload.size = stored_.ref.size;
    payload.sent_at = static_cast<std::int64_t>(std::time(nullptr));
    payload.mail_from = sender_;
    const Envelope& env = stored_.envelope;
    auto join = [](const std::vector<MailAddress>& list) {
      std::string out;
      for (const auto& a : list) out += (out.empty() ? "" : ", ") + a.address;
      return out;
    };
    payload.from = join(env.from);
    payload.to = join(env.to);
    payload.subject = env.subject;
    payload.date = env.date;
    payload.message_id_header = env.message_id;
    payload.layout = stored_.ref.layout;
    payload.parts = stored_.ref.parts;
    std::string bytes = encode_payload(payload);
    outcomes_.assign(message_.rcpt_to.size(), POST_OK);
    waiting_ = message_.rcpt_to.size();
    auto self = shared_from_this();
    for (std::size_t i = 0; i < message_.rcpt_to.size(); ++i) {
      auto on_sent = [self, i](sdk::Status s) {
        asio::post(self->service_.loop, [self, i, s] { self->sent(i, s); });
      };
      auto started =
          service_.host.notify_send(sender_, message_.rcpt_to[i], as_bytes(bytes), on_sent);
      if (!started.ok()) sent(i, started);
    }
  }

  void sent(std::size_t i, const sdk::Status& s) {
    if (!s.ok()) {
      outcomes_[i] = s.error().code;
      service_.host.warn("delivery of message " + hex(stored_.ref.message_id) + " from " + sender_ +
                         " to " + message_.rcpt_to[i] + " failed: " + s.error().message);
    }
    if (--waiting_ > 0) return;
    std::size_t ok = 0, temp = 0, unknown = 0;
    for (post_status code : outcomes_) {
      if (code == POST_OK) {
        ++ok;
      } else if (temporary(code)) {
        ++temp;
      } else if (code == POST_ERR_NOT_FOUND) {
        ++unknown;
      }
    }
    std::string id = hex(stored_.ref.message_id);
    if (temp > 0) {
      return finish(SmtpVerdict::temporary_failure(
          "some recipients cannot be reached now, try again later", "4.3.0"));
    }
    if (ok == 0) {
      SmtpVerdict v = SmtpVerdict::permanent_failure(
          unknown == outcomes_.size() ? "no such user" : "delivery refused", "5.1.1");
      v.code = 550;
      return finish(v);
    }
    if (ok < outcomes_.size()) {
      service_.host.error("message " + id + " from " + sender_ + " reached " + std::to_string(ok) +
                          " of " + std::to_string(outcomes_.size()) +
                          " recipients; the others refused it for good (no bounce is sent "
                          "yet)");
    }
    service_.host.info("sent message " + id + " from " + sender_ + " to " + std::to_string(ok) +
                       " recipient(s)");
    service_.host.counter_add("sent");
    finish(SmtpVerdict::queued(id.substr(0, 16)));
    // The sender's copy.
    store::Insert copy;
    copy.message = stored_.ref;
    copy.message.internal_date = static_cast<std::int64_t>(std::time(nullptr));
    copy.message.sender = sender_;
    copy.flags.system = store::kSeen;
    if (MailAccount* account = service_.account(sender_)) {
      file_message(service_, *account, std::string(kSentFolder), std::move(copy));
    }
  }

  void finish(const SmtpVerdict& verdict) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(verdict);
  }

  Service& service_;
  std::string sender_;
  MessageReceived message_;
  std::vector<std::string> expanded_;  // recipients after list expansion
  Done done_;
  StoredMessage stored_;
  std::vector<post_status> outcomes_;
  std::size_t waiting_ = 0;
};

// A client connection on the plugin's thread: reads into its engine and writes what the
// engine says, in order. The protocols differ only in how bytes are handed over (feed) and
// how output and events are taken from the engine (pump).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Service& service, tcp::socket socket)
      : service_(service), socket_(std::move(socket)) {}
  virtual ~Connection() = default;

  // Sends the engine's greeting and starts reading.
  virtual void begin() { answered(); }

  // Implicit TLS (RFC 8314): the handshake first, then the protocol's greeting.
  void begin_after_tls() {
    tls_done_ = [self = shared_from_this()](bool ok) {
      if (!ok) return self->close();
      self->begin();
    };
    handshake();
  }

  // Called once, on the plugin's loop, after the connection closed: its owner lets it go.
  void on_closed(std::function<void(Connection*)> closed) { on_closed_ = std::move(closed); }

  void close() {
    closing_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (on_closed_) {
      // Not now: a handler of this connection may be on the stack.
      asio::post(socket_.get_executor(), [closed = std::move(on_closed_), this] { closed(this); });
      on_closed_ = nullptr;
    }
  }

 protected:
  // Hands received bytes to the engine.
  virtual void feed(std::string_view bytes) = 0;
  // Sends the engine's output, acts on its events, and closes once it has ended and all is
  // written (close_when_sent).
  virtual void pump() = 0;
  virtual bool wants_input() const = 0;
  // After the last queued write: close the connection if the engine has ended.
  virtual bool finished() const = 0;

  void read() {
    if (reading_ || closing_ || !wants_input()) return;
    reading_ = true;
    auto self = shared_from_this();
    auto on_read = [self](boost::system::error_code ec, std::size_t n) {
      self->reading_ = false;
      if (ec) return self->close();
      self->feed(std::string_view(self->buffer_.data(), n));
      self->pump();
      self->read();
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(buffer_), on_read);
    } else {
      socket_.async_read_some(asio::buffer(buffer_), on_read);
    }
  }

  // The engine has something to say (an answer to one of its questions came, or its greeting):
  // send it, and read on if it wants input.
  void answered() {
    pump();
    read();
  }

  // Runs the TLS handshake once everything queued is written (the engine's "go ahead" reply
  // goes out in plaintext); `done` gets whether it worked. The engine reads nothing meanwhile.
  void start_tls(std::function<void(bool)> done) {
    tls_done_ = std::move(done);
    // Output the engine produced with the request is queued after this call returns.
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->outbox_.empty() && self->tls_done_) self->handshake();
    });
  }

  void write(std::string bytes) {
    if (bytes.empty() || closing_) return;
    outbox_.push_back(std::move(bytes));
    if (outbox_.size() == 1) write_next();
  }

  // Closes once everything queued is written, if the engine has finished.
  void close_when_sent() {
    if (outbox_.empty() && finished()) close();
  }

  std::string peer() const {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    return ec ? "?" : ep.address().to_string();
  }

  Service& service_;

 private:
  void write_next() {
    auto self = shared_from_this();
    auto on_written = [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->outbox_.pop_front();
      if (!self->outbox_.empty()) return self->write_next();
      if (self->tls_done_) return self->handshake();
      self->close_when_sent();
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(outbox_.front()), on_written);
    } else {
      asio::async_write(socket_, asio::buffer(outbox_.front()), on_written);
    }
  }

  void handshake() {
    auto done = std::move(tls_done_);
    tls_done_ = nullptr;
    if (closing_ || tls_ || !service_.tls) return done(false);
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *service_.tls);
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this(), done](boost::system::error_code ec) {
                            if (ec) {
                              self->service_.host.warn("TLS handshake with a client on " +
                                                       self->peer() + " failed: " + ec.message());
                            }
                            done(!ec);
                          });
  }

  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;  // after STARTTLS / STLS
  std::function<void(bool)> tls_done_;                    // a handshake waits for the outbox
  std::function<void(Connection*)> on_closed_;
  std::array<char, kReadChunkBytes> buffer_{};
  std::deque<std::string> outbox_;
  bool reading_ = false;
  bool closing_ = false;
};

class SmtpConnection final : public Connection {
 public:
  SmtpConnection(Service& service, tcp::socket socket, SmtpOptions options)
      : Connection(service, std::move(socket)), session_(std::move(options)) {}

 private:
  void feed(std::string_view bytes) override { session_.feed(bytes); }
  bool wants_input() const override { return !session_.awaiting_answer() && !ended_; }
  bool finished() const override { return ended_; }

  void pump() override {
    if (session_.has_output()) write(session_.take_output());
    while (auto event = session_.next_event()) {
      std::visit([this](auto& e) { on(e); }, *event);
    }
    if (session_.has_output()) write(session_.take_output());
    close_when_sent();
  }

  void on(AuthRequest& r) {
    std::string user = to_ascii_lower(r.user);
    bool ok = (r.authzid.empty() || to_ascii_lower(r.authzid) == user) &&
              service_.check_password(user, r.password);
    std::fill(r.password.begin(), r.password.end(), '\0');
    if (!ok) service_.host.warn("SMTP AUTH failed for a client on " + peer());
    session_.auth_result(ok);
  }

  // Recipients in the deployment's domains go through POST (an unknown one is refused after
  // DATA, when notify_send has looked it up); mail for any other domain would need the SMTP
  // bridge, which this plugin does not have.
  void on(RcptRequest& r) {
    auto at = r.address.rfind('@');
    std::string domain = at == std::string::npos ? "" : to_ascii_lower(r.address.substr(at + 1));
    if (service_.settings.local_domains.contains(domain)) {
      return session_.rcpt_result(SmtpVerdict::accept());
    }
    SmtpVerdict v = SmtpVerdict::permanent_failure(
        "mail to " + (domain.empty() ? std::string("that address") : domain) +
            " would leave ePOST, and this node has no SMTP bridge",
        "5.7.1");
    v.code = 550;
    session_.rcpt_result(v);
  }

  void on(MessageReceived& m) {
    std::string user = to_ascii_lower(session_.authenticated_user());
    if (!m.mail_from.empty() && to_ascii_lower(m.mail_from) != user) {
      SmtpVerdict v = SmtpVerdict::permanent_failure(
          "the sender address must be the authenticated user's", "5.7.1");
      v.code = 553;
      service_.host.warn("refused a message from " + user + " with MAIL FROM another address");
      session_.message_result(v);
      return;
    }
    // The delivery keeps the connection alive: no read is pending while it runs.
    auto self = std::static_pointer_cast<SmtpConnection>(shared_from_this());
    auto delivery = std::make_shared<Delivery>(service_, user, std::move(m),
                                               [self](const SmtpVerdict& verdict) {
                                                 self->session_.message_result(verdict);
                                                 self->answered();
                                               });
    delivery->run();
  }

  void on(StartTls&) {
    auto self = std::static_pointer_cast<SmtpConnection>(shared_from_this());
    start_tls([self](bool ok) {
      if (!ok) return self->close();
      self->session_.tls_started();
      self->answered();
    });
  }
  void on(Close&) { ended_ = true; }

  SmtpSession session_;
  bool ended_ = false;
};

class ImapConnection final : public Connection {
 public:
  ImapConnection(Service& service, tcp::socket socket, ImapSessionOptions options)
      : Connection(service, std::move(socket)), session_(service, std::move(options)) {}

  void begin() override {
    std::weak_ptr<Connection> weak = shared_from_this();
    session_.set_wake([this, weak] {
      if (!weak.expired()) answered();
    });
    session_.set_start_tls([this, weak] {
      if (weak.expired()) return;
      start_tls([this, weak](bool ok) {
        if (weak.expired()) return;
        session_.tls_started(ok);
        if (!ok) return close();
        answered();
      });
    });
    session_.start();
    answered();
  }

 private:
  void feed(std::string_view bytes) override { session_.feed(bytes); }
  bool wants_input() const override { return session_.wants_input(); }
  bool finished() const override { return session_.closed(); }

  void pump() override {
    if (session_.has_output()) write(session_.take_output());
    close_when_sent();
  }

  ImapSession session_;
};

class Pop3Connection final : public Connection {
 public:
  Pop3Connection(Service& service, tcp::socket socket, Pop3Options options)
      : Connection(service, std::move(socket)), session_(std::move(options)) {}

  ~Pop3Connection() override { release(); }

 private:
  void feed(std::string_view bytes) override { session_.feed(bytes); }
  bool wants_input() const override { return !session_.awaiting_answer() && !session_.closed(); }
  bool finished() const override { return session_.closed(); }

  void pump() override {
    while (true) {
      if (session_.has_output()) {
        write(session_.take_output());
      } else if (auto event = session_.next_event()) {
        std::visit([this](auto& e) { on(e); }, *event);
      } else {
        break;
      }
    }
    close_when_sent();
  }

  void release() {
    if (!locked_.empty()) service_.pop3_locked.erase(locked_);
    locked_.clear();
  }

  void on(Pop3Login& login) {
    std::string user = to_ascii_lower(login.user);
    bool ok = service_.check_password(user, login.password);
    std::fill(login.password.begin(), login.password.end(), '\0');
    MailAccount* account = ok ? service_.account(user) : nullptr;
    if (account == nullptr) {
      service_.host.warn("POP3 login failed for a client on " + peer());
      return session_.login_result(Pop3LoginFailure::kInvalidCredentials);
    }
    if (service_.pop3_locked.contains(user)) {
      return session_.login_result(Pop3LoginFailure::kMaildropInUse);
    }
    service_.pop3_locked.insert(user);
    locked_ = user;
    auto self = std::static_pointer_cast<Pop3Connection>(shared_from_this());
    account->open([self, account](IoResult<void> r) {
      auto uv = r.ok() ? account->mailbox().uidvalidity(store::kInboxName) : std::nullopt;
      if (!uv) {
        self->release();
        self->session_.login_result(Pop3LoginFailure::kTemporary);
        return self->answered();
      }
      account->open_folder(*uv, [self, account](IoResult<store::Folder*> f) {
        if (!f.ok()) {
          self->release();
          self->session_.login_result(Pop3LoginFailure::kTemporary);
          return self->answered();
        }
        self->account_ = account;
        self->uidvalidity_ = (*f)->uidvalidity();
        Pop3Maildrop drop;
        for (const auto& m : (*f)->messages()) {
          self->messages_.push_back(m);
          drop.messages.push_back(Pop3Message{
              m.ref.size, std::to_string(self->uidvalidity_) + "." + std::to_string(m.uid)});
        }
        self->session_.login_result(std::move(drop));
        self->answered();
      });
    });
  }

  void on(Pop3Retrieve& r) {
    if (r.message == 0 || r.message > messages_.size()) {
      return session_.retrieve_result(Pop3RetrieveFailure::kPermanent);
    }
    auto self = std::static_pointer_cast<Pop3Connection>(shared_from_this());
    service_.message_loader.load(
        messages_[r.message - 1].ref, true,
        [self](IoResult<std::shared_ptr<const LoadedMessage>> loaded) {
          if (!loaded.ok()) {
            self->session_.retrieve_result(loaded.error().temporary
                                               ? Pop3RetrieveFailure::kTemporary
                                               : Pop3RetrieveFailure::kPermanent);
          } else {
            self->session_.retrieve_result(*(*loaded)->message);
          }
          self->answered();
        });
  }

  void on(Pop3Commit& c) {
    std::vector<std::uint32_t> uids;
    for (std::size_t n : c.deleted) {
      if (n >= 1 && n <= messages_.size()) uids.push_back(messages_[n - 1].uid);
    }
    if (uids.empty() || account_ == nullptr) {
      release();
      return session_.commit_result(true);
    }
    auto self = std::static_pointer_cast<Pop3Connection>(shared_from_this());
    account_->append_to_folder(uidvalidity_, store::Expunge{store::UidSet::of(uids)},
                               [self](IoResult<void> r) {
                                 self->release();
                                 self->session_.commit_result(r.ok());
                                 self->answered();
                               });
  }

  void on(Pop3Close&) { release(); }

  void on(Pop3StartTls&) {
    auto self = std::static_pointer_cast<Pop3Connection>(shared_from_this());
    start_tls([self](bool ok) {
      self->session_.tls_started(ok);
      self->answered();
    });
  }

  Pop3Session session_;
  MailAccount* account_ = nullptr;
  std::uint32_t uidvalidity_ = 0;
  std::vector<store::Message> messages_;  // the maildrop as listed at login
  std::string locked_;
};

// A TLS server context from PEM files: TLS 1.2 and later.
std::unique_ptr<asio::ssl::context> tls_context(const std::string& certificate,
                                                const std::string& key) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  if (!ec) context->use_certificate_chain_file(certificate, ec);
  if (ec) {
    throw sdk::Exception(POST_ERR_INVALID_ARGUMENT,
                         "tls_certificate " + certificate + ": " + ec.message());
  }
  context->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) throw sdk::Exception(POST_ERR_INVALID_ARGUMENT, "tls_key " + key + ": " + ec.message());
  return context;
}

class Email final : public sdk::Plugin {
 public:
  explicit Email(Host& host) : Plugin(host), service_(host) {
    Settings& s = service_.settings;
    s.hostname = host.config_string_or("hostname", "localhost").value_or_throw();
    if (s.hostname.empty() || s.hostname.size() > kMaxHostnameBytes) {
      throw sdk::Exception(POST_ERR_INVALID_ARGUMENT, "hostname must be 1 to 255 bytes");
    }
    std::int64_t max =
        host.config_int_or("max_message_bytes", static_cast<std::int64_t>(kDefaultMaxMessageBytes))
            .value_or_throw();
    if (max < 1 || static_cast<std::uint64_t>(max) > kMaxMessageBytes) {
      throw sdk::Exception(POST_ERR_INVALID_ARGUMENT,
                           "max_message_bytes must be 1 to " + std::to_string(kMaxMessageBytes));
    }
    s.max_message_bytes = static_cast<std::size_t>(max);
    auto passwd = host.config_string("passwd_file");
    if (!passwd.ok()) {
      throw sdk::Exception(POST_ERR_INVALID_ARGUMENT,
                           "passwd_file is required: " + passwd.error().message);
    }
    s.users = read_passwd_file(*passwd);
    // local_domains: the deployment's mail domains; by default those of the passwd file.
    std::string domains = host.config_string_or("local_domains", "").value_or_throw();
    for (char& c : domains) c = c == ',' ? ' ' : c;
    std::istringstream words(domains);
    for (std::string d; words >> d;) s.local_domains.insert(to_ascii_lower(d));
    if (s.local_domains.empty()) {
      for (const auto& [user, hash] : s.users) {
        s.local_domains.insert(user.substr(user.rfind('@') + 1));
      }
    }
    s.tls_certificate = host.config_string_or("tls_certificate", "").value_or_throw();
    s.tls_key = host.config_string_or("tls_key", "").value_or_throw();
    if (s.tls_certificate.empty() != s.tls_key.empty()) {
      throw sdk::Exception(POST_ERR_INVALID_ARGUMENT,
                           "tls_certificate and tls_key go together: give both or neither");
    }
    if (!s.tls_certificate.empty()) service_.tls = tls_context(s.tls_certificate, s.tls_key);
    auto gmime = ensure_gmime_initialised();
    if (!gmime) throw sdk::Exception(POST_ERR_UNAVAILABLE, gmime.error().detail);
    listen("smtp_listen", "127.0.0.1:2025", Protocol::kSmtp, false);
    listen("imap_listen", "127.0.0.1:1143", Protocol::kImap, false);
    listen("pop3_listen", "", Protocol::kPop3, false);
    // Implicit TLS (RFC 8314): off unless set, and only with a certificate.
    listen("submissions_listen", "", Protocol::kSmtp, true);
    listen("imaps_listen", "", Protocol::kImap, true);
    listen("pop3s_listen", "", Protocol::kPop3, true);
    host.on_notification([this](const sdk::Notification& n) { received(n); }).or_throw();
    // postctl command <entry> ... (ABI 1.1); an older host has no command channel.
    auto admin = host.on_admin_command([this](std::uint64_t request, std::vector<std::string> args) {
      asio::post(service_.loop, [this, request, args = std::move(args)] {
        run_admin_command(service_, args, [this, request](const AdminAnswer& a) {
          service_.host.admin_reply(request, a.ok ? POST_OK : POST_ERR_FAILED, a.text);
        });
      });
    });
    if (!admin.ok()) host.warn("no operator commands: " + admin.error().message);
  }

  ~Email() override { stop(); }

  void start() override {
    if (thread_.joinable()) return;
    service_.loop.restart();
    work_.emplace(service_.loop.get_executor());
    thread_ = std::thread([this] {
      try {
        service_.loop.run();
      } catch (const std::exception& e) {
        service_.host.error(std::string("email loop ended: ") + e.what());
      }
    });
    std::string ports;
    for (const auto& l : listeners_) {
      ports +=
          (ports.empty() ? "" : ", ") + l.name + " on port " + std::to_string(l.listener.port());
    }
    host().info(std::string("email ") + EMAIL_VERSION + " serving " + ports + " for " +
                std::to_string(service_.settings.users.size()) + " user(s)");
  }

  void drain() override { join(); }

  void stop() override {
    join();
    // Close every connection and drop handlers still queued.
    auto connections = std::move(connections_);
    connections_.clear();
    for (auto& [raw, conn] : connections) conn->close();
  }

 private:
  enum class Protocol { kSmtp, kImap, kPop3 };

  // Listens where `key` says (its default when absent; nothing when the address is ""). With
  // `implicit_tls`, connections start with the TLS handshake.
  void listen(const char* key, const char* fallback, Protocol protocol, bool implicit_tls) {
    std::string address = host().config_string_or(key, fallback).value_or_throw();
    if (address.empty()) return;
    if (implicit_tls && !service_.tls) {
      throw sdk::Exception(POST_ERR_INVALID_ARGUMENT,
                           std::string(key) + " needs tls_certificate and tls_key");
    }
    auto listener = host().listen(
        address, [this, protocol, implicit_tls](int fd) { accepted(fd, protocol, implicit_tls); });
    if (!listener.ok()) {
      throw sdk::Exception(listener.error().code,
                           std::string(key) + " " + address + ": " + listener.error().message);
    }
    std::string name = protocol == Protocol::kSmtp   ? "SMTP"
                       : protocol == Protocol::kImap ? "IMAP"
                                                     : "POP3";
    if (implicit_tls) name += "S";
    std::string gauge = std::string(key).substr(0, std::string(key).find('_')) + "_port";
    host().gauge_set(gauge, listener->port());
    listeners_.push_back(NamedListener{name, std::move(*listener)});
  }

  void join() {
    work_.reset();
    service_.loop.stop();
    if (thread_.joinable()) thread_.join();
  }

  // On the executor: hand the descriptor to the plugin's loop.
  void accepted(int fd, Protocol protocol, bool implicit_tls) {
    asio::post(service_.loop, [this, fd, protocol, implicit_tls] {
      boost::system::error_code ec;
      tcp::socket socket(service_.loop);
      sockaddr_storage local{};
      socklen_t length = sizeof(local);
      bool v4 = ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
                local.ss_family == AF_INET;
      socket.assign(v4 ? tcp::v4() : tcp::v6(), fd, ec);
      if (ec) {
        ::close(fd);
        return;
      }
      auto peer = socket.remote_endpoint(ec);
      bool loopback = !ec && peer.address().is_loopback();
      const Settings& s = service_.settings;
      std::shared_ptr<Connection> conn;
      switch (protocol) {
        case Protocol::kSmtp: {
          SmtpOptions options;
          options.hostname = s.hostname;
          options.max_message_bytes = s.max_message_bytes;
          options.loopback = loopback;
          options.tls_available = service_.tls != nullptr;
          options.tls_active = implicit_tls;
          conn = std::make_shared<SmtpConnection>(service_, std::move(socket), options);
          break;
        }
        case Protocol::kImap: {
          ImapSessionOptions options;
          options.hostname = s.hostname;
          options.loopback = loopback;
          options.tls_available = service_.tls != nullptr;
          options.tls_active = implicit_tls;
          options.limits.max_append_literal_bytes = s.max_message_bytes;
          conn = std::make_shared<ImapConnection>(service_, std::move(socket), options);
          break;
        }
        case Protocol::kPop3: {
          Pop3Options options;
          options.hostname = s.hostname;
          options.loopback = loopback;
          options.tls_available = service_.tls != nullptr;
          options.tls_active = implicit_tls;
          conn = std::make_shared<Pop3Connection>(service_, std::move(socket), options);
          break;
        }
      }
      // The plugin owns its connections (a session waiting for POST has no I/O pending to
      // keep it alive) until they close.
      connections_[conn.get()] = conn;
      conn->on_closed([this](Connection* closed) { connections_.erase(closed); });
      if (implicit_tls) {
        conn->begin_after_tls();
      } else {
        conn->begin();
      }
    });
  }

  // On the executor: a notification for a user this node serves. Decoded here, filed on the
  // plugin's loop (the accounts live there).
  void received(const sdk::Notification& n) {
    std::string why;
    auto payload = decode_payload(sdk::to_string_view(n.payload), &why);
    if (!payload) {
      host().warn("dropped an email notification from " + n.sender + " to " + n.recipient + ": " +
                  why);
      host().counter_add("dropped");
      return;
    }
    store::Insert insert;
    insert.message.message_id = payload->message_id;
    insert.message.internal_date = static_cast<std::int64_t>(std::time(nullptr));
    insert.message.sender = to_ascii_lower(n.sender);
    // The message gets a header naming the sender the host verified.
    auto layout = verified_sender_layout(insert.message.sender, payload->layout);
    std::uint64_t size =
        std::uint64_t{payload->size} + verified_sender_header(insert.message.sender).size();
    if (!layout || size > 0xffffffffu) {
      host().warn("dropped an email notification from " + n.sender + " to " + n.recipient +
                  ": the layout is not one a sender may send");
      host().counter_add("dropped");
      return;
    }
    insert.message.size = static_cast<std::uint32_t>(size);
    insert.message.layout = std::move(*layout);
    insert.message.parts = payload->parts;
    auto valid = store::validate(store::MailRecord(insert));
    if (!valid.ok()) {
      host().warn("dropped an email notification from " + n.sender + " to " + n.recipient + ": " +
                  valid.error().detail);
      host().counter_add("dropped");
      return;
    }
    std::string recipient = to_ascii_lower(n.recipient);
    std::string id = hex(payload->message_id);
    asio::post(service_.loop, [this, recipient, id, insert = std::move(insert)]() mutable {
      MailAccount* account = service_.recipient_account(recipient);
      account->open([this, account, recipient, id, insert = std::move(insert)](IoResult<void> r) {
        Host& h = host();
        if (!r.ok()) {
          h.error("could not read " + recipient + "'s folders for message " + id + ": " +
                  r.error().message);
          return;
        }
        if (account->mailbox().is_blocked(insert.message.sender)) {
          h.info("dropped message " + id + " to " + recipient + ": " + insert.message.sender +
                 " is on the block list");
          h.counter_add("blocked");
          return;
        }
        auto uv = account->mailbox().uidvalidity(store::kInboxName);
        account->append_to_folder(
            *uv, insert, [&h, account, id, recipient, uv = *uv](IoResult<void> a) {
              if (!a.ok()) {
                h.error("could not append message " + id + " to " + recipient +
                        "'s INBOX: " + a.error().message);
                return;
              }
              h.counter_add("delivered");
              auto index = account->loaded_folder(uv)->last_applied_index();
              h.info("delivered message " + id + " to " + recipient + "'s INBOX at log index " +
                     std::to_string(index.value_or(0)));
            });
      });
    });
  }

  struct NamedListener {
    std::string name;  // "IMAP", "IMAPS", ...
    sdk::Listener listener;
  };

  Service service_;
  std::vector<NamedListener> listeners_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;  // only on the plugin's thread
};

}  // namespace
}  // namespace post::email

POST_PLUGIN(post::email::Email, "email", EMAIL_VERSION)
