// RoutingTable: Pastry's prefix table. Row r holds nodes that share exactly r leading digits
// (base 2^b) with this node; column c of row r holds a node whose digit r is c. With
// proximity neighbour selection each slot keeps the candidate with the lowest RTT.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "host/core/id.h"
#include "host/net/address.h"
#include "host/net/clock.h"

namespace post::pastry {

using net::Duration;
using net::NodeHandle;

struct RoutingEntry {
  NodeHandle node;
  Duration rtt = Duration::max();  // max when not measured
};

class RoutingTable {
 public:
  RoutingTable(Id self, int digit_bits);

  int digit_bits() const { return b_; }
  int columns() const { return 1 << b_; }
  // Rows that exist so far (rows are allocated when first used).
  int rows() const { return static_cast<int>(rows_.size()); }
  int max_rows() const { return Id::digit_count(b_); }

  // The slot `node` belongs in: (row, column), or nullopt for this node itself.
  std::optional<std::pair<int, int>> slot_of(const Id& node) const;

  // The entry at (row, column), if filled.
  const RoutingEntry* at(int row, int column) const;

  // Offers `node` for its slot. An empty slot takes it; a filled one takes it only when
  // `prefer_rtt` and its RTT is lower than the holder's. Returns true when the table changed.
  bool consider(const NodeHandle& node, Duration rtt, bool prefer_rtt);
  // Removes the node with `id`; true when it was in the table.
  bool remove(const Id& id);
  bool contains(const Id& id) const;

  // The entries of row `row` (filled slots only).
  std::vector<NodeHandle> row(int row) const;
  // Every entry.
  std::vector<NodeHandle> all() const;
  std::size_t size() const { return size_; }
  // Slots of rows [0, rows()) that are empty, as (row, column).
  std::vector<std::pair<int, int>> holes() const;

 private:
  Id self_;
  int b_;
  std::vector<std::vector<std::optional<RoutingEntry>>> rows_;
  std::size_t size_ = 0;
};

}  // namespace post::pastry
