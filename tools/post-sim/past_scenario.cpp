#include "tools/post-sim/past_scenario.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace post::sim {
namespace {

double wall_seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<NodeHandle> k_closest(const RingOracle& oracle, const Id& key, std::size_t k) {
  std::vector<NodeHandle> candidates = oracle.clockwise_from(key, k);
  for (auto& n : oracle.counter_clockwise_from(key, k)) candidates.push_back(n);
  if (oracle.contains(key)) candidates.push_back(oracle.closest(key));
  std::sort(candidates.begin(), candidates.end(), [&](const NodeHandle& a, const NodeHandle& b) {
    return is_closer(key, a.id, b.id);
  });
  candidates.erase(std::unique(candidates.begin(), candidates.end(),
                               [](const NodeHandle& a, const NodeHandle& b) { return a.id == b.id; }),
                   candidates.end());
  if (candidates.size() > k) candidates.resize(k);
  return candidates;
}

PastRing::PastRing(SimRingConfig ring, past::PastConfig past, Bytes ca_public_key)
    : past_config_(std::move(past)),
      ca_public_key_(std::move(ca_public_key)),
      ring_([this, ring]() mutable {
        ring.on_node_created = [this](SimNode node, pastry::PastryNode& pastry) {
          if (stores_.size() <= node) {
            stores_.resize(node + 1);
            past_.resize(node + 1);
          }
          node_of_[pastry.local().id] = node;
          stores_[node] = std::make_unique<past::MemoryBlockStore>();
          past_[node] = std::make_unique<past::PastNode>(
              pastry, ring_.network().transport(node), ring_.network().clock(node), *stores_[node],
              past_config_, ca_public_key_, ring_.rng().next());
        };
        ring.on_node_crashing = [this](SimNode node) {
          past_[node].reset();
          stores_[node].reset();
        };
        return ring;
      }()) {}

PastRing::~PastRing() {
  // Before the ring: each PastNode unregisters from its PastryNode.
  past_.clear();
}

std::vector<Id> PastRing::insert_blocks(std::size_t count, std::size_t bytes,
                                        std::size_t* failures, std::string* first_error) {
  std::vector<Id> handles;
  handles.reserve(count);
  std::size_t answered = 0;
  auto& rng = ring_.rng();
  for (std::size_t i = 0; i < count; ++i) {
    auto members = ring_.members();
    if (members.empty()) break;
    SimNode from = members[rng.uniform(members.size())];
    Bytes content = rng.bytes(bytes);
    past::Block block = past::make_content_block(std::move(content));
    handles.push_back(past::handle_of(block));
    past_[from]->insert(block, [&answered, failures, first_error](Result<past::InsertResult> r) {
      ++answered;
      if (!r.ok()) {
        ++*failures;
        if (first_error->empty()) *first_error = r.error().to_string();
      }
    });
    ring_.run_for(std::chrono::milliseconds(2));
  }
  // Every insert answers within insert_timeout.
  while (answered < handles.size() && ring_.network().step()) {
  }
  return handles;
}

std::vector<SimNode> PastRing::holders(const Id& handle) const {
  std::vector<SimNode> out;
  for (SimNode node : ring_.members()) {
    if (stores_[node] && stores_[node]->contains(past::BlockKey{handle})) out.push_back(node);
  }
  return out;
}

int PastRing::replicas_in_place(const Id& handle, const RingOracle& oracle) const {
  int in_place = 0;
  for (const auto& n : k_closest(oracle, handle, static_cast<std::size_t>(past_config_.replicas))) {
    SimNode node = node_of_.at(n.id);
    if (stores_[node] && stores_[node]->contains(past::BlockKey{handle})) ++in_place;
  }
  return in_place;
}

void PastRing::crash(const std::vector<SimNode>& victims) {
  for (SimNode v : victims) ring_.crash(v);
}

std::uint64_t PastRing::maintenance_messages() const {
  std::uint64_t sum = 0;
  for (const auto& p : past_) {
    if (p) sum += p->stats().maintenance_messages;
  }
  return sum;
}

std::uint64_t PastRing::maintenance_bytes() const {
  std::uint64_t sum = 0;
  for (const auto& p : past_) {
    if (p) sum += p->stats().maintenance_bytes;
  }
  return sum;
}

ReplicaCensus take_census(PastRing& ring, const std::vector<Id>& handles, int k) {
  ReplicaCensus census;
  census.min_replicas = k;
  RingOracle oracle = ring.ring().oracle();
  // One pass over the stores: which handles have any live holder.
  std::unordered_set<Id> held;
  for (SimNode node : ring.ring().members()) {
    ring.store(node)->for_each([&](const past::BlockKey& key, std::uint64_t) {
      held.insert(key.handle);
      return true;
    });
  }
  for (const auto& h : handles) {
    if (!held.contains(h)) {
      census.lost.push_back(h);
      continue;
    }
    int in_place = ring.replicas_in_place(h, oracle);
    census.min_replicas = std::min(census.min_replicas, in_place);
    if (in_place < k) ++census.under_replicated;
  }
  return census;
}

std::vector<Id> predict_losses(PastRing& ring, const std::vector<Id>& handles,
                               const std::vector<SimNode>& victims) {
  std::unordered_set<SimNode> doomed(victims.begin(), victims.end());
  std::unordered_map<Id, bool> survives;  // handle -> some holder is not a victim
  for (SimNode node : ring.ring().members()) {
    bool victim = doomed.contains(node);
    ring.store(node)->for_each([&](const past::BlockKey& key, std::uint64_t) {
      auto& s = survives[key.handle];
      s = s || !victim;
      return true;
    });
  }
  std::vector<Id> lost;
  for (const auto& h : handles) {
    auto it = survives.find(h);
    if (it == survives.end() || !it->second) lost.push_back(h);
  }
  return lost;
}

PastReport run_past_scenario(const PastScenarioOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PastReport report;
  report.nodes = options.ring.nodes;
  report.blocks = options.blocks;
  report.k = options.past.replicas;
  auto phase = [&options](const std::string& name) {
    if (options.on_phase) options.on_phase(name);
  };

  PastRing ring(options.ring, options.past);
  JoinReport joins = ring.build(options.join_progress);
  report.join_failures = joins.failed.size();
  // Let the leaf sets settle before the inserts (maintenance would move blocks otherwise).
  ring.ring().run_for(std::chrono::seconds(30));

  phase("inserting");
  std::vector<Id> handles = ring.insert_blocks(options.blocks, options.block_bytes,
                                               &report.insert_failures, &report.insert_error);
  ring.ring().run_for(std::chrono::seconds(10));

  std::unordered_set<Id> lost_so_far;
  const auto messages_before = ring.maintenance_messages();
  const auto bytes_before = ring.maintenance_bytes();
  double node_minutes = 0;
  std::uint64_t messages_of_crashed = 0, bytes_of_crashed = 0;
  report.min_replicas = options.past.replicas;
  for (int w = 0; w < options.waves; ++w) {
    phase("wave " + std::to_string(w + 1));
    WaveReport wave;
    auto members = ring.ring().members();
    // A partial Fisher-Yates shuffle picks the victims.
    auto count = static_cast<std::size_t>(
        std::llround(std::clamp(options.wave_fraction, 0.0, 1.0) * static_cast<double>(members.size())));
    auto& rng = ring.ring().rng();
    for (std::size_t i = 0; i < count; ++i) {
      std::size_t j = i + rng.uniform(members.size() - i);
      std::swap(members[i], members[j]);
    }
    std::vector<SimNode> victims(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(count));
    std::vector<Id> alive_handles;
    for (const auto& h : handles) {
      if (!lost_so_far.contains(h)) alive_handles.push_back(h);
    }
    wave.predicted_lost = predict_losses(ring, alive_handles, victims).size();
    // Their counters leave with them; keep them in the totals.
    for (SimNode v : victims) {
      messages_of_crashed += ring.past(v)->stats().maintenance_messages;
      bytes_of_crashed += ring.past(v)->stats().maintenance_bytes;
    }
    ring.crash(victims);
    wave.crashed = victims.size();
    ring.ring().run_for(options.repair);
    wave.live = ring.ring().members().size();
    node_minutes += static_cast<double>(wave.live) * net::to_seconds(options.repair) / 60.0;

    ReplicaCensus census = take_census(ring, alive_handles, options.past.replicas);
    wave.lost = census.lost.size();
    for (const auto& h : census.lost) lost_so_far.insert(h);
    wave.min_replicas = census.min_replicas;
    wave.under_replicated = census.under_replicated;
    report.min_replicas = census.min_replicas;
    report.waves.push_back(wave);
  }
  report.blocks_lost = lost_so_far.size();
  if (options.waves == 0) {
    ReplicaCensus census = take_census(ring, handles, options.past.replicas);
    report.blocks_lost = census.lost.size();
    report.min_replicas = census.min_replicas;
  }
  if (node_minutes > 0) {
    report.maintenance_msgs_per_node_min =
        static_cast<double>(ring.maintenance_messages() + messages_of_crashed - messages_before) /
        node_minutes;
    report.maintenance_bytes_per_node_min =
        static_cast<double>(ring.maintenance_bytes() + bytes_of_crashed - bytes_before) /
        node_minutes;
  }
  report.virtual_seconds = net::to_seconds(ring.ring().network().now());
  report.seconds = wall_seconds_since(start);
  return report;
}

}  // namespace post::sim
