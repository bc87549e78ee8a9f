// Lookups checked against the oracle: random keys from random members, each answer compared
// with the numerically closest live node, with hop counts and the latency stretch of the path.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "host/core/id.h"
#include "host/net/address.h"
#include "tools/post-sim/sim_ring.h"

namespace post::sim {

struct LookupOutcome {
  SimNode source = 0;
  Id key;
  Id expected;            // the oracle's root: the numerically closest member
  bool answered = false;  // a LookupResult came back (not an error, not silence)
  bool correct = false;   // answered, and its root is `expected`
  Id root;
  int hops = 0;
  std::vector<NodeHandle> path;  // source to root, both included
  // Sum of the modelled one-way latencies along `path` over the direct latency from source to
  // root; 0 when unknown (source == root, not answered, or a hop outside the network).
  double stretch = 0;
  std::string error;  // why it was not answered
};

// Starts `count` lookups, each of a random key from a random member, all at the current
// virtual time, and runs the network until every one has its answer or error (or
// lookup_timeout + grace has passed; the rest count as unanswered). Each is checked against
// the oracle of the members at the start. Keys and sources come from ring.rng().
std::vector<LookupOutcome> run_lookups(SimRing& ring, std::size_t count);

struct LookupSummary {
  std::size_t lookups = 0;
  std::size_t answered = 0;
  std::size_t correct = 0;
  double mean_hops = 0;  // over answered lookups
  double p99_hops = 0;   // nearest-rank 99th percentile over answered lookups
  double correct_fraction = 0;
  double stretch = 0;  // mean of the known stretches
  std::size_t stretch_samples = 0;
};

LookupSummary summarize(const std::vector<LookupOutcome>& outcomes);

// "lookup of 3fa2c1d0 from node 17: root 3fa2c0ff, expected 3fa2c1e4 (4 hops)", for failure
// messages.
std::string describe(const LookupOutcome& outcome);

}  // namespace post::sim
