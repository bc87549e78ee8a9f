#include "tools/post-sim/scribe_scenario.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace post::sim {
namespace {

double wall_seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Counts deliveries per (group, publication) at one member.
struct Member : scribe::ScribeClient {
  void deliver(const Id& group, ByteView payload) override {
    std::string key(payload.begin(), payload.end());
    ++(*counts)[{group, key}];
    if (++mine[{group, key}] > 1) ++*duplicates;
  }
  std::map<std::pair<Id, std::string>, int>* counts = nullptr;
  std::map<std::pair<Id, std::string>, int> mine;
  std::size_t* duplicates = nullptr;
};

}  // namespace

ScribeReport run_scribe_scenario(const ScribeScenarioOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ScribeReport report;
  report.nodes = options.ring.nodes;
  report.groups = options.groups;
  report.publishes = options.publishes;
  auto phase = [&](const std::string& name) {
    if (options.on_phase) options.on_phase(name);
  };

  std::vector<std::unique_ptr<scribe::ScribeNode>> scribes;
  std::unique_ptr<SimRing> ring;
  SimRingConfig config = options.ring;
  config.on_node_created = [&](SimNode node, pastry::PastryNode& pastry) {
    if (scribes.size() <= node) scribes.resize(node + 1);
    scribes[node] = std::make_unique<scribe::ScribeNode>(
        pastry, ring->network().transport(node), ring->network().clock(node), options.scribe,
        ring->rng().next());
  };
  config.on_node_crashing = [&](SimNode node) { scribes[node].reset(); };
  ring = std::make_unique<SimRing>(config);
  JoinReport joins = ring->build(options.join_progress);
  ring->run_for(std::chrono::seconds(30));
  Rng& rng = ring->rng();

  // Groups and their members: the group of rank r has about N * r^-1.25 members.
  phase("subscribing");
  auto members = ring->members();
  std::map<std::pair<Id, std::string>, int> counts;
  std::size_t duplicates = 0;
  std::vector<std::unique_ptr<Member>> clients(scribes.size());
  for (SimNode n : members) {
    clients[n] = std::make_unique<Member>();
    clients[n]->counts = &counts;
    clients[n]->duplicates = &duplicates;
  }
  std::vector<Id> groups;
  std::unordered_map<Id, std::vector<SimNode>> group_members;
  std::size_t acknowledged = 0;
  for (std::size_t r = 1; r <= options.groups; ++r) {
    Id group = rng.random_id();
    groups.push_back(group);
    auto size = static_cast<std::size_t>(std::floor(
        static_cast<double>(members.size()) * std::pow(static_cast<double>(r), -1.25) + 0.5));
    size = std::clamp<std::size_t>(size, 1, members.size());
    // A partial Fisher-Yates shuffle picks the members.
    for (std::size_t i = 0; i < size; ++i) {
      std::size_t j = i + rng.uniform(members.size() - i);
      std::swap(members[i], members[j]);
      group_members[group].push_back(members[i]);
      scribes[members[i]]->subscribe(group, clients[members[i]].get(),
                                     [&acknowledged](Status s) { acknowledged += s.ok() ? 1 : 0; });
      ++report.memberships;
    }
    ring->run_for(std::chrono::milliseconds(50));
  }
  ring->run_for(options.scribe.subscribe_timeout * 3);
  report.subscribe_failures = report.memberships - acknowledged;

  // Tree shape, from the parent pointers: depth and relative delay penalty per membership.
  const SimNetwork& net = ring->network();
  double depth_sum = 0, rdp_sum = 0;
  std::size_t depth_samples = 0, rdp_samples = 0;
  for (const auto& group : groups) {
    for (SimNode m : group_members[group]) {
      SimNode at = m;
      Duration path{0};
      int depth = 0;
      while (scribes[at] && !scribes[at]->is_root(group) && depth < 64) {
        auto parent = scribes[at]->parent(group);
        if (!parent) break;
        auto p = net.find(*parent);
        if (!p) break;
        path += net.latency(*p, at);
        at = *p;
        ++depth;
      }
      if (!scribes[at] || !scribes[at]->is_root(group)) continue;  // not attached (yet)
      depth_sum += depth;
      ++depth_samples;
      Duration direct = net.latency(at, m);
      if (at != m && direct > Duration::zero()) {
        rdp_sum += std::chrono::duration<double>(path) / std::chrono::duration<double>(direct);
        ++rdp_samples;
      }
    }
  }
  for (SimNode n : ring->members()) {
    for (const auto& group : groups) {
      report.max_children = std::max(report.max_children, scribes[n]->children(group).size());
    }
  }
  report.mean_depth = depth_samples ? depth_sum / static_cast<double>(depth_samples) : 0;
  report.mean_rdp = rdp_samples ? rdp_sum / static_cast<double>(rdp_samples) : 0;

  // Publications to random groups from random nodes; delivery counted at the members.
  auto publish_round = [&](std::size_t count, const std::string& tag) {
    std::size_t expected = 0, delivered = 0;
    std::vector<std::pair<Id, std::string>> sent;
    auto live = ring->members();
    for (std::size_t i = 0; i < count; ++i) {
      const Id& group = groups[rng.uniform(groups.size())];
      std::string text = tag + std::to_string(i);
      scribes[live[rng.uniform(live.size())]]->publish(group, Bytes(text.begin(), text.end()));
      sent.emplace_back(group, text);
      ring->run_for(std::chrono::milliseconds(20));
    }
    ring->run_for(std::chrono::seconds(5));
    for (const auto& [group, text] : sent) {
      for (SimNode m : group_members[group]) {
        if (!scribes[m]) continue;  // crashed
        ++expected;
        delivered += clients[m]->mine.count({group, text}) ? 1 : 0;
      }
    }
    return expected ? static_cast<double>(delivered) / static_cast<double>(expected) : 1.0;
  };
  phase("publishing");
  report.delivery_ratio = publish_round(options.publishes, "p");

  if (options.fail_fraction > 0) {
    phase("failing and repairing");
    report.crashed = ring->crash_random(options.fail_fraction).size();
    const Time crashed_at = ring->network().now();
    // Probe rounds until every live member gets every probe, or the repair time is over.
    std::size_t round = 0;
    while (ring->network().now() - crashed_at < options.repair) {
      double ratio = publish_round(std::min<std::size_t>(options.publishes, 50),
                                   "r" + std::to_string(round++) + "-");
      report.delivery_ratio_after = ratio;
      if (ratio >= 1.0) {
        report.repair_seconds = net::to_seconds(ring->network().now() - crashed_at);
        break;
      }
    }
  }
  report.duplicates = duplicates;  // deliveries to a member beyond the first
  (void)joins;
  report.seconds = wall_seconds_since(start);
  scribes.clear();
  return report;
}

}  // namespace post::sim
