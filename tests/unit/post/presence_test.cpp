// Presence on a small simulated ring with PAST and Scribe: the node serving a user names
// itself in the user's identity block and announces on the user's presence group; a watcher
// subscribed to the group learns where the user is, also after the user moves to another
// node. Announcements not signed by the user are refused.
#include "host/post/presence.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

#include "host/core/crypto.h"
#include "host/core/errors.h"
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

// Records the announcements it can check, and counts those it cannot.
struct Watcher : scribe::ScribeClient {
  explicit Watcher(UserCertificate u) : user(std::move(u)) {}
  void deliver(const Id& /*group*/, ByteView payload) override {
    auto p = read_presence(payload, user);
    if (p.ok()) {
      seen.push_back(*p);
    } else {
      ++refused;
    }
  }
  UserCertificate user;
  std::vector<Presence> seen;
  int refused = 0;
};

class PresenceRing : public ::testing::Test {
 protected:
  PresenceRing() : ca(create_ca("presence CA", kNow - 1000).value()) {
    sim::SimRingConfig config;
    config.nodes = 12;
    config.seed = 31;
    config.pastry.leaf_set_size = 8;
    past::PastConfig past;
    past.replicas = 3;
    ring = std::make_unique<PastRing>(config, past, ca.certificate.public_key);
    EXPECT_TRUE(ring->build().failed.empty());
    for (SimNode n : ring->ring().members()) {
      auto& sim = ring->ring();
      scribes[n] = std::make_unique<scribe::ScribeNode>(
          *sim.node(n), sim.network().transport(n), sim.network().clock(n), scribe::ScribeConfig{},
          500 + n);
      directories[n] = std::make_unique<UserDirectory>(*ring->past(n), ca.certificate);
      PresenceConfig pc;
      pc.interval = 10s;
      announcers[n] = std::make_unique<PresenceAnnouncer>(
          *scribes[n], *directories[n], sim.network().clock(n), sim.node(n)->local(), pc);
    }
    ring->ring().run_for(20s);
  }

  ~PresenceRing() override {
    announcers.clear();
    directories.clear();
    scribes.clear();
  }

  Status serve(SimNode n, const TestUser& user, std::uint64_t version) {
    std::optional<Status> out;
    announcers[n]->serve(user.keys, user.certificate, Identity{}, version,
                         [&](Status s) { out = std::move(s); });
    for (int i = 0; i < 60 && !out; ++i) ring->ring().run_for(1s);
    return out.value_or(make_error(CoreErrc::kIoError, "no answer"));
  }

  Result<UserRecord> find(SimNode n, const std::string& email) {
    std::optional<Result<UserRecord>> out;
    directories[n]->find(email, kNow, [&](Result<UserRecord> r) { out = std::move(r); });
    for (int i = 0; i < 60 && !out; ++i) ring->ring().run_for(1s);
    return out.value_or(make_error(CoreErrc::kIoError, "no answer"));
  }

  CaKey ca;
  std::unique_ptr<PastRing> ring;
  std::map<SimNode, std::unique_ptr<scribe::ScribeNode>> scribes;
  std::map<SimNode, std::unique_ptr<UserDirectory>> directories;
  std::map<SimNode, std::unique_ptr<PresenceAnnouncer>> announcers;
};

TEST_F(PresenceRing, AWatcherLearnsWhereTheUserIsAndFollowsAMove) {
  auto ada = make_user(ca, "ada@example.org");
  auto nodes = ring->ring().members();
  std::optional<Status> published;
  directories[nodes[0]]->publish_certificate(
      make_user_certificate_block(ca, ada.certificate).value(),
      [&](Status s) { published = std::move(s); });
  ring->ring().run_for(5s);
  ASSERT_TRUE(published.has_value() && published->ok());

  Watcher watcher(ada.certificate);
  bool subscribed = false;
  scribes[nodes[9]]->subscribe(presence_group(ada.certificate.signing_key), &watcher,
                               [&](Status s) { subscribed = s.ok(); });
  ring->ring().run_for(5s);
  ASSERT_TRUE(subscribed);

  const SimNode home = nodes[2], laptop = nodes[6];
  ASSERT_TRUE(serve(home, ada, 1000).ok());
  ring->ring().run_for(25s);  // the first announcement and two more
  ASSERT_GE(watcher.seen.size(), 2u);
  EXPECT_EQ(watcher.seen.back().node.id, ring->ring().node(home)->local().id);
  auto found = find(nodes[4], "ada@example.org");
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  ASSERT_TRUE(found->identity && found->identity->contact);
  EXPECT_EQ(found->identity->contact->id, ring->ring().node(home)->local().id);

  // Ada moves to her laptop's node.
  announcers[home]->stop("ada@example.org");
  ASSERT_TRUE(serve(laptop, ada, 2000).ok());
  std::size_t before = watcher.seen.size();
  ring->ring().run_for(25s);
  ASSERT_GT(watcher.seen.size(), before);
  for (std::size_t i = before; i < watcher.seen.size(); ++i) {
    EXPECT_EQ(watcher.seen[i].node.id, ring->ring().node(laptop)->local().id) << i;
  }
  found = find(nodes[4], "ada@example.org");
  ASSERT_TRUE(found.ok() && found->identity && found->identity->contact);
  EXPECT_EQ(found->identity->contact->id, ring->ring().node(laptop)->local().id);
  EXPECT_GT(found->identity->version, 1000u);
  EXPECT_EQ(watcher.refused, 0);

  // Eve announces on Ada's group: the watcher refuses it.
  auto eve = make_user(ca, "eve@example.org");
  scribes[nodes[1]]->publish(presence_group(ada.certificate.signing_key),
                             make_presence(eve.keys, ring->ring().node(nodes[1])->local(), 1, {})
                                 .value());
  ring->ring().run_for(3s);
  EXPECT_EQ(watcher.refused, 1);
}

TEST(Presence, OnlyTheUsersOwnAnnouncementsAreAccepted) {
  CaKey ca = create_ca("CA", kNow).value();
  auto ada = make_user(ca, "ada@example.org");
  auto eve = make_user(ca, "eve@example.org");
  net::NodeHandle node{Id::hash_of(as_bytes(std::string("n"))),
                       net::Address::parse("127.0.0.1:4000").value()};
  auto own = make_presence(ada.keys, node, 7, to_bytes("here")).value();
  auto read = read_presence(own, ada.certificate);
  ASSERT_TRUE(read.ok()) << read.error().to_string();
  EXPECT_EQ(read->sequence, 7u);
  EXPECT_EQ(read->data, to_bytes("here"));
  EXPECT_EQ(read_presence(own, eve.certificate).error().code, CoreErrc::kBadSignature);
  for (std::size_t i = 0; i < own.size(); ++i) {
    Bytes bad = own;
    bad[i] ^= 0x40;
    EXPECT_FALSE(read_presence(bad, ada.certificate).ok()) << "byte " << i;
  }
  EXPECT_EQ(make_presence(ada.keys, node, 1, Bytes(kMaxPresenceBytes + 1, 0)).error().code,
            CoreErrc::kBadLength);
}

}  // namespace
}  // namespace post::services
