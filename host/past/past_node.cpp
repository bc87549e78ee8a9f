#include "host/past/past_node.h"

#include <algorithm>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/past/bloom_filter.h"
#include "host/past/errors.h"
#include "host/past/proto/past.pb.h"
#include "host/pastry/handle_codec.h"

namespace post::past {

namespace pb = proto::past;
using pastry::from_proto;
using pastry::id_from_wire;
using pastry::set_id;
using pastry::to_proto;
using net::jitter;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("past");
  return l;
}



void set_bytes(std::string* out, const Bytes& b) { out->assign(b.begin(), b.end()); }

// The PastErrc carried by a reply, or kStorageFailure for a value this node does not know
// (from a newer version).
Error error_from(std::uint32_t code, const std::string& message) {
  constexpr auto kLast = static_cast<std::uint32_t>(kLastPastErrc);
  auto e = code >= 1 && code <= kLast ? static_cast<PastErrc>(code) : PastErrc::kStorageFailure;
  return make_error(e, message);
}

// Errors that are the block's fault: every replica would refuse it the same way.
bool block_is_refused(const std::error_code& code) {
  if (code.category() != past_category()) return false;
  switch (static_cast<PastErrc>(code.value())) {
    case PastErrc::kMalformedBlock:
    case PastErrc::kWrongHandle:
    case PastErrc::kBadSignature:
    case PastErrc::kStaleTimestamp:
    case PastErrc::kTooLarge:
    case PastErrc::kUnknownKind:
    case PastErrc::kImmutable:
    case PastErrc::kKindConflict:
    case PastErrc::kQuotaExceeded: return true;
    default: return false;
  }
}

std::string names(const std::vector<NodeHandle>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ", ") + n.to_string();
  return out.empty() ? "none" : out;
}

}  // namespace

struct PastNode::PendingInsert {
  Id handle;
  std::function<void(Result<InsertResult>)> done;
  net::TimerId timer = net::kNoTimer;
};

struct PastNode::PendingLookup {
  Id handle;
  std::function<void(Result<Block>)> done;
  net::TimerId timer = net::kNoTimer;
  bool asked_root = false;             // a root_only lookup went out
  bool mutable_kind = false;           // a public-key block was seen: ask every replica
  std::vector<NodeHandle> replicas;    // the root's k closest
  std::unordered_set<Id> asked;        // replicas a fetch went to
  int outstanding = 0;                 // fetches not answered yet
  int unanswered = 0;                  // fetches that timed out or whose link broke
  std::optional<Block> best;           // newest valid public-key block so far
  std::vector<std::pair<NodeHandle, std::uint64_t>> seen;  // replica, timestamp (0: none)
};

struct PastNode::Coordination {
  NodeHandle inserter;
  std::uint64_t request_id = 0;
  Id handle;
  Block block;
  std::vector<NodeHandle> candidates;  // closest first
  std::size_t next = 0;
  int outstanding = 0;
  std::vector<NodeHandle> stored_on;
  std::vector<NodeHandle> failed;
  bool finished = false;
};

PastNode::PastNode(pastry::PastryNode& pastry, net::Transport& transport, net::Clock& clock,
                   BlockStore& store, PastConfig config, Bytes ca_public_key, std::uint64_t seed)
    : pastry_(pastry),
      transport_(transport),
      clock_(clock),
      store_(store),
      config_(std::move(config)),
      ca_public_key_(std::move(ca_public_key)),
      rng_(seed),
      next_id_(rng_.next() | 1),
      requests_(clock, rng_.next() | 1) {
  pastry_.register_application(pastry::AppId::kPast, this);
  transport_.set_handler(net::Channel::kPast, this);
  schedule_maintenance(jitter(rng_, config_.maintenance_interval));
}

PastNode::~PastNode() {
  pastry_.register_application(pastry::AppId::kPast, nullptr);
  transport_.set_handler(net::Channel::kPast, nullptr);
  clock_.cancel(maintenance_timer_);
  for (auto& [id, p] : inserts_) clock_.cancel(p->timer);
  for (auto& [id, p] : lookups_) clock_.cancel(p->timer);
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

void PastNode::send(const NodeHandle& to, const pb::PastMessage& m, bool maintenance) {
  Bytes bytes = wire::encode_message(m);
  if (maintenance) {
    ++stats_.maintenance_messages;
    stats_.maintenance_bytes += bytes.size();
  }
  auto status = transport_.send(to, net::Channel::kPast, std::move(bytes));
  if (!status.ok()) {
    logger()->debug("{}: send to {} failed: {}", pastry_.local().id.short_hex(), to.to_string(),
                    status.error().to_string());
  }
}

void PastNode::refuse(const NodeHandle& from, const std::string& why) {
  ++stats_.messages_refused;
  logger()->info("{}: refused a message from {}: {}", pastry_.local().id.short_hex(),
                 from.to_string(), why);
}

void PastNode::on_message(const NodeHandle& from, ByteView payload) {
  auto m = wire::decode_message<pb::PastMessage>(payload, "PAST message");
  if (!m.ok()) {
    refuse(from, m.error().message);
    return;
  }
  switch (m->body_case()) {
    case pb::PastMessage::kStore: handle_store(from, *m); break;
    case pb::PastMessage::kInsertReply: handle_insert_reply(from, *m); break;
    case pb::PastMessage::kLookupReply: handle_lookup_reply(from, *m); break;
    case pb::PastMessage::kFetch: handle_fetch(from, *m); break;
    case pb::PastMessage::kSummary: handle_summary(from, *m); break;
    case pb::PastMessage::kHave: handle_have(from, *m); break;
    case pb::PastMessage::kCache: handle_cache_offer(from, *m); break;
    case pb::PastMessage::kStoreReply:
      answered(from, m->store_reply().request_id(), *m);
      break;
    case pb::PastMessage::kFetchReply:
      answered(from, m->fetch_reply().request_id(), *m);
      break;
    case pb::PastMessage::kSummaryReply:
      answered(from, m->summary_reply().request_id(), *m);
      break;
    case pb::PastMessage::kHaveReply:
      answered(from, m->have_reply().request_id(), *m);
      break;
    default: refuse(from, "a PAST message of a kind that is not sent directly"); break;
  }
}

void PastNode::on_link_down(const NodeHandle& peer) {
  requests_.fail_to(peer);
}

std::uint64_t PastNode::expect(const NodeHandle& to,
                               std::function<void(const pb::PastMessage*)> on_answer) {
  return requests_.expect(to, config_.request_timeout, std::move(on_answer));
}

void PastNode::answered(const NodeHandle& from, std::uint64_t request_id,
                        const pb::PastMessage& m) {
  if (requests_.answer(from, request_id, m) == Requests::Outcome::kWrongSender) {
    refuse(from, "an answer to a request that went to another node");
  }
}

Result<Block> PastNode::accept(const Id& handle, ByteView encoded) {
  auto block = decode_block(encoded);
  if (!block.ok()) {
    ++stats_.bad_copies;
    return block.error();
  }
  auto status = validate_block(handle, *block, ca_public_key_);
  if (!status.ok()) {
    ++stats_.bad_copies;
    return status.error();
  }
  return block;
}

// ---------------------------------------------------------------------------------------
// Storing
// ---------------------------------------------------------------------------------------

Result<std::optional<Block>> PastNode::load(const Id& handle) {
  auto bytes = store_.get(BlockKey{handle});
  if (!bytes.ok()) return bytes.error();
  if (!*bytes) return std::optional<Block>();
  auto block = decode_block(**bytes);
  if (!block.ok()) {
    // What we wrote was valid: the disk changed under us. Treat it as missing; maintenance
    // fetches a good copy.
    logger()->warn("{}: stored block {} no longer decodes ({}); ignoring it",
                   pastry_.local().id.short_hex(), handle.short_hex(), block.error().to_string());
    return std::optional<Block>();
  }
  return std::optional<Block>(std::move(*block));
}

Status PastNode::store_locally(const Id& handle, const Block& block) {
  auto existing = load(handle);
  if (!existing.ok()) return existing.error();
  std::uint64_t replaced = 0;
  if (*existing) {
    auto status = validate_replacement(**existing, block);
    if (!status.ok()) return status;
    if ((*existing)->encoded == block.encoded) return ok_status();  // already held
    replaced = (*existing)->encoded.size();
  }
  std::uint64_t after = store_.bytes_used() - replaced + block.encoded.size();
  if (after > config_.quota_bytes) {
    return make_error(PastErrc::kQuotaExceeded,
                      "node " + pastry_.local().id.short_hex() + " has " +
                          std::to_string(store_.bytes_used()) + " of its " +
                          std::to_string(config_.quota_bytes) + " bytes in use; a block of " +
                          std::to_string(block.encoded.size()) + " bytes does not fit");
  }
  auto status = store_.put(BlockKey{handle}, block.encoded);
  if (!status.ok()) {
    return make_error(PastErrc::kStorageFailure, status.error().to_string());
  }
  ++stats_.replicas_stored;
  return ok_status();
}

void PastNode::insert(const Block& block, std::function<void(Result<InsertResult>)> done) {
  ++stats_.inserts;
  Id handle = handle_of(block);
  // Refuse here what every replica would refuse.
  if (auto status = validate_block(handle, block, ca_public_key_); !status.ok()) {
    ++stats_.insert_failures;
    auto error = status.error();
    clock_.schedule(Duration::zero(), [done = std::move(done), error] { done(error); });
    return;
  }
  std::uint64_t id = next_id_++;
  auto pending = std::make_unique<PendingInsert>();
  pending->handle = handle;
  pending->done = std::move(done);
  pending->timer = clock_.schedule(config_.insert_timeout, [this, id] {
    auto it = inserts_.find(id);
    if (it == inserts_.end()) return;
    auto p = std::move(it->second);
    inserts_.erase(it);
    ++stats_.insert_failures;
    p->done(make_error(PastErrc::kTimeout, "the insert of " + p->handle.short_hex() +
                                               " was not confirmed within the insert timeout"));
  });
  inserts_[id] = std::move(pending);
  pb::PastMessage m;
  auto* r = m.mutable_insert();
  r->set_request_id(id);
  set_id(r->mutable_handle(), handle);
  set_bytes(r->mutable_block(), block.encoded);
  r->set_replicas(static_cast<std::uint32_t>(config_.replicas));
  pastry_.route(handle, pastry::AppId::kPast, wire::encode_message(m));
}

void PastNode::coordinate_insert(const NodeHandle& inserter, std::uint64_t request_id,
                                 const Id& handle, Block block) {
  std::uint64_t id = next_id_++;
  auto c = std::make_unique<Coordination>();
  c->inserter = inserter;
  c->request_id = request_id;
  c->handle = handle;
  c->block = std::move(block);
  // The k closest first, then as many spares to take the place of replicas that fail.
  c->candidates = pastry_.replica_set(handle, 2 * config_.replicas);
  coordinations_[id] = std::move(c);
  coordination_next(id);
}

void PastNode::coordination_next(std::uint64_t id) {
  const auto k = static_cast<std::size_t>(config_.replicas);
  while (true) {
    auto it = coordinations_.find(id);
    if (it == coordinations_.end()) return;
    Coordination& c = *it->second;
    if (c.stored_on.size() >= k) {
      finish_coordination(id, ok_status());
      return;
    }
    if (c.stored_on.size() + static_cast<std::size_t>(c.outstanding) >= k) return;
    if (c.next >= c.candidates.size()) {
      if (c.outstanding == 0) {
        finish_coordination(
            id, make_error(PastErrc::kReplicasUnavailable,
                           "only " + std::to_string(c.stored_on.size()) + " of " +
                               std::to_string(k) + " replicas of " + c.handle.short_hex() +
                               " could be stored (stored on: " + names(c.stored_on) +
                               "; did not answer: " + names(c.failed) + ")"));
      }
      return;
    }
    NodeHandle replica = c.candidates[c.next++];
    ++c.outstanding;
    if (replica.id == pastry_.local().id) {
      auto status = store_locally(c.handle, c.block);
      coordination_answer(id, replica, status);
      continue;
    }
    pb::PastMessage m;
    std::uint64_t rid = expect(replica, [this, id, replica](const pb::PastMessage* answer) {
      if (answer == nullptr) {
        coordination_answer(id, replica,
                            make_error(PastErrc::kTimeout, replica.to_string() + " did not answer"));
      } else if (answer->store_reply().error_code() == 0) {
        coordination_answer(id, replica, ok_status());
      } else {
        coordination_answer(id, replica, error_from(answer->store_reply().error_code(),
                                                    answer->store_reply().error()));
      }
    });
    auto* s = m.mutable_store();
    s->set_request_id(rid);
    set_id(s->mutable_handle(), c.handle);
    set_bytes(s->mutable_block(), c.block.encoded);
    send(replica, m);
  }
}

void PastNode::coordination_answer(std::uint64_t id, const NodeHandle& replica,
                                   const Status& status) {
  auto it = coordinations_.find(id);
  if (it == coordinations_.end()) return;
  Coordination& c = *it->second;
  --c.outstanding;
  if (c.finished) return;
  if (status.ok()) {
    c.stored_on.push_back(replica);
  } else if (block_is_refused(status.error().code)) {
    // Refused for what it is (or for want of room): another replica would not take it either.
    finish_coordination(id, status);
    return;
  } else {
    logger()->debug("{}: replica {} of {} failed: {}", pastry_.local().id.short_hex(),
                    replica.to_string(), c.handle.short_hex(), status.error().to_string());
    c.failed.push_back(replica);
  }
  // coordination_next is the loop's caller when the answer came synchronously.
  if (replica.id != pastry_.local().id) coordination_next(id);
}

void PastNode::finish_coordination(std::uint64_t id, const Status& status) {
  auto it = coordinations_.find(id);
  if (it == coordinations_.end() || it->second->finished) return;
  Coordination& c = *it->second;
  c.finished = true;
  pb::PastMessage m;
  auto* r = m.mutable_insert_reply();
  r->set_request_id(c.request_id);
  set_id(r->mutable_handle(), c.handle);
  if (!status.ok()) {
    r->set_error_code(static_cast<std::uint32_t>(status.error().code.value()));
    r->set_error(status.error().message);
  }
  for (const auto& n : c.stored_on) to_proto(n, r->add_stored_on());
  for (const auto& n : c.failed) to_proto(n, r->add_failed());
  NodeHandle inserter = c.inserter;
  // Answers still on their way find no coordination and are ignored.
  coordinations_.erase(it);
  if (inserter.id == pastry_.local().id) {
    handle_insert_reply(inserter, m);
  } else {
    send(inserter, m);
  }
}

void PastNode::handle_insert_reply(const NodeHandle& from, const pb::PastMessage& m) {
  const auto& r = m.insert_reply();
  auto it = inserts_.find(r.request_id());
  if (it == inserts_.end()) return;
  auto handle = id_from_wire(r.handle());
  auto stored_on = from_proto(r.stored_on());
  auto failed = from_proto(r.failed());
  if (!handle || *handle != it->second->handle || !stored_on || !failed) {
    refuse(from, "an insert reply for another handle, or with malformed handles");
    return;
  }
  auto p = std::move(it->second);
  inserts_.erase(it);
  clock_.cancel(p->timer);
  if (r.error_code() != 0) {
    ++stats_.insert_failures;
    p->done(error_from(r.error_code(), r.error()));
    return;
  }
  if (stored_on->size() < static_cast<std::size_t>(config_.replicas)) {
    ++stats_.insert_failures;
    p->done(make_error(PastErrc::kReplicasUnavailable,
                       "the root " + from.to_string() + " reported only " +
                           std::to_string(stored_on->size()) + " replicas"));
    return;
  }
  InsertResult result;
  result.handle = p->handle;
  result.stored_on = std::move(*stored_on);
  result.failed = std::move(*failed);
  p->done(std::move(result));
}

void PastNode::handle_store(const NodeHandle& from, const pb::PastMessage& m) {
  const auto& s = m.store();
  pb::PastMessage reply;
  auto* r = reply.mutable_store_reply();
  r->set_request_id(s.request_id());
  r->set_handle(s.handle());
  auto handle = id_from_wire(s.handle());
  Status status = ok_status();
  if (!handle) {
    status = make_error(PastErrc::kMalformedMessage, "a store request without a valid handle");
  } else if (auto block = accept(*handle, as_bytes(s.block())); !block.ok()) {
    status = block.error();
  } else {
    status = store_locally(*handle, *block);
  }
  if (!status.ok()) {
    ++stats_.stores_refused;
    logger()->debug("{}: refused to store a block from {}: {}", pastry_.local().id.short_hex(),
                    from.to_string(), status.error().to_string());
    r->set_error_code(static_cast<std::uint32_t>(status.error().code.value()));
    r->set_error(status.error().message);
  }
  // Unsolicited pushes (lookup repairs, hand-offs) are answered too; the sender ignores it
  // when it is not waiting.
  send(from, reply, s.maintenance());
}

// ---------------------------------------------------------------------------------------
// Looking up
// ---------------------------------------------------------------------------------------

void PastNode::lookup(const Id& handle, std::function<void(Result<Block>)> done) {
  ++stats_.lookups;
  std::uint64_t id = next_id_++;
  auto pending = std::make_unique<PendingLookup>();
  pending->handle = handle;
  pending->done = std::move(done);
  pending->timer = clock_.schedule(config_.lookup_timeout, [this, id] {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) return;
    std::string name = it->second->handle.short_hex();
    finish_lookup(id, make_error(PastErrc::kTimeout,
                                 "no answer for " + name + " within the lookup timeout"));
  });
  lookups_[id] = std::move(pending);
  // A copy held here ends an immutable lookup at once (on the executor, not inside this call).
  if (auto local = local_copy(handle); local && accept(handle, local->encoded).ok()) {
    clock_.schedule(Duration::zero(), [this, id, block = std::move(*local)]() mutable {
      finish_lookup(id, std::move(block));
    });
    return;
  }
  // A public-key block held here competes with the replicas' copies. Only a valid one: a
  // corrupted local copy of any kind must never become the answer.
  if (auto stored = load(handle); stored.ok() && *stored && is_mutable((**stored).kind) &&
                                  accept(handle, (**stored).encoded).ok()) {
    auto& p = *lookups_[id];
    p.mutable_kind = true;
    p.best = std::move(**stored);
  }
  pb::PastMessage m;
  auto* r = m.mutable_lookup();
  r->set_request_id(id);
  set_id(r->mutable_handle(), handle);
  to_proto(pastry_.local(), r->mutable_reader());
  pastry_.route(handle, pastry::AppId::kPast, wire::encode_message(m));
}

std::optional<Block> PastNode::local_copy(const Id& handle) {
  if (const Block* cached = cache_get(handle)) return *cached;
  auto stored = load(handle);
  if (stored.ok() && *stored && !is_mutable((*stored)->kind)) return std::move(**stored);
  return std::nullopt;
}

void PastNode::answer_lookup(const NodeHandle& reader, const pb::PastMessage& request,
                             const Block& block, bool from_root) {
  const auto& q = request.lookup();
  pb::PastMessage m;
  auto* r = m.mutable_lookup_reply();
  r->set_request_id(q.request_id());
  r->set_handle(q.handle());
  set_bytes(r->mutable_block(), block.encoded);
  r->set_from_root(from_root);
  if (from_root) {
    auto handle = id_from_wire(q.handle());
    for (const auto& n : pastry_.replica_set(*handle, config_.replicas)) {
      to_proto(n, r->add_replicas());
    }
  }
  if (q.path_size() > 0) *r->mutable_before() = q.path(q.path_size() - 1);
  if (reader.id == pastry_.local().id) {
    handle_lookup_reply(reader, m);
  } else {
    send(reader, m);
  }
}

void PastNode::handle_lookup_reply(const NodeHandle& from, const pb::PastMessage& m) {
  const auto& r = m.lookup_reply();
  auto it = lookups_.find(r.request_id());
  if (it == lookups_.end()) return;
  PendingLookup& p = *it->second;
  auto handle = id_from_wire(r.handle());
  auto replicas = from_proto(r.replicas());
  if (!handle || *handle != p.handle || !replicas) {
    refuse(from, "a lookup reply for another handle, or with malformed handles");
    return;
  }
  std::uint64_t id = r.request_id();
  std::optional<Block> block;
  if (!r.block().empty()) {
    auto accepted = accept(p.handle, as_bytes(r.block()));
    if (accepted.ok()) {
      block = std::move(*accepted);
    } else {
      logger()->info("{}: {} answered a lookup of {} with a bad copy: {}",
                     pastry_.local().id.short_hex(), from.to_string(), p.handle.short_hex(),
                     accepted.error().to_string());
    }
  }
  if (block && !is_mutable(block->kind)) {
    // Immutable and valid: done. Keep a copy, and offer one to the hop before the answer,
    // so the next lookup from that direction ends a hop earlier.
    cache_put(p.handle, *block);
    auto before = r.has_before() ? from_proto(r.before()) : std::nullopt;
    if (before && before->id != pastry_.local().id && before->id != from.id) {
      pb::PastMessage offer;
      set_id(offer.mutable_cache()->mutable_handle(), p.handle);
      set_bytes(offer.mutable_cache()->mutable_block(), block->encoded);
      send(*before, offer);
    }
    finish_lookup(id, std::move(*block));
    return;
  }
  if (!r.from_root()) {
    // A copy on the way that was bad, or a mutable block: ask the root and its replicas.
    if (p.asked_root) return;
    p.asked_root = true;
    pb::PastMessage q;
    auto* l = q.mutable_lookup();
    l->set_request_id(id);
    set_id(l->mutable_handle(), p.handle);
    l->set_root_only(true);
    to_proto(pastry_.local(), l->mutable_reader());
    pastry_.route(p.handle, pastry::AppId::kPast, wire::encode_message(q));
    return;
  }
  // The root's answer: its replica set is where the other copies are.
  p.replicas = std::move(*replicas);
  p.asked.insert(from.id);
  p.asked.insert(pastry_.local().id);
  if (block) p.mutable_kind = true;
  ++p.outstanding;  // the root's answer counts like a fetch's
  lookup_got(id, from, std::move(block));
  lookup_fetch_next(id);
}

void PastNode::lookup_fetch_next(std::uint64_t id) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  PendingLookup& p = *it->second;
  // Public-key blocks: every replica at once. Immutable ones: one replica at a time.
  while (true) {
    if (!p.mutable_kind && p.outstanding > 0) return;
    auto next = std::find_if(p.replicas.begin(), p.replicas.end(),
                             [&](const NodeHandle& n) { return !p.asked.contains(n.id); });
    if (next == p.replicas.end()) break;
    NodeHandle replica = *next;
    p.asked.insert(replica.id);
    ++p.outstanding;
    pb::PastMessage m;
    std::uint64_t rid = expect(replica, [this, id, replica](const pb::PastMessage* answer) {
      auto found = lookups_.find(id);
      if (found == lookups_.end()) return;
      PendingLookup& lookup = *found->second;
      std::optional<Block> block;
      if (answer == nullptr) {
        ++lookup.unanswered;
      } else if (answer->fetch_reply().blocks_size() > 0) {
        auto accepted = accept(lookup.handle, as_bytes(answer->fetch_reply().blocks(0)));
        if (accepted.ok()) {
          block = std::move(*accepted);
        } else {
          logger()->info("{}: replica {} sent a bad copy of {}: {}", pastry_.local().id.short_hex(),
                         replica.to_string(), lookup.handle.short_hex(),
                         accepted.error().to_string());
        }
      }
      lookup_got(id, replica, std::move(block));
      lookup_fetch_next(id);
    });
    auto* f = m.mutable_fetch();
    f->set_request_id(rid);
    set_id(f->add_handles(), p.handle);
    send(replica, m);
  }
  if (p.outstanding > 0) return;
  // Everyone asked has answered.
  if (p.best) {
    // Public-key block: repair the replicas that showed an older copy or none.
    for (const auto& [replica, timestamp] : p.seen) {
      if (timestamp >= p.best->timestamp || replica.id == pastry_.local().id) continue;
      pb::PastMessage push;
      auto* s = push.mutable_store();
      s->set_request_id(0);
      set_id(s->mutable_handle(), p.handle);
      set_bytes(s->mutable_block(), p.best->encoded);
      ++stats_.stale_repaired;
      send(replica, push);
    }
    finish_lookup(id, std::move(*p.best));
    return;
  }
  std::string handle = p.handle.short_hex();
  if (p.unanswered > 0) {
    finish_lookup(id, make_error(PastErrc::kReplicasUnavailable,
                                 "no valid copy of " + handle + " from the replicas that answered; " +
                                     std::to_string(p.unanswered) + " did not answer"));
  } else {
    finish_lookup(id, make_error(PastErrc::kNotFound, "no replica holds " + handle));
  }
}

void PastNode::lookup_got(std::uint64_t id, const NodeHandle& from, std::optional<Block> block) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  PendingLookup& p = *it->second;
  --p.outstanding;
  if (!block) {
    p.seen.emplace_back(from, 0);
    return;
  }
  if (!is_mutable(block->kind)) {
    cache_put(p.handle, *block);
    finish_lookup(id, std::move(*block));
    return;
  }
  p.mutable_kind = true;
  p.seen.emplace_back(from, block->timestamp);
  if (!p.best || block->timestamp > p.best->timestamp) p.best = std::move(*block);
}

void PastNode::finish_lookup(std::uint64_t id, Result<Block> result) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  auto p = std::move(it->second);
  lookups_.erase(it);
  clock_.cancel(p->timer);
  if (!result.ok()) ++stats_.lookup_failures;
  p->done(std::move(result));
}

void PastNode::handle_fetch(const NodeHandle& from, const pb::PastMessage& m) {
  const auto& f = m.fetch();
  pb::PastMessage reply;
  auto* r = reply.mutable_fetch_reply();
  r->set_request_id(f.request_id());
  std::size_t bytes = 0;
  int count = 0;
  for (const auto& h : f.handles()) {
    if (++count > static_cast<int>(config_.max_fetch_handles)) break;
    auto handle = id_from_wire(h);
    if (!handle) {
      refuse(from, "a fetch for a malformed handle");
      return;
    }
    auto stored = store_.get(BlockKey{*handle});
    std::optional<Bytes> bytes_held;
    if (stored.ok() && *stored) {
      bytes_held = std::move(**stored);
    } else if (const Block* cached = cache_get(*handle)) {
      bytes_held = cached->encoded;
    }
    if (!bytes_held) {
      r->add_missing(h);
    } else if (bytes > 0 && bytes + bytes_held->size() > config_.max_fetch_bytes) {
      r->add_later(h);
    } else {
      bytes += bytes_held->size();
      r->add_blocks(bytes_held->data(), bytes_held->size());
    }
  }
  send(from, reply, f.maintenance());
}

// ---------------------------------------------------------------------------------------
// Caching
// ---------------------------------------------------------------------------------------

void PastNode::cache_put(const Id& handle, const Block& block) {
  if (is_mutable(block.kind) || block.encoded.size() > config_.cache_bytes) return;
  if (store_.contains(BlockKey{handle})) return;  // a replica is better than a cached copy
  if (auto it = cache_index_.find(handle); it != cache_index_.end()) {
    cache_.splice(cache_.begin(), cache_, it->second);
    return;
  }
  while (!cache_.empty() && cache_bytes_ + block.encoded.size() > config_.cache_bytes) {
    cache_bytes_ -= cache_.back().second.encoded.size();
    cache_index_.erase(cache_.back().first);
    cache_.pop_back();
  }
  cache_.emplace_front(handle, block);
  cache_index_[handle] = cache_.begin();
  cache_bytes_ += block.encoded.size();
}

const Block* PastNode::cache_get(const Id& handle) {
  auto it = cache_index_.find(handle);
  if (it == cache_index_.end()) return nullptr;
  cache_.splice(cache_.begin(), cache_, it->second);
  return &it->second->second;
}

void PastNode::handle_cache_offer(const NodeHandle& from, const pb::PastMessage& m) {
  auto handle = id_from_wire(m.cache().handle());
  if (!handle) {
    refuse(from, "a cache offer without a valid handle");
    return;
  }
  auto block = accept(*handle, as_bytes(m.cache().block()));
  if (!block.ok()) {
    refuse(from, "a cache offer with a bad block: " + block.error().to_string());
    return;
  }
  cache_put(*handle, *block);
}

// ---------------------------------------------------------------------------------------
// Pastry upcalls
// ---------------------------------------------------------------------------------------

void PastNode::deliver(const Id& key, ByteView payload, const pastry::RouteInfo& info) {
  auto m = wire::decode_message<pb::PastMessage>(payload, "routed PAST message");
  if (!m.ok()) {
    refuse(info.source, m.error().message);
    return;
  }
  if (m->has_insert()) {
    const auto& q = m->insert();
    auto handle = id_from_wire(q.handle());
    if (!handle || *handle != key) {
      refuse(info.source, "an insert whose handle is not its key");
      return;
    }
    auto block = accept(*handle, as_bytes(q.block()));
    if (!block.ok()) {
      // Answer the inserter with why; nothing is stored anywhere.
      pb::PastMessage reply;
      auto* r = reply.mutable_insert_reply();
      r->set_request_id(q.request_id());
      r->set_handle(q.handle());
      r->set_error_code(static_cast<std::uint32_t>(block.error().code.value()));
      r->set_error(block.error().message);
      ++stats_.stores_refused;
      if (info.source.id == pastry_.local().id) {
        handle_insert_reply(info.source, reply);
      } else {
        send(info.source, reply);
      }
      return;
    }
    coordinate_insert(info.source, q.request_id(), *handle, std::move(*block));
    return;
  }
  if (m->has_lookup()) {
    auto handle = id_from_wire(m->lookup().handle());
    auto reader = m->lookup().has_reader() ? from_proto(m->lookup().reader()) : std::nullopt;
    if (!handle || *handle != key || !reader) {
      refuse(info.source, "a lookup whose handle is not its key, or without a reader");
      return;
    }
    Block none;
    auto stored = load(*handle);
    if (stored.ok() && *stored) {
      answer_lookup(*reader, *m, **stored, true);
    } else if (const Block* cached = cache_get(*handle)) {
      answer_lookup(*reader, *m, *cached, true);
    } else {
      answer_lookup(*reader, *m, none, true);
    }
    return;
  }
  refuse(info.source, "a routed PAST message of a kind that is not routed");
}

bool PastNode::forward(const Id& key, Bytes& payload, NodeHandle& /*next*/) {
  // Only lookups are looked at on the way; inserts pass untouched.
  auto m = wire::decode_message<pb::PastMessage>(payload, "routed PAST message");
  if (!m.ok() || !m->has_lookup()) return true;
  const auto& q = m->lookup();
  auto handle = id_from_wire(q.handle());
  auto reader = q.has_reader() ? from_proto(q.reader()) : std::nullopt;
  if (!handle || *handle != key || !reader) return true;  // the root refuses it
  if (!q.root_only() && reader->id != pastry_.local().id) {
    if (auto copy = local_copy(*handle)) {
      ++stats_.served_from_cache;
      answer_lookup(*reader, *m, *copy, false);
      return false;
    }
  }
  to_proto(pastry_.local(), m->mutable_lookup()->add_path());
  payload = wire::encode_message(*m);
  return true;
}

void PastNode::update(const NodeHandle& /*node*/, bool /*joined*/) {
  schedule_maintenance(config_.maintenance_delay);
}

// ---------------------------------------------------------------------------------------
// Replica maintenance
// ---------------------------------------------------------------------------------------

void PastNode::schedule_maintenance(Duration after) {
  net::Time due = clock_.now() + after;
  if (maintenance_timer_ != net::kNoTimer && maintenance_due_ <= due) return;
  clock_.cancel(maintenance_timer_);
  maintenance_due_ = due;
  maintenance_timer_ = clock_.schedule(after, [this] {
    maintenance_timer_ = net::kNoTimer;
    maintain();
  });
}

bool PastNode::responsible_for(const Id& handle) const {
  for (const auto& n : pastry_.replica_set(handle, config_.replicas)) {
    if (n.id == pastry_.local().id) return true;
  }
  return false;
}

std::pair<Id, Id> PastNode::replica_range() const {
  // A key has this node among its k closest exactly when it lies between the midpoint to the
  // k-th member counter-clockwise and the midpoint to the k-th member clockwise.
  const auto& ls = pastry_.leaf_set();
  const auto k = static_cast<std::size_t>(config_.replicas);
  const auto& cw = ls.clockwise();
  const auto& ccw = ls.counter_clockwise();
  std::pair<Id, Id> everything{Id(), Id::max()};
  if (cw.size() < k || ccw.size() < k) return everything;
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      if (cw[i].id == ccw[j].id) return everything;  // a ring of at most 2k nodes
    }
  }
  const Id& self = pastry_.local().id;
  return {ccw[k - 1].id.midpoint(self), self.midpoint(cw[k - 1].id)};
}

void PastNode::maintain() {
  schedule_maintenance(jitter(rng_, config_.maintenance_interval));
  if (!pastry_.ready() || pastry_.leaf_set().empty()) return;
  // Pull: ask the nodes that share replicas with this one what they hold in this node's range
  // that it lacks.
  auto [from, to] = replica_range();
  std::vector<Id> mine;
  store_.for_each_in_range(from, to, [&](const BlockKey& key, std::uint64_t) {
    if (key.fragment == kWholeBlock) mine.push_back(key.handle);
    return true;
  });
  const auto k = static_cast<std::size_t>(config_.replicas);
  std::vector<NodeHandle> neighbours;
  const auto& ls = pastry_.leaf_set();
  for (const auto* side : {&ls.clockwise(), &ls.counter_clockwise()}) {
    for (std::size_t i = 0; i < side->size() && i < k; ++i) {
      const NodeHandle& n = (*side)[i];
      if (std::none_of(neighbours.begin(), neighbours.end(),
                       [&](const NodeHandle& x) { return x.id == n.id; })) {
        neighbours.push_back(n);
      }
    }
  }
  for (const auto& n : neighbours) {
    BloomFilter filter(mine.size(), rng_.next());
    for (const auto& h : mine) filter.insert(h);
    pb::PastMessage m;
    std::uint64_t rid = expect(n, [this, n](const pb::PastMessage* answer) {
      if (answer == nullptr) return;
      std::vector<Id> wanted;
      for (const auto& h : answer->summary_reply().handles()) {
        auto handle = id_from_wire(h);
        if (!handle) {
          refuse(n, "a summary reply with a malformed handle");
          return;
        }
        if (!fetching_.contains(*handle) && responsible_for(*handle) &&
            !store_.contains(BlockKey{*handle})) {
          wanted.push_back(*handle);
        }
      }
      if (!wanted.empty()) fetch_missing(n, std::move(wanted));
      if (answer->summary_reply().truncated()) schedule_maintenance(config_.maintenance_delay);
    });
    auto* s = m.mutable_summary();
    s->set_request_id(rid);
    set_id(s->mutable_range_from(), from);
    set_id(s->mutable_range_to(), to);
    set_bytes(s->mutable_bloom(), filter.bits());
    s->set_bloom_hashes(filter.hashes());
    s->set_bloom_seed(filter.seed());
    send(n, m, /*maintenance=*/true);
  }
  hand_off();
}

void PastNode::handle_summary(const NodeHandle& from, const pb::PastMessage& m) {
  const auto& s = m.summary();
  auto range_from = id_from_wire(s.range_from());
  auto range_to = id_from_wire(s.range_to());
  auto filter = BloomFilter::from_bytes(as_bytes(s.bloom()), s.bloom_hashes(), s.bloom_seed());
  if (!range_from || !range_to || !filter.ok()) {
    refuse(from, "a summary request with a malformed range or filter");
    return;
  }
  pb::PastMessage reply;
  auto* r = reply.mutable_summary_reply();
  r->set_request_id(s.request_id());
  std::size_t listed = 0;
  store_.for_each_in_range(*range_from, *range_to, [&](const BlockKey& key, std::uint64_t) {
    if (key.fragment != kWholeBlock || filter->may_contain(key.handle)) return true;
    if (listed == config_.max_summary_handles) {
      r->set_truncated(true);
      return false;
    }
    set_id(r->add_handles(), key.handle);
    ++listed;
    return true;
  });
  send(from, reply, /*maintenance=*/true);
}

void PastNode::fetch_missing(const NodeHandle& from, std::vector<Id> handles) {
  for (std::size_t start = 0; start < handles.size(); start += config_.max_fetch_handles) {
    std::vector<Id> batch(handles.begin() + static_cast<std::ptrdiff_t>(start),
                          handles.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                handles.size(), start + config_.max_fetch_handles)));
    for (const auto& h : batch) fetching_.insert(h);
    pb::PastMessage m;
    std::uint64_t rid = expect(from, [this, from, batch](const pb::PastMessage* answer) {
      for (const auto& h : batch) fetching_.erase(h);
      if (answer == nullptr) return;
      const auto& r = answer->fetch_reply();
      for (const auto& bytes : r.blocks()) {
        auto block = decode_block(as_bytes(bytes));
        if (!block.ok()) {
          ++stats_.bad_copies;
          continue;
        }
        Id handle = handle_of(*block);
        if (std::find(batch.begin(), batch.end(), handle) == batch.end()) {
          refuse(from, "a fetch reply with a block that was not asked for");
          continue;
        }
        if (auto status = validate_block(handle, *block, ca_public_key_); !status.ok()) {
          ++stats_.bad_copies;
          continue;
        }
        if (store_locally(handle, *block).ok()) ++stats_.maintenance_fetched;
      }
      if (r.later_size() > 0) schedule_maintenance(config_.maintenance_delay);
    });
    auto* f = m.mutable_fetch();
    f->set_request_id(rid);
    f->set_maintenance(true);
    for (const auto& h : batch) set_id(f->add_handles(), h);
    send(from, m, /*maintenance=*/true);
  }
}

void PastNode::hand_off() {
  // Blocks this node holds but is no longer among the k closest for (nodes joined nearer):
  // make sure each of the k responsible nodes has it, then drop it. Only with a complete
  // leaf set, so "not responsible" is known, not guessed.
  if (handing_off_ || !pastry_.leaf_set().complete()) return;
  std::vector<Id> foreign;
  store_.for_each([&](const BlockKey& key, std::uint64_t) {
    if (key.fragment == kWholeBlock && !responsible_for(key.handle)) foreign.push_back(key.handle);
    return foreign.size() < config_.max_summary_handles;
  });
  if (foreign.empty()) return;
  handing_off_ = true;
  // Per handle: how many responsible nodes have confirmed they hold it.
  struct Round {
    std::unordered_map<Id, int> confirmed;
    int outstanding = 0;
  };
  auto round = std::make_shared<Round>();
  std::unordered_map<Id, std::pair<NodeHandle, std::vector<Id>>> asks;
  for (const auto& h : foreign) {
    round->confirmed[h] = 0;
    for (const auto& n : pastry_.replica_set(h, config_.replicas)) {
      auto& ask = asks[n.id];
      ask.first = n;
      ask.second.push_back(h);
    }
  }
  const int k = config_.replicas;
  auto finish = [this, round, k] {
    handing_off_ = false;
    for (const auto& [h, count] : round->confirmed) {
      if (count >= k && !responsible_for(h)) {
        if (store_.erase(BlockKey{h}).ok()) ++stats_.dropped;
      }
    }
  };
  round->outstanding = static_cast<int>(asks.size());
  for (auto& [id, ask] : asks) {
    NodeHandle node = ask.first;
    std::vector<Id> handles = ask.second;
    pb::PastMessage m;
    std::uint64_t rid = expect(node, [this, round, node, handles, finish](const pb::PastMessage* a) {
      if (a != nullptr) {
        std::unordered_set<Id> missing;
        for (const auto& h : a->have_reply().missing()) {
          if (auto handle = id_from_wire(h)) missing.insert(*handle);
        }
        for (const auto& h : handles) {
          if (!missing.contains(h)) {
            ++round->confirmed[h];
            continue;
          }
          // It lacks one it should hold: give it ours (it counts next round).
          auto bytes = store_.get(BlockKey{h});
          if (!bytes.ok() || !*bytes) continue;
          pb::PastMessage push;
          auto* s = push.mutable_store();
          set_id(s->mutable_handle(), h);
          set_bytes(s->mutable_block(), **bytes);
          s->set_maintenance(true);
          ++stats_.handed_off;
          send(node, push, /*maintenance=*/true);
        }
      }
      if (--round->outstanding == 0) finish();
    });
    auto* q = m.mutable_have();
    q->set_request_id(rid);
    for (const auto& h : handles) set_id(q->add_handles(), h);
    send(node, m, /*maintenance=*/true);
  }
  if (asks.empty()) finish();
}

void PastNode::handle_have(const NodeHandle& from, const pb::PastMessage& m) {
  pb::PastMessage reply;
  auto* r = reply.mutable_have_reply();
  r->set_request_id(m.have().request_id());
  int count = 0;
  for (const auto& h : m.have().handles()) {
    auto handle = id_from_wire(h);
    if (!handle) {
      refuse(from, "a have request with a malformed handle");
      return;
    }
    // Past the limit nothing is looked up, and nothing is confirmed either.
    if (++count > static_cast<int>(config_.max_summary_handles) ||
        !store_.contains(BlockKey{*handle})) {
      r->add_missing(h);
    }
  }
  send(from, reply, /*maintenance=*/true);
}

}  // namespace post::past
