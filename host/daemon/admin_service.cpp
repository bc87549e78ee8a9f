#include "host/daemon/admin_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

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

}  // namespace

AdminService::AdminService(pastry::PastryNode& node, past::PastNode& past,
                           past::BlockStore& store, net::AsioTransport& transport,
                           net::Clock& clock, AdminServiceInfo info)
    : node_(node),
      past_(past),
      store_(store),
      transport_(transport),
      clock_(clock),
      info_(std::move(info)) {}

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
                      " bytes; one block holds at most " +
                      std::to_string(past::kMaxPayloadBytes)));
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

}  // namespace post::daemon
