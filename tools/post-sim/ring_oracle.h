// RingOracle: what a perfect Pastry overlay over a known set of live nodes looks like. The
// simulator knows every live node, so it can say which node is numerically closest to a key,
// what each node's leaf set should hold and which routing table slots could be filled; the
// checks below compare a node's actual state with that.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "host/core/id.h"
#include "host/net/address.h"

namespace post::sim {

using net::NodeHandle;

class RingOracle {
 public:
  // The ring made of `members` (any order; nodeIds must be unique).
  explicit RingOracle(std::vector<NodeHandle> members);

  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  // The members in increasing id order.
  const std::vector<NodeHandle>& members() const { return members_; }
  bool contains(const Id& id) const;

  // The member numerically closest to `key` (compare_closeness: on a tie, the smaller id).
  // The ring must not be empty.
  const NodeHandle& closest(const Id& key) const;

  // Up to `count` members met walking clockwise (increasing ids, wrapping) from `from`,
  // nearest first, never `from` itself and never a member twice.
  std::vector<NodeHandle> clockwise_from(const Id& from, std::size_t count) const;
  // The same walking counter-clockwise (decreasing ids, wrapping).
  std::vector<NodeHandle> counter_clockwise_from(const Id& from, std::size_t count) const;

  // True when some member other than `self` could fill slot (row, column) of `self`'s routing
  // table in base 2^digit_bits: its id shares exactly `row` leading digits with `self` and its
  // digit `row` is `column`. False for self's own column and for columns beyond the last
  // (narrower) digit.
  bool slot_fillable(const Id& self, int digit_bits, int row, int column) const;

  // Rows of `self`'s table that can hold anything: one more than the longest prefix `self`
  // shares with another member (0 when it is alone).
  int rows_in_use(const Id& self, int digit_bits) const;

 private:
  // Index of the first member with id >= `id` (size() when none).
  std::size_t lower_bound(const Id& id) const;

  std::vector<NodeHandle> members_;
};

// How a node's leaf set differs from the oracle's: the L/2 closest live members on each side.
struct LeafSetCheck {
  struct Side {
    // Members that should be on this side but are not, and nodes on it that should not be.
    std::vector<Id> missing;
    std::vector<Id> unexpected;
    // The right members in the wrong order.
    bool misordered = false;

    bool exact() const { return missing.empty() && unexpected.empty() && !misordered; }
  };
  Side clockwise;
  Side counter_clockwise;

  bool exact() const { return clockwise.exact() && counter_clockwise.exact(); }
  // "misses 3fa2c1d0 3fa2c1e4 (among the 12 closest clockwise), holds 00ab12cd (not among
  // the 12 closest counter-clockwise)", or "exact"; for failure messages.
  std::string describe() const;

  std::size_t half = 0;  // L/2
};

// Compares the sides of `self`'s leaf set (nearest first) with the min(L/2, size - 1) members
// closest on each side in `oracle`.
LeafSetCheck check_leaf_set(const RingOracle& oracle, const Id& self, int leaf_set_size,
                            const std::vector<NodeHandle>& clockwise,
                            const std::vector<NodeHandle>& counter_clockwise);

// One filled routing table slot.
struct RoutingSlot {
  int row = 0;
  int column = 0;
  Id node;
};

// How a node's routing table compares with the oracle's.
struct RoutingTableCheck {
  std::size_t entries = 0;
  std::size_t dead = 0;               // entries that are not members
  std::size_t misplaced = 0;          // entries in a slot their id does not belong in
  std::size_t fillable = 0;           // slots some member could fill
  std::size_t filled = 0;             // fillable slots holding a live, well-placed entry
  std::vector<std::string> problems;  // the first few, for failure messages

  bool clean() const { return dead == 0 && misplaced == 0; }
  bool full() const { return filled == fillable; }
  RoutingTableCheck& operator+=(const RoutingTableCheck& other);
};

// Checks `self`'s filled slots against `oracle`: each entry live and in its slot, and how many
// of the fillable slots are filled.
RoutingTableCheck check_routing_table(const RingOracle& oracle, const Id& self, int digit_bits,
                                      const std::vector<RoutingSlot>& slots);

}  // namespace post::sim
