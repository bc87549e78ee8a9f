#include "host/post/object.h"

#include <algorithm>
#include <string>
#include <utility>

#include "host/post/errors.h"

namespace post::services {
namespace {

Status check_content_block(const past::Block& block) {
  if (block.kind != past::BlockKind::kContentHash) {
    return make_error(PostErrc::kWrongBlockKind,
                      "a " + std::string(past::kind_name(block.kind)) + " block");
  }
  return ok_status();
}

}  // namespace

ObjectSealer::ObjectSealer(ByteView object, SealOptions options, std::size_t chunk_count)
    : object_(object), options_(options), chunk_count_(chunk_count) {
  manifest_.object_bytes = object.size();
  manifest_.chunks.reserve(chunk_count);
}

Result<ObjectSealer> ObjectSealer::start(ByteView object, SealOptions options) {
  POST_TRY(check_seal_options(options));
  if (object.size() > kMaxObjectBytes) {
    return make_error(PostErrc::kTooLarge, "an object of " + std::to_string(object.size()) +
                                               " bytes; the limit is " +
                                               std::to_string(kMaxObjectBytes));
  }
  const std::size_t chunks =
      object.size() <= kMaxPieceBodyBytes ? 0 : (object.size() + kChunkBytes - 1) / kChunkBytes;
  return ObjectSealer(object, options, chunks);
}

Result<SealedPiece> ObjectSealer::next() {
  if (chunk_count_ == 0) {
    ++sealed_;
    return seal_piece(PieceKind::kData, object_, options_);
  }
  if (sealed_ < chunk_count_) {
    const std::size_t offset = sealed_ * kChunkBytes;
    const ByteView body = object_.subspan(offset, std::min(kChunkBytes, object_.size() - offset));
    POST_TRY_ASSIGN(SealedPiece piece, seal_piece(PieceKind::kData, body, options_));
    ChunkRef ref;
    ref.handle = piece.handle;
    ref.key = piece.key;
    ref.offset = offset;
    ref.body_bytes = body.size();
    manifest_.chunks.push_back(ref);
    ++sealed_;
    return piece;
  }
  ++sealed_;
  return seal_piece(PieceKind::kManifest, encode_manifest(manifest_), options_);
}

Result<SealedObject> seal_object(ByteView object, const SealOptions& options) {
  POST_TRY_ASSIGN(ObjectSealer sealer, ObjectSealer::start(object, options));
  SealedObject sealed;
  sealed.pieces.reserve(sealer.piece_count());
  while (!sealer.finished()) {
    POST_TRY_ASSIGN(SealedPiece piece, sealer.next());
    sealed.pieces.push_back(std::move(piece));
  }
  sealed.handle = sealed.pieces.back().handle;
  sealed.key = sealed.pieces.back().key;
  return sealed;
}

Result<TopPiece> open_top(const past::Block& block, const ContentKey& key, ByteView salt) {
  POST_TRY(check_content_block(block));
  POST_TRY_ASSIGN(OpenedPiece piece, open_piece(block.content, key, salt));
  if (piece.kind == PieceKind::kData) return TopPiece(std::move(piece.body));
  POST_TRY_ASSIGN(Manifest manifest, decode_manifest(piece.body));
  return TopPiece(std::move(manifest));
}

Status open_chunk(const past::Block& block, const ChunkRef& chunk, ByteView salt,
                  std::span<std::uint8_t> object) {
  if (chunk.offset > object.size() || chunk.body_bytes > object.size() - chunk.offset) {
    return make_error(PostErrc::kMalformedManifest, "a chunk at " + std::to_string(chunk.offset) +
                                                        " of " + std::to_string(chunk.body_bytes) +
                                                        " bytes lies outside an object of " +
                                                        std::to_string(object.size()));
  }
  const auto place = object.subspan(chunk.offset, chunk.body_bytes);
  if (auto s = check_content_block(block); !s.ok()) {
    std::fill(place.begin(), place.end(), std::uint8_t{0});
    return s;
  }
  return open_data_piece_into(block.content, chunk.key, salt, place);
}

Result<Bytes> open_object(const Id& handle, const ContentKey& key, ByteView salt,
                          const BlockSource& source) {
  POST_TRY_ASSIGN(past::Block top_block, source(handle));
  POST_TRY_ASSIGN(TopPiece top, open_top(top_block, key, salt));
  if (auto* data = std::get_if<Bytes>(&top)) return std::move(*data);
  const Manifest& manifest = std::get<Manifest>(top);
  Bytes object(manifest.object_bytes);
  for (std::size_t i = 0; i < manifest.chunks.size(); ++i) {
    const ChunkRef& chunk = manifest.chunks[i];
    auto block = source(chunk.handle);
    Status opened = block.ok() ? open_chunk(*block, chunk, salt, object) : block.error();
    if (!opened.ok()) {
      Error e = std::move(opened).error();
      e.message = "chunk " + std::to_string(i) + " of " + std::to_string(manifest.chunks.size()) +
                  " (" + chunk.handle.short_hex() + "): " + e.message;
      return e;
    }
  }
  return object;
}

}  // namespace post::services
