#include "host/pastry/leaf_set.h"

#include <algorithm>
#include <cassert>

namespace post::pastry {

LeafSet::LeafSet(NodeHandle self, int size) : self_(self), half_(size / 2) {
  assert(size >= 2 && size % 2 == 0);
  cw_.reserve(half_);
  ccw_.reserve(half_);
}

bool LeafSet::insert_side(std::vector<NodeHandle>& side, const NodeHandle& node, bool clockwise) {
  auto distance = [&](const Id& id) {
    return clockwise ? self_.id.clockwise_distance(id) : self_.id.counter_clockwise_distance(id);
  };
  for (auto& member : side) {
    if (member.id == node.id) {
      if (member.address == node.address) return false;
      member.address = node.address;  // the node moved; keep its place
      return true;
    }
  }
  Id d = distance(node.id);
  auto pos = std::find_if(side.begin(), side.end(),
                          [&](const NodeHandle& m) { return d < distance(m.id); });
  if (pos == side.end() && static_cast<int>(side.size()) >= half_) return false;
  side.insert(pos, node);
  if (static_cast<int>(side.size()) > half_) side.pop_back();
  return true;
}

bool LeafSet::insert(const NodeHandle& node) {
  if (node.id == self_.id) return false;
  bool changed = insert_side(cw_, node, true);
  changed = insert_side(ccw_, node, false) || changed;
  if (changed) rebuild_members();
  return changed;
}

bool LeafSet::remove(const Id& id) {
  auto match = [&](const NodeHandle& m) { return m.id == id; };
  auto cw_removed = std::erase_if(cw_, match);
  auto ccw_removed = std::erase_if(ccw_, match);
  if (cw_removed + ccw_removed == 0) return false;
  rebuild_members();
  return true;
}

bool LeafSet::contains(const Id& id) const {
  return find(id).has_value();
}

std::optional<NodeHandle> LeafSet::find(const Id& id) const {
  for (const auto* side : {&cw_, &ccw_}) {
    for (const auto& m : *side) {
      if (m.id == id) return m;
    }
  }
  return std::nullopt;
}

void LeafSet::rebuild_members() {
  members_.assign(ccw_.rbegin(), ccw_.rend());
  for (const auto& m : cw_) {
    if (std::none_of(members_.begin(), members_.end(),
                     [&](const NodeHandle& o) { return o.id == m.id; })) {
      members_.push_back(m);
    }
  }
}

bool LeafSet::wraps() const {
  // A side that is not full means no further node is known that way: the set spans the ring.
  return static_cast<int>(cw_.size()) < half_ || static_cast<int>(ccw_.size()) < half_;
}

bool LeafSet::complete() const {
  return (static_cast<int>(cw_.size()) == half_ && static_cast<int>(ccw_.size()) == half_) ||
         wraps();
}

bool LeafSet::covers(const Id& key) const {
  if (wraps()) return true;
  return in_clockwise_arc(key, ccw_.back().id, cw_.back().id);
}

const NodeHandle& LeafSet::closest(const Id& key) const {
  const NodeHandle* best = &self_;
  for (const auto* side : {&cw_, &ccw_}) {
    for (const auto& m : *side) {
      if (is_closer(key, m.id, best->id)) best = &m;
    }
  }
  return *best;
}

std::vector<NodeHandle> LeafSet::closest_k(const Id& key, int k) const {
  std::vector<NodeHandle> all = members_;
  all.push_back(self_);
  auto n = std::min<std::size_t>(static_cast<std::size_t>(std::max(k, 0)), all.size());
  std::partial_sort(
      all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
      [&](const NodeHandle& a, const NodeHandle& b) { return is_closer(key, a.id, b.id); });
  all.resize(n);
  return all;
}

std::pair<Id, Id> LeafSet::own_range() const {
  Id one = Id::power_of_two(0);
  if (cw_.empty() || ccw_.empty()) return {self_.id + one, self_.id};  // the whole ring
  // Keys strictly past the midpoint towards each neighbour belong to that neighbour.
  Id first = ccw_.front().id.midpoint(self_.id) + one;
  Id last = self_.id.midpoint(cw_.front().id);
  return {first, last};
}

}  // namespace post::pastry
