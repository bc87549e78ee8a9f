#include "host/net/asio_transport.h"

#include <gtest/gtest.h>

#include "host/net/errors.h"
#include "tests/support/test_support.h"

namespace post::net {
namespace {

using testing::loopback_any_port;
using testing::run_until;
using testing::TestPki;

// Records what arrives on one channel.
struct Recorder : MessageHandler {
  std::vector<std::pair<NodeHandle, std::string>> messages;
  std::vector<NodeHandle> downs;
  void on_message(const NodeHandle& from, ByteView payload) override {
    messages.emplace_back(from, to_string(payload));
  }
  void on_link_down(const NodeHandle& peer) override { downs.push_back(peer); }
};

struct AsioTransportTest : ::testing::Test {
  boost::asio::io_context io;
  TestPki pki;

  std::unique_ptr<AsioTransport> make(AsioTransportOptions options = {}) {
    auto t = std::make_unique<AsioTransport>(io, pki.node(loopback_any_port()), options);
    EXPECT_TRUE(t->start().ok());
    return t;
  }
};

TEST_F(AsioTransportTest, DeliversMessagesInOrderWithTheAuthenticatedSender) {
  auto a = make();
  auto b = make();
  Recorder at_b;
  b->set_handler(Channel::kTest, &at_b);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(a->send(b->local(), Channel::kTest, to_bytes("m" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(run_until(io, [&] { return at_b.messages.size() == 100; }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(at_b.messages[i].first, a->local());
    EXPECT_EQ(at_b.messages[i].second, "m" + std::to_string(i));
  }
  // The link is shared: b answers over it without dialling.
  Recorder at_a;
  a->set_handler(Channel::kTest, &at_a);
  ASSERT_TRUE(b->send(a->local(), Channel::kTest, to_bytes("back")).ok());
  ASSERT_TRUE(run_until(io, [&] { return at_a.messages.size() == 1; }));
  EXPECT_EQ(b->stats().links_dialled, 0u);
  EXPECT_EQ(a->stats().links_dialled, 1u);
}

TEST_F(AsioTransportTest, PingMeasuresRoundTripTime) {
  auto a = make();
  auto b = make();
  std::optional<Result<Duration>> result;
  a->ping(b->local(), [&](Result<Duration> r) { result = std::move(r); });
  ASSERT_TRUE(run_until(io, [&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->error().to_string();
  EXPECT_GT(**result, Duration::zero());
  ASSERT_TRUE(a->rtt(b->local()).has_value());
  EXPECT_EQ(*a->rtt(b->local()), **result);
}

TEST_F(AsioTransportTest, UnreachablePeerIsReportedAsLinkDown) {
  auto a = make();
  Recorder rec;
  a->set_handler(Channel::kTest, &rec);
  // A port nobody listens on: bind then close a socket to find one.
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::address_v4::loopback(), 0});
  auto port = probe.local_endpoint().port();
  probe.close();
  NodeHandle ghost{Id::hash_of(as_bytes("ghost")), Address::v4(0x7f000001, port)};
  ASSERT_TRUE(a->send(ghost, Channel::kTest, to_bytes("hello?")).ok());
  ASSERT_TRUE(run_until(io, [&] { return !rec.downs.empty(); }));
  EXPECT_EQ(rec.downs[0].id, ghost.id);

  std::optional<Result<Duration>> ping;
  a->ping(ghost, [&](Result<Duration> r) { ping = std::move(r); });
  ASSERT_TRUE(run_until(io, [&] { return ping.has_value(); }));
  EXPECT_FALSE(ping->ok());
}

TEST_F(AsioTransportTest, ShutdownOfThePeerIsReportedAsLinkDown) {
  auto a = make();
  auto b = make();
  Recorder rec_a, rec_b;
  a->set_handler(Channel::kTest, &rec_a);
  b->set_handler(Channel::kTest, &rec_b);
  ASSERT_TRUE(a->send(b->local(), Channel::kTest, to_bytes("x")).ok());
  ASSERT_TRUE(run_until(io, [&] { return rec_b.messages.size() == 1; }));
  b->shutdown();
  ASSERT_TRUE(run_until(io, [&] { return !rec_a.downs.empty(); }));
  EXPECT_EQ(rec_a.downs[0].id, b->local().id);
  EXPECT_TRUE(a->links().empty());
}

TEST_F(AsioTransportTest, FullSendQueueRefusesInsteadOfGrowing) {
  AsioTransportOptions small;
  small.send_queue_bytes = 64 * 1024;
  auto a = make(small);
  auto b = make();
  // Before the link is up everything waits in the queue, so the limit is reached at once.
  Status last = ok_status();
  int accepted = 0;
  for (int i = 0; i < 100 && last.ok(); ++i) {
    last = a->send(b->local(), Channel::kTest, Bytes(4096));
    if (last.ok()) ++accepted;
  }
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code, NetErrc::kQueueFull);
  EXPECT_GT(accepted, 10);
  EXPECT_LT(accepted, 17);
}

TEST_F(AsioTransportTest, OversizedPayloadIsRefused) {
  auto a = make();
  auto b = make();
  auto r = a->send(b->local(), Channel::kTest, Bytes(kMaxPayloadBytes + 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, NetErrc::kTooLarge);
}

TEST_F(AsioTransportTest, PeerOfAnotherCaIsRefusedOnBothSides) {
  auto a = make();
  TestPki rogue_pki("rogue");
  AsioTransport rogue(io, rogue_pki.node(loopback_any_port()));
  ASSERT_TRUE(rogue.start().ok());
  Recorder at_a, at_rogue;
  a->set_handler(Channel::kTest, &at_a);
  rogue.set_handler(Channel::kTest, &at_rogue);
  ASSERT_TRUE(rogue.send(a->local(), Channel::kTest, to_bytes("let me in")).ok());
  ASSERT_TRUE(run_until(io, [&] { return !at_rogue.downs.empty(); }));
  EXPECT_TRUE(at_a.messages.empty());
  EXPECT_EQ(a->stats().handshakes_failed, 1u);
  EXPECT_TRUE(a->links().empty());
}

TEST_F(AsioTransportTest, LinksListsAuthenticatedPeers) {
  auto a = make();
  auto b = make();
  auto c = make();
  std::vector<std::pair<NodeHandle, bool>> events;
  a->set_link_observer([&](const NodeHandle& h, bool up) { events.emplace_back(h, up); });
  ASSERT_TRUE(a->send(b->local(), Channel::kTest, {}).ok());
  ASSERT_TRUE(c->send(a->local(), Channel::kTest, {}).ok());
  ASSERT_TRUE(run_until(io, [&] { return a->links().size() == 2; }));
  EXPECT_EQ(events.size(), 2u);
  for (const auto& l : a->links()) {
    EXPECT_TRUE(l.peer == b->local() || l.peer == c->local());
    EXPECT_EQ(l.outgoing, l.peer == b->local());
  }
}

}  // namespace
}  // namespace post::net

namespace post::net {
namespace {

TEST_F(AsioTransportTest, SendQueueEmptiesOnceEverythingIsWritten) {
  auto a = make();
  auto b = make();
  Recorder at_b;
  b->set_handler(Channel::kTest, &at_b);
  // Sent before the link is up (held), then after (written directly), plus a ping.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a->send(b->local(), Channel::kTest, Bytes(1000)).ok());
  std::optional<Result<Duration>> pong;
  a->ping(b->local(), [&](Result<Duration> r) { pong = std::move(r); });
  ASSERT_TRUE(run_until(io, [&] { return at_b.messages.size() == 5 && pong.has_value(); }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a->send(b->local(), Channel::kTest, Bytes(1000)).ok());
  ASSERT_TRUE(run_until(io, [&] { return at_b.messages.size() == 10; }));
  ASSERT_TRUE(
      run_until(io, [&] { return a->links().size() == 1 && a->links()[0].queued_bytes == 0; }))
      << "queued bytes left: " << a->links()[0].queued_bytes;
}

}  // namespace
}  // namespace post::net
