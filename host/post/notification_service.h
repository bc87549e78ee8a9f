// NotificationService (issue 6, item 3): how a notification travels. The sender's node looks
// the recipient up in the directory and delivers straight to the node the recipient's identity
// names. When that node does not take it (down, or not serving the recipient now), the sender's
// node routes it to the root of a random key, which keeps it durably with its k-1 closest
// leaf-set neighbours: the delegates. Each delegate subscribes to the recipient's presence
// group and delivers when the recipient's node announces itself there; each also re-reads the
// recipient's identity block every recheck_interval and tries the contact node it names. A
// delegate forgets a notification once a node serving the recipient took it (or refused it
// for good), or after hold_for.
//
// On the recipient's node the notification is checked (the sender's certificate from the
// directory, signature, recipient, sealed key; the hash-cash puzzle when the user asks for
// one), kept durably, and handed to the application once: the wire is at-least-once, the
// application sees each notification exactly once, also across restarts.
//
// Sans-I/O over PastryNode (routed Delegate messages, AppId::kPost), the Transport (direct
// messages on Channel::kPost), ScribeNode and UserDirectory; durable state in a BlockStore.
// Single-threaded: call it only on the node's executor. Wire format:
// docs/protocol/notifications.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/core/certificate.h"
#include "host/core/random.h"
#include "host/core/result.h"
#include "host/net/clock.h"
#include "host/net/request_table.h"
#include "host/net/transport.h"
#include "host/past/block_store.h"
#include "host/pastry/pastry_node.h"
#include "host/post/account.h"
#include "host/post/notification.h"
#include "host/scribe/scribe_node.h"

namespace post::proto::services {
class NotifyMessage;
class HeldNotification;
enum DeliverCode : int;
}  // namespace post::proto::services

namespace post::services {

struct NotificationServiceConfig {
  // Delegates that keep a notification the recipient's node did not take (k).
  int delegates = 3;
  // How long the sender (or a delegate) waits for the recipient's node to answer a delivery.
  net::Duration deliver_timeout = std::chrono::seconds(10);
  // How long the sender waits for the delegates' root to say it holds the notification, and
  // how many random keys it tries. A send ends within deliver_timeout + delegate_attempts x
  // delegate_timeout (40 s by default: inside postd's 45 s for an admin request).
  net::Duration delegate_timeout = std::chrono::seconds(10);
  int delegate_attempts = 3;
  // How long the root waits for its neighbours to confirm they hold a copy.
  net::Duration hold_timeout = std::chrono::seconds(10);
  // Delegates re-read the recipient's identity block this often and try its contact node.
  net::Duration recheck_interval = std::chrono::seconds(60);
  // A delegate gives a notification up after this long.
  net::Duration hold_for = std::chrono::hours(24 * 30);
  // Most notifications one node holds as a delegate (a full node refuses more).
  std::size_t max_held = 100000;
  // Sender certificates found in the directory are trusted this long before being read again.
  net::Duration certificate_cache = std::chrono::minutes(10);
  // The wall clock (unix milliseconds) when the service starts; the service adds its Clock's
  // progress to it (notification times, certificate validity). 0: read the system clock
  // once, at construction (the daemon); simulations set it.
  std::int64_t unix_ms_at_start = 0;
};

struct NotificationStats {
  std::uint64_t sent_direct = 0;      // taken by the recipient's node on the first try
  std::uint64_t sent_delegated = 0;   // handed to delegates
  std::uint64_t send_failures = 0;
  std::uint64_t held = 0;             // notifications taken as a delegate
  std::uint64_t replicated = 0;       // copies sent to nodes that became delegates
  std::uint64_t delivered_by_delegate = 0;  // held ones a recipient's node took
  std::uint64_t expired = 0;          // held ones given up after hold_for
  std::uint64_t received = 0;         // handed to a local user's application
  std::uint64_t duplicates = 0;       // arrived again for a local user and dropped
  std::uint64_t refused = 0;          // forged, tampered, not for a local user, or blocked
  std::uint64_t messages_refused = 0; // malformed messages from peers
};

// How a sent notification left.
enum class SendPath { kDirect, kDelegated };

struct SendResult {
  Id id;
  SendPath path = SendPath::kDirect;
  // kDirect: the recipient's node; kDelegated: the delegates that confirmed a copy.
  std::vector<net::NodeHandle> nodes;
};

// A notification delivered to a local user, as kept on this node.
struct DeliveredNotification {
  ReceivedNotification notification;
  std::uint64_t received_ms = 0;  // this node's clock
};

// Hash-cash for notifications: a nonce such that SHA-256("post-puzzle-v1" || id || nonce, the
// nonce 8 bytes big-endian) starts with `bits` zero bits. solve_puzzle tries nonces from 0.
std::uint64_t solve_puzzle(const Id& id, std::uint32_t bits);
bool check_puzzle(const Id& id, std::uint64_t nonce, std::uint32_t bits);

class NotificationService final : public pastry::Application, public net::MessageHandler {
 public:
  // Called for each notification a local user receives, once.
  using Handler = std::function<void(const std::string& email, const DeliveredNotification&)>;

  // Registers with `pastry` (AppId::kPost) and `transport` (Channel::kPost). `store` keeps
  // held and delivered notifications durably; what it holds from an earlier run is taken up
  // again (held ones are delivered, delivered ones are never delivered again). None of the
  // references is owned; all must outlive the service.
  NotificationService(pastry::PastryNode& pastry, net::Transport& transport, net::Clock& clock,
                      scribe::ScribeNode& scribe, UserDirectory& directory,
                      past::BlockStore& store, NotificationServiceConfig config,
                      std::uint64_t seed);
  ~NotificationService() override;
  NotificationService(const NotificationService&) = delete;
  NotificationService& operator=(const NotificationService&) = delete;

  // ---- local users (the ones who trust this node) ----

  // Deliveries for this user are taken from now on. `puzzle_bits` is the puzzle the node
  // requires of senders (it should match the user's identity block, which senders read).
  void add_user(const UserKeys& keys, const UserCertificate& user, std::uint32_t puzzle_bits = 0);
  // Deliveries for this user are refused (as "not served here") from now on.
  void remove_user(const std::string& email);
  bool serves(const std::string& email) const;
  // Notifications from `sender_email` to `email` are refused (and delegates drop them).
  void block(const std::string& email, const std::string& sender_email);
  void unblock(const std::string& email, const std::string& sender_email);

  void set_handler(Handler handler) { handler_ = std::move(handler); }

  // What `email` received, oldest first (kept across restarts); valid until the service
  // next runs.
  const std::vector<DeliveredNotification>& delivered(const std::string& email) const;

  // ---- sending ----

  // Sends `notification` from the local user `sender_keys`/`sender` to the user with
  // `recipient_email`: finds the recipient (certificate, identity), solves the puzzle the
  // identity asks for, delivers directly or hands to delegates. `done` runs once: the path
  // taken, or an error: the recipient unknown (the directory's error), refused by the
  // recipient (PostErrc::kSenderBlocked, kNotificationRefused), or PostErrc::kNotDelivered
  // when neither the recipient's node nor any delegates took it.
  void send(const UserKeys& sender_keys, const UserCertificate& sender,
            const std::string& recipient_email, OutgoingNotification notification,
            std::function<void(Result<SendResult>)> done);

  // ---- delegates ----

  // Notifications this node holds for others.
  std::size_t held_count() const { return held_.size(); }
  // Re-reads the identity of every recipient this node holds notifications for, and tries
  // to deliver (also runs every recheck_interval).
  void recheck();

  const NotificationStats& stats() const { return stats_; }

  // ---- pastry::Application (AppId::kPost) ----
  void deliver(const Id& key, ByteView payload, const pastry::RouteInfo& info) override;
  // A leaf-set change: nodes that became one of the k closest to a held notification's key
  // get a copy, so k delegates keep holding it as nodes fail and join.
  void update(const net::NodeHandle& node, bool joined) override;

  // ---- net::MessageHandler (Channel::kPost) ----
  void on_message(const net::NodeHandle& from, ByteView payload) override;
  void on_link_down(const net::NodeHandle& peer) override;

 private:
  struct LocalUser;
  struct Recipient;
  struct Held;
  struct PendingSend;
  struct Coordination;
  class PresenceClient;
  friend class PresenceClient;

  using ReplyFn = std::function<void(proto::services::DeliverCode code, std::string detail,
                                     std::uint32_t puzzle_bits)>;

  std::int64_t unix_ms() const;
  LocalUser& user(const std::string& email);
  Recipient& recipient(const Bytes& key, const std::string& email);

  void send(const net::NodeHandle& to, const proto::services::NotifyMessage& m);
  void refuse(const net::NodeHandle& from, const std::string& why);

  // Requests that expect one answer: from `to`, or from whoever is root for a routed one.
  std::uint64_t expect(std::optional<net::NodeHandle> to, net::Duration timeout,
                       std::function<void(const proto::services::NotifyMessage*)> on_answer);
  void answered(const net::NodeHandle& from, const proto::services::NotifyMessage& m);

  // Sender.
  void send_found(std::uint64_t id, Result<UserRecord> recipient);
  void deliver_direct(std::uint64_t id, const net::NodeHandle& contact);
  void send_delegated(std::uint64_t id);
  void finish_send(std::uint64_t id, Result<SendResult> result);

  // Recipient.
  void handle_deliver(const net::NodeHandle& from, const proto::services::NotifyMessage& m);
  // Checks and keeps a notification for a local user; `reply` says how it went.
  void receive(Bytes notification, std::uint64_t puzzle_nonce, ReplyFn reply);
  void find_sender(const std::string& email, std::function<void(Result<UserCertificate>)> done);

  // Delegates.
  void handle_delegate(const net::NodeHandle& source, const Id& key,
                       const proto::services::NotifyMessage& m);
  void finish_coordination(std::uint64_t id, const std::string& error);
  void handle_hold(const net::NodeHandle& from, const proto::services::NotifyMessage& m);
  Status hold(const Id& id, const proto::services::HeldNotification& record);
  void watch(const Bytes& recipient_key);
  void unwatch_if_idle(const Bytes& recipient_key);
  void on_presence(const Bytes& recipient_key, ByteView payload);
  void recheck_recipient(const Bytes& recipient_key);
  void deliver_held(const Bytes& recipient_key, const net::NodeHandle& node);
  void forget_held(const Id& id);
  // Sends a copy of each held notification to the nodes among the k closest to its key for
  // which `needs(key, node)` holds.
  void replicate(const std::function<bool(const Id& key, const net::NodeHandle& node)>& needs);
  void tick();

  // Takes up what the store holds from an earlier run.
  void load();

  pastry::PastryNode& pastry_;
  net::Transport& transport_;
  net::Clock& clock_;
  scribe::ScribeNode& scribe_;
  UserDirectory& directory_;
  past::BlockStore& store_;
  NotificationServiceConfig config_;
  Rng rng_;
  NotificationStats stats_;
  Handler handler_;
  using Requests = net::RequestTable<proto::services::NotifyMessage>;
  Requests requests_;

  std::map<std::string, std::unique_ptr<LocalUser>> users_;        // by email
  std::unordered_map<std::string, std::string> user_by_key_;        // signing key (hex) -> email
  std::unordered_map<Id, std::unique_ptr<Held>> held_;              // by notification id
  std::map<Bytes, std::unique_ptr<Recipient>> recipients_;         // by signing key: held for
  std::unordered_map<std::string, std::pair<UserCertificate, net::Time>> certificates_;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingSend>> sends_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Coordination>> coordinations_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_sequence_ = 1;  // of delivered notifications
  net::Time started_at_;
  net::TimerId tick_timer_ = net::kNoTimer;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::services
