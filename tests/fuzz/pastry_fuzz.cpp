// Bytes from a peer, straight into a Pastry node's receive path, on a small simulated ring
// built afresh for every input (so a crash replays from the input alone). Input layout:
// frames of (1-byte sender index, 2-byte big-endian length, body); each body is handed to
// node 0 as a message on the Pastry channel from that sender; then the ring runs on for 20
// seconds of virtual time so that whatever the messages set in motion happens too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "host/core/log.h"
#include "host/net/sim_network.h"
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
  Rng rng(2);
  std::vector<std::unique_ptr<pastry::PastryNode>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    auto n = net.add_node(rng.random_id());
    nodes.push_back(
        std::make_unique<pastry::PastryNode>(net.transport(n), net.clock(n), pc, rng.next()));
    if (i == 0) {
      nodes[0]->start_new_ring();
    } else {
      nodes[i]->join({net::SimNetwork::address_of(0)}, [](Status) {});
    }
    net.run_for(1s);
  }
  std::size_t off = 0;
  while (off + 3 <= size) {
    auto sender = static_cast<net::SimNode>(data[off] % kNodes);
    std::size_t len = std::size_t{data[off + 1]} << 8 | data[off + 2];
    off += 3;
    len = std::min(len, size - off);
    nodes[0]->on_message(net.handle(sender == 0 ? 1 : sender), ByteView(data + off, len));
    off += len;
  }
  net.run_for(20s);
  return 0;
}
