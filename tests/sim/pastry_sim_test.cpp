// Pastry in the simulator, checked against the oracle (issue 3, "Done when" for simulation).
// Every test is seeded and deterministic; a failure names its seed, and the first few wrong
// lookups or leaf sets.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tools/post-sim/lookups.h"
#include "tools/post-sim/ring_oracle.h"
#include "tools/post-sim/route_scenario.h"
#include "tools/post-sim/sim_ring.h"

namespace post::sim {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// Failures are listed up to this many.
constexpr std::size_t kShown = 5;

SimRingConfig ring_config(std::size_t nodes, std::uint64_t seed) {
  SimRingConfig config;
  config.nodes = nodes;
  config.seed = seed;
  return config;
}

// The longest a crashed leaf set member goes unnoticed, with room for the repair to finish.
Duration repair_time(const pastry::PastryConfig& config) {
  return config.failure_timeout(SimNetwork::Config{}.ping_timeout) + seconds(60);
}

// Pastry's bound on the mean route length: ceil(log_{2^b} N) hops.
double hop_bound(std::size_t nodes, int digit_bits) {
  return std::ceil(std::log2(static_cast<double>(nodes)) / digit_bits);
}

// Why `node`'s leaf set differs from the oracle's, or "exact".
std::string leaf_set_of(const SimRing& ring, SimNode node, const RingOracle& oracle) {
  const pastry::PastryNode* pastry = ring.node(node);
  if (pastry == nullptr) return "crashed";
  const pastry::LeafSet& leaf_set = pastry->leaf_set();
  return check_leaf_set(oracle, pastry->local().id, ring.config().pastry.leaf_set_size,
                        leaf_set.clockwise(), leaf_set.counter_clockwise())
      .describe();
}

// "" when every lookup reached the numerically closest live node, else the first few that
// did not, each with the leaf set of the node that took the delivery.
std::string wrong_lookups(const SimRing& ring, const std::vector<LookupOutcome>& outcomes) {
  RingOracle oracle = ring.oracle();
  std::string out;
  std::size_t wrong = 0;
  for (const LookupOutcome& outcome : outcomes) {
    if (outcome.correct) continue;
    if (++wrong > kShown) continue;
    out += "\n  " + describe(outcome);
    if (!outcome.answered || outcome.path.empty()) continue;
    std::optional<SimNode> root = ring.network().find(outcome.path.back());
    if (!root) continue;
    out += "\n    leaf set of the root (node " + std::to_string(*root) +
           "): " + leaf_set_of(ring, *root, oracle);
    if (const pastry::PastryNode* node = ring.node(*root);
        node != nullptr && node->leaf_set().contains(outcome.expected)) {
      out += "; the expected root is in it";
    }
  }
  if (wrong == 0) return "";
  return std::to_string(wrong) + " of " + std::to_string(outcomes.size()) + " lookups wrong:" + out;
}

std::string leaf_set_problems(const RingCheck& check) {
  std::string out = std::to_string(check.nodes - check.exact_leaf_sets) + " of " +
                    std::to_string(check.nodes) + " leaf sets differ from the oracle's:";
  for (const std::string& p : check.leaf_set_problems) out += "\n  " + p;
  return out;
}

std::string table_problems(const RingCheck& check) {
  const RoutingTableCheck& t = check.tables;
  std::string out = std::to_string(t.entries) + " entries, " + std::to_string(t.dead) + " dead, " +
                    std::to_string(t.misplaced) + " misplaced; " + std::to_string(t.filled) +
                    " of " + std::to_string(t.fillable) + " fillable slots filled (" +
                    std::to_string(check.filled_fraction()) + "):";
  for (const std::string& p : t.problems) out += "\n  " + p;
  return out;
}

// Builds `ring` and expects every node to have joined.
void build(SimRing& ring) {
  JoinReport joins = ring.build();
  ASSERT_TRUE(joins.failed.empty()) << joins.failed.size() << " joins failed, the first (node "
                                    << joins.failed.front() << "): " << joins.first_error;
  ASSERT_EQ(joins.ready, ring.size());
}

TEST(PastrySim, EveryLookupReachesTheClosestLiveNodeBeforeAndAfterAFifthOfTheNodesFail) {
  constexpr std::uint64_t kSeed = 1001;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRing ring(ring_config(2000, kSeed));
  ASSERT_NO_FATAL_FAILURE(build(ring));

  std::vector<LookupOutcome> before = run_lookups(ring, 2000);
  EXPECT_EQ(wrong_lookups(ring, before), "");
  EXPECT_LT(summarize(before).mean_hops, hop_bound(2000, ring.config().pastry.digit_bits));

  EXPECT_EQ(ring.crash_random(0.2).size(), 400u);
  ring.run_for(repair_time(ring.config().pastry));
  ASSERT_EQ(ring.members().size(), 1600u);

  std::vector<LookupOutcome> after = run_lookups(ring, 2000);
  EXPECT_EQ(wrong_lookups(ring, after), "");
  EXPECT_LT(summarize(after).mean_hops, hop_bound(1600, ring.config().pastry.digit_bits));
}

TEST(PastrySim, LeafSetsAndRoutingTablesMatchTheOracleAfterMaintenance) {
  constexpr std::uint64_t kSeed = 1002;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRing ring(ring_config(1000, kSeed));
  ASSERT_NO_FATAL_FAILURE(build(ring));

  RingCheck joined = check_ring(ring, ring.members(), ring.oracle());
  EXPECT_TRUE(joined.leaf_sets_exact()) << "right after the joins: " << leaf_set_problems(joined);
  EXPECT_TRUE(joined.tables.clean()) << "right after the joins: " << table_problems(joined);

  // A round of routing table maintenance fills the holes the joins left.
  ring.run_for(ring.config().pastry.routing_maintenance_interval + minutes(1));
  RingCheck maintained = check_ring(ring, ring.members(), ring.oracle());
  std::cout << "[ measure  ] fillable slots filled: " << joined.filled_fraction()
            << " after the joins, " << maintained.filled_fraction() << " after maintenance\n";
  ::testing::Test::RecordProperty("filled_fraction_after_joins",
                                  std::to_string(joined.filled_fraction()));
  ::testing::Test::RecordProperty("filled_fraction_after_maintenance",
                                  std::to_string(maintained.filled_fraction()));
  EXPECT_TRUE(maintained.leaf_sets_exact()) << leaf_set_problems(maintained);
  EXPECT_TRUE(maintained.tables.clean()) << table_problems(maintained);
  EXPECT_TRUE(maintained.tables.full()) << table_problems(maintained);
}

TEST(PastrySim, AfterAFifthOfTheNodesFailLeafSetsAreExactAndTablesHoldOnlyLiveNodes) {
  constexpr std::uint64_t kSeed = 1003;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRing ring(ring_config(1000, kSeed));
  ASSERT_NO_FATAL_FAILURE(build(ring));

  ring.crash_random(0.2);
  ring.run_for(repair_time(ring.config().pastry));
  RingCheck repaired = check_ring(ring, ring.members(), ring.oracle());
  EXPECT_TRUE(repaired.leaf_sets_exact()) << "after the repair: " << leaf_set_problems(repaired);

  ring.run_for(ring.config().pastry.routing_maintenance_interval + minutes(1));
  RingCheck maintained = check_ring(ring, ring.members(), ring.oracle());
  std::cout << "[ measure  ] after the failures: " << repaired.tables.dead
            << " dead routing entries after the leaf set repair, " << maintained.tables.dead
            << " after maintenance; fillable slots filled " << maintained.filled_fraction() << "\n";
  EXPECT_TRUE(maintained.leaf_sets_exact()) << leaf_set_problems(maintained);
  EXPECT_TRUE(maintained.tables.clean()) << table_problems(maintained);
  EXPECT_TRUE(maintained.tables.full()) << table_problems(maintained);
}

TEST(PastrySim, TwoPartitionsFormTheirOwnRingsAndMergeWhenTheNetworkHeals) {
  constexpr std::uint64_t kSeed = 1004;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRingConfig config = ring_config(1000, kSeed);
  config.pastry.partition_probe_interval = seconds(30);
  SimRing ring(config);
  ASSERT_NO_FATAL_FAILURE(build(ring));

  // Join order is independent of the ids, so the halves interleave all around the ring.
  std::vector<SimNode> halves[2];
  for (SimNode node : ring.members()) {
    std::uint32_t group = node < 500 ? 0 : 1;
    ring.network().set_partition(node, group);
    halves[group].push_back(node);
  }
  ring.run_for(repair_time(config.pastry));
  for (std::uint32_t side = 0; side < 2; ++side) {
    SCOPED_TRACE("partition " + std::to_string(side));
    const std::vector<SimNode>& half = halves[side];
    std::size_t holding_the_other_half = 0;
    for (SimNode node : half) {
      for (const NodeHandle& member : ring.node(node)->leaf_set().members()) {
        std::optional<SimNode> other = ring.network().find(member);
        if (!other || ring.network().partition(*other) != side) {
          ++holding_the_other_half;
          break;
        }
      }
    }
    EXPECT_EQ(holding_the_other_half, 0u) << "leaf sets still naming the other partition";
    RingCheck split = check_ring(ring, half, ring.oracle(half));
    EXPECT_TRUE(split.leaf_sets_exact())
        << "each half's leaf sets hold exactly its own closest nodes: " << leaf_set_problems(split);
  }

  ring.network().heal_partitions();
  ring.run_for(minutes(5));
  ASSERT_EQ(ring.members().size(), 1000u);
  RingCheck merged = check_ring(ring, ring.members(), ring.oracle());
  EXPECT_TRUE(merged.leaf_sets_exact()) << "after healing: " << leaf_set_problems(merged);
  EXPECT_EQ(wrong_lookups(ring, run_lookups(ring, 1000)), "");
}

// The outcome of a small route scenario, in a form that compares whole runs.
struct Trace {
  std::vector<std::string> lookups;
  std::uint64_t events = 0;
  bool operator==(const Trace&) const = default;
};

Trace trace_of(std::uint64_t seed) {
  RouteScenarioOptions options;
  options.ring = ring_config(200, seed);
  options.lookups = 300;
  options.fail_fraction = 0.1;
  options.repair = seconds(90);
  RouteReport report = run_route_scenario(options);
  Trace trace;
  for (const LookupOutcome& outcome : report.outcomes) trace.lookups.push_back(describe(outcome));
  trace.events = report.events;
  return trace;
}

TEST(PastrySim, TheSameSeedGivesTheSameRun) {
  constexpr std::uint64_t kSeed = 1005;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Trace first = trace_of(kSeed);
  Trace second = trace_of(kSeed);
  ASSERT_EQ(first.lookups.size(), 300u);
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(first.lookups, second.lookups);
  Trace other = trace_of(kSeed + 1);
  EXPECT_NE(first.lookups, other.lookups) << "a different seed gives a different run";
}

}  // namespace
}  // namespace post::sim
