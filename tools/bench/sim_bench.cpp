// Throughput and footprint of the simulated network (host/net/sim_network.h).
//
//   BM_MessageRelay/N/K   N nodes keep N*K messages in flight: whoever receives one sends a
//                         fresh 64-byte message to a random node. items/s = events/s.
//   BM_TimerChurn/N       every node re-arms 4 timers at random delays and, on each firing,
//                         cancels and re-schedules a watchdog (the keep-alive pattern of
//                         protocol code). items/s = events/s.
//   BM_AddNodes/N         adds N nodes with one handler each; bytes_per_node is the heap they
//                         take (mallinfo2), latency model included.
#include <malloc.h>

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "host/core/random.h"
#include "host/net/sim_network.h"

namespace post::net {
namespace {

constexpr std::size_t kPayloadBytes = 64;

class Relay final : public MessageHandler {
 public:
  Relay(SimNetwork& net, Rng& rng, SimNode self) : net_(net), rng_(rng), self_(self) {}

  void on_message(const NodeHandle&, ByteView payload) override {
    auto to = static_cast<SimNode>(rng_.uniform(net_.size()));
    Bytes next(payload.begin(), payload.end());
    (void)net_.transport(self_).send(net_.handle(to), Channel::kTest, std::move(next));
  }

 private:
  SimNetwork& net_;
  Rng& rng_;
  SimNode self_;
};

void BM_MessageRelay(benchmark::State& state) {
  const auto nodes = static_cast<SimNode>(state.range(0));
  const auto in_flight_per_node = static_cast<int>(state.range(1));
  SimNetwork net;
  Rng rng(1);
  std::vector<Relay> relays;
  relays.reserve(nodes);
  for (SimNode i = 0; i < nodes; ++i) {
    net.add_node(rng.random_id());
    relays.emplace_back(net, rng, i);
    net.transport(i).set_handler(Channel::kTest, &relays.back());
  }
  for (SimNode i = 0; i < nodes; ++i) {
    for (int k = 0; k < in_flight_per_node; ++k) {
      auto to = static_cast<SimNode>(rng.uniform(nodes));
      (void)net.transport(i).send(net.handle(to), Channel::kTest, Bytes(kPayloadBytes, 0x5a));
    }
  }

  std::uint64_t before = net.events_processed();
  for (auto _ : state) net.step();
  state.SetItemsProcessed(static_cast<std::int64_t>(net.events_processed() - before));
  state.counters["virtual_s"] = to_seconds(net.now());
}
BENCHMARK(BM_MessageRelay)->Args({1'000, 4})->Args({100'000, 4})->Unit(benchmark::kNanosecond);

void BM_TimerChurn(benchmark::State& state) {
  constexpr int kTimersPerNode = 4;
  const auto nodes = static_cast<SimNode>(state.range(0));
  SimNetwork net;
  Rng rng(2);
  std::vector<TimerId> watchdogs(nodes, kNoTimer);
  std::function<void(SimNode)> arm = [&](SimNode node) {
    Clock& clock = net.clock(node);
    clock.schedule(millis(1 + static_cast<std::int64_t>(rng.uniform(1000))),
                   [&arm, node] { arm(node); });
    clock.cancel(watchdogs[node]);
    watchdogs[node] = clock.schedule(seconds(30), [] {});
  };
  for (SimNode i = 0; i < nodes; ++i) {
    net.add_node(rng.random_id());
    for (int t = 0; t < kTimersPerNode; ++t) arm(i);
  }

  std::uint64_t before = net.events_processed();
  for (auto _ : state) net.step();
  state.SetItemsProcessed(static_cast<std::int64_t>(net.events_processed() - before));
  state.counters["pending"] = static_cast<double>(net.pending_events());
}
BENCHMARK(BM_TimerChurn)->Arg(1'000)->Arg(100'000)->Unit(benchmark::kNanosecond);

class Sink final : public MessageHandler {
 public:
  void on_message(const NodeHandle&, ByteView) override {}
};

void BM_AddNodes(benchmark::State& state) {
  const auto nodes = static_cast<SimNode>(state.range(0));
  Sink sink;
  double bytes_per_node = 0;
  for (auto _ : state) {
    std::size_t before = mallinfo2().uordblks;
    auto net = std::make_unique<SimNetwork>();
    Rng rng(3);
    for (SimNode i = 0; i < nodes; ++i) {
      net->add_node(rng.random_id());
      net->transport(i).set_handler(Channel::kTest, &sink);
    }
    std::size_t after = mallinfo2().uordblks;
    bytes_per_node = static_cast<double>(after - before) / nodes;
    benchmark::DoNotOptimize(net.get());
    state.PauseTiming();
    net.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * nodes);
  state.counters["bytes_per_node"] = bytes_per_node;
}
BENCHMARK(BM_AddNodes)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace post::net
