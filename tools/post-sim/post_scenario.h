// POST on a simulated ring: every node runs PAST, Scribe, the user directory, presence and the
// notification service (PostRing), and the `post` scenario of post-sim runs users sending each
// other messages over it while some recipients are offline.
//
// A message is what ePOST sends: the body goes into the secure store (convergent encryption
// into PAST) and a notification carries its handle, with its key sealed to the recipient.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/core/certificate.h"
#include "host/past/block_store.h"
#include "host/post/account.h"
#include "host/post/notification_service.h"
#include "host/post/presence.h"
#include "host/post/secure_store.h"
#include "host/scribe/scribe_node.h"
#include "tools/post-sim/past_scenario.h"

namespace post::sim {

struct PostRingConfig {
  SimRingConfig ring;
  past::PastConfig past;
  scribe::ScribeConfig scribe;
  services::PresenceConfig presence;
  services::NotificationServiceConfig notify;
  // The wall clock (unix seconds) when the ring starts: certificates are valid around it.
  std::int64_t unix_start = 1'800'000'000;
};

// A user of the simulation: keys drawn from the ring's seeded Rng, certificate by its CA.
struct SimUser {
  UserKeys keys;
  UserCertificate certificate;
  const std::string& email() const { return certificate.email; }
};

class PostRing {
 public:
  explicit PostRing(PostRingConfig config);
  ~PostRing();
  PostRing(const PostRing&) = delete;
  PostRing& operator=(const PostRing&) = delete;

  // Builds the Pastry ring, then starts the POST layers on every member.
  JoinReport build(const SimRing::Progress& progress = {});

  SimRing& ring() { return past_.ring(); }
  PastRing& past_ring() { return past_; }
  const CaKey& ca() const { return ca_; }
  std::int64_t unix_now();

  scribe::ScribeNode* scribe(SimNode n) { return at(scribes_, n); }
  services::UserDirectory* directory(SimNode n) { return at(directories_, n); }
  services::PresenceAnnouncer* presence(SimNode n) { return at(announcers_, n); }
  services::NotificationService* notify(SimNode n) { return at(services_, n); }
  services::SecureStore* secure_store(SimNode n) { return at(secure_stores_, n); }
  past::MemoryBlockStore* notification_store(SimNode n) { return at(notification_stores_, n); }

  // Runs the network until `done()` or `limit` of virtual time passed, checking every `step`.
  bool run_until(const std::function<bool()>& done, Duration limit,
                 Duration step = std::chrono::milliseconds(100));

  // A new user with `email` (keys from the ring's Rng), whose certificate block is published
  // from `via`.
  Result<SimUser> add_user(const std::string& email, SimNode via);
  // `node` serves `user` from now on: identity with this node as contact, presence, deliveries.
  Status serve(SimNode node, const SimUser& user, std::uint32_t puzzle_bits = 0);
  // `node` stops serving `user` (the user went offline).
  void unserve(SimNode node, const SimUser& user);
  // Sends a notification and waits for the sender's answer.
  Result<services::SendResult> send(SimNode from, const SimUser& sender,
                                    const std::string& recipient_email,
                                    services::OutgoingNotification notification);
  // Destroys `node`'s notification service and starts a new one over the same store: what a
  // restart of the process keeps. Local users must be added again.
  void restart_notify(SimNode node);

  // Crashes `victims`: their POST layers go first, then their PAST and Pastry nodes.
  void crash(const std::vector<SimNode>& victims);

 private:
  template <class T>
  static T* at(const std::vector<std::unique_ptr<T>>& v, SimNode n) {
    return n < v.size() ? v[n].get() : nullptr;
  }
  void start_layers(SimNode n);
  void stop_layers(SimNode n);

  PostRingConfig config_;
  CaKey ca_;
  PastRing past_;
  std::vector<std::unique_ptr<scribe::ScribeNode>> scribes_;
  std::vector<std::unique_ptr<services::UserDirectory>> directories_;
  std::vector<std::unique_ptr<services::PresenceAnnouncer>> announcers_;
  std::vector<std::unique_ptr<past::MemoryBlockStore>> notification_stores_;
  std::vector<std::unique_ptr<services::NotificationService>> services_;
  std::vector<std::unique_ptr<services::SecureStore>> secure_stores_;
};

struct PostScenarioOptions {
  PostRingConfig ring;
  std::size_t users = 50;
  std::size_t messages = 200;
  // Share of the recipients that go offline before the messages are sent, and for how long.
  double offline_fraction = 0;
  Duration offline = std::chrono::minutes(5);
  // Each message body is this many random bytes (stored through the secure store).
  std::size_t body_bytes = 2048;
  // Virtual time after the offline users come back for the last deliveries.
  Duration drain = std::chrono::minutes(5);
  SimRing::Progress join_progress;
  std::function<void(const std::string& phase)> on_phase;
};

struct PostReport {
  std::size_t nodes = 0;
  std::size_t users = 0;
  std::size_t messages = 0;
  std::size_t sent = 0;            // the sender's node reported success
  std::size_t send_failures = 0;
  std::string first_send_error;
  std::size_t sent_direct = 0;
  std::size_t sent_delegated = 0;
  std::size_t delivered = 0;       // messages their recipient's application got
  std::size_t duplicates_to_app = 0;
  std::size_t lost = 0;            // sent, never delivered
  std::size_t bodies_fetched = 0;  // delivered messages whose body the recipient fetched intact
  std::size_t plaintext_blocks_found = 0;
  std::size_t offline_users = 0;
  double mean_delivery_seconds_online = 0;
  double mean_delivery_seconds_offline = 0;  // from the recipient's return
  std::size_t held_at_end = 0;     // notifications still held by delegates at the end
  double virtual_seconds = 0;      // virtual time of the whole run
  double seconds = 0;              // wall time of the whole run
};

PostReport run_post_scenario(const PostScenarioOptions& options);

// Every message body of the scenario starts with this marker.
inline constexpr std::string_view kPlaintextMarker = "POST-SIM-PLAINTEXT:";
// How many of the blocks in `store` hold the marker in the clear anywhere in their bytes.
std::size_t count_plaintext_blocks(past::BlockStore& store);

}  // namespace post::sim
