#include "host/pastry/router.h"

namespace post::pastry {

NodeHandle next_hop(const Id& key, const LeafSet& leaf_set, const RoutingTable& table,
                    const Excluded& excluded) {
  const NodeHandle& self = leaf_set.self();
  if (leaf_set.covers(key)) {
    const NodeHandle* best = &self;
    for (const auto* side : {&leaf_set.clockwise(), &leaf_set.counter_clockwise()}) {
      for (const auto& m : *side) {
        if (!excluded(m.id) && is_closer(key, m.id, best->id)) best = &m;
      }
    }
    return *best;
  }
  int b = table.digit_bits();
  int shared = self.id.shared_prefix_length(key, b);
  if (shared >= Id::digit_count(b)) return self;
  if (const RoutingEntry* e = table.at(shared, key.digit(shared, b)); e && !excluded(e->node.id)) {
    return e->node;
  }
  // The rare case: any known node at least as far along the prefix and numerically closer.
  NodeHandle best = self;
  auto offer = [&](const NodeHandle& n) {
    if (excluded(n.id) || n.id.shared_prefix_length(key, b) < shared) return;
    if (is_closer(key, n.id, best.id)) best = n;
  };
  for (const auto& m : leaf_set.clockwise()) offer(m);
  for (const auto& m : leaf_set.counter_clockwise()) offer(m);
  for (const auto& n : table.all()) offer(n);
  return best;
}

}  // namespace post::pastry
