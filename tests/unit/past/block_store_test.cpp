#include "host/past/block_store.h"

#include <fstream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <leveldb/db.h>

#include "host/past/errors.h"
#include "tests/support/test_support.h"

namespace post::past {
namespace {

// An id whose first byte is `first` and last byte `last`, the rest zero.
Id id_at(std::uint8_t first, std::uint8_t last = 0) {
  Id::Array bytes{};
  bytes.front() = first;
  bytes.back() = last;
  return Id(bytes);
}

BlockKey key_at(std::uint8_t first, std::uint8_t last = 0) {
  return BlockKey{id_at(first, last)};
}

Bytes block_of(std::size_t size, std::uint8_t fill = 0x5a) {
  return Bytes(size, fill);
}

// ---- the contract, for every implementation ---------------------------------------------

struct MemoryStores {
  static constexpr const char* kName = "Memory";
  std::unique_ptr<BlockStore> open() { return std::make_unique<MemoryBlockStore>(); }
};

struct LevelDbStores {
  static constexpr const char* kName = "LevelDb";
  testing::TempDir dir;
  std::unique_ptr<BlockStore> open() {
    auto store = LevelDbBlockStore::open(dir.file("blocks"));
    EXPECT_TRUE(store.ok()) << store.error().to_string();
    return std::move(store).value();
  }
};

struct ImplementationName {
  template <class Stores>
  static std::string GetName(int) {
    return Stores::kName;
  }
};

template <class Stores>
struct BlockStores : ::testing::Test {
  Stores stores;
  std::unique_ptr<BlockStore> store = stores.open();

  // The keys visited on the arc from `from` to `to`, in visiting order.
  std::vector<BlockKey> keys_in_range(const Id& from, const Id& to) {
    std::vector<BlockKey> keys;
    store->for_each_in_range(from, to, [&](const BlockKey& key, std::uint64_t) {
      keys.push_back(key);
      return true;
    });
    return keys;
  }
  void put_all(std::initializer_list<BlockKey> keys) {
    for (const BlockKey& key : keys) ASSERT_TRUE(store->put(key, block_of(10)).ok());
  }
};

using Implementations = ::testing::Types<MemoryStores, LevelDbStores>;
TYPED_TEST_SUITE(BlockStores, Implementations, ImplementationName);

TYPED_TEST(BlockStores, GetReturnsTheExactBytesPut) {
  Bytes encoded = {0x00, 0x01, 0xff, 0x00, 0x7f};
  ASSERT_TRUE(this->store->put(key_at(1), encoded).ok());
  auto got = this->store->get(key_at(1));
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, encoded);
  EXPECT_TRUE(this->store->contains(key_at(1)));
}

TYPED_TEST(BlockStores, MissingKeyIsAbsentNotAnError) {
  auto got = this->store->get(key_at(1));
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_FALSE(got->has_value());
  EXPECT_FALSE(this->store->contains(key_at(1)));
}

TYPED_TEST(BlockStores, EmptyBlockIsStoredAndCounted) {
  ASSERT_TRUE(this->store->put(key_at(1), Bytes()).ok());
  EXPECT_TRUE(this->store->contains(key_at(1)));
  EXPECT_EQ(this->store->count(), 1u);
  EXPECT_EQ(this->store->bytes_used(), 0u);
}

TYPED_TEST(BlockStores, PutReplacesAndKeepsCountAndBytesExact) {
  ASSERT_TRUE(this->store->put(key_at(1), block_of(100)).ok());
  ASSERT_TRUE(this->store->put(key_at(2), block_of(50)).ok());
  EXPECT_EQ(this->store->count(), 2u);
  EXPECT_EQ(this->store->bytes_used(), 150u);
  ASSERT_TRUE(this->store->put(key_at(1), block_of(30, 0x11)).ok());
  EXPECT_EQ(this->store->count(), 2u);
  EXPECT_EQ(this->store->bytes_used(), 80u);
  EXPECT_EQ(**this->store->get(key_at(1)), block_of(30, 0x11));
}

TYPED_TEST(BlockStores, EraseRemovesAndIsFineWhenAbsent) {
  ASSERT_TRUE(this->store->put(key_at(1), block_of(100)).ok());
  ASSERT_TRUE(this->store->put(key_at(2), block_of(50)).ok());
  ASSERT_TRUE(this->store->erase(key_at(1)).ok());
  EXPECT_FALSE(this->store->contains(key_at(1)));
  EXPECT_TRUE(this->store->contains(key_at(2)));
  EXPECT_EQ(this->store->count(), 1u);
  EXPECT_EQ(this->store->bytes_used(), 50u);
  ASSERT_TRUE(this->store->erase(key_at(1)).ok());
  ASSERT_TRUE(this->store->erase(key_at(3)).ok());
  EXPECT_EQ(this->store->count(), 1u);
  EXPECT_EQ(this->store->bytes_used(), 50u);
}

TYPED_TEST(BlockStores, FragmentsOfOneHandleAreSeparateKeys) {
  const Id handle = id_at(7);
  ASSERT_TRUE(this->store->put(BlockKey{handle, 0}, block_of(1)).ok());
  ASSERT_TRUE(this->store->put(BlockKey{handle, 1}, block_of(2)).ok());
  ASSERT_TRUE(this->store->put(BlockKey{handle}, block_of(3)).ok());
  EXPECT_EQ(this->store->count(), 3u);
  EXPECT_EQ((**this->store->get(BlockKey{handle, 1})).size(), 2u);
  EXPECT_EQ((**this->store->get(BlockKey{handle, kWholeBlock})).size(), 3u);
  // Visited in fragment order, the whole replica last.
  EXPECT_EQ(this->keys_in_range(handle, handle),
            (std::vector<BlockKey>{{handle, 0}, {handle, 1}, {handle, kWholeBlock}}));
}

TYPED_TEST(BlockStores, RangeIncludesBothEndsAndNothingOutside) {
  this->put_all({key_at(0x10), key_at(0x20), key_at(0x30), key_at(0x40)});
  EXPECT_EQ(this->keys_in_range(id_at(0x20), id_at(0x30)),
            (std::vector<BlockKey>{key_at(0x20), key_at(0x30)}));
  EXPECT_EQ(this->keys_in_range(id_at(0x11), id_at(0x2f)), (std::vector<BlockKey>{key_at(0x20)}));
  EXPECT_TRUE(this->keys_in_range(id_at(0x41), id_at(0xf0)).empty());
  // A handle one above the end is outside the arc.
  this->put_all({key_at(0x30, 1)});
  EXPECT_EQ(this->keys_in_range(id_at(0x20), id_at(0x30)),
            (std::vector<BlockKey>{key_at(0x20), key_at(0x30)}));
}

TYPED_TEST(BlockStores, RangeWrapsThroughZeroInClockwiseOrder) {
  BlockKey at_max{Id::max()};
  BlockKey at_zero{Id()};
  this->put_all({at_zero, key_at(0x10), key_at(0x80), key_at(0xf0), at_max});
  EXPECT_EQ(this->keys_in_range(id_at(0xf0), id_at(0x10)),
            (std::vector<BlockKey>{key_at(0xf0), at_max, at_zero, key_at(0x10)}));
  EXPECT_EQ(this->keys_in_range(Id::max(), Id()), (std::vector<BlockKey>{at_max, at_zero}));
  EXPECT_EQ(this->keys_in_range(id_at(0x81), id_at(0x0f)),
            (std::vector<BlockKey>{key_at(0xf0), at_max, at_zero}));
}

TYPED_TEST(BlockStores, RangeFromAnIdToItselfIsThatPoint) {
  this->put_all({key_at(0x10), key_at(0x20)});
  EXPECT_EQ(this->keys_in_range(id_at(0x20), id_at(0x20)), (std::vector<BlockKey>{key_at(0x20)}));
  EXPECT_TRUE(this->keys_in_range(id_at(0x21), id_at(0x21)).empty());
}

TYPED_TEST(BlockStores, VisitorStopsWhenItReturnsFalseEvenAcrossZero) {
  this->put_all({key_at(0x10), key_at(0xf0), key_at(0xf8)});
  int visited = 0;
  this->store->for_each_in_range(id_at(0xf0), id_at(0x10),
                                 [&](const BlockKey&, std::uint64_t) { return ++visited < 2; });
  EXPECT_EQ(visited, 2);
  visited = 0;
  this->store->for_each([&](const BlockKey&, std::uint64_t) { return ++visited < 1; });
  EXPECT_EQ(visited, 1);
}

TYPED_TEST(BlockStores, ForEachVisitsEveryKeyInOrderWithItsSize) {
  ASSERT_TRUE(this->store->put(key_at(0x30), block_of(3)).ok());
  ASSERT_TRUE(this->store->put(key_at(0x10), block_of(1)).ok());
  ASSERT_TRUE(this->store->put(BlockKey{Id::max()}, block_of(9)).ok());
  std::vector<std::pair<BlockKey, std::uint64_t>> seen;
  this->store->for_each([&](const BlockKey& key, std::uint64_t size) {
    seen.emplace_back(key, size);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::pair<BlockKey, std::uint64_t>>{
                      {key_at(0x10), 1}, {key_at(0x30), 3}, {BlockKey{Id::max()}, 9}}));
}

// ---- keys -------------------------------------------------------------------------------

TEST(BlockKeys, EncodeAsHandleThenBigEndianFragmentAndDecodeBack) {
  BlockKey key{id_at(0xab, 0xcd), 0x0102};
  auto encoded = key.encode();
  ASSERT_EQ(encoded.size(), 34u);
  EXPECT_EQ(encoded[0], 0xab);
  EXPECT_EQ(encoded[31], 0xcd);
  EXPECT_EQ(encoded[32], 0x01);
  EXPECT_EQ(encoded[33], 0x02);
  EXPECT_EQ(BlockKey::decode(encoded), key);
  EXPECT_FALSE(BlockKey::decode(ByteView(encoded).first(33)).has_value());
}

TEST(BlockKeys, OrderIsHandleThenFragmentLikeTheirEncodings) {
  BlockKey a{id_at(1), kWholeBlock};
  BlockKey b{id_at(2), 0};
  BlockKey c{id_at(2), 1};
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(a.encode(), b.encode());
  EXPECT_LT(b.encode(), c.encode());
}

// ---- LevelDB: durability and the directory ----------------------------------------------

TEST(LevelDbBlockStores, ReopeningKeepsBlocksAndCounts) {
  testing::TempDir dir;
  {
    auto store = LevelDbBlockStore::open(dir.file("blocks")).value();
    ASSERT_TRUE(store->put(key_at(1), block_of(100)).ok());
    ASSERT_TRUE(store->put(key_at(2), block_of(200)).ok());
    ASSERT_TRUE(store->put(key_at(3), block_of(300)).ok());
    ASSERT_TRUE(store->erase(key_at(2)).ok());
  }
  auto store = LevelDbBlockStore::open(dir.file("blocks"));
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  EXPECT_EQ((*store)->count(), 2u);
  EXPECT_EQ((*store)->bytes_used(), 400u);
  EXPECT_EQ(**(*store)->get(key_at(3)), block_of(300));
  EXPECT_FALSE((*store)->contains(key_at(2)));
}

TEST(LevelDbBlockStores, ADirectoryAlreadyOpenIsRefusedNamingIt) {
  testing::TempDir dir;
  auto first = LevelDbBlockStore::open(dir.file("blocks"));
  ASSERT_TRUE(first.ok());
  auto second = LevelDbBlockStore::open(dir.file("blocks"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, PastErrc::kStorageFailure);
  EXPECT_NE(second.error().message.find(dir.file("blocks")), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("another"), std::string::npos) << second.error().message;
}

TEST(LevelDbBlockStores, AnUnusablePathIsRefusedNamingIt) {
  testing::TempDir dir;
  std::ofstream(dir.file("file")) << "not a directory";
  auto store = LevelDbBlockStore::open(dir.file("file"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, PastErrc::kStorageFailure);
  EXPECT_NE(store.error().message.find(dir.file("file")), std::string::npos)
      << store.error().message;
}

TEST(LevelDbBlockStores, BlocksWrittenWithoutTheMetaRecordAreCountedOnOpen) {
  testing::TempDir dir;
  {
    // A database holding two blocks and no meta record, as a damaged or hand-made one might.
    leveldb::Options options;
    options.create_if_missing = true;
    leveldb::DB* raw = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(options, dir.file("blocks"), &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    for (auto [key, size] : {std::pair{key_at(1), 10}, std::pair{key_at(2), 20}}) {
      auto k = key.encode();
      std::string value(static_cast<std::size_t>(size), 'v');
      ASSERT_TRUE(
          db->Put({}, leveldb::Slice(reinterpret_cast<const char*>(k.data()), k.size()), value)
              .ok());
    }
  }
  {
    auto store = LevelDbBlockStore::open(dir.file("blocks")).value();
    EXPECT_EQ(store->count(), 2u);
    EXPECT_EQ(store->bytes_used(), 30u);
    ASSERT_TRUE(store->put(key_at(3), block_of(5)).ok());
  }
  // The meta record written then is kept up to date by later writes.
  auto store = LevelDbBlockStore::open(dir.file("blocks")).value();
  EXPECT_EQ(store->count(), 3u);
  EXPECT_EQ(store->bytes_used(), 35u);
}

}  // namespace
}  // namespace post::past
