// The `route` scenario of post-sim: N nodes join, a fraction of them crash at once, the
// overlay repairs for a while, then lookups of random keys from random live nodes are checked
// against the oracle. Reports hops, correctness, stretch and memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tools/post-sim/lookups.h"
#include "tools/post-sim/sim_ring.h"

namespace post::sim {

struct RouteScenarioOptions {
  SimRingConfig ring;
  std::size_t lookups = 1000;
  // Share of the members crashed at once after the joins (0 to 1).
  double fail_fraction = 0;
  // Virtual time the overlay gets after the crash, before the lookups.
  Duration repair = std::chrono::seconds(120);
  // Virtual time the overlay gets after the joins (and before any crash).
  Duration settle{0};
  // Also check every member's leaf set and routing table against the oracle just before the
  // lookups (RouteReport::state).
  bool check_state = false;
  SimRing::Progress join_progress;
  // Called when a phase after the joins starts: "settling", "repairing", "looking up".
  std::function<void(const std::string& phase)> on_phase;
};

struct RouteReport {
  std::size_t nodes = 0;
  std::size_t lookups = 0;
  double mean_hops = 0;
  double p99_hops = 0;
  double correct_fraction = 0;
  double stretch = 0;
  double bytes_per_node = 0;  // heap taken by the ring after the joins, over `nodes`
  double join_seconds = 0;    // wall time of the join phase
  double seconds = 0;         // wall time of the whole scenario, teardown not included

  std::size_t join_failures = 0;
  std::string join_error;  // why the first failed join failed
  std::size_t crashed = 0;
  std::size_t live = 0;  // members when the lookups started
  std::size_t unanswered = 0;
  double join_virtual_seconds = 0;
  double virtual_seconds = 0;
  std::uint64_t events = 0;
  std::uint64_t messages = 0;
  std::optional<RingCheck> state;  // with check_state
  std::vector<LookupOutcome> outcomes;
};

// Runs the scenario. Deterministic: the same options give the same outcomes (not the same
// wall times or memory figures).
RouteReport run_route_scenario(const RouteScenarioOptions& options);

// Heap in use (mallinfo2: arena and mmap'd blocks), in bytes.
std::size_t heap_in_use();

}  // namespace post::sim
