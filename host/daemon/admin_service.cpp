#include "host/daemon/admin_service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <utility>

#include "host/core/errors.h"

namespace post::daemon {

namespace admin = proto::admin;

namespace {

void fill_node(admin::Node* out, const net::NodeHandle& node) {
  out->set_id(node.id.bytes().data(), node.id.bytes().size());
  out->set_address(node.address.to_string());
}

std::uint64_t nanos(net::Duration d) {
  return d < net::Duration::zero() ? 0 : static_cast<std::uint64_t>(d.count());
}

admin::JoinState to_proto(pastry::JoinState s) {
  switch (s) {
    case pastry::JoinState::kIdle: return admin::JOIN_STATE_IDLE;
    case pastry::JoinState::kJoining: return admin::JOIN_STATE_JOINING;
    case pastry::JoinState::kReady: return admin::JOIN_STATE_READY;
    case pastry::JoinState::kLeft: return admin::JOIN_STATE_LEFT;
  }
  return admin::JOIN_STATE_UNSPECIFIED;
}

std::uint64_t unix_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void set_bytes(std::string* out, const Id& id) {
  out->assign(reinterpret_cast<const char*>(id.bytes().data()), id.bytes().size());
}

// "group NAME (1a2b3c4d...)" or "group 1a2b3c4d..." for errors.
std::string group_text(const admin::GroupRef& ref, const Id& id) {
  if (ref.group_case() == admin::GroupRef::kName) {
    return "group '" + ref.name() + "' (" + id.short_hex() + ")";
  }
  return "group " + id.to_hex();
}

}  // namespace

// The endpoint's membership of one group: what the group delivered, for `received`.
class AdminService::Inbox final : public scribe::ScribeClient {
 public:
  std::string name;  // empty when subscribed by id
  bool accepts_anycast = false;
  std::deque<admin::ReceivedMessage> messages;
  std::uint64_t last_index = 0;
  std::uint64_t discarded = 0;

  void deliver(const Id& /*group*/, ByteView payload) override { keep(payload, false); }
  bool accept_anycast(const Id& /*group*/, ByteView payload) override {
    if (!accepts_anycast) return false;
    keep(payload, true);
    return true;
  }

 private:
  void keep(ByteView payload, bool anycast) {
    admin::ReceivedMessage m;
    m.set_index(++last_index);
    m.set_payload(payload.data(), payload.size());
    m.set_received_unix_ms(unix_millis());
    m.set_anycast(anycast);
    messages.push_back(std::move(m));
    if (messages.size() > kInboxMessages) {
      messages.pop_front();
      ++discarded;
    }
  }
};

AdminService::AdminService(pastry::PastryNode& node, past::PastNode& past, past::BlockStore& store,
                           scribe::ScribeNode& scribe, net::AsioTransport& transport,
                           net::Clock& clock, AdminServiceInfo info)
    : node_(node),
      past_(past),
      store_(store),
      scribe_(scribe),
      transport_(transport),
      clock_(clock),
      info_(std::move(info)) {}

AdminService::~AdminService() {
  // The Scribe node points at the inboxes: leave the groups before they go.
  for (const auto& [group, inbox] : inboxes_) scribe_.unsubscribe(group);
}

void AdminService::handle(const admin::AdminRequest& request,
                          std::function<void(admin::AdminResponse)> reply) {
  switch (request.kind_case()) {
    case admin::AdminRequest::kStatus: reply(status()); return;
    case admin::AdminRequest::kLeafSet: reply(leaf_set()); return;
    case admin::AdminRequest::kRoutes: reply(routes()); return;
    case admin::AdminRequest::kPeers: reply(peers()); return;
    case admin::AdminRequest::kLookup: lookup(request.lookup(), std::move(reply)); return;
    case admin::AdminRequest::kPut: put(request.put(), std::move(reply)); return;
    case admin::AdminRequest::kGet: get(request.get(), std::move(reply)); return;
    case admin::AdminRequest::kSubscribe: subscribe(request.subscribe(), std::move(reply)); return;
    case admin::AdminRequest::kUnsubscribe: reply(unsubscribe(request.unsubscribe())); return;
    case admin::AdminRequest::kPublish: reply(publish(request.publish())); return;
    case admin::AdminRequest::kReceived: reply(received(request.received())); return;
    case admin::AdminRequest::kAnycast: anycast(request.anycast(), std::move(reply)); return;
    case admin::AdminRequest::kGroups: reply(groups()); return;
    case admin::AdminRequest::kUsers: reply(users()); return;
    case admin::AdminRequest::kNotify: notify(request.notify(), std::move(reply)); return;
    case admin::AdminRequest::kNotifications: reply(notifications(request.notifications())); return;
    case admin::AdminRequest::kBlockSender: reply(block_sender(request.block_sender())); return;
    case admin::AdminRequest::kPlugins: reply(plugins()); return;
    case admin::AdminRequest::kPluginAction: reply(plugin_action(request.plugin_action())); return;
    case admin::AdminRequest::kPluginCommand:
      plugin_command(request.plugin_command(), std::move(reply));
      return;
    case admin::AdminRequest::KIND_NOT_SET: break;
  }
  reply(admin_error("unknown admin request: this postd does not know the command"));
}

admin::AdminResponse AdminService::status() const {
  admin::AdminResponse response;
  auto* s = response.mutable_status();
  fill_node(s->mutable_self(), node_.local());
  s->set_ring(info_.ring);
  s->set_state(to_proto(node_.state()));
  s->set_uptime_ms(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::max(clock_.now() - info_.started, net::Duration::zero()))
                                     .count()));
  s->set_version(info_.version);

  const auto& leaves = node_.leaf_set();
  s->set_leaf_set_size(static_cast<std::uint32_t>(leaves.size()));
  s->set_leaf_set_capacity(static_cast<std::uint32_t>(leaves.capacity()));
  s->set_leaf_set_complete(leaves.complete());

  const auto& table = node_.routing_table();
  s->set_routing_entries(static_cast<std::uint32_t>(table.size()));
  s->set_routing_rows(static_cast<std::uint32_t>(table.rows()));
  s->set_routing_max_rows(static_cast<std::uint32_t>(table.max_rows()));
  s->set_digit_bits(static_cast<std::uint32_t>(table.digit_bits()));

  s->set_links(static_cast<std::uint32_t>(transport_.links().size()));
  s->set_failed_nodes(static_cast<std::uint32_t>(node_.failed_count()));

  const auto& ps = node_.stats();
  auto* p = s->mutable_pastry();
  p->set_routed_originated(ps.routed_originated);
  p->set_forwarded(ps.forwarded);
  p->set_delivered(ps.delivered);
  p->set_rerouted(ps.rerouted);
  p->set_dropped(ps.dropped);
  p->set_failures_detected(ps.failures_detected);
  p->set_joins_answered(ps.joins_answered);
  p->set_messages_refused(ps.messages_refused);

  const auto& ts = transport_.stats();
  auto* t = s->mutable_transport();
  t->set_links_accepted(ts.links_accepted);
  t->set_links_dialled(ts.links_dialled);
  t->set_handshakes_failed(ts.handshakes_failed);
  t->set_frames_refused(ts.frames_refused);
  t->set_links_refused_full(ts.links_refused_full);
  t->set_messages_delivered(ts.messages_delivered);
  t->set_messages_dropped_no_handler(ts.messages_dropped_no_handler);

  const auto& st = past_.stats();
  auto* b = s->mutable_past();
  b->set_blocks(store_.count());
  b->set_bytes_used(store_.bytes_used());
  b->set_quota_bytes(past_.config().quota_bytes);
  b->set_cache_bytes(past_.cache_bytes());
  b->set_replicas(static_cast<std::uint32_t>(past_.config().replicas));
  b->set_inserts(st.inserts);
  b->set_insert_failures(st.insert_failures);
  b->set_lookups(st.lookups);
  b->set_lookup_failures(st.lookup_failures);
  b->set_replicas_stored(st.replicas_stored);
  b->set_stores_refused(st.stores_refused);
  b->set_served_from_cache(st.served_from_cache);
  b->set_bad_copies(st.bad_copies);
  b->set_stale_repaired(st.stale_repaired);
  b->set_maintenance_messages(st.maintenance_messages);
  b->set_maintenance_bytes(st.maintenance_bytes);
  b->set_maintenance_fetched(st.maintenance_fetched);
  b->set_handed_off(st.handed_off);
  b->set_dropped(st.dropped);
  b->set_messages_refused(st.messages_refused);

  const auto& ss = scribe_.stats();
  auto* c = s->mutable_scribe();
  auto groups = scribe_.groups();
  c->set_groups(static_cast<std::uint32_t>(groups.size()));
  c->set_memberships(static_cast<std::uint32_t>(
      std::count_if(groups.begin(), groups.end(), [](const auto& g) { return g.member; })));
  c->set_delivered(ss.delivered);
  c->set_duplicates(ss.duplicates);
  c->set_forwarded(ss.forwarded);
  c->set_resubscribed(ss.resubscribed);
  c->set_anycast_steps(ss.anycast_steps);
  c->set_redirected(ss.redirected);
  c->set_messages_refused(ss.messages_refused);

  if (users_) {
    const auto& ns = users_->notifications().stats();
    auto* n = s->mutable_notifications();
    n->set_users(static_cast<std::uint32_t>(users_->users().size()));
    n->set_held_now(users_->notifications().held_count());
    n->set_sent_direct(ns.sent_direct);
    n->set_sent_delegated(ns.sent_delegated);
    n->set_send_failures(ns.send_failures);
    n->set_held(ns.held);
    n->set_delivered_by_delegate(ns.delivered_by_delegate);
    n->set_expired(ns.expired);
    n->set_received(ns.received);
    n->set_duplicates(ns.duplicates);
    n->set_refused(ns.refused);
    n->set_messages_refused(ns.messages_refused);
    n->set_presence_announcements(users_->presence().announcements());
  }
  return response;
}

admin::AdminResponse AdminService::leaf_set() const {
  admin::AdminResponse response;
  auto* l = response.mutable_leaf_set();
  const auto& leaves = node_.leaf_set();
  fill_node(l->mutable_self(), node_.local());
  l->set_capacity(static_cast<std::uint32_t>(leaves.capacity()));
  l->set_complete(leaves.complete());
  l->set_size(static_cast<std::uint32_t>(leaves.size()));
  auto add = [&](const net::NodeHandle& node, admin::Side side, std::size_t position) {
    auto* m = l->add_members();
    fill_node(m->mutable_node(), node);
    m->set_side(side);
    m->set_position(static_cast<std::uint32_t>(position));
    if (auto rtt = transport_.rtt(node)) m->set_rtt_ns(nanos(*rtt));
  };
  // Ring order: counter-clockwise from the farthest in, then clockwise outwards.
  const auto& ccw = leaves.counter_clockwise();
  for (std::size_t i = ccw.size(); i > 0; --i) {
    add(ccw[i - 1], admin::SIDE_COUNTER_CLOCKWISE, i);
  }
  const auto& cw = leaves.clockwise();
  for (std::size_t i = 0; i < cw.size(); ++i) add(cw[i], admin::SIDE_CLOCKWISE, i + 1);
  return response;
}

admin::AdminResponse AdminService::routes() const {
  admin::AdminResponse response;
  auto* r = response.mutable_routes();
  const auto& table = node_.routing_table();
  fill_node(r->mutable_self(), node_.local());
  r->set_digit_bits(static_cast<std::uint32_t>(table.digit_bits()));
  r->set_rows(static_cast<std::uint32_t>(table.rows()));
  r->set_max_rows(static_cast<std::uint32_t>(table.max_rows()));
  for (int row = 0; row < table.rows(); ++row) {
    for (int column = 0; column < table.columns(); ++column) {
      const pastry::RoutingEntry* entry = table.at(row, column);
      if (!entry) continue;
      auto* e = r->add_entries();
      e->set_row(static_cast<std::uint32_t>(row));
      e->set_column(static_cast<std::uint32_t>(column));
      fill_node(e->mutable_node(), entry->node);
      // The latest measurement, else the one the entry was chosen by.
      if (auto rtt = transport_.rtt(entry->node)) {
        e->set_rtt_ns(nanos(*rtt));
      } else if (entry->rtt != net::Duration::max()) {
        e->set_rtt_ns(nanos(entry->rtt));
      }
    }
  }
  return response;
}

admin::AdminResponse AdminService::peers() const {
  admin::AdminResponse response;
  auto* p = response.mutable_peers();
  fill_node(p->mutable_self(), node_.local());
  for (const auto& link : transport_.links()) {
    auto* l = p->add_links();
    fill_node(l->mutable_peer(), link.peer);
    l->set_outgoing(link.outgoing);
    if (link.rtt) l->set_rtt_ns(nanos(*link.rtt));
    l->set_queued_bytes(link.queued_bytes);
    l->set_frames_in(link.frames_in);
    l->set_frames_out(link.frames_out);
  }
  return response;
}

void AdminService::lookup(const admin::LookupRequest& request,
                          std::function<void(admin::AdminResponse)> reply) {
  auto key = parse_lookup_key(request);
  if (!key.ok()) {
    reply(admin_error(key.error().message));
    return;
  }
  Id id = *key;
  node_.lookup(id, [reply = std::move(reply), id](Result<pastry::LookupResult> result) {
    if (!result.ok()) {
      reply(admin_error("lookup of " + id.to_hex() + " failed: " + result.error().message));
      return;
    }
    admin::AdminResponse response;
    auto* l = response.mutable_lookup();
    l->set_key(id.bytes().data(), id.bytes().size());
    fill_node(l->mutable_root(), result->root);
    l->set_hops(static_cast<std::uint32_t>(std::max(result->hops, 0)));
    for (const auto& hop : result->path) fill_node(l->add_path(), hop);
    l->set_latency_ns(nanos(result->latency));
    reply(std::move(response));
  });
}

void AdminService::put(const admin::PutRequest& request,
                       std::function<void(admin::AdminResponse)> reply) {
  if (request.content().size() > past::kMaxPayloadBytes) {
    reply(admin_error("the content is " + std::to_string(request.content().size()) +
                      " bytes; one block holds at most " + std::to_string(past::kMaxPayloadBytes)));
    return;
  }
  past::Block block = past::make_content_block(to_bytes(request.content()));
  Id handle = past::handle_of(block);
  past_.insert(block, [reply = std::move(reply), handle](Result<past::InsertResult> result) {
    if (!result.ok()) {
      reply(admin_error("put of " + handle.to_hex() + " failed: " + result.error().to_string()));
      return;
    }
    admin::AdminResponse response;
    auto* p = response.mutable_put();
    p->set_handle(handle.bytes().data(), handle.bytes().size());
    for (const auto& n : result->stored_on) fill_node(p->add_stored_on(), n);
    for (const auto& n : result->failed) fill_node(p->add_failed(), n);
    reply(std::move(response));
  });
}

void AdminService::get(const admin::GetRequest& request,
                       std::function<void(admin::AdminResponse)> reply) {
  auto handle = parse_get_handle(request);
  if (!handle.ok()) {
    reply(admin_error(handle.error().message));
    return;
  }
  Id id = *handle;
  net::Time started = clock_.now();
  past_.lookup(id, [this, reply = std::move(reply), id, started](Result<past::Block> result) {
    if (!result.ok()) {
      reply(admin_error("get of " + id.to_hex() + " failed: " + result.error().to_string()));
      return;
    }
    admin::AdminResponse response;
    auto* g = response.mutable_get();
    g->set_handle(id.bytes().data(), id.bytes().size());
    g->set_kind(std::string(past::kind_name(result->kind)));
    ByteView payload = result->payload();
    g->set_payload(payload.data(), payload.size());
    g->set_timestamp(result->timestamp);
    g->set_latency_ns(nanos(clock_.now() - started));
    reply(std::move(response));
  });
}

// ---------------------------------------------------------------------------------------
// Scribe groups
// ---------------------------------------------------------------------------------------

void AdminService::subscribe(const admin::SubscribeRequest& request,
                             std::function<void(admin::AdminResponse)> reply) {
  auto group = parse_group(request.group());
  if (!group.ok()) {
    reply(admin_error(group.error().message));
    return;
  }
  Id id = *group;
  auto& inbox = inboxes_[id];
  if (!inbox) inbox = std::make_unique<Inbox>();
  if (request.group().group_case() == admin::GroupRef::kName) inbox->name = request.group().name();
  inbox->accepts_anycast = request.accept_anycast();
  scribe_.subscribe(id, inbox.get(), [this, id, reply = std::move(reply)](Status status) {
    if (!status.ok()) {
      reply(admin_error("subscribe to " + id.to_hex() + " failed: " + status.error().to_string()));
      return;
    }
    admin::AdminResponse response;
    auto* s = response.mutable_subscribe();
    set_bytes(s->mutable_group(), id);
    s->set_root(scribe_.is_root(id));
    if (auto parent = scribe_.parent(id)) fill_node(s->mutable_parent(), *parent);
    reply(std::move(response));
  });
}

admin::AdminResponse AdminService::unsubscribe(const admin::UnsubscribeRequest& request) {
  auto group = parse_group(request.group());
  if (!group.ok()) return admin_error(group.error().message);
  auto it = inboxes_.find(*group);
  if (it == inboxes_.end()) {
    return admin_error("not subscribed to " + group_text(request.group(), *group) +
                       " through the admin endpoint");
  }
  scribe_.unsubscribe(*group);
  inboxes_.erase(it);
  admin::AdminResponse response;
  set_bytes(response.mutable_unsubscribe()->mutable_group(), *group);
  return response;
}

admin::AdminResponse AdminService::publish(const admin::PublishRequest& request) {
  auto group = parse_group(request.group());
  if (!group.ok()) return admin_error(group.error().message);
  if (request.payload().size() > scribe::kMaxPayloadBytes) {
    return admin_error("the message is " + std::to_string(request.payload().size()) +
                       " bytes; a publication carries at most " +
                       std::to_string(scribe::kMaxPayloadBytes));
  }
  scribe_.publish(*group, to_bytes(request.payload()));
  admin::AdminResponse response;
  set_bytes(response.mutable_publish()->mutable_group(), *group);
  return response;
}

admin::AdminResponse AdminService::received(const admin::ReceivedRequest& request) const {
  auto group = parse_group(request.group());
  if (!group.ok()) return admin_error(group.error().message);
  auto it = inboxes_.find(*group);
  if (it == inboxes_.end()) {
    return admin_error("not subscribed to " + group_text(request.group(), *group) +
                       " through the admin endpoint (subscribe first)");
  }
  const Inbox& inbox = *it->second;
  admin::AdminResponse response;
  auto* r = response.mutable_received();
  set_bytes(r->mutable_group(), *group);
  for (const auto& m : inbox.messages) {
    if (m.index() > request.after()) *r->add_messages() = m;
  }
  r->set_last_index(inbox.last_index);
  r->set_discarded(inbox.discarded);
  return response;
}

void AdminService::anycast(const admin::AnycastRequest& request,
                           std::function<void(admin::AdminResponse)> reply) {
  auto group = parse_group(request.group());
  if (!group.ok()) {
    reply(admin_error(group.error().message));
    return;
  }
  if (request.payload().size() > scribe::kMaxPayloadBytes) {
    reply(admin_error("the message is " + std::to_string(request.payload().size()) +
                      " bytes; an anycast carries at most " +
                      std::to_string(scribe::kMaxPayloadBytes)));
    return;
  }
  Id id = *group;
  std::string what = group_text(request.group(), id);
  scribe_.anycast(id, to_bytes(request.payload()),
                  [reply = std::move(reply), id, what](Result<scribe::AnycastResult> result) {
                    if (!result.ok()) {
                      reply(admin_error("anycast to " + what + ": " + result.error().message));
                      return;
                    }
                    admin::AdminResponse response;
                    auto* a = response.mutable_anycast();
                    set_bytes(a->mutable_group(), id);
                    fill_node(a->mutable_member(), result->member);
                    reply(std::move(response));
                  });
}

admin::AdminResponse AdminService::groups() const {
  admin::AdminResponse response;
  auto* r = response.mutable_groups();
  fill_node(r->mutable_self(), node_.local());
  for (const auto& g : scribe_.groups()) {
    auto* out = r->add_groups();
    set_bytes(out->mutable_group(), g.group);
    if (auto it = inboxes_.find(g.group); it != inboxes_.end()) out->set_name(it->second->name);
    out->set_member(g.member);
    out->set_root(g.root);
    if (g.parent) fill_node(out->mutable_parent(), *g.parent);
    for (const auto& c : g.children) fill_node(out->add_children(), c);
  }
  return response;
}

// ---------------------------------------------------------------------------------------
// Users and notifications
// ---------------------------------------------------------------------------------------

Result<const LocalUser*> AdminService::served_user(const std::string& email) const {
  if (!users_) {
    return make_error(CoreErrc::kConfigMissingKey, "this node serves no users yet");
  }
  if (const LocalUser* user = users_->find(email)) return user;
  std::string served;
  for (const auto& u : users_->users()) {
    served += (served.empty() ? "" : ", ") + u.certificate.email;
  }
  return make_error(
      CoreErrc::kConfigBadValue,
      "'" + email + "' is not a user this node serves (" +
          (served.empty() ? "it serves none: see users: in node.yaml" : "it serves " + served) +
          ")");
}

admin::AdminResponse AdminService::users() const {
  if (!users_) return admin_error("this node serves no users yet");
  admin::AdminResponse response;
  auto* r = response.mutable_users();
  fill_node(r->mutable_self(), node_.local());
  for (const auto& user : users_->users()) {
    auto* u = r->add_users();
    u->set_email(user.certificate.email);
    u->set_name(user.certificate.name);
    u->set_puzzle_bits(user.puzzle_bits);
    u->set_received(users_->notifications().delivered(user.certificate.email).size());
    u->set_signing_key(to_string(user.certificate.signing_key));
    u->set_published(users_->state(user.certificate.email) == ServedUsers::State::kServed);
  }
  return response;
}

void AdminService::notify(const admin::NotifyRequest& request,
                          std::function<void(admin::AdminResponse)> reply) {
  auto sender = served_user(request.from());
  if (!sender.ok()) {
    reply(admin_error(sender.error().message));
    return;
  }
  if (request.to().empty()) {
    reply(admin_error("no recipient: give the recipient's email"));
    return;
  }
  services::OutgoingNotification notification;
  notification.application = request.application();
  notification.app_data = to_bytes(request.app_data());
  if (auto bounds = services::check_notification_bounds(notification); !bounds.ok()) {
    reply(admin_error(bounds.error().message));
    return;
  }
  std::string what = "notification from " + request.from() + " to " + request.to();
  users_->notifications().send(
      (*sender)->keys, (*sender)->certificate, request.to(), std::move(notification),
      [reply = std::move(reply), what](Result<services::SendResult> result) {
        if (!result.ok()) {
          reply(admin_error(what + " failed: " + result.error().to_string()));
          return;
        }
        admin::AdminResponse response;
        auto* n = response.mutable_notify();
        set_bytes(n->mutable_id(), result->id);
        n->set_delegated(result->path == services::SendPath::kDelegated);
        for (const auto& node : result->nodes) fill_node(n->add_nodes(), node);
        reply(std::move(response));
      });
}

admin::AdminResponse AdminService::notifications(const admin::NotificationsRequest& request) const {
  auto user = served_user(request.user());
  if (!user.ok()) return admin_error(user.error().message);
  admin::AdminResponse response;
  auto* r = response.mutable_notifications();
  r->set_user(request.user());
  const auto& delivered = users_->notifications().delivered(request.user());
  for (std::size_t i = 0; i < delivered.size(); ++i) {
    std::uint64_t index = i + 1;
    if (index <= request.after()) continue;
    const auto& d = delivered[i];
    const auto& n = d.notification;
    auto* out = r->add_notifications();
    out->set_index(index);
    set_bytes(out->mutable_id(), n.id);
    out->set_sender_email(n.sender_email);
    out->set_application(n.application);
    out->set_app_data(to_string(n.app_data));
    out->set_created_unix_ms(n.created_ms);
    out->set_received_unix_ms(d.received_ms);
    if (n.content_handle) set_bytes(out->mutable_content_handle(), *n.content_handle);
  }
  r->set_last_index(delivered.size());
  return response;
}

admin::AdminResponse AdminService::block_sender(const admin::BlockSenderRequest& request) {
  auto user = served_user(request.user());
  if (!user.ok()) return admin_error(user.error().message);
  if (request.sender().empty()) return admin_error("no sender: give the sender's email");
  if (request.unblock()) {
    users_->notifications().unblock(request.user(), request.sender());
  } else {
    users_->notifications().block(request.user(), request.sender());
  }
  admin::AdminResponse response;
  auto* b = response.mutable_block_sender();
  b->set_user(request.user());
  b->set_sender(request.sender());
  b->set_blocked(!request.unblock());
  return response;
}

}  // namespace post::daemon

namespace post::daemon {

namespace {

void fill_plugin_info(const PluginStatus& s, admin::PluginInfo* out) {
  out->set_name(s.name);
  out->set_path(s.path.string());
  out->set_enabled(s.enabled);
  if (s.info) {
    out->set_state(s.info->state == plugin::PluginState::kServing ? "serving" : "failed");
    out->set_plugin_name(s.info->plugin_name);
    out->set_version(s.info->version);
    out->set_loaded_unix_ms(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(s.info->loaded_at.time_since_epoch())
            .count()));
    out->set_reloads(s.info->reloads);
  } else {
    out->set_state(s.enabled ? "not loaded" : "disabled");
  }
  out->set_error(s.error);
}

}  // namespace

admin::AdminResponse AdminService::plugins() const {
  if (!plugins_) return admin_error("this node runs no plugin host");
  admin::AdminResponse r;
  auto* out = r.mutable_plugins();
  for (const auto& s : plugins_->status()) fill_plugin_info(s, out->add_plugins());
  out->set_config_error(plugins_->config_error());
  return r;
}

admin::AdminResponse AdminService::plugin_action(const admin::PluginActionRequest& request) {
  if (!plugins_) return admin_error("this node runs no plugin host");
  Status s;
  switch (request.action()) {
    case admin::PLUGIN_ACTION_RELOAD: s = plugins_->reload(request.name()); break;
    case admin::PLUGIN_ACTION_ENABLE: s = plugins_->enable(request.name()); break;
    case admin::PLUGIN_ACTION_DISABLE: s = plugins_->disable(request.name()); break;
    default: return admin_error("unknown plugin action");
  }
  if (!s.ok()) return admin_error(s.error().message);
  admin::AdminResponse r;
  for (const auto& status : plugins_->status()) {
    if (status.name == request.name())
      fill_plugin_info(status, r.mutable_plugin_action()->mutable_plugin());
  }
  return r;
}

void AdminService::plugin_command(const admin::PluginCommandRequest& request,
                                  std::function<void(admin::AdminResponse)> reply) {
  if (!plugins_) return reply(admin_error("this node runs no plugin host"));
  std::vector<std::string> args(request.args().begin(), request.args().end());
  plugins_->manager().admin_command(
      request.name(), std::move(args),
      [reply = std::move(reply), name = request.name()](Result<plugin::AdminAnswer> answer) {
        if (!answer.ok()) return reply(admin_error(answer.error().message));
        admin::AdminResponse r;
        auto* out = r.mutable_plugin_command();
        out->set_name(name);
        out->set_status(answer->status);
        out->set_text(std::move(answer->text));
        reply(std::move(r));
      });
}

}  // namespace post::daemon
