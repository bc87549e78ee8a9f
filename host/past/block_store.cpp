#include "host/past/block_store.h"

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "host/core/log.h"
#include "host/past/errors.h"

namespace post::past {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("past");
  return l;
}

// ---- BlockKey ---------------------------------------------------------------------------

// Keys with handles in [from, Id::max()] then [0, to] when the arc wraps through zero.
bool wraps(const Id& from, const Id& to) {
  return to < from;
}

// ---- LevelDB layout ---------------------------------------------------------------------

// The meta record: a key that is never kEncodedBytes long, so no block key equals it, and a
// value of format version (1 byte), block count and byte total (8 bytes big-endian each).
constexpr std::string_view kMetaKey = "post-past-meta";
constexpr std::uint8_t kMetaVersion = 1;
constexpr std::size_t kMetaBytes = 1 + 8 + 8;
// Bits per key of the Bloom filter: puts look up the key first (to keep the counts exact),
// and the filter answers most of those lookups, which miss, without reading a table.
constexpr int kBloomBitsPerKey = 10;

leveldb::Slice slice(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

ByteView view(const leveldb::Slice& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get_u64(ByteView in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = v << 8 | in[i];
  return v;
}

std::string encode_meta(std::uint64_t count, std::uint64_t bytes_used) {
  std::string out(1, static_cast<char>(kMetaVersion));
  put_u64(out, count);
  put_u64(out, bytes_used);
  return out;
}

}  // namespace

std::array<std::uint8_t, BlockKey::kEncodedBytes> BlockKey::encode() const {
  std::array<std::uint8_t, kEncodedBytes> out{};
  std::copy(handle.bytes().begin(), handle.bytes().end(), out.begin());
  out[Id::kBytes] = static_cast<std::uint8_t>(fragment >> 8);
  out[Id::kBytes + 1] = static_cast<std::uint8_t>(fragment);
  return out;
}

std::optional<BlockKey> BlockKey::decode(ByteView bytes) {
  if (bytes.size() != kEncodedBytes) return std::nullopt;
  Id::Array handle{};
  std::copy(bytes.begin(), bytes.begin() + Id::kBytes, handle.begin());
  auto fragment = static_cast<std::uint16_t>(bytes[Id::kBytes] << 8 | bytes[Id::kBytes + 1]);
  return BlockKey{Id(handle), fragment};
}

// ---- MemoryBlockStore -------------------------------------------------------------------

Result<std::optional<Bytes>> MemoryBlockStore::get(const BlockKey& key) {
  auto it = blocks_.find(key);
  if (it == blocks_.end()) return std::optional<Bytes>();
  return std::optional<Bytes>(it->second);
}

Status MemoryBlockStore::put(const BlockKey& key, ByteView encoded) {
  auto [it, inserted] = blocks_.try_emplace(key);
  if (!inserted) bytes_used_ -= it->second.size();
  it->second.assign(encoded.begin(), encoded.end());
  bytes_used_ += encoded.size();
  return ok_status();
}

Status MemoryBlockStore::erase(const BlockKey& key) {
  auto it = blocks_.find(key);
  if (it != blocks_.end()) {
    bytes_used_ -= it->second.size();
    blocks_.erase(it);
  }
  return ok_status();
}

bool MemoryBlockStore::contains(const BlockKey& key) {
  return blocks_.contains(key);
}

bool MemoryBlockStore::visit_between(const Id& from, const Id& to,
                                     const BlockVisitor& visit) const {
  for (auto it = blocks_.lower_bound(BlockKey{from, 0});
       it != blocks_.end() && it->first.handle <= to; ++it) {
    if (!visit(it->first, it->second.size())) return false;
  }
  return true;
}

void MemoryBlockStore::for_each_in_range(const Id& from, const Id& to, const BlockVisitor& visit) {
  if (!wraps(from, to)) {
    visit_between(from, to, visit);
  } else if (visit_between(from, Id::max(), visit)) {
    visit_between(Id(), to, visit);
  }
}

void MemoryBlockStore::for_each(const BlockVisitor& visit) {
  visit_between(Id(), Id::max(), visit);
}

// ---- LevelDbBlockStore ------------------------------------------------------------------

Result<std::unique_ptr<LevelDbBlockStore>> LevelDbBlockStore::open(const std::string& dir) {
  std::unique_ptr<const leveldb::FilterPolicy> filter(
      leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
  leveldb::Options options;
  options.create_if_missing = true;
  // Refuse a damaged database on open rather than silently drop the blocks it holds.
  options.paranoid_checks = true;
  options.filter_policy = filter.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    std::string hint;
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      hint = " (is another node or program using this directory?)";
    }
    return make_error(PastErrc::kStorageFailure,
                      "cannot open block store in " + dir + ": " + s.ToString() + hint);
  }
  std::unique_ptr<LevelDbBlockStore> store(
      new LevelDbBlockStore(dir, std::move(filter), std::unique_ptr<leveldb::DB>(raw)));
  POST_TRY(store->load_counts());
  return store;
}

LevelDbBlockStore::LevelDbBlockStore(std::string dir,
                                     std::unique_ptr<const leveldb::FilterPolicy> filter,
                                     std::unique_ptr<leveldb::DB> db)
    : dir_(std::move(dir)), filter_(std::move(filter)), db_(std::move(db)) {}

LevelDbBlockStore::~LevelDbBlockStore() = default;

Status LevelDbBlockStore::load_counts() {
  std::string meta;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), slice(as_bytes(kMetaKey)), &meta);
  if (s.ok() && meta.size() == kMetaBytes && static_cast<std::uint8_t>(meta[0]) == kMetaVersion) {
    ByteView bytes = as_bytes(meta);
    count_ = get_u64(bytes.subspan(1, 8));
    bytes_used_ = get_u64(bytes.subspan(9, 8));
    return ok_status();
  }
  if (!s.ok() && !s.IsNotFound()) {
    return make_error(PastErrc::kStorageFailure,
                      "cannot read the block store in " + dir_ + ": " + s.ToString());
  }
  // No meta record, or one this version cannot read: count the blocks once and write it.
  std::uint64_t count = 0;
  std::uint64_t bytes_used = 0;
  leveldb::ReadOptions scan;
  scan.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(scan));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != BlockKey::kEncodedBytes) continue;
    ++count;
    bytes_used += it->value().size();
  }
  if (!it->status().ok()) {
    return make_error(PastErrc::kStorageFailure,
                      "cannot count the blocks in " + dir_ + ": " + it->status().ToString());
  }
  if (s.ok()) logger()->warn("block store in {}: unreadable meta record, recounted", dir_);
  leveldb::WriteOptions synced;
  synced.sync = true;
  s = db_->Put(synced, slice(as_bytes(kMetaKey)), encode_meta(count, bytes_used));
  if (!s.ok()) {
    return make_error(PastErrc::kStorageFailure,
                      "cannot write the block store in " + dir_ + ": " + s.ToString());
  }
  count_ = count;
  bytes_used_ = bytes_used;
  return ok_status();
}

Result<std::optional<Bytes>> LevelDbBlockStore::get(const BlockKey& key) {
  auto encoded_key = key.encode();
  std::string value;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), slice(encoded_key), &value);
  if (s.IsNotFound()) return std::optional<Bytes>();
  if (!s.ok()) {
    return make_error(PastErrc::kStorageFailure, "cannot read block " + key.handle.short_hex() +
                                                     " in " + dir_ + ": " + s.ToString());
  }
  return std::optional<Bytes>(to_bytes(value));
}

Result<std::optional<std::uint64_t>> LevelDbBlockStore::stored_size(ByteView encoded_key) {
  std::string value;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), slice(encoded_key), &value);
  if (s.IsNotFound()) return std::optional<std::uint64_t>();
  if (!s.ok()) {
    return make_error(PastErrc::kStorageFailure,
                      "cannot read the block store in " + dir_ + ": " + s.ToString());
  }
  return std::optional<std::uint64_t>(value.size());
}

Status LevelDbBlockStore::write(const BlockKey& key, std::optional<ByteView> encoded,
                                std::uint64_t new_count, std::uint64_t new_bytes_used) {
  auto encoded_key = key.encode();
  leveldb::WriteBatch batch;
  if (encoded) {
    batch.Put(slice(encoded_key), slice(*encoded));
  } else {
    batch.Delete(slice(encoded_key));
  }
  batch.Put(slice(as_bytes(kMetaKey)), encode_meta(new_count, new_bytes_used));
  leveldb::WriteOptions synced;
  synced.sync = true;
  leveldb::Status s = db_->Write(synced, &batch);
  if (!s.ok()) {
    return make_error(PastErrc::kStorageFailure,
                      std::string("cannot ") + (encoded ? "store" : "erase") + " block " +
                          key.handle.short_hex() + " in " + dir_ + ": " + s.ToString());
  }
  count_ = new_count;
  bytes_used_ = new_bytes_used;
  return ok_status();
}

Status LevelDbBlockStore::put(const BlockKey& key, ByteView encoded) {
  POST_TRY_ASSIGN(auto old_size, stored_size(key.encode()));
  std::uint64_t count = count_ + (old_size ? 0 : 1);
  std::uint64_t bytes_used = bytes_used_ - old_size.value_or(0) + encoded.size();
  return write(key, encoded, count, bytes_used);
}

Status LevelDbBlockStore::erase(const BlockKey& key) {
  POST_TRY_ASSIGN(auto old_size, stored_size(key.encode()));
  if (!old_size) return ok_status();
  return write(key, std::nullopt, count_ - 1, bytes_used_ - *old_size);
}

bool LevelDbBlockStore::contains(const BlockKey& key) {
  auto size = stored_size(key.encode());
  return size.ok() && size->has_value();
}

bool LevelDbBlockStore::visit_between(const Id& from, const Id& to, const BlockVisitor& visit) {
  // Scans read every block they pass; keep them out of the cache that serves lookups.
  leveldb::ReadOptions scan;
  scan.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(scan));
  auto start = BlockKey{from, 0}.encode();
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    auto key = BlockKey::decode(view(it->key()));
    if (!key) continue;  // the meta record
    if (key->handle > to) return true;
    if (!visit(*key, it->value().size())) return false;
  }
  if (!it->status().ok()) {
    logger()->error("block store in {}: scan from {} stopped: {}", dir_, from.short_hex(),
                    it->status().ToString());
  }
  return true;
}

void LevelDbBlockStore::for_each_in_range(const Id& from, const Id& to, const BlockVisitor& visit) {
  if (!wraps(from, to)) {
    visit_between(from, to, visit);
  } else if (visit_between(from, Id::max(), visit)) {
    visit_between(Id(), to, visit);
  }
}

void LevelDbBlockStore::for_each(const BlockVisitor& visit) {
  visit_between(Id(), Id::max(), visit);
}

}  // namespace post::past
