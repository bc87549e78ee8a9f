// The simulation harness's oracle, on hand-made rings small enough to check by eye.
#include "tools/post-sim/ring_oracle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "host/core/random.h"

namespace post::sim {
namespace {

// An id whose first bytes are `leading` and the rest zero: 0x40 is a quarter of the ring.
Id id(std::initializer_list<std::uint8_t> leading) {
  Id::Array bytes{};
  std::size_t i = 0;
  for (std::uint8_t b : leading) bytes[i++] = b;
  return Id(bytes);
}

NodeHandle handle(const Id& node_id) {
  return NodeHandle{node_id, net::Address::v4(0x0a000001, 1)};
}

RingOracle ring(std::initializer_list<Id> ids) {
  std::vector<NodeHandle> members;
  for (const Id& i : ids) members.push_back(handle(i));
  return RingOracle(std::move(members));
}

std::vector<Id> ids_of(const std::vector<NodeHandle>& handles) {
  std::vector<Id> out;
  for (const NodeHandle& h : handles) out.push_back(h.id);
  return out;
}

std::vector<NodeHandle> handles(std::initializer_list<Id> ids) {
  std::vector<NodeHandle> out;
  for (const Id& i : ids) out.push_back(handle(i));
  return out;
}

TEST(RingOracle, KeepsMembersInIdOrder) {
  RingOracle oracle = ring({id({0xc0}), id({0x10}), id({0x80}), id({0x40})});
  EXPECT_EQ(ids_of(oracle.members()),
            (std::vector<Id>{id({0x10}), id({0x40}), id({0x80}), id({0xc0})}));
  EXPECT_TRUE(oracle.contains(id({0x80})));
  EXPECT_FALSE(oracle.contains(id({0x81})));
}

TEST(RingOracle, ClosestIsTheNearestMemberOnEitherSide) {
  RingOracle oracle = ring({id({0x10}), id({0x40}), id({0x80}), id({0xc0})});
  EXPECT_EQ(oracle.closest(id({0x20})).id, id({0x10}));
  EXPECT_EQ(oracle.closest(id({0x30})).id, id({0x40}));
  EXPECT_EQ(oracle.closest(id({0x80})).id, id({0x80}));
  EXPECT_EQ(oracle.closest(id({0x9f, 0xff})).id, id({0x80}));
}

TEST(RingOracle, ClosestWrapsAroundZero) {
  RingOracle oracle = ring({id({0x40}), id({0x80}), id({0xf0})});
  // 0x02 is 0x12 past 0xf0 (through zero) but 0x3e short of 0x40.
  EXPECT_EQ(oracle.closest(id({0x02})).id, id({0xf0}));
  // 0xfc is 0x44 short of 0x40 (through zero) but only 0x0c past 0xf0.
  EXPECT_EQ(oracle.closest(id({0xfc})).id, id({0xf0}));
  RingOracle low = ring({id({0x08}), id({0x80})});
  EXPECT_EQ(low.closest(id({0xf8})).id, id({0x08}));
}

TEST(RingOracle, ClosestBreaksATieTowardsTheSmallerId) {
  RingOracle oracle = ring({id({0x10}), id({0x30})});
  EXPECT_EQ(oracle.closest(id({0x20})).id, id({0x10}));
  // Antipodes of a two-node ring: both are half a ring away from the key.
  RingOracle opposite = ring({id({0x00}), id({0x80})});
  EXPECT_EQ(opposite.closest(id({0x40})).id, id({0x00}));
  EXPECT_EQ(opposite.closest(id({0xc0})).id, id({0x00}));
}

TEST(RingOracle, WalksClockwiseAndCounterClockwiseThroughZero) {
  RingOracle oracle = ring({id({0x10}), id({0x40}), id({0x80}), id({0xc0})});
  EXPECT_EQ(ids_of(oracle.clockwise_from(id({0xc0}), 2)),
            (std::vector<Id>{id({0x10}), id({0x40})}));
  EXPECT_EQ(ids_of(oracle.counter_clockwise_from(id({0x10}), 2)),
            (std::vector<Id>{id({0xc0}), id({0x80})}));
  // From an id that is not a member.
  EXPECT_EQ(ids_of(oracle.clockwise_from(id({0x50}), 2)),
            (std::vector<Id>{id({0x80}), id({0xc0})}));
  EXPECT_EQ(ids_of(oracle.counter_clockwise_from(id({0x50}), 2)),
            (std::vector<Id>{id({0x40}), id({0x10})}));
}

TEST(RingOracle, NeverListsANodeTwiceOrItself) {
  RingOracle oracle = ring({id({0x10}), id({0x40}), id({0x80})});
  EXPECT_EQ(ids_of(oracle.clockwise_from(id({0x40}), 10)),
            (std::vector<Id>{id({0x80}), id({0x10})}));
  EXPECT_EQ(ids_of(oracle.counter_clockwise_from(id({0x40}), 10)),
            (std::vector<Id>{id({0x10}), id({0x80})}));
  EXPECT_EQ(oracle.clockwise_from(id({0x20}), 10).size(), 3u);
  EXPECT_TRUE(ring({id({0x10})}).clockwise_from(id({0x10}), 4).empty());
}

TEST(RingOracle, AgreesWithABruteForceSearchOnRandomRings) {
  constexpr std::uint64_t kSeed = 77;
  Rng rng(kSeed);
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE("seed " + std::to_string(kSeed) + ", round " + std::to_string(round));
    std::vector<NodeHandle> members;
    auto size = 1 + rng.uniform(40);
    for (std::uint64_t i = 0; i < size; ++i) members.push_back(handle(rng.random_id()));
    RingOracle oracle(members);
    for (int k = 0; k < 20; ++k) {
      // Half the keys are members themselves.
      Id key = k % 2 == 0 ? rng.random_id() : members[rng.uniform(members.size())].id;
      Id best = members.front().id;
      for (const NodeHandle& m : members) {
        if (is_closer(key, m.id, best)) best = m.id;
      }
      EXPECT_EQ(oracle.closest(key).id, best);

      std::vector<NodeHandle> others;
      for (const NodeHandle& m : members) {
        if (m.id != key) others.push_back(m);
      }
      std::sort(others.begin(), others.end(), [&key](const NodeHandle& a, const NodeHandle& b) {
        return key.clockwise_distance(a.id) < key.clockwise_distance(b.id);
      });
      std::vector<Id> clockwise = ids_of(others);
      clockwise.resize(std::min<std::size_t>(clockwise.size(), 5));
      EXPECT_EQ(ids_of(oracle.clockwise_from(key, 5)), clockwise);
      std::sort(others.begin(), others.end(), [&key](const NodeHandle& a, const NodeHandle& b) {
        return key.counter_clockwise_distance(a.id) < key.counter_clockwise_distance(b.id);
      });
      std::vector<Id> counter_clockwise = ids_of(others);
      counter_clockwise.resize(std::min<std::size_t>(counter_clockwise.size(), 5));
      EXPECT_EQ(ids_of(oracle.counter_clockwise_from(key, 5)), counter_clockwise);
    }
  }
}

TEST(LeafSetCheck, AcceptsTheHalfClosestOnEachSideInOrder) {
  RingOracle oracle =
      ring({id({0x10}), id({0x20}), id({0x30}), id({0x40}), id({0x50}), id({0xf0})});
  // L = 4: two on each side of 0x10, wrapping counter-clockwise through zero.
  LeafSetCheck check = check_leaf_set(oracle, id({0x10}), 4, handles({id({0x20}), id({0x30})}),
                                      handles({id({0xf0}), id({0x50})}));
  EXPECT_TRUE(check.exact()) << check.describe();
}

TEST(LeafSetCheck, ReportsMissingUnexpectedAndMisorderedMembers) {
  RingOracle oracle =
      ring({id({0x10}), id({0x20}), id({0x30}), id({0x40}), id({0x50}), id({0xf0})});
  LeafSetCheck wrong = check_leaf_set(oracle, id({0x10}), 4, handles({id({0x20}), id({0x40})}),
                                      handles({id({0xf0}), id({0x50})}));
  EXPECT_FALSE(wrong.exact());
  EXPECT_EQ(wrong.clockwise.missing, std::vector<Id>{id({0x30})});
  EXPECT_EQ(wrong.clockwise.unexpected, std::vector<Id>{id({0x40})});
  EXPECT_TRUE(wrong.counter_clockwise.exact());
  EXPECT_EQ(wrong.describe(),
            "misses 30000000 (among the 2 closest clockwise), "
            "holds 40000000 (not among the 2 closest clockwise)");

  LeafSetCheck swapped = check_leaf_set(oracle, id({0x10}), 4, handles({id({0x30}), id({0x20})}),
                                        handles({id({0xf0}), id({0x50})}));
  EXPECT_FALSE(swapped.exact());
  EXPECT_TRUE(swapped.clockwise.misordered);
  EXPECT_TRUE(swapped.clockwise.missing.empty());
}

TEST(LeafSetCheck, InARingSmallerThanTheLeafSetEachSideHoldsEveryOtherNode) {
  RingOracle oracle = ring({id({0x10}), id({0x40}), id({0x80})});
  LeafSetCheck check = check_leaf_set(oracle, id({0x40}), 24, handles({id({0x80}), id({0x10})}),
                                      handles({id({0x10}), id({0x80})}));
  EXPECT_TRUE(check.exact()) << check.describe();
  LeafSetCheck one_sided =
      check_leaf_set(oracle, id({0x40}), 24, handles({id({0x80})}), handles({id({0x10})}));
  EXPECT_FALSE(one_sided.exact());
}

TEST(RingOracle, ASlotIsFillableWhenAMemberHasItsPrefix) {
  // b = 4: self is 0x12..., so row 0 holds ids by their first hex digit and row 1 ids that
  // start with 1 by their second.
  const Id self = id({0x12, 0x34});
  RingOracle oracle = ring({self, id({0x13}), id({0x5f}), id({0x12, 0x35})});
  EXPECT_TRUE(oracle.slot_fillable(self, 4, 0, 5));
  EXPECT_FALSE(oracle.slot_fillable(self, 4, 0, 6));
  EXPECT_FALSE(oracle.slot_fillable(self, 4, 0, 1)) << "self's own column";
  EXPECT_TRUE(oracle.slot_fillable(self, 4, 1, 3));
  EXPECT_FALSE(oracle.slot_fillable(self, 4, 1, 4));
  EXPECT_TRUE(oracle.slot_fillable(self, 4, 3, 5));
  EXPECT_EQ(oracle.rows_in_use(self, 4), 4);  // 0x1235 shares three digits with 0x1234
  EXPECT_EQ(ring({self}).rows_in_use(self, 4), 0);
}

TEST(RingOracle, FillableSlotsFollowTheDigitSize) {
  // b = 2: the first byte 0b0100'1000 reads 1, 0, 2, 0.
  const Id self = id({0x48});
  RingOracle oracle = ring({self, id({0xc0}), id({0x40})});
  EXPECT_TRUE(oracle.slot_fillable(self, 2, 0, 3));
  EXPECT_FALSE(oracle.slot_fillable(self, 2, 0, 2));
  EXPECT_TRUE(oracle.slot_fillable(self, 2, 2, 0));  // 0x40 = 1, 0, 0, 0
  EXPECT_FALSE(oracle.slot_fillable(self, 2, 2, 4)) << "beyond the last column";
}

TEST(RoutingTableCheck, CountsDeadMisplacedAndEmptyFillableSlots) {
  const Id self = id({0x12, 0x34});
  RingOracle oracle = ring({self, id({0x13}), id({0x5f}), id({0x80})});
  std::vector<RoutingSlot> slots = {
      {0, 5, id({0x5f})},  // good
      {0, 9, id({0x9a})},  // right slot, but not a member
      {0, 7, id({0x80})},  // a member, in the wrong column
  };
  RoutingTableCheck check = check_routing_table(oracle, self, 4, slots);
  EXPECT_EQ(check.entries, 3u);
  EXPECT_EQ(check.dead, 1u);
  EXPECT_EQ(check.misplaced, 1u);
  // Fillable: [0][5], [0][8] (0x80) and [1][3] (0x13); only [0][5] is filled.
  EXPECT_EQ(check.fillable, 3u);
  EXPECT_EQ(check.filled, 1u);
  EXPECT_FALSE(check.clean());
  EXPECT_FALSE(check.full());
}

TEST(RoutingTableCheck, AFullTableOfLiveNodesIsCleanAndFull) {
  const Id self = id({0x12, 0x34});
  RingOracle oracle = ring({self, id({0x13}), id({0x5f})});
  RoutingTableCheck check =
      check_routing_table(oracle, self, 4, {{0, 5, id({0x5f})}, {1, 3, id({0x13})}});
  EXPECT_TRUE(check.clean());
  EXPECT_TRUE(check.full());
  EXPECT_TRUE(check.problems.empty());
}

}  // namespace
}  // namespace post::sim
