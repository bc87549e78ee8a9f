// SimNetwork: a deterministic discrete-event network in one process. Each simulated node gets
// a Transport and a Clock, so protocol code runs over it unchanged; time is virtual and only
// moves when the owner runs the event loop (step, run_until, run_for, run_until_idle).
//
// Model (docs/SIMULATOR.md):
// - A message sent from A to B arrives latency(A, B) later (the LatencyModel), unless it is
//   lost (per-link or default loss probability), or B is down, restarted or in another
//   partition when it is sent or when it arrives. Messages on one (A, B) pair arrive in the
//   order they were sent.
// - A send that finds B down or partitioned away is dropped and A's handlers hear
//   on_link_down(B) after Config::link_down_delay (a TCP reset or failed connect). A message
//   that finds B gone on arrival is dropped and the reset travels back: A hears of it
//   latency(B, A) after the arrival. Lost messages vanish without a trace.
// - A crashed node's timers never fire, messages in flight to it are dropped, its handlers are
//   cleared and it sends nothing (send() returns NetErrc::kClosed, ping() never answers);
//   messages it sent before crashing still arrive. restart() brings it back with the same Id
//   and address and an empty handler table.
// - connect(address) answers with the handle of the node listening there one round trip
//   later, NetErrc::kUnreachable when that node is down or partitioned away (after the same
//   delay as on_link_down), or NetErrc::kTimeout after Config::ping_timeout when no simulated
//   node has that address. Like TCP, it is not subject to loss.
// - ping() is a datagram round trip: it answers with the RTT, or NetErrc::kTimeout after
//   Config::ping_timeout when the ping or the pong was lost, partitioned away or met a down
//   node. It never reports a broken link. The network has no queue limit: send() never
//   returns kQueueFull.
// - Everything that happens at the same virtual time happens in the order it was scheduled,
//   and all randomness comes from Config::seed: the same seed and the same calls give the same
//   run, event for event.
//
// Single-threaded: every callback (handlers, timers, ping results) runs inside step() on the
// caller's thread, and may send, schedule, add, crash or restart nodes re-entrantly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/random.h"
#include "host/core/result.h"
#include "host/net/address.h"
#include "host/net/clock.h"
#include "host/net/event_queue.h"
#include "host/net/latency_model.h"
#include "host/net/transport.h"

namespace spdlog {
class logger;
}

namespace post::net {

class SimNetwork {
 public:
  // Node i listens on 10.0.0.0 + (i + 1), port kSimPort, so traces look like real ones.
  static constexpr std::uint16_t kSimPort = 1;
  // 10.0.0.0/8 minus the network and broadcast addresses.
  static constexpr std::size_t kMaxNodes = (std::size_t{1} << 24) - 2;

  struct Config {
    // Seeds node placement and message loss. Print it when a simulation fails.
    std::uint64_t seed = 1;
    // Where nodes are and how far apart. nullptr: PlaneLatency with its defaults.
    std::unique_ptr<LatencyModel> latency;
    // Probability that any one message (or ping, or pong) is lost, unless set_link_loss says
    // otherwise for its link.
    double loss = 0.0;
    // Time from a send that finds its receiver down or partitioned away to the sender's
    // on_link_down. Unset: the round trip latency(A, B) + latency(B, A).
    std::optional<Duration> link_down_delay;
    // How long ping() waits for its pong; also the time after which a send or a connect to an
    // address where no simulated node listens fails.
    Duration ping_timeout = seconds(3);
    // When true, rtt(to) answers the modelled round trip for every node, measured or not, and
    // nothing is stored per measurement (FreePastry's "direct" proximity). For huge networks.
    bool rtt_from_oracle = false;
  };

  SimNetwork() : SimNetwork(Config{}) {}
  explicit SimNetwork(Config config);
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // ---- nodes ----

  // Adds a node with nodeId `id`, up, in partition 0, and returns its index (the number of
  // nodes added before it). Its address is address_of(index). The caller keeps nodeIds unique.
  // Aborts when kMaxNodes or the latency model's max_nodes() is reached.
  SimNode add_node(const Id& id);

  // Number of nodes ever added, up or down; valid indexes are [0, size()).
  std::size_t size() const { return size_; }
  // Number of nodes that are up.
  std::size_t live_count() const { return live_count_; }

  // The Transport and Clock of `node`. The references stay valid as long as the network,
  // across crashes and restarts (it is the same object, with a cleared handler table).
  Transport& transport(SimNode node);
  Clock& clock(SimNode node);

  // The nodeId and address of `node`, fixed for the network's lifetime.
  const NodeHandle& handle(SimNode node) const;
  const Id& node_id(SimNode node) const { return handle(node).id; }
  // False between crash(node) and restart(node).
  bool is_up(SimNode node) const;
  // The nodes that are up, in index order. O(size()).
  std::vector<SimNode> live_nodes() const;

  // The simulated node behind `handle`: its address names one and the nodeId matches.
  std::optional<SimNode> find(const NodeHandle& handle) const;
  // The simulated node listening on `address`, if any.
  std::optional<SimNode> node_at(const Address& address) const;

  // The address node `node` listens on: 10.0.0.0 + (node + 1), port kSimPort.
  static Address address_of(SimNode node);

  // ---- faults ----

  // Takes `node` down at once: its pending timers and pings are forgotten, messages in flight
  // to it will be dropped, its handlers are cleared (the protocol objects above it are gone).
  // Crashing a node that is down does nothing.
  void crash(SimNode node);

  // Brings `node` back with the same Id and address, no handlers, no timers and no RTT
  // measurements. Restarting a node that is up crashes it first (a reboot).
  void restart(SimNode node);

  // Sets the loss probability of messages from `from` to `to` (one direction; call twice for
  // both), overriding Config::loss. p is clamped to [0, 1].
  void set_link_loss(SimNode from, SimNode to, double p);
  // Forgets every set_link_loss override.
  void clear_link_loss() { link_loss_.clear(); }

  // Moves `node` to partition `group`. Messages and pings only flow between nodes of the same
  // group; every node starts in group 0.
  void set_partition(SimNode node, std::uint32_t group);
  std::uint32_t partition(SimNode node) const;
  // Puts every node back in group 0.
  void heal_partitions();

  // ---- oracle ----

  // The modelled one-way latency from `from` to `to`, whatever their state.
  Duration latency(SimNode from, SimNode to) const { return latency_->latency(from, to); }

  // ---- time ----

  // Virtual time: zero at construction, then the time of the event being run or the last
  // run_until target, whichever is later.
  Time now() const { return now_; }

  // Runs the earliest pending event, moving now() to its time. False when nothing is pending.
  bool step();
  // Runs every event due at or before `t`, in order, then sets now() to `t` (if it is later).
  void run_until(Time t);
  // run_until(now() + d).
  void run_for(Duration d) { run_until(now_ + d); }
  // Runs events until none is pending or `max_events` have run (periodic timers keep a
  // network busy forever). True when the queue drained.
  bool run_until_idle(std::uint64_t max_events = std::numeric_limits<std::uint64_t>::max());
  // True when no event is pending.
  bool idle() const { return queue_.size() == cancelled_in_queue_; }
  // Events waiting in the queue, not counting cancelled timers.
  std::size_t pending_events() const { return queue_.size() - cancelled_in_queue_; }

  // ---- counters ----
  // sent = delivered + dropped + (messages still in flight), at every moment.

  // Events run so far: messages, timers, pings and link failures, including those that found
  // their node down. Cancelled timers are not counted.
  std::uint64_t events_processed() const { return events_processed_; }
  // send() calls accepted.
  std::uint64_t messages_sent() const { return messages_sent_; }
  // Messages handed to a handler.
  std::uint64_t messages_delivered() const { return messages_delivered_; }
  // Messages lost, refused by a down or partitioned receiver, or with no handler.
  std::uint64_t messages_dropped() const { return messages_dropped_; }

  std::uint64_t seed() const { return seed_; }

 private:
  class Endpoint;
  class RttTable;

  enum class EventKind : std::uint8_t {
    kFree,
    kCancelled,
    kTimer,        // fn, on `node`
    kMessage,      // payload on `channel`, from `peer` to `node`
    kLinkDown,     // `node` learns that its link to `peer` broke
    kPing,         // ping `ping` from `peer` reaches `node`
    kPong,         // the pong of ping `ping` reaches `node`
    kPingTimeout,  // ping `ping` of `node` has waited long enough
  };

  // The body of one scheduled event, in a slab slot reused through a free list.
  struct Event {
    EventKind kind = EventKind::kFree;
    Channel channel{};
    SimNode node = 0;
    std::uint32_t incarnation = 0;  // of `node`, when scheduled
    SimNode peer = 0;
    std::uint32_t peer_incarnation = 0;
    std::uint32_t generation = 0;  // bumped on every reuse of the slot
    std::uint64_t ping = 0;
    Bytes payload;
    std::function<void()> fn;
  };

  struct PendingPing {
    std::function<void(Result<Duration>)> done;
    NodeHandle peer;
    Time sent{};
    std::uint64_t timeout = 0;  // id of the kPingTimeout event
    SimNode from = 0;
    SimNode to = 0;  // the node behind `peer`, when there is one
    std::uint32_t from_incarnation = 0;
    std::uint32_t generation = 0;
    bool active = false;
  };

  Endpoint& endpoint(SimNode node);
  const Endpoint& endpoint(SimNode node) const;

  Status send_from(SimNode from, const NodeHandle& to, Channel channel, Bytes payload);
  void ping_from(SimNode from, const NodeHandle& to, std::function<void(Result<Duration>)> done);
  std::optional<Duration> rtt_from(SimNode from, const NodeHandle& to) const;
  void connect_from(SimNode from, const Address& address,
                    std::function<void(Result<NodeHandle>)> done);
  TimerId schedule_timer(SimNode node, Duration delay, std::function<void()> fn);
  void cancel_timer(SimNode node, TimerId id);

  bool lost(SimNode from, SimNode to);
  bool reachable(SimNode from, SimNode to) const;
  Duration round_trip(SimNode a, SimNode b) const;
  Time after(Duration delay) const;

  std::uint32_t new_event(EventKind kind, SimNode node);
  void enqueue(Time at, std::uint32_t slot);
  void release(std::uint32_t slot);
  void cancel_event(std::uint64_t id, EventKind kind);
  void compact_queue();
  void drop_cancelled_head();

  void dispatch(std::uint32_t slot);
  void deliver_message(std::uint32_t slot);
  void schedule_link_down(Time at, SimNode node, SimNode peer);
  void notify_link_down(SimNode node, const NodeHandle& peer);
  void answer_ping(std::uint32_t slot);
  void finish_ping(std::uint64_t ping, bool answered);

  std::uint64_t seed_;
  Config config_;
  std::unique_ptr<LatencyModel> latency_;
  Rng placement_rng_;
  Rng loss_rng_;
  std::shared_ptr<spdlog::logger> log_;

  std::vector<std::unique_ptr<Endpoint[]>> endpoint_chunks_;
  std::size_t size_ = 0;
  std::size_t live_count_ = 0;

  Time now_{0};
  EventQueue queue_;
  std::vector<Event> events_;
  std::vector<std::uint32_t> free_events_;
  std::size_t cancelled_in_queue_ = 0;

  std::vector<PendingPing> pings_;
  std::vector<std::uint32_t> free_pings_;
  std::unique_ptr<RttTable> rtts_;
  std::unordered_map<std::uint64_t, double> link_loss_;  // key: from << 32 | to

  std::uint64_t events_processed_ = 0;
  std::uint64_t messages_sent_ = 0;
  std::uint64_t messages_delivered_ = 0;
  std::uint64_t messages_dropped_ = 0;
};

}  // namespace post::net
