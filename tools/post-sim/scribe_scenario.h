// The `scribe` scenario of post-sim: N nodes with Scribe, G groups with Zipf-distributed sizes
// (the group of rank r has about N * r^-1.25 members, as in the Scribe paper), P publications
// to random groups, anycasts; optionally a share F of the nodes crash at once, the trees are
// watched until every live member is attached again, and then one publication goes to every
// group. Reports delivery, duplicates, tree shape, relative delay penalty and repair time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "host/scribe/scribe_node.h"
#include "tools/post-sim/sim_ring.h"

namespace post::sim {

struct ScribeScenarioOptions {
  SimRingConfig ring;
  scribe::ScribeConfig scribe;
  std::size_t groups = 100;
  std::size_t publishes = 100;
  // Anycasts to random groups with some members accepting (one member in a group of at most
  // kSmallGroup members, else one in twenty), and as many to small groups where none accepts.
  std::size_t anycasts = 20;
  double fail_fraction = 0;
  // Longest the overlay gets to bring delivery back to every live member after the crash.
  Duration repair = std::chrono::seconds(300);
  SimRing::Progress join_progress;
  std::function<void(const std::string& phase)> on_phase;
};

// Groups up to this size get a single accepting member in the anycast checks: a depth-first
// search for one member among thousands would run into max_anycast_visits.
inline constexpr std::size_t kSmallGroup = 200;

struct ScribeReport {
  std::size_t nodes = 0;
  std::size_t groups = 0;
  std::size_t publishes = 0;
  double delivery_ratio = 0;  // deliveries / expected deliveries to live members (before F)
  std::size_t duplicates = 0;
  double mean_depth = 0;      // hops from a member up to its root, over all memberships
  std::size_t max_children = 0;
  double mean_rdp = 0;        // tree path latency / direct latency from the root, per member
  // Virtual time from the crash until every live member is attached again; -1: not reached.
  double repair_seconds = -1;
  double seconds = 0;

  std::size_t memberships = 0;
  std::size_t subscribe_failures = 0;  // not acknowledged by the end of the subscription phase
  std::size_t crashed = 0;
  // Memberships whose member's parent chain does not reach the group's root through live
  // nodes that list each child: before the publications, and at the end of the repair.
  std::size_t detached_before = 0;
  std::size_t detached_after = 0;
  std::vector<std::string> detached_examples;  // the first few, each with its parent chain
  // After the repair, one publication to every group: deliveries / live memberships.
  double delivery_ratio_after = 0;
  std::size_t roots_failed = 0;  // groups whose root was among the crashed nodes

  std::size_t anycasts = 0;            // anycasts with an accepting member
  std::size_t anycasts_found = 0;      // of those, answered with one of the accepting members
  std::size_t anycasts_refused = 0;    // anycasts where no member accepts
  std::size_t anycasts_refused_answered = 0;  // of those, answered kNoMemberAccepted
};

ScribeReport run_scribe_scenario(const ScribeScenarioOptions& options);

}  // namespace post::sim
