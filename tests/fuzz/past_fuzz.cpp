// Bytes from a peer, straight into a PAST node's receive paths, on a small simulated ring of
// PAST nodes built afresh for every input (so a crash replays from the input alone), with one
// block already stored. Input layout: frames of (1 byte: sender index in the low two bits,
// path in the next two; 2-byte big-endian length; body). The path says how node 0 gets the
// body: 0 or 3 as a direct message on the PAST channel, 1 as a routed message delivered to
// it (it is the root), 2 as a routed message passing through it. Then the ring runs on for
// 20 seconds of virtual time so that whatever the messages set in motion happens too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/net/sim_network.h"
#include "host/past/block.h"
#include "host/past/block_store.h"
#include "host/past/past_node.h"
#include "host/past/proto/past.pb.h"
#include "host/pastry/pastry_node.h"

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
  past::PastConfig config_past;
  config_past.replicas = 2;
  config_past.maintenance_interval = 5s;
  Rng rng(2);
  std::vector<std::unique_ptr<pastry::PastryNode>> nodes;
  std::vector<std::unique_ptr<past::MemoryBlockStore>> stores;
  std::vector<std::unique_ptr<past::PastNode>> pasts;
  for (int i = 0; i < kNodes; ++i) {
    auto n = net.add_node(rng.random_id());
    nodes.push_back(
        std::make_unique<pastry::PastryNode>(net.transport(n), net.clock(n), pc, rng.next()));
    stores.push_back(std::make_unique<past::MemoryBlockStore>());
    pasts.push_back(std::make_unique<past::PastNode>(*nodes[i], net.transport(n), net.clock(n),
                                                     *stores[i], config_past, Bytes{}, rng.next()));
    if (i == 0) {
      nodes[0]->start_new_ring();
    } else {
      nodes[i]->join({net::SimNetwork::address_of(0)}, [](Status) {});
    }
    net.run_for(1s);
  }
  pasts[1]->insert(past::make_content_block(Bytes{1, 2, 3}), [](Result<past::InsertResult>) {});
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
    // The key of a routed message: its own handle when it names one (as an honest sender's
    // would), so the paths past the key check get explored too.
    Id key;
    if (auto m = wire::decode_message<proto::past::PastMessage>(body, "fuzz"); m.ok()) {
      const std::string& h = m->has_insert() ? m->insert().handle() : m->lookup().handle();
      if (auto id = Id::from_bytes(as_bytes(h)); id.ok()) key = *id;
    }
    if (path == 1) {
      pasts[0]->deliver(key, body, pastry::RouteInfo{from, 1});
    } else if (path == 2) {
      Bytes payload(body.begin(), body.end());
      net::NodeHandle next = from;
      pasts[0]->forward(key, payload, next);
    } else {
      pasts[0]->on_message(from, body);
    }
    off += len;
  }
  net.run_for(20s);
  return 0;
}
