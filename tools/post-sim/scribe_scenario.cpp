#include "tools/post-sim/scribe_scenario.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "host/scribe/errors.h"

namespace post::sim {
namespace {

using namespace std::chrono_literals;

double wall_seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Counts deliveries per (group, publication) at one member; accepts anycasts to `accepting`.
struct Member : scribe::ScribeClient {
  bool accept_anycast(const Id& group, ByteView /*payload*/) override {
    return accepting.contains(group);
  }
  std::set<Id> accepting;
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
  std::unordered_map<Id, SimNode> roots;
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
      roots[group] = at;
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

  // Memberships whose member is not attached: its chain of parents does not reach, through
  // live nodes that each list the child below them, the live node closest to the group (the
  // root publications are routed to).
  auto count_detached = [&](std::vector<std::string>* why = nullptr) {
    const RingOracle oracle = ring->oracle();
    std::size_t detached = 0;
    for (const auto& group : groups) {
      auto root = net.find(oracle.closest(group));
      for (SimNode m : group_members[group]) {
        if (!scribes[m]) continue;  // crashed
        SimNode at = m;
        bool attached = false;
        std::string trail;
        auto name = [&](SimNode n) { return ring->node(n)->local().id.short_hex(); };
        for (int hops = 0; hops < 64; ++hops) {
          trail += " " + name(at);
          if (scribes[at]->is_root(group)) {
            attached = root && at == *root;
            trail += attached ? " (root)" : " (a root, not the closest node " +
                                                oracle.closest(group).id.short_hex() + ")";
            break;
          }
          auto parent = scribes[at]->parent(group);
          auto p = parent ? net.find(*parent) : std::nullopt;
          if (!p || !scribes[*p]) {
            trail += parent ? " -> crashed " + parent->id.short_hex() : " (no parent)";
            break;
          }
          auto children = scribes[*p]->children(group);
          const Id& child_id = ring->node(at)->local().id;
          if (std::none_of(children.begin(), children.end(),
                           [&](const NodeHandle& c) { return c.id == child_id; })) {
            trail += " -> " + name(*p) + ", which does not list it";
            break;
          }
          at = *p;
        }
        if (!attached) {
          ++detached;
          if (why && why->size() < 10) why->push_back("group " + group.short_hex() + ":" + trail);
        }
      }
    }
    return detached;
  };
  report.detached_before = count_detached(&report.detached_examples);

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

  // Anycasts, answered before the next starts.
  auto anycast = [&](const Id& group) -> std::optional<Result<scribe::AnycastResult>> {
    auto live = ring->members();
    std::optional<Result<scribe::AnycastResult>> answer;
    Bytes payload{'a', 'n', 'y'};
    scribes[live[rng.uniform(live.size())]]->anycast(
        group, payload, [&answer](Result<scribe::AnycastResult> r) { answer = std::move(r); });
    const Time asked = ring->network().now();
    while (!answer && ring->network().now() - asked < options.scribe.anycast_timeout + 1s) {
      ring->run_for(std::chrono::milliseconds(100));
    }
    return answer;
  };
  std::vector<Id> small_groups;
  for (const auto& group : groups) {
    if (group_members[group].size() <= kSmallGroup) small_groups.push_back(group);
  }
  if (options.anycasts > 0) phase("anycasting");
  for (std::size_t i = 0; i < options.anycasts; ++i) {
    const Id& group = groups[rng.uniform(groups.size())];
    auto& gm = group_members[group];
    std::set<Id> accepting_ids;
    std::vector<SimNode> accepting;
    std::size_t takers = gm.size() <= kSmallGroup ? 1 : std::max<std::size_t>(1, gm.size() / 20);
    for (std::size_t t = 0; t < takers; ++t) accepting.push_back(gm[rng.uniform(gm.size())]);
    for (SimNode n : accepting) {
      clients[n]->accepting.insert(group);
      accepting_ids.insert(ring->node(n)->local().id);
    }
    ++report.anycasts;
    auto answer = anycast(group);
    if (answer && answer->ok() && accepting_ids.contains((*answer)->member.id)) {
      ++report.anycasts_found;
    }
    for (SimNode n : accepting) clients[n]->accepting.erase(group);
    if (small_groups.empty()) continue;
    ++report.anycasts_refused;
    answer = anycast(small_groups[rng.uniform(small_groups.size())]);
    if (answer && !answer->ok() && answer->error().code == scribe::ScribeErrc::kNoMemberAccepted) {
      ++report.anycasts_refused_answered;
    }
  }

  if (options.fail_fraction > 0) {
    phase("failing and repairing");
    report.crashed = ring->crash_random(options.fail_fraction).size();
    for (const auto& [group, root] : roots) report.roots_failed += scribes[root] ? 0 : 1;
    const Time crashed_at = ring->network().now();
    // Repaired when every live member is attached again (checked every 2 virtual seconds).
    while (ring->network().now() - crashed_at < options.repair) {
      ring->run_for(std::chrono::seconds(2));
      report.detached_examples.clear();
      report.detached_after = count_detached(&report.detached_examples);
      if (report.detached_after == 0) {
        report.repair_seconds = net::to_seconds(ring->network().now() - crashed_at);
        break;
      }
    }
    // Then one publication to every group, so groups whose root failed are certainly among
    // those checked.
    phase("publishing to every group");
    std::size_t expected = 0, delivered = 0;
    auto live = ring->members();
    for (const auto& group : groups) {
      std::string text = "after-" + group.short_hex();
      scribes[live[rng.uniform(live.size())]]->publish(group, Bytes(text.begin(), text.end()));
      ring->run_for(std::chrono::milliseconds(20));
    }
    ring->run_for(std::chrono::seconds(5));
    for (const auto& group : groups) {
      std::string text = "after-" + group.short_hex();
      for (SimNode m : group_members[group]) {
        if (!scribes[m]) continue;
        ++expected;
        delivered += clients[m]->mine.count({group, text}) ? 1 : 0;
      }
    }
    report.delivery_ratio_after =
        expected ? static_cast<double>(delivered) / static_cast<double>(expected) : 1.0;
  }
  report.duplicates = duplicates;  // deliveries to a member beyond the first
  (void)joins;
  report.seconds = wall_seconds_since(start);
  scribes.clear();
  return report;
}

}  // namespace post::sim
