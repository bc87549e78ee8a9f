// Parameters of the Pastry overlay. Defaults are FreePastry's (freepastry.params) where it
// has one; every node of a ring must agree on digit_bits and leaf_set_size.
#pragma once

#include <chrono>

#include "host/net/clock.h"

namespace post::pastry {

using net::Duration;

struct PastryConfig {
  // b: routing table rows hold 2^b entries; ids are read in base 2^b digits.
  int digit_bits = 4;
  // L: the leaf set holds the L/2 numerically closest nodes on each side.
  int leaf_set_size = 24;
  // Proximity neighbour selection: among candidates for a routing table slot keep the one
  // with the lowest measured RTT. Off: keep the first live one.
  bool proximity_neighbour_selection = true;
  // Before joining, walk from the bootstrap node towards the nearest node it can find (its
  // routing table rows, measured by ping; Castro et al., "Exploiting network proximity in
  // peer-to-peer overlay networks", 2002) and join through that one, so the first rows of
  // the new routing table come from a near node. At most this many steps; 0 turns it off.
  // Only with proximity_neighbour_selection.
  int nearest_discovery_steps = 4;

  // Liveness. Every heartbeat_interval a node sends its leaf set to each leaf set member. A
  // member silent for `lease` is probed; it is declared failed after `probe_attempts` probes
  // unanswered, the n-th sent probe_backoff * 2^(n-1) after the previous one. So a silent
  // member is dropped at most lease + heartbeat_interval + the probes later (failure_timeout()).
  Duration heartbeat_interval = std::chrono::seconds(20);
  Duration lease = std::chrono::seconds(30);
  int probe_attempts = 3;
  Duration probe_backoff = std::chrono::seconds(1);
  // How long a failed node is remembered; gossip naming it in that time is ignored unless
  // the node itself is heard from (MSPastry's failed set).
  Duration failed_retention = std::chrono::minutes(15);

  // Routing. Each hop is acknowledged; an unacknowledged message is rerouted around the hop
  // after route_ack_timeout (or at once when the link breaks), at most max_reroutes times.
  Duration route_ack_timeout = std::chrono::seconds(2);
  int max_reroutes = 8;
  // A routed message that has travelled this many hops is dropped (a loop or an attack).
  int max_hops = 64;

  // Joining: a join that is not complete after join_timeout is retried through the next
  // bootstrap node.
  Duration join_timeout = std::chrono::seconds(30);

  // Routing table maintenance: every interval, holes are filled first, then one entry per
  // row is refreshed from a row neighbour (FreePastry: 15 minutes).
  Duration routing_maintenance_interval = std::chrono::minutes(15);

  // Partition healing: every interval a node probes one former bootstrap or failed node and
  // merges with the ring behind it if that ring is not its own (FreePastry: 5 minutes).
  Duration partition_probe_interval = std::chrono::minutes(5);

  // Lookups started with PastryNode::lookup() fail after this long.
  Duration lookup_timeout = std::chrono::seconds(30);

  // The longest a silent leaf set member stays listed: lease, a missed heartbeat, and the
  // probes with their back-off, each waiting up to probe_timeout for its answer.
  friend bool operator==(const PastryConfig&, const PastryConfig&) = default;

  Duration failure_timeout(Duration probe_timeout) const {
    Duration probes = probe_timeout * probe_attempts;
    Duration backoff = probe_backoff * ((1 << (probe_attempts - 1)) - 1 + 1);
    return lease + heartbeat_interval + probes + backoff;
  }
};

}  // namespace post::pastry
