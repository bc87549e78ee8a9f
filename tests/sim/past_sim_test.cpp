// PAST in the simulator (issue 4, "Done when" for simulation): blocks survive waves of
// failures and come back to k replicas, and the loss detector agrees with what the waves
// predicted. Seeded and deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <unordered_set>
#include <vector>

#include "tools/post-sim/past_scenario.h"

namespace post::sim {
namespace {

using std::chrono::seconds;

// Repair after a wave: failure detection (lease, probes) plus maintenance rounds.
Duration repair_time(const pastry::PastryConfig& config) {
  return config.failure_timeout(SimNetwork::Config{}.ping_timeout) + seconds(120);
}

std::string describe(const WaveReport& w) {
  return "crashed " + std::to_string(w.crashed) + ", live " + std::to_string(w.live) +
         ", predicted lost " + std::to_string(w.predicted_lost) + ", lost " +
         std::to_string(w.lost) + ", min replicas " + std::to_string(w.min_replicas) +
         ", under-replicated " + std::to_string(w.under_replicated);
}

// Five waves of 10% failures over 1,000 nodes holding 20,000 blocks, with repair after each.
// Returns the report; checks what must hold for any k: each wave crashes 10% of the live
// nodes, loses exactly the blocks whose every replica it crashed (the loss detector agrees
// with the prediction made before the wave), and brings every other block back to k
// replicas on the k closest live nodes.
PastReport five_waves(int k, std::uint64_t seed) {
  PastScenarioOptions options;
  options.ring.nodes = 1000;
  options.ring.seed = seed;
  options.blocks = 20000;
  options.block_bytes = 64;
  options.past.replicas = k;
  options.waves = 5;
  options.wave_fraction = 0.1;
  options.repair = repair_time(options.ring.pastry);
  PastReport report = run_past_scenario(options);

  EXPECT_EQ(report.join_failures, 0u);
  EXPECT_EQ(report.insert_failures, 0u) << report.insert_error;
  EXPECT_EQ(report.waves.size(), 5u);
  std::size_t live = 1000;
  for (std::size_t w = 0; w < report.waves.size(); ++w) {
    const WaveReport& wave = report.waves[w];
    SCOPED_TRACE("k = " + std::to_string(k) + ", wave " + std::to_string(w + 1) + ": " +
                 describe(wave));
    EXPECT_EQ(wave.crashed, static_cast<std::size_t>(std::llround(0.1 * static_cast<double>(live))));
    live -= wave.crashed;
    EXPECT_EQ(wave.live, live);
    EXPECT_EQ(wave.lost, wave.predicted_lost);
    EXPECT_EQ(wave.min_replicas, k);
    EXPECT_EQ(wave.under_replicated, 0u);
  }
  EXPECT_GT(report.maintenance_msgs_per_node_min, 0);
  return report;
}

TEST(PastSim, WithThreeReplicasOnlyBlocksWhoseEveryReplicaDiedInOneWaveAreLost) {
  // With k = 3 a 10% wave kills all three replicas of a block with probability about 1e-3,
  // and replica groups are runs of adjacent nodes: each wave is expected to wipe out about
  // one group (some 20 blocks). No repair can save those; the test checks that nothing else
  // is lost and everything else is back to three replicas.
  PastReport report = five_waves(3, 41);
  std::size_t predicted = 0;
  for (const auto& w : report.waves) predicted += w.predicted_lost;
  EXPECT_EQ(report.blocks_lost, predicted);
}

TEST(PastSim, WithFiveReplicasNoBlockIsLostInFiveWavesOfTenPercentFailures) {
  // With k = 5 a wave wipes out a replica group with probability about 1e-5 per group.
  PastReport report = five_waves(5, 41);
  EXPECT_EQ(report.blocks_lost, 0u);
}

TEST(PastSim, AWaveThatKillsEveryReplicaOfSomeBlocksLosesExactlyThose) {
  SimRingConfig ring_config;
  ring_config.nodes = 200;
  ring_config.seed = 5;
  past::PastConfig past_config;
  PastRing ring(ring_config, past_config);
  ASSERT_TRUE(ring.build().failed.empty());
  ring.ring().run_for(seconds(30));
  std::size_t failures = 0;
  std::string error;
  std::vector<Id> handles = ring.insert_blocks(2000, 64, &failures, &error);
  ASSERT_EQ(failures, 0u) << error;
  ring.ring().run_for(seconds(10));

  // Every holder of three chosen blocks, plus 5% of the members at random.
  std::vector<Id> targets = {handles[7], handles[700], handles[1400]};
  std::unordered_set<SimNode> victims;
  for (const auto& h : targets) {
    auto holders = ring.holders(h);
    ASSERT_EQ(holders.size(), 3u) << h.short_hex();
    victims.insert(holders.begin(), holders.end());
  }
  auto members = ring.ring().members();
  for (int i = 0; i < 10; ++i) victims.insert(members[ring.ring().rng().uniform(members.size())]);
  std::vector<SimNode> wave(victims.begin(), victims.end());
  std::sort(wave.begin(), wave.end());

  std::vector<Id> predicted = predict_losses(ring, handles, wave);
  for (const auto& t : targets) {
    EXPECT_NE(std::find(predicted.begin(), predicted.end(), t), predicted.end()) << t.short_hex();
  }
  ring.crash(wave);
  ring.ring().run_for(repair_time(ring_config.pastry));

  ReplicaCensus census = take_census(ring, handles, 3);
  auto sorted = [](std::vector<Id> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(census.lost), sorted(predicted));
  EXPECT_EQ(census.min_replicas, 3);
  EXPECT_EQ(census.under_replicated, 0u);
}

}  // namespace
}  // namespace post::sim
