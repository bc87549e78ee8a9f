// PastryNode: one node's Pastry state machine (Rowstron & Druschel, Middleware 2001), with
// the key-based routing API of Dabek et al. (IPTPS 2003) for the layers above. Sans-I/O: it
// talks only through a net::Transport and a net::Clock, so the same code runs in postd and in
// the simulator. Single-threaded: call it only on the node's executor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "host/core/random.h"
#include "host/core/result.h"
#include "host/net/transport.h"
#include "host/pastry/leaf_set.h"
#include "host/pastry/pastry_config.h"
#include "host/pastry/routing_table.h"

namespace post::proto::pastry {
class PastryMessage;
class Routed;
class Handle;
}  // namespace post::proto::pastry

namespace post::pastry {

// Application ids on routed messages. Values are part of the wire format.
enum class AppId : std::uint32_t {
  kPast = 1,
  kScribe = 2,
  kPost = 3,
  kTest = 1000,
};

// What a routed message's application sees about its journey.
struct RouteInfo {
  NodeHandle source;
  int hops = 0;
};

// The upcalls of the common KBR API. Called on the node's executor.
class Application {
 public:
  virtual ~Application() = default;
  // This node is the root for `key` (the numerically closest live node): the message ends
  // here.
  virtual void deliver(const Id& key, ByteView payload, const RouteInfo& info) = 0;
  // The message is about to leave for `next`. The application may change the payload or the
  // next hop, or return false to stop it here (it took care of it).
  virtual bool forward(const Id& /*key*/, Bytes& /*payload*/, NodeHandle& /*next*/) { return true; }
  // `node` joined (true) or left (false) this node's leaf set.
  virtual void update(const NodeHandle& /*node*/, bool /*joined*/) {}
};

struct LookupResult {
  NodeHandle root;  // where a message for the key is delivered
  int hops = 0;
  std::vector<NodeHandle> path;  // from this node to the root, both included
  net::Duration latency{};       // request to answer, on this node's clock
};

// Counters for operators (postctl status) and the simulator.
struct PastryStats {
  std::uint64_t routed_originated = 0;
  std::uint64_t forwarded = 0;
  std::uint64_t delivered = 0;
  std::uint64_t rerouted = 0;  // hops retried around a node that did not answer
  std::uint64_t dropped = 0;   // malformed, looping or undeliverable messages
  std::uint64_t failures_detected = 0;
  std::uint64_t joins_answered = 0;    // join requests this node was root for
  std::uint64_t messages_refused = 0;  // from peers, malformed or not allowed
};

enum class JoinState { kIdle, kJoining, kReady, kLeft };

class PastryNode final : public net::MessageHandler {
 public:
  // `seed` drives this node's random choices (which entries to refresh, jitter).
  PastryNode(net::Transport& transport, net::Clock& clock, PastryConfig config, std::uint64_t seed);
  ~PastryNode() override;
  PastryNode(const PastryNode&) = delete;
  PastryNode& operator=(const PastryNode&) = delete;

  // ---- lifecycle ----

  // Starts a new ring with this node alone in it; ready at once.
  void start_new_ring();

  // Joins the ring through the first of `bootstrap` that answers (trying each in turn, and
  // again after join_timeout). `done` runs once: ok when this node is ready (its leaf set is
  // confirmed by its members), or an error when no bootstrap node could be reached. The
  // addresses are also remembered for partition healing.
  void join(std::vector<net::Address> bootstrap, std::function<void(Status)> done);

  // Leaves the ring: tells the leaf set (so it repairs at once), stops every timer. The
  // node answers nothing afterwards.
  void leave();

  JoinState state() const { return state_; }
  bool ready() const { return state_ == JoinState::kReady; }

  // ---- key-based routing ----

  // Called whenever a node joins (true) or leaves (false) this node's leaf set, after the
  // applications' update() upcalls; for logs and monitoring.
  void set_leaf_set_observer(std::function<void(const NodeHandle&, bool joined)> observer) {
    leaf_set_observer_ = std::move(observer);
  }

  // Registers the application that owns `app` messages (not owned; nullptr unregisters).
  void register_application(AppId app, Application* application);

  // Routes `payload` to the root of `key`. Best effort: a message is retried around hops that
  // do not answer, but may still be lost if the overlay is badly broken.
  void route(const Id& key, AppId app, Bytes payload);

  // Finds the root of `key` and the path to it (postctl lookup, post-sim).
  void lookup(const Id& key, std::function<void(Result<LookupResult>)> done);

  // The k nodes numerically closest to `key` that this node knows (itself included), closest
  // first; at most L/2 + 1 are meaningful (KBR replicaSet).
  std::vector<NodeHandle> replica_set(const Id& key, int k) const;

  // The arc of keys this node is currently the root for (KBR range, rank 0).
  std::pair<Id, Id> range() const { return leaf_set_.own_range(); }

  // ---- introspection ----

  const NodeHandle& local() const { return self_; }
  const LeafSet& leaf_set() const { return leaf_set_; }
  const RoutingTable& routing_table() const { return table_; }
  const PastryStats& stats() const { return stats_; }
  const PastryConfig& config() const { return config_; }
  // Nodes currently believed failed.
  std::size_t failed_count() const { return failed_.size(); }

  // net::MessageHandler
  void on_message(const NodeHandle& from, ByteView payload) override;
  void on_link_down(const NodeHandle& peer) override;

 private:
  struct InFlight;
  struct PendingLookup;
  struct Liveness;

  // ---- message handling ----
  void handle_routed(proto::pastry::Routed msg, const NodeHandle* from);
  void handle_join_reply(const NodeHandle& from, const proto::pastry::PastryMessage& m);
  void handle_probe(const NodeHandle& from, const proto::pastry::PastryMessage& m, bool reply);
  void handle_row_request(const NodeHandle& from, const proto::pastry::PastryMessage& m);
  void handle_row_reply(const NodeHandle& from, const proto::pastry::PastryMessage& m);
  void handle_leave(const NodeHandle& from, const proto::pastry::PastryMessage& m);
  void handle_lookup_reply(const NodeHandle& from, const proto::pastry::PastryMessage& m);
  void handle_route_ack(const NodeHandle& from, const proto::pastry::PastryMessage& m);

  // ---- routing ----
  void originate(proto::pastry::Routed msg);
  // Starts a lookup of `key`; through `first_hop` when given instead of this node's tables.
  void start_lookup(const Id& key, bool want_leaf_set,
                    std::function<void(Result<LookupResult>)> done,
                    std::optional<NodeHandle> first_hop = std::nullopt);
  void deliver(proto::pastry::Routed& msg);
  void forward(proto::pastry::Routed msg, const NodeHandle& next, int reroutes,
               std::vector<Id> excluded);
  void reroute(std::uint64_t hop_id, const std::string& why);
  // The next hop for `key`. A join never goes to a node still joining: that node holds what
  // it is sent until it is ready, and it may be waiting for this very joiner's answer.
  NodeHandle choose_next_hop(const Id& key, const std::vector<Id>& excluded, bool join) const;
  bool excluded_from_routing(const Id& id) const;
  void hold(proto::pastry::Routed msg);

  // ---- membership ----
  // A node this node heard from directly (authenticated by the transport): admitted.
  // With `measure`, it is pinged when it might be nearer than its slot's holder (PNS).
  void heard_from(const NodeHandle& node, bool measure = false);
  // A node someone else named: verified (probed or pinged) before it is admitted.
  // With `measure`, a node that might be nearer than a slot's holder is pinged to find out
  // (proximity neighbour selection: join rows, routing table maintenance).
  void learn_of(const NodeHandle& node, bool measure = false);
  void admit(const NodeHandle& node, bool measure = false);
  void offer_to_table(const NodeHandle& node, bool measure = false);
  bool would_enter_leaf_set(const Id& id) const;
  bool would_improve_table(const NodeHandle& node, bool measure) const;
  void probe(const NodeHandle& node);
  void send_leaf_set(const NodeHandle& to, bool want_reply);
  void declare_failed(const NodeHandle& node, const std::string& why);
  void on_leaf_set_changed(const std::vector<NodeHandle>& before);
  void check_join_complete();
  void become_ready();

  // ---- timers ----
  void try_next_bootstrap();
  // Nearest-node discovery before a join (PastryConfig::nearest_discovery_steps): asks
  // `current` for its first routing table rows, pings them, and moves to the nearest.
  void discover_nearest(NodeHandle current, net::Duration current_rtt, int steps_left);
  void discovery_rows(const NodeHandle& from, std::vector<NodeHandle> entries);
  void finish_discovery();
  // Routes this node's join through `first_hop`.
  void send_join(const NodeHandle& first_hop);
  void heartbeat();
  void check_liveness(const NodeHandle& node);
  void send_liveness_probe(const NodeHandle& node);
  void maintain_routing_table();
  void probe_for_partitions();

  void send(const NodeHandle& to, const proto::pastry::PastryMessage& m);
  void refuse(const NodeHandle& from, const std::string& why);

  net::Transport& transport_;
  net::Clock& clock_;
  PastryConfig config_;
  Rng rng_;
  NodeHandle self_;
  JoinState state_ = JoinState::kIdle;
  LeafSet leaf_set_;
  RoutingTable table_;
  PastryStats stats_;
  std::unordered_map<AppId, Application*> apps_;
  std::function<void(const NodeHandle&, bool)> leaf_set_observer_;
  std::optional<Id> knows_us_;  // the node whose leaf set message is being handled

  struct Failed {
    net::Time at;
    net::Address address;
  };
  std::unordered_map<Id, Failed> failed_;  // declared failed, kept failed_retention
  std::unordered_set<Id> suspected_;       // did not acknowledge a hop; probing
  std::unordered_set<Id> verifying_;       // probed or pinged, answer pending
  std::unordered_set<Id> joining_peers_;   // said in their last leaf set they are joining
  std::unordered_map<Id, std::unique_ptr<Liveness>> liveness_;  // per leaf set member

  std::uint64_t next_hop_id_;
  std::unordered_map<std::uint64_t, std::unique_ptr<InFlight>> in_flight_;
  std::uint64_t next_lookup_id_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingLookup>> lookups_;
  std::vector<proto::pastry::Routed> held_;  // routed here while joining

  // Joining.
  std::vector<net::Address> bootstrap_;
  std::vector<net::Address> partition_targets_;  // addresses of nodes that failed
  std::size_t bootstrap_index_ = 0;
  int join_attempts_ = 0;
  std::size_t join_unreachable_count_ = 0;  // consecutive bootstrap nodes that did not answer
  bool join_unreachable_ = false;
  std::function<void(Status)> join_done_;
  bool join_reply_received_ = false;
  std::unordered_set<Id> join_pending_;  // leaf set candidates probed, not answered yet
  std::optional<LeafSet> join_view_;     // while joining: the closest nodes heard of
  net::TimerId join_timer_ = net::kNoTimer;
  // Nearest-node discovery: the node asked for rows, and what was measured so far.
  struct Discovery {
    NodeHandle asked;
    NodeHandle best;
    net::Duration best_rtt{};
    int steps_left = 0;
    int rows_pending = 0;
    int pings_pending = 0;
    std::unordered_set<Id> pinged;
    net::TimerId timer = net::kNoTimer;
    std::uint64_t generation = 0;
  };
  std::optional<Discovery> discovery_;
  std::uint64_t discovery_generation_ = 0;

  net::TimerId heartbeat_timer_ = net::kNoTimer;
  net::TimerId maintenance_timer_ = net::kNoTimer;
  int maintenance_round_ = 0;
  net::TimerId partition_timer_ = net::kNoTimer;
  // Guards callbacks (pings, connects) that may outlive this node.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::pastry
