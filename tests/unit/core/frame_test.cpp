#include "host/core/frame.h"

#include <gtest/gtest.h>

#include "host/core/log.h"
#include "host/core/proto/identity.pb.h"

namespace post::wire {
namespace {

TEST(Frame, HeaderIsBigEndianLengthThenVersion) {
  Bytes f = encode_frame(as_bytes("hi"));
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0], 0);
  EXPECT_EQ(f[3], 3);  // version byte + 2 body bytes
  EXPECT_EQ(f[4], kFrameVersion);
  EXPECT_EQ(f[5], 'h');
}

TEST(FrameDecoder, ReassemblesFramesFedOneByteAtATime) {
  Bytes stream = encode_frame(as_bytes("first"));
  Bytes second = encode_frame(as_bytes(""));
  Bytes third = encode_frame(as_bytes("third"));
  stream.insert(stream.end(), second.begin(), second.end());
  stream.insert(stream.end(), third.begin(), third.end());
  FrameDecoder d;
  std::vector<std::string> bodies;
  for (auto byte : stream) {
    d.feed(ByteView(&byte, 1));
    for (;;) {
      auto next = d.next();
      ASSERT_TRUE(next.ok());
      if (!*next) break;
      bodies.push_back(to_string(**next));
    }
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"first", "", "third"}));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, RefusesAnOversizedFrameFromItsHeaderAlone) {
  Bytes header = {0x7f, 0xff, 0xff, 0xff, kFrameVersion};
  FrameDecoder d;
  d.feed(header);
  auto next = d.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, CoreErrc::kFrameTooLarge);
  // The error sticks: the stream cannot be resynchronised.
  d.feed(encode_frame(as_bytes("ok")));
  EXPECT_FALSE(d.next().ok());
}

TEST(FrameDecoder, AppliesALowerLimitWhenAsked) {
  FrameDecoder d(100);
  d.feed(encode_frame(Bytes(200)));
  auto next = d.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, CoreErrc::kFrameTooLarge);
}

TEST(FrameDecoder, RefusesZeroLengthAndUnknownVersion) {
  FrameDecoder zero;
  zero.feed(Bytes{0, 0, 0, 0, kFrameVersion});
  EXPECT_EQ(zero.next().error().code, CoreErrc::kFrameTruncated);
  FrameDecoder version;
  version.feed(Bytes{0, 0, 0, 1, 9});
  EXPECT_EQ(version.next().error().code, CoreErrc::kBadFrameVersion);
}

TEST(FrameDecoder, WaitsForATruncatedFrame) {
  Bytes f = encode_frame(as_bytes("truncated"));
  f.resize(f.size() - 3);
  FrameDecoder d;
  d.feed(f);
  auto next = d.next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(d.buffered(), f.size());
}

TEST(DecodeMessage, RoundTripsAndRefusesGarbage) {
  proto::CaCertificateBody body;
  body.set_name("ca");
  body.set_created(12);
  Bytes bytes = encode_message(body);
  auto back = decode_message<proto::CaCertificateBody>(bytes, "test body");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->name(), "ca");
  Bytes garbage = {0xff, 0xff, 0xff, 0xff, 0xff};
  auto bad = decode_message<proto::CaCertificateBody>(garbage, "test body");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, CoreErrc::kDecodeFailed);
  EXPECT_NE(bad.error().message.find("test body"), std::string::npos);
}

// A peer's bytes with a string field that is not UTF-8: the decode fails with our error, and
// libprotobuf's own complaint goes to the "protobuf" logger at debug level, not to the log a
// peer could otherwise fill at will.
TEST(DecodeMessage, ProtobufsOwnComplaintsAboutPeerBytesStayOutOfTheInfoLog) {
  (void)log::get("core");  // the log registry, which routes libprotobuf's messages
  const Bytes not_utf8 = {0x12, 0x02, 0xff, 0xfe};  // UserCertificateBody.name = ff fe
  ::testing::internal::CaptureStderr();
  auto decoded = decode_message<proto::UserCertificateBody>(not_utf8, "user certificate body");
  std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(printed.find("UTF-8"), std::string::npos) << printed;
}

}  // namespace
}  // namespace post::wire
