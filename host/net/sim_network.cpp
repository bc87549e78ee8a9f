#include "host/net/sim_network.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/container/small_vector.hpp>

#include "host/core/log.h"
#include "host/net/errors.h"

namespace post::net {
namespace {

// Node 0 listens on 10.0.0.1.
constexpr std::uint32_t kFirstAddress = 0x0A000001;

// Endpoints live in fixed chunks so that the Transport& and Clock& handed out stay valid while
// nodes are added.
constexpr std::size_t kChunkBits = 10;
constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
constexpr std::size_t kChunkMask = kChunkSize - 1;

// Cancelled entries are swept out of the queue once they are at least this many and at least
// half of it, so that a node re-arming a long timer does not grow the queue without bound.
constexpr std::size_t kMinCancelledToCompact = 4096;

std::uint64_t pair_key(SimNode from, SimNode to) {
  return std::uint64_t{from} << 32 | to;
}

// Timer and ping ids: slot + 1 in the low half (so never kNoTimer), generation in the high half.
std::uint64_t make_id(std::uint32_t slot, std::uint32_t generation) {
  return std::uint64_t{generation} << 32 | (std::uint64_t{slot} + 1);
}
std::uint32_t slot_of(std::uint64_t id) {
  return static_cast<std::uint32_t>(id) - 1;
}
std::uint32_t generation_of(std::uint64_t id) {
  return static_cast<std::uint32_t>(id >> 32);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "SimNetwork: %s\n", what.c_str());
  std::abort();
}

}  // namespace

// The Transport and Clock of one node: its state and a way back to the network.
class SimNetwork::Endpoint final : public Transport, public Clock {
 public:
  const NodeHandle& local() const override { return handle; }

  void set_handler(Channel channel, MessageHandler* handler) override {
    auto it = std::find_if(handlers.begin(), handlers.end(),
                           [&](const auto& entry) { return entry.first == channel; });
    if (handler == nullptr) {
      if (it != handlers.end()) handlers.erase(it);
    } else if (it != handlers.end()) {
      it->second = handler;
    } else {
      handlers.emplace_back(channel, handler);
    }
  }

  Status send(const NodeHandle& to, Channel channel, Bytes payload) override {
    return net->send_from(index, to, channel, std::move(payload));
  }

  void ping(const NodeHandle& to, std::function<void(Result<Duration>)> done) override {
    net->ping_from(index, to, std::move(done));
  }

  std::optional<Duration> rtt(const NodeHandle& to) const override {
    return net->rtt_from(index, to);
  }

  void connect(const Address& address, std::function<void(Result<NodeHandle>)> done) override {
    net->connect_from(index, address, std::move(done));
  }

  Time now() const override { return net->now_; }

  TimerId schedule(Duration delay, std::function<void()> fn) override {
    return net->schedule_timer(index, delay, std::move(fn));
  }

  void cancel(TimerId id) override { net->cancel_timer(index, id); }

  MessageHandler* handler_for(Channel channel) const {
    for (const auto& [registered, handler] : handlers) {
      if (registered == channel) return handler;
    }
    return nullptr;
  }

  bool is_registered(const MessageHandler* handler) const {
    return std::any_of(handlers.begin(), handlers.end(),
                       [&](const auto& entry) { return entry.second == handler; });
  }

  bool alive_as(std::uint32_t expected_incarnation) const {
    return up && incarnation == expected_incarnation;
  }

  SimNetwork* net = nullptr;
  SimNode index = 0;
  std::uint32_t incarnation = 0;
  std::uint32_t partition = 0;
  bool up = false;
  NodeHandle handle;
  std::vector<std::pair<Channel, MessageHandler*>> handlers;
};

// Last RTT measured per (from, to) pair, tagged with the measuring node's incarnation so that a
// restart forgets them without a sweep. Open addressing with linear probing: one flat array, no
// allocation per entry. Entries are never removed, only overwritten.
class SimNetwork::RttTable {
 public:
  void put(std::uint64_t key, Duration rtt, std::uint32_t incarnation) {
    if ((used_ + 1) * 10 > slots_.size() * 7) grow();
    Entry& entry = slots_[probe(key)];
    if (entry.key == kEmpty) {
      entry.key = key;
      ++used_;
    }
    entry.rtt = rtt.count();
    entry.incarnation = incarnation;
  }

  std::optional<Duration> get(std::uint64_t key, std::uint32_t incarnation) const {
    if (slots_.empty()) return std::nullopt;
    const Entry& entry = slots_[probe(key)];
    if (entry.key != key || entry.incarnation != incarnation) return std::nullopt;
    return Duration(entry.rtt);
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};  // no (from, to) pair packs to it

  struct Entry {
    std::uint64_t key = kEmpty;
    Duration::rep rtt = 0;
    std::uint32_t incarnation = 0;
  };

  // The slot holding `key`, or the empty slot where it would go.
  std::size_t probe(std::uint64_t key) const {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - bits_));
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask;
    return i;
  }

  void grow() {
    std::vector<Entry> old = std::move(slots_);
    bits_ = old.empty() ? 6 : bits_ + 1;
    slots_.assign(std::size_t{1} << bits_, Entry{});
    for (const Entry& entry : old) {
      if (entry.key != kEmpty) slots_[probe(entry.key)] = entry;
    }
  }

  std::vector<Entry> slots_;
  std::size_t used_ = 0;
  int bits_ = 0;
};

SimNetwork::SimNetwork(Config config)
    : seed_(config.seed),
      config_(std::move(config)),
      latency_(std::move(config_.latency)),
      placement_rng_(seed_),
      loss_rng_(placement_rng_.fork()),
      log_(post::log::get("net")),
      rtts_(std::make_unique<RttTable>()) {
  if (!latency_) latency_ = std::make_unique<PlaneLatency>();
}

SimNetwork::~SimNetwork() = default;

// ---- nodes ----

SimNode SimNetwork::add_node(const Id& id) {
  if (size_ >= kMaxNodes) die("cannot add node: the 10.0.0.0/8 address space is full");
  if (size_ >= latency_->max_nodes()) {
    die("cannot add node " + std::to_string(size_) + ": the latency model holds only " +
        std::to_string(latency_->max_nodes()) + " nodes");
  }
  auto index = static_cast<SimNode>(size_);
  if ((index & kChunkMask) == 0) {
    endpoint_chunks_.push_back(std::make_unique<Endpoint[]>(kChunkSize));
  }
  Endpoint& node = endpoint_chunks_.back()[index & kChunkMask];
  node.net = this;
  node.index = index;
  node.up = true;
  node.handle = NodeHandle{id, address_of(index)};
  latency_->add_node(index, placement_rng_);
  ++size_;
  ++live_count_;
  return index;
}

SimNetwork::Endpoint& SimNetwork::endpoint(SimNode node) {
  assert(node < size_);
  return endpoint_chunks_[node >> kChunkBits][node & kChunkMask];
}

const SimNetwork::Endpoint& SimNetwork::endpoint(SimNode node) const {
  assert(node < size_);
  return endpoint_chunks_[node >> kChunkBits][node & kChunkMask];
}

Transport& SimNetwork::transport(SimNode node) {
  return endpoint(node);
}

Clock& SimNetwork::clock(SimNode node) {
  return endpoint(node);
}

const NodeHandle& SimNetwork::handle(SimNode node) const {
  return endpoint(node).handle;
}

bool SimNetwork::is_up(SimNode node) const {
  return endpoint(node).up;
}

std::vector<SimNode> SimNetwork::live_nodes() const {
  std::vector<SimNode> live;
  live.reserve(live_count_);
  for (SimNode node = 0; node < size_; ++node) {
    if (endpoint(node).up) live.push_back(node);
  }
  return live;
}

std::optional<SimNode> SimNetwork::find(const NodeHandle& handle) const {
  std::optional<SimNode> node = node_at(handle.address);
  if (!node || endpoint(*node).handle.id != handle.id) return std::nullopt;
  return node;
}

std::optional<SimNode> SimNetwork::node_at(const Address& address) const {
  if (address.port != kSimPort || !address.is_v4()) return std::nullopt;
  std::uint32_t ip = address.v4_host_order();
  if (ip < kFirstAddress || ip - kFirstAddress >= size_) return std::nullopt;
  return static_cast<SimNode>(ip - kFirstAddress);
}

Address SimNetwork::address_of(SimNode node) {
  return Address::v4(kFirstAddress + node, kSimPort);
}

// ---- faults ----

void SimNetwork::crash(SimNode node) {
  Endpoint& e = endpoint(node);
  if (!e.up) return;
  e.up = false;
  std::vector<std::pair<Channel, MessageHandler*>>().swap(e.handlers);
  --live_count_;
}

void SimNetwork::restart(SimNode node) {
  crash(node);
  Endpoint& e = endpoint(node);
  e.handlers.clear();
  ++e.incarnation;
  e.up = true;
  ++live_count_;
}

void SimNetwork::set_link_loss(SimNode from, SimNode to, double p) {
  link_loss_[pair_key(from, to)] = std::clamp(p, 0.0, 1.0);
}

void SimNetwork::set_partition(SimNode node, std::uint32_t group) {
  endpoint(node).partition = group;
}

std::uint32_t SimNetwork::partition(SimNode node) const {
  return endpoint(node).partition;
}

void SimNetwork::heal_partitions() {
  for (SimNode node = 0; node < size_; ++node) endpoint(node).partition = 0;
}

// ---- time ----

bool SimNetwork::step() {
  drop_cancelled_head();
  if (queue_.empty()) return false;
  EventQueue::Entry entry = queue_.pop();
  // The next event's body is usually cold (slots are reused in no particular order).
  if (!queue_.empty()) __builtin_prefetch(&events_[queue_.top().slot]);
  now_ = Time(entry.time);
  ++events_processed_;
  dispatch(entry.slot);
  return true;
}

void SimNetwork::run_until(Time t) {
  for (;;) {
    drop_cancelled_head();
    if (queue_.empty() || queue_.top().time > t.count()) break;
    step();
  }
  now_ = std::max(now_, t);
}

void SimNetwork::drop_cancelled_head() {
  while (!queue_.empty() && events_[queue_.top().slot].kind == EventKind::kCancelled) {
    release(queue_.pop().slot);
    --cancelled_in_queue_;
  }
}

bool SimNetwork::run_until_idle(std::uint64_t max_events) {
  for (std::uint64_t run = 0; run < max_events; ++run) {
    if (!step()) return true;
  }
  return idle();
}

// ---- sending ----

Status SimNetwork::send_from(SimNode from, const NodeHandle& to, Channel channel, Bytes payload) {
  const Endpoint& sender = endpoint(from);
  if (payload.size() > kMaxPayloadBytes) {
    std::string what = sender.handle.to_string() + " to " + to.to_string() + ": " +
                       std::to_string(payload.size()) + " bytes > limit of " +
                       std::to_string(kMaxPayloadBytes);
    return make_error(NetErrc::kTooLarge, std::move(what));
  }
  if (!sender.up) {
    return make_error(NetErrc::kClosed, "node " + sender.handle.to_string() + " is down");
  }
  ++messages_sent_;
  std::optional<SimNode> target = find(to);
  if (!target) {
    ++messages_dropped_;
    NodeHandle peer = to;
    schedule_timer(from, config_.link_down_delay.value_or(config_.ping_timeout),
                   [this, from, peer] { notify_link_down(from, peer); });
    return ok_status();
  }
  if (!reachable(from, *target)) {
    ++messages_dropped_;
    schedule_link_down(after(config_.link_down_delay.value_or(round_trip(from, *target))), from,
                       *target);
    return ok_status();
  }
  if (lost(from, *target)) {
    ++messages_dropped_;
    return ok_status();
  }
  std::uint32_t slot = new_event(EventKind::kMessage, *target);
  Event& message = events_[slot];
  message.peer = from;
  message.peer_incarnation = sender.incarnation;
  message.channel = channel;
  message.payload = std::move(payload);
  enqueue(after(latency(from, *target)), slot);
  return ok_status();
}

bool SimNetwork::lost(SimNode from, SimNode to) {
  double p = config_.loss;
  if (!link_loss_.empty()) {
    auto it = link_loss_.find(pair_key(from, to));
    if (it != link_loss_.end()) p = it->second;
  }
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return loss_rng_.chance(p);
}

bool SimNetwork::reachable(SimNode from, SimNode to) const {
  const Endpoint& receiver = endpoint(to);
  return receiver.up && receiver.partition == endpoint(from).partition;
}

Duration SimNetwork::round_trip(SimNode a, SimNode b) const {
  return latency(a, b) + latency(b, a);
}

Time SimNetwork::after(Duration delay) const {
  if (delay <= Duration::zero()) return now_;
  if (delay > Time::max() - now_) return Time::max();
  return now_ + delay;
}

// ---- ping ----

void SimNetwork::ping_from(SimNode from, const NodeHandle& to,
                           std::function<void(Result<Duration>)> done) {
  const Endpoint& pinger = endpoint(from);
  if (!pinger.up) return;
  std::uint32_t index;
  if (!free_pings_.empty()) {
    index = free_pings_.back();
    free_pings_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(pings_.size());
    pings_.emplace_back();
  }
  std::uint64_t ping = make_id(index, pings_[index].generation);
  std::optional<SimNode> target = find(to);

  std::uint32_t timeout = new_event(EventKind::kPingTimeout, from);
  events_[timeout].ping = ping;
  enqueue(after(config_.ping_timeout), timeout);

  PendingPing& record = pings_[index];
  record.done = std::move(done);
  record.peer = to;
  record.sent = now_;
  record.timeout = make_id(timeout, events_[timeout].generation);
  record.from = from;
  record.to = target.value_or(from);
  record.from_incarnation = pinger.incarnation;
  record.active = true;

  if (!target || !reachable(from, *target) || lost(from, *target)) return;
  std::uint32_t slot = new_event(EventKind::kPing, *target);
  events_[slot].peer = from;
  events_[slot].ping = ping;
  enqueue(after(latency(from, *target)), slot);
}

void SimNetwork::answer_ping(std::uint32_t slot) {
  SimNode target = events_[slot].node;
  SimNode pinger = events_[slot].peer;
  std::uint64_t ping = events_[slot].ping;
  release(slot);
  if (!reachable(pinger, target) || lost(target, pinger)) return;
  std::uint32_t pong = new_event(EventKind::kPong, pinger);
  events_[pong].peer = target;
  events_[pong].ping = ping;
  enqueue(after(latency(target, pinger)), pong);
}

void SimNetwork::finish_ping(std::uint64_t ping, bool answered) {
  std::uint32_t index = slot_of(ping);
  if (index >= pings_.size()) return;
  if (!pings_[index].active || pings_[index].generation != generation_of(ping)) return;
  PendingPing record = std::move(pings_[index]);
  pings_[index] = PendingPing{};
  pings_[index].generation = record.generation + 1;
  free_pings_.push_back(index);

  if (!endpoint(record.from).alive_as(record.from_incarnation)) return;
  if (!answered) {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(config_.ping_timeout);
    std::string what = "no pong from " + record.peer.to_string() + " within " +
                       std::to_string(waited.count()) + " ms";
    record.done(make_error(NetErrc::kTimeout, std::move(what)));
    return;
  }
  cancel_event(record.timeout, EventKind::kPingTimeout);
  Duration rtt = now_ - record.sent;
  if (!config_.rtt_from_oracle) {
    rtts_->put(pair_key(record.from, record.to), rtt, record.from_incarnation);
  }
  record.done(rtt);
}

std::optional<Duration> SimNetwork::rtt_from(SimNode from, const NodeHandle& to) const {
  std::optional<SimNode> target = find(to);
  if (!target) return std::nullopt;
  if (config_.rtt_from_oracle) return round_trip(from, *target);
  return rtts_->get(pair_key(from, *target), endpoint(from).incarnation);
}

// ---- connect ----

void SimNetwork::connect_from(SimNode from, const Address& address,
                              std::function<void(Result<NodeHandle>)> done) {
  if (!endpoint(from).up) return;
  std::optional<SimNode> target = node_at(address);
  if (!target) {
    schedule_timer(from, config_.ping_timeout, [address, done = std::move(done)] {
      done(make_error(NetErrc::kTimeout, "no node listens at " + address.to_string()));
    });
    return;
  }
  SimNode to = *target;
  auto refuse = [this, to](const std::function<void(Result<NodeHandle>)>& reply) {
    reply(make_error(NetErrc::kUnreachable, handle(to).to_string() + " refused the link"));
  };
  if (!reachable(from, to)) {
    schedule_timer(from, config_.link_down_delay.value_or(round_trip(from, to)),
                   [refuse, done = std::move(done)] { refuse(done); });
    return;
  }
  schedule_timer(from, latency(from, to), [this, from, to, refuse, done = std::move(done)] {
    bool accepted = reachable(from, to);
    schedule_timer(from, latency(to, from), [this, to, accepted, refuse, done] {
      if (accepted) {
        done(handle(to));
      } else {
        refuse(done);
      }
    });
  });
}

// ---- timers ----

TimerId SimNetwork::schedule_timer(SimNode node, Duration delay, std::function<void()> fn) {
  std::uint32_t slot = new_event(EventKind::kTimer, node);
  events_[slot].fn = std::move(fn);
  enqueue(after(delay), slot);
  return make_id(slot, events_[slot].generation);
}

void SimNetwork::cancel_timer(SimNode node, TimerId id) {
  std::uint32_t slot = slot_of(id);
  if (id == kNoTimer || slot >= events_.size() || events_[slot].node != node) return;
  cancel_event(id, EventKind::kTimer);
}

// ---- the event slab ----

std::uint32_t SimNetwork::new_event(EventKind kind, SimNode node) {
  std::uint32_t slot;
  if (!free_events_.empty()) {
    slot = free_events_.back();
    free_events_.pop_back();
  } else {
    if (events_.size() >= std::numeric_limits<std::uint32_t>::max() - 1) {
      die("more than 2^32 pending events");
    }
    slot = static_cast<std::uint32_t>(events_.size());
    events_.emplace_back();
  }
  Event& event = events_[slot];
  event.kind = kind;
  event.node = node;
  event.incarnation = endpoint(node).incarnation;
  return slot;
}

void SimNetwork::enqueue(Time at, std::uint32_t slot) {
  queue_.push(at.count(), slot);
}

void SimNetwork::release(std::uint32_t slot) {
  Event& event = events_[slot];
  event.kind = EventKind::kFree;
  ++event.generation;
  event.payload = Bytes();
  event.fn = nullptr;
  free_events_.push_back(slot);
}

void SimNetwork::cancel_event(std::uint64_t id, EventKind kind) {
  std::uint32_t slot = slot_of(id);
  if (slot >= events_.size()) return;
  Event& event = events_[slot];
  if (event.kind != kind || event.generation != generation_of(id)) return;
  event.kind = EventKind::kCancelled;
  std::function<void()> discarded = std::move(event.fn);
  event.fn = nullptr;
  ++cancelled_in_queue_;
  if (cancelled_in_queue_ >= kMinCancelledToCompact && cancelled_in_queue_ * 2 >= queue_.size()) {
    compact_queue();
  }
}

void SimNetwork::compact_queue() {
  queue_.remove_if([this](std::uint32_t slot) {
    if (events_[slot].kind != EventKind::kCancelled) return false;
    release(slot);
    return true;
  });
  cancelled_in_queue_ = 0;
}

// ---- running events ----

void SimNetwork::dispatch(std::uint32_t slot) {
  Event& event = events_[slot];
  switch (event.kind) {
    case EventKind::kTimer: {
      bool live = endpoint(event.node).alive_as(event.incarnation);
      std::function<void()> fn = std::move(event.fn);
      release(slot);
      if (live) fn();
      return;
    }
    case EventKind::kMessage: deliver_message(slot); return;
    case EventKind::kLinkDown: {
      SimNode node = event.node;
      SimNode peer = event.peer;
      bool live = endpoint(node).alive_as(event.incarnation);
      release(slot);
      if (live) notify_link_down(node, handle(peer));
      return;
    }
    case EventKind::kPing: answer_ping(slot); return;
    case EventKind::kPong: {
      SimNode pinger = event.node;
      SimNode target = event.peer;
      std::uint64_t ping = event.ping;
      release(slot);
      if (reachable(target, pinger)) finish_ping(ping, true);
      return;
    }
    case EventKind::kPingTimeout: {
      std::uint64_t ping = event.ping;
      release(slot);
      finish_ping(ping, false);
      return;
    }
    case EventKind::kFree:
    case EventKind::kCancelled: break;
  }
  assert(false && "dispatch of a free or cancelled event");
}

void SimNetwork::deliver_message(std::uint32_t slot) {
  Event& message = events_[slot];
  SimNode to = message.node;
  SimNode from = message.peer;
  const Endpoint& receiver = endpoint(to);
  if (!receiver.alive_as(message.incarnation) || !reachable(from, to)) {
    std::uint32_t sender_incarnation = message.peer_incarnation;
    release(slot);
    ++messages_dropped_;
    if (endpoint(from).alive_as(sender_incarnation)) {
      schedule_link_down(after(latency(to, from)), from, to);
    }
    return;
  }
  MessageHandler* handler = receiver.handler_for(message.channel);
  if (handler == nullptr) {
    if (log_->should_log(spdlog::level::debug)) {
      log_->debug("dropped message on channel {} from {} to {}: no handler",
                  static_cast<unsigned>(message.channel), handle(from).to_string(),
                  receiver.handle.to_string());
    }
    release(slot);
    ++messages_dropped_;
    return;
  }
  Bytes payload = std::move(message.payload);
  release(slot);
  ++messages_delivered_;
  handler->on_message(handle(from), payload);
}

void SimNetwork::schedule_link_down(Time at, SimNode node, SimNode peer) {
  std::uint32_t slot = new_event(EventKind::kLinkDown, node);
  events_[slot].peer = peer;
  enqueue(at, slot);
}

void SimNetwork::notify_link_down(SimNode node, const NodeHandle& peer) {
  const Endpoint& e = endpoint(node);
  boost::container::small_vector<MessageHandler*, 8> listeners;
  for (const auto& [channel, handler] : e.handlers) {
    if (std::find(listeners.begin(), listeners.end(), handler) == listeners.end()) {
      listeners.push_back(handler);
    }
  }
  std::uint32_t incarnation = e.incarnation;
  for (MessageHandler* handler : listeners) {
    if (!e.alive_as(incarnation) || !e.is_registered(handler)) continue;
    handler->on_link_down(peer);
  }
}

}  // namespace post::net
