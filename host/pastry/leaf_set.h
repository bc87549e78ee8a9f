// LeafSet: the L/2 numerically closest known nodes on each side of this node (clockwise:
// larger ids, wrapping; counter-clockwise: smaller ids). It decides whether a key falls in
// this node's neighbourhood and which node is numerically closest to it.
#pragma once

#include <optional>
#include <vector>

#include "host/core/id.h"
#include "host/net/address.h"

namespace post::pastry {

using net::NodeHandle;

class LeafSet {
 public:
  LeafSet(NodeHandle self, int size);

  const NodeHandle& self() const { return self_; }
  // L: the most members on both sides together.
  int capacity() const { return half_ * 2; }

  // Adds `node` if it is among the L/2 closest on either side; returns true when the set
  // changed. This node itself is never a member.
  bool insert(const NodeHandle& node);
  // Removes the node with `id` from both sides; true when it was a member.
  bool remove(const Id& id);
  bool contains(const Id& id) const;
  // The member with `id`, if any.
  std::optional<NodeHandle> find(const Id& id) const;

  // Members clockwise from this node, nearest first.
  const std::vector<NodeHandle>& clockwise() const { return cw_; }
  // Members counter-clockwise from this node, nearest first.
  const std::vector<NodeHandle>& counter_clockwise() const { return ccw_; }
  // Every member once (a node can be on both sides in a small ring), ccw farthest first.
  const std::vector<NodeHandle>& members() const { return members_; }
  std::size_t size() const { return members_.size(); }
  bool empty() const { return cw_.empty() && ccw_.empty(); }

  // True when both sides are full, or the sides together hold every node of a ring smaller
  // than L + 1 (then each side holds all other nodes).
  bool complete() const;

  // True when `key` lies within the arc the leaf set spans (from its farthest
  // counter-clockwise member to its farthest clockwise member). A leaf set that wraps the
  // whole ring covers every key.
  bool covers(const Id& key) const;

  // The numerically closest node to `key` among the members and this node
  // (compare_closeness order).
  const NodeHandle& closest(const Id& key) const;

  // The k nodes numerically closest to `key` among the members and this node, closest first.
  std::vector<NodeHandle> closest_k(const Id& key, int k) const;

  // The arc of keys [first, last] for which this node is the numerically closest, given its
  // current nearest neighbours; the whole ring when it has none.
  std::pair<Id, Id> own_range() const;

 private:
  bool insert_side(std::vector<NodeHandle>& side, const NodeHandle& node, bool clockwise);
  bool wraps() const;
  void rebuild_members();

  NodeHandle self_;
  int half_;
  std::vector<NodeHandle> cw_;
  std::vector<NodeHandle> ccw_;
  std::vector<NodeHandle> members_;  // derived from cw_ and ccw_ on every change
};

}  // namespace post::pastry
