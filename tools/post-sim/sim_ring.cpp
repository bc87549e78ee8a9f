#include "tools/post-sim/sim_ring.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "host/net/errors.h"
#include "host/net/latency_model.h"

namespace post::sim {
namespace {

// The join phase default_join_spacing aims at, in virtual time.
constexpr Duration kTargetJoinPhase = std::chrono::seconds(100);
constexpr Duration kMinJoinSpacing = std::chrono::milliseconds(1);
constexpr Duration kMaxJoinSpacing = std::chrono::milliseconds(50);
// How often build() reports progress, in virtual time.
constexpr Duration kProgressInterval = std::chrono::seconds(1);
// Problems RingCheck keeps verbatim.
constexpr std::size_t kMaxLeafSetProblems = 8;

std::unique_ptr<net::LatencyModel> make_latency(LatencyKind kind) {
  switch (kind) {
    case LatencyKind::kSphere: return std::make_unique<net::SphereLatency>();
    case LatencyKind::kPlane: break;
  }
  return std::make_unique<net::PlaneLatency>();
}

std::unique_ptr<SimNetwork> make_network(const SimRingConfig& config) {
  SimNetwork::Config net;
  net.seed = config.seed;
  net.latency = make_latency(config.latency);
  net.rtt_from_oracle = config.rtt_from_oracle;
  return std::make_unique<SimNetwork>(std::move(net));
}

}  // namespace

Duration default_join_spacing(std::size_t nodes) {
  if (nodes == 0) return kMaxJoinSpacing;
  Duration even = kTargetJoinPhase / static_cast<std::int64_t>(nodes);
  return std::clamp(even, kMinJoinSpacing, kMaxJoinSpacing);
}

SimRing::SimRing(SimRingConfig config)
    : config_(std::move(config)), rng_(Rng(config_.seed).fork()), net_(make_network(config_)) {}

SimRing::~SimRing() = default;

JoinReport SimRing::build(const Progress& progress) {
  const std::size_t total = config_.nodes;
  const Duration spacing =
      config_.join_spacing > Duration::zero() ? config_.join_spacing : default_join_spacing(total);
  nodes_.reserve(total);
  join_timer_.reserve(total);

  Time next_report = net_->now();
  auto report = [&] {
    if (net_->now() < next_report) return;
    next_report = net_->now() + kProgressInterval;
    if (progress) progress(ready_.size(), total, net_->now());
  };
  auto run_until = [&](Time t) {
    while (net_->now() < t) {
      net_->run_until(std::min(t, next_report));
      report();
    }
  };
  auto join_slots = [&] {
    auto slots =
        static_cast<std::size_t>(static_cast<double>(ready_.size()) * config_.joins_per_member);
    return std::max<std::size_t>(slots, 1);
  };

  for (std::size_t i = 0; i < total; ++i) {
    if (i > 0) {
      run_until(Time(spacing * static_cast<std::int64_t>(i)));
      while (joins_in_flight_ >= join_slots() && net_->step()) report();
    }
    SimNode node = net_->add_node(rng_.random_id());
    nodes_.push_back(std::make_unique<pastry::PastryNode>(net_->transport(node), net_->clock(node),
                                                          config_.pastry, rng_.next()));
    if (config_.on_node_created) config_.on_node_created(node, *nodes_[node]);
    join_timer_.push_back(net::kNoTimer);
    if (i == 0) {
      nodes_[node]->start_new_ring();
      ready_.push_back(node);
    } else {
      start_join(node);
    }
  }
  while (joins_in_flight_ > 0 && net_->step()) report();
  if (progress) progress(ready_.size(), total, net_->now());

  JoinReport result;
  result.ready = members().size();
  result.failed = failed_;
  result.first_error = first_error_;
  result.finished = last_join_end_;
  return result;
}

void SimRing::start_join(SimNode node) {
  SimNode bootstrap = ready_[rng_.uniform(ready_.size())];
  ++joins_in_flight_;
  auto end_join = [this, node](const Status& status) {
    if (join_timer_[node] == net::kNoTimer) return;  // already ended
    net_->clock(node).cancel(join_timer_[node]);
    join_timer_[node] = net::kNoTimer;
    --joins_in_flight_;
    last_join_end_ = net_->now();
    if (status.ok()) {
      ready_.push_back(node);
      return;
    }
    if (failed_.empty()) first_error_ = status.error().to_string();
    failed_.push_back(node);
    // Not from inside the node's own callback: crash() destroys the node.
    net_->clock(node).schedule(Duration::zero(), [this, node] { crash(node); });
  };
  join_timer_[node] = net_->clock(node).schedule(config_.join_deadline, [end_join] {
    end_join(make_error(net::NetErrc::kTimeout, "missed the deadline"));
  });
  nodes_[node]->join({SimNetwork::address_of(bootstrap)}, end_join);
}

std::vector<SimNode> SimRing::members() const {
  std::vector<SimNode> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto node = static_cast<SimNode>(i);
    if (nodes_[i] && net_->is_up(node) && nodes_[i]->ready()) out.push_back(node);
  }
  return out;
}

RingOracle SimRing::oracle(const std::vector<SimNode>& nodes) const {
  std::vector<NodeHandle> handles;
  handles.reserve(nodes.size());
  for (SimNode node : nodes) handles.push_back(net_->handle(node));
  return RingOracle(std::move(handles));
}

void SimRing::crash(SimNode node) {
  if (config_.on_node_crashing && nodes_[node]) config_.on_node_crashing(node);
  net_->crash(node);
  nodes_[node].reset();
}

std::vector<SimNode> SimRing::crash_random(double fraction) {
  std::vector<SimNode> candidates = members();
  auto count = static_cast<std::size_t>(
      std::llround(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(candidates.size())));
  // A partial Fisher-Yates shuffle: the first `count` entries are the victims.
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t j = i + rng_.uniform(candidates.size() - i);
    std::swap(candidates[i], candidates[j]);
  }
  candidates.resize(count);
  for (SimNode node : candidates) crash(node);
  return candidates;
}

std::vector<RoutingSlot> slots_of(const pastry::RoutingTable& table) {
  std::vector<RoutingSlot> slots;
  slots.reserve(table.size());
  for (int row = 0; row < table.rows(); ++row) {
    for (int column = 0; column < table.columns(); ++column) {
      if (const pastry::RoutingEntry* entry = table.at(row, column)) {
        slots.push_back({row, column, entry->node.id});
      }
    }
  }
  return slots;
}

double RingCheck::filled_fraction() const {
  if (tables.fillable == 0) return 1.0;
  return static_cast<double>(tables.filled) / static_cast<double>(tables.fillable);
}

RingCheck check_ring(const SimRing& ring, const std::vector<SimNode>& nodes,
                     const RingOracle& oracle) {
  RingCheck check;
  const int leaf_set_size = ring.config().pastry.leaf_set_size;
  const int digit_bits = ring.config().pastry.digit_bits;
  for (SimNode index : nodes) {
    const pastry::PastryNode* node = ring.node(index);
    if (node == nullptr) continue;
    ++check.nodes;
    const Id& self = node->local().id;
    const pastry::LeafSet& leaf_set = node->leaf_set();
    LeafSetCheck leaves = check_leaf_set(oracle, self, leaf_set_size, leaf_set.clockwise(),
                                         leaf_set.counter_clockwise());
    if (leaves.exact()) {
      ++check.exact_leaf_sets;
    } else if (check.leaf_set_problems.size() < kMaxLeafSetProblems) {
      check.leaf_set_problems.push_back("node " + std::to_string(index) + " (" + self.short_hex() +
                                        "): " + leaves.describe());
    }
    check.tables += check_routing_table(oracle, self, digit_bits, slots_of(node->routing_table()));
  }
  return check;
}

}  // namespace post::sim
