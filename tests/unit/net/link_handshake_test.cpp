#include "host/net/link_handshake.h"

#include <gtest/gtest.h>

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/net/errors.h"
#include "host/net/proto/link.pb.h"
#include "tests/support/test_support.h"

namespace post::net {
namespace {

using testing::TestPki;

const Address kAddrA = Address::v4(0x7f000001, 4001);
const Address kAddrB = Address::v4(0x7f000001, 4002);

struct Handshake : ::testing::Test {
  TestPki pki;
  LinkIdentity a = pki.node(kAddrA);
  LinkIdentity b = pki.node(kAddrB);
  std::int64_t now = wall_clock_seconds();
};

// Runs a full handshake between two state machines; returns the frames each side sent.
struct Transcript {
  Bytes hello, reply, finish;
};

Transcript run(LinkHandshake& init, LinkHandshake& resp) {
  Transcript t;
  t.hello = init.start();
  auto r1 = resp.on_frame(t.hello);
  EXPECT_TRUE(r1.ok()) << r1.error().to_string();
  t.reply = *r1->reply;
  auto r2 = init.on_frame(t.reply);
  EXPECT_TRUE(r2.ok()) << r2.error().to_string();
  EXPECT_TRUE(r2->complete);
  t.finish = *r2->reply;
  auto r3 = resp.on_frame(t.finish);
  EXPECT_TRUE(r3.ok()) << r3.error().to_string();
  EXPECT_TRUE(r3->complete);
  return t;
}

TEST_F(Handshake, BothSidesLearnTheAuthenticatedPeer) {
  LinkHandshake init(LinkHandshake::Role::kInitiator, a, now, b.certificate.node_id);
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now);
  run(init, resp);
  ASSERT_TRUE(init.complete());
  ASSERT_TRUE(resp.complete());
  EXPECT_EQ(init.peer().handle, (NodeHandle{b.certificate.node_id, kAddrB}));
  EXPECT_EQ(resp.peer().handle, (NodeHandle{a.certificate.node_id, kAddrA}));
}

TEST_F(Handshake, CertificateFromAnotherCaIsRefused) {
  TestPki other("rogue CA");
  LinkIdentity rogue = other.node(kAddrA);
  LinkHandshake init(LinkHandshake::Role::kInitiator, rogue, now);
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now);
  auto r = resp.on_frame(init.start());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NetErrc::kHandshakeFailed);
  EXPECT_NE(r.error().message.find("not signed by the configured CA"), std::string::npos)
      << r.error().message;
  // Once failed, it stays failed.
  EXPECT_FALSE(resp.on_frame(init.start()).ok());
}

TEST_F(Handshake, InitiatorRefusesAResponderThatIsNotTheNodeItDialled) {
  Id expected = pki.node(kAddrB).certificate.node_id;
  LinkHandshake init(LinkHandshake::Role::kInitiator, a, now, expected);
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now);
  auto reply = resp.on_frame(init.start());
  ASSERT_TRUE(reply.ok());
  auto r = init.on_frame(*reply->reply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expected node"), std::string::npos);
}

TEST_F(Handshake, ReplayedHandshakeIsRefused) {
  // Record an honest handshake, then replay the initiator's frames to a fresh responder.
  LinkHandshake init(LinkHandshake::Role::kInitiator, a, now);
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now);
  Transcript recorded = run(init, resp);

  LinkHandshake victim(LinkHandshake::Role::kResponder, b, now);
  auto reply = victim.on_frame(recorded.hello);
  ASSERT_TRUE(reply.ok());  // the Hello alone proves nothing
  auto finish = victim.on_frame(recorded.finish);
  ASSERT_FALSE(finish.ok());
  EXPECT_NE(finish.error().message.find("signature does not verify"), std::string::npos);
  EXPECT_FALSE(victim.complete());
}

TEST_F(Handshake, ReplayedReplyIsRefusedByAFreshInitiator) {
  LinkHandshake init(LinkHandshake::Role::kInitiator, a, now);
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now);
  Transcript recorded = run(init, resp);
  LinkHandshake fresh(LinkHandshake::Role::kInitiator, a, now);
  fresh.start();
  EXPECT_FALSE(fresh.on_frame(recorded.reply).ok());
}

TEST_F(Handshake, ResponderWhoCannotSignIsRefused) {
  // b2 shows b's certificate but holds another key.
  LinkIdentity impostor = b;
  impostor.signing_key = crypto::generate_signing_key().private_key;
  LinkHandshake init(LinkHandshake::Role::kInitiator, a, now);
  LinkHandshake resp(LinkHandshake::Role::kResponder, impostor, now);
  auto reply = resp.on_frame(init.start());
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(init.on_frame(*reply->reply).ok());
}

TEST_F(Handshake, ExpiredCertificateIsRefused) {
  LinkHandshake init(LinkHandshake::Role::kInitiator, a, now);
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now + 10 * 86400);
  EXPECT_FALSE(resp.on_frame(init.start()).ok());
}

TEST_F(Handshake, GarbageAndOutOfOrderMessagesAreRefused) {
  LinkHandshake resp(LinkHandshake::Role::kResponder, b, now);
  Bytes garbage = {0x0a, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(resp.on_frame(garbage).ok());

  LinkHandshake resp2(LinkHandshake::Role::kResponder, b, now);
  proto::LinkFrame data;
  data.mutable_data()->set_channel(1);
  auto r = resp2.on_frame(wire::encode_message(data));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expected Hello"), std::string::npos);
}

}  // namespace
}  // namespace post::net
