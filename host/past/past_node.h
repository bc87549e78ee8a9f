// PastNode: one node's PAST state machine (Rowstron & Druschel, SOSP 2001) with POST's three
// block kinds. It stores k replicas of each block on the k nodes numerically closest to the
// block's handle, answers lookups (from a replica, or from a cached copy on the way), keeps
// the replica count up as nodes come and go, and enforces the node's storage quota.
//
// Sans-I/O like PastryNode: it talks through the Pastry KBR API (routed requests), the
// Transport (direct messages on Channel::kPast) and the Clock. Single-threaded: call it only
// on the node's executor. Protocol: docs/protocol/past.md.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "host/core/random.h"
#include "host/core/result.h"
#include "host/net/request_table.h"
#include "host/net/transport.h"
#include "host/past/block.h"
#include "host/past/block_store.h"
#include "host/past/past_config.h"
#include "host/pastry/pastry_node.h"

namespace post::proto::past {
class PastMessage;
}  // namespace post::proto::past

namespace post::past {

using net::Duration;
using net::NodeHandle;

struct PastStats {
  std::uint64_t inserts = 0;          // inserts this node started
  std::uint64_t insert_failures = 0;  // of those, how many failed
  std::uint64_t lookups = 0;
  std::uint64_t lookup_failures = 0;
  std::uint64_t replicas_stored = 0;   // blocks this node accepted as a replica
  std::uint64_t stores_refused = 0;    // invalid, stale, over quota
  std::uint64_t served_from_cache = 0;  // lookups answered from the cache on the way
  std::uint64_t bad_copies = 0;        // blocks from others that failed validation
  std::uint64_t stale_repaired = 0;    // replicas sent a newer public-key block
  std::uint64_t maintenance_messages = 0;  // maintenance messages sent
  std::uint64_t maintenance_bytes = 0;     // and their bytes
  std::uint64_t maintenance_fetched = 0;   // blocks fetched because this node lacked them
  std::uint64_t handed_off = 0;  // blocks pushed to a responsible node that lacked them
  std::uint64_t dropped = 0;     // blocks erased once all k responsible nodes held them
  std::uint64_t messages_refused = 0;  // malformed or unexpected messages from peers
};

struct InsertResult {
  Id handle;
  std::vector<NodeHandle> stored_on;  // the k replicas, closest first
  std::vector<NodeHandle> failed;     // nodes asked first that did not acknowledge
};

class PastNode final : public pastry::Application, public net::MessageHandler {
 public:
  // `store` holds this node's replicas (not owned). `ca_public_key` checks certificate blocks.
  // `seed` drives this node's random choices (jitter).
  PastNode(pastry::PastryNode& pastry, net::Transport& transport, net::Clock& clock,
           BlockStore& store, PastConfig config, Bytes ca_public_key, std::uint64_t seed);
  ~PastNode() override;
  PastNode(const PastNode&) = delete;
  PastNode& operator=(const PastNode&) = delete;

  // Stores `block` on the k nodes closest to its handle. `done` runs once: ok when all k
  // acknowledged a durable write (nodes that did not are listed, and the next closest took
  // their place), or an error (PastErrc) saying why and which replicas failed.
  void insert(const Block& block, std::function<void(Result<InsertResult>)> done);

  // Finds the block with `handle`. Immutable kinds: the first copy that validates (a cached
  // one on the way, the root's, then the other replicas'). Public-key blocks: every replica is
  // asked and the newest valid one wins; replicas seen holding an older one are repaired.
  // An error is kNotFound when no replica holds it, kTimeout when too few answered.
  void lookup(const Id& handle, std::function<void(Result<Block>)> done);

  // Whether this node is among the k closest to `handle` that it knows of.
  bool responsible_for(const Id& handle) const;

  // Starts a maintenance round now (tests, postctl).
  void maintain();

  const PastStats& stats() const { return stats_; }
  const PastConfig& config() const { return config_; }
  std::uint64_t cache_bytes() const { return cache_bytes_; }

  // ---- pastry::Application ----
  void deliver(const Id& key, ByteView payload, const pastry::RouteInfo& info) override;
  bool forward(const Id& key, Bytes& payload, NodeHandle& next) override;
  void update(const NodeHandle& node, bool joined) override;

  // ---- net::MessageHandler (Channel::kPast) ----
  void on_message(const NodeHandle& from, ByteView payload) override;
  void on_link_down(const NodeHandle& peer) override;

 private:
  struct PendingInsert;
  struct PendingLookup;
  struct Coordination;

  // Direct messages.
  void send(const NodeHandle& to, const proto::past::PastMessage& m, bool maintenance = false);
  void refuse(const NodeHandle& from, const std::string& why);

  // Storing.
  Status store_locally(const Id& handle, const Block& block);
  Result<std::optional<Block>> load(const Id& handle);
  void coordinate_insert(const NodeHandle& inserter, std::uint64_t request_id, const Id& handle,
                         Block block);
  void coordination_next(std::uint64_t id);
  void coordination_answer(std::uint64_t id, const NodeHandle& replica, const Status& status);
  void finish_coordination(std::uint64_t id, const Status& status);
  void handle_store(const NodeHandle& from, const proto::past::PastMessage& m);
  void handle_insert_reply(const NodeHandle& from, const proto::past::PastMessage& m);

  // Looking up.
  void answer_lookup(const NodeHandle& reader, const proto::past::PastMessage& request,
                     const Block& block, bool from_root);
  void handle_lookup_reply(const NodeHandle& from, const proto::past::PastMessage& m);
  void lookup_fetch_next(std::uint64_t id);
  void lookup_got(std::uint64_t id, const NodeHandle& from, std::optional<Block> block);
  void finish_lookup(std::uint64_t id, Result<Block> result);
  void handle_fetch(const NodeHandle& from, const proto::past::PastMessage& m);
  void handle_fetch_reply(const NodeHandle& from, const proto::past::PastMessage& m);

  // Requests to one node that expect one answer (store, fetch, summary, have).
  std::uint64_t expect(const NodeHandle& to, std::function<void(const proto::past::PastMessage*)> on_answer);
  void answered(const NodeHandle& from, std::uint64_t request_id,
                const proto::past::PastMessage& m);

  // Caching.
  void cache_put(const Id& handle, const Block& block);
  const Block* cache_get(const Id& handle);
  // A valid copy held here (replica or cache) of an immutable block, if any.
  std::optional<Block> local_copy(const Id& handle);

  // Maintenance.
  void schedule_maintenance(Duration after);
  std::pair<Id, Id> replica_range() const;
  void handle_summary(const NodeHandle& from, const proto::past::PastMessage& m);
  void handle_have(const NodeHandle& from, const proto::past::PastMessage& m);
  void handle_cache_offer(const NodeHandle& from, const proto::past::PastMessage& m);
  void fetch_missing(const NodeHandle& from, std::vector<Id> handles);
  void hand_off();

  // Validates `encoded` as the block for `handle`; counts bad copies.
  Result<Block> accept(const Id& handle, ByteView encoded);

  pastry::PastryNode& pastry_;
  net::Transport& transport_;
  net::Clock& clock_;
  BlockStore& store_;
  PastConfig config_;
  Bytes ca_public_key_;
  Rng rng_;
  PastStats stats_;

  std::uint64_t next_id_;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingInsert>> inserts_;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingLookup>> lookups_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Coordination>> coordinations_;
  using Requests = net::RequestTable<proto::past::PastMessage>;
  Requests requests_;

  // LRU cache of immutable blocks: most recently used at the front.
  std::list<std::pair<Id, Block>> cache_;
  std::unordered_map<Id, std::list<std::pair<Id, Block>>::iterator> cache_index_;
  std::uint64_t cache_bytes_ = 0;

  net::TimerId maintenance_timer_ = net::kNoTimer;
  net::Time maintenance_due_{};
  std::unordered_set<Id> fetching_;  // handles a maintenance fetch is under way for
  bool handing_off_ = false;

  // Guards callbacks that may outlive this node.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::past
