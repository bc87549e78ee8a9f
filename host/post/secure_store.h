// SecureStore: POST's secure single-copy store (Mislove et al., "POST", section 3.2) over one
// node's PAST layer. store() seals an object by convergent encryption (host/post/piece.h,
// object.h) and inserts its blocks; fetch() looks them up and opens them, checking every
// piece against its key, so that a tampered or substituted block is an error and never comes
// back as the object. The same object stored by two users, unsalted and unpadded, is the same
// blocks: PAST holds one copy (k replicas) of it.
//
// Sans-I/O like PastNode: it talks to PAST through PastNode's asynchronous API and to time
// through the Clock. Single-threaded: call it only on the node's executor; callbacks run
// there, never inside the call that started the operation. Sealing and opening (about
// 1 ms per MiB) run on the executor too, one piece at a time between PAST messages.
// Format and limits: docs/protocol/secure-store.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/net/clock.h"
#include "host/past/past_node.h"
#include "host/post/manifest.h"
#include "host/post/object.h"
#include "host/post/piece.h"

namespace post::services {

struct SecureStoreConfig {
  // The organisation salt: empty (none) or kMinSaltBytes..kMaxSaltBytes random bytes. Salted
  // objects converge only with objects stored under the same salt, and only nodes holding it
  // can fetch them (the key check needs it).
  Bytes salt;
  // At most this many of one object's blocks are being inserted or looked up at once.
  std::size_t max_in_flight = 4;
};

struct StoreOptions {
  // Random bytes added to each of the object's pieces (0, or kMinPaddingBytes to
  // kMaxPaddingBytes): the object's key and handle can then not be found by guessing its
  // content (a short, guessable body), at the cost of convergence: each store makes new blocks.
  std::size_t padding_bytes = 0;
};

// A stored object: what fetch() needs, and what a notification carries (the key sealed to the
// recipient).
struct StoredObject {
  Id handle;
  ContentKey key;
  std::uint64_t object_bytes = 0;
  std::size_t blocks = 0;  // blocks inserted: 1, or the chunks and the manifest
};

struct SecureStoreStats {
  std::uint64_t stores = 0;
  std::uint64_t store_failures = 0;
  std::uint64_t fetches = 0;
  std::uint64_t fetch_failures = 0;
  std::uint64_t blocks_inserted = 0;  // acknowledged by PAST
  std::uint64_t blocks_opened = 0;    // looked up and opened
};

class SecureStore {
 public:
  // A store over `past` (not owned; it must outlive the store) whose callbacks run on `clock`'s
  // executor. Refuses a salt outside its bounds or max_in_flight == 0 (kBadOptions).
  static Result<std::unique_ptr<SecureStore>> create(past::PastNode& past, net::Clock& clock,
                                                     SecureStoreConfig config);
  ~SecureStore();
  SecureStore(const SecureStore&) = delete;
  SecureStore& operator=(const SecureStore&) = delete;

  // Stores `object`. `done` runs once: with the object's handle and key when PAST acknowledged
  // every block (the manifest last, after all its chunks), or with the first error: options out
  // of bounds (kBadOptions), an object over kMaxObjectBytes (kTooLarge), or a PAST insert error
  // (PastErrc, e.g. kQuotaExceeded) naming the block. Blocks inserted before an error stay
  // (PAST never deletes); storing again is safe, since inserts are idempotent.
  void store(Bytes object, const StoreOptions& options,
             std::function<void(Result<StoredObject>)> done);

  // Fetches the object named by `handle` and `key`. `done` runs once, with the object's exact
  // bytes or an error: a PAST lookup error (PastErrc, e.g. kNotFound), kWrongBlockKind, or
  // any refusal of open_top and open_chunk (kDecryptFailed for a wrong key or block,
  // kKeyMismatch, kMalformedManifest, kChunkMismatch, ...), naming the chunk concerned.
  void fetch(const Id& handle, const ContentKey& key, std::function<void(Result<Bytes>)> done);

  const SecureStoreStats& stats() const { return stats_; }
  const SecureStoreConfig& config() const { return config_; }

 private:
  struct PendingStore;
  struct PendingFetch;

  SecureStore(past::PastNode& past, net::Clock& clock, SecureStoreConfig config);

  SealOptions seal_options(const StoreOptions& options) const;

  void store_next(std::uint64_t id);
  void stored_piece(std::uint64_t id, std::size_t index, const Id& handle,
                    Result<past::InsertResult> result);
  void finish_store(std::uint64_t id, Result<StoredObject> result);

  void fetched_top(std::uint64_t id, Result<past::Block> block);
  void fetch_next(std::uint64_t id);
  void fetched_chunk(std::uint64_t id, std::size_t index, Result<past::Block> block);
  void finish_fetch(std::uint64_t id, Result<Bytes> result);

  past::PastNode& past_;
  net::Clock& clock_;
  SecureStoreConfig config_;
  SecureStoreStats stats_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingStore>> stores_;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingFetch>> fetches_;

  // Guards PAST callbacks that may outlive this store.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::services
