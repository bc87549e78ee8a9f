// PastNode on a small simulated ring: inserts reach the k closest nodes, lookups find blocks,
// and replicas or inserters that misbehave change nothing (issue 4, adversarial tests).
#include "host/past/past_node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/past/errors.h"
#include "host/past/proto/block.pb.h"
#include "host/past/proto/past.pb.h"
#include "tools/post-sim/past_scenario.h"

namespace post::past {
namespace {

using namespace std::chrono_literals;
using sim::PastRing;
using sim::SimNode;

// Catches what arrives on a node's PAST channel when that node runs no PastNode: the part a
// misbehaving peer plays in these tests.
struct Rogue : net::MessageHandler {
  // Keeps the replies to inserts and stores; maintenance traffic from neighbours is ignored.
  void on_message(const NodeHandle& /*from*/, ByteView payload) override {
    auto m = wire::decode_message<proto::past::PastMessage>(payload, "test");
    if (m.ok() && (m->has_insert_reply() || m->has_store_reply())) received.push_back(*m);
  }
  std::vector<proto::past::PastMessage> received;
};

class PastRingTest : public ::testing::Test {
 protected:
  PastRingTest() {
    sim::SimRingConfig ring;
    ring.nodes = 24;
    ring.seed = 11;
    ring.pastry.leaf_set_size = 8;
    config_.maintenance_interval = 30s;
    ring_ = std::make_unique<PastRing>(ring, config_);
    EXPECT_TRUE(ring_->build().failed.empty());
    ring_->ring().run_for(20s);
  }

  std::vector<SimNode> members() { return ring_->ring().members(); }

  Result<InsertResult> insert(SimNode from, const Block& block) {
    std::optional<Result<InsertResult>> out;
    ring_->past(from)->insert(block, [&](Result<InsertResult> r) { out = std::move(r); });
    ring_->ring().run_for(40s);
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Result<InsertResult>(make_error(PastErrc::kTimeout, "none"));
  }

  Result<Block> lookup(SimNode from, const Id& handle) {
    std::optional<Result<Block>> out;
    ring_->past(from)->lookup(handle, [&](Result<Block> r) { out = std::move(r); });
    ring_->ring().run_for(40s);
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Result<Block>(make_error(PastErrc::kTimeout, "none"));
  }

  // A member that is not among `avoid`.
  SimNode other_than(const std::vector<SimNode>& avoid) {
    for (SimNode n : members()) {
      if (std::find(avoid.begin(), avoid.end(), n) == avoid.end()) return n;
    }
    return members().front();
  }

  // Turns a member that is no replica of any of `handles` into a rogue: its PastNode goes,
  // the test sees its PAST channel.
  SimNode make_rogue(Rogue& rogue, const std::vector<Id>& handles) {
    auto oracle = ring_->ring().oracle();
    SimNode node = members().back();
    for (SimNode n : members()) {
      const Id& id = ring_->ring().node(n)->local().id;
      bool replica = false;
      for (const auto& h : handles) {
        for (const auto& r : sim::k_closest(oracle, h, 3)) replica = replica || r.id == id;
      }
      if (!replica) node = n;
    }
    ring_->detach_past(node);
    ring_->ring().network().transport(node).set_handler(net::Channel::kPast, &rogue);
    return node;
  }

  PastConfig config_;
  std::unique_ptr<PastRing> ring_;
};

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// `block` re-encoded with one byte of its signature flipped.
Bytes with_bad_signature(const Block& block) {
  proto::past::Block b;
  EXPECT_TRUE(b.ParseFromArray(block.encoded.data(), static_cast<int>(block.encoded.size())));
  std::string sig = b.signature();
  sig[0] = static_cast<char>(sig[0] ^ 1);
  b.set_signature(sig);
  return wire::encode_message(b);
}

TEST_F(PastRingTest, AnInsertLandsOnTheKClosestAndEveryNodeFindsIt) {
  Block block = make_content_block(text("the first block"));
  Id handle = handle_of(block);
  auto result = insert(members()[3], block);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->stored_on.size(), 3u);
  EXPECT_TRUE(result->failed.empty());
  EXPECT_EQ(ring_->replicas_in_place(handle, ring_->ring().oracle()), 3);
  EXPECT_EQ(ring_->holders(handle).size(), 3u);
  for (SimNode n : members()) {
    auto found = lookup(n, handle);
    ASSERT_TRUE(found.ok()) << "from node " << n << ": " << found.error().to_string();
    EXPECT_EQ(found->encoded, block.encoded);
  }
}

TEST_F(PastRingTest, ALookupOfAnUnknownHandleIsNotFound) {
  auto found = lookup(members()[0], Id::hash_of(text("never stored")));
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, PastErrc::kNotFound) << found.error().to_string();
}

TEST(PastCache, LookupsOfAPopularBlockEndEarlierOnCachedCopies) {
  // A ring big enough for routes of several hops.
  sim::SimRingConfig config;
  config.nodes = 250;
  config.seed = 21;
  PastRing ring(config, PastConfig{});
  ASSERT_TRUE(ring.build().failed.empty());
  ring.ring().run_for(20s);
  Block block = make_content_block(text("popular"));
  Id handle = handle_of(block);
  auto members = ring.ring().members();
  std::optional<Result<InsertResult>> inserted;
  ring.past(members[0])->insert(block, [&](Result<InsertResult> r) { inserted = std::move(r); });
  ring.ring().run_for(20s);
  ASSERT_TRUE(inserted && inserted->ok());
  int found = 0;
  for (SimNode n : members) {
    ring.past(n)->lookup(handle, [&](Result<Block> r) {
      if (r.ok() && r->encoded == block.encoded) ++found;
    });
    ring.ring().run_for(200ms);
  }
  ring.ring().run_for(40s);
  EXPECT_EQ(found, static_cast<int>(members.size()));
  std::uint64_t from_cache = 0, cached_bytes = 0;
  for (SimNode n : members) {
    from_cache += ring.past(n)->stats().served_from_cache;
    cached_bytes += ring.past(n)->cache_bytes();
  }
  // Copies were offered back along the routes, and later lookups met them on the way.
  EXPECT_GT(cached_bytes, 0u);
  EXPECT_GT(from_cache, 0u);
}

TEST_F(PastRingTest, ACorruptReplicaIsDetectedAndTheReaderGetsAGoodCopy) {
  Block block = make_content_block(text("precious"));
  Id handle = handle_of(block);
  ASSERT_TRUE(insert(members()[0], block).ok());
  // The root and the next closest replica now return flipped bytes; the third is sound.
  auto holders = ring_->holders(handle);
  ASSERT_EQ(holders.size(), 3u);
  auto closest = sim::k_closest(ring_->ring().oracle(), handle, 3);
  Bytes corrupt = block.encoded;
  corrupt.back() ^= 0x40;
  for (std::size_t i = 0; i < 2; ++i) {
    SimNode node = ring_->node_of(closest[i].id);
    ASSERT_TRUE(ring_->store(node)->put(BlockKey{handle}, corrupt).ok());
  }
  SimNode reader = other_than(holders);
  auto found = lookup(reader, handle);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(found->encoded, block.encoded);
  EXPECT_GT(ring_->past(reader)->stats().bad_copies, 0u);
}

// The reader itself holds a corrupted replica, and so do the other holders: the lookup fails;
// it never answers with the corrupted bytes (it once took the local copy as the best answer).
TEST_F(PastRingTest, AReaderHoldingACorruptReplicaNeverGetsItBack) {
  Block block = make_content_block(text("precious too"));
  Id handle = handle_of(block);
  ASSERT_TRUE(insert(members()[0], block).ok());
  auto holders = ring_->holders(handle);
  ASSERT_EQ(holders.size(), 3u);
  Bytes corrupt = block.encoded;
  corrupt.back() ^= 0x40;
  for (SimNode node : holders) ASSERT_TRUE(ring_->store(node)->put(BlockKey{handle}, corrupt).ok());
  auto found = lookup(holders[0], handle);
  ASSERT_FALSE(found.ok()) << "a corrupted copy came back";
  EXPECT_EQ(found.error().code, PastErrc::kNotFound) << found.error().to_string();
  // With one sound replica left, the reader gets the sound copy.
  ASSERT_TRUE(ring_->store(holders[2])->put(BlockKey{handle}, block.encoded).ok());
  found = lookup(holders[0], handle);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(found->encoded, block.encoded);
}

TEST_F(PastRingTest, AnOlderValidlySignedPublicKeyBlockNeverWinsAndStaleReplicasAreRepaired) {
  Bytes key = crypto::generate_signing_key().private_key;
  auto v1 = make_public_key_block(key, 1, text("version 1"));
  auto v2 = make_public_key_block(key, 2, text("version 2"));
  ASSERT_TRUE(v1.ok() && v2.ok());
  Id handle = handle_of(*v1);
  ASSERT_TRUE(insert(members()[0], *v1).ok());
  ASSERT_TRUE(insert(members()[1], *v2).ok());
  // Two of the three replicas roll back to version 1 (as a replica replaying old data would).
  auto holders = ring_->holders(handle);
  ASSERT_EQ(holders.size(), 3u);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(ring_->store(holders[i])->put(BlockKey{handle}, v1->encoded).ok());
  }
  SimNode reader = other_than(holders);
  auto found = lookup(reader, handle);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(found->timestamp, 2u);
  EXPECT_EQ(found->encoded, v2->encoded);
  ring_->ring().run_for(5s);
  for (SimNode h : holders) {
    auto held = ring_->store(h)->get(BlockKey{handle});
    ASSERT_TRUE(held.ok() && *held);
    EXPECT_EQ(**held, v2->encoded) << "replica on node " << h << " was not repaired";
  }
  // And an insert of the old version is refused as stale.
  auto again = insert(members()[2], *v1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, PastErrc::kStaleTimestamp) << again.error().to_string();
}

TEST_F(PastRingTest, BadInsertsFromAPeerAreRefusedWithSpecificErrorsAndNothingIsStored) {
  Bytes key = crypto::generate_signing_key().private_key;
  auto newer = make_public_key_block(key, 5, text("newer"));
  auto older = make_public_key_block(key, 4, text("older"));
  ASSERT_TRUE(newer.ok() && older.ok());
  ASSERT_TRUE(insert(members()[0], *newer).ok());

  struct Case {
    const char* what;
    Id handle;
    Bytes block;
    PastErrc expected;
  };
  Block good = make_content_block(text("honest content"));
  Bytes huge_content(kMaxBlockBytes + 16, 0x5a);
  Block huge = make_content_block(huge_content);
  std::vector<Case> cases = {
      {"wrong handle", Id::hash_of(text("some other content")), good.encoded,
       PastErrc::kWrongHandle},
      {"bad signature", handle_of(*newer), with_bad_signature(*newer), PastErrc::kBadSignature},
      {"stale timestamp", handle_of(*older), older->encoded, PastErrc::kStaleTimestamp},
      {"oversized", handle_of(huge), huge.encoded, PastErrc::kTooLarge},
  };
  std::vector<Id> handles = {handle_of(*newer)};
  for (const Case& c : cases) handles.push_back(c.handle);
  Rogue rogue;
  SimNode bad = make_rogue(rogue, handles);
  auto& pastry = *ring_->ring().node(bad);
  std::uint64_t id = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    rogue.received.clear();
    proto::past::PastMessage m;
    auto* r = m.mutable_insert();
    r->set_request_id(++id);
    r->set_handle(c.handle.bytes().data(), Id::kBytes);
    r->set_block(c.block.data(), c.block.size());
    r->set_replicas(3);
    pastry.route(c.handle, pastry::AppId::kPast, wire::encode_message(m));
    ring_->ring().run_for(20s);
    ASSERT_EQ(rogue.received.size(), 1u);
    const auto& reply = rogue.received[0].insert_reply();
    EXPECT_EQ(reply.request_id(), id);
    EXPECT_EQ(reply.error_code(), static_cast<std::uint32_t>(c.expected)) << reply.error();
    EXPECT_EQ(reply.stored_on_size(), 0);
    if (c.handle == handle_of(*newer)) {
      for (SimNode h : ring_->holders(c.handle)) {
        EXPECT_EQ(**ring_->store(h)->get(BlockKey{c.handle}), newer->encoded);
      }
    } else {
      EXPECT_TRUE(ring_->holders(c.handle).empty());
    }
  }
  // The same refusals when a peer sends a replica the block directly.
  auto replica = ring_->holders(handle_of(*newer)).front();
  const NodeHandle& target = ring_->ring().node(replica)->local();
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("direct store: ") + c.what);
    rogue.received.clear();
    proto::past::PastMessage m;
    auto* s = m.mutable_store();
    s->set_request_id(++id);
    s->set_handle(c.handle.bytes().data(), Id::kBytes);
    s->set_block(c.block.data(), c.block.size());
    ASSERT_TRUE(ring_->ring()
                    .network()
                    .transport(bad)
                    .send(target, net::Channel::kPast, wire::encode_message(m))
                    .ok());
    ring_->ring().run_for(5s);
    ASSERT_EQ(rogue.received.size(), 1u);
    EXPECT_EQ(rogue.received[0].store_reply().error_code(), static_cast<std::uint32_t>(c.expected));
  }
  EXPECT_EQ(**ring_->store(replica)->get(BlockKey{handle_of(*newer)}), newer->encoded);
}

TEST_F(PastRingTest, AnInsertPastTheQuotaIsRefusedWithQuotaExceeded) {
  // A ring whose nodes hold at most two 4 KiB blocks each.
  sim::SimRingConfig ring;
  ring.nodes = 8;
  ring.seed = 3;
  PastConfig small = config_;
  small.quota_bytes = 9 * 1024;
  PastRing tight(ring, small);
  ASSERT_TRUE(tight.build().failed.empty());
  tight.ring().run_for(20s);
  int ok = 0, over_quota = 0;
  for (int i = 0; i < 12; ++i) {
    std::optional<Result<InsertResult>> out;
    Bytes content(4000, static_cast<std::uint8_t>(i));
    tight.past(0)->insert(make_content_block(content), [&](Result<InsertResult> r) { out = r; });
    tight.ring().run_for(30s);
    ASSERT_TRUE(out.has_value());
    if (out->ok()) {
      ++ok;
    } else {
      EXPECT_EQ(out->error().code, PastErrc::kQuotaExceeded) << out->error().to_string();
      ++over_quota;
    }
  }
  // 8 nodes x 2 blocks / 3 replicas: at most 5 fit.
  EXPECT_LE(ok, 5);
  EXPECT_GT(over_quota, 0);
  for (SimNode n : tight.ring().members()) EXPECT_LE(tight.store(n)->bytes_used(), small.quota_bytes);
}

}  // namespace
}  // namespace post::past
