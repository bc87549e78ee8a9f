// The `scribe` scenario of post-sim: N nodes with Scribe, G groups with Zipf-distributed sizes
// (the group of rank r has about N * r^-1.25 members, as in the Scribe paper), P publications
// to random groups; optionally a share F of the nodes crash at once and publications go on
// until every live member gets them again. Reports delivery, duplicates, tree shape, relative
// delay penalty and repair time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "host/scribe/scribe_node.h"
#include "tools/post-sim/sim_ring.h"

namespace post::sim {

struct ScribeScenarioOptions {
  SimRingConfig ring;
  scribe::ScribeConfig scribe;
  std::size_t groups = 100;
  std::size_t publishes = 100;
  double fail_fraction = 0;
  // Longest the overlay gets to bring delivery back to every live member after the crash.
  Duration repair = std::chrono::seconds(300);
  SimRing::Progress join_progress;
  std::function<void(const std::string& phase)> on_phase;
};

struct ScribeReport {
  std::size_t nodes = 0;
  std::size_t groups = 0;
  std::size_t publishes = 0;
  double delivery_ratio = 0;  // deliveries / expected deliveries to live members (before F)
  std::size_t duplicates = 0;
  double mean_depth = 0;      // hops from a member up to its root, over all memberships
  std::size_t max_children = 0;
  double mean_rdp = 0;        // tree path latency / direct latency from the root, per member
  double repair_seconds = -1;  // virtual time from the crash to full delivery; -1: not reached
  double seconds = 0;

  std::size_t memberships = 0;
  std::size_t subscribe_failures = 0;  // not acknowledged by the end of the subscription phase
  std::size_t crashed = 0;
  double delivery_ratio_after = 0;  // of the last publications after the crash
};

ScribeReport run_scribe_scenario(const ScribeScenarioOptions& options);

}  // namespace post::sim
