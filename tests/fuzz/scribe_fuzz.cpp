// Bytes from a peer, straight into a Scribe node's receive paths, on a small simulated ring of
// Scribe nodes built afresh for every input (so a crash replays from the input alone), with
// one group subscribed by every node. Input layout: frames of (1 byte: sender index in the
// low two bits, path in the next two; 2-byte big-endian length; body). The path says how
// node 0 gets the body: 0 or 3 as a direct message on the Scribe channel, 1 as a routed
// message delivered to it (it is the root), 2 as a routed message passing through it. Then
// the ring runs on for 30 seconds of virtual time.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/net/sim_network.h"
#include "host/pastry/pastry_node.h"
#include "host/scribe/proto/scribe.pb.h"
#include "host/scribe/scribe_node.h"

namespace {

struct Sink : post::scribe::ScribeClient {
  void deliver(const post::Id&, post::ByteView) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  using namespace std::chrono_literals;
  static const bool quiet = [] { return log::set_level("off").ok(); }();  // refusals are expected
  (void)quiet;
  constexpr int kNodes = 4;
  net::SimNetwork::Config config;
  config.seed = 1;
  config.latency = std::make_unique<net::ConstantLatency>(5ms);
  net::SimNetwork net(std::move(config));
  pastry::PastryConfig pc;
  pc.leaf_set_size = 4;
  pc.heartbeat_interval = 2s;
  pc.lease = 3s;
  scribe::ScribeConfig sc;
  sc.heartbeat_interval = 2s;
  sc.parent_timeout = 5s;
  Rng rng(2);
  Sink sink;
  std::vector<std::unique_ptr<pastry::PastryNode>> nodes;
  std::vector<std::unique_ptr<scribe::ScribeNode>> scribes;
  for (int i = 0; i < kNodes; ++i) {
    auto n = net.add_node(rng.random_id());
    nodes.push_back(
        std::make_unique<pastry::PastryNode>(net.transport(n), net.clock(n), pc, rng.next()));
    scribes.push_back(std::make_unique<scribe::ScribeNode>(*nodes[i], net.transport(n),
                                                           net.clock(n), sc, rng.next()));
    if (i == 0) {
      nodes[0]->start_new_ring();
    } else {
      nodes[i]->join({net::SimNetwork::address_of(0)}, [](Status) {});
    }
    net.run_for(1s);
  }
  const Id group = Id::hash_of(as_bytes("fuzz"));
  for (auto& s : scribes) s->subscribe(group, &sink, [](Status) {});
  net.run_for(2s);

  std::size_t off = 0;
  while (off + 3 <= size) {
    auto sender = static_cast<net::SimNode>(data[off] % kNodes);
    int path = (data[off] >> 2) & 3;
    std::size_t len = std::size_t{data[off + 1]} << 8 | data[off + 2];
    off += 3;
    len = std::min(len, size - off);
    ByteView body(data + off, len);
    const net::NodeHandle& from = net.handle(sender == 0 ? 1 : sender);
    // The key of a routed message: its own group when it names one, as an honest sender's.
    Id key;
    if (auto m = wire::decode_message<proto::scribe::ScribeMessage>(body, "fuzz"); m.ok()) {
      const std::string& g = m->has_subscribe() ? m->subscribe().group()
                             : m->has_anycast() ? m->anycast().group()
                                                : m->publish().group();
      if (auto id = Id::from_bytes(as_bytes(g)); id.ok()) key = *id;
    }
    if (path == 1) {
      scribes[0]->deliver(key, body, pastry::RouteInfo{from, 1});
    } else if (path == 2) {
      Bytes payload(body.begin(), body.end());
      net::NodeHandle next = from;
      scribes[0]->forward(key, payload, next);
    } else {
      scribes[0]->on_message(from, body);
    }
    off += len;
  }
  net.run_for(30s);
  return 0;
}
