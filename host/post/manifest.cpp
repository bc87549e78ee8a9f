#include "host/post/manifest.h"

#include <algorithm>
#include <string>

#include "host/core/frame.h"
#include "host/post/errors.h"
#include "host/post/proto/secure_store.pb.h"

namespace post::services {
namespace {

namespace pb = proto::services;

Error malformed(std::string why) {
  return make_error(PostErrc::kMalformedManifest, std::move(why));
}

// The most bytes one listed chunk takes in an encoded manifest: two 32-byte fields and a
// varint, with their tags and lengths, inside a length-delimited entry.
constexpr std::size_t kMaxChunkRefBytes = 2 * (1 + 1 + 32) + (1 + 10) + (1 + 1);
static_assert(kMaxManifestChunks * kMaxChunkRefBytes + 32 <= kMaxPieceBodyBytes,
              "the largest manifest must fit one piece");
static_assert(kChunkBytes <= kMaxPieceBodyBytes, "a chunk must fit one piece");
static_assert(kMaxObjectBytes / kChunkBytes <= kMaxManifestChunks,
              "the largest object cut into kChunkBytes must be listable");

}  // namespace

Bytes encode_manifest(const Manifest& manifest) {
  pb::Manifest message;
  message.set_object_bytes(manifest.object_bytes);
  for (const ChunkRef& chunk : manifest.chunks) {
    pb::ChunkRef* ref = message.add_chunks();
    ref->set_handle(chunk.handle.bytes().data(), Id::kBytes);
    ref->set_key(chunk.key.data(), chunk.key.size());
    ref->set_body_bytes(chunk.body_bytes);
  }
  return wire::encode_message(message);
}

Result<Manifest> decode_manifest(ByteView encoded) {
  if (encoded.size() > kMaxPieceBodyBytes) {
    return malformed("a manifest of " + std::to_string(encoded.size()) +
                     " bytes is larger than a piece");
  }
  pb::Manifest message;
  if (!message.ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
    return malformed("not a Manifest message (" + std::to_string(encoded.size()) + " bytes)");
  }
  if (message.chunks_size() == 0) return malformed("the manifest lists no chunks");
  if (static_cast<std::size_t>(message.chunks_size()) > kMaxManifestChunks) {
    return malformed("the manifest lists " + std::to_string(message.chunks_size()) +
                     " chunks; the limit is " + std::to_string(kMaxManifestChunks));
  }
  if (message.object_bytes() > kMaxObjectBytes) {
    return make_error(PostErrc::kTooLarge, "the manifest describes an object of " +
                                               std::to_string(message.object_bytes()) +
                                               " bytes; the limit is " +
                                               std::to_string(kMaxObjectBytes));
  }
  Manifest manifest;
  manifest.object_bytes = message.object_bytes();
  manifest.chunks.reserve(static_cast<std::size_t>(message.chunks_size()));
  std::uint64_t offset = 0;
  for (int i = 0; i < message.chunks_size(); ++i) {
    const pb::ChunkRef& ref = message.chunks(i);
    const std::string which = "chunk " + std::to_string(i);
    if (ref.handle().size() != Id::kBytes) {
      return malformed(which + " has a handle of " + std::to_string(ref.handle().size()) +
                       " bytes, not 32");
    }
    if (ref.key().size() != std::tuple_size_v<ContentKey>) {
      return malformed(which + " has a key of " + std::to_string(ref.key().size()) +
                       " bytes, not 32");
    }
    if (ref.body_bytes() == 0 || ref.body_bytes() > kMaxPieceBodyBytes) {
      return malformed(which + " has " + std::to_string(ref.body_bytes()) +
                       " bytes; a chunk has 1 to " + std::to_string(kMaxPieceBodyBytes));
    }
    // Both terms are bounded (offset by object_bytes below), so the sum cannot overflow.
    if (ref.body_bytes() > manifest.object_bytes - offset) {
      return malformed("the chunks hold more than the " + std::to_string(manifest.object_bytes) +
                       " bytes the manifest gives");
    }
    ChunkRef chunk;
    chunk.handle = Id::from_bytes(as_bytes(ref.handle())).value();
    std::copy(ref.key().begin(), ref.key().end(), chunk.key.begin());
    chunk.offset = offset;
    chunk.body_bytes = ref.body_bytes();
    offset += chunk.body_bytes;
    manifest.chunks.push_back(chunk);
  }
  if (offset != manifest.object_bytes) {
    return malformed("the chunks hold " + std::to_string(offset) + " bytes; the manifest gives " +
                     std::to_string(manifest.object_bytes));
  }
  return manifest;
}

}  // namespace post::services
