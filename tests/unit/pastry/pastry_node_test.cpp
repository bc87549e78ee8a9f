// PastryNode on small simulated rings: join, routing, failure, leave, and peers that lie.
#include "host/pastry/pastry_node.h"

#include <gtest/gtest.h>

#include "host/core/frame.h"
#include "host/net/sim_network.h"
#include "host/pastry/proto/pastry.pb.h"

namespace post::pastry {
namespace {

using net::SimNetwork;
using net::SimNode;
using namespace std::chrono_literals;

class SmallRing : public ::testing::Test {
 protected:
  explicit SmallRing(std::uint64_t seed = 7) : rng_(seed) {
    SimNetwork::Config c;
    c.seed = seed;
    net_ = std::make_unique<SimNetwork>(std::move(c));
    config_.leaf_set_size = 8;
    config_.heartbeat_interval = 5s;
    config_.lease = 8s;
    config_.probe_backoff = 500ms;
    config_.routing_maintenance_interval = 60s;
    config_.partition_probe_interval = 60s;
  }

  // Adds a node and starts its join through node 0 (or a new ring for the first).
  SimNode add() {
    SimNode n = net_->add_node(rng_.random_id());
    nodes_.push_back(
        std::make_unique<PastryNode>(net_->transport(n), net_->clock(n), config_, rng_.next()));
    if (n == 0) {
      nodes_[n]->start_new_ring();
    } else {
      nodes_[n]->join({SimNetwork::address_of(0)}, [n](Status s) {
        if (!s.ok()) ADD_FAILURE() << "node " << n << " failed to join: " << s.error().to_string();
      });
    }
    return n;
  }

  void grow(int count) {
    for (int i = 0; i < count; ++i) {
      add();
      net_->run_for(2s);
    }
    net_->run_for(30s);
  }

  std::vector<SimNode> live() const { return net_->live_nodes(); }

  // The live node numerically closest to `key`.
  SimNode oracle_root(const Id& key) const {
    auto nodes = live();
    SimNode best = nodes[0];
    for (SimNode n : nodes) {
      if (is_closer(key, net_->node_id(n), net_->node_id(best))) best = n;
    }
    return best;
  }

  // Checks every live node's leaf set against the L/2 closest live nodes on each side.
  void expect_leaf_sets_match_oracle() {
    auto nodes = live();
    int half = config_.leaf_set_size / 2;
    for (SimNode n : nodes) {
      const Id& self = net_->node_id(n);
      std::vector<Id> others;
      for (SimNode o : nodes) {
        if (o != n) others.push_back(net_->node_id(o));
      }
      std::sort(others.begin(), others.end(), [&](const Id& a, const Id& b) {
        return self.clockwise_distance(a) < self.clockwise_distance(b);
      });
      std::size_t k = std::min<std::size_t>(half, others.size());
      const auto& ls = nodes_[n]->leaf_set();
      ASSERT_TRUE(nodes_[n]->ready()) << "node " << n;
      ASSERT_EQ(ls.clockwise().size(), k) << "node " << n;
      ASSERT_EQ(ls.counter_clockwise().size(), k) << "node " << n;
      for (std::size_t i = 0; i < k; ++i) {
        EXPECT_EQ(ls.clockwise()[i].id, others[i]) << "node " << n << " cw " << i;
        EXPECT_EQ(ls.counter_clockwise()[i].id, others[others.size() - 1 - i])
            << "node " << n << " ccw " << i;
      }
    }
  }

  // Looks up random keys from random live nodes; returns how many reached the oracle's root.
  int correct_lookups(int count) {
    auto nodes = live();
    int done = 0, correct = 0;
    for (int i = 0; i < count; ++i) {
      SimNode from = nodes[rng_.uniform(nodes.size())];
      Id key = rng_.random_id();
      SimNode expected = oracle_root(key);
      nodes_[from]->lookup(key, [&, expected](Result<LookupResult> r) {
        ++done;
        if (r.ok() && r->root.id == net_->node_id(expected)) ++correct;
      });
    }
    net_->run_for(60s);
    EXPECT_EQ(done, count);
    return correct;
  }

  Rng rng_;
  std::unique_ptr<SimNetwork> net_;
  PastryConfig config_;
  std::vector<std::unique_ptr<PastryNode>> nodes_;
};

TEST_F(SmallRing, NodesJoinWithLeafSetsThatMatchTheOracle) {
  grow(40);
  for (auto& n : nodes_) EXPECT_TRUE(n->ready());
  expect_leaf_sets_match_oracle();
  EXPECT_EQ(correct_lookups(200), 200);
}

TEST_F(SmallRing, NodesJoiningAllAtOnceThroughOneBootstrapAllBecomeReady) {
  // Every join is in flight together, so the bootstrap admits joining nodes into its leaf
  // set while it routes the others' joins: a join must never wait on a node that is itself
  // waiting for its join (the deadlock postd's ring test once hit).
  add();
  net_->run_for(1s);
  for (int i = 0; i < 24; ++i) add();
  net_->run_for(60s);
  for (std::size_t n = 0; n < nodes_.size(); ++n) EXPECT_TRUE(nodes_[n]->ready()) << "node " << n;
  expect_leaf_sets_match_oracle();
  EXPECT_EQ(correct_lookups(100), 100);
}

TEST_F(SmallRing, LookupReportsThePathFromSourceToRoot) {
  grow(20);
  std::optional<LookupResult> result;
  Id key = rng_.random_id();
  nodes_[3]->lookup(key, [&](Result<LookupResult> r) { result = *r; });
  net_->run_for(10s);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->root.id, net_->node_id(oracle_root(key)));
  ASSERT_GE(result->path.size(), 1u);
  EXPECT_EQ(result->path.front().id, net_->node_id(3));
  EXPECT_EQ(result->path.back().id, result->root.id);
  EXPECT_EQ(static_cast<int>(result->path.size()), result->hops + 1);
}

TEST_F(SmallRing, CrashedNodesAreDroppedAndLookupsStayCorrect) {
  grow(40);
  for (SimNode n : {5u, 11u, 17u, 23u, 29u}) net_->crash(n);
  // Leaf set members are dropped within the failure timeout, routing table entries once the
  // next maintenance round has probed them.
  net_->run_for(config_.failure_timeout(3s) + config_.routing_maintenance_interval + 30s);
  expect_leaf_sets_match_oracle();
  EXPECT_EQ(correct_lookups(200), 200);
  for (SimNode n : live()) {
    for (const auto& e : nodes_[n]->routing_table().all()) {
      EXPECT_TRUE(net_->is_up(*net_->find(e))) << "node " << n << " routes to a crashed node";
    }
  }
}

TEST_F(SmallRing, LeavingNodeIsDroppedAtOnce) {
  grow(15);
  SimNode leaver = 7;
  nodes_[leaver]->leave();
  net_->run_for(1s);  // far less than any liveness timeout
  net_->crash(leaver);
  for (SimNode n : live()) {
    EXPECT_FALSE(nodes_[n]->leaf_set().contains(net_->node_id(leaver))) << "node " << n;
  }
}

TEST_F(SmallRing, ApplicationMessagesReachTheRootOfTheirKey) {
  struct Sink : Application {
    std::vector<Id> keys;
    void deliver(const Id& key, ByteView, const RouteInfo&) override { keys.push_back(key); }
  };
  grow(25);
  std::vector<Sink> sinks(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    nodes_[i]->register_application(AppId::kTest, &sinks[i]);
  std::vector<Id> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back(rng_.random_id());
    nodes_[i % nodes_.size()]->route(keys.back(), AppId::kTest, to_bytes("hello"));
  }
  net_->run_for(10s);
  for (const Id& key : keys) {
    auto& got = sinks[oracle_root(key)].keys;
    EXPECT_EQ(std::count(got.begin(), got.end(), key), 1) << key.short_hex();
  }
}

TEST_F(SmallRing, ForgedLeafSetEntriesAreNeverAdmitted) {
  grow(10);
  // A member of the ring gossips handles of nodes that do not exist (no certificate, no
  // such node at that address) very close to its neighbour's id.
  SimNode liar = 1;
  SimNode victim = 2;
  proto::pastry::PastryMessage m;
  auto* body = m.mutable_probe_reply();
  body->set_ready(true);
  std::vector<Id> forged;
  for (int i = 0; i < 5; ++i) {
    Id id = net_->node_id(victim) + Id::power_of_two(i + 10);
    forged.push_back(id);
    auto* h = body->add_leaf_set();
    h->set_id(id.bytes().data(), 32);
    net::Address a = SimNetwork::address_of(liar);  // the liar's own address, another id
    h->set_ip(a.ip.data(), 16);
    h->set_port(a.port);
  }
  ASSERT_TRUE(net_->transport(liar)
                  .send(net_->handle(victim), net::Channel::kPastry, wire::encode_message(m))
                  .ok());
  net_->run_for(30s);
  for (const Id& id : forged) {
    EXPECT_FALSE(nodes_[victim]->leaf_set().contains(id));
    EXPECT_FALSE(nodes_[victim]->routing_table().contains(id));
  }
  expect_leaf_sets_match_oracle();
}

TEST_F(SmallRing, MalformedMessagesAreRefusedAndCounted) {
  grow(5);
  Bytes garbage = {0x0a, 0x05, 0x01, 0x02};
  auto before = nodes_[2]->stats().messages_refused;
  ASSERT_TRUE(net_->transport(1).send(net_->handle(2), net::Channel::kPastry, garbage).ok());
  proto::pastry::PastryMessage bad_join;
  bad_join.mutable_routed()->set_key("short");
  ASSERT_TRUE(net_->transport(1)
                  .send(net_->handle(2), net::Channel::kPastry, wire::encode_message(bad_join))
                  .ok());
  net_->run_for(1s);
  EXPECT_EQ(nodes_[2]->stats().messages_refused, before + 2);
  expect_leaf_sets_match_oracle();
}

TEST_F(SmallRing, ANodeLookingForWhereToJoinIsAnsweredButNotAdmitted) {
  grow(6);
  // A node outside the ring (no PastryNode of its own) asks for row 0 as a joining node does.
  SimNode outsider = net_->add_node(rng_.random_id());
  struct Catch : net::MessageHandler {
    void on_message(const NodeHandle&, ByteView payload) override {
      auto m = wire::decode_message<proto::pastry::PastryMessage>(payload, "test");
      if (m.ok() && m->has_row_reply()) ++replies;
    }
    int replies = 0;
  } catcher;
  net_->transport(outsider).set_handler(net::Channel::kPastry, &catcher);
  proto::pastry::PastryMessage ask;
  ask.mutable_row_request()->set_index(0);
  ask.mutable_row_request()->set_joining(true);
  ASSERT_TRUE(net_->transport(outsider)
                  .send(net_->handle(0), net::Channel::kPastry, wire::encode_message(ask))
                  .ok());
  net_->run_for(2s);
  EXPECT_EQ(catcher.replies, 1);
  EXPECT_FALSE(nodes_[0]->leaf_set().contains(net_->node_id(outsider)));
  EXPECT_FALSE(nodes_[0]->routing_table().contains(net_->node_id(outsider)));
  net_->transport(outsider).set_handler(net::Channel::kPastry, nullptr);
}

}  // namespace
}  // namespace post::pastry
