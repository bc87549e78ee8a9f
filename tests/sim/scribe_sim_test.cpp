// Scribe in the simulator (issue 5): publications reach every member of Zipf-sized groups
// once, anycasts find an accepting member or say there is none, and after a tenth of the
// nodes (some roots among them) fail, delivery comes back within a stated bound of the
// heartbeat period. Seeded and deterministic.
#include <gtest/gtest.h>

#include "tools/post-sim/scribe_scenario.h"

namespace post::sim {
namespace {

// The size: 10,000 nodes, 1,000 groups (about 46,000 memberships).
TEST(ScribeSim, TenThousandNodesAndAThousandGroupsDeliverOnceAnycastAndRepairAfterATenthFail) {
  ScribeScenarioOptions options;
  options.ring.nodes = 10000;
  options.ring.seed = 9;
  options.groups = 1000;
  options.publishes = 100;
  options.anycasts = 20;
  options.fail_fraction = 0.1;
  options.repair = std::chrono::seconds(300);
  ScribeReport report = run_scribe_scenario(options);

  EXPECT_EQ(report.subscribe_failures, 0u);
  EXPECT_EQ(report.detached_before, 0u)
      << (report.detached_examples.empty() ? "" : report.detached_examples.front());
  EXPECT_DOUBLE_EQ(report.delivery_ratio, 1.0);
  EXPECT_EQ(report.duplicates, 0u);
  EXPECT_LE(report.max_children, options.scribe.max_children);
  EXPECT_GT(report.mean_depth, 0);
  EXPECT_GE(report.mean_rdp, 1.0);
  // Anycast: an accepting member is found whenever there is one; failure is answered when
  // nobody accepts.
  EXPECT_EQ(report.anycasts, 20u);
  EXPECT_EQ(report.anycasts_found, report.anycasts);
  EXPECT_EQ(report.anycasts_refused, 20u);
  EXPECT_EQ(report.anycasts_refused_answered, report.anycasts_refused);

  EXPECT_EQ(report.crashed, 1000u);
  // Some roots were among the crashed: their groups must be served by new roots.
  EXPECT_GT(report.roots_failed, 0u);
  // The bound: a child notices a silent parent within parent_timeout plus a heartbeat period
  // (or at once when its link breaks), resubscribes (Pastry may first have to route around
  // the failed nodes: its failure timeout), and a lost subscription is sent again after
  // subscribe_timeout.
  const double bound =
      net::to_seconds(options.scribe.parent_timeout + 2 * options.scribe.heartbeat_interval +
                      options.ring.pastry.failure_timeout(SimNetwork::Config{}.ping_timeout)) +
      15;
  ASSERT_GE(report.repair_seconds, 0)
      << report.detached_after << " memberships still detached after the repair time, e.g. "
      << (report.detached_examples.empty() ? "" : report.detached_examples.front());
  EXPECT_LE(report.repair_seconds, bound);
  // Then one publication to each of the 1,000 groups reaches every live member.
  EXPECT_DOUBLE_EQ(report.delivery_ratio_after, 1.0);
}

}  // namespace
}  // namespace post::sim
