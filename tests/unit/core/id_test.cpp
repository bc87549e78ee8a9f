#include "host/core/id.h"

#include <gtest/gtest.h>

#include "host/core/random.h"

namespace post {
namespace {

Id hex(std::string_view text) {
  std::string full(text);
  full.insert(0, 64 - full.size(), '0');  // left-pad: hex("ff") is 0x...00ff
  auto id = Id::from_hex(full);
  EXPECT_TRUE(id.ok()) << text;
  return *id;
}

TEST(Id, HexRoundTripsAndOrdersNumerically) {
  Id a = hex("1");
  Id b = hex("100");
  EXPECT_LT(a, b);
  EXPECT_EQ(Id::from_hex(b.to_hex()).value(), b);
  EXPECT_EQ(a.to_hex(), std::string(63, '0') + "1");
  EXPECT_EQ(Id::max().short_hex(), "ffffffff");
}

TEST(Id, RefusesBadHexAndBadLength) {
  EXPECT_FALSE(Id::from_hex("abc").ok());
  EXPECT_FALSE(Id::from_hex(std::string(63, '0') + "g").ok());
  EXPECT_FALSE(Id::from_hex(std::string(66, '0')).ok());
  EXPECT_FALSE(Id::from_bytes(Bytes(31)).ok());
  EXPECT_TRUE(Id::from_bytes(Bytes(32)).ok());
}

TEST(Id, DigitsInBaseSixteenAreNibblesFromTheTop) {
  Id id = Id::from_hex("a5" + std::string(60, '0') + "0f").value();
  EXPECT_EQ(Id::digit_count(4), 64);
  EXPECT_EQ(id.digit(0, 4), 0xa);
  EXPECT_EQ(id.digit(1, 4), 0x5);
  EXPECT_EQ(id.digit(62, 4), 0x0);
  EXPECT_EQ(id.digit(63, 4), 0xf);
  EXPECT_EQ(id.digit(0, 8), 0xa5);
  EXPECT_EQ(id.digit(0, 1), 1);
  EXPECT_EQ(id.digit(1, 1), 0);
  EXPECT_EQ(id.digit(0, 2), 2);  // 0b10
}

TEST(Id, DigitsOfOddWidthsCoverEveryBitOnce) {
  Rng rng(7);
  for (int b = 1; b <= Id::kMaxDigitBits; ++b) {
    Id id = rng.random_id();
    Id rebuilt;
    for (int i = 0; i < Id::digit_count(b); ++i) rebuilt = rebuilt.with_digit(i, b, id.digit(i, b));
    EXPECT_EQ(rebuilt, id) << "b=" << b;
  }
  EXPECT_EQ(Id::digit_count(3), 86);  // the last digit holds the one remaining bit
  EXPECT_EQ(Id::max().digit(85, 3), 1);
}

TEST(Id, WithDigitReplacesOnlyThatDigit) {
  Id id = hex("0");
  Id changed = id.with_digit(1, 4, 0xc);
  EXPECT_EQ(changed.to_hex(), "0c" + std::string(62, '0'));
  EXPECT_EQ(changed.with_digit(1, 4, 0), id);
}

TEST(Id, SharedPrefixLengthCountsWholeDigits) {
  Id a = Id::from_hex("abcd" + std::string(60, '0')).value();
  Id b = Id::from_hex("abce" + std::string(60, '0')).value();
  EXPECT_EQ(a.shared_prefix_length(b, 4), 3);
  EXPECT_EQ(a.shared_prefix_length(b, 8), 1);
  // 0xd = 1101, 0xe = 1110: 14 leading bits shared -> 14 with b=1, 7 with b=2.
  EXPECT_EQ(a.shared_prefix_length(b, 1), 14);
  EXPECT_EQ(a.shared_prefix_length(b, 2), 7);
  EXPECT_EQ(a.shared_prefix_length(a, 4), 64);
  EXPECT_EQ(hex("0").shared_prefix_length(Id::max(), 4), 0);
}

TEST(Id, ArithmeticWrapsAroundTheRing) {
  Id one = hex("1");
  EXPECT_EQ(Id::max() + one, Id());
  EXPECT_EQ(Id() - one, Id::max());
  EXPECT_EQ(hex("10") - hex("1"), hex("f"));
  EXPECT_EQ(Id::power_of_two(255) + Id::power_of_two(255), Id());
  EXPECT_EQ(Id::power_of_two(4), hex("10"));
}

TEST(Id, DistancesAcrossZero) {
  Id near_top = Id::max() - hex("4");  // 2^256 - 5
  Id near_zero = hex("3");
  EXPECT_EQ(near_top.clockwise_distance(near_zero), hex("8"));
  EXPECT_EQ(near_zero.counter_clockwise_distance(near_top), hex("8"));
  EXPECT_EQ(near_zero.clockwise_distance(near_top), Id() - hex("8"));
  EXPECT_EQ(near_top.distance(near_zero), hex("8"));
  EXPECT_EQ(near_zero.distance(near_top), hex("8"));
}

TEST(Id, ClosenessPrefersTheShorterWayAroundTheRing) {
  Id key = hex("0");
  Id just_below_zero = Id::max();  // distance 1, across the wrap
  Id above = hex("2");             // distance 2
  EXPECT_TRUE(is_closer(key, just_below_zero, above));
  EXPECT_FALSE(is_closer(key, above, just_below_zero));
}

TEST(Id, EqualDistancesBreakTowardTheSmallerId) {
  Id key = hex("10");
  Id below = hex("c");   // distance 4
  Id above = hex("14");  // distance 4
  EXPECT_LT(compare_closeness(key, below, above), 0);
  EXPECT_GT(compare_closeness(key, above, below), 0);
  EXPECT_EQ(compare_closeness(key, above, above), 0);
  // Across zero: key 0 with candidates at +2 and -2 (= 2^256 - 2); the smaller id is 2.
  Id plus_two = hex("2");
  Id minus_two = Id() - hex("2");
  EXPECT_TRUE(is_closer(Id(), plus_two, minus_two));
}

TEST(Id, OppositePointIsHalfTheRingAwayBothWays) {
  Id half = Id::power_of_two(255);
  EXPECT_EQ(Id().distance(half), half);
  EXPECT_EQ(half.distance(Id()), half);
}

TEST(Id, ClockwiseArcIncludesEndsAndWraps) {
  Id a = Id::max() - hex("f");
  Id b = hex("f");
  EXPECT_TRUE(in_clockwise_arc(Id(), a, b));
  EXPECT_TRUE(in_clockwise_arc(a, a, b));
  EXPECT_TRUE(in_clockwise_arc(b, a, b));
  EXPECT_FALSE(in_clockwise_arc(hex("10"), a, b));
  EXPECT_TRUE(in_clockwise_arc(hex("10"), b, a));
}

TEST(Id, MidpointLiesHalfwayClockwise) {
  EXPECT_EQ(hex("10").midpoint(hex("20")), hex("18"));
  EXPECT_EQ((Id::max() - hex("3")).midpoint(hex("4")), Id::max() + hex("1"));  // wraps to 0
}

TEST(Id, HashOfIsSha256) {
  // SHA-256("abc"), FIPS 180-2.
  EXPECT_EQ(Id::hash_of(as_bytes("abc")).to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace post
