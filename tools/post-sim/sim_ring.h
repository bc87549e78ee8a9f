// SimRing: a Pastry ring of N nodes inside one SimNetwork, for post-sim and the simulation
// tests. It owns the network and the PastryNodes, grows the ring by staggered joins, injects
// faults, and describes the live members to a RingOracle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/core/random.h"
#include "host/net/sim_network.h"
#include "host/pastry/pastry_config.h"
#include "host/pastry/pastry_node.h"
#include "tools/post-sim/ring_oracle.h"

namespace post::sim {

using net::Duration;
using net::SimNetwork;
using net::SimNode;
using net::Time;

enum class LatencyKind { kPlane, kSphere };

struct SimRingConfig {
  std::size_t nodes = 1000;
  // Seeds node ids, placement, loss, bootstrap choices and every node's own Rng.
  std::uint64_t seed = 1;
  pastry::PastryConfig pastry;
  LatencyKind latency = LatencyKind::kPlane;
  // SimNetwork::Config::rtt_from_oracle: proximity from the latency model instead of stored
  // ping measurements (saves memory on huge rings; PNS then sees every candidate's RTT).
  bool rtt_from_oracle = false;
  // Node i (i >= 1) starts joining no earlier than i * join_spacing. Zero: the default
  // spacing, default_join_spacing(nodes).
  Duration join_spacing{0};
  // At most this many joins per ready member are in flight at once, so a young ring is not
  // flooded by joiners (and never fewer than one).
  double joins_per_member = 0.25;
  // A join still unfinished this long after it started counts as failed.
  Duration join_deadline = std::chrono::minutes(5);
  // Layers above Pastry (PAST, Scribe) attach to each node as it is created, before it joins,
  // and detach just before it crashes (while its PastryNode still exists).
  std::function<void(SimNode, pastry::PastryNode&)> on_node_created;
  std::function<void(SimNode)> on_node_crashing;
};

// About 100 virtual seconds for the whole join phase, within [1 ms, 50 ms] per node.
Duration default_join_spacing(std::size_t nodes);

// What build() achieved.
struct JoinReport {
  std::size_t ready = 0;
  // Nodes whose join reported an error or missed its deadline. They were crashed and take
  // no further part.
  std::vector<SimNode> failed;
  // Why the first of them failed: its join's error, or "missed the deadline".
  std::string first_error;
  // Virtual time when the last join finished (or was given up).
  Time finished{0};
};

class SimRing {
 public:
  // Called now and then during build(): ready members so far, nodes in total, virtual time.
  using Progress = std::function<void(std::size_t ready, std::size_t total, Time now)>;

  explicit SimRing(SimRingConfig config);
  ~SimRing();
  SimRing(const SimRing&) = delete;
  SimRing& operator=(const SimRing&) = delete;

  // Adds config.nodes nodes with random ids. Node 0 starts the ring; each later node joins
  // through a random member that is already ready, at its staggered start time. Returns when
  // every join finished or missed its deadline. Call once.
  JoinReport build(const Progress& progress = {});

  const SimRingConfig& config() const { return config_; }
  SimNetwork& network() { return *net_; }
  const SimNetwork& network() const { return *net_; }
  std::size_t size() const { return nodes_.size(); }

  // The Pastry node of `node`, or nullptr once it crashed.
  pastry::PastryNode* node(SimNode node) { return nodes_[node].get(); }
  const pastry::PastryNode* node(SimNode node) const { return nodes_[node].get(); }

  // The members: nodes that are up and ready, in index order.
  std::vector<SimNode> members() const;
  // The oracle over all members, or over `nodes` (e.g. one side of a partition).
  RingOracle oracle() const { return oracle(members()); }
  RingOracle oracle(const std::vector<SimNode>& nodes) const;

  // Crashes `node` in the network and destroys its PastryNode (no goodbye is sent).
  void crash(SimNode node);
  // Crashes round(fraction * members) members chosen at random, all at the same instant.
  // Returns them.
  std::vector<SimNode> crash_random(double fraction);

  // Runs the network for `d` of virtual time.
  void run_for(Duration d) { net_->run_for(d); }

  // This ring's Rng, for scenario choices (keys, sources, victims) that must replay from the
  // seed.
  Rng& rng() { return rng_; }

 private:
  void start_join(SimNode node);

  SimRingConfig config_;
  Rng rng_;
  std::unique_ptr<SimNetwork> net_;
  // Declared after net_: destroyed first, while the Transports they use still exist.
  std::vector<std::unique_ptr<pastry::PastryNode>> nodes_;
  std::vector<SimNode> ready_;
  std::vector<SimNode> failed_;
  std::string first_error_;
  std::vector<net::TimerId> join_timer_;  // per node: its join deadline, while it joins
  std::size_t joins_in_flight_ = 0;
  Time last_join_end_{0};
};

// The filled slots of `node`'s routing table, for check_routing_table.
std::vector<RoutingSlot> slots_of(const pastry::RoutingTable& table);

// Leaf sets and routing tables of a set of nodes against an oracle.
struct RingCheck {
  std::size_t nodes = 0;
  std::size_t exact_leaf_sets = 0;
  std::vector<std::string> leaf_set_problems;  // the first few, "node <id>: <describe()>"
  RoutingTableCheck tables;

  bool leaf_sets_exact() const { return exact_leaf_sets == nodes; }
  // Share of fillable routing table slots that hold a live, well-placed entry.
  double filled_fraction() const;
};

// Checks the leaf set and routing table of every node in `nodes` (all of them up) against
// `oracle`.
RingCheck check_ring(const SimRing& ring, const std::vector<SimNode>& nodes,
                     const RingOracle& oracle);

}  // namespace post::sim
