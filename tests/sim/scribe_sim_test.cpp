// Scribe in the simulator (issue 5): publications reach every member of Zipf-sized groups
// once, and after a tenth of the nodes fail delivery comes back within a stated bound of the
// heartbeat period. Seeded and deterministic.
#include <gtest/gtest.h>

#include "tools/post-sim/scribe_scenario.h"

namespace post::sim {
namespace {

TEST(ScribeSim, ZipfGroupsGetEveryPublicationOnceAndRecoverFromATenthOfNodesFailing) {
  ScribeScenarioOptions options;
  options.ring.nodes = 2000;
  options.ring.seed = 9;
  options.groups = 200;
  options.publishes = 100;
  options.fail_fraction = 0.1;
  options.repair = std::chrono::seconds(300);
  ScribeReport report = run_scribe_scenario(options);

  EXPECT_EQ(report.subscribe_failures, 0u);
  EXPECT_DOUBLE_EQ(report.delivery_ratio, 1.0);
  EXPECT_EQ(report.duplicates, 0u);
  EXPECT_LE(report.max_children, options.scribe.max_children);
  EXPECT_GT(report.mean_depth, 0);
  EXPECT_GE(report.mean_rdp, 1.0);
  EXPECT_EQ(report.crashed, 200u);
  // The bound: a child notices a silent parent within parent_timeout plus a heartbeat period
  // (or at once when its link breaks), resubscribes (Pastry may first have to route around
  // the failed nodes: its failure timeout), and the probe rounds that measure it take a few
  // seconds each.
  const double bound =
      net::to_seconds(options.scribe.parent_timeout + 2 * options.scribe.heartbeat_interval +
                      options.ring.pastry.failure_timeout(SimNetwork::Config{}.ping_timeout)) +
      15;
  ASSERT_GE(report.repair_seconds, 0) << "delivery did not recover: " << report.delivery_ratio_after;
  EXPECT_LE(report.repair_seconds, bound);
}

}  // namespace
}  // namespace post::sim
