// ScribeNode: one node's part of Scribe (Castro, Druschel, Kermarrec, Rowstron, IEEE JSAC
// 2002): multicast trees built from the union of Pastry routes to each group's root.
//
// A subscription is routed towards the group id; each node on the way takes the previous hop
// as a child and, unless it is already in the tree, goes on subscribing itself, so the tree
// is the reverse of the routes. A publication is routed to the root, which sends it down the
// tree. Parents send heartbeats; a child that stops hearing from its parent (or loses its
// link) subscribes again through the overlay, and a root that is no longer the closest node
// to its group subscribes to the new root. Sans-I/O like PastryNode; single-threaded.
//
// Anycast searches the tree depth-first from where the route to the root meets it. A node
// with more than max_children children in a group pushes the farthest one down to another
// of its children (the paper's bottleneck remover).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "host/core/random.h"
#include "host/core/result.h"
#include "host/net/transport.h"
#include "host/pastry/pastry_node.h"
#include "host/scribe/scribe_config.h"

namespace post::proto::scribe {
class ScribeMessage;
}  // namespace post::proto::scribe

namespace post::scribe {

using net::Duration;
using net::NodeHandle;

struct ScribeStats {
  std::uint64_t delivered = 0;   // publications handed to local members
  std::uint64_t duplicates = 0;  // publications received again and dropped
  std::uint64_t forwarded = 0;   // multicast messages sent to children
  std::uint64_t resubscribed = 0;  // subscriptions sent again after a parent was lost
  std::uint64_t anycast_steps = 0;  // anycast messages handled here
  std::uint64_t redirected = 0;     // children pushed down to another child
  std::uint64_t messages_refused = 0;
};

// A local member of a group.
class ScribeClient {
 public:
  virtual ~ScribeClient() = default;
  virtual void deliver(const Id& group, ByteView payload) = 0;
  // An anycast asks whether this member takes `payload`; true ends the search here.
  virtual bool accept_anycast(const Id& /*group*/, ByteView /*payload*/) { return false; }
};

// Where an anycast ended: the member that accepted it.
struct AnycastResult {
  NodeHandle member;
};

// This node's part in one group's tree.
struct GroupState {
  Id group;
  bool member = false;  // a local client subscribed
  bool root = false;
  std::optional<NodeHandle> parent;  // absent at the root and while (re)subscribing
  std::vector<NodeHandle> children;
};

class ScribeNode final : public pastry::Application, public net::MessageHandler {
 public:
  ScribeNode(pastry::PastryNode& pastry, net::Transport& transport, net::Clock& clock,
             ScribeConfig config, std::uint64_t seed);
  ~ScribeNode() override;
  ScribeNode(const ScribeNode&) = delete;
  ScribeNode& operator=(const ScribeNode&) = delete;

  // Makes `client` (not owned) a member of `group`. `done` runs once the node is in the
  // group's tree (ok), on the executor; it is retried until then.
  void subscribe(const Id& group, ScribeClient* client, std::function<void(Status)> done);
  // Stops being a member; the node leaves the tree when it forwards to nobody.
  void unsubscribe(const Id& group);
  // Sends `payload` to every member of `group` (through its root), once each.
  void publish(const Id& group, Bytes payload);
  // Offers `payload` to the members of `group`, one at a time, depth-first through the tree
  // from where the route to the root first meets it, until one accepts. `done` runs once:
  // the accepting member, or ScribeErrc::kNoMemberAccepted when the whole tree said no (or
  // there is no tree), or ScribeErrc::kTimeout when no answer came within anycast_timeout.
  void anycast(const Id& group, Bytes payload,
               std::function<void(Result<AnycastResult>)> done);

  // ---- introspection ----
  bool in_tree(const Id& group) const;
  bool is_root(const Id& group) const;
  bool is_member(const Id& group) const;
  std::optional<NodeHandle> parent(const Id& group) const;
  std::vector<NodeHandle> children(const Id& group) const;
  // Every group this node is in the tree of (or subscribing to), by id.
  std::vector<GroupState> groups() const;
  const ScribeStats& stats() const { return stats_; }

  // ---- pastry::Application ----
  void deliver(const Id& key, ByteView payload, const pastry::RouteInfo& info) override;
  bool forward(const Id& key, Bytes& payload, NodeHandle& next) override;
  void update(const NodeHandle& node, bool joined) override;

  // ---- net::MessageHandler (Channel::kScribe) ----
  void on_message(const NodeHandle& from, ByteView payload) override;
  void on_link_down(const NodeHandle& peer) override;

 private:
  struct Group {
    ScribeClient* client = nullptr;
    std::function<void(Status)> on_subscribed;
    std::optional<NodeHandle> parent;
    // Node ids from the root down to the parent (from the parent's ack and heartbeats); empty
    // at the root and while not attached.
    std::vector<Id> path;
    std::vector<NodeHandle> children;
    bool root = false;
    bool subscribing = false;
    net::Time parent_heard{};
    net::TimerId retry = net::kNoTimer;
    std::deque<std::pair<Id, std::uint64_t>> recent;
    std::set<std::pair<Id, std::uint64_t>> seen;
  };

  void send(const NodeHandle& to, const proto::scribe::ScribeMessage& m);
  void refuse(const NodeHandle& from, const std::string& why);
  void join_tree(const Id& group);
  // (Re)starts the timer that subscribes again when no acknowledgement comes in time.
  void arm_retry(const Id& group, Group& g);
  void send_unsubscribe(const NodeHandle& to, const Id& group);
  // The path a child of ours has: ours, then us.
  std::vector<Id> child_path(const Group& g) const;
  // Forgets the parent (it failed, is silent, pushed us down or is in a loop with us).
  static void lose_parent(Group& g);
  void add_child(const Id& group, Group& g, const NodeHandle& child);
  void in_tree_now(const Id& group, Group& g);
  void disseminate(const Id& group, Group& g, const Id& publisher, std::uint64_t sequence,
                   ByteView payload);
  void prune(const Id& group);
  // Removes `child` from every group's children (its link broke: it failed, or it will
  // resubscribe).
  void drop_child_everywhere(const Id& child);
  void tick();
  // One step of an anycast's depth-first search, at this node.
  void anycast_step(proto::scribe::ScribeMessage m);
  void anycast_answer(const NodeHandle& source, std::uint64_t request_id, bool accepted,
                      const std::string& error);

  pastry::PastryNode& pastry_;
  net::Transport& transport_;
  net::Clock& clock_;
  ScribeConfig config_;
  Rng rng_;
  ScribeStats stats_;
  std::unordered_map<Id, Group> groups_;
  std::uint64_t next_sequence_ = 1;
  struct PendingAnycast {
    std::function<void(Result<AnycastResult>)> done;
    net::TimerId timer = net::kNoTimer;
  };
  std::unordered_map<std::uint64_t, PendingAnycast> anycasts_;
  std::uint64_t next_anycast_ = 1;
  net::TimerId tick_timer_ = net::kNoTimer;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::scribe
