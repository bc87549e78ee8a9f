// Bytes from a would-be peer, straight into the link handshake state machine on either side.
// Input layout: one mode byte, then frames as (2-byte big-endian length, body) pairs.
//   mode % 3 == 0: responder; a valid Hello from a CA-certified peer comes first, so the
//                  fuzzed frames reach the state that waits for HelloFinish
//   mode % 3 == 1: responder; the fuzzed frames are the Hello and what follows
//   mode % 3 == 2: initiator after start(); the fuzzed frames answer its Hello
#include <cstddef>
#include <cstdint>

#include "host/core/crypto.h"
#include "host/net/link_handshake.h"

namespace {

using namespace post;
using namespace post::net;

struct World {
  CaKey ca = create_ca("fuzz CA", 0).value();
  LinkIdentity self = identity("self", 4001);
  LinkIdentity peer = identity("peer", 4002);

  LinkIdentity identity(const char* name, std::uint16_t port) {
    auto keys = crypto::generate_signing_key();
    auto cert = issue_node_certificate(ca, Id::hash_of(as_bytes(name)), keys.public_key, "", 0,
                                       4'000'000'000)
                    .value();
    return LinkIdentity{cert, keys.private_key, ca.certificate, Address::v4(0x7f000001, port)};
  }
};

constexpr std::int64_t kNow = 1'800'000'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  if (size == 0) return 0;
  int mode = data[0] % 3;
  LinkHandshake hs(mode == 2 ? LinkHandshake::Role::kInitiator : LinkHandshake::Role::kResponder,
                   world.self, kNow);
  if (mode == 2) hs.start();
  if (mode == 0) {
    LinkHandshake honest(LinkHandshake::Role::kInitiator, world.peer, kNow);
    if (!hs.on_frame(honest.start()).ok()) __builtin_trap();  // a valid Hello must pass
  }
  std::size_t off = 1;
  while (off + 2 <= size) {
    std::size_t len = std::size_t{data[off]} << 8 | data[off + 1];
    off += 2;
    len = std::min(len, size - off);
    auto step = hs.on_frame(ByteView(data + off, len));
    off += len;
    if (!step.ok()) break;
  }
  return 0;
}
