#include "host/net/sim_network.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "host/core/random.h"
#include "host/net/errors.h"

namespace post::net {
namespace {

using std::chrono::milliseconds;

// Records everything a node hears, with the virtual time it heard it.
class Recorder : public MessageHandler {
 public:
  struct Message {
    Time at;
    NodeHandle from;
    std::string text;
  };
  struct LinkDown {
    Time at;
    NodeHandle peer;
  };

  explicit Recorder(const SimNetwork& net) : net_(net) {}

  void on_message(const NodeHandle& from, ByteView payload) override {
    messages.push_back({net_.now(), from, to_string(payload)});
  }
  void on_link_down(const NodeHandle& peer) override { link_downs.push_back({net_.now(), peer}); }

  std::vector<Message> messages;
  std::vector<LinkDown> link_downs;

 private:
  const SimNetwork& net_;
};

SimNetwork::Config constant(Duration one_way, std::uint64_t seed = 1) {
  SimNetwork::Config config;
  config.seed = seed;
  config.latency = std::make_unique<ConstantLatency>(one_way);
  return config;
}

Id id_of(int n) {
  return Id::hash_of(as_bytes("node " + std::to_string(n)));
}

// Adds `n` nodes with ids id_of(0..n-1).
void add_nodes(SimNetwork& net, int n) {
  for (int i = 0; i < n; ++i) net.add_node(id_of(i));
}

Status send_text(SimNetwork& net, SimNode from, SimNode to, const std::string& text,
                 Channel channel = Channel::kTest) {
  return net.transport(from).send(net.handle(to), channel, to_bytes(text));
}

TEST(SimNetwork, AssignsReadableAddressesAndFindsNodesByHandle) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 3);
  EXPECT_EQ(net.handle(0).address.to_string(), "10.0.0.1:1");
  EXPECT_EQ(net.handle(2).address.to_string(), "10.0.0.3:1");
  EXPECT_EQ(net.transport(1).local(), net.handle(1));
  EXPECT_EQ(net.node_id(1), id_of(1));
  EXPECT_EQ(net.find(net.handle(2)), SimNode{2});
  EXPECT_EQ(net.find(NodeHandle{id_of(7), net.handle(2).address}), std::nullopt);
  EXPECT_EQ(net.find(NodeHandle{id_of(2), SimNetwork::address_of(5)}), std::nullopt);
  EXPECT_EQ(net.size(), 3u);
  EXPECT_EQ(net.live_count(), 3u);
}

TEST(SimNetwork, DeliversAfterTheModelledLatency) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder b(net);
  net.transport(1).set_handler(Channel::kTest, &b);
  net.run_for(millis(5));

  ASSERT_TRUE(send_text(net, 0, 1, "hello").ok());
  net.run_until(millis(15) - Duration(1));
  EXPECT_TRUE(b.messages.empty());
  net.run_until(millis(15));
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].at, millis(15));
  EXPECT_EQ(b.messages[0].from, net.handle(0));
  EXPECT_EQ(b.messages[0].text, "hello");
  EXPECT_EQ(net.messages_delivered(), 1u);
}

TEST(SimNetwork, KeepsSendOrderOnEachPairEvenWhenArrivalTimesTie) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 3);
  Recorder c(net);
  net.transport(2).set_handler(Channel::kTest, &c);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(send_text(net, 0, 2, "a" + std::to_string(i)).ok());
    ASSERT_TRUE(send_text(net, 1, 2, "b" + std::to_string(i)).ok());
  }
  net.run_until_idle();
  ASSERT_EQ(c.messages.size(), 100u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(c.messages[2 * i].text, "a" + std::to_string(i));
    EXPECT_EQ(c.messages[2 * i + 1].text, "b" + std::to_string(i));
  }
}

TEST(SimNetwork, DeliversToItselfThroughTheQueueNotInsideSend) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 1);
  Recorder a(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  ASSERT_TRUE(send_text(net, 0, 0, "me").ok());
  EXPECT_TRUE(a.messages.empty());
  net.run_until_idle();
  ASSERT_EQ(a.messages.size(), 1u);
  EXPECT_EQ(a.messages[0].at, Time(0));
}

TEST(SimNetwork, RefusesPayloadsLargerThanTheLimit) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 2);
  Status status = net.transport(0).send(net.handle(1), Channel::kTest, Bytes(kMaxPayloadBytes + 1));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, NetErrc::kTooLarge);
  EXPECT_TRUE(net.transport(0).send(net.handle(1), Channel::kTest, Bytes(kMaxPayloadBytes)).ok());
  EXPECT_EQ(net.messages_sent(), 1u);
}

TEST(SimNetwork, DropsMessagesOnAChannelNobodyHandles) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 2);
  Recorder b(net);
  net.transport(1).set_handler(Channel::kPastry, &b);
  ASSERT_TRUE(send_text(net, 0, 1, "x", Channel::kScribe).ok());
  net.run_until_idle();
  EXPECT_TRUE(b.messages.empty());
  EXPECT_EQ(net.messages_dropped(), 1u);
}

TEST(SimNetwork, FiresTimersByTimeThenByScheduleOrder) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 2);
  std::vector<std::string> fired;
  Clock& clock = net.clock(0);
  clock.schedule(millis(30), [&] { fired.push_back("30"); });
  clock.schedule(millis(10), [&] { fired.push_back("10a"); });
  net.clock(1).schedule(millis(10), [&] { fired.push_back("10b"); });
  clock.schedule(millis(-5), [&] { fired.push_back("0"); });
  clock.schedule(millis(20), [&] {
    fired.push_back("20");
    EXPECT_EQ(net.clock(0).now(), millis(20));
    net.clock(0).schedule(millis(0), [&] { fired.push_back("20+0"); });
  });
  net.run_until_idle();
  EXPECT_EQ(fired, (std::vector<std::string>{"0", "10a", "10b", "20", "20+0", "30"}));
  EXPECT_EQ(net.now(), millis(30));
}

TEST(SimNetwork, CancelledTimersNeverFireAndStaleIdsAreIgnored) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 1);
  Clock& clock = net.clock(0);
  int fired = 0;
  TimerId first = clock.schedule(millis(10), [&] { ++fired; });
  TimerId second = clock.schedule(millis(10), [&] { ++fired; });
  EXPECT_NE(first, kNoTimer);
  EXPECT_NE(first, second);
  clock.cancel(first);
  clock.cancel(first);
  clock.cancel(kNoTimer);
  clock.cancel(0xdeadbeef12345678ULL);
  EXPECT_EQ(net.pending_events(), 1u);
  net.run_until_idle();
  EXPECT_EQ(fired, 1);

  TimerId third = clock.schedule(millis(10), [&] { ++fired; });
  EXPECT_NE(third, first);
  clock.cancel(second);  // fired already; its slot is reused by `third`
  net.run_until_idle();
  EXPECT_EQ(fired, 2);
}

TEST(SimNetwork, RunUntilStopsAtItsTargetEvenPastACancelledTimer) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 1);
  int fired = 0;
  TimerId cancelled = net.clock(0).schedule(millis(5), [&] { ++fired; });
  net.clock(0).schedule(millis(10), [&] { ++fired; });
  net.clock(0).cancel(cancelled);
  net.run_until(millis(7));
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(net.now(), millis(7));
  EXPECT_TRUE(net.step());
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(net.now(), millis(10));
}

TEST(SimNetwork, ManyCancelledTimersAreSweptWithoutDisturbingTheRest) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 1);
  std::vector<int> fired;
  std::vector<TimerId> ids;
  for (int i = 0; i < 20000; ++i) {
    ids.push_back(net.clock(0).schedule(millis(i % 100), [&fired, i] { fired.push_back(i); }));
  }
  for (int i = 0; i < 20000; ++i) {
    if (i % 1000 != 0) net.clock(0).cancel(ids[i]);
  }
  EXPECT_EQ(net.pending_events(), 20u);
  net.run_until_idle();
  std::vector<int> expected;
  for (int i = 0; i < 20000; i += 1000) expected.push_back(i);
  EXPECT_EQ(fired, expected);  // all due at 0 ms, in schedule order
  EXPECT_TRUE(net.idle());
}

TEST(SimNetwork, CrashedNodesFireNoTimersAndReceiveNothing) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder b(net);
  net.transport(1).set_handler(Channel::kTest, &b);
  int fired = 0;
  net.clock(1).schedule(millis(20), [&] { ++fired; });
  ASSERT_TRUE(send_text(net, 0, 1, "in flight").ok());
  net.run_for(millis(5));
  net.crash(1);
  EXPECT_FALSE(net.is_up(1));
  EXPECT_EQ(net.live_count(), 1u);
  EXPECT_EQ(net.live_nodes(), std::vector<SimNode>{0});
  net.run_until_idle();
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(b.messages.empty());
  EXPECT_EQ(net.messages_dropped(), 1u);
}

TEST(SimNetwork, CrashedNodesSendNothing) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  net.crash(0);
  Status status = send_text(net, 0, 1, "ghost");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, NetErrc::kClosed);
  EXPECT_EQ(net.messages_sent(), 0u);
}

TEST(SimNetwork, MessagesSentBeforeACrashStillArrive) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder b(net);
  net.transport(1).set_handler(Channel::kTest, &b);
  ASSERT_TRUE(send_text(net, 0, 1, "last words").ok());
  net.crash(0);
  net.run_until_idle();
  ASSERT_EQ(b.messages.size(), 1u);
}

TEST(SimNetwork, RestartGivesACleanNodeWithTheSameIdentity) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder old_handler(net);
  net.transport(1).set_handler(Channel::kTest, &old_handler);
  int old_timer = 0;
  net.clock(1).schedule(millis(50), [&] { ++old_timer; });
  net.transport(1).ping(net.handle(0), [](Result<Duration>) {});
  net.run_until_idle();
  ASSERT_TRUE(net.transport(1).rtt(net.handle(0)).has_value());

  int stale_timer = 0;
  net.clock(1).schedule(millis(50), [&] { ++stale_timer; });
  ASSERT_TRUE(send_text(net, 0, 1, "to the old incarnation").ok());
  net.crash(1);
  net.restart(1);
  EXPECT_TRUE(net.is_up(1));
  EXPECT_EQ(net.handle(1).id, id_of(1));
  EXPECT_EQ(net.handle(1).address, SimNetwork::address_of(1));
  EXPECT_FALSE(net.transport(1).rtt(net.handle(0)).has_value());

  int new_timer = 0;
  net.clock(1).schedule(millis(50), [&] { ++new_timer; });
  net.run_until_idle();
  EXPECT_EQ(old_timer, 1);
  EXPECT_EQ(stale_timer, 0);
  EXPECT_EQ(new_timer, 1);
  EXPECT_TRUE(old_handler.messages.empty());  // dropped: in flight across the restart

  Recorder new_handler(net);
  net.transport(1).set_handler(Channel::kTest, &new_handler);
  ASSERT_TRUE(send_text(net, 0, 1, "to the new one").ok());
  net.run_until_idle();
  ASSERT_EQ(new_handler.messages.size(), 1u);
  EXPECT_TRUE(old_handler.messages.empty());
}

TEST(SimNetwork, RestartOfALiveNodeIsAReboot) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 1);
  int fired = 0;
  net.clock(0).schedule(millis(5), [&] { ++fired; });
  net.restart(0);
  net.run_until_idle();
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(net.is_up(0));
  EXPECT_EQ(net.live_count(), 1u);
}

TEST(SimNetwork, CallbacksMaySendAndScheduleReentrantly) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);

  class Echo : public MessageHandler {
   public:
    Echo(SimNetwork& net, SimNode self) : net_(net), self_(self) {}
    void on_message(const NodeHandle& from, ByteView payload) override {
      ++heard;
      if (payload.size() < 5) {
        Bytes longer(payload.begin(), payload.end());
        longer.push_back('!');
        ASSERT_TRUE(net_.transport(self_).send(from, Channel::kTest, std::move(longer)).ok());
      }
    }
    int heard = 0;

   private:
    SimNetwork& net_;
    SimNode self_;
  };

  Echo a(net, 0);
  Echo b(net, 1);
  net.transport(0).set_handler(Channel::kTest, &a);
  net.transport(1).set_handler(Channel::kTest, &b);
  ASSERT_TRUE(send_text(net, 0, 1, "").ok());
  net.run_until_idle();
  EXPECT_EQ(a.heard + b.heard, 6);
  EXPECT_EQ(net.now(), millis(60));
}

TEST(SimNetwork, LossOfOneDropsEverything) {
  SimNetwork::Config config = constant(millis(1));
  config.loss = 1.0;
  SimNetwork net(std::move(config));
  add_nodes(net, 2);
  Recorder b(net);
  net.transport(1).set_handler(Channel::kTest, &b);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(send_text(net, 0, 1, "x").ok());
  net.run_until_idle();
  EXPECT_TRUE(b.messages.empty());
  EXPECT_EQ(net.messages_dropped(), 100u);
  EXPECT_TRUE(b.link_downs.empty());  // loss is silent
}

// How many of 1000 messages arrive with loss probability 0.5 and the given seed.
std::uint64_t delivered_at_half_loss(std::uint64_t seed) {
  SimNetwork::Config config = constant(millis(1), seed);
  config.loss = 0.5;
  SimNetwork net(std::move(config));
  add_nodes(net, 2);
  Recorder b(net);
  net.transport(1).set_handler(Channel::kTest, &b);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(send_text(net, 0, 1, "x").ok());
  net.run_until_idle();
  return net.messages_delivered();
}

TEST(SimNetwork, LossOfOneHalfDropsAboutHalfReproducibly) {
  std::uint64_t delivered = delivered_at_half_loss(42);
  EXPECT_GT(delivered, 430u);
  EXPECT_LT(delivered, 570u);
  EXPECT_EQ(delivered_at_half_loss(42), delivered);
}

TEST(SimNetwork, LinkLossOverridesTheDefaultInOneDirection) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 2);
  Recorder a(net);
  Recorder b(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  net.transport(1).set_handler(Channel::kTest, &b);
  net.set_link_loss(0, 1, 1.0);
  ASSERT_TRUE(send_text(net, 0, 1, "lost").ok());
  ASSERT_TRUE(send_text(net, 1, 0, "kept").ok());
  net.run_until_idle();
  EXPECT_TRUE(b.messages.empty());
  EXPECT_EQ(a.messages.size(), 1u);

  net.clear_link_loss();
  ASSERT_TRUE(send_text(net, 0, 1, "kept").ok());
  net.run_until_idle();
  EXPECT_EQ(b.messages.size(), 1u);
}

// Everything delivered in a small lossy network where every node forwards what it hears to a
// random node until the hop budget runs out: "time from->to payload" lines.
std::vector<std::string> trace_of_a_gossip_run(std::uint64_t seed) {
  SimNetwork::Config config;
  config.seed = seed;
  config.loss = 0.2;
  SimNetwork net(std::move(config));
  Rng rng(seed);
  constexpr int kNodes = 50;
  for (int i = 0; i < kNodes; ++i) net.add_node(rng.random_id());

  class Forwarder : public MessageHandler {
   public:
    Forwarder(SimNetwork& net, Rng& rng, SimNode self, std::vector<std::string>& trace)
        : net_(net), rng_(rng), self_(self), trace_(trace) {}
    void on_message(const NodeHandle& from, ByteView payload) override {
      int hops = payload[0];
      trace_.push_back(std::to_string(net_.now().count()) + " " + from.to_string() + "->" +
                       net_.handle(self_).to_string() + " " + std::to_string(hops));
      if (hops == 0) return;
      auto next = static_cast<SimNode>(rng_.uniform(net_.size()));
      EXPECT_TRUE(
          net_.transport(self_)
              .send(net_.handle(next), Channel::kTest, Bytes{static_cast<std::uint8_t>(hops - 1)})
              .ok());
    }

   private:
    SimNetwork& net_;
    Rng& rng_;
    SimNode self_;
    std::vector<std::string>& trace_;
  };

  std::vector<std::string> trace;
  std::vector<std::unique_ptr<Forwarder>> forwarders;
  for (SimNode i = 0; i < kNodes; ++i) {
    forwarders.push_back(std::make_unique<Forwarder>(net, rng, i, trace));
    net.transport(i).set_handler(Channel::kTest, forwarders.back().get());
  }
  for (SimNode i = 0; i < kNodes; ++i) {
    auto to = static_cast<SimNode>(rng.uniform(kNodes));
    EXPECT_TRUE(net.transport(i).send(net.handle(to), Channel::kTest, Bytes{20}).ok());
  }
  net.run_until_idle();
  return trace;
}

TEST(SimNetwork, SameSeedGivesTheSameRunAndAnotherSeedAnotherRun) {
  std::vector<std::string> first = trace_of_a_gossip_run(7);
  EXPECT_GT(first.size(), 100u);
  EXPECT_EQ(trace_of_a_gossip_run(7), first) << "seed 7";
  EXPECT_NE(trace_of_a_gossip_run(8), first) << "seeds 7 and 8";
}

TEST(SimNetwork, PartitionsBlockTrafficUntilHealed) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 3);
  Recorder a(net);
  Recorder b(net);
  Recorder c(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  net.transport(1).set_handler(Channel::kTest, &b);
  net.transport(2).set_handler(Channel::kTest, &c);
  net.set_partition(2, 1);
  EXPECT_EQ(net.partition(2), 1u);

  ASSERT_TRUE(send_text(net, 0, 1, "same side").ok());
  ASSERT_TRUE(send_text(net, 0, 2, "other side").ok());
  ASSERT_TRUE(send_text(net, 2, 1, "other side").ok());
  net.run_until_idle();
  EXPECT_EQ(b.messages.size(), 1u);
  EXPECT_TRUE(c.messages.empty());
  ASSERT_EQ(a.link_downs.size(), 1u);
  EXPECT_EQ(a.link_downs[0].peer, net.handle(2));
  ASSERT_EQ(c.link_downs.size(), 1u);

  net.heal_partitions();
  EXPECT_EQ(net.partition(2), 0u);
  ASSERT_TRUE(send_text(net, 0, 2, "healed").ok());
  net.run_until_idle();
  EXPECT_EQ(c.messages.size(), 1u);
}

TEST(SimNetwork, APartitionDropsMessagesAlreadyInFlight) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder a(net);
  Recorder b(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  net.transport(1).set_handler(Channel::kTest, &b);
  ASSERT_TRUE(send_text(net, 0, 1, "cut off").ok());
  net.run_for(millis(5));
  net.set_partition(1, 1);
  net.run_until_idle();
  EXPECT_TRUE(b.messages.empty());
  ASSERT_EQ(a.link_downs.size(), 1u);
  EXPECT_EQ(a.link_downs[0].at, millis(20));
}

TEST(SimNetwork, TellsEveryHandlerOfTheSenderWhenItSendsToACrashedNode) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder pastry(net);
  Recorder scribe(net);
  net.transport(0).set_handler(Channel::kPastry, &pastry);
  net.transport(0).set_handler(Channel::kScribe, &scribe);
  net.crash(1);
  net.run_for(millis(3));
  ASSERT_TRUE(send_text(net, 0, 1, "anyone?").ok());
  net.run_until_idle();
  ASSERT_EQ(pastry.link_downs.size(), 1u);
  ASSERT_EQ(scribe.link_downs.size(), 1u);
  EXPECT_EQ(pastry.link_downs[0].peer, net.handle(1));
  EXPECT_EQ(pastry.link_downs[0].at, millis(23));  // the round trip
  EXPECT_EQ(net.messages_dropped(), 1u);
}

TEST(SimNetwork, TellsTheSenderWhenTheReceiverCrashesWhileAMessageIsInFlight) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  Recorder a(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  ASSERT_TRUE(send_text(net, 0, 1, "too late").ok());
  net.run_for(millis(4));
  net.crash(1);
  net.run_until_idle();
  ASSERT_EQ(a.link_downs.size(), 1u);
  EXPECT_EQ(a.link_downs[0].at, millis(20));  // arrival at 10 ms, reset back at 20 ms
}

TEST(SimNetwork, LinkDownDelayIsConfigurable) {
  SimNetwork::Config config = constant(millis(10));
  config.link_down_delay = millis(1);
  SimNetwork net(std::move(config));
  add_nodes(net, 2);
  Recorder a(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  net.crash(1);
  ASSERT_TRUE(send_text(net, 0, 1, "x").ok());
  net.run_until_idle();
  ASSERT_EQ(a.link_downs.size(), 1u);
  EXPECT_EQ(a.link_downs[0].at, millis(1));
}

TEST(SimNetwork, ReportsABrokenLinkToAnAddressWhereNoNodeListens) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 1);
  Recorder a(net);
  net.transport(0).set_handler(Channel::kTest, &a);
  NodeHandle nobody{id_of(99), Address::v4(0x7f000001, 4000)};
  ASSERT_TRUE(net.transport(0).send(nobody, Channel::kTest, to_bytes("x")).ok());
  net.run_until_idle();
  ASSERT_EQ(a.link_downs.size(), 1u);
  EXPECT_EQ(a.link_downs[0].peer, nobody);
  EXPECT_EQ(a.link_downs[0].at, seconds(3));
}

TEST(SimNetwork, ConnectLearnsWhoListensAtAnAddressAfterOneRoundTrip) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 3);
  net.crash(2);
  std::optional<Result<NodeHandle>> up;
  std::optional<Result<NodeHandle>> down;
  std::optional<Result<NodeHandle>> nobody;
  net.transport(0).connect(SimNetwork::address_of(1), [&](Result<NodeHandle> r) { up = r; });
  net.transport(0).connect(SimNetwork::address_of(2), [&](Result<NodeHandle> r) { down = r; });
  net.transport(0).connect(SimNetwork::address_of(9), [&](Result<NodeHandle> r) { nobody = r; });
  net.run_until(millis(20));
  ASSERT_TRUE(up && up->ok());
  EXPECT_EQ(up->value(), net.handle(1));
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->error().code, NetErrc::kUnreachable);
  EXPECT_FALSE(nobody.has_value());
  net.run_until_idle();
  ASSERT_TRUE(nobody.has_value());
  EXPECT_EQ(nobody->error().code, NetErrc::kTimeout);
}

TEST(SimNetwork, ConnectFailsWhenTheNodeCrashesBeforeItIsReached) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  std::optional<Result<NodeHandle>> result;
  net.transport(0).connect(SimNetwork::address_of(1), [&](Result<NodeHandle> r) { result = r; });
  net.run_for(millis(5));
  net.crash(1);
  net.run_until_idle();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error().code, NetErrc::kUnreachable);
  EXPECT_EQ(net.now(), millis(20));
}

TEST(SimNetwork, PingMeasuresTheRoundTrip) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  EXPECT_FALSE(net.transport(0).rtt(net.handle(1)).has_value());
  std::optional<Result<Duration>> result;
  net.transport(0).ping(net.handle(1), [&](Result<Duration> r) { result = std::move(r); });
  net.run_until_idle();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok());
  EXPECT_EQ(result->value(), millis(20));
  EXPECT_EQ(net.transport(0).rtt(net.handle(1)), millis(20));
  EXPECT_FALSE(net.transport(1).rtt(net.handle(0)).has_value());
  EXPECT_EQ(net.now(), millis(20));  // the timeout was cancelled, not left to run
}

TEST(SimNetwork, PingToACrashedNodeTimesOut) {
  SimNetwork net(constant(millis(10)));
  add_nodes(net, 2);
  net.crash(1);
  std::optional<Result<Duration>> result;
  net.transport(0).ping(net.handle(1), [&](Result<Duration> r) { result = std::move(r); });
  net.run_until(seconds(3) - Duration(1));
  EXPECT_FALSE(result.has_value());
  net.run_until(seconds(3));
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, NetErrc::kTimeout);
  EXPECT_FALSE(net.transport(0).rtt(net.handle(1)).has_value());
}

TEST(SimNetwork, PingAcrossAPartitionTimesOutAndAPingerThatCrashesHearsNothing) {
  SimNetwork::Config config = constant(millis(10));
  config.ping_timeout = millis(500);
  SimNetwork net(std::move(config));
  add_nodes(net, 3);
  net.set_partition(1, 1);
  int answers = 0;
  std::optional<Result<Duration>> across;
  net.transport(0).ping(net.handle(1), [&](Result<Duration> r) { across = std::move(r); });
  net.transport(2).ping(net.handle(0), [&](Result<Duration>) { ++answers; });
  net.crash(2);
  net.run_until_idle();
  ASSERT_TRUE(across.has_value());
  EXPECT_EQ(across->error().code, NetErrc::kTimeout);
  EXPECT_EQ(net.now(), millis(500));
  EXPECT_EQ(answers, 0);
}

TEST(SimNetwork, RttFromTheOracleNeedsNoMeasurement) {
  SimNetwork::Config config = constant(millis(7));
  config.rtt_from_oracle = true;
  SimNetwork net(std::move(config));
  add_nodes(net, 2);
  EXPECT_EQ(net.transport(0).rtt(net.handle(1)), millis(14));
}

TEST(SimNetwork, MatrixModelGivesEachDirectionItsOwnLatency) {
  SimNetwork::Config config;
  config.latency = std::make_unique<MatrixLatency>(std::vector<std::vector<Duration>>{
      {millis(0), millis(5), millis(40)},
      {millis(7), millis(0), millis(1)},
      {millis(40), millis(2), millis(0)},
  });
  SimNetwork net(std::move(config));
  add_nodes(net, 3);
  EXPECT_EQ(net.latency(0, 1), millis(5));
  EXPECT_EQ(net.latency(1, 0), millis(7));
  EXPECT_EQ(net.latency(2, 2), Duration::zero());

  Recorder c(net);
  net.transport(2).set_handler(Channel::kTest, &c);
  ASSERT_TRUE(send_text(net, 1, 2, "x").ok());
  net.run_until_idle();
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].at, millis(1));

  std::optional<Result<Duration>> rtt;
  net.transport(0).ping(net.handle(1), [&](Result<Duration> r) { rtt = std::move(r); });
  net.run_until_idle();
  ASSERT_TRUE(rtt && rtt->ok());
  EXPECT_EQ(rtt->value(), millis(12));
}

TEST(SimNetwork, PlaneModelGivesSymmetricLatenciesInItsRangeFromTheSeed) {
  auto latencies = [](std::uint64_t seed) {
    SimNetwork::Config config;
    config.seed = seed;
    SimNetwork net(std::move(config));
    add_nodes(net, 200);
    std::vector<Duration> all;
    for (SimNode a = 0; a < 200; ++a) {
      for (SimNode b = 0; b < 200; ++b) {
        Duration d = net.latency(a, b);
        EXPECT_EQ(d, net.latency(b, a));
        if (a == b) {
          EXPECT_EQ(d, Duration::zero());
        } else {
          EXPECT_GE(d, millis(1));
          EXPECT_LE(d, millis(200));
        }
        all.push_back(d);
      }
    }
    return all;
  };
  std::vector<Duration> first = latencies(3);
  EXPECT_GT(*std::max_element(first.begin(), first.end()), millis(150));
  EXPECT_EQ(latencies(3), first);
  EXPECT_NE(latencies(4), first);
}

TEST(SimNetwork, SphereModelGivesSymmetricLatenciesInItsRange) {
  SimNetwork::Config config;
  config.latency = std::make_unique<SphereLatency>();
  SimNetwork net(std::move(config));
  add_nodes(net, 100);
  for (SimNode a = 0; a < 100; ++a) {
    for (SimNode b = a + 1; b < 100; ++b) {
      EXPECT_EQ(net.latency(a, b), net.latency(b, a));
      EXPECT_GE(net.latency(a, b), millis(1));
      EXPECT_LE(net.latency(a, b), millis(200));
    }
  }
}

TEST(SimNetwork, RunUntilIdleStopsAfterMaxEventsWhenTimersNeverEnd) {
  SimNetwork net(constant(millis(1)));
  add_nodes(net, 1);
  std::function<void()> tick = [&] { net.clock(0).schedule(seconds(1), tick); };
  tick();
  EXPECT_FALSE(net.run_until_idle(10));
  EXPECT_EQ(net.events_processed(), 10u);
  EXPECT_EQ(net.now(), seconds(10));
  EXPECT_FALSE(net.idle());
}

TEST(SimNetwork, RunUntilMovesTimeEvenWhenNothingHappens) {
  SimNetwork net(constant(millis(1)));
  net.run_until(seconds(5));
  EXPECT_EQ(net.now(), seconds(5));
  net.run_until(seconds(1));
  EXPECT_EQ(net.now(), seconds(5));
  net.run_for(millis(250));
  EXPECT_EQ(net.now(), seconds(5) + millis(250));
  EXPECT_FALSE(net.step());
}

TEST(SimNetwork, CountersAccountForEveryMessage) {
  SimNetwork::Config config;
  config.seed = 11;
  config.loss = 0.1;
  SimNetwork net(std::move(config));
  add_nodes(net, 20);
  std::vector<std::unique_ptr<Recorder>> recorders;
  for (SimNode i = 0; i < 20; ++i) {
    recorders.push_back(std::make_unique<Recorder>(net));
    if (i % 5 != 0) net.transport(i).set_handler(Channel::kTest, recorders.back().get());
  }
  net.crash(3);
  net.set_partition(4, 1);
  Rng rng(11);
  for (int i = 0; i < 1000; ++i) {
    auto from = static_cast<SimNode>(rng.uniform(20));
    auto to = static_cast<SimNode>(rng.uniform(20));
    if (net.is_up(from)) {
      ASSERT_TRUE(send_text(net, from, to, "x").ok());
    }
    if (i == 500) net.crash(7);
    net.run_for(millis(3));
  }
  net.run_until_idle();
  EXPECT_GT(net.messages_delivered(), 500u);
  EXPECT_GT(net.messages_dropped(), 100u);
  EXPECT_EQ(net.messages_sent(), net.messages_delivered() + net.messages_dropped());
}

TEST(SimNetwork, HundredThousandNodesEachSendOneMessageAndAllArrive) {
  constexpr SimNode kNodes = 100'000;
  SimNetwork::Config config;
  config.seed = 2024;
  SimNetwork net(std::move(config));
  Rng rng(2024);
  for (SimNode i = 0; i < kNodes; ++i) net.add_node(rng.random_id());

  class Counter : public MessageHandler {
   public:
    void on_message(const NodeHandle&, ByteView) override { ++count; }
    std::uint64_t count = 0;
  } counter;
  for (SimNode i = 0; i < kNodes; ++i) net.transport(i).set_handler(Channel::kTest, &counter);
  for (SimNode i = 0; i < kNodes; ++i) {
    auto to = static_cast<SimNode>(rng.uniform(kNodes));
    ASSERT_TRUE(net.transport(i).send(net.handle(to), Channel::kTest, Bytes(32, 0xab)).ok());
  }
  EXPECT_TRUE(net.run_until_idle());
  EXPECT_EQ(counter.count, kNodes);
  EXPECT_EQ(net.messages_delivered(), kNodes);
  EXPECT_LE(net.now(), millis(200));
}

}  // namespace
}  // namespace post::net
