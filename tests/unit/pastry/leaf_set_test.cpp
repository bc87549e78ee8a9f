#include "host/pastry/leaf_set.h"

#include <gtest/gtest.h>

#include "host/core/random.h"

namespace post::pastry {
namespace {

NodeHandle node(std::uint64_t low) {
  Id::Array a{};
  for (int i = 0; i < 8; ++i) a[31 - i] = static_cast<std::uint8_t>(low >> (8 * i));
  return NodeHandle{Id(a), net::Address::v4(0x0a000001, 1)};
}

NodeHandle node_below_zero(std::uint64_t distance) {
  NodeHandle n = node(0);
  n.id = Id() - node(distance).id;
  return n;
}

TEST(LeafSet, KeepsTheHalfClosestOnEachSide) {
  LeafSet ls(node(1000), 4);
  for (std::uint64_t v : {1001, 1002, 1003, 999, 998, 997, 2000, 10}) ls.insert(node(v));
  ASSERT_EQ(ls.clockwise().size(), 2u);
  ASSERT_EQ(ls.counter_clockwise().size(), 2u);
  EXPECT_EQ(ls.clockwise()[0].id, node(1001).id);
  EXPECT_EQ(ls.clockwise()[1].id, node(1002).id);
  EXPECT_EQ(ls.counter_clockwise()[0].id, node(999).id);
  EXPECT_EQ(ls.counter_clockwise()[1].id, node(998).id);
  EXPECT_TRUE(ls.complete());
  EXPECT_FALSE(ls.insert(node(1003)));  // farther than both clockwise members
  EXPECT_FALSE(ls.insert(node(1000)));  // itself
}

TEST(LeafSet, WrapsAroundZero) {
  LeafSet ls(node(1), 4);
  ls.insert(node_below_zero(1));
  ls.insert(node_below_zero(5));
  ls.insert(node_below_zero(3));
  ls.insert(node(9));
  ls.insert(node(4));
  EXPECT_EQ(ls.counter_clockwise()[0].id, node_below_zero(1).id);
  EXPECT_EQ(ls.counter_clockwise()[1].id, node_below_zero(3).id);
  EXPECT_TRUE(ls.covers(node(0).id));
  EXPECT_TRUE(ls.covers(node_below_zero(2).id));
  EXPECT_FALSE(ls.covers(node(100).id));
  // Id 0 is 1 away from both this node (1) and 2^256 - 1: the smaller id wins the tie.
  EXPECT_EQ(ls.closest(Id()).id, node(1).id);
}

TEST(LeafSet, SmallRingPutsEveryNodeOnBothSidesAndCoversEverything) {
  LeafSet ls(node(500), 8);
  ls.insert(node(100));
  ls.insert(node(900));
  EXPECT_EQ(ls.clockwise().size(), 2u);
  EXPECT_EQ(ls.counter_clockwise().size(), 2u);
  EXPECT_EQ(ls.size(), 2u);
  EXPECT_TRUE(ls.covers(node(12345678).id));
  EXPECT_EQ(ls.closest(node(880).id).id, node(900).id);
  EXPECT_EQ(ls.closest(node(501).id).id, node(500).id);
}

TEST(LeafSet, RemoveTakesANodeOffBothSides) {
  LeafSet ls(node(500), 8);
  ls.insert(node(100));
  ls.insert(node(900));
  EXPECT_TRUE(ls.remove(node(100).id));
  EXPECT_FALSE(ls.contains(node(100).id));
  EXPECT_FALSE(ls.remove(node(100).id));
  EXPECT_EQ(ls.size(), 1u);
}

TEST(LeafSet, InsertUpdatesTheAddressOfAKnownNode) {
  LeafSet ls(node(500), 4);
  NodeHandle moved = node(501);
  ls.insert(moved);
  moved.address.port = 77;
  EXPECT_TRUE(ls.insert(moved));
  EXPECT_EQ(ls.find(moved.id)->address.port, 77);
}

TEST(LeafSet, ClosestKListsNodesByDistanceIncludingSelf) {
  LeafSet ls(node(500), 8);
  for (std::uint64_t v : {490, 495, 503, 520}) ls.insert(node(v));
  auto k = ls.closest_k(node(501).id, 3);
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k[0].id, node(500).id);
  EXPECT_EQ(k[1].id, node(503).id);
  EXPECT_EQ(k[2].id, node(495).id);
}

TEST(LeafSet, MatchesABruteForceOracleOnRandomIds) {
  Rng rng(3);
  std::vector<NodeHandle> all;
  for (int i = 0; i < 200; ++i)
    all.push_back(NodeHandle{rng.random_id(), net::Address::v4(0x0a000001 + i, 1)});
  LeafSet ls(all[0], 24);
  for (std::size_t i = 1; i < all.size(); ++i) ls.insert(all[i]);
  std::vector<NodeHandle> others(all.begin() + 1, all.end());
  std::sort(others.begin(), others.end(), [&](const NodeHandle& a, const NodeHandle& b) {
    return all[0].id.clockwise_distance(a.id) < all[0].id.clockwise_distance(b.id);
  });
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(ls.clockwise()[i].id, others[i].id);
    EXPECT_EQ(ls.counter_clockwise()[i].id, others[others.size() - 1 - i].id);
  }
  for (int i = 0; i < 100; ++i) {
    Id key = rng.random_id();
    if (!ls.covers(key)) continue;
    const NodeHandle* best = &all[0];
    for (const auto& n : all) {
      if (is_closer(key, n.id, best->id)) best = &n;
    }
    EXPECT_EQ(ls.closest(key).id, best->id);
  }
}

}  // namespace
}  // namespace post::pastry
