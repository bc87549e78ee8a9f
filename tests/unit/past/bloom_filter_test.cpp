// BloomFilter: no false negatives, about 1% false positives, a fresh seed moves them, and a
// filter from a peer is bounded.
#include "host/past/bloom_filter.h"

#include <gtest/gtest.h>

#include "host/core/random.h"

namespace post::past {
namespace {

TEST(BloomFilter, HoldsEveryInsertedHandleAndFewOthers) {
  Rng rng(1);
  BloomFilter filter(1000, 42);
  std::vector<Id> in;
  for (int i = 0; i < 1000; ++i) in.push_back(rng.random_id());
  for (const auto& h : in) filter.insert(h);
  for (const auto& h : in) EXPECT_TRUE(filter.may_contain(h));
  int false_positives = 0;
  for (int i = 0; i < 10000; ++i) false_positives += filter.may_contain(rng.random_id()) ? 1 : 0;
  EXPECT_LT(false_positives, 300);  // about 1% expected; 3% is far outside chance
}

TEST(BloomFilter, AnotherSeedGivesOtherFalsePositives) {
  Rng rng(2);
  std::vector<Id> in, out;
  for (int i = 0; i < 200; ++i) in.push_back(rng.random_id());
  for (int i = 0; i < 20000; ++i) out.push_back(rng.random_id());
  BloomFilter a(in.size(), 1), b(in.size(), 2);
  for (const auto& h : in) {
    a.insert(h);
    b.insert(h);
  }
  int both = 0, either = 0;
  for (const auto& h : out) {
    bool fa = a.may_contain(h), fb = b.may_contain(h);
    both += fa && fb ? 1 : 0;
    either += fa || fb ? 1 : 0;
  }
  EXPECT_GT(either, 0);
  EXPECT_LT(both * 10, either);  // independent seeds rarely agree on a false positive
}

TEST(BloomFilter, RoundTripsThroughItsBytesAndRefusesBadShapes) {
  Rng rng(3);
  BloomFilter filter(50, 9);
  Id h = rng.random_id();
  filter.insert(h);
  auto copy = BloomFilter::from_bytes(filter.bits(), filter.hashes(), filter.seed());
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(copy->may_contain(h));
  EXPECT_FALSE(BloomFilter::from_bytes({}, 7, 1).ok());
  EXPECT_FALSE(BloomFilter::from_bytes(filter.bits(), 0, 1).ok());
  EXPECT_FALSE(BloomFilter::from_bytes(filter.bits(), BloomFilter::kMaxHashes + 1, 1).ok());
  Bytes huge(BloomFilter::kMaxBits / 8 + 1, 0);
  EXPECT_FALSE(BloomFilter::from_bytes(huge, 7, 1).ok());
}

}  // namespace
}  // namespace post::past
