// ScribeNode on simulated rings: subscriptions build a tree, publications reach every member
// once, and the tree heals when a forwarder or the root fails.
#include "host/scribe/scribe_node.h"

#include "host/scribe/errors.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "tools/post-sim/sim_ring.h"

namespace post::scribe {
namespace {

using namespace std::chrono_literals;
using sim::SimNode;

// Counts what each member receives.
struct Inbox : ScribeClient {
  void deliver(const Id& /*group*/, ByteView payload) override {
    ++received[std::string(payload.begin(), payload.end())];
  }
  bool accept_anycast(const Id& /*group*/, ByteView /*payload*/) override {
    ++offered;
    return accepts;
  }
  std::map<std::string, int> received;
  bool accepts = false;
  int offered = 0;
};

class ScribeRing : public ::testing::Test {
 protected:
  ScribeRing() {
    sim::SimRingConfig config;
    config.nodes = 60;
    config.seed = 17;
    config.pastry.leaf_set_size = 8;
    config.pastry.heartbeat_interval = 2s;
    config.pastry.lease = 4s;
    config.pastry.probe_backoff = 500ms;
    scribe_config_.heartbeat_interval = 2s;
    scribe_config_.parent_timeout = 6s;
    scribe_config_.subscribe_timeout = 5s;
    config.on_node_created = [this](SimNode node, pastry::PastryNode& pastry) {
      if (scribe_.size() <= node) scribe_.resize(node + 1);
      scribe_[node] = std::make_unique<ScribeNode>(pastry, ring_->network().transport(node),
                                                   ring_->network().clock(node), scribe_config_,
                                                   1000 + node);
    };
    config.on_node_crashing = [this](SimNode node) { scribe_[node].reset(); };
    ring_ = std::make_unique<sim::SimRing>(config);
    EXPECT_TRUE(ring_->build().failed.empty());
    ring_->run_for(20s);
    group_ = Id::hash_of(as_bytes("lunch"));
  }

  ~ScribeRing() override { scribe_.clear(); }

  // Subscribes `count` members (every third node), expecting each to be acknowledged.
  void subscribe_members(std::size_t count) {
    auto members = ring_->members();
    int acknowledged = 0;
    for (std::size_t i = 0; i < members.size() && member_nodes_.size() < count; i += 3) {
      SimNode n = members[i];
      member_nodes_.push_back(n);
      inbox_[n] = std::make_unique<Inbox>();
      scribe_[n]->subscribe(group_, inbox_[n].get(), [&](Status s) {
        EXPECT_TRUE(s.ok());
        ++acknowledged;
      });
    }
    ring_->run_for(10s);
    EXPECT_EQ(acknowledged, static_cast<int>(member_nodes_.size()));
  }

  // Publishes `text` from a live node and runs; returns the members that got it once.
  int publish_and_count(const std::string& text) {
    auto members = ring_->members();
    scribe_[members[members.size() / 2]]->publish(group_, Bytes(text.begin(), text.end()));
    ring_->run_for(5s);
    int once = 0;
    for (SimNode n : member_nodes_) {
      if (!scribe_[n]) continue;
      int got = inbox_[n]->received[text];
      EXPECT_LE(got, 1) << "node " << n << " got '" << text << "' " << got << " times";
      once += got == 1 ? 1 : 0;
    }
    return once;
  }

  Result<AnycastResult> anycast_from(SimNode from) {
    std::optional<Result<AnycastResult>> out;
    scribe_[from]->anycast(group_, Bytes{1, 2, 3}, [&](Result<AnycastResult> r) { out = r; });
    ring_->run_for(10s);
    EXPECT_TRUE(out.has_value());
    return out ? *out : Result<AnycastResult>(make_error(CoreErrc::kIoError, "no answer"));
  }

  int live_members() {
    int live = 0;
    for (SimNode n : member_nodes_) live += scribe_[n] ? 1 : 0;
    return live;
  }

  // Rebuilds every node's Scribe layer with at most `limit` children per group (before
  // anyone subscribes).
  void limit_children(std::size_t limit) {
    scribe_config_.max_children = limit;
    for (SimNode n : ring_->members()) {
      scribe_[n].reset();  // first: a ScribeNode unregisters itself from Pastry when it goes
      scribe_[n] = std::make_unique<ScribeNode>(*ring_->node(n), ring_->network().transport(n),
                                                ring_->network().clock(n), scribe_config_,
                                                2000 + n);
    }
  }

  // A node below the root with children, preferring one that is not a member itself.
  std::optional<SimNode> forwarder() {
    std::optional<SimNode> found;
    for (SimNode n : ring_->members()) {
      if (scribe_[n] && !scribe_[n]->children(group_).empty() && !scribe_[n]->is_root(group_)) {
        if (!found || !scribe_[n]->is_member(group_)) found = n;
      }
    }
    return found;
  }

  // The node that is root of the group now.
  std::optional<SimNode> root() {
    for (SimNode n : ring_->members()) {
      if (scribe_[n] && scribe_[n]->is_root(group_)) return n;
    }
    return std::nullopt;
  }

  ScribeConfig scribe_config_;
  std::unique_ptr<sim::SimRing> ring_;
  std::vector<std::unique_ptr<ScribeNode>> scribe_;
  std::map<SimNode, std::unique_ptr<Inbox>> inbox_;
  std::vector<SimNode> member_nodes_;
  Id group_;
};

TEST_F(ScribeRing, EveryMemberGetsEachPublicationOnceAndNobodyElseDoes) {
  subscribe_members(15);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(publish_and_count("message " + std::to_string(i)), 15) << i;
  }
  ASSERT_TRUE(root().has_value());
  for (SimNode n : ring_->members()) {
    if (inbox_.count(n) == 0) {
      EXPECT_FALSE(scribe_[n]->is_member(group_));
    }
    EXPECT_EQ(scribe_[n]->stats().duplicates, 0u);
  }
}

TEST_F(ScribeRing, TheTreeHealsWhenAForwarderFails) {
  subscribe_members(15);
  auto interior = forwarder();
  ASSERT_TRUE(interior.has_value()) << "the tree has no interior node";
  ring_->crash(*interior);
  ring_->run_for(scribe_config_.parent_timeout + 2 * scribe_config_.heartbeat_interval + 10s);
  EXPECT_EQ(publish_and_count("after the forwarder failed"), live_members());
}

TEST_F(ScribeRing, TheRootsFailureIsSurvived) {
  subscribe_members(15);
  auto old_root = root();
  ASSERT_TRUE(old_root.has_value());
  ring_->crash(*old_root);
  ring_->run_for(scribe_config_.parent_timeout + 2 * scribe_config_.heartbeat_interval + 20s);
  auto new_root = root();
  ASSERT_TRUE(new_root.has_value());
  EXPECT_NE(*new_root, *old_root);
  EXPECT_EQ(publish_and_count("after the root failed"), live_members());
}

TEST_F(ScribeRing, AnUnsubscribedMemberGetsNothingMore) {
  subscribe_members(15);
  SimNode leaver = member_nodes_.front();
  scribe_[leaver]->unsubscribe(group_);
  ring_->run_for(2s);
  EXPECT_FALSE(scribe_[leaver]->is_member(group_));
  EXPECT_EQ(publish_and_count("after one left"), 14);
  EXPECT_EQ(inbox_[leaver]->received["after one left"], 0);
}

TEST_F(ScribeRing, AnycastFindsTheOneAcceptingMemberFromAnywhere) {
  subscribe_members(15);
  SimNode taker = member_nodes_[7];
  inbox_[taker]->accepts = true;
  const Id& taker_id = ring_->node(taker)->local().id;
  auto members = ring_->members();
  for (std::size_t i = 0; i < members.size(); i += 7) {
    auto found = anycast_from(members[i]);
    ASSERT_TRUE(found.ok()) << "from node " << members[i] << ": " << found.error().to_string();
    EXPECT_EQ(found->member.id, taker_id) << "from node " << members[i];
  }
}

TEST_F(ScribeRing, AnycastAnswersFailureWhenNoMemberAccepts) {
  subscribe_members(15);
  auto found = anycast_from(ring_->members()[4]);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ScribeErrc::kNoMemberAccepted) << found.error().to_string();
  // Every member was asked exactly once.
  for (SimNode n : member_nodes_) EXPECT_EQ(inbox_[n]->offered, 1) << "node " << n;
}

TEST_F(ScribeRing, AnycastToAGroupWithoutMembersFails) {
  auto found = anycast_from(ring_->members()[2]);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ScribeErrc::kNoMemberAccepted) << found.error().to_string();
}

TEST_F(ScribeRing, ANodeWithTooManyChildrenPushesTheExtraDownAndEveryoneStillGetsAll) {
  limit_children(2);
  subscribe_members(20);
  ring_->run_for(10s);
  std::uint64_t redirected = 0;
  for (SimNode n : ring_->members()) {
    EXPECT_LE(scribe_[n]->children(group_).size(), 2u) << "node " << n;
    redirected += scribe_[n]->stats().redirected;
  }
  EXPECT_GT(redirected, 0u);
  EXPECT_EQ(publish_and_count("through a narrow tree"), 20);
}

// A full parent must forget a child that failed: otherwise it keeps pushing newcomers down
// to the dead node, and they never get back into the tree.
TEST_F(ScribeRing, WithAChildrenLimitTheTreeHealsAfterAForwarderAndThenTheRootFail) {
  limit_children(2);
  subscribe_members(20);
  const auto repair = scribe_config_.parent_timeout + 2 * scribe_config_.heartbeat_interval + 20s;
  auto interior = forwarder();
  ASSERT_TRUE(interior.has_value());
  const Id interior_id = ring_->node(*interior)->local().id;
  ring_->crash(*interior);
  ring_->run_for(repair);
  EXPECT_EQ(publish_and_count("after the forwarder failed"), live_members());
  auto old_root = root();
  ASSERT_TRUE(old_root.has_value());
  const Id root_id = ring_->node(*old_root)->local().id;
  ring_->crash(*old_root);
  ring_->run_for(repair);
  EXPECT_EQ(publish_and_count("after the root failed"), live_members());
  for (SimNode n : ring_->members()) {
    if (!scribe_[n]) continue;
    auto children = scribe_[n]->children(group_);
    EXPECT_LE(children.size(), 2u) << "node " << n;
    for (const auto& c : children) {
      EXPECT_NE(c.id, interior_id) << "node " << n << " still counts the failed forwarder";
      EXPECT_NE(c.id, root_id) << "node " << n << " still counts the failed root";
    }
  }
}

}  // namespace
}  // namespace post::scribe
