#include "host/post/secure_store.h"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "host/core/log.h"
#include "host/post/errors.h"

namespace post::services {
namespace {

// `error` with `context` in front of its detail; the code is kept, so that a PAST error (a
// block not found, a quota) reaches the caller as itself.
Error with_context(Error error, const std::string& context) {
  error.message = context + ": " + error.message;
  return error;
}

std::string piece_name(std::size_t index, std::size_t count, const Id& handle) {
  return "block " + std::to_string(index + 1) + " of " + std::to_string(count) + " (" +
         handle.short_hex() + ")";
}

}  // namespace

struct SecureStore::PendingStore {
  Bytes object;
  std::optional<ObjectSealer> sealer;  // views `object`
  std::function<void(Result<StoredObject>)> done;
  std::size_t next_piece = 0;    // pieces sealed and handed to PAST
  std::size_t in_flight = 0;     // of those, inserts not answered yet
  std::size_t acknowledged = 0;  // inserts PAST confirmed
  StoredObject result;           // handle and key once the top piece is sealed
};

struct SecureStore::PendingFetch {
  Id handle;
  ContentKey key;
  std::function<void(Result<Bytes>)> done;
  Manifest manifest;  // for an object in chunks, once the top piece is open
  Bytes object;       // where the chunks are opened
  std::size_t next_chunk = 0;
  std::size_t in_flight = 0;
  std::size_t opened = 0;
};

SecureStore::SecureStore(past::PastNode& past, net::Clock& clock, SecureStoreConfig config)
    : past_(past), clock_(clock), config_(std::move(config)) {}

SecureStore::~SecureStore() = default;

Result<std::unique_ptr<SecureStore>> SecureStore::create(past::PastNode& past, net::Clock& clock,
                                                         SecureStoreConfig config) {
  SealOptions options;
  options.salt = config.salt;
  POST_TRY(check_seal_options(options));
  if (config.max_in_flight == 0) {
    return make_error(PostErrc::kBadOptions, "max_in_flight must be at least 1");
  }
  return std::unique_ptr<SecureStore>(new SecureStore(past, clock, std::move(config)));
}

SealOptions SecureStore::seal_options(const StoreOptions& options) const {
  SealOptions seal;
  seal.salt = config_.salt;
  seal.padding_bytes = options.padding_bytes;
  return seal;
}

// ---- store ------------------------------------------------------------------------------

void SecureStore::store(Bytes object, const StoreOptions& options,
                        std::function<void(Result<StoredObject>)> done) {
  ++stats_.stores;
  auto p = std::make_unique<PendingStore>();
  p->object = std::move(object);
  p->done = std::move(done);
  auto sealer = ObjectSealer::start(p->object, seal_options(options));
  if (!sealer.ok()) {
    ++stats_.store_failures;
    clock_.schedule(net::Duration::zero(), [done = std::move(p->done),
                                            error = std::move(sealer).error()] { done(error); });
    return;
  }
  p->sealer.emplace(std::move(*sealer));
  p->result.object_bytes = p->object.size();
  p->result.blocks = p->sealer->piece_count();
  const std::uint64_t id = next_id_++;
  stores_[id] = std::move(p);
  // Sealing starts on the executor, not inside this call.
  std::weak_ptr<char> alive = alive_;
  clock_.schedule(net::Duration::zero(), [this, alive, id] {
    if (!alive.expired()) store_next(id);
  });
}

void SecureStore::store_next(std::uint64_t id) {
  auto it = stores_.find(id);
  if (it == stores_.end()) return;
  PendingStore& p = *it->second;
  ObjectSealer& sealer = *p.sealer;
  while (!sealer.finished() && p.in_flight < config_.max_in_flight) {
    const std::size_t index = p.next_piece;
    const bool top = index + 1 == sealer.piece_count();
    // The top piece (the manifest) goes in only once every chunk is stored.
    if (top && p.acknowledged < index) return;
    auto piece = sealer.next();
    if (!piece.ok()) {
      finish_store(id, with_context(std::move(piece).error(),
                                    "sealing block " + std::to_string(index + 1) + " of " +
                                        std::to_string(sealer.piece_count())));
      return;
    }
    if (top) {
      p.result.handle = piece->handle;
      p.result.key = piece->key;
    }
    ++p.next_piece;
    ++p.in_flight;
    std::weak_ptr<char> alive = alive_;
    past_.insert(piece->block,
                 [this, alive, id, index, handle = piece->handle](Result<past::InsertResult> r) {
                   if (alive.expired()) return;
                   stored_piece(id, index, handle, std::move(r));
                 });
  }
}

void SecureStore::stored_piece(std::uint64_t id, std::size_t index, const Id& handle,
                               Result<past::InsertResult> result) {
  auto it = stores_.find(id);
  if (it == stores_.end()) return;  // already failed
  PendingStore& p = *it->second;
  --p.in_flight;
  const std::size_t count = p.sealer->piece_count();
  if (!result.ok()) {
    finish_store(
        id, with_context(std::move(result).error(), "storing " + piece_name(index, count, handle)));
    return;
  }
  ++stats_.blocks_inserted;
  if (++p.acknowledged == count) {
    finish_store(id, p.result);
  } else {
    store_next(id);
  }
}

void SecureStore::finish_store(std::uint64_t id, Result<StoredObject> result) {
  auto it = stores_.find(id);
  if (it == stores_.end()) return;
  auto p = std::move(it->second);
  stores_.erase(it);
  if (!result.ok()) {
    ++stats_.store_failures;
    log::get("post")->debug("store of {} bytes failed: {}", p->object.size(),
                            result.error().to_string());
  }
  p->done(std::move(result));
}

// ---- fetch ------------------------------------------------------------------------------

void SecureStore::fetch(const Id& handle, const ContentKey& key,
                        std::function<void(Result<Bytes>)> done) {
  ++stats_.fetches;
  const std::uint64_t id = next_id_++;
  auto p = std::make_unique<PendingFetch>();
  p->handle = handle;
  p->key = key;
  p->done = std::move(done);
  fetches_[id] = std::move(p);
  std::weak_ptr<char> alive = alive_;
  past_.lookup(handle, [this, alive, id](Result<past::Block> block) {
    if (alive.expired()) return;
    fetched_top(id, std::move(block));
  });
}

void SecureStore::fetched_top(std::uint64_t id, Result<past::Block> block) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  PendingFetch& p = *it->second;
  const std::string name = "block " + p.handle.short_hex();
  if (!block.ok()) {
    finish_fetch(id, with_context(std::move(block).error(), name));
    return;
  }
  auto top = open_top(*block, p.key, config_.salt);
  if (!top.ok()) {
    finish_fetch(id, with_context(std::move(top).error(), name));
    return;
  }
  ++stats_.blocks_opened;
  if (auto* data = std::get_if<Bytes>(&*top)) {
    finish_fetch(id, std::move(*data));
    return;
  }
  p.manifest = std::move(std::get<Manifest>(*top));
  p.object.resize(p.manifest.object_bytes);
  fetch_next(id);
}

void SecureStore::fetch_next(std::uint64_t id) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  PendingFetch& p = *it->second;
  while (p.next_chunk < p.manifest.chunks.size() && p.in_flight < config_.max_in_flight) {
    const std::size_t index = p.next_chunk++;
    ++p.in_flight;
    std::weak_ptr<char> alive = alive_;
    past_.lookup(p.manifest.chunks[index].handle,
                 [this, alive, id, index](Result<past::Block> block) {
                   if (alive.expired()) return;
                   fetched_chunk(id, index, std::move(block));
                 });
  }
}

void SecureStore::fetched_chunk(std::uint64_t id, std::size_t index, Result<past::Block> block) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;  // already failed
  PendingFetch& p = *it->second;
  --p.in_flight;
  const ChunkRef& chunk = p.manifest.chunks[index];
  const std::string name = "chunk " + std::to_string(index + 1) + " of " +
                           std::to_string(p.manifest.chunks.size()) + " (" +
                           chunk.handle.short_hex() + ") of " + p.handle.short_hex();
  Status opened = block.ok() ? open_chunk(*block, chunk, config_.salt, p.object)
                             : Status(std::move(block).error());
  if (!opened.ok()) {
    finish_fetch(id, with_context(std::move(opened).error(), name));
    return;
  }
  ++stats_.blocks_opened;
  if (++p.opened == p.manifest.chunks.size()) {
    finish_fetch(id, std::move(p.object));
  } else {
    fetch_next(id);
  }
}

void SecureStore::finish_fetch(std::uint64_t id, Result<Bytes> result) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  auto p = std::move(it->second);
  fetches_.erase(it);
  if (!result.ok()) {
    ++stats_.fetch_failures;
    log::get("post")->debug("fetch of {} failed: {}", p->handle.short_hex(),
                            result.error().to_string());
  }
  p->done(std::move(result));
}

}  // namespace post::services
