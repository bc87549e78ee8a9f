// POST's services on 200 simulated nodes (issue 6): users exchange messages (secure store +
// notifications) while a third of them are offline; each message reaches its recipient exactly
// once after the recipient returns, and no node's store holds a message's plaintext. On the
// same size of ring: a forged notification is refused, a tampered log record and a rolled-back
// log head are detected, and the same 1 MiB attachment stored by two users exists once.
#include <gtest/gtest.h>

#include <set>

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/past/errors.h"
#include "host/post/errors.h"
#include "host/post/log.h"
#include "host/post/proto/notification.pb.h"
#include "host/post/proto/notify.pb.h"
#include "tools/post-sim/post_scenario.h"

namespace post::sim {
namespace {

using namespace std::chrono_literals;
using services::LogConfig;
using services::LogReader;
using services::LogRecord;
using services::LogWriter;
using services::PostErrc;

TEST(PostSim, TwoHundredNodesFiftyUsersAThirdOfThemOfflineEveryMessageOnceNoPlaintext) {
  PostScenarioOptions o;
  o.ring.ring.nodes = 200;
  o.ring.ring.seed = 5;
  o.users = 50;
  o.messages = 300;
  o.offline_fraction = 1.0 / 3.0;
  o.offline = 5min;
  PostReport r = run_post_scenario(o);
  EXPECT_EQ(r.nodes, 200u);
  EXPECT_EQ(r.offline_users, 17u);
  EXPECT_EQ(r.sent, 300u) << r.first_send_error;
  EXPECT_GT(r.sent_delegated, 50u);  // about a third of 300 went to offline recipients
  EXPECT_GT(r.sent_direct, 100u);
  EXPECT_EQ(r.delivered, 300u);
  EXPECT_EQ(r.duplicates_to_app, 0u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.bodies_fetched, 300u);
  EXPECT_EQ(r.plaintext_blocks_found, 0u);
  EXPECT_EQ(r.held_at_end, 0u);
  EXPECT_GT(r.mean_delivery_seconds_offline, 0);
}

TEST(PostSim, ThePlaintextScanFindsABodyStoredInTheClear) {
  past::MemoryBlockStore store;
  Bytes clear = to_bytes("header bytes ");
  Bytes body = to_bytes(std::string(kPlaintextMarker) + " message 1");
  clear.insert(clear.end(), body.begin(), body.end());
  ASSERT_TRUE(store.put(past::BlockKey{Id::hash_of(clear)}, clear).ok());
  ASSERT_TRUE(store.put(past::BlockKey{Id::hash_of(to_bytes("x"))}, to_bytes("other")).ok());
  EXPECT_EQ(count_plaintext_blocks(store), 1u);
}

class PostRing200 : public ::testing::Test {
 protected:
  PostRing200() {
    PostRingConfig config;
    config.ring.nodes = 200;
    config.ring.seed = 8;
    // No lookup cache: a reader must meet the replicas themselves (the tampered ones).
    config.past.cache_bytes = 0;
    ring = std::make_unique<PostRing>(config);
    EXPECT_TRUE(ring->build().failed.empty());
    ring->ring().run_for(20s);
    nodes = ring->ring().members();
  }

  template <class T>
  T wait(const std::function<void(std::function<void(T)>)>& op) {
    std::optional<T> out;
    op([&](T r) { out.emplace(std::move(r)); });
    ring->run_until([&] { return out.has_value(); }, 2min);
    if (!out) {
      ADD_FAILURE() << "no answer within two virtual minutes";
      std::abort();
    }
    return std::move(*out);
  }

  // Distinct handles stored on live nodes, and how many copies each has.
  std::map<Id, int> stored_handles() {
    std::map<Id, int> out;
    for (SimNode n : ring->ring().members()) {
      ring->past_ring().store(n)->for_each([&](const past::BlockKey& key, std::uint64_t) {
        ++out[key.handle];
        return true;
      });
    }
    return out;
  }

  std::unique_ptr<PostRing> ring;
  std::vector<SimNode> nodes;
};

TEST_F(PostRing200, TheSameAttachmentFromTwoUsersIsStoredOnce) {
  Rng content_rng(99);
  const Bytes attachment = content_rng.bytes(1024 * 1024);
  const auto before = stored_handles();
  auto first = wait<Result<services::StoredObject>>([&](auto done) {
    ring->secure_store(nodes[10])->store(attachment, {}, done);
  });
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto second = wait<Result<services::StoredObject>>([&](auto done) {
    ring->secure_store(nodes[150])->store(attachment, {}, done);
  });
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(first->handle, second->handle);
  EXPECT_EQ(first->key, second->key);
  EXPECT_EQ(first->object_bytes, attachment.size());

  const auto after = stored_handles();
  std::size_t new_handles = 0;
  for (const auto& [handle, copies] : after) {
    if (before.contains(handle)) continue;
    ++new_handles;
    EXPECT_EQ(copies, 3) << handle.short_hex();  // k replicas, not 2k
  }
  EXPECT_EQ(new_handles, first->blocks);

  auto fetched = wait<Result<Bytes>>([&](auto done) {
    ring->secure_store(nodes[77])->fetch(first->handle, first->key, done);
  });
  ASSERT_TRUE(fetched.ok()) << fetched.error().to_string();
  EXPECT_EQ(*fetched, attachment);
}

TEST_F(PostRing200, AForgedNotificationIsRefusedAndTheGenuineOneDelivered) {
  auto alice = ring->add_user("alice@sim.example", nodes[1]).value();
  auto bob = ring->add_user("bob@sim.example", nodes[2]).value();
  auto mallory = ring->add_user("mallory@sim.example", nodes[3]).value();
  const SimNode bob_home = nodes[120], mallory_home = nodes[40];
  ASSERT_TRUE(ring->serve(nodes[60], alice).ok());
  ASSERT_TRUE(ring->serve(bob_home, bob).ok());
  ASSERT_TRUE(ring->serve(mallory_home, mallory).ok());
  std::vector<std::string> from;
  ring->notify(bob_home)->set_handler(
      [&](const std::string&, const services::DeliveredNotification& d) {
        from.push_back(d.notification.sender_email);
      });

  // Mallory signs a notification that names Alice as its sender.
  services::OutgoingNotification n;
  n.application = "epost";
  n.app_data = to_bytes("wire the money");
  Bytes forged =
      services::make_notification(mallory.keys, mallory.certificate, bob.certificate, n,
                                  static_cast<std::uint64_t>(ring->unix_now()) * 1000)
          .value();
  proto::services::Notification wire_form;
  ASSERT_TRUE(wire_form.ParseFromArray(forged.data(), static_cast<int>(forged.size())));
  proto::services::NotificationBody body;
  ASSERT_TRUE(body.ParseFromString(wire_form.body()));
  body.set_sender_email(alice.email());
  body.set_sender(to_string(alice.certificate.signing_key));
  wire_form.set_body(body.SerializeAsString());
  Bytes signed_part = to_bytes("post-notify-v1");
  signed_part.insert(signed_part.end(), wire_form.body().begin(), wire_form.body().end());
  wire_form.set_signature(to_string(crypto::sign(mallory.keys.signing_key, signed_part).value()));
  proto::services::NotifyMessage m;
  m.set_request_id(1);
  m.mutable_deliver()->set_notification(wire_form.SerializeAsString());
  ASSERT_TRUE(ring->ring()
                  .network()
                  .transport(mallory_home)
                  .send(ring->ring().node(bob_home)->local(), net::Channel::kPost,
                        wire::encode_message(m))
                  .ok());
  ring->ring().run_for(10s);
  EXPECT_TRUE(from.empty());
  EXPECT_EQ(ring->notify(bob_home)->stats().refused, 1u);

  auto sent = ring->send(nodes[60], alice, bob.email(), n);
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  ASSERT_EQ(from.size(), 1u);
  EXPECT_EQ(from[0], alice.email());
}

TEST_F(PostRing200, ATamperedLogRecordAndARolledBackHeadAreDetected) {
  const auto log_key = crypto::generate_signing_key();
  const SimNode writer_node = nodes[30];
  LogConfig config;
  config.cluster_records = 4;
  auto writer = wait<Result<std::unique_ptr<LogWriter>>>([&](auto done) {
    LogWriter::open(*ring->past_ring().past(writer_node), *ring->secure_store(writer_node),
                    ring->ring().network().clock(writer_node), log_key.private_key, config, done);
  });
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  auto append = [&](int i) {
    auto index = wait<Result<std::uint64_t>>([&](auto done) {
      (*writer)->append(to_bytes("record " + std::to_string(i)), done);
    });
    ASSERT_TRUE(index.ok()) << index.error().to_string();
  };
  for (int i = 0; i < 9; ++i) append(i);
  const Id head_handle = past::public_key_handle(log_key.public_key);
  auto head_holders = ring->past_ring().holders(head_handle);
  ASSERT_EQ(head_holders.size(), 3u);
  const Bytes old_head = ring->past_ring().store(head_holders[0])->get(past::BlockKey{head_handle})
                             .value()
                             .value();
  for (int i = 9; i < 11; ++i) append(i);

  auto reader = [&](SimNode n) {
    return std::make_unique<LogReader>(*ring->past_ring().past(n), *ring->secure_store(n),
                                       log_key.public_key);
  };
  auto since = [&](LogReader& r) {
    return wait<Result<std::vector<LogRecord>>>([&](auto done) { r.read_since(0, done); });
  };
  auto seen_all = reader(nodes[170]);
  auto all = since(*seen_all);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  ASSERT_EQ(all->size(), 11u);

  // Every replica of the head rolled back to the older, validly signed version.
  for (SimNode h : head_holders) {
    ASSERT_TRUE(ring->past_ring().store(h)->put(past::BlockKey{head_handle}, old_head).ok());
  }
  auto rolled = since(*seen_all);
  ASSERT_FALSE(rolled.ok());
  EXPECT_EQ(rolled.error().code, PostErrc::kRolledBack) << rolled.error().to_string();

  // Every replica of the newest full cluster tampered with: no reader gets wrong records.
  const Id tip = *(*writer)->head().tip;
  auto tip_holders = ring->past_ring().holders(tip);
  ASSERT_EQ(tip_holders.size(), 3u);
  auto stored = ring->past_ring().store(tip_holders[0])->get(past::BlockKey{tip}).value().value();
  Bytes content = past::decode_block(stored).value().content;
  content[content.size() / 2] ^= 0x08;
  const Bytes tampered = past::make_content_block(content).encoded;
  for (SimNode h : tip_holders) {
    ASSERT_TRUE(ring->past_ring().store(h)->put(past::BlockKey{tip}, tampered).ok());
  }
  auto fresh = reader(nodes[190]);
  auto broken = since(*fresh);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, past::PastErrc::kNotFound) << broken.error().to_string();
}

}  // namespace
}  // namespace post::sim
