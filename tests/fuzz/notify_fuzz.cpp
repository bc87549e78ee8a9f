// Bytes from a peer (or from a damaged store) into a node's notification service, on a small
// simulated POST ring built afresh for every input (so a crash replays from the input alone):
// four nodes, Bob served by node 0, Alice by node 1. Input layout: frames of (1 byte: path in
// the low two bits; 2-byte big-endian length; body). Paths: 0, a direct message to node 0 on
// the POST channel; 1, a routed message delivered at node 0 (a delegation); 2, a record in
// node 0's notification store, which then restarts and reads it; 3, a genuine notification
// from Alice to Bob with the body XORed into it, delivered directly. Then the ring runs on for
// a minute of virtual time (delegates recheck, deliver, expire).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/post/notification.h"
#include "host/post/proto/notify.pb.h"
#include "tools/post-sim/post_scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  using namespace std::chrono_literals;
  static const bool quiet = [] { return log::set_level("off").ok(); }();  // refusals are expected
  (void)quiet;
  sim::PostRingConfig config;
  config.ring.nodes = 4;
  config.ring.seed = 3;
  config.ring.pastry.leaf_set_size = 4;
  config.past.replicas = 2;
  config.notify.recheck_interval = 10s;
  config.notify.hold_for = 30s;
  sim::PostRing ring(config);
  ring.build();
  auto members = ring.ring().members();
  if (members.size() < 2) return 0;
  const sim::SimNode bob_home = members[0], alice_home = members[1];
  auto bob = ring.add_user("bob@fuzz.example", alice_home);
  auto alice = ring.add_user("alice@fuzz.example", alice_home);
  if (!bob.ok() || !alice.ok()) return 0;
  (void)ring.serve(bob_home, *bob);
  (void)ring.serve(alice_home, *alice);
  services::OutgoingNotification note;
  note.application = "fuzz";
  note.app_data = to_bytes("hello");
  note.content_handle = Id::hash_of(to_bytes("content"));
  note.content_key = Bytes(32, 1);
  const Bytes genuine = services::make_notification(alice->keys, alice->certificate,
                                                    bob->certificate, note, 1'800'000'000'000)
                            .value();
  const net::NodeHandle from = ring.ring().node(alice_home)->local();

  std::size_t off = 0;
  while (off + 3 <= size) {
    int path = data[off] & 3;
    std::size_t len = std::size_t{data[off + 1]} << 8 | data[off + 2];
    off += 3;
    len = std::min(len, size - off);
    ByteView body(data + off, len);
    off += len;
    services::NotificationService* service = ring.notify(bob_home);
    switch (path) {
      case 0: service->on_message(from, body); break;
      case 1: service->deliver(Id::hash_of(body), body, pastry::RouteInfo{from, 1}); break;
      case 2:
        (void)ring.notification_store(bob_home)->put(past::BlockKey{Id::hash_of(body)}, body);
        ring.restart_notify(bob_home);
        ring.notify(bob_home)->add_user(bob->keys, bob->certificate);
        break;
      case 3: {
        Bytes n = genuine;
        for (std::size_t i = 0; i < body.size(); ++i) n[i % n.size()] ^= body[i];
        proto::services::NotifyMessage m;
        m.set_request_id(1);
        m.mutable_deliver()->set_notification(to_string(n));
        service->on_message(from, wire::encode_message(m));
        break;
      }
    }
    ring.ring().run_for(1s);
  }
  ring.ring().run_for(60s);
  return 0;
}
