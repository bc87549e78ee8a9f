#include "host/core/bytes.h"

#include <gtest/gtest.h>

#include "host/core/errors.h"

namespace post {
namespace {

TEST(Hex, RoundTripsEveryByteValue) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
  auto text = to_hex(all);
  EXPECT_EQ(text.substr(0, 6), "000102");
  EXPECT_EQ(from_hex(text).value(), all);
  EXPECT_EQ(from_hex("ABcd").value(), (Bytes{0xab, 0xcd}));
}

TEST(Hex, RefusesOddLengthAndNonDigits) {
  auto odd = from_hex("abc");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code, CoreErrc::kBadHex);
  EXPECT_FALSE(from_hex("zz").ok());
  EXPECT_FALSE(from_hex("0x").ok());
  EXPECT_TRUE(from_hex("").ok());
}

TEST(ConstantTimeEqual, ComparesContentAndSize) {
  EXPECT_TRUE(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("ab")));
}

TEST(Result, CarriesValueOrErrorWithReadableText) {
  Result<int> good = 4;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  Result<int> bad = make_error(CoreErrc::kBadLength, "an id is 32 bytes, got 3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), "core: bad length: an id is 32 bytes, got 3");
  EXPECT_EQ(bad.value_or(9), 9);
}

}  // namespace
}  // namespace post
