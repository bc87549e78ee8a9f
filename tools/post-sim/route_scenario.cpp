#include "tools/post-sim/route_scenario.h"

#include <malloc.h>

#include <chrono>

namespace post::sim {
namespace {

double wall_seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::size_t heap_in_use() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

RouteReport run_route_scenario(const RouteScenarioOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RouteReport report;
  report.nodes = options.ring.nodes;
  report.lookups = options.lookups;

  const std::size_t heap_before = heap_in_use();
  SimRing ring(options.ring);
  JoinReport joins = ring.build(options.join_progress);
  const std::size_t heap_after = heap_in_use();
  report.join_seconds = wall_seconds_since(start);
  report.join_failures = joins.failed.size();
  report.join_error = joins.first_error;
  report.join_virtual_seconds = net::to_seconds(joins.finished);
  if (report.nodes > 0 && heap_after > heap_before) {
    report.bytes_per_node =
        static_cast<double>(heap_after - heap_before) / static_cast<double>(report.nodes);
  }

  auto phase = [&options](const std::string& name) {
    if (options.on_phase) options.on_phase(name);
  };
  if (options.settle > Duration::zero()) {
    phase("settling");
    ring.run_for(options.settle);
  }
  if (options.fail_fraction > 0) {
    report.crashed = ring.crash_random(options.fail_fraction).size();
    phase("repairing");
    ring.run_for(options.repair);
  }
  std::vector<SimNode> members = ring.members();
  report.live = members.size();
  if (options.check_state) {
    phase("checking");
    report.state = check_ring(ring, members, ring.oracle(members));
  }
  phase("looking up");

  report.outcomes = run_lookups(ring, options.lookups);
  LookupSummary summary = summarize(report.outcomes);
  report.mean_hops = summary.mean_hops;
  report.p99_hops = summary.p99_hops;
  report.correct_fraction = summary.correct_fraction;
  report.stretch = summary.stretch;
  report.unanswered = summary.lookups - summary.answered;

  const SimNetwork& net = ring.network();
  report.virtual_seconds = net::to_seconds(net.now());
  report.events = net.events_processed();
  report.messages = net.messages_sent();
  report.seconds = wall_seconds_since(start);
  return report;
}

}  // namespace post::sim
