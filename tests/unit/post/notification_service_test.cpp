// Notification delivery on a small simulated ring (PostRing: PAST, Scribe, directory, presence,
// notification service on every node): direct delivery to an online recipient; delegates that
// keep notifications for an offline one (durably: across their own restart) and deliver when
// the recipient's presence comes back on another node; exactly once to the application, also
// after the recipient's node restarts; forged, tampered and replayed notifications refused;
// the sender puzzle and the block list.
#include "host/post/notification_service.h"

#include <gtest/gtest.h>

#include <set>

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/post/errors.h"
#include "host/post/proto/notification.pb.h"
#include "host/post/proto/notify.pb.h"
#include "tools/post-sim/post_scenario.h"

namespace post::services {
namespace {

using namespace std::chrono_literals;
using sim::PostRing;
using sim::SimNode;
using sim::SimUser;

class NotifyRing : public ::testing::Test {
 protected:
  NotifyRing() {
    sim::PostRingConfig config;
    config.ring.nodes = 16;
    config.ring.seed = 61;
    config.ring.pastry.leaf_set_size = 8;
    config.past.replicas = 3;
    config.presence.interval = 5s;
    config.notify.recheck_interval = 10s;
    config.notify.deliver_timeout = 3s;
    config.notify.delegate_timeout = 5s;
    ring = std::make_unique<PostRing>(config);
    EXPECT_TRUE(ring->build().failed.empty());
    ring->ring().run_for(20s);
    nodes = ring->ring().members();
    alice = add("alice@example.org");
    bob = add("bob@example.org");
    carol = add("carol@example.org");
    for (SimNode n : nodes) record_deliveries(n);
  }

  // What `n`'s service hands to applications goes to `handed`.
  void record_deliveries(SimNode n) {
    ring->notify(n)->set_handler([this](const std::string& email, const DeliveredNotification& d) {
      handed[email].push_back(d.notification.id);
    });
  }

  void restart(SimNode n) {
    ring->restart_notify(n);
    record_deliveries(n);
  }

  SimUser add(const std::string& email) {
    auto u = ring->add_user(email, nodes[0]);
    EXPECT_TRUE(u.ok()) << u.error().to_string();
    return std::move(u).value();
  }

  OutgoingNotification note(const std::string& text) {
    OutgoingNotification n;
    n.application = "test";
    n.app_data = to_bytes(text);
    return n;
  }

  // Sends `notification` on the wire from `from` to `to`, as any node could.
  void deliver_raw(SimNode from, SimNode to, ByteView notification, std::uint64_t nonce = 0) {
    proto::services::NotifyMessage m;
    m.set_request_id(77);
    m.mutable_deliver()->set_notification(to_string(notification));
    m.mutable_deliver()->set_puzzle_nonce(nonce);
    ASSERT_TRUE(ring->ring()
                    .network()
                    .transport(from)
                    .send(ring->ring().node(to)->local(), net::Channel::kPost,
                          wire::encode_message(m))
                    .ok());
    ring->ring().run_for(3s);
  }

  std::size_t held_everywhere() {
    std::size_t sum = 0;
    for (SimNode n : nodes) {
      if (ring->notify(n) != nullptr) sum += ring->notify(n)->held_count();
    }
    return sum;
  }

  std::unique_ptr<PostRing> ring;
  std::vector<SimNode> nodes;
  SimUser alice, bob, carol;
  std::map<std::string, std::vector<Id>> handed;  // what each user's application got
};

TEST_F(NotifyRing, DirectWhileOnlineThroughDelegatesWhileOfflineExactlyOnce) {
  const SimNode alice_home = nodes[1], bob_home = nodes[5], bob_laptop = nodes[9];
  ASSERT_TRUE(ring->serve(alice_home, alice).ok());
  ASSERT_TRUE(ring->serve(bob_home, bob).ok());

  auto first = ring->send(alice_home, alice, bob.email(), note("hello"));
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->path, SendPath::kDirect);
  ASSERT_EQ(first->nodes.size(), 1u);
  EXPECT_EQ(first->nodes[0].id, ring->ring().node(bob_home)->local().id);
  ASSERT_EQ(handed["bob@example.org"].size(), 1u);
  EXPECT_EQ(handed["bob@example.org"][0], first->id);
  auto kept = ring->notify(bob_home)->delivered(bob.email());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].notification.sender_email, alice.email());
  EXPECT_EQ(kept[0].notification.app_data, to_bytes("hello"));

  // Bob goes offline: his node no longer serves him. Three notifications go to delegates.
  ring->unserve(bob_home, bob);
  std::set<Id> offline_ids;
  for (int i = 0; i < 3; ++i) {
    auto r = ring->send(alice_home, alice, bob.email(), note("while away " + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->path, SendPath::kDelegated);
    EXPECT_EQ(r->nodes.size(), 3u);
    offline_ids.insert(r->id);
  }
  EXPECT_EQ(held_everywhere(), 9u);
  ring->ring().run_for(30s);  // rechecks find bob's identity naming a node that refuses
  EXPECT_EQ(held_everywhere(), 9u);
  EXPECT_EQ(handed["bob@example.org"].size(), 1u);

  // Every delegate restarts: what it holds is on its store and taken up again.
  for (SimNode n : nodes) {
    if (ring->notify(n)->held_count() > 0) restart(n);
  }
  EXPECT_EQ(held_everywhere(), 9u);

  // Bob comes back on his laptop's node: the delegates see his presence and deliver there.
  ASSERT_TRUE(ring->serve(bob_laptop, bob).ok());
  ASSERT_TRUE(ring->run_until([&] { return handed["bob@example.org"].size() >= 4; }, 60s))
      << handed["bob@example.org"].size();
  ASSERT_TRUE(ring->run_until([&] { return held_everywhere() == 0; }, 60s)) << held_everywhere();
  ring->ring().run_for(30s);  // nothing more arrives
  const auto& got = handed["bob@example.org"];
  ASSERT_EQ(got.size(), 4u);
  std::set<Id> later(got.begin() + 1, got.end());
  EXPECT_EQ(later, offline_ids);

  // Bob's laptop restarts: it remembers what Bob got, and a replay is not handed out again.
  const std::size_t before = ring->notify(bob_laptop)->delivered(bob.email()).size();
  EXPECT_EQ(before, 3u);
  restart(bob_laptop);
  ring->notify(bob_laptop)->add_user(bob.keys, bob.certificate);
  EXPECT_EQ(ring->notify(bob_laptop)->delivered(bob.email()).size(), before);
  auto again = make_notification(alice.keys, alice.certificate, bob.certificate, note("once"),
                                 1'800'000'000'000)
                   .value();
  deliver_raw(nodes[3], bob_laptop, again);
  deliver_raw(nodes[4], bob_laptop, again);
  EXPECT_EQ(handed["bob@example.org"].size(), 5u);
  EXPECT_EQ(ring->notify(bob_laptop)->stats().duplicates, 1u);
}

TEST_F(NotifyRing, FailedDelegatesAreReplacedAndTheNotificationStillArrives) {
  const SimNode alice_home = nodes[1], bob_home = nodes[5];
  ASSERT_TRUE(ring->serve(alice_home, alice).ok());
  ASSERT_TRUE(ring->serve(bob_home, bob).ok());
  ring->unserve(bob_home, bob);

  // A notification none of whose delegates is Alice's or Bob's node.
  std::optional<SendResult> sent;
  for (int attempt = 0; attempt < 10 && !sent; ++attempt) {
    auto r = ring->send(alice_home, alice, bob.email(), note("try " + std::to_string(attempt)));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->path, SendPath::kDelegated);
    bool clear = std::none_of(r->nodes.begin(), r->nodes.end(), [&](const net::NodeHandle& h) {
      return h.id == ring->ring().node(alice_home)->local().id ||
             h.id == ring->ring().node(bob_home)->local().id;
    });
    if (clear) sent = *r;
  }
  ASSERT_TRUE(sent.has_value());
  ASSERT_EQ(sent->nodes.size(), 3u);
  const std::size_t sends = held_everywhere() / 3;

  // Two of its three delegates crash; the third hands copies to the nodes that replace them.
  std::vector<SimNode> victims = {ring->past_ring().node_of(sent->nodes[0].id),
                                  ring->past_ring().node_of(sent->nodes[1].id)};
  ring->crash(victims);
  auto holders_of = [&](const Id& id) {
    int count = 0;
    for (SimNode n : ring->ring().members()) {
      if (ring->notification_store(n)->contains(past::BlockKey{id})) ++count;
    }
    return count;
  };
  ASSERT_TRUE(ring->run_until([&] { return holders_of(sent->id) >= 3; }, 120s))
      << holders_of(sent->id);
  std::uint64_t replicated = 0;
  for (SimNode n : ring->ring().members()) replicated += ring->notify(n)->stats().replicated;
  EXPECT_GT(replicated, 0u);

  ASSERT_TRUE(ring->serve(bob_home, bob).ok());
  ASSERT_TRUE(ring->run_until(
      [&] { return handed["bob@example.org"].size() >= sends; }, 60s));
  ASSERT_TRUE(ring->run_until([&] { return held_everywhere() == 0; }, 60s)) << held_everywhere();
  const auto& got = handed["bob@example.org"];
  EXPECT_EQ(got.size(), sends);
  EXPECT_EQ(std::set<Id>(got.begin(), got.end()).size(), sends);
  EXPECT_NE(std::find(got.begin(), got.end(), sent->id), got.end());
}

// Re-signs a notification's body, after `edit`, with `key`.
Bytes resign(ByteView encoded, ByteView key,
             const std::function<void(proto::services::NotificationBody&)>& edit) {
  proto::services::Notification n;
  EXPECT_TRUE(n.ParseFromArray(encoded.data(), static_cast<int>(encoded.size())));
  proto::services::NotificationBody body;
  EXPECT_TRUE(body.ParseFromString(n.body()));
  edit(body);
  n.set_body(body.SerializeAsString());
  Bytes message = to_bytes("post-notify-v1");
  message.insert(message.end(), n.body().begin(), n.body().end());
  n.set_signature(to_string(crypto::sign(key, message).value()));
  return to_bytes(n.SerializeAsString());
}

TEST_F(NotifyRing, ForgedTamperedAndReplayedNotificationsAreRefused) {
  const SimNode bob_home = nodes[6], attacker = nodes[2];
  ASSERT_TRUE(ring->serve(bob_home, bob).ok());
  NotificationService& service = *ring->notify(bob_home);
  auto mallory = add("mallory@example.org");
  OutgoingNotification with_content = note("see attachment");
  with_content.content_handle = Id::hash_of(to_bytes("attachment"));
  auto sealed = crypto::seal(bob.certificate.agreement_key, to_bytes("k")).value();
  // make_notification seals the key itself: give it the plain key.
  with_content.content_key = Bytes(32, 7);
  auto genuine = make_notification(alice.keys, alice.certificate, bob.certificate, with_content,
                                   1'800'000'000'000)
                     .value();

  // A flipped signature byte.
  Bytes bad_signature = genuine;
  bad_signature[bad_signature.size() - 3] ^= 1;
  deliver_raw(attacker, bob_home, bad_signature);
  // Mallory signs, claiming to be Alice.
  deliver_raw(attacker, bob_home, resign(genuine, mallory.keys.signing_key,
                                         [](proto::services::NotificationBody&) {}));
  // Mallory names herself but Alice's email.
  deliver_raw(attacker, bob_home, resign(genuine, mallory.keys.signing_key,
                                         [&](proto::services::NotificationBody& b) {
                                           b.set_sender(to_string(
                                               mallory.certificate.signing_key));
                                         }));
  // The sealed key changed on the way (the signature no longer holds).
  {
    proto::services::Notification n;
    ASSERT_TRUE(n.ParseFromArray(genuine.data(), static_cast<int>(genuine.size())));
    proto::services::NotificationBody body;
    ASSERT_TRUE(body.ParseFromString(n.body()));
    std::string key = body.sealed_key();
    key[5] ^= 1;
    body.set_sealed_key(key);
    n.set_body(body.SerializeAsString());
    deliver_raw(attacker, bob_home, to_bytes(n.SerializeAsString()));
  }
  // Alice herself sends a key that does not open (tampered before signing).
  deliver_raw(attacker, bob_home, resign(genuine, alice.keys.signing_key,
                                         [&](proto::services::NotificationBody& b) {
                                           b.set_sealed_key(to_string(sealed));
                                         }));
  EXPECT_EQ(service.stats().refused, 5u);
  EXPECT_TRUE(handed["bob@example.org"].empty());
  EXPECT_TRUE(service.delivered(bob.email()).empty());

  // The genuine one is taken once, however often it is replayed.
  deliver_raw(attacker, bob_home, genuine);
  deliver_raw(nodes[3], bob_home, genuine);
  deliver_raw(nodes[8], bob_home, genuine);
  ASSERT_EQ(handed["bob@example.org"].size(), 1u);
  EXPECT_EQ(service.stats().duplicates, 2u);
  auto got = service.delivered(bob.email());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].notification.content_key, Bytes(32, 7));
  EXPECT_EQ(got[0].notification.content_handle, with_content.content_handle);

  // Garbage on the channel is refused and the node goes on.
  Bytes garbage = ring->ring().rng().bytes(200);
  ASSERT_TRUE(ring->ring()
                  .network()
                  .transport(attacker)
                  .send(ring->ring().node(bob_home)->local(), net::Channel::kPost, garbage)
                  .ok());
  ring->ring().run_for(1s);
  EXPECT_GE(service.stats().messages_refused, 1u);
}

TEST_F(NotifyRing, SendersSolveTheRecipientsPuzzleAndBlockedSendersAreTurnedAway) {
  const SimNode bob_home = nodes[4];
  ASSERT_TRUE(ring->serve(nodes[1], alice).ok());
  ASSERT_TRUE(ring->serve(nodes[2], carol).ok());
  ASSERT_TRUE(ring->serve(bob_home, bob, /*puzzle_bits=*/12).ok());

  auto solved = ring->send(nodes[1], alice, bob.email(), note("worked for it"));
  ASSERT_TRUE(solved.ok()) << solved.error().to_string();
  EXPECT_EQ(solved->path, SendPath::kDirect);
  EXPECT_EQ(handed["bob@example.org"].size(), 1u);

  // Without the work, nothing is delivered.
  auto lazy = make_notification(alice.keys, alice.certificate, bob.certificate, note("lazy"),
                                1'800'000'000'000)
                  .value();
  Id lazy_id = peek_notification(lazy).value().id;
  std::uint64_t wrong = 0;
  while (check_puzzle(lazy_id, wrong, 12)) ++wrong;
  deliver_raw(nodes[3], bob_home, lazy, wrong);
  EXPECT_EQ(handed["bob@example.org"].size(), 1u);
  deliver_raw(nodes[3], bob_home, lazy, solve_puzzle(lazy_id, 12));
  EXPECT_EQ(handed["bob@example.org"].size(), 2u);

  ring->notify(bob_home)->block(bob.email(), carol.email());
  auto blocked = ring->send(nodes[2], carol, bob.email(), note("let me in"));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, PostErrc::kSenderBlocked);
  EXPECT_EQ(handed["bob@example.org"].size(), 2u);

  // An unknown recipient is an error from the directory, not a delegation.
  auto nobody = ring->send(nodes[1], alice, "nobody@example.org", note("?"));
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().code, PostErrc::kUnknownRecipient) << nobody.error().to_string();
  EXPECT_EQ(held_everywhere(), 0u);
}

TEST(Puzzle, SolutionsCheckAndOthersDoNot) {
  Id id = Id::hash_of(to_bytes("n"));
  for (std::uint32_t bits : {0u, 1u, 8u, 13u}) {
    std::uint64_t nonce = solve_puzzle(id, bits);
    EXPECT_TRUE(check_puzzle(id, nonce, bits)) << bits;
  }
  std::uint64_t nonce = solve_puzzle(id, 16);
  EXPECT_FALSE(check_puzzle(Id::hash_of(to_bytes("m")), nonce, 16));
  EXPECT_FALSE(check_puzzle(id, nonce, 257));
}

}  // namespace
}  // namespace post::services
