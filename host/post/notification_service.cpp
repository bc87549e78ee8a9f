#include "host/post/notification_service.h"

#include <algorithm>
#include <chrono>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/past/errors.h"
#include "host/pastry/handle_codec.h"
#include "host/post/errors.h"
#include "host/post/presence.h"
#include "host/post/proto/notify.pb.h"

namespace post::services {

namespace pb = proto::services;
using net::NodeHandle;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("notify");
  return l;
}

// A notification is a few hundred bytes plus its application data.
constexpr std::size_t kMaxNotificationBytes = kMaxAppDataBytes + 4096;
constexpr std::size_t kMaxEmailBytes = 320;

constexpr std::string_view kPuzzleContext = "post-puzzle-v1";

std::string key_hex(ByteView key) {
  return to_hex(key);
}

past::BlockKey held_key(const Id& id) {
  return past::BlockKey{id};
}

past::BlockKey delivered_key(const std::string& email, const Id& id) {
  Bytes material = to_bytes("delivered");
  material.insert(material.end(), email.begin(), email.end());
  material.push_back(0);
  material.insert(material.end(), id.bytes().begin(), id.bytes().end());
  return past::BlockKey{Id::hash_of(material)};
}

// Checks what a Delegate or Hold carries, before anyone keeps it.
Result<NotificationHeader> check_delegate(const pb::Delegate& d) {
  if (d.notification().size() > kMaxNotificationBytes) {
    return make_error(CoreErrc::kBadLength, "notification too large");
  }
  if (d.recipient_email().empty() || d.recipient_email().size() > kMaxEmailBytes) {
    return make_error(CoreErrc::kBadLength, "recipient email missing or too long");
  }
  return peek_notification(as_bytes(d.notification()));
}

// What a delegate keeps of a Delegate or Hold.
pb::HeldNotification held_record(const pb::Delegate& d, std::uint64_t held_since_ms,
                                 std::string key) {
  pb::HeldNotification record;
  record.set_notification(d.notification());
  record.set_recipient_email(d.recipient_email());
  record.set_puzzle_nonce(d.puzzle_nonce());
  record.set_held_since_ms(held_since_ms);
  record.set_key(std::move(key));
  return record;
}

pb::DeliveredRecord to_record(const std::string& email, const DeliveredNotification& d,
                              std::uint64_t sequence) {
  pb::DeliveredRecord r;
  const ReceivedNotification& n = d.notification;
  r.set_recipient_email(email);
  r.set_id(to_string(n.id.bytes()));
  r.set_sender_email(n.sender_email);
  r.set_sender(to_string(n.sender));
  r.set_application(n.application);
  r.set_app_data(to_string(n.app_data));
  if (n.content_handle) r.set_content_handle(to_string(n.content_handle->bytes()));
  r.set_content_key(to_string(n.content_key));
  r.set_created_ms(n.created_ms);
  r.set_received_ms(d.received_ms);
  r.set_sequence(sequence);
  return r;
}

std::optional<DeliveredNotification> from_record(const pb::DeliveredRecord& r) {
  auto id = pastry::id_from_wire(r.id());
  if (!id) return std::nullopt;
  DeliveredNotification d;
  ReceivedNotification& n = d.notification;
  n.id = *id;
  n.sender_email = r.sender_email();
  n.sender = to_bytes(r.sender());
  n.application = r.application();
  n.app_data = to_bytes(r.app_data());
  if (!r.content_handle().empty()) {
    n.content_handle = pastry::id_from_wire(r.content_handle());
    if (!n.content_handle) return std::nullopt;
  }
  n.content_key = to_bytes(r.content_key());
  n.created_ms = r.created_ms();
  d.received_ms = r.received_ms();
  return d;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Puzzle
// ---------------------------------------------------------------------------------------

namespace {

bool leading_zero_bits(const crypto::Digest& d, std::uint32_t bits) {
  std::uint32_t i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (d[i] != 0) return false;
  }
  return bits == 0 || (d[i] >> (8 - bits)) == 0;
}

crypto::Digest puzzle_digest(const Id& id, std::uint64_t nonce) {
  std::array<std::uint8_t, kPuzzleContext.size() + Id::kBytes + 8> input{};
  std::copy(kPuzzleContext.begin(), kPuzzleContext.end(), input.begin());
  std::copy(id.bytes().begin(), id.bytes().end(), input.begin() + kPuzzleContext.size());
  for (int i = 0; i < 8; ++i) {
    input[kPuzzleContext.size() + Id::kBytes + i] =
        static_cast<std::uint8_t>(nonce >> (56 - 8 * i));
  }
  return crypto::sha256(ByteView(input.data(), input.size()));
}

}  // namespace

std::uint64_t solve_puzzle(const Id& id, std::uint32_t bits) {
  std::uint64_t nonce = 0;
  while (!leading_zero_bits(puzzle_digest(id, nonce), bits)) ++nonce;
  return nonce;
}

bool check_puzzle(const Id& id, std::uint64_t nonce, std::uint32_t bits) {
  if (bits > 256) return false;
  return leading_zero_bits(puzzle_digest(id, nonce), bits);
}

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

// A user this node serves now, or did (their delivered notifications stay).
struct NotificationService::LocalUser {
  std::optional<UserKeys> keys;  // set while served
  UserCertificate certificate;
  std::uint32_t puzzle_bits = 0;
  NotificationInbox inbox;
  std::vector<DeliveredNotification> delivered;
  bool served() const { return keys.has_value(); }
};

class NotificationService::PresenceClient final : public scribe::ScribeClient {
 public:
  PresenceClient(NotificationService& service, Bytes recipient)
      : service_(service), recipient_(std::move(recipient)) {}
  void deliver(const Id& /*group*/, ByteView payload) override {
    service_.on_presence(recipient_, payload);
  }

 private:
  NotificationService& service_;
  Bytes recipient_;
};

// A user this node holds notifications for, as a delegate.
struct NotificationService::Recipient {
  std::string email;
  std::set<Id> held;
  std::unique_ptr<PresenceClient> client;
  std::optional<UserCertificate> certificate;
  bool finding = false;    // a directory lookup is under way
  int deliveries = 0;      // Deliver requests outstanding
};

struct NotificationService::Held {
  pb::HeldNotification record;
  Bytes recipient;  // signing key
};

struct NotificationService::PendingSend {
  UserKeys sender_keys;
  UserCertificate sender;
  std::string recipient_email;
  OutgoingNotification outgoing;
  std::function<void(Result<SendResult>)> done;
  Bytes notification;
  Id id;
  std::uint64_t puzzle_nonce = 0;
  std::uint32_t puzzle_bits = 0;
  int delegate_attempts = 0;
  bool puzzle_retried = false;
};

struct NotificationService::Coordination {
  NodeHandle source;
  std::uint64_t request_id = 0;
  std::vector<NodeHandle> holders;
  int outstanding = 0;
};

// ---------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------

NotificationService::NotificationService(pastry::PastryNode& pastry, net::Transport& transport,
                                         net::Clock& clock, scribe::ScribeNode& scribe,
                                         UserDirectory& directory, past::BlockStore& store,
                                         NotificationServiceConfig config, std::uint64_t seed)
    : pastry_(pastry),
      transport_(transport),
      clock_(clock),
      scribe_(scribe),
      directory_(directory),
      store_(store),
      config_(config),
      rng_(seed),
      requests_(clock, rng_.next() | 1),
      started_at_(clock.now()) {
  if (config_.unix_ms_at_start == 0) config_.unix_ms_at_start = wall_clock_seconds() * 1000;
  next_id_ = rng_.next() | 1;
  pastry_.register_application(pastry::AppId::kPost, this);
  transport_.set_handler(net::Channel::kPost, this);
  load();
  tick_timer_ = clock_.schedule(net::jitter(rng_, config_.recheck_interval), [this] { tick(); });
}

NotificationService::~NotificationService() {
  clock_.cancel(tick_timer_);
  for (auto& [key, r] : recipients_) scribe_.unsubscribe(presence_group(key));
  pastry_.register_application(pastry::AppId::kPost, nullptr);
  transport_.set_handler(net::Channel::kPost, nullptr);
}

std::int64_t NotificationService::unix_ms() const {
  return config_.unix_ms_at_start +
         std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started_at_)
             .count();
}

void NotificationService::load() {
  std::vector<past::BlockKey> keys;
  store_.for_each([&](const past::BlockKey& key, std::uint64_t) {
    keys.push_back(key);
    return true;
  });
  std::vector<std::pair<std::uint64_t, std::pair<std::string, DeliveredNotification>>> delivered;
  std::size_t bad = 0;
  for (const auto& key : keys) {
    auto bytes = store_.get(key);
    if (!bytes.ok() || !*bytes) {
      ++bad;
      continue;
    }
    auto stored = wire::decode_message<pb::StoredNotification>(**bytes, "stored notification");
    if (!stored.ok()) {
      ++bad;
      continue;
    }
    if (stored->has_held()) {
      auto header = peek_notification(as_bytes(stored->held().notification()));
      if (!header.ok() || header->id != key.handle) {
        ++bad;
        continue;
      }
      auto h = std::make_unique<Held>();
      h->record = stored->held();
      h->recipient = header->recipient;
      Recipient& r = recipient(h->recipient, h->record.recipient_email());
      r.held.insert(key.handle);
      held_[key.handle] = std::move(h);
    } else if (stored->has_delivered()) {
      auto d = from_record(stored->delivered());
      if (!d) {
        ++bad;
        continue;
      }
      delivered.push_back(
          {stored->delivered().sequence(), {stored->delivered().recipient_email(), std::move(*d)}});
    }
  }
  std::sort(delivered.begin(), delivered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [sequence, entry] : delivered) {
    LocalUser& u = user(entry.first);
    u.inbox.accept(entry.second.notification);
    u.delivered.push_back(std::move(entry.second));
    next_sequence_ = std::max(next_sequence_, sequence + 1);
  }
  if (bad > 0) logger()->warn("{} unreadable records in the notification store skipped", bad);
  if (!held_.empty() || !delivered.empty()) {
    logger()->info("notification store: {} held for others, {} delivered to local users",
                   held_.size(), delivered.size());
  }
  for (auto& [key, r] : recipients_) watch(key);
}

NotificationService::LocalUser& NotificationService::user(const std::string& email) {
  auto& u = users_[email];
  if (!u) u = std::make_unique<LocalUser>();
  return *u;
}

NotificationService::Recipient& NotificationService::recipient(const Bytes& key,
                                                               const std::string& email) {
  auto& r = recipients_[key];
  if (!r) {
    r = std::make_unique<Recipient>();
    r->email = email;
  }
  return *r;
}

// ---------------------------------------------------------------------------------------
// Local users
// ---------------------------------------------------------------------------------------

void NotificationService::add_user(const UserKeys& keys, const UserCertificate& user_cert,
                                   std::uint32_t puzzle_bits) {
  LocalUser& u = user(user_cert.email);
  u.keys = keys;
  u.certificate = user_cert;
  u.puzzle_bits = puzzle_bits;
  user_by_key_[key_hex(user_cert.signing_key)] = user_cert.email;
}

void NotificationService::remove_user(const std::string& email) {
  auto it = users_.find(email);
  if (it == users_.end() || !it->second->served()) return;
  user_by_key_.erase(key_hex(it->second->certificate.signing_key));
  it->second->keys.reset();
}

bool NotificationService::serves(const std::string& email) const {
  auto it = users_.find(email);
  return it != users_.end() && it->second->served();
}

void NotificationService::block(const std::string& email, const std::string& sender_email) {
  user(email).inbox.block(sender_email);
}

void NotificationService::unblock(const std::string& email, const std::string& sender_email) {
  user(email).inbox.unblock(sender_email);
}

const std::vector<DeliveredNotification>& NotificationService::delivered(
    const std::string& email) const {
  static const std::vector<DeliveredNotification> kNone;
  auto it = users_.find(email);
  return it == users_.end() ? kNone : it->second->delivered;
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

void NotificationService::send(const NodeHandle& to, const pb::NotifyMessage& m) {
  Bytes bytes = wire::encode_message(m);
  if (to.id == pastry_.local().id) {
    // To ourselves (a delegate root that is also the sender, say): as if it came in.
    std::weak_ptr<char> alive = alive_;
    clock_.schedule(net::Duration::zero(), [this, alive, bytes = std::move(bytes)] {
      if (!alive.expired()) on_message(pastry_.local(), bytes);
    });
    return;
  }
  auto status = transport_.send(to, net::Channel::kPost, std::move(bytes));
  if (!status.ok()) {
    logger()->debug("{}: send to {} failed: {}", pastry_.local().id.short_hex(), to.to_string(),
                    status.error().to_string());
  }
}

void NotificationService::refuse(const NodeHandle& from, const std::string& why) {
  ++stats_.messages_refused;
  logger()->info("{}: refused a message from {}: {}", pastry_.local().id.short_hex(),
                 from.to_string(), why);
}

std::uint64_t NotificationService::expect(
    std::optional<NodeHandle> to, net::Duration timeout,
    std::function<void(const pb::NotifyMessage*)> on_answer) {
  return requests_.expect(std::move(to), timeout, std::move(on_answer));
}

void NotificationService::answered(const NodeHandle& from, const pb::NotifyMessage& m) {
  if (requests_.answer(from, m.request_id(), m) == Requests::Outcome::kWrongSender) {
    refuse(from, "an answer to a request that went to another node");
  }
}

void NotificationService::on_message(const NodeHandle& from, ByteView payload) {
  auto m = wire::decode_message<pb::NotifyMessage>(payload, "notification message");
  if (!m.ok()) return refuse(from, m.error().message);
  switch (m->kind_case()) {
    case pb::NotifyMessage::kDeliver:
      return handle_deliver(from, *m);
    case pb::NotifyMessage::kHold:
      return handle_hold(from, *m);
    case pb::NotifyMessage::kDeliverReply:
    case pb::NotifyMessage::kDelegateReply:
    case pb::NotifyMessage::kHoldReply:
      return answered(from, *m);
    case pb::NotifyMessage::kDelegate:
      return refuse(from, "a delegation must be routed");
    case pb::NotifyMessage::KIND_NOT_SET:
      return refuse(from, "a message of an unknown kind");
  }
}

void NotificationService::on_link_down(const NodeHandle& peer) {
  // Requests to `peer` fail now rather than at their timeout.
  requests_.fail_to(peer);
}

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

void NotificationService::send(const UserKeys& sender_keys, const UserCertificate& sender,
                               const std::string& recipient_email,
                               OutgoingNotification notification,
                               std::function<void(Result<SendResult>)> done) {
  std::uint64_t id = next_id_++;
  auto s = std::make_unique<PendingSend>();
  s->sender_keys = sender_keys;
  s->sender = sender;
  s->recipient_email = recipient_email;
  s->outgoing = std::move(notification);
  s->done = std::move(done);
  sends_[id] = std::move(s);
  std::weak_ptr<char> alive = alive_;
  directory_.find(recipient_email, unix_ms() / 1000, [this, alive, id](Result<UserRecord> r) {
    if (!alive.expired()) send_found(id, std::move(r));
  });
}

void NotificationService::send_found(std::uint64_t id, Result<UserRecord> recipient) {
  auto it = sends_.find(id);
  if (it == sends_.end()) return;
  PendingSend& s = *it->second;
  if (!recipient.ok()) {
    if (recipient.error().code == past::PastErrc::kNotFound) {
      return finish_send(id, make_error(PostErrc::kUnknownRecipient,
                                        "no user " + s.recipient_email + " in the directory"));
    }
    return finish_send(id, recipient.error());
  }
  auto encoded = make_notification(s.sender_keys, s.sender, recipient->certificate, s.outgoing,
                                   static_cast<std::uint64_t>(unix_ms()));
  if (!encoded.ok()) return finish_send(id, encoded.error());
  s.notification = std::move(*encoded);
  s.id = peek_notification(s.notification).value().id;
  if (recipient->identity && recipient->identity->puzzle_bits > 0) {
    s.puzzle_bits = recipient->identity->puzzle_bits;
    s.puzzle_nonce = solve_puzzle(s.id, s.puzzle_bits);
  }
  if (!recipient->identity || !recipient->identity->contact) return send_delegated(id);
  deliver_direct(id, *recipient->identity->contact);
}

void NotificationService::deliver_direct(std::uint64_t id, const NodeHandle& contact) {
  PendingSend& s = *sends_.at(id);
  pb::NotifyMessage m;
  m.mutable_deliver()->set_notification(to_string(s.notification));
  m.mutable_deliver()->set_puzzle_nonce(s.puzzle_nonce);
  std::weak_ptr<char> alive = alive_;
  m.set_request_id(expect(contact, config_.deliver_timeout,
                          [this, alive, id, contact](const pb::NotifyMessage* answer) {
    if (alive.expired()) return;
    auto pending = sends_.find(id);
    if (pending == sends_.end()) return;
    PendingSend& p = *pending->second;
    if (answer == nullptr || !answer->has_deliver_reply()) return send_delegated(id);
    const auto& reply = answer->deliver_reply();
    switch (reply.code()) {
      case pb::ACCEPTED:
      case pb::DUPLICATE:
        ++stats_.sent_direct;
        return finish_send(id, SendResult{p.id, SendPath::kDirect, {contact}});
      case pb::BLOCKED:
        return finish_send(id, make_error(PostErrc::kSenderBlocked, reply.detail()));
      case pb::REFUSED:
        return finish_send(id, make_error(PostErrc::kNotificationRefused, reply.detail()));
      case pb::PUZZLE_REQUIRED:
        if (!p.puzzle_retried && reply.puzzle_bits() > p.puzzle_bits &&
            reply.puzzle_bits() <= kMaxPuzzleBits) {
          // The identity we read was older than the recipient's setting.
          p.puzzle_retried = true;
          p.puzzle_bits = reply.puzzle_bits();
          p.puzzle_nonce = solve_puzzle(p.id, p.puzzle_bits);
          return deliver_direct(id, contact);
        }
        return finish_send(id, make_error(PostErrc::kNotificationRefused,
                                          "the recipient asks for a " +
                                              std::to_string(reply.puzzle_bits()) +
                                              "-bit puzzle"));
      default:  // NOT_SERVED, RETRY_LATER: the delegates will try again
        return send_delegated(id);
    }
  }));
  send(contact, m);
}

void NotificationService::send_delegated(std::uint64_t id) {
  auto it = sends_.find(id);
  if (it == sends_.end()) return;
  PendingSend& s = *it->second;
  if (s.delegate_attempts++ >= config_.delegate_attempts) {
    return finish_send(id, make_error(PostErrc::kNotDelivered,
                                      "neither the recipient's node nor any delegates answered"));
  }
  pb::NotifyMessage m;
  pb::Delegate* d = m.mutable_delegate();
  d->set_notification(to_string(s.notification));
  d->set_recipient_email(s.recipient_email);
  d->set_puzzle_nonce(s.puzzle_nonce);
  std::weak_ptr<char> alive = alive_;
  m.set_request_id(expect(std::nullopt, config_.delegate_timeout,
                          [this, alive, id](const pb::NotifyMessage* answer) {
    if (alive.expired()) return;
    auto pending = sends_.find(id);
    if (pending == sends_.end()) return;
    if (answer == nullptr || !answer->has_delegate_reply() ||
        answer->delegate_reply().holders().empty()) {
      if (answer != nullptr && answer->has_delegate_reply()) {
        logger()->info("{}: delegation refused: {}", pastry_.local().id.short_hex(),
                       answer->delegate_reply().error());
      }
      return send_delegated(id);  // another random key, another set of delegates
    }
    SendResult result{pending->second->id, SendPath::kDelegated, {}};
    for (const auto& h : answer->delegate_reply().holders()) {
      if (auto handle = pastry::from_proto(h)) result.nodes.push_back(*handle);
    }
    ++stats_.sent_delegated;
    finish_send(id, std::move(result));
  }));
  pastry_.route(rng_.random_id(), pastry::AppId::kPost, wire::encode_message(m));
}

void NotificationService::finish_send(std::uint64_t id, Result<SendResult> result) {
  auto it = sends_.find(id);
  if (it == sends_.end()) return;
  auto s = std::move(it->second);
  sends_.erase(it);
  if (!result.ok()) {
    ++stats_.send_failures;
    logger()->info("{}: notification from {} to {} not sent: {}", pastry_.local().id.short_hex(),
                   s->sender.email, s->recipient_email, result.error().to_string());
  }
  s->done(std::move(result));
}

// ---------------------------------------------------------------------------------------
// Receiving (on the recipient's node)
// ---------------------------------------------------------------------------------------

void NotificationService::handle_deliver(const NodeHandle& from, const pb::NotifyMessage& m) {
  std::uint64_t request_id = m.request_id();
  receive(to_bytes(m.deliver().notification()), m.deliver().puzzle_nonce(),
          [this, from, request_id](pb::DeliverCode code, std::string detail,
                                   std::uint32_t bits) {
            pb::NotifyMessage reply;
            reply.set_request_id(request_id);
            reply.mutable_deliver_reply()->set_code(code);
            reply.mutable_deliver_reply()->set_detail(std::move(detail));
            reply.mutable_deliver_reply()->set_puzzle_bits(bits);
            send(from, reply);
          });
}

void NotificationService::receive(Bytes notification, std::uint64_t puzzle_nonce,
                                  ReplyFn reply) {
  if (notification.size() > kMaxNotificationBytes) {
    ++stats_.refused;
    return reply(pb::REFUSED, "notification too large", 0);
  }
  auto header = peek_notification(notification);
  if (!header.ok()) {
    ++stats_.refused;
    return reply(pb::REFUSED, header.error().message, 0);
  }
  auto who = user_by_key_.find(key_hex(header->recipient));
  if (who == user_by_key_.end()) return reply(pb::NOT_SERVED, "", 0);
  const std::string email = who->second;
  LocalUser& u = user(email);
  if (u.puzzle_bits > 0 && !check_puzzle(header->id, puzzle_nonce, u.puzzle_bits)) {
    return reply(pb::PUZZLE_REQUIRED, "", u.puzzle_bits);
  }
  if (u.inbox.delivered(header->id)) {
    ++stats_.duplicates;
    return reply(pb::DUPLICATE, "", 0);
  }
  if (u.inbox.blocked(header->sender_email)) {
    ++stats_.refused;
    return reply(pb::BLOCKED, "", 0);
  }
  std::weak_ptr<char> alive = alive_;
  find_sender(header->sender_email,
              [this, alive, email, notification = std::move(notification),
               reply = std::move(reply)](Result<UserCertificate> sender) {
    if (alive.expired()) return;
    if (!sender.ok()) {
      return reply(pb::RETRY_LATER, "the sender's certificate: " + sender.error().to_string(),
                   0);
    }
    LocalUser& local = user(email);
    if (!local.served()) return reply(pb::NOT_SERVED, "", 0);
    auto opened = open_notification(notification, *sender, *local.keys, local.certificate);
    if (!opened.ok()) {
      ++stats_.refused;
      logger()->info("{}: refused a notification for {}: {}", pastry_.local().id.short_hex(),
                     email, opened.error().to_string());
      return reply(pb::REFUSED, opened.error().to_string(), 0);
    }
    if (local.inbox.delivered(opened->id)) {  // arrived twice while the certificate was fetched
      ++stats_.duplicates;
      return reply(pb::DUPLICATE, "", 0);
    }
    if (local.inbox.blocked(opened->sender_email)) {
      ++stats_.refused;
      return reply(pb::BLOCKED, "", 0);
    }
    DeliveredNotification d{std::move(*opened), static_cast<std::uint64_t>(unix_ms())};
    pb::StoredNotification stored;
    *stored.mutable_delivered() = to_record(email, d, next_sequence_);
    auto put = store_.put(delivered_key(email, d.notification.id), wire::encode_message(stored));
    if (!put.ok()) {
      logger()->warn("cannot keep a notification for {}: {}", email, put.error().to_string());
      return reply(pb::RETRY_LATER, "storage failure", 0);
    }
    ++next_sequence_;
    local.inbox.accept(d.notification);
    local.delivered.push_back(d);
    ++stats_.received;
    if (handler_) handler_(email, d);
    reply(pb::ACCEPTED, "", 0);
  });
}

void NotificationService::find_sender(const std::string& email,
                                      std::function<void(Result<UserCertificate>)> done) {
  auto cached = certificates_.find(email);
  if (cached != certificates_.end() &&
      clock_.now() - cached->second.second < config_.certificate_cache) {
    return done(cached->second.first);
  }
  std::weak_ptr<char> alive = alive_;
  directory_.find(email, unix_ms() / 1000,
                  [this, alive, email, done = std::move(done)](Result<UserRecord> r) {
                    if (alive.expired()) return;
                    if (!r.ok()) return done(r.error());
                    certificates_[email] = {r->certificate, clock_.now()};
                    done(r->certificate);
                  });
}

// ---------------------------------------------------------------------------------------
// Delegates
// ---------------------------------------------------------------------------------------

void NotificationService::deliver(const Id& key, ByteView payload,
                                  const pastry::RouteInfo& info) {
  auto m = wire::decode_message<pb::NotifyMessage>(payload, "notification message");
  if (!m.ok()) return refuse(info.source, m.error().message);
  if (!m->has_delegate()) return refuse(info.source, "a routed message that is not a delegation");
  handle_delegate(info.source, key, *m);
}

void NotificationService::handle_delegate(const NodeHandle& source, const Id& key,
                                          const pb::NotifyMessage& m) {
  pb::NotifyMessage reply;
  reply.set_request_id(m.request_id());
  auto header = check_delegate(m.delegate());
  if (!header.ok()) {
    refuse(source, "delegation: " + header.error().message);
    reply.mutable_delegate_reply()->set_error(header.error().message);
    return send(source, reply);
  }
  const pb::HeldNotification record = held_record(
      m.delegate(), static_cast<std::uint64_t>(unix_ms()), to_string(key.bytes()));

  std::uint64_t cid = next_id_++;
  auto c = std::make_unique<Coordination>();
  c->source = source;
  c->request_id = m.request_id();
  auto kept = hold(header->id, record);
  if (kept.ok()) {
    c->holders.push_back(pastry_.local());
  } else {
    reply.mutable_delegate_reply()->set_error(kept.error().to_string());
  }
  // The other nodes closest to the key keep copies too, so that k nodes hold it.
  std::vector<NodeHandle> neighbours;
  for (const NodeHandle& n : pastry_.replica_set(key, config_.delegates)) {
    if (n.id != pastry_.local().id) neighbours.push_back(n);
  }
  c->outstanding = static_cast<int>(neighbours.size());
  coordinations_[cid] = std::move(c);
  if (neighbours.empty()) return finish_coordination(cid, kept.ok() ? "" : kept.error().message);

  pb::NotifyMessage hold_message;
  *hold_message.mutable_hold()->mutable_delegate() = m.delegate();
  hold_message.mutable_hold()->mutable_delegate()->set_key(to_string(key.bytes()));
  std::weak_ptr<char> alive = alive_;
  for (const NodeHandle& n : neighbours) {
    hold_message.set_request_id(expect(n, config_.hold_timeout,
                                       [this, alive, cid, n](const pb::NotifyMessage* answer) {
      if (alive.expired()) return;
      auto coordination = coordinations_.find(cid);
      if (coordination == coordinations_.end()) return;
      Coordination& co = *coordination->second;
      if (answer != nullptr && answer->has_hold_reply() && answer->hold_reply().error().empty()) {
        co.holders.push_back(n);
      }
      if (--co.outstanding == 0) finish_coordination(cid, "");
    }));
    send(n, hold_message);
  }
}

void NotificationService::finish_coordination(std::uint64_t cid, const std::string& error) {
  auto it = coordinations_.find(cid);
  if (it == coordinations_.end()) return;
  auto c = std::move(it->second);
  coordinations_.erase(it);
  pb::NotifyMessage reply;
  reply.set_request_id(c->request_id);
  for (const NodeHandle& h : c->holders) {
    pastry::to_proto(h, reply.mutable_delegate_reply()->add_holders());
  }
  if (c->holders.empty()) {
    reply.mutable_delegate_reply()->set_error(error.empty() ? "no delegate kept it" : error);
  }
  send(c->source, reply);
}

void NotificationService::handle_hold(const NodeHandle& from, const pb::NotifyMessage& m) {
  pb::NotifyMessage reply;
  reply.set_request_id(m.request_id());
  const pb::Delegate& d = m.hold().delegate();
  auto header = check_delegate(d);
  if (!header.ok()) {
    refuse(from, "hold: " + header.error().message);
    reply.mutable_hold_reply()->set_error(header.error().message);
    return send(from, reply);
  }
  auto key = pastry::id_from_wire(d.key());
  if (!key) {
    refuse(from, "hold: no valid key");
    reply.mutable_hold_reply()->set_error("no valid key");
    return send(from, reply);
  }
  const auto now = static_cast<std::uint64_t>(unix_ms());
  const pb::HeldNotification record =
      held_record(d, d.held_since_ms() > 0 ? std::min(d.held_since_ms(), now) : now, d.key());
  auto kept = hold(header->id, record);
  reply.mutable_hold_reply()->set_error(kept.ok() ? "" : kept.error().to_string());
  send(from, reply);
}

Status NotificationService::hold(const Id& id, const pb::HeldNotification& record) {
  if (held_.contains(id)) return ok_status();
  if (held_.size() >= config_.max_held) {
    return make_error(CoreErrc::kBadLength, "this node holds too many notifications already");
  }
  auto header = peek_notification(as_bytes(record.notification()));
  if (!header.ok()) return header.error();
  pb::StoredNotification stored;
  *stored.mutable_held() = record;
  POST_TRY(store_.put(held_key(id), wire::encode_message(stored)));
  auto h = std::make_unique<Held>();
  h->record = record;
  h->recipient = header->recipient;
  Recipient& r = recipient(h->recipient, record.recipient_email());
  r.held.insert(id);
  Bytes key = h->recipient;
  held_[id] = std::move(h);
  ++stats_.held;
  watch(key);
  return ok_status();
}

void NotificationService::watch(const Bytes& recipient_key) {
  Recipient& r = *recipients_.at(recipient_key);
  if (r.client) return;
  r.client = std::make_unique<PresenceClient>(*this, recipient_key);
  std::string email = r.email;
  scribe_.subscribe(presence_group(recipient_key), r.client.get(), [email](Status s) {
    if (!s.ok()) {
      logger()->info("cannot watch {}'s presence: {}", email, s.error().to_string());
    }
  });
}

void NotificationService::unwatch_if_idle(const Bytes& recipient_key) {
  auto it = recipients_.find(recipient_key);
  if (it == recipients_.end() || !it->second->held.empty() || it->second->deliveries > 0 ||
      it->second->finding) {
    return;
  }
  scribe_.unsubscribe(presence_group(recipient_key));
  recipients_.erase(it);
}

void NotificationService::on_presence(const Bytes& recipient_key, ByteView payload) {
  auto it = recipients_.find(recipient_key);
  if (it == recipients_.end()) return;
  Recipient& r = *it->second;
  if (!r.certificate) {
    // The certificate first; the identity found with it names the contact node too.
    return recheck_recipient(recipient_key);
  }
  auto presence = read_presence(payload, *r.certificate);
  if (!presence.ok()) {
    logger()->info("{}: a bad presence announcement for {}: {}", pastry_.local().id.short_hex(),
                   r.email, presence.error().to_string());
    return;
  }
  deliver_held(recipient_key, presence->node);
}

void NotificationService::recheck() {
  std::vector<Bytes> keys;
  for (const auto& [key, r] : recipients_) keys.push_back(key);
  for (const Bytes& key : keys) recheck_recipient(key);
}

void NotificationService::recheck_recipient(const Bytes& recipient_key) {
  auto it = recipients_.find(recipient_key);
  if (it == recipients_.end() || it->second->finding) return;
  it->second->finding = true;
  const std::string& email = it->second->email;
  std::weak_ptr<char> alive = alive_;
  directory_.find(email, unix_ms() / 1000,
                  [this, alive, recipient_key](Result<UserRecord> found) {
    if (alive.expired()) return;
    auto entry = recipients_.find(recipient_key);
    if (entry == recipients_.end()) return;
    Recipient& r = *entry->second;
    r.finding = false;
    if (!found.ok()) {
      logger()->debug("{}: cannot find {}: {}", pastry_.local().id.short_hex(), r.email,
                      found.error().to_string());
      return unwatch_if_idle(recipient_key);
    }
    if (found->certificate.signing_key != recipient_key) {
      // The directory's user with that email is someone else: these notifications name a
      // recipient the sender made up, and nobody will take them. hold_for ends them.
      logger()->info("{}: held notifications for {} name another key than its certificate",
                     pastry_.local().id.short_hex(), r.email);
      return;
    }
    r.certificate = found->certificate;
    if (found->identity && found->identity->contact) {
      deliver_held(recipient_key, *found->identity->contact);
    }
    unwatch_if_idle(recipient_key);
  });
}

void NotificationService::deliver_held(const Bytes& recipient_key, const NodeHandle& node) {
  auto it = recipients_.find(recipient_key);
  if (it == recipients_.end() || it->second->deliveries > 0) return;
  std::vector<Id> ids(it->second->held.begin(), it->second->held.end());
  std::weak_ptr<char> alive = alive_;
  for (const Id& id : ids) {
    // A local delivery answers at once and may have forgotten the recipient.
    auto entry = recipients_.find(recipient_key);
    auto held = held_.find(id);
    if (entry == recipients_.end()) return;
    if (held == held_.end()) continue;
    const Held& h = *held->second;
    ++entry->second->deliveries;
    auto on_reply = [this, alive, recipient_key, id](pb::DeliverCode code, std::string detail,
                                                     std::uint32_t /*bits*/) {
      if (alive.expired()) return;
      auto waiting = recipients_.find(recipient_key);
      if (waiting == recipients_.end()) return;
      --waiting->second->deliveries;
      switch (code) {
        case pb::ACCEPTED:
          ++stats_.delivered_by_delegate;
          forget_held(id);
          break;
        case pb::DUPLICATE:
          forget_held(id);
          break;
        case pb::BLOCKED:
        case pb::REFUSED:
        case pb::PUZZLE_REQUIRED:  // the sender's nonce no longer does: it never will
          logger()->info("{}: a held notification was refused ({}): dropped",
                         pastry_.local().id.short_hex(), detail);
          forget_held(id);
          break;
        default:  // not served there now, or no answer: the next presence or recheck
          break;
      }
      unwatch_if_idle(recipient_key);
    };
    if (node.id == pastry_.local().id) {
      receive(to_bytes(h.record.notification()), h.record.puzzle_nonce(), std::move(on_reply));
      continue;
    }
    pb::NotifyMessage m;
    m.mutable_deliver()->set_notification(h.record.notification());
    m.mutable_deliver()->set_puzzle_nonce(h.record.puzzle_nonce());
    m.set_request_id(expect(node, config_.deliver_timeout,
                            [on_reply = std::move(on_reply)](const pb::NotifyMessage* answer) {
      if (answer == nullptr || !answer->has_deliver_reply()) {
        return on_reply(pb::DELIVER_CODE_UNSPECIFIED, "no answer", 0);
      }
      on_reply(answer->deliver_reply().code(), answer->deliver_reply().detail(),
               answer->deliver_reply().puzzle_bits());
    }));
    send(node, m);
  }
}

void NotificationService::forget_held(const Id& id) {
  auto it = held_.find(id);
  if (it == held_.end()) return;
  auto status = store_.erase(held_key(id));
  if (!status.ok()) {
    logger()->warn("cannot erase a held notification: {}", status.error().to_string());
  }
  auto r = recipients_.find(it->second->recipient);
  if (r != recipients_.end()) r->second->held.erase(id);
  held_.erase(it);
}

void NotificationService::update(const NodeHandle& node, bool joined) {
  const Id& changed = node.id;
  if (joined) {
    // The newcomer gets what it is now one of the k closest to.
    return replicate([&](const Id&, const NodeHandle& n) { return n.id == changed; });
  }
  // A node left: where it was among the k closest to a key (it is nearer to the key than the
  // farthest of the k now), the node that took its place needs a copy. Every member is sent
  // one; those that have it answer at once.
  replicate([&](const Id& key, const NodeHandle& n) {
    (void)n;
    auto set = pastry_.replica_set(key, config_.delegates);
    return !set.empty() && is_closer(key, changed, set.back().id);
  });
}

void NotificationService::replicate(
    const std::function<bool(const Id& key, const NodeHandle& node)>& needs) {
  std::weak_ptr<char> alive = alive_;
  for (const auto& [id, h] : held_) {
    auto key = pastry::id_from_wire(h->record.key());
    if (!key) continue;  // held before keys were recorded
    auto set = pastry_.replica_set(*key, config_.delegates);
    bool ours = std::any_of(set.begin(), set.end(),
                            [&](const NodeHandle& n) { return n.id == pastry_.local().id; });
    if (!ours) continue;  // others are closer: they look after it
    for (const NodeHandle& n : set) {
      if (n.id == pastry_.local().id || !needs(*key, n)) continue;
      pb::NotifyMessage m;
      pb::Delegate* d = m.mutable_hold()->mutable_delegate();
      d->set_notification(h->record.notification());
      d->set_recipient_email(h->record.recipient_email());
      d->set_puzzle_nonce(h->record.puzzle_nonce());
      d->set_key(h->record.key());
      d->set_held_since_ms(h->record.held_since_ms());
      m.set_request_id(expect(n, config_.hold_timeout, [](const pb::NotifyMessage*) {}));
      ++stats_.replicated;
      send(n, m);
    }
  }
}

void NotificationService::tick() {
  tick_timer_ = clock_.schedule(net::jitter(rng_, config_.recheck_interval), [this] { tick(); });
  const auto now = static_cast<std::uint64_t>(unix_ms());
  const auto limit = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.hold_for).count());
  std::vector<std::pair<Id, Bytes>> expired;
  for (const auto& [id, h] : held_) {
    if (now > h->record.held_since_ms() + limit) expired.push_back({id, h->recipient});
  }
  for (const auto& [id, key] : expired) {
    ++stats_.expired;
    forget_held(id);
    unwatch_if_idle(key);
  }
  recheck();
}

}  // namespace post::services
