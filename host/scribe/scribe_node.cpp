#include "host/scribe/scribe_node.h"

#include <algorithm>
#include <unordered_set>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/pastry/handle_codec.h"
#include "host/scribe/errors.h"
#include "host/scribe/proto/scribe.pb.h"

namespace post::scribe {

namespace pb = proto::scribe;
using pastry::from_proto;
using pastry::id_from_wire;
using pastry::set_id;
using pastry::to_proto;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("scribe");
  return l;
}


}  // namespace

ScribeNode::ScribeNode(pastry::PastryNode& pastry, net::Transport& transport, net::Clock& clock,
                       ScribeConfig config, std::uint64_t seed)
    : pastry_(pastry), transport_(transport), clock_(clock), config_(config), rng_(seed) {
  // Publications are deduplicated by (publisher, sequence): a node that restarts must not
  // reuse the sequences of its previous run, so each run starts at a random multiple of 2^32.
  next_sequence_ = (rng_.next() & 0x7fffffff00000000ULL) | 1;
  pastry_.register_application(pastry::AppId::kScribe, this);
  transport_.set_handler(net::Channel::kScribe, this);
  tick_timer_ = clock_.schedule(net::jitter(rng_, config_.heartbeat_interval), [this] { tick(); });
}

ScribeNode::~ScribeNode() {
  pastry_.register_application(pastry::AppId::kScribe, nullptr);
  transport_.set_handler(net::Channel::kScribe, nullptr);
  clock_.cancel(tick_timer_);
  for (auto& [id, g] : groups_) clock_.cancel(g.retry);
  for (auto& [id, a] : anycasts_) clock_.cancel(a.timer);
}

void ScribeNode::send(const NodeHandle& to, const pb::ScribeMessage& m) {
  auto status = transport_.send(to, net::Channel::kScribe, wire::encode_message(m));
  if (!status.ok()) {
    logger()->debug("{}: send to {} failed: {}", pastry_.local().id.short_hex(), to.to_string(),
                    status.error().to_string());
  }
}

void ScribeNode::refuse(const NodeHandle& from, const std::string& why) {
  ++stats_.messages_refused;
  logger()->info("{}: refused a message from {}: {}", pastry_.local().id.short_hex(),
                 from.to_string(), why);
}

// ---------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------

void ScribeNode::subscribe(const Id& group, ScribeClient* client,
                           std::function<void(Status)> done) {
  Group& g = groups_[group];
  g.client = client;
  if (g.root || g.parent) {
    clock_.schedule(Duration::zero(), [done = std::move(done)] { done(ok_status()); });
    return;
  }
  g.on_subscribed = std::move(done);
  join_tree(group);
}

void ScribeNode::unsubscribe(const Id& group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  it->second.client = nullptr;
  it->second.on_subscribed = nullptr;
  prune(group);
}

void ScribeNode::join_tree(const Id& group) {
  Group& g = groups_[group];
  if (g.subscribing) return;
  g.subscribing = true;
  logger()->debug("{}: subscribing to {}", pastry_.local().id.short_hex(), group.short_hex());
  pb::ScribeMessage m;
  set_id(m.mutable_subscribe()->mutable_group(), group);
  to_proto(pastry_.local(), m.mutable_subscribe()->mutable_child());
  arm_retry(group, g);
  pastry_.route(group, pastry::AppId::kScribe, wire::encode_message(m));
}

void ScribeNode::arm_retry(const Id& group, Group& g) {
  clock_.cancel(g.retry);
  g.retry = clock_.schedule(config_.subscribe_timeout, [this, group] {
    auto it = groups_.find(group);
    if (it == groups_.end()) return;
    it->second.retry = net::kNoTimer;
    if (it->second.parent || it->second.root) return;
    it->second.subscribing = false;
    join_tree(group);
  });
}

void ScribeNode::send_unsubscribe(const NodeHandle& to, const Id& group) {
  pb::ScribeMessage m;
  set_id(m.mutable_unsubscribe()->mutable_group(), group);
  send(to, m);
}

std::vector<Id> ScribeNode::child_path(const Group& g) const {
  std::vector<Id> path = g.path;
  path.push_back(pastry_.local().id);
  return path;
}

void ScribeNode::lose_parent(Group& g) {
  g.parent.reset();
  g.path.clear();
}

namespace {

bool on_path(const std::vector<Id>& path, const Id& node) {
  return std::find(path.begin(), path.end(), node) != path.end();
}

// Reads a path from the wire; nullopt when an id is malformed or the path is absurdly long.
template <typename Repeated>
std::optional<std::vector<Id>> path_from_wire(const Repeated& nodes) {
  constexpr int kMaxPath = 256;
  if (nodes.size() > kMaxPath) return std::nullopt;
  std::vector<Id> path;
  for (const auto& bytes : nodes) {
    auto id = id_from_wire(bytes);
    if (!id) return std::nullopt;
    path.push_back(*id);
  }
  return path;
}

}  // namespace

void ScribeNode::add_child(const Id& group, Group& g, const NodeHandle& child) {
  if (std::none_of(g.children.begin(), g.children.end(),
                   [&](const NodeHandle& c) { return c.id == child.id; })) {
    g.children.push_back(child);
  }
  NodeHandle accepted = child;
  if (config_.max_children > 0 && g.children.size() > config_.max_children) {
    // Too many: the farthest child (an unmeasured one counts as farthest) goes down a level,
    // under whichever of the others it finds nearest.
    auto distance = [&](const NodeHandle& n) {
      auto rtt = transport_.rtt(n);
      return rtt ? *rtt : Duration::max();
    };
    auto farthest = std::max_element(
        g.children.begin(), g.children.end(),
        [&](const NodeHandle& a, const NodeHandle& b) { return distance(a) < distance(b); });
    NodeHandle victim = *farthest;
    logger()->debug("{}: {} children in {}; pushing {} down", pastry_.local().id.short_hex(),
                    g.children.size(), group.short_hex(), victim.id.short_hex());
    g.children.erase(farthest);
    pb::ScribeMessage redirect;
    set_id(redirect.mutable_redirect()->mutable_group(), group);
    for (const auto& c : g.children) to_proto(c, redirect.mutable_redirect()->add_candidates());
    ++stats_.redirected;
    send(victim, redirect);
    if (victim.id == child.id) return;  // the newcomer itself was pushed down: no ack
  }
  pb::ScribeMessage ack;
  set_id(ack.mutable_subscribe_ack()->mutable_group(), group);
  for (const Id& id : child_path(g)) set_id(ack.mutable_subscribe_ack()->add_path(), id);
  send(accepted, ack);
}

void ScribeNode::in_tree_now(const Id& /*group*/, Group& g) {
  g.subscribing = false;
  clock_.cancel(g.retry);
  g.retry = net::kNoTimer;
  if (g.on_subscribed) {
    auto done = std::move(g.on_subscribed);
    g.on_subscribed = nullptr;
    done(ok_status());
  }
}

void ScribeNode::prune(const Id& group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  Group& g = it->second;
  if (g.client || !g.children.empty() || g.root) return;
  if (g.parent) send_unsubscribe(*g.parent, group);
  clock_.cancel(g.retry);
  groups_.erase(it);
}

// ---------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------

void ScribeNode::publish(const Id& group, Bytes payload) {
  pb::ScribeMessage m;
  auto* p = m.mutable_publish();
  set_id(p->mutable_group(), group);
  p->set_payload(payload.data(), payload.size());
  set_id(p->mutable_publisher(), pastry_.local().id);
  p->set_sequence(next_sequence_++);
  pastry_.route(group, pastry::AppId::kScribe, wire::encode_message(m));
}

void ScribeNode::disseminate(const Id& group, Group& g, const Id& publisher,
                             std::uint64_t sequence, ByteView payload) {
  auto key = std::make_pair(publisher, sequence);
  if (g.seen.contains(key)) {
    ++stats_.duplicates;
    return;
  }
  g.seen.insert(key);
  g.recent.push_back(key);
  if (g.recent.size() > config_.dedupe_window) {
    g.seen.erase(g.recent.front());
    g.recent.pop_front();
  }
  if (!g.children.empty()) {
    pb::ScribeMessage m;
    auto* mc = m.mutable_multicast();
    set_id(mc->mutable_group(), group);
    mc->set_payload(payload.data(), payload.size());
    set_id(mc->mutable_publisher(), publisher);
    mc->set_sequence(sequence);
    Bytes bytes = wire::encode_message(m);
    for (const auto& child : g.children) {
      ++stats_.forwarded;
      auto status = transport_.send(child, net::Channel::kScribe, bytes);
      (void)status;  // a child that is gone is noticed by its link, and pruned there
    }
  }
  if (g.client) {
    ++stats_.delivered;
    g.client->deliver(group, payload);
  }
}

// ---------------------------------------------------------------------------------------
// Anycast
// ---------------------------------------------------------------------------------------

void ScribeNode::anycast(const Id& group, Bytes payload,
                         std::function<void(Result<AnycastResult>)> done) {
  std::uint64_t id = next_anycast_++;
  PendingAnycast pending;
  pending.done = std::move(done);
  pending.timer = clock_.schedule(config_.anycast_timeout, [this, id, group] {
    auto it = anycasts_.find(id);
    if (it == anycasts_.end()) return;
    auto p = std::move(it->second);
    anycasts_.erase(it);
    p.done(make_error(ScribeErrc::kTimeout,
                      "the anycast to " + group.short_hex() + " was not answered in time"));
  });
  anycasts_[id] = std::move(pending);
  pb::ScribeMessage m;
  auto* a = m.mutable_anycast();
  set_id(a->mutable_group(), group);
  a->set_payload(payload.data(), payload.size());
  a->set_request_id(id);
  to_proto(pastry_.local(), a->mutable_source());
  // Already in the tree: the search starts here.
  if (in_tree(group)) {
    anycast_step(std::move(m));
    return;
  }
  pastry_.route(group, pastry::AppId::kScribe, wire::encode_message(m));
}

void ScribeNode::anycast_answer(const NodeHandle& source, std::uint64_t request_id,
                                bool accepted, const std::string& error) {
  pb::ScribeMessage reply;
  auto* r = reply.mutable_anycast_reply();
  r->set_request_id(request_id);
  r->set_accepted(accepted);
  if (accepted) to_proto(pastry_.local(), r->mutable_member());
  r->set_error(error);
  if (source.id == pastry_.local().id) {
    on_message(source, wire::encode_message(reply));
  } else {
    send(source, reply);
  }
}

void ScribeNode::anycast_step(pb::ScribeMessage m) {
  ++stats_.anycast_steps;
  auto* a = m.mutable_anycast();
  auto group = id_from_wire(a->group());
  auto source = from_proto(a->source());
  if (!group || !source) return;
  const Id& self = pastry_.local().id;
  std::unordered_set<Id> visited;
  for (const auto& v : a->visited()) {
    if (auto id = id_from_wire(v)) visited.insert(*id);
  }
  auto it = groups_.find(*group);
  if (it == groups_.end()) {
    anycast_answer(*source, a->request_id(), false, "the group has no tree here");
    return;
  }
  Group& g = it->second;
  if (!visited.contains(self)) {
    if (visited.size() >= config_.max_anycast_visits) {
      anycast_answer(*source, a->request_id(), false,
                     "gave up after " + std::to_string(visited.size()) + " nodes");
      return;
    }
    visited.insert(self);
    set_id(a->add_visited(), self);
    if (g.client && g.client->accept_anycast(*group, as_bytes(a->payload()))) {
      anycast_answer(*source, a->request_id(), true, "");
      return;
    }
  }
  // Depth first: the next child not searched yet, else back up to the parent.
  for (const auto& child : g.children) {
    if (!visited.contains(child.id)) {
      send(child, m);
      return;
    }
  }
  if (g.parent) {
    send(*g.parent, m);
    return;
  }
  anycast_answer(*source, a->request_id(), false,
                 "none of the " + std::to_string(visited.size()) + " nodes searched accepted");
}

// ---------------------------------------------------------------------------------------
// Pastry upcalls
// ---------------------------------------------------------------------------------------

bool ScribeNode::forward(const Id& key, Bytes& payload, NodeHandle& /*next*/) {
  auto m = wire::decode_message<pb::ScribeMessage>(payload, "routed Scribe message");
  if (!m.ok()) return true;
  if (m->has_anycast()) {
    auto group = id_from_wire(m->anycast().group());
    if (!group || *group != key || !in_tree(*group)) return true;
    anycast_step(std::move(*m));  // the route meets the tree here
    return false;
  }
  if (!m->has_subscribe()) return true;
  auto group = id_from_wire(m->subscribe().group());
  auto child = from_proto(m->subscribe().child());
  if (!group || *group != key || !child) return true;  // the root refuses it
  if (child->id == pastry_.local().id) return true;      // our own subscription leaving
  Group& g = groups_[*group];
  if (on_path(g.path, child->id)) {
    // An ancestor of ours (it lost its own parent): taking it would close a loop. Let its
    // subscription go on towards the root.
    logger()->debug("{}: {} is above us in {}; passing its subscription on",
                    pastry_.local().id.short_hex(), child->id.short_hex(), group->short_hex());
    return true;
  }
  bool was_in_tree = g.root || g.parent || g.subscribing;
  add_child(*group, g, *child);
  if (was_in_tree) return false;  // the tree already reaches here: the route ends
  // Not in the tree yet: this node joins it on behalf of its new child.
  g.subscribing = true;
  to_proto(pastry_.local(), m->mutable_subscribe()->mutable_child());
  payload = wire::encode_message(*m);
  arm_retry(*group, g);
  return true;
}

void ScribeNode::deliver(const Id& key, ByteView payload, const pastry::RouteInfo& info) {
  auto m = wire::decode_message<pb::ScribeMessage>(payload, "routed Scribe message");
  if (!m.ok()) {
    refuse(info.source, m.error().message);
    return;
  }
  if (m->has_subscribe()) {
    auto group = id_from_wire(m->subscribe().group());
    auto child = from_proto(m->subscribe().child());
    if (!group || *group != key || !child) {
      refuse(info.source, "a subscription whose group is not its key, or without a child");
      return;
    }
    Group& g = groups_[*group];
    g.root = true;
    lose_parent(g);
    if (child->id != pastry_.local().id) add_child(*group, g, *child);
    in_tree_now(*group, g);
    return;
  }
  if (m->has_publish()) {
    auto group = id_from_wire(m->publish().group());
    auto publisher = id_from_wire(m->publish().publisher());
    if (!group || *group != key || !publisher) {
      refuse(info.source, "a publication whose group is not its key");
      return;
    }
    auto it = groups_.find(*group);
    if (it == groups_.end()) return;  // nobody subscribed
    it->second.root = true;
    disseminate(*group, it->second, *publisher, m->publish().sequence(),
                as_bytes(m->publish().payload()));
    return;
  }
  if (m->has_anycast()) {
    auto group = id_from_wire(m->anycast().group());
    auto source = from_proto(m->anycast().source());
    if (!group || *group != key || !source) {
      refuse(info.source, "an anycast whose group is not its key, or without a source");
      return;
    }
    anycast_step(std::move(*m));
    return;
  }
  refuse(info.source, "a routed Scribe message of a kind that is not routed");
}

void ScribeNode::drop_child_everywhere(const Id& child) {
  std::vector<Id> emptied;
  for (auto& [group, g] : groups_) {
    auto gone = std::remove_if(g.children.begin(), g.children.end(),
                               [&](const NodeHandle& c) { return c.id == child; });
    if (gone == g.children.end()) continue;
    g.children.erase(gone, g.children.end());
    if (g.children.empty()) emptied.push_back(group);
  }
  for (const auto& group : emptied) prune(group);
}

void ScribeNode::update(const NodeHandle& /*node*/, bool /*joined*/) {
  // (A node leaving the leaf set may be alive, only pushed out by closer ones: children are
  // dropped on a broken link instead, see on_link_down.)
  // A root that is no longer the closest node to its group subscribes to the new one.
  for (auto& [group, g] : groups_) {
    if (!g.root) continue;
    auto closest = pastry_.replica_set(group, 1);
    if (!closest.empty() && closest.front().id != pastry_.local().id) {
      g.root = false;
      join_tree(group);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Direct messages
// ---------------------------------------------------------------------------------------

void ScribeNode::on_message(const NodeHandle& from, ByteView payload) {
  auto m = wire::decode_message<pb::ScribeMessage>(payload, "Scribe message");
  if (!m.ok()) {
    refuse(from, m.error().message);
    return;
  }
  switch (m->body_case()) {
    case pb::ScribeMessage::kSubscribeAck: {
      auto group = id_from_wire(m->subscribe_ack().group());
      if (!group) return refuse(from, "an acknowledgement without a valid group");
      auto it = groups_.find(*group);
      if (it == groups_.end()) {
        // We no longer care: tell the would-be parent.
        send_unsubscribe(from, *group);
        return;
      }
      Group& g = it->second;
      if (g.parent && g.parent->id != from.id) {
        // A second parent (an old subscription answered late): keep the first.
        send_unsubscribe(from, *group);
        return;
      }
      auto path = path_from_wire(m->subscribe_ack().path());
      if (!path) return refuse(from, "an acknowledgement with a malformed path");
      if (on_path(*path, pastry_.local().id)) {
        // The would-be parent hangs below us: refuse it; the retry subscribes again.
        send_unsubscribe(from, *group);
        return;
      }
      logger()->debug("{}: in {} under {}", pastry_.local().id.short_hex(), group->short_hex(),
                      from.id.short_hex());
      g.path = std::move(*path);
      g.parent = from;
      g.root = false;
      g.parent_heard = clock_.now();
      in_tree_now(*group, g);
      return;
    }
    case pb::ScribeMessage::kUnsubscribe: {
      auto group = id_from_wire(m->unsubscribe().group());
      if (!group) return refuse(from, "an unsubscription without a valid group");
      auto it = groups_.find(*group);
      if (it == groups_.end()) return;
      auto& children = it->second.children;
      children.erase(std::remove_if(children.begin(), children.end(),
                                    [&](const NodeHandle& c) { return c.id == from.id; }),
                     children.end());
      prune(*group);
      return;
    }
    case pb::ScribeMessage::kMulticast: {
      const auto& mc = m->multicast();
      auto group = id_from_wire(mc.group());
      auto publisher = id_from_wire(mc.publisher());
      if (!group || !publisher) return refuse(from, "a multicast without a valid group");
      auto it = groups_.find(*group);
      if (it == groups_.end() || !it->second.parent || it->second.parent->id != from.id) {
        // Not our parent for this group (any more): it should forget us.
        send_unsubscribe(from, *group);
        return;
      }
      it->second.parent_heard = clock_.now();
      disseminate(*group, it->second, *publisher, mc.sequence(), as_bytes(mc.payload()));
      return;
    }
    case pb::ScribeMessage::kHeartbeat: {
      const auto& hb = m->heartbeat();
      if (hb.paths_size() != hb.groups_size()) {
        return refuse(from, "a heartbeat whose paths do not match its groups");
      }
      for (int i = 0; i < hb.groups_size(); ++i) {
        auto group = id_from_wire(hb.groups(i));
        auto path = path_from_wire(hb.paths(i).nodes());
        if (!group || !path) return refuse(from, "a heartbeat with a malformed group or path");
        auto it = groups_.find(*group);
        if (it == groups_.end() || !it->second.parent || it->second.parent->id != from.id) {
          send_unsubscribe(from, *group);
          continue;
        }
        Group& g = it->second;
        if (on_path(*path, pastry_.local().id)) {
          // We are our own ancestor: a loop formed (from a subscription that met stale
          // state). Leave it and subscribe again through the overlay.
          logger()->info("{}: loop in {} through {}; subscribing again",
                         pastry_.local().id.short_hex(), group->short_hex(), from.id.short_hex());
          send_unsubscribe(from, *group);
          lose_parent(g);
          ++stats_.resubscribed;
          join_tree(*group);
          continue;
        }
        g.path = std::move(*path);
        g.parent_heard = clock_.now();
      }
      return;
    }
    case pb::ScribeMessage::kRedirect: {
      auto group = id_from_wire(m->redirect().group());
      auto candidates = from_proto(m->redirect().candidates());
      if (!group || !candidates) return refuse(from, "a redirect with a malformed group or node");
      auto it = groups_.find(*group);
      if (it == groups_.end()) return;
      Group& g = it->second;
      // From our parent (or from the node we are subscribing through): go under a sibling.
      if (g.parent && g.parent->id != from.id) return;
      lose_parent(g);
      candidates->erase(std::remove_if(candidates->begin(), candidates->end(),
                                       [&](const NodeHandle& c) {
                                         return c.id == pastry_.local().id;
                                       }),
                        candidates->end());
      if (candidates->empty()) {
        g.subscribing = false;
        join_tree(*group);
        return;
      }
      auto distance = [&](const NodeHandle& n) {
        auto rtt = transport_.rtt(n);
        return rtt ? *rtt : Duration::max();
      };
      logger()->debug("{}: redirected in {} by {}", pastry_.local().id.short_hex(),
                      group->short_hex(), from.id.short_hex());
      NodeHandle next = *std::min_element(
          candidates->begin(), candidates->end(),
          [&](const NodeHandle& a, const NodeHandle& b) { return distance(a) < distance(b); });
      pb::ScribeMessage adopt;
      set_id(adopt.mutable_adopt()->mutable_group(), *group);
      to_proto(pastry_.local(), adopt.mutable_adopt()->mutable_child());
      send(next, adopt);
      // If the sibling never answers, the retry subscribes through the overlay again.
      g.subscribing = true;
      arm_retry(*group, g);
      return;
    }
    case pb::ScribeMessage::kAdopt: {
      auto group = id_from_wire(m->adopt().group());
      auto child = from_proto(m->adopt().child());
      if (!group || !child || child->id != from.id) {
        return refuse(from, "an adoption request for another node or without a valid group");
      }
      Group& g = groups_[*group];
      if (on_path(g.path, child->id)) return;  // an ancestor: a loop. Its retry goes elsewhere.
      add_child(*group, g, *child);
      if (!g.root && !g.parent && !g.subscribing) join_tree(*group);  // we had left the tree
      return;
    }
    case pb::ScribeMessage::kAnycast: {
      if (!id_from_wire(m->anycast().group()) || !from_proto(m->anycast().source())) {
        return refuse(from, "an anycast without a valid group or source");
      }
      anycast_step(std::move(*m));
      return;
    }
    case pb::ScribeMessage::kAnycastReply: {
      const auto& r = m->anycast_reply();
      auto it = anycasts_.find(r.request_id());
      if (it == anycasts_.end()) return;
      auto member = r.accepted() ? from_proto(r.member()) : std::nullopt;
      if (r.accepted() && (!member || member->id != from.id)) {
        return refuse(from, "an anycast answer naming another node as the member");
      }
      auto p = std::move(it->second);
      anycasts_.erase(it);
      clock_.cancel(p.timer);
      if (member) {
        p.done(AnycastResult{*member});
      } else {
        p.done(make_error(ScribeErrc::kNoMemberAccepted, r.error()));
      }
      return;
    }
    default: refuse(from, "a Scribe message of a kind that is not sent directly"); return;
  }
}

void ScribeNode::on_link_down(const NodeHandle& peer) {
  // A child we cannot reach is gone (it resubscribes if it is alive: it lost the link too).
  drop_child_everywhere(peer.id);
  std::vector<Id> orphaned;
  for (auto& [group, g] : groups_) {
    if (g.parent && g.parent->id == peer.id) orphaned.push_back(group);
  }
  for (const auto& group : orphaned) {
    Group& g = groups_[group];
    lose_parent(g);
    ++stats_.resubscribed;
    join_tree(group);
  }
}

void ScribeNode::tick() {
  tick_timer_ = clock_.schedule(net::jitter(rng_, config_.heartbeat_interval), [this] { tick(); });
  // Heartbeats: one message per child, naming every group it is our child in, each with the
  // child's path to the root.
  std::unordered_map<Id, std::pair<NodeHandle, std::vector<Id>>> per_child;
  std::vector<Id> orphaned;
  for (auto& [group, g] : groups_) {
    for (const auto& c : g.children) {
      auto& entry = per_child[c.id];
      entry.first = c;
      entry.second.push_back(group);
    }
    if (g.parent && clock_.now() - g.parent_heard > config_.parent_timeout) {
      orphaned.push_back(group);
    }
  }
  for (const auto& [id, entry] : per_child) {
    pb::ScribeMessage m;
    for (const auto& group : entry.second) {
      set_id(m.mutable_heartbeat()->add_groups(), group);
      auto* path = m.mutable_heartbeat()->add_paths();
      for (const Id& node : child_path(groups_[group])) set_id(path->add_nodes(), node);
    }
    send(entry.first, m);
  }
  for (const auto& group : orphaned) {
    Group& g = groups_[group];
    logger()->debug("{}: parent {} of {} silent; subscribing again", pastry_.local().id.short_hex(),
                    g.parent->to_string(), group.short_hex());
    lose_parent(g);
    ++stats_.resubscribed;
    join_tree(group);
  }
}

// ---------------------------------------------------------------------------------------
// Introspection
// ---------------------------------------------------------------------------------------

bool ScribeNode::in_tree(const Id& group) const {
  auto it = groups_.find(group);
  return it != groups_.end() && (it->second.root || it->second.parent);
}

bool ScribeNode::is_root(const Id& group) const {
  auto it = groups_.find(group);
  return it != groups_.end() && it->second.root;
}

bool ScribeNode::is_member(const Id& group) const {
  auto it = groups_.find(group);
  return it != groups_.end() && it->second.client != nullptr;
}

std::optional<NodeHandle> ScribeNode::parent(const Id& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? std::nullopt : it->second.parent;
}

std::vector<NodeHandle> ScribeNode::children(const Id& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? std::vector<NodeHandle>() : it->second.children;
}

std::vector<GroupState> ScribeNode::groups() const {
  std::vector<GroupState> out;
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) {
    out.push_back(GroupState{id, g.client != nullptr, g.root, g.parent, g.children});
  }
  std::sort(out.begin(), out.end(),
            [](const GroupState& a, const GroupState& b) { return a.group < b.group; });
  return out;
}

}  // namespace post::scribe
