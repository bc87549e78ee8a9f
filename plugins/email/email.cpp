// email: the ePOST plugin, first slice (docs/protocol/email.md). SMTP submission on a socket
// the host listens on, driven by SmtpSession on an Asio loop of the plugin's own thread; a
// message is decomposed (mime/), its leaf bodies and, when large, its layout are put in the
// secure store, and a notification (delivery_payload.h) goes to each recipient's node, which
// appends an Insert to the recipient's INBOX log ("folder/1", store/).
//
// Config: smtp_listen ("127.0.0.1:2025"), hostname ("localhost"), passwd_file (required; lines
// "email:{CRYPT}<crypt(3) hash>"), max_message_bytes (25 MiB).
//
// Threads: the host calls the vtable and every callback on its executor; SMTP connections live
// on the plugin's thread only. Host completions for a connection are posted to that thread
// before they touch the session. Receiving runs on the executor entirely.
//
// Not in this slice: TLS (AUTH works on loopback only, as SmtpSession enforces), IMAP, the
// Sent folder, bounces, the recipient-side block list, handing open SMTP connections over on a
// reload (drain keeps them; the new version does not take them; the old one closes them).
#include <crypt.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cctype>
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
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "plugins/email/delivery_payload.h"
#include "plugins/email/mime/gmime_runtime.h"
#include "plugins/email/mime/mime_decompose.h"
#include "plugins/email/smtp/smtp_session.h"
#include "plugins/email/store/mail_record.h"
#include "post/sdk.hpp"

#ifndef EMAIL_VERSION
#define EMAIL_VERSION "0.1.0"
#endif

namespace post::email {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using sdk::Host;

// The INBOX's log (store/FORMAT.md): INBOX is created with UIDVALIDITY 1.
constexpr std::uint32_t kInboxUidValidity = 1;
// A passwd file larger than this is refused: it lists the few users of one node.
constexpr std::uintmax_t kMaxPasswdFileBytes = 1 << 20;
// Bytes read from a client per read call.
constexpr std::size_t kReadChunkBytes = 16 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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
    std::string email = lower(line.substr(0, colon));
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

Digest to_digest(const sdk::Bytes& b) {
  Digest d{};
  std::copy_n(b.begin(), std::min(b.size(), d.size()), d.begin());
  return d;
}

bool temporary(post_status code) {
  return code != POST_ERR_NOT_FOUND && code != POST_ERR_INVALID_ARGUMENT &&
         code != POST_ERR_TOO_LARGE;
}

struct Settings {
  std::string hostname;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  std::map<std::string, std::string> users;  // passwd file
};

class SmtpConnection;

// What the SMTP side needs of the plugin: settings and the host.
struct Service {
  Host& host;
  Settings settings;
  asio::io_context io;
};

// One delivery in flight: stores the bodies (and a large layout), then notifies each
// recipient, then answers the session. Lives on the plugin's thread; host completions are
// posted back to it.
class Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  using Done = std::function<void(const SmtpVerdict&)>;

  Delivery(Service& service, std::string sender, MessageReceived message, Done done)
      : service_(service),
        sender_(std::move(sender)),
        message_(std::move(message)),
        done_(std::move(done)) {}

  void run() {
    auto decomposed = decompose(message_.data);
    if (!decomposed) {
      return finish(
          SmtpVerdict::permanent_failure("message refused: " + decomposed.error().detail, "5.6.0"));
    }
    decomposed_ = std::move(*decomposed);
    if (decomposed_.bodies.size() > kMaxPayloadParts) {
      return finish(SmtpVerdict::permanent_failure("too many MIME parts", "5.3.4"));
    }
    payload_.message_id = sha256(normalise_line_endings(message_.data));
    payload_.size = static_cast<std::uint32_t>(decomposed_.layout.size);
    payload_.sent_at = static_cast<std::int64_t>(std::time(nullptr));
    payload_.mail_from = sender_;
    const Envelope& env = decomposed_.layout.envelope;
    auto join = [](const std::vector<MailAddress>& list) {
      std::string out;
      for (const auto& a : list) out += (out.empty() ? "" : ", ") + a.address;
      return out;
    };
    payload_.from = join(env.from);
    payload_.to = join(env.to);
    payload_.subject = env.subject;
    payload_.date = env.date;
    payload_.message_id_header = env.message_id;
    std::string layout = flatten_layout(decomposed_.layout);
    payload_.parts.resize(decomposed_.bodies.size());
    pending_ = 0;
    for (std::size_t i = 0; i < decomposed_.bodies.size(); ++i) {
      // An empty body is not stored: its handle and key stay zero.
      if (failed_) return;
      if (decomposed_.bodies[i].empty()) continue;
      put(decomposed_.bodies[i], [this, i](const StoredRef& ref) { payload_.parts[i] = ref; });
    }
    if (layout.size() <= kMaxInlineLayoutBytes) {
      payload_.inline_layout = std::move(layout);
    } else {
      put(layout, [this](const StoredRef& ref) { payload_.stored_layout = ref; });
    }
    if (pending_ == 0 && !failed_) notify_all();
  }

 private:
  // Stores `content`; `take` records the reference on the plugin's thread.
  void put(const std::string& content, std::function<void(const StoredRef&)> take) {
    ++pending_;
    auto self = shared_from_this();
    auto on_done = [self, take](sdk::Result<sdk::StoredContent> r) {
      asio::post(self->service_.io, [self, take, r = std::move(r)] {
        if (r.ok()) {
          take(StoredRef{to_digest(r.value().handle), to_digest(r.value().key)});
        } else {
          self->store_failed(r.error().message);
        }
        if (--self->pending_ == 0 && !self->failed_) self->notify_all();
      });
    };
    auto started = service_.host.store_put(
        std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()), on_done);
    if (!started.ok()) {
      --pending_;
      store_failed(started.error().message);
    }
  }

  void store_failed(const std::string& why) {
    if (failed_) return;
    failed_ = true;
    service_.host.warn("store_put failed for a message from " + sender_ + ": " + why);
    finish(
        SmtpVerdict::temporary_failure("cannot store the message now, try again later", "4.3.0"));
  }

  void notify_all() {
    std::string bytes = encode_payload(payload_);
    std::span<const std::uint8_t> span(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                       bytes.size());
    if (message_.rcpt_to.empty()) {
      return finish(SmtpVerdict::permanent_failure("no valid recipients", "5.5.1"));
    }
    outcomes_.assign(message_.rcpt_to.size(), POST_OK);
    waiting_ = message_.rcpt_to.size();
    auto self = shared_from_this();
    for (std::size_t i = 0; i < message_.rcpt_to.size(); ++i) {
      auto on_sent = [self, i](sdk::Status s) {
        asio::post(self->service_.io, [self, i, s] { self->sent(i, s); });
      };
      auto started = service_.host.notify_send(sender_, message_.rcpt_to[i], span, on_sent);
      if (!started.ok()) sent(i, started);
    }
  }

  void sent(std::size_t i, const sdk::Status& s) {
    if (!s.ok()) {
      outcomes_[i] = s.error().code;
      service_.host.warn("delivery of message " + hex(payload_.message_id) + " from " + sender_ +
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
    std::string id = hex(payload_.message_id);
    if (temp > 0) {
      return finish(
          SmtpVerdict::temporary_failure("some recipients cannot be reached now, try "
                                         "again later",
                                         "4.3.0"));
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
  Done done_;
  DecomposedMessage decomposed_;
  DeliveryPayload payload_;
  std::size_t pending_ = 0;
  bool failed_ = false;
  std::vector<post_status> outcomes_;
  std::size_t waiting_ = 0;
};

// One SMTP client, on the plugin's thread.
class SmtpConnection : public std::enable_shared_from_this<SmtpConnection> {
 public:
  SmtpConnection(Service& service, tcp::socket socket, SmtpOptions options)
      : service_(service), socket_(std::move(socket)), session_(std::move(options)) {}

  void begin() {
    pump();
    read();
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void read() {
    if (reading_ || closing_) return;
    reading_ = true;
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buffer_),
                            [self](boost::system::error_code ec, std::size_t n) {
                              self->reading_ = false;
                              if (ec) return self->close();
                              self->session_.feed(std::string_view(self->buffer_.data(), n));
                              self->pump();
                              if (!self->session_.awaiting_answer()) self->read();
                            });
  }

  // Sends the session's output and acts on its events.
  void pump() {
    if (session_.has_output()) write(session_.take_output());
    while (auto event = session_.next_event()) {
      std::visit([this](auto& e) { on(e); }, *event);
    }
    if (session_.has_output()) write(session_.take_output());
  }

  void answered() {
    pump();
    if (!session_.closed()) read();
  }

  void write(std::string bytes) {
    outbox_.push_back(std::move(bytes));
    if (outbox_.size() == 1) write_next();
  }

  void write_next() {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      [self](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->outbox_.pop_front();
                        if (!self->outbox_.empty()) {
                          self->write_next();
                        } else if (self->closing_) {
                          self->close();
                        }
                      });
  }

  void on(AuthRequest& r) {
    std::string user = lower(r.user);
    bool ok = (r.authzid.empty() || lower(r.authzid) == user);
    auto known = service_.settings.users.find(user);
    ok =
        ok && known != service_.settings.users.end() && password_matches(r.password, known->second);
    std::fill(r.password.begin(), r.password.end(), '\0');
    if (!ok) service_.host.warn("SMTP AUTH failed for a client on " + peer());
    session_.auth_result(ok);
  }

  void on(RcptRequest&) { session_.rcpt_result(SmtpVerdict::accept()); }

  void on(MessageReceived& m) {
    std::string user = lower(session_.authenticated_user());
    if (!m.mail_from.empty() && lower(m.mail_from) != user) {
      SmtpVerdict v = SmtpVerdict::permanent_failure(
          "the sender address must be the authenticated user's", "5.7.1");
      v.code = 553;
      service_.host.warn("refused a message from " + user + " with MAIL FROM another address");
      session_.message_result(v);
      return;
    }
    // The delivery keeps the connection alive: no read is pending while it runs.
    auto delivery = std::make_shared<Delivery>(
        service_, user, std::move(m), [self = shared_from_this()](const SmtpVerdict& verdict) {
          self->session_.message_result(verdict);
          self->answered();
        });
    delivery->run();
  }

  void on(StartTls&) { closing_ = true; }  // never offered: tls_available is false
  void on(Close&) {
    closing_ = true;
    if (outbox_.empty()) close();
  }

  std::string peer() const {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    return ec ? "?" : ep.address().to_string();
  }

  Service& service_;
  tcp::socket socket_;
  SmtpSession session_;
  std::array<char, kReadChunkBytes> buffer_{};
  std::deque<std::string> outbox_;
  bool reading_ = false;
  bool closing_ = false;
};

class Email final : public sdk::Plugin {
 public:
  explicit Email(Host& host) : Plugin(host), service_{host, {}, {}} {
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
    auto gmime = ensure_gmime_initialised();
    if (!gmime) throw sdk::Exception(POST_ERR_UNAVAILABLE, gmime.error().detail);
    std::string address = host.config_string_or("smtp_listen", "127.0.0.1:2025").value_or_throw();
    listener_ = std::move(host.listen(address, [this](int fd) { accepted(fd); }).value_or_throw());
    host.gauge_set("smtp_port", listener_.port());
    host.on_notification([this](const sdk::Notification& n) { received(n); }).or_throw();
  }

  ~Email() override { stop(); }

  void start() override {
    if (thread_.joinable()) return;
    service_.io.restart();
    work_.emplace(service_.io.get_executor());
    thread_ = std::thread([this] {
      try {
        service_.io.run();
      } catch (const std::exception& e) {
        service_.host.error(std::string("SMTP loop ended: ") + e.what());
      }
    });
    host().info(std::string("email ") + EMAIL_VERSION + " serving SMTP on port " +
                std::to_string(listener_.port()) + " for " +
                std::to_string(service_.settings.users.size()) + " user(s)");
  }

  void drain() override { join(); }

  void stop() override {
    join();
    // Close every connection and drop handlers still queued.
    for (auto& c : connections_) {
      if (auto conn = c.lock()) conn->close();
    }
    connections_.clear();
  }

 private:
  void join() {
    work_.reset();
    service_.io.stop();
    if (thread_.joinable()) thread_.join();
  }

  // On the executor: hand the descriptor to the SMTP loop.
  void accepted(int fd) {
    asio::post(service_.io, [this, fd] {
      boost::system::error_code ec;
      tcp::socket socket(service_.io);
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
      SmtpOptions options;
      options.hostname = service_.settings.hostname;
      options.max_message_bytes = service_.settings.max_message_bytes;
      options.loopback = !ec && peer.address().is_loopback();
      auto conn = std::make_shared<SmtpConnection>(service_, std::move(socket), options);
      std::erase_if(connections_, [](const auto& w) { return w.expired(); });
      connections_.push_back(conn);
      conn->begin();
    });
  }

  // On the executor: a notification for a user this node serves.
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
    insert.message.size = payload->size;
    insert.message.internal_date = static_cast<std::int64_t>(std::time(nullptr));
    insert.message.sender = lower(n.sender);
    if (payload->inline_layout) {
      insert.message.layout = "I" + *payload->inline_layout;
    } else {
      insert.message.layout = "S";
      insert.message.layout.append(
          reinterpret_cast<const char*>(payload->stored_layout.handle.data()), 32);
      insert.message.layout.append(reinterpret_cast<const char*>(payload->stored_layout.key.data()),
                                   32);
    }
    for (const auto& p : payload->parts) insert.message.parts.push_back({p.handle, p.key});
    store::MailRecord record = insert;
    auto valid = store::validate(record);
    if (!valid.ok()) {
      host().warn("dropped an email notification from " + n.sender + " to " + n.recipient + ": " +
                  valid.error().detail);
      host().counter_add("dropped");
      return;
    }
    std::string bytes = store::encode(record);
    std::string id = hex(payload->message_id);
    std::string recipient = n.recipient;
    Host& h = host();
    auto started =
        h.log_append(recipient, store::folder_log_name(kInboxUidValidity),
                     std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                     [&h, id, recipient](sdk::Result<std::uint64_t> r) {
                       if (!r.ok()) {
                         h.error("could not append message " + id + " to " + recipient +
                                 "'s INBOX: " + r.error().message);
                         return;
                       }
                       h.counter_add("delivered");
                       h.info("delivered message " + id + " to " + recipient +
                              "'s INBOX at log index " + std::to_string(*r));
                     });
    if (!started.ok()) {
      host().error("could not append message " + id + " to " + recipient +
                   "'s INBOX: " + started.error().message);
    }
  }

  Service service_;
  sdk::Listener listener_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::vector<std::weak_ptr<SmtpConnection>> connections_;  // only on the plugin's thread
};

}  // namespace
}  // namespace post::email

POST_PLUGIN(post::email::Email, "email", EMAIL_VERSION)
