// Accounts on a small simulated PAST ring: a user published by the CA is found by email from
// any node, with the newest identity; identities only move forward; forged certificates and
// identities are refused.
#include "host/post/account.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/past/errors.h"
#include "tests/unit/post/test_users.h"
#include "tools/post-sim/past_scenario.h"

namespace post::services {
namespace {

using namespace std::chrono_literals;
using sim::PastRing;
using sim::SimNode;

constexpr std::int64_t kNow = 1'800'000'000;

TestUser make_user(const CaKey& ca, const std::string& email) {
  return make_test_user(ca, email, kNow);
}

class AccountRing : public ::testing::Test {
 protected:
  AccountRing() : ca(create_ca("accounts CA", kNow - 1000).value()) {
    sim::SimRingConfig ring;
    ring.nodes = 12;
    ring.seed = 23;
    ring.pastry.leaf_set_size = 8;
    past::PastConfig past;
    past.replicas = 3;
    ring_ = std::make_unique<PastRing>(ring, past, ca.certificate.public_key);
    EXPECT_TRUE(ring_->build().failed.empty());
    ring_->ring().run_for(20s);
  }

  UserDirectory& directory(SimNode node) {
    auto& slot = directories_[node];
    if (!slot) {
      slot = std::make_unique<UserDirectory>(*ring_->past(node), ca.certificate);
    }
    return *slot;
  }

  template <class T>
  T wait(std::optional<T>& out) {
    for (int i = 0; i < 120 && !out; ++i) ring_->ring().run_for(1s);
    EXPECT_TRUE(out.has_value()) << "no answer within two virtual minutes";
    return std::move(*out);
  }

  Status publish(SimNode node, const past::Block& block) {
    std::optional<Status> out;
    directory(node).publish_certificate(block, [&](Status s) { out = std::move(s); });
    return wait(out);
  }

  Result<std::uint64_t> update(SimNode node, const TestUser& user, const Identity& identity,
                               std::uint64_t version) {
    std::optional<Result<std::uint64_t>> out;
    directory(node).update_identity(user.keys, identity, version,
                                    [&](Result<std::uint64_t> r) { out = std::move(r); });
    return wait(out);
  }

  Result<UserRecord> find(SimNode node, const std::string& email) {
    std::optional<Result<UserRecord>> out;
    directory(node).find(email, kNow, [&](Result<UserRecord> r) { out = std::move(r); });
    return wait(out);
  }

  std::vector<SimNode> members() { return ring_->ring().members(); }

  CaKey ca;
  std::unique_ptr<PastRing> ring_;
  std::map<SimNode, std::unique_ptr<UserDirectory>> directories_;
};

Identity identity_at(const net::NodeHandle& node, std::string presence) {
  Identity id;
  id.contact = node;
  id.log_heads.push_back(LogHeadRef{"inbox", Id::hash_of(as_bytes(std::string("inbox head")))});
  id.presence = to_bytes(presence);
  return id;
}

TEST_F(AccountRing, APublishedUserIsFoundByEmailFromAnyNodeWithTheNewestIdentity) {
  auto ada = make_user(ca, "ada@example.org");
  auto nodes = members();
  ASSERT_TRUE(publish(nodes[0], make_user_certificate_block(ca, ada.certificate).value()).ok());

  // Before any identity: the certificate alone.
  auto found = find(nodes[5], "ada@example.org");
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(found->certificate.signing_key, ada.certificate.signing_key);
  EXPECT_FALSE(found->identity.has_value());

  const auto& home = ring_->ring().node(nodes[1])->local();
  ASSERT_EQ(update(nodes[1], ada, identity_at(home, "online"), 100).value(), 100u);
  // A clock that went back still moves the version forward.
  ASSERT_EQ(update(nodes[1], ada, identity_at(home, "away"), 50).value(), 101u);

  for (SimNode reader : {nodes[3], nodes[7], nodes[11]}) {
    auto r = find(reader, "ada@example.org");
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_TRUE(r->identity.has_value());
    EXPECT_EQ(r->identity->version, 101u);
    EXPECT_EQ(r->identity->presence, to_bytes("away"));
    ASSERT_TRUE(r->identity->contact.has_value());
    EXPECT_EQ(r->identity->contact->id, home.id);
    EXPECT_EQ(r->identity->log_heads, identity_at(home, "").log_heads);
  }
  auto nobody = find(nodes[2], "nobody@example.org");
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().code, past::PastErrc::kNotFound) << nobody.error().to_string();
}

TEST_F(AccountRing, AReaderThatSawANewerIdentityRefusesAnOlderOne) {
  auto ada = make_user(ca, "ada@example.org");
  auto nodes = members();
  ASSERT_TRUE(publish(nodes[0], make_user_certificate_block(ca, ada.certificate).value()).ok());
  const auto& home = ring_->ring().node(nodes[1])->local();
  ASSERT_TRUE(update(nodes[1], ada, identity_at(home, "v5"), 5).ok());
  ASSERT_EQ(find(nodes[4], "ada@example.org")->identity->version, 5u);

  // Every replica is rolled back to version 3 behind PAST's back (a replica set that lies).
  auto old_block = make_identity_block(ada.keys, identity_at(home, "v3"), 3).value();
  Id handle = past::public_key_handle(ada.certificate.signing_key);
  for (SimNode n : ring_->holders(handle)) {
    ASSERT_TRUE(ring_->store(n)->put(past::BlockKey{handle}, old_block.encoded).ok());
  }
  auto rolled = find(nodes[4], "ada@example.org");
  ASSERT_FALSE(rolled.ok());
  EXPECT_EQ(rolled.error().code, past::PastErrc::kStaleTimestamp) << rolled.error().to_string();
}

TEST(Accounts, ForgedCertificatesAndIdentitiesAreRefused) {
  CaKey ca = create_ca("real CA", kNow - 1000).value();
  CaKey rogue = create_ca("rogue CA", kNow - 1000).value();
  auto ada = make_user(ca, "ada@example.org");

  // A certificate block signed by another CA, and one naming another user.
  auto by_rogue = make_user_certificate_block(rogue, ada.certificate).value();
  EXPECT_FALSE(read_user_certificate_block(by_rogue, ca.certificate, kNow).ok());
  auto misnamed = past::make_certificate_block(ca.signing_key, "user:eve@example.org",
                                               ada.certificate.encoded)
                      .value();
  auto r = read_user_certificate_block(misnamed, ca.certificate, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CoreErrc::kBadCertificate);
  auto good = read_user_certificate_block(make_user_certificate_block(ca, ada.certificate).value(),
                                          ca.certificate, kNow);
  ASSERT_TRUE(good.ok()) << good.error().to_string();

  // An identity signed by someone else's key is not Ada's.
  auto eve = make_user(ca, "eve@example.org");
  auto eves = make_identity_block(eve.keys, Identity{}, 7).value();
  auto forged = read_identity_block(eves, ada.certificate);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, CoreErrc::kBadSignature);
  auto own = read_identity_block(make_identity_block(ada.keys, Identity{}, 7).value(),
                                 ada.certificate);
  ASSERT_TRUE(own.ok()) << own.error().to_string();
  EXPECT_EQ(own->version, 7u);

  // Bounds are checked when building.
  Identity big;
  big.presence = Bytes(kMaxPresenceBytes + 1, 1);
  EXPECT_EQ(make_identity_block(ada.keys, big, 1).error().code, CoreErrc::kBadLength);
}

}  // namespace
}  // namespace post::services
