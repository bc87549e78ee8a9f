#include "host/pastry/routing_table.h"

#include <gtest/gtest.h>

#include "host/pastry/router.h"

namespace post::pastry {
namespace {

NodeHandle h(std::string_view hex_prefix, std::uint16_t port = 1) {
  std::string full(hex_prefix);
  full.append(64 - full.size(), '0');
  return NodeHandle{Id::from_hex(full).value(), net::Address::v4(0x0a000001, port)};
}

using namespace std::chrono_literals;

TEST(RoutingTable, PlacesNodesByTheirSharedPrefix) {
  RoutingTable t(h("a5").id, 4);
  EXPECT_EQ(t.slot_of(h("3").id), (std::pair{0, 3}));
  EXPECT_EQ(t.slot_of(h("a7").id), (std::pair{1, 7}));
  EXPECT_FALSE(t.slot_of(h("a5").id).has_value());
  EXPECT_TRUE(t.consider(h("a7"), 10ms, true));
  EXPECT_EQ(t.rows(), 2);
  ASSERT_NE(t.at(1, 7), nullptr);
  EXPECT_EQ(t.at(1, 7)->node.id, h("a7").id);
  EXPECT_EQ(t.at(0, 3), nullptr);
  EXPECT_EQ(t.size(), 1u);
}

TEST(RoutingTable, ProximitySelectionKeepsTheNearerCandidate) {
  RoutingTable t(h("00").id, 4);
  EXPECT_TRUE(t.consider(h("51"), 50ms, true));
  EXPECT_FALSE(t.consider(h("52"), 80ms, true));
  EXPECT_TRUE(t.consider(h("53"), 20ms, true));
  EXPECT_EQ(t.at(0, 5)->node.id, h("53").id);
  EXPECT_FALSE(t.consider(h("54"), 1ms, false));  // without PNS the first stays
  EXPECT_EQ(t.size(), 1u);
}

TEST(RoutingTable, RemoveLeavesAHoleThatHolesReports) {
  RoutingTable t(h("00").id, 4);
  t.consider(h("10"), 1ms, true);
  t.consider(h("20"), 1ms, true);
  EXPECT_TRUE(t.remove(h("10").id));
  EXPECT_FALSE(t.remove(h("10").id));
  auto holes = t.holes();
  EXPECT_EQ(holes.size(), 14u);  // row 0 has 16 slots: own digit 0, filled 2
  EXPECT_EQ(t.row(0).size(), 1u);
}

TEST(Router, UsesTheLeafSetInsideItsRangeThenTheTableThenTheRareCase) {
  NodeHandle self = h("8000");
  LeafSet ls(self, 4);
  ls.insert(h("8010"));
  ls.insert(h("8020"));
  ls.insert(h("7ff0"));
  ls.insert(h("7fe0"));
  RoutingTable t(self.id, 4);
  t.consider(h("c000"), 1ms, true);
  t.consider(h("8800"), 1ms, true);
  auto none = [](const Id&) { return false; };
  EXPECT_EQ(next_hop(h("8011").id, ls, t, none).id, h("8010").id);  // leaf set
  EXPECT_EQ(next_hop(h("8001").id, ls, t, none).id, self.id);       // this node is closest
  EXPECT_EQ(next_hop(h("c123").id, ls, t, none).id, h("c000").id);  // table row 0
  EXPECT_EQ(next_hop(h("88ff").id, ls, t, none).id, h("8800").id);  // table row 1
  // A hole at row 0 column 9: the rare case takes a known node closer to the key.
  EXPECT_EQ(next_hop(h("9000").id, ls, t, none).id, h("8800").id);
  // An excluded entry is never chosen.
  auto no_c = [&](const Id& id) { return id == h("c000").id; };
  EXPECT_NE(next_hop(h("c123").id, ls, t, no_c).id, h("c000").id);
}

}  // namespace
}  // namespace post::pastry
