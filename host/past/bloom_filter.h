// BloomFilter over block handles, for replica maintenance summaries: "here is what I hold in
// this range; tell me what you hold that is not in it". A false positive hides a handle from
// one round only, because every round uses a fresh seed.
#pragma once

#include <cstdint>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"

namespace post::past {

class BloomFilter {
 public:
  // Largest filter accepted from a peer (bits): 8 Mi bits = 1 MiB.
  static constexpr std::uint64_t kMaxBits = std::uint64_t{8} << 20;
  static constexpr std::uint32_t kMaxHashes = 16;

  // A filter sized for `expected` handles at about 1% false positives.
  BloomFilter(std::size_t expected, std::uint64_t seed);
  // A filter received from a peer; an error when its size or hash count is out of bounds.
  static Result<BloomFilter> from_bytes(ByteView bits, std::uint32_t hashes, std::uint64_t seed);

  void insert(const Id& handle);
  bool may_contain(const Id& handle) const;

  const Bytes& bits() const { return bits_; }
  std::uint32_t hashes() const { return hashes_; }
  std::uint64_t seed() const { return seed_; }

 private:
  BloomFilter(Bytes bits, std::uint32_t hashes, std::uint64_t seed)
      : bits_(std::move(bits)), hashes_(hashes), seed_(seed) {}
  // The i-th bit position for `handle` (double hashing over two seeded words of the handle).
  std::uint64_t position(const Id& handle, std::uint32_t i) const;

  Bytes bits_;
  std::uint32_t hashes_;
  std::uint64_t seed_;
};

}  // namespace post::past
