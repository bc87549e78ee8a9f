// The simulation harness's ring builder and lookup checker, on small rings.
#include "tools/post-sim/sim_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tools/post-sim/lookups.h"

namespace post::sim {
namespace {

constexpr std::uint64_t kSeed = 7;

SimRingConfig small_ring(std::size_t nodes) {
  SimRingConfig config;
  config.nodes = nodes;
  config.seed = kSeed;
  return config;
}

TEST(SimRing, BuildsARingOfReadyNodesWithDistinctIds) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRing ring(small_ring(30));
  JoinReport joins = ring.build();
  EXPECT_TRUE(joins.failed.empty());
  EXPECT_EQ(joins.ready, 30u);
  EXPECT_EQ(ring.members().size(), 30u);
  std::vector<NodeHandle> members = ring.oracle().members();
  EXPECT_EQ(
      std::adjacent_find(members.begin(), members.end(),
                         [](const NodeHandle& a, const NodeHandle& b) { return a.id == b.id; }),
      members.end());
  EXPECT_GT(joins.finished, Time(0));
}

TEST(SimRing, TakesOutNodesWhoseJoinMissesItsDeadline) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRingConfig config = small_ring(5);
  config.join_deadline = std::chrono::milliseconds(1);  // shorter than any round trip
  SimRing ring(config);
  JoinReport joins = ring.build();
  ring.run_for(std::chrono::seconds(1));
  EXPECT_EQ(joins.failed.size(), 4u);
  EXPECT_EQ(ring.members(), std::vector<SimNode>{0});
  for (SimNode node : joins.failed) {
    EXPECT_FALSE(ring.network().is_up(node));
    EXPECT_EQ(ring.node(node), nullptr);
  }
}

TEST(SimRing, CrashesTheShareOfMembersAskedForAtOnce) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRing ring(small_ring(20));
  ASSERT_TRUE(ring.build().failed.empty());
  std::vector<SimNode> crashed = ring.crash_random(0.25);
  EXPECT_EQ(crashed.size(), 5u);
  EXPECT_EQ(ring.members().size(), 15u);
  for (SimNode node : crashed) {
    EXPECT_FALSE(ring.network().is_up(node));
    EXPECT_EQ(ring.node(node), nullptr);
  }
}

TEST(SimRing, SpacesJoinsToFillAboutAHundredVirtualSeconds) {
  EXPECT_EQ(default_join_spacing(2000), std::chrono::milliseconds(50));
  EXPECT_EQ(default_join_spacing(10'000), std::chrono::milliseconds(10));
  EXPECT_EQ(default_join_spacing(100'000), std::chrono::milliseconds(1));
  EXPECT_EQ(default_join_spacing(10'000'000), std::chrono::milliseconds(1));
}

TEST(Lookups, CheckEveryAnswerAgainstTheOracle) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  SimRing ring(small_ring(30));
  ASSERT_TRUE(ring.build().failed.empty());
  std::vector<LookupOutcome> outcomes = run_lookups(ring, 50);
  ASSERT_EQ(outcomes.size(), 50u);
  RingOracle oracle = ring.oracle();
  for (const LookupOutcome& outcome : outcomes) {
    EXPECT_EQ(outcome.expected, oracle.closest(outcome.key).id);
    EXPECT_EQ(outcome.correct, outcome.answered && outcome.root == outcome.expected);
    if (!outcome.answered) continue;
    ASSERT_FALSE(outcome.path.empty());
    EXPECT_EQ(outcome.path.front().id, ring.network().node_id(outcome.source));
    EXPECT_EQ(outcome.path.back().id, outcome.root);
    EXPECT_EQ(outcome.stretch == 0, outcome.path.size() == 1) << describe(outcome);
    if (outcome.stretch > 0) {
      EXPECT_GE(outcome.stretch, 1.0)
          << "the plane obeys the triangle inequality: " << describe(outcome);
    }
  }
  LookupSummary summary = summarize(outcomes);
  EXPECT_EQ(summary.lookups, 50u);
  EXPECT_LE(summary.correct, summary.answered);
  EXPECT_LE(summary.mean_hops, summary.p99_hops);
}

TEST(Lookups, SummarizeTakesTheNearestRankPercentileAndTheMeanOfRatios) {
  std::vector<LookupOutcome> outcomes(100);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    outcomes[i].answered = true;
    outcomes[i].correct = i % 4 != 0;
    outcomes[i].hops = i < 98 ? 2 : 7;
    outcomes[i].stretch = i < 50 ? 1.0 : 2.0;
  }
  outcomes[0].answered = false;
  outcomes[0].stretch = 0;
  LookupSummary summary = summarize(outcomes);
  EXPECT_EQ(summary.answered, 99u);
  EXPECT_DOUBLE_EQ(summary.correct_fraction, 0.75);
  EXPECT_DOUBLE_EQ(summary.p99_hops, 7);  // the 99th of 99 answered hop counts
  EXPECT_DOUBLE_EQ(summary.mean_hops, (97 * 2 + 2 * 7) / 99.0);
  EXPECT_DOUBLE_EQ(summary.stretch, (49 * 1.0 + 50 * 2.0) / 99.0);
}

}  // namespace
}  // namespace post::sim
