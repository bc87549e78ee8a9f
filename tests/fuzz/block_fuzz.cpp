// Bytes from a peer or from disk, straight into the block decoder, handle derivation, the
// validator and the replacement rules: nothing may crash, hang or read out of bounds, and a
// decoded block must keep the exact bytes it came from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "host/core/crypto.h"
#include "host/past/block.h"

namespace {

using namespace post;

// The CA key that signed the certificate seed in corpus/block_fuzz, so that inputs derived
// from it reach the paths behind a valid signature.
const Bytes& ca_public_key() {
  static const Bytes key = crypto::signing_public_key(Bytes(32, 0xca)).value();
  return key;
}

// Stored blocks of every kind, for the replacement rules.
const std::vector<past::Block>& stored_blocks() {
  static const std::vector<past::Block> blocks = [] {
    std::vector<past::Block> b;
    b.push_back(past::make_content_block(to_bytes("stored")));
    b.push_back(past::make_public_key_block(Bytes(32, 0x0e), 5, to_bytes("stored")).value());
    b.push_back(past::make_certificate_block(Bytes(32, 0xca), "alice@example.org", {}).value());
    return b;
  }();
  return blocks;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView input(data, size);
  auto block = past::decode_block(input);
  if (!block.ok()) return 0;
  if (!std::equal(block->encoded.begin(), block->encoded.end(), input.begin(), input.end())) {
    std::abort();  // a block must be stored and forwarded as the bytes it came from
  }
  Id handle = past::handle_of(*block);
  (void)past::validate_block(handle, *block, ca_public_key());
  (void)past::validate_block(Id(), *block, ca_public_key());
  if (!past::validate_replacement(*block, *block).ok()) std::abort();  // must be idempotent
  for (const past::Block& stored : stored_blocks()) {
    (void)past::validate_replacement(stored, *block);
  }
  return 0;
}
