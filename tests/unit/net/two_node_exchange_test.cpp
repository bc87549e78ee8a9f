// One protocol, two worlds: the same sans-I/O exchange runs over the simulated network and
// over real TCP on loopback, and must give the same protocol-level results.
#include <set>

#include <gtest/gtest.h>

#include "host/net/asio_clock.h"
#include "host/net/asio_transport.h"
#include "host/net/sim_network.h"
#include "tests/support/test_support.h"

namespace post::net {
namespace {

// A small protocol: peers pass a counter back and forth up to `limit`, each adding one.
// Every fifth step waits on a timer before answering; the first message is preceded by a
// ping. Each side records what it saw, and marks a peer failed on the first link-down.
class CounterPeer final : public MessageHandler {
 public:
  CounterPeer(Transport& transport, Clock& clock, int limit)
      : transport_(transport), clock_(clock), limit_(limit) {
    transport_.set_handler(Channel::kTest, this);
  }
  ~CounterPeer() override { transport_.set_handler(Channel::kTest, nullptr); }

  void start(const NodeHandle& peer) {
    transport_.ping(peer, [this, peer](Result<Duration> rtt) {
      trace.push_back(rtt.ok() && *rtt > Duration::zero() ? "ping ok" : "ping failed");
      send(peer, 1);
    });
  }

  void send(const NodeHandle& peer, int n) {
    auto status = transport_.send(peer, Channel::kTest, to_bytes(std::to_string(n)));
    if (!status.ok()) trace.push_back("send failed");
  }

  void on_message(const NodeHandle& from, ByteView payload) override {
    int n = std::stoi(to_string(payload));
    trace.push_back("got " + std::to_string(n) + " from " + from.id.short_hex());
    if (n >= limit_) {
      finished = true;
      return;
    }
    if (n % 5 == 0) {
      clock_.schedule(millis(10), [this, from, n] {
        trace.push_back("timer " + std::to_string(n));
        send(from, n + 1);
      });
    } else {
      send(from, n + 1);
    }
  }

  void on_link_down(const NodeHandle& peer) override {
    if (failed_.insert(peer.id).second) trace.push_back("down " + peer.id.short_hex());
  }

  std::vector<std::string> trace;
  bool finished = false;

 private:
  Transport& transport_;
  Clock& clock_;
  int limit_;
  std::set<Id> failed_;
};

constexpr int kLimit = 30;
const Id kIdA = Id::hash_of(as_bytes("node A"));
const Id kIdB = Id::hash_of(as_bytes("node B"));

struct Traces {
  std::vector<std::string> a, b;
};

Traces run_simulated() {
  SimNetwork::Config config;
  config.seed = 11;
  SimNetwork net(std::move(config));
  SimNode a = net.add_node(kIdA);
  SimNode b = net.add_node(kIdB);
  CounterPeer pa(net.transport(a), net.clock(a), kLimit);
  Traces t;
  {
    CounterPeer pb(net.transport(b), net.clock(b), kLimit);
    pa.start(net.handle(b));
    net.run_for(seconds(10));
    EXPECT_TRUE(pa.finished || pb.finished);
    t.b = pb.trace;
  }
  net.crash(b);
  pa.send(net.handle(b), 99);  // to a peer that is gone
  net.run_for(seconds(10));
  t.a = pa.trace;
  return t;
}

Traces run_over_tcp() {
  boost::asio::io_context io;
  testing::TestPki pki;
  AsioTransport ta(io, pki.node(testing::loopback_any_port(), kIdA));
  auto tb = std::make_unique<AsioTransport>(io, pki.node(testing::loopback_any_port(), kIdB));
  EXPECT_TRUE(ta.start().ok());
  EXPECT_TRUE(tb->start().ok());
  AsioClock ca(io), cb(io);
  CounterPeer pa(ta, ca, kLimit);
  NodeHandle b_handle = tb->local();
  Traces t;
  {
    CounterPeer pb(*tb, cb, kLimit);
    pa.start(b_handle);
    EXPECT_TRUE(testing::run_until(io, [&] { return pa.finished || pb.finished; }));
    t.b = pb.trace;
  }
  tb->shutdown(/*graceful=*/false);
  tb.reset();
  pa.send(b_handle, 99);
  EXPECT_TRUE(testing::run_until(io, [&] { return pa.trace.back().rfind("down", 0) == 0; }));
  t.a = pa.trace;
  return t;
}

TEST(TwoNodeExchange, SimulatedAndTcpRunsGiveTheSameProtocolResults) {
  Traces sim = run_simulated();
  Traces tcp = run_over_tcp();
  // The exchange really happened: B saw every odd number, A every even one, then B's failure.
  ASSERT_EQ(sim.b.size(), 15u + 3u);  // 15 numbers, 3 timers (5, 15, 25)
  EXPECT_EQ(sim.a.front(), "ping ok");
  EXPECT_EQ(sim.a.back(), "down " + kIdB.short_hex());
  EXPECT_EQ(sim.a, tcp.a);
  EXPECT_EQ(sim.b, tcp.b);
}

}  // namespace
}  // namespace post::net
