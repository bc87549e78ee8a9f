#include "host/pastry/pastry_node.h"

#include <algorithm>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/net/errors.h"
#include "host/pastry/handle_codec.h"
#include "host/pastry/proto/pastry.pb.h"
#include "host/pastry/router.h"

namespace post::pastry {

namespace pb = proto::pastry;
using net::jitter;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("pastry");
  return l;
}


constexpr std::size_t kMaxPartitionTargets = 64;
// Routed messages a joining node keeps until it is ready; more are dropped.
constexpr std::size_t kMaxHeldMessages = 1024;
constexpr std::size_t kHoleLookupsPerRound = 16;

}  // namespace

struct PastryNode::InFlight {
  pb::Routed msg;  // as it was before this hop (hops not yet incremented)
  NodeHandle next;
  int reroutes = 0;
  std::vector<Id> excluded;
  net::TimerId timer = net::kNoTimer;
};

struct PastryNode::PendingLookup {
  std::function<void(Result<LookupResult>)> done;
  net::Time started{};
  net::TimerId timer = net::kNoTimer;
};

struct PastryNode::Liveness {
  net::Time last_heard{};
  int failures = 0;
  bool probing = false;
};

PastryNode::PastryNode(net::Transport& transport, net::Clock& clock, PastryConfig config,
                       std::uint64_t seed)
    : transport_(transport),
      clock_(clock),
      config_(config),
      rng_(seed),
      self_(transport.local()),
      leaf_set_(self_, config.leaf_set_size),
      table_(self_.id, config.digit_bits),
      next_hop_id_(rng_.next() | 1) {
  transport_.set_handler(net::Channel::kPastry, this);
}

PastryNode::~PastryNode() {
  if (discovery_) clock_.cancel(discovery_->timer);
  transport_.set_handler(net::Channel::kPastry, nullptr);
  for (auto t : {join_timer_, heartbeat_timer_, maintenance_timer_, partition_timer_}) {
    clock_.cancel(t);
  }
  for (auto& [id, f] : in_flight_) clock_.cancel(f->timer);
  for (auto& [id, l] : lookups_) clock_.cancel(l->timer);
}

// ---------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------

void PastryNode::start_new_ring() {
  state_ = JoinState::kReady;
  logger()->debug("{} starts a new ring", self_.to_string());
  become_ready();
}

void PastryNode::join(std::vector<net::Address> bootstrap, std::function<void(Status)> done) {
  state_ = JoinState::kJoining;
  join_done_ = std::move(done);
  join_attempts_ = 0;
  join_unreachable_count_ = 0;
  join_unreachable_ = false;
  join_reply_received_ = false;
  join_pending_.clear();
  bootstrap_.clear();
  bootstrap_index_ = 0;
  for (const auto& a : bootstrap) {
    if (a != self_.address) bootstrap_.push_back(a);
  }
  if (bootstrap_.empty()) {
    state_ = JoinState::kIdle;
    auto cb = std::move(join_done_);
    cb(make_error(net::NetErrc::kUnreachable, "no bootstrap node other than this one"));
    return;
  }
  try_next_bootstrap();
}

void PastryNode::try_next_bootstrap() {
  if (state_ != JoinState::kJoining) return;
  clock_.cancel(join_timer_);
  join_timer_ = net::kNoTimer;
  // Three rounds through the list; a round in which nobody answered ends the attempt.
  if (join_attempts_ >= static_cast<int>(3 * bootstrap_.size())) {
    state_ = JoinState::kIdle;
    stats_.dropped += held_.size();
    held_.clear();
    std::string tried;
    for (const auto& a : bootstrap_) tried += (tried.empty() ? "" : ", ") + a.to_string();
    auto cb = std::move(join_done_);
    if (cb) {
      cb(join_unreachable_
             ? make_error(net::NetErrc::kUnreachable, "no bootstrap node answered (" + tried + ")")
             : make_error(net::NetErrc::kTimeout,
                          "the join through " + tried + " did not complete"));
    }
    return;
  }
  net::Address address = bootstrap_[bootstrap_index_++ % bootstrap_.size()];
  ++join_attempts_;
  std::weak_ptr<char> alive = alive_;
  transport_.connect(address, [this, alive, address](Result<NodeHandle> r) {
    if (alive.expired() || state_ != JoinState::kJoining) return;
    if (!r.ok()) {
      logger()->debug("{}: bootstrap {} unreachable: {}", self_.id.short_hex(), address.to_string(),
                      r.error().message);
      // A whole round of unreachable bootstraps is a failure now, not after three rounds.
      ++join_unreachable_count_;
      if (join_unreachable_count_ >= bootstrap_.size() && !join_reply_received_) {
        join_unreachable_ = true;
        join_attempts_ = static_cast<int>(3 * bootstrap_.size());
      }
      try_next_bootstrap();
      return;
    }
    join_unreachable_count_ = 0;
    const NodeHandle& bootstrap = *r;
    if (bootstrap.id == self_.id) {
      try_next_bootstrap();
      return;
    }
    if (!config_.proximity_neighbour_selection || config_.nearest_discovery_steps <= 0) {
      send_join(bootstrap);
      return;
    }
    // Find a near node to join through, starting from the bootstrap.
    std::uint64_t generation = ++discovery_generation_;
    transport_.ping(bootstrap, [this, alive, bootstrap, generation](Result<Duration> rtt) {
      if (alive.expired() || state_ != JoinState::kJoining ||
          generation != discovery_generation_) {
        return;
      }
      if (!rtt.ok()) {
        send_join(bootstrap);
        return;
      }
      discover_nearest(bootstrap, *rtt, config_.nearest_discovery_steps);
    });
  });
}

void PastryNode::send_join(const NodeHandle& first_hop) {
  clock_.cancel(join_timer_);
  pb::Routed msg;
  msg.set_key(self_.id.bytes().data(), Id::kBytes);
  to_proto(self_, msg.mutable_source());
  to_proto(self_, msg.mutable_join()->mutable_joiner());
  forward(std::move(msg), first_hop, 0, {});
  join_timer_ = clock_.schedule(config_.join_timeout, [this] {
    join_timer_ = net::kNoTimer;
    if (!join_reply_received_) try_next_bootstrap();
  });
}

void PastryNode::discover_nearest(NodeHandle current, net::Duration current_rtt, int steps_left) {
  Discovery d;
  d.asked = current;
  d.best = current;
  d.best_rtt = current_rtt;
  d.steps_left = steps_left;
  d.generation = ++discovery_generation_;
  d.pinged = {current.id, self_.id};
  // Row 0 spans the whole ring with nodes chosen near `current`; row 1 adds nearer ids.
  for (std::uint32_t index : {0u, 1u}) {
    pb::PastryMessage m;
    m.mutable_row_request()->set_index(index);
    m.mutable_row_request()->set_joining(true);
    send(current, m);
    ++d.rows_pending;
  }
  std::uint64_t generation = d.generation;
  d.timer = clock_.schedule(config_.route_ack_timeout * 2, [this, generation] {
    if (!discovery_ || discovery_->generation != generation) return;
    discovery_->timer = net::kNoTimer;
    discovery_->rows_pending = 0;
    discovery_->pings_pending = 0;
    finish_discovery();
  });
  discovery_ = std::move(d);
}

void PastryNode::discovery_rows(const NodeHandle& from, std::vector<NodeHandle> entries) {
  if (!discovery_ || from.id != discovery_->asked.id) return;
  --discovery_->rows_pending;
  std::weak_ptr<char> alive = alive_;
  std::uint64_t generation = discovery_->generation;
  for (const auto& n : entries) {
    if (!discovery_->pinged.insert(n.id).second || failed_.contains(n.id)) continue;
    ++discovery_->pings_pending;
    transport_.ping(n, [this, alive, generation, n](Result<Duration> rtt) {
      if (alive.expired() || !discovery_ || discovery_->generation != generation) return;
      --discovery_->pings_pending;
      if (rtt.ok() && *rtt < discovery_->best_rtt) {
        discovery_->best = n;
        discovery_->best_rtt = *rtt;
      }
      if (discovery_->rows_pending <= 0 && discovery_->pings_pending <= 0) finish_discovery();
    });
  }
  if (discovery_ && discovery_->rows_pending <= 0 && discovery_->pings_pending <= 0) {
    finish_discovery();
  }
}

void PastryNode::finish_discovery() {
  Discovery d = std::move(*discovery_);
  discovery_.reset();
  clock_.cancel(d.timer);
  if (state_ != JoinState::kJoining) return;
  if (d.best.id != d.asked.id && d.steps_left > 1) {
    discover_nearest(d.best, d.best_rtt, d.steps_left - 1);
    return;
  }
  logger()->debug("{}: joining through {} ({} ms away)", self_.id.short_hex(),
                  d.best.to_string(), net::to_seconds(d.best_rtt) * 1000);
  send_join(d.best);
}

void PastryNode::leave() {
  if (state_ == JoinState::kLeft) return;
  pb::PastryMessage m;
  for (const auto& n : leaf_set_.members()) to_proto(n, m.mutable_leave()->add_leaf_set());
  for (const auto& n : leaf_set_.members()) send(n, m);
  state_ = JoinState::kLeft;
  for (auto* t : {&join_timer_, &heartbeat_timer_, &maintenance_timer_, &partition_timer_}) {
    clock_.cancel(*t);
    *t = net::kNoTimer;
  }
  for (auto& [id, f] : in_flight_) clock_.cancel(f->timer);
  in_flight_.clear();
  auto lookups = std::move(lookups_);
  lookups_.clear();
  for (auto& [id, l] : lookups) {
    clock_.cancel(l->timer);
    l->done(make_error(net::NetErrc::kClosed, "node left the ring"));
  }
}

void PastryNode::register_application(AppId app, Application* application) {
  if (application) {
    apps_[app] = application;
  } else {
    apps_.erase(app);
  }
}

// ---------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------

void PastryNode::route(const Id& key, AppId app, Bytes payload) {
  pb::Routed msg;
  msg.set_key(key.bytes().data(), Id::kBytes);
  to_proto(self_, msg.mutable_source());
  msg.mutable_app()->set_app(static_cast<std::uint32_t>(app));
  msg.mutable_app()->set_payload(payload.data(), payload.size());
  originate(std::move(msg));
}

void PastryNode::lookup(const Id& key, std::function<void(Result<LookupResult>)> done) {
  start_lookup(key, /*want_leaf_set=*/false, std::move(done));
}

void PastryNode::start_lookup(const Id& key, bool want_leaf_set,
                              std::function<void(Result<LookupResult>)> done,
                              std::optional<NodeHandle> first_hop) {
  std::uint64_t id = next_lookup_id_++;
  auto pending = std::make_unique<PendingLookup>();
  pending->done = std::move(done);
  pending->started = clock_.now();
  pending->timer = clock_.schedule(config_.lookup_timeout, [this, id] {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) return;
    auto cb = std::move(it->second->done);
    lookups_.erase(it);
    cb(make_error(net::NetErrc::kTimeout, "lookup got no answer"));
  });
  lookups_[id] = std::move(pending);
  pb::Routed msg;
  msg.set_key(key.bytes().data(), Id::kBytes);
  to_proto(self_, msg.mutable_source());
  msg.set_trace(true);
  to_proto(self_, msg.add_path());
  msg.mutable_lookup()->set_request_id(id);
  msg.mutable_lookup()->set_want_leaf_set(want_leaf_set);
  if (first_hop) {
    ++stats_.routed_originated;
    forward(std::move(msg), *first_hop, 0, {});
  } else {
    originate(std::move(msg));
  }
}

std::vector<NodeHandle> PastryNode::replica_set(const Id& key, int k) const {
  return leaf_set_.closest_k(key, k);
}

void PastryNode::originate(pb::Routed msg) {
  ++stats_.routed_originated;
  handle_routed(std::move(msg), nullptr);
}

bool PastryNode::excluded_from_routing(const Id& id) const {
  return suspected_.contains(id) || failed_.contains(id);
}

NodeHandle PastryNode::choose_next_hop(const Id& key, const std::vector<Id>& excluded,
                                       bool join) const {
  auto is_excluded = [&](const Id& id) {
    return excluded_from_routing(id) || (join && joining_peers_.contains(id)) ||
           std::find(excluded.begin(), excluded.end(), id) != excluded.end();
  };
  return next_hop(key, leaf_set_, table_, is_excluded);
}

void PastryNode::hold(pb::Routed msg) {
  if (held_.size() >= kMaxHeldMessages) {
    ++stats_.dropped;
    return;
  }
  msg.set_hop_id(0);
  held_.push_back(std::move(msg));
}

void PastryNode::handle_routed(pb::Routed msg, const NodeHandle* from) {
  if (from) {
    if (msg.hop_id() != 0) {
      pb::PastryMessage ack;
      ack.mutable_route_ack()->set_hop_id(msg.hop_id());
      send(*from, ack);
    }
    heard_from(*from);
  }
  auto key = Id::from_bytes(as_bytes(msg.key()));
  auto source = from_proto(msg.source());
  if (!key.ok() || !source) {
    if (from) refuse(*from, "routed message with a malformed key or source");
    return;
  }
  if (static_cast<int>(msg.hops()) > config_.max_hops) {
    ++stats_.dropped;
    logger()->debug("{}: dropped message for {} after {} hops", self_.id.short_hex(),
                    key->short_hex(), msg.hops());
    return;
  }
  if (msg.has_join()) {
    auto joiner = from_proto(msg.join().joiner());
    if (!joiner || joiner->id != source->id || joiner->id != *key) {
      if (from) refuse(*from, "join whose joiner is not its source and key");
      return;
    }
    if (joiner->id == self_.id && from) return;  // our own join came back: ignore it
    // Add the rows the joiner does not have yet, up to the prefix it shares with us, and
    // ourselves: the joiner places each entry in its own table by its own prefixes.
    int shared = self_.id.shared_prefix_length(joiner->id, config_.digit_bits);
    int have = 0;
    for (const auto& row : msg.join().rows())
      have = std::max(have, static_cast<int>(row.index()) + 1);
    for (int r = have; r < shared && r < table_.rows(); ++r) {
      auto* row = msg.mutable_join()->add_rows();
      row->set_index(static_cast<std::uint32_t>(r));
      for (const auto& n : table_.row(r)) to_proto(n, row->add_entries());
    }
    auto* own = msg.mutable_join()->add_rows();
    own->set_index(static_cast<std::uint32_t>(std::min(shared, table_.max_rows() - 1)));
    for (const auto& n : table_.row(shared)) to_proto(n, own->add_entries());
    to_proto(self_, own->add_entries());
  }
  if (msg.trace() && from) to_proto(self_, msg.add_path());

  if (state_ != JoinState::kReady) {
    // Joining: this node's leaf set is not confirmed yet, so it cannot tell whether it is the
    // root. It holds the message and routes it once ready (MSPastry's consistent join).
    hold(std::move(msg));
    return;
  }
  // A join goes to the node closest to the joiner other than the joiner itself (which the
  // nodes on its way may already have admitted).
  std::vector<Id> excluded;
  if (msg.has_join()) excluded.push_back(*key);
  NodeHandle next = choose_next_hop(*key, excluded, msg.has_join());
  if (next.id == self_.id) {
    deliver(msg);
    return;
  }
  if (msg.has_app()) {
    auto app = apps_.find(static_cast<AppId>(msg.app().app()));
    if (app != apps_.end()) {
      Bytes payload = to_bytes(msg.app().payload());
      if (!app->second->forward(*key, payload, next)) return;
      msg.mutable_app()->set_payload(payload.data(), payload.size());
      if (next.id == self_.id) {
        deliver(msg);
        return;
      }
    }
  }
  if (from) ++stats_.forwarded;
  forward(std::move(msg), next, 0, {});
}

void PastryNode::deliver(pb::Routed& msg) {
  Id key = Id::from_bytes(as_bytes(msg.key())).value();
  NodeHandle source = *from_proto(msg.source());
  ++stats_.delivered;
  switch (msg.body_case()) {
    case pb::Routed::kJoin: {
      ++stats_.joins_answered;
      pb::PastryMessage reply;
      auto* r = reply.mutable_join_reply();
      to_proto(self_, r->mutable_root());
      for (const auto& n : leaf_set_.members()) to_proto(n, r->add_leaf_set());
      *r->mutable_rows() = msg.join().rows();
      send(source, reply);
      return;
    }
    case pb::Routed::kLookup: {
      pb::PastryMessage reply;
      auto* r = reply.mutable_lookup_reply();
      r->set_request_id(msg.lookup().request_id());
      to_proto(self_, r->mutable_root());
      r->set_hops(msg.hops());
      *r->mutable_path() = msg.path();
      if (msg.lookup().want_leaf_set()) {
        for (const auto& n : leaf_set_.members()) to_proto(n, r->add_leaf_set());
      }
      if (source.id == self_.id) {
        handle_lookup_reply(self_, reply);
      } else {
        send(source, reply);
      }
      return;
    }
    case pb::Routed::kApp: {
      auto app = apps_.find(static_cast<AppId>(msg.app().app()));
      if (app == apps_.end()) {
        ++stats_.dropped;
        logger()->debug("{}: no application {} for a message to {}", self_.id.short_hex(),
                        msg.app().app(), key.short_hex());
        return;
      }
      app->second->deliver(key, as_bytes(msg.app().payload()),
                           RouteInfo{source, static_cast<int>(msg.hops())});
      return;
    }
    default: ++stats_.dropped; return;
  }
}

void PastryNode::forward(pb::Routed msg, const NodeHandle& next, int reroutes,
                         std::vector<Id> excluded) {
  std::uint64_t hop_id = next_hop_id_++;
  if (hop_id == 0) hop_id = next_hop_id_++;
  pb::PastryMessage out;
  *out.mutable_routed() = msg;
  out.mutable_routed()->set_hop_id(hop_id);
  out.mutable_routed()->set_hops(msg.hops() + 1);

  auto flight = std::make_unique<InFlight>();
  flight->msg = std::move(msg);
  flight->next = next;
  flight->reroutes = reroutes;
  flight->excluded = std::move(excluded);
  flight->timer = clock_.schedule(config_.route_ack_timeout,
                                  [this, hop_id] { reroute(hop_id, "no acknowledgement"); });
  in_flight_[hop_id] = std::move(flight);

  Bytes bytes = wire::encode_message(out);
  auto status = transport_.send(next, net::Channel::kPastry, std::move(bytes));
  if (!status.ok()) reroute(hop_id, status.error().message);
}

void PastryNode::reroute(std::uint64_t hop_id, const std::string& why) {
  auto it = in_flight_.find(hop_id);
  if (it == in_flight_.end()) return;
  std::unique_ptr<InFlight> flight = std::move(it->second);
  in_flight_.erase(it);
  clock_.cancel(flight->timer);
  const NodeHandle failed_hop = flight->next;
  logger()->debug("{}: hop to {} failed ({}); rerouting", self_.id.short_hex(),
                  failed_hop.to_string(), why);
  if (leaf_set_.contains(failed_hop.id) || table_.contains(failed_hop.id)) {
    suspected_.insert(failed_hop.id);
    send_liveness_probe(failed_hop);
  }
  if (flight->reroutes >= config_.max_reroutes || state_ == JoinState::kLeft) {
    ++stats_.dropped;
    return;
  }
  if (flight->msg.has_join() && state_ == JoinState::kJoining &&
      from_proto(flight->msg.source())->id == self_.id) {
    // Our own join: its first hop (the bootstrap) did not answer; try the next one.
    try_next_bootstrap();
    return;
  }
  flight->excluded.push_back(failed_hop.id);
  Id key = Id::from_bytes(as_bytes(flight->msg.key())).value();
  if (flight->msg.has_join()) flight->excluded.push_back(key);
  NodeHandle next = choose_next_hop(key, flight->excluded, flight->msg.has_join());
  ++stats_.rerouted;
  if (next.id == self_.id) {
    if (state_ == JoinState::kReady) {
      deliver(flight->msg);
    } else {
      hold(std::move(flight->msg));
    }
    return;
  }
  forward(std::move(flight->msg), next, flight->reroutes + 1, std::move(flight->excluded));
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

void PastryNode::on_message(const NodeHandle& from, ByteView payload) {
  if (state_ == JoinState::kLeft || state_ == JoinState::kIdle) return;
  auto m = wire::decode_message<pb::PastryMessage>(payload, "pastry message");
  if (!m.ok()) {
    refuse(from, m.error().message);
    return;
  }
  switch (m->kind_case()) {
    case pb::PastryMessage::kRouted: handle_routed(std::move(*m->mutable_routed()), &from); break;
    case pb::PastryMessage::kRouteAck: handle_route_ack(from, *m); break;
    case pb::PastryMessage::kJoinReply: handle_join_reply(from, *m); break;
    case pb::PastryMessage::kProbe: handle_probe(from, *m, true); break;
    case pb::PastryMessage::kProbeReply: handle_probe(from, *m, false); break;
    case pb::PastryMessage::kRowRequest: handle_row_request(from, *m); break;
    case pb::PastryMessage::kRowReply: handle_row_reply(from, *m); break;
    case pb::PastryMessage::kLeave: handle_leave(from, *m); break;
    case pb::PastryMessage::kLookupReply: handle_lookup_reply(from, *m); break;
    default: refuse(from, "unknown pastry message"); break;
  }
}

void PastryNode::handle_route_ack(const NodeHandle& from, const pb::PastryMessage& m) {
  auto it = in_flight_.find(m.route_ack().hop_id());
  if (it == in_flight_.end() || it->second->next.id != from.id) return;
  clock_.cancel(it->second->timer);
  in_flight_.erase(it);
}

void PastryNode::handle_join_reply(const NodeHandle& from, const pb::PastryMessage& m) {
  if (state_ != JoinState::kJoining) return;  // late or unsolicited
  const auto& reply = m.join_reply();
  auto root = from_proto(reply.root());
  auto members = from_proto(reply.leaf_set());
  if (!root || !members || root->id != from.id) {
    refuse(from, "join reply whose root is not its sender, or with malformed handles");
    return;
  }
  std::vector<NodeHandle> rows;
  for (const auto& row : reply.rows()) {
    auto entries = from_proto(row.entries());
    if (!entries) {
      refuse(from, "join reply with a malformed routing table row");
      return;
    }
    rows.insert(rows.end(), entries->begin(), entries->end());
  }
  join_reply_received_ = true;
  clock_.cancel(join_timer_);
  join_timer_ = net::kNoTimer;
  logger()->debug("{}: join answered by root {} with {} leaf set members", self_.id.short_hex(),
                  from.to_string(), members->size());
  heard_from(from);
  // The nodes closest to us among all we were told of are the candidates for our leaf set:
  // probe those (and the root, which must learn of us before we are ready), not everyone.
  join_view_.emplace(self_, config_.leaf_set_size);
  join_view_->insert(from);
  for (const auto& n : *members) join_view_->insert(n);
  for (const auto& n : rows) join_view_->insert(n);
  probe(from);
  for (const auto& n : join_view_->members()) {
    if (!leaf_set_.contains(n.id)) probe(n);
  }
  for (const auto& n : rows) learn_of(n, /*measure=*/true);
  check_join_complete();
}

void PastryNode::handle_probe(const NodeHandle& from, const pb::PastryMessage& m, bool reply) {
  const auto& probe_msg = reply ? m.probe() : m.probe_reply();
  auto members = from_proto(probe_msg.leaf_set());
  if (!members) {
    refuse(from, "leaf set message with malformed handles");
    return;
  }
  verifying_.erase(from.id);
  join_pending_.erase(from.id);
  if (probe_msg.ready()) {
    joining_peers_.erase(from.id);
  } else {
    joining_peers_.insert(from.id);
  }
  // It knows of us already (it sent us its leaf set), or hears of us in our reply.
  knows_us_ = from.id;
  heard_from(from, /*measure=*/probe_msg.announce());
  knows_us_.reset();
  for (const auto& n : *members) learn_of(n);
  if (reply) send_leaf_set(from, false);
  check_join_complete();
}

void PastryNode::handle_row_request(const NodeHandle& from, const pb::PastryMessage& m) {
  // A node looking for where to join is answered, not admitted: it is not in the ring yet.
  if (!m.row_request().joining()) heard_from(from);
  pb::PastryMessage reply;
  auto* row = reply.mutable_row_reply()->mutable_row();
  row->set_index(m.row_request().index());
  if (m.row_request().index() < static_cast<std::uint32_t>(table_.rows())) {
    for (const auto& n : table_.row(static_cast<int>(m.row_request().index()))) {
      to_proto(n, row->add_entries());
    }
  }
  send(from, reply);
}

void PastryNode::handle_row_reply(const NodeHandle& from, const pb::PastryMessage& m) {
  auto entries = from_proto(m.row_reply().row().entries());
  if (!entries) {
    refuse(from, "row reply with malformed handles");
    return;
  }
  if (state_ == JoinState::kJoining && discovery_ && from.id == discovery_->asked.id) {
    discovery_rows(from, std::move(*entries));
    return;
  }
  heard_from(from);
  for (const auto& n : *entries) learn_of(n, /*measure=*/true);
}

void PastryNode::handle_leave(const NodeHandle& from, const pb::PastryMessage& m) {
  auto members = from_proto(m.leave().leaf_set());
  if (!members) {
    refuse(from, "leave with malformed handles");
    return;
  }
  logger()->debug("{}: {} leaves the ring", self_.id.short_hex(), from.to_string());
  declare_failed(from, "left the ring");
  for (const auto& n : *members) learn_of(n);
}

void PastryNode::handle_lookup_reply(const NodeHandle& from, const pb::PastryMessage& m) {
  const auto& reply = m.lookup_reply();
  auto it = lookups_.find(reply.request_id());
  if (it == lookups_.end()) return;
  auto root = from_proto(reply.root());
  auto path = from_proto(reply.path());
  auto neighbours = from_proto(reply.leaf_set());
  if (!root || !path || !neighbours || root->id != from.id) {
    refuse(from, "lookup reply whose root is not its sender, or with malformed handles");
    return;
  }
  auto pending = std::move(it->second);
  lookups_.erase(it);
  clock_.cancel(pending->timer);
  LookupResult result;
  result.root = *root;
  result.hops = static_cast<int>(reply.hops());
  result.path = std::move(*path);
  if (result.path.empty() || result.path.back().id != root->id) result.path.push_back(*root);
  result.latency = clock_.now() - pending->started;
  if (root->id != self_.id) heard_from(*root);  // a root we did not know: another ring?
  for (const auto& n : *neighbours) learn_of(n);
  pending->done(std::move(result));
}

void PastryNode::on_link_down(const NodeHandle& peer) {
  if (state_ == JoinState::kLeft || state_ == JoinState::kIdle) return;
  std::vector<std::uint64_t> lost;
  for (const auto& [hop_id, f] : in_flight_) {
    if (f->next.id == peer.id) lost.push_back(hop_id);
  }
  for (auto hop_id : lost) reroute(hop_id, "link down");
  if (verifying_.erase(peer.id)) {
    join_pending_.erase(peer.id);
    check_join_complete();
  }
  if (leaf_set_.contains(peer.id) || table_.contains(peer.id)) {
    suspected_.insert(peer.id);
    send_liveness_probe(peer);
  }
}

// ---------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------

void PastryNode::heard_from(const NodeHandle& node, bool measure) {
  if (node.id == self_.id) return;
  failed_.erase(node.id);
  suspected_.erase(node.id);
  if (auto it = liveness_.find(node.id); it != liveness_.end()) {
    it->second->last_heard = clock_.now();
    it->second->failures = 0;
  }
  admit(node, measure);
}

void PastryNode::admit(const NodeHandle& node, bool measure) {
  if (state_ == JoinState::kLeft) return;
  auto known = leaf_set_.find(node.id);
  if (known ? known->address != node.address : would_enter_leaf_set(node.id)) {
    auto before = leaf_set_.members();
    if (leaf_set_.insert(node)) on_leaf_set_changed(before);
  }
  offer_to_table(node, measure);
}

void PastryNode::offer_to_table(const NodeHandle& node, bool measure) {
  auto slot = table_.slot_of(node.id);
  if (!slot) return;
  bool pns = config_.proximity_neighbour_selection;
  auto rtt = transport_.rtt(node);
  const RoutingEntry* holder = table_.at(slot->first, slot->second);
  if (holder && holder->node.id != node.id) {
    // An occupied slot changes hands only to a node measured to be nearer.
    if (pns && rtt) {
      table_.consider(node, *rtt, true);
      return;
    }
    if (!pns || !measure) return;
  } else {
    table_.consider(node, rtt.value_or(Duration::max()), pns);  // a hole, or a refresh
  }
  if (!pns || rtt || !verifying_.insert(node.id).second) return;
  // Measure it: it may be nearer than the holder, and later candidates compare against it.
  std::weak_ptr<char> alive = alive_;
  transport_.ping(node, [this, alive, node](Result<Duration> r) {
    if (alive.expired()) return;
    verifying_.erase(node.id);
    if (r.ok() && state_ != JoinState::kLeft) table_.consider(node, *r, true);
  });
}

bool PastryNode::would_enter_leaf_set(const Id& id) const {
  if (id == self_.id || leaf_set_.contains(id)) return false;
  int half = config_.leaf_set_size / 2;
  const auto& cw = leaf_set_.clockwise();
  const auto& ccw = leaf_set_.counter_clockwise();
  if (static_cast<int>(cw.size()) < half || static_cast<int>(ccw.size()) < half) return true;
  return self_.id.clockwise_distance(id) < self_.id.clockwise_distance(cw.back().id) ||
         self_.id.counter_clockwise_distance(id) <
             self_.id.counter_clockwise_distance(ccw.back().id);
}

bool PastryNode::would_improve_table(const NodeHandle& node, bool measure) const {
  auto slot = table_.slot_of(node.id);
  if (!slot) return false;
  const RoutingEntry* e = table_.at(slot->first, slot->second);
  if (!e) return true;
  if (e->node.id == node.id || !config_.proximity_neighbour_selection) return false;
  auto rtt = transport_.rtt(node);
  if (rtt) return *rtt < e->rtt;
  return measure;  // unknown distance: worth a ping only where PNS candidates are sought
}

void PastryNode::learn_of(const NodeHandle& node, bool measure) {
  if (node.id == self_.id || verifying_.contains(node.id)) return;
  if (auto f = failed_.find(node.id); f != failed_.end()) {
    // Named by someone else after we declared it failed: stale gossip, or a node back from a
    // crash or a partition. Verify it again, but not more often than once per lease.
    if (clock_.now() - f->second.at < config_.lease) return;
    f->second.at = clock_.now();
  }
  if (auto known = leaf_set_.find(node.id); known && known->address == node.address) return;
  if (state_ == JoinState::kJoining && join_view_) {
    // Joining: probe a node only if it is among the closest we know of, probed or not.
    if (join_view_->insert(node)) {
      probe(node);
      return;
    }
  } else if (would_enter_leaf_set(node.id)) {
    probe(node);
    return;
  }
  if (!table_.contains(node.id) && would_improve_table(node, measure)) {
    // Verify the handle before it enters the table: a ping over an authenticated link.
    if (!verifying_.insert(node.id).second) return;
    std::weak_ptr<char> alive = alive_;
    transport_.ping(node, [this, alive, node](Result<Duration> r) {
      if (alive.expired()) return;
      verifying_.erase(node.id);
      if (!r.ok() || state_ == JoinState::kLeft) return;
      failed_.erase(node.id);
      table_.consider(node, *r, config_.proximity_neighbour_selection);
    });
  }
}

void PastryNode::probe(const NodeHandle& node) {
  if (node.id == self_.id || !verifying_.insert(node.id).second) return;
  if (state_ == JoinState::kJoining) join_pending_.insert(node.id);
  send_leaf_set(node, true);
  std::weak_ptr<char> alive = alive_;
  clock_.schedule(config_.route_ack_timeout * 2, [this, alive, id = node.id] {
    if (alive.expired() || !verifying_.erase(id)) return;
    join_pending_.erase(id);  // no answer: it does not hold up the join
    if (join_view_) join_view_->remove(id);
    check_join_complete();
  });
}

void PastryNode::send_leaf_set(const NodeHandle& to, bool want_reply) {
  pb::PastryMessage m;
  auto* body = want_reply ? m.mutable_probe() : m.mutable_probe_reply();
  for (const auto& n : leaf_set_.members()) to_proto(n, body->add_leaf_set());
  body->set_ready(state_ == JoinState::kReady);
  send(to, m);
}

void PastryNode::declare_failed(const NodeHandle& node, const std::string& why) {
  if (node.id == self_.id) return;
  failed_[node.id] = Failed{clock_.now(), node.address};
  suspected_.erase(node.id);
  joining_peers_.erase(node.id);
  liveness_.erase(node.id);
  ++stats_.failures_detected;
  logger()->debug("{}: {} failed ({})", self_.id.short_hex(), node.to_string(), why);

  auto before = leaf_set_.members();
  bool was_cw = std::any_of(leaf_set_.clockwise().begin(), leaf_set_.clockwise().end(),
                            [&](const NodeHandle& m) { return m.id == node.id; });
  bool was_ccw =
      std::any_of(leaf_set_.counter_clockwise().begin(), leaf_set_.counter_clockwise().end(),
                  [&](const NodeHandle& m) { return m.id == node.id; });
  if (leaf_set_.remove(node.id)) {
    on_leaf_set_changed(before);
    // Repair: the farthest member on the side that lost a node knows who comes next.
    if (was_cw && !leaf_set_.clockwise().empty()) send_leaf_set(leaf_set_.clockwise().back(), true);
    if (was_ccw && !leaf_set_.counter_clockwise().empty()) {
      send_leaf_set(leaf_set_.counter_clockwise().back(), true);
    }
  }
  auto slot = table_.slot_of(node.id);
  if (table_.remove(node.id) && slot) {
    // Lazy repair: ask another node of the same row for its entry in that slot.
    auto row = table_.row(slot->first);
    if (!row.empty()) {
      pb::PastryMessage m;
      m.mutable_row_request()->set_index(static_cast<std::uint32_t>(slot->first));
      send(row[rng_.uniform(row.size())], m);
    }
  }
  // Probed later for partition healing, as FreePastry probes once-dead nodes.
  if (std::find(partition_targets_.begin(), partition_targets_.end(), node.address) ==
      partition_targets_.end()) {
    if (partition_targets_.size() >= kMaxPartitionTargets) {
      partition_targets_.erase(partition_targets_.begin());
    }
    partition_targets_.push_back(node.address);
  }
  std::vector<std::uint64_t> lost;
  for (const auto& [hop_id, f] : in_flight_) {
    if (f->next.id == node.id) lost.push_back(hop_id);
  }
  for (auto hop_id : lost) reroute(hop_id, "next hop failed");
}

void PastryNode::on_leaf_set_changed(const std::vector<NodeHandle>& before) {
  auto after = leaf_set_.members();
  auto has = [](const std::vector<NodeHandle>& v, const Id& id) {
    return std::any_of(v.begin(), v.end(), [&](const NodeHandle& n) { return n.id == id; });
  };
  for (const auto& n : after) {
    if (has(before, n.id)) continue;
    auto& lv = liveness_[n.id];
    if (!lv) lv = std::make_unique<Liveness>();
    lv->last_heard = clock_.now();
    // A new member must know of us too. A joining node waits for its answer before it is
    // ready (consistent join); a ready node just tells it.
    if (knows_us_ == n.id) {
      // Nothing to tell.
    } else if (state_ == JoinState::kJoining) {
      probe(n);
    } else if (state_ == JoinState::kReady) {
      send_leaf_set(n, false);
    }
    for (auto& [app, a] : apps_) a->update(n, true);
    if (leaf_set_observer_) leaf_set_observer_(n, true);
  }
  for (const auto& n : before) {
    if (has(after, n.id)) continue;
    if (auto it = liveness_.find(n.id); it != liveness_.end() && !it->second->probing) {
      liveness_.erase(it);
    }
    for (auto& [app, a] : apps_) a->update(n, false);
    if (leaf_set_observer_) leaf_set_observer_(n, false);
  }
}

void PastryNode::check_join_complete() {
  if (state_ == JoinState::kJoining && join_reply_received_ && join_pending_.empty()) {
    become_ready();
  }
}

void PastryNode::become_ready() {
  bool was_joining = state_ == JoinState::kJoining;
  state_ = JoinState::kReady;
  join_view_.reset();
  clock_.cancel(join_timer_);
  join_timer_ = net::kNoTimer;
  // Tell the leaf set we take deliveries now, and the routing table that we exist.
  for (const auto& n : leaf_set_.members()) send_leaf_set(n, false);
  // The routing table's nodes only need to hear of us (they may take us for their own
  // tables), not our leaf set: the gossip would have each of them probe far-away nodes.
  pb::PastryMessage hello;
  hello.mutable_probe_reply()->set_ready(true);
  hello.mutable_probe_reply()->set_announce(true);
  for (const auto& n : table_.all()) {
    if (!leaf_set_.contains(n.id)) send(n, hello);
  }
  heartbeat_timer_ =
      clock_.schedule(jitter(rng_, config_.heartbeat_interval), [this] { heartbeat(); });
  // Passes over the routing table soon after joining, at doubling intervals, then the
  // regular interval: each pass measures rows of nearby nodes, which is how proximity
  // neighbour selection converges on near entries without measuring everyone.
  maintenance_round_ = 0;
  maintenance_timer_ = clock_.schedule(jitter(rng_, config_.heartbeat_interval),
                                       [this] { maintain_routing_table(); });
  partition_timer_ = clock_.schedule(jitter(rng_, config_.partition_probe_interval),
                                     [this] { probe_for_partitions(); });
  if (was_joining) {
    logger()->debug("{}: joined; leaf set {}, routing table {}", self_.id.short_hex(),
                    leaf_set_.size(), table_.size());
    auto held = std::move(held_);
    held_.clear();
    for (auto& msg : held) handle_routed(std::move(msg), nullptr);
    auto cb = std::move(join_done_);
    if (cb) cb(ok_status());
  }
}

// ---------------------------------------------------------------------------------------
// Timers: liveness, maintenance, partitions
// ---------------------------------------------------------------------------------------

void PastryNode::heartbeat() {
  heartbeat_timer_ =
      clock_.schedule(jitter(rng_, config_.heartbeat_interval), [this] { heartbeat(); });
  for (const auto& n : leaf_set_.members()) send_leaf_set(n, false);
  for (const auto& n : leaf_set_.members()) check_liveness(n);
  net::Time now = clock_.now();
  std::erase_if(failed_,
                [&](const auto& kv) { return now - kv.second.at > config_.failed_retention; });
}

void PastryNode::check_liveness(const NodeHandle& node) {
  auto it = liveness_.find(node.id);
  if (it == liveness_.end()) return;
  if (!it->second->probing && clock_.now() - it->second->last_heard > config_.lease) {
    send_liveness_probe(node);
  }
}

void PastryNode::send_liveness_probe(const NodeHandle& node) {
  auto& lv = liveness_[node.id];
  if (!lv) {
    lv = std::make_unique<Liveness>();
    lv->last_heard = clock_.now();
  }
  if (lv->probing) return;
  lv->probing = true;
  std::weak_ptr<char> alive = alive_;
  transport_.ping(node, [this, alive, node](Result<Duration> r) {
    if (alive.expired() || state_ == JoinState::kLeft) return;
    auto it = liveness_.find(node.id);
    if (it == liveness_.end()) return;  // declared failed or dropped meanwhile
    Liveness& l = *it->second;
    l.probing = false;
    if (r.ok()) {
      l.failures = 0;
      l.last_heard = clock_.now();
      suspected_.erase(node.id);
      if (!leaf_set_.contains(node.id)) liveness_.erase(it);
      return;
    }
    if (++l.failures >= config_.probe_attempts) {
      declare_failed(node, "no answer to " + std::to_string(l.failures) + " probes");
      return;
    }
    l.probing = true;  // waiting for the next probe
    Duration wait = config_.probe_backoff * (1 << (l.failures - 1));
    clock_.schedule(wait, [this, alive, node] {
      if (alive.expired()) return;
      auto lit = liveness_.find(node.id);
      if (lit == liveness_.end()) return;
      lit->second->probing = false;
      send_liveness_probe(node);
    });
  });
}

void PastryNode::maintain_routing_table() {
  ++maintenance_round_;
  Duration next = config_.heartbeat_interval * (1 << std::min(maintenance_round_, 16));
  if (next > config_.routing_maintenance_interval) next = config_.routing_maintenance_interval;
  maintenance_timer_ = clock_.schedule(jitter(rng_, next), [this] { maintain_routing_table(); });
  // Entries outside the leaf set have no heartbeat: probe them, so dead ones are dropped.
  for (const auto& n : table_.all()) {
    if (!leaf_set_.contains(n.id)) send_liveness_probe(n);
  }
  // Holes next: each row's entries may know a node for a missing slot, and nearer nodes for
  // filled ones. Ask the nearest entry of the row (its row holds nodes near it, so near us)
  // and one at random (so that the search does not get stuck).
  for (int r = 0; r < table_.rows(); ++r) {
    auto row = table_.row(r);
    if (row.empty()) continue;
    const NodeHandle* nearest = &row[0];
    Duration best = Duration::max();
    for (int c = 0; c < table_.columns(); ++c) {
      const RoutingEntry* e = table_.at(r, c);
      if (e && e->rtt < best) {
        best = e->rtt;
        nearest = &e->node;
      }
    }
    pb::PastryMessage m;
    m.mutable_row_request()->set_index(static_cast<std::uint32_t>(r));
    send(*nearest, m);
    const NodeHandle& random = row[rng_.uniform(row.size())];
    if (random.id != nearest->id) send(random, m);
  }
  // ...and lookups of keys in holes nobody in the row could fill, shallow rows first (they
  // are the likeliest to be fillable). If any node has a hole's prefix, it is the root of
  // such a key or in the root's leaf set, which the answer carries.
  auto holes = table_.holes();
  std::stable_sort(holes.begin(), holes.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (holes.size() > kHoleLookupsPerRound) holes.resize(kHoleLookupsPerRound);
  for (auto [row, column] : holes) {
    Id key = rng_.random_id();
    for (int d = 0; d < row; ++d) {
      key = key.with_digit(d, config_.digit_bits, self_.id.digit(d, config_.digit_bits));
    }
    key = key.with_digit(row, config_.digit_bits, column);
    start_lookup(key, /*want_leaf_set=*/true, [](Result<LookupResult>) {});
  }
}

void PastryNode::probe_for_partitions() {
  partition_timer_ = clock_.schedule(jitter(rng_, config_.partition_probe_interval),
                                     [this] { probe_for_partitions(); });
  std::size_t choices = bootstrap_.size() + partition_targets_.size();
  if (choices == 0) return;
  std::size_t pick = rng_.uniform(choices);
  net::Address target =
      pick < bootstrap_.size() ? bootstrap_[pick] : partition_targets_[pick - bootstrap_.size()];
  std::weak_ptr<char> alive = alive_;
  transport_.connect(target, [this, alive](Result<NodeHandle> r) {
    if (alive.expired() || !r.ok() || state_ != JoinState::kReady) return;
    const NodeHandle& node = *r;
    if (node.id == self_.id) return;
    heard_from(node);
    // Look up our own id through that node: in another ring the answer is our neighbourhood
    // there (the root and its leaf set), which the lookup reply hands to heard_from/learn_of.
    start_lookup(
        self_.id, /*want_leaf_set=*/true, [](Result<LookupResult>) {}, node);
  });
}

// ---------------------------------------------------------------------------------------

void PastryNode::send(const NodeHandle& to, const pb::PastryMessage& m) {
  if (to.id == self_.id) return;
  auto status = transport_.send(to, net::Channel::kPastry, wire::encode_message(m));
  if (!status.ok()) {
    logger()->debug("{}: send to {} failed: {}", self_.id.short_hex(), to.to_string(),
                    status.error().message);
  }
}

void PastryNode::refuse(const NodeHandle& from, const std::string& why) {
  ++stats_.messages_refused;
  logger()->warn("{}: refused message from {}: {}", self_.id.short_hex(), from.to_string(), why);
}

}  // namespace post::pastry
