// The `past` scenario of post-sim: a ring of PAST nodes (in-memory block stores) takes B
// inserts, then loses a share of its nodes in each of W waves, with S virtual seconds of
// repair after each. Reports lost blocks (counted from the stores, and checked against what
// the waves predicted), the replica count the blocks are back to, and what maintenance cost.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/past/block.h"
#include "host/past/block_store.h"
#include "host/past/past_node.h"
#include "tools/post-sim/sim_ring.h"

namespace post::sim {

// A SimRing with a PastNode and a MemoryBlockStore on every node.
class PastRing {
 public:
  // `ca_public_key` checks certificate blocks (empty: every certificate block is refused).
  PastRing(SimRingConfig ring, past::PastConfig past, Bytes ca_public_key = {});
  ~PastRing();
  PastRing(const PastRing&) = delete;
  PastRing& operator=(const PastRing&) = delete;

  JoinReport build(const SimRing::Progress& progress = {}) { return ring_.build(progress); }
  SimRing& ring() { return ring_; }
  past::PastNode* past(SimNode node) { return past_[node].get(); }
  past::MemoryBlockStore* store(SimNode node) { return stores_[node].get(); }
  // The member with nodeId `id`.
  SimNode node_of(const Id& id) const { return node_of_.at(id); }
  // Takes `node`'s PastNode away (its store stays): tests then play its part by hand.
  void detach_past(SimNode node) { past_[node].reset(); }

  // Inserts `count` content-hash blocks of `bytes` random bytes each, from random members,
  // a few virtual milliseconds apart, and runs until every insert has answered. Returns the
  // handles inserted; `failures` gets the inserts that reported an error.
  std::vector<Id> insert_blocks(std::size_t count, std::size_t bytes, std::size_t* failures,
                                std::string* first_error);

  // The members holding a copy of `handle` in their store.
  std::vector<SimNode> holders(const Id& handle) const;
  // How many of the k members closest to `handle` (by the oracle) hold it.
  int replicas_in_place(const Id& handle, const RingOracle& oracle) const;

  // Crashes `victims` at once.
  void crash(const std::vector<SimNode>& victims);

  // Sum over live members of their maintenance counters.
  std::uint64_t maintenance_messages() const;
  std::uint64_t maintenance_bytes() const;

 private:
  past::PastConfig past_config_;
  Bytes ca_public_key_;
  std::vector<std::unique_ptr<past::MemoryBlockStore>> stores_;
  std::vector<std::unique_ptr<past::PastNode>> past_;
  std::unordered_map<Id, SimNode> node_of_;
  SimRing ring_;  // declared last: the PAST nodes go first, while their PastryNodes exist
};

struct PastScenarioOptions {
  SimRingConfig ring;
  past::PastConfig past;
  std::size_t blocks = 1000;
  std::size_t block_bytes = 256;
  int waves = 1;
  double wave_fraction = 0.1;
  Duration repair = std::chrono::seconds(300);
  SimRing::Progress join_progress;
  // Called as phases start: "inserting", "wave 1", ...
  std::function<void(const std::string& phase)> on_phase;
};

struct WaveReport {
  std::size_t crashed = 0;
  std::size_t live = 0;
  // Blocks whose every copy was on a node this wave crashed (known before it ran).
  std::size_t predicted_lost = 0;
  // Blocks no live member holds after the repair (counted from the stores), this wave's.
  std::size_t lost = 0;
  int min_replicas = 0;  // over blocks not lost, after the repair
  std::size_t under_replicated = 0;
};

struct PastReport {
  std::size_t nodes = 0;
  std::size_t blocks = 0;
  int k = 0;
  std::size_t blocks_lost = 0;
  int min_replicas = 0;
  double maintenance_msgs_per_node_min = 0;
  double maintenance_bytes_per_node_min = 0;
  double seconds = 0;

  std::size_t insert_failures = 0;
  std::string insert_error;
  std::size_t join_failures = 0;
  std::vector<WaveReport> waves;
  double virtual_seconds = 0;
};

// The `k` members of `oracle` numerically closest to `key`, closest first.
std::vector<NodeHandle> k_closest(const RingOracle& oracle, const Id& key, std::size_t k);

// What the stores say about every block in `handles` now: lost ones (no live holder) and the
// least number of replicas in place among the others.
struct ReplicaCensus {
  std::vector<Id> lost;
  int min_replicas = 0;
  std::size_t under_replicated = 0;  // fewer than k in place
};
ReplicaCensus take_census(PastRing& ring, const std::vector<Id>& handles, int k);

// Blocks of `handles` whose every holder is in `victims`: what a wave of them must lose.
std::vector<Id> predict_losses(PastRing& ring, const std::vector<Id>& handles,
                               const std::vector<SimNode>& victims);

PastReport run_past_scenario(const PastScenarioOptions& options);

}  // namespace post::sim
