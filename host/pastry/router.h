// Router: Pastry's choice of the next hop towards a key, from a leaf set and a routing
// table (parameters, not members: secure routing will pass a constrained table too).
#pragma once

#include <functional>

#include "host/pastry/leaf_set.h"
#include "host/pastry/routing_table.h"

namespace post::pastry {

// Nodes the router must not choose (failed, suspected, or the hop a message came back from).
using Excluded = std::function<bool(const Id&)>;

// Chooses the next hop for `key`:
//  1. when the key lies within the leaf set's range, the numerically closest of the leaf set
//     and this node;
//  2. otherwise the routing table entry that shares one more digit with the key;
//  3. otherwise (a hole, or the entry is excluded) any known node that shares at least as
//     long a prefix with the key and is numerically closer to it than this node.
// Returns this node's own handle when it is the numerically closest node it knows: the
// message is delivered here. Never returns an excluded node.
NodeHandle next_hop(const Id& key, const LeafSet& leaf_set, const RoutingTable& table,
                    const Excluded& excluded);

}  // namespace post::pastry
