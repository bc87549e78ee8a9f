#include "host/net/address.h"

#include <gtest/gtest.h>

#include "host/net/errors.h"

namespace post::net {
namespace {

TEST(Address, ParsesV4V6AndLocalhost) {
  auto a = Address::parse("10.1.2.3:4000");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->v4_host_order(), 0x0a010203u);
  EXPECT_EQ(a->port, 4000);
  EXPECT_EQ(a->to_string(), "10.1.2.3:4000");
  EXPECT_EQ(Address::parse("localhost:1").value().to_string(), "127.0.0.1:1");
  auto v6 = Address::parse("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->to_string(), "[::1]:80");
}

TEST(Address, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "host:80",
                          "[::1]80", "1.2.3.4:80x", "999.1.1.1:2"}) {
    auto r = Address::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, NetErrc::kBadAddress);
  }
}

TEST(NodeHandle, PrintsShortIdAndAddress) {
  NodeHandle h{Id::max(), Address::v4(0x0a000001, 1)};
  EXPECT_EQ(h.to_string(), "ffffffff@10.0.0.1:1");
}

}  // namespace
}  // namespace post::net
