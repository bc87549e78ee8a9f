// Where a node keeps the blocks it holds: an interface and two implementations, one in
// memory (tests, simulation) and one on LevelDB (postd). A store keeps opaque encoded blocks
// under keys; it does not decode or validate them and enforces no quota (the PAST protocol
// does both, with bytes_used()).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"

namespace leveldb {
class DB;
class FilterPolicy;
}  // namespace leveldb

namespace post::past {

// The fragment number of a whole replica. Erasure-coded fragments of a block (DESIGN.md
// "Coming later") will be stored under the same handle with fragment numbers below this.
inline constexpr std::uint16_t kWholeBlock = 0xffff;

struct BlockKey {
  static constexpr std::size_t kEncodedBytes = Id::kBytes + 2;

  Id handle;
  std::uint16_t fragment = kWholeBlock;

  // Handle bytes, then fragment: the order of the ring, then of fragments.
  friend bool operator==(const BlockKey&, const BlockKey&) = default;
  friend std::strong_ordering operator<=>(const BlockKey&, const BlockKey&) = default;

  // 32 handle bytes then the fragment big-endian, so that byte order is key order (the
  // LevelDB key).
  std::array<std::uint8_t, kEncodedBytes> encode() const;
  // Inverse of encode(); nullopt for anything that is not kEncodedBytes long.
  static std::optional<BlockKey> decode(ByteView bytes);
};

// Visits one stored key and the size of its block in bytes; returns false to stop.
using BlockVisitor = std::function<bool(const BlockKey& key, std::uint64_t size)>;

// Storage for encoded blocks. Not thread-safe: one owner (the node's event loop) calls it.
class BlockStore {
 public:
  virtual ~BlockStore() = default;

  // The block stored under `key`, nullopt when there is none, or kStorageFailure when the
  // storage cannot be read.
  virtual Result<std::optional<Bytes>> get(const BlockKey& key) = 0;

  // Stores `encoded` under `key`, replacing what was there. Durable when it returns ok: a
  // crash afterwards does not lose it. kStorageFailure when it cannot be written.
  virtual Status put(const BlockKey& key, ByteView encoded) = 0;

  // Removes the block under `key`; ok when there was none. Durable when it returns ok.
  virtual Status erase(const BlockKey& key) = 0;

  // True when a block is stored under `key`. A storage failure counts as absent; get()
  // reports it.
  virtual bool contains(const BlockKey& key) = 0;

  // Total size of the stored blocks' encoded bytes (not of keys or storage overhead), and
  // their number.
  virtual std::uint64_t bytes_used() const = 0;
  virtual std::uint64_t count() const = 0;

  // Visits the keys whose handle lies on the clockwise arc from `from` to `to`, both
  // included, wrapping through zero when to < from (from == to is the single point `from`).
  // Keys come in clockwise order starting at `from`. The store must not be changed from
  // inside `visit`.
  virtual void for_each_in_range(const Id& from, const Id& to, const BlockVisitor& visit) = 0;

  // Visits every key in key order. The store must not be changed from inside `visit`.
  virtual void for_each(const BlockVisitor& visit) = 0;
};

// Blocks in a std::map, for tests and simulations. Nothing survives the object.
class MemoryBlockStore final : public BlockStore {
 public:
  Result<std::optional<Bytes>> get(const BlockKey& key) override;
  Status put(const BlockKey& key, ByteView encoded) override;
  Status erase(const BlockKey& key) override;
  bool contains(const BlockKey& key) override;
  std::uint64_t bytes_used() const override { return bytes_used_; }
  std::uint64_t count() const override { return blocks_.size(); }
  void for_each_in_range(const Id& from, const Id& to, const BlockVisitor& visit) override;
  void for_each(const BlockVisitor& visit) override;

 private:
  // Visits keys with handles in [from, to] (no wrapping); false when `visit` stopped.
  bool visit_between(const Id& from, const Id& to, const BlockVisitor& visit) const;

  std::map<BlockKey, Bytes> blocks_;
  std::uint64_t bytes_used_ = 0;
};

// Blocks in a LevelDB database in a directory of their own. Each block is one record under
// BlockKey::encode(). Every put and erase is a synced write batch that also updates one
// meta record (the block count and byte total), so count() and bytes_used() are exact across
// crashes and restarts without scanning the blocks; a database without a valid meta record
// (created by hand or damaged) is counted by one scan on open. LevelDB allows one open
// handle per directory, so a second postd on the same directory is refused.
class LevelDbBlockStore final : public BlockStore {
 public:
  // Opens (creating if missing) the store in `dir`. Refuses, with kStorageFailure naming the
  // directory and LevelDB's reason, a directory that is already open (in this or another
  // process), corrupt, or not writable.
  static Result<std::unique_ptr<LevelDbBlockStore>> open(const std::string& dir);

  ~LevelDbBlockStore() override;
  LevelDbBlockStore(const LevelDbBlockStore&) = delete;
  LevelDbBlockStore& operator=(const LevelDbBlockStore&) = delete;

  Result<std::optional<Bytes>> get(const BlockKey& key) override;
  Status put(const BlockKey& key, ByteView encoded) override;
  Status erase(const BlockKey& key) override;
  bool contains(const BlockKey& key) override;
  std::uint64_t bytes_used() const override { return bytes_used_; }
  std::uint64_t count() const override { return count_; }
  void for_each_in_range(const Id& from, const Id& to, const BlockVisitor& visit) override;
  void for_each(const BlockVisitor& visit) override;

  const std::string& directory() const { return dir_; }

 private:
  LevelDbBlockStore(std::string dir, std::unique_ptr<const leveldb::FilterPolicy> filter,
                    std::unique_ptr<leveldb::DB> db);

  // Reads the meta record, or counts the blocks and writes it when it is missing or invalid.
  Status load_counts();
  // Size of the block stored under `encoded_key`, nullopt when there is none.
  Result<std::optional<std::uint64_t>> stored_size(ByteView encoded_key);
  // Stores `encoded` under `key` (erases the key when nullopt) and the new counts, in one
  // synced batch; updates the counts in memory only once that is durable.
  Status write(const BlockKey& key, std::optional<ByteView> encoded, std::uint64_t new_count,
               std::uint64_t new_bytes_used);
  // Visits keys with handles in [from, to] (no wrapping); false when `visit` stopped.
  bool visit_between(const Id& from, const Id& to, const BlockVisitor& visit);

  std::string dir_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;  // must outlive db_
  std::unique_ptr<leveldb::DB> db_;
  std::uint64_t count_ = 0;
  std::uint64_t bytes_used_ = 0;
};

}  // namespace post::past
