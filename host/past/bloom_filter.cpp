#include "host/past/bloom_filter.h"

#include <algorithm>
#include <cstring>

#include "host/past/errors.h"

namespace post::past {

namespace {

// splitmix64's finaliser: spreads a seeded word over all 64 bits.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t word(const Id& id, int index) {
  std::uint64_t w;
  std::memcpy(&w, id.bytes().data() + 8 * index, sizeof w);
  return w;
}

}  // namespace

BloomFilter::BloomFilter(std::size_t expected, std::uint64_t seed) : hashes_(7), seed_(seed) {
  // About 10 bits per handle with 7 hashes: under 1% false positives.
  std::uint64_t bits = std::clamp<std::uint64_t>(expected * 10, 64, kMaxBits);
  bits_.assign((bits + 7) / 8, 0);
}

Result<BloomFilter> BloomFilter::from_bytes(ByteView bits, std::uint32_t hashes,
                                            std::uint64_t seed) {
  if (bits.empty() || bits.size() * 8 > kMaxBits || hashes == 0 || hashes > kMaxHashes) {
    return make_error(PastErrc::kMalformedMessage,
                      "a summary filter of " + std::to_string(bits.size()) + " bytes and " +
                          std::to_string(hashes) + " hashes");
  }
  return BloomFilter(Bytes(bits.begin(), bits.end()), hashes, seed);
}

std::uint64_t BloomFilter::position(const Id& handle, std::uint32_t i) const {
  std::uint64_t h1 = mix(word(handle, 0) ^ seed_);
  std::uint64_t h2 = mix(word(handle, 1) ^ (seed_ * 0x9e3779b97f4a7c15ULL)) | 1;
  return (h1 + i * h2) % (bits_.size() * 8);
}

void BloomFilter::insert(const Id& handle) {
  for (std::uint32_t i = 0; i < hashes_; ++i) {
    auto p = position(handle, i);
    bits_[p / 8] = static_cast<std::uint8_t>(bits_[p / 8] | (1u << (p % 8)));
  }
}

bool BloomFilter::may_contain(const Id& handle) const {
  for (std::uint32_t i = 0; i < hashes_; ++i) {
    auto p = position(handle, i);
    if ((bits_[p / 8] & (1u << (p % 8))) == 0) return false;
  }
  return true;
}

}  // namespace post::past
