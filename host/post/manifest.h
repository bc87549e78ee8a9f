// Manifests: how the secure store names an object too large for one block. The object is cut
// into chunks, each sealed as a DATA piece of its own (host/post/piece.h); the manifest lists
// them in order and is itself sealed as the object's top piece, so that the object's handle
// and key are the manifest's. There is one level: chunks are never manifests.
// Wire form: host/post/proto/secure_store.proto (Manifest); docs/protocol/secure-store.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/post/piece.h"

namespace post::services {

// Writers cut objects larger than one piece (kMaxPieceBodyBytes) into chunks of this size (the
// last one shorter). A protocol constant, not a setting: nodes that cut the same object the
// same way store the same chunks, which is what makes large objects converge. Readers accept
// any chunk size up to kMaxPieceBodyBytes.
inline constexpr std::size_t kChunkBytes = 1024 * 1024;

// The largest object the store takes or returns: a fetch assembles the whole object in memory.
// 1 GiB is 1,024 chunks, a manifest of about 75 KiB.
inline constexpr std::uint64_t kMaxObjectBytes = std::uint64_t{1} << 30;

// The most chunks a manifest may list (readers' bound; writers list at most 1,024). At about
// 76 bytes a chunk the largest manifest (some 300 KiB) fits one piece with room to spare.
inline constexpr std::size_t kMaxManifestChunks = 4096;

struct ChunkRef {
  Id handle;
  ContentKey key;
  std::uint64_t offset = 0;      // where the chunk starts in the object
  std::uint64_t body_bytes = 0;  // its length
};

struct Manifest {
  std::uint64_t object_bytes = 0;
  std::vector<ChunkRef> chunks;  // in object order, offsets consecutive from 0
};

// Encodes `manifest` (its offsets are implied by the order and not encoded).
Bytes encode_manifest(const Manifest& manifest);

// Decodes a manifest and checks it: it decodes, lists 1 to kMaxManifestChunks chunks, each with
// a 32-byte handle, a 32-byte key and 1 to kMaxPieceBodyBytes bytes, whose sizes add up to
// object_bytes, at most kMaxObjectBytes. Anything else gives kMalformedManifest (or kTooLarge
// for an object over the limit). Fills in the offsets. Never throws.
Result<Manifest> decode_manifest(ByteView encoded);

}  // namespace post::services
