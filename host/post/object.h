// Objects: what the secure store stores and fetches, as pieces. An object that fits one piece
// (at most kMaxPieceBodyBytes) is one DATA piece; a larger one is chunks of kChunkBytes plus a
// manifest piece (host/post/manifest.h). Either way the object is named by its top piece's
// handle and key. Pure functions, as in piece.h: SecureStore runs them between PAST inserts
// and lookups, benchmarks and fuzzers run them alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <variant>
#include <vector>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/past/block.h"
#include "host/post/manifest.h"
#include "host/post/piece.h"

namespace post::services {

// Seals an object piece by piece, so that a store can insert each one before the next is
// sealed (memory stays at a few pieces, whatever the object's size).
class ObjectSealer {
 public:
  // Refuses options out of bounds (kBadOptions) and an object over kMaxObjectBytes
  // (kTooLarge). `object` and `options.salt` are not copied and must outlive the sealer.
  static Result<ObjectSealer> start(ByteView object, SealOptions options);

  // How many pieces next() gives: 1 for an object that fits one piece, else its chunks and
  // then the manifest.
  std::size_t piece_count() const { return chunk_count_ == 0 ? 1 : chunk_count_ + 1; }
  std::size_t chunk_count() const { return chunk_count_; }
  bool finished() const { return sealed_ == piece_count(); }

  // Seals the next piece: the chunks in order, then the manifest listing them (the object's
  // top piece; store it last, once every chunk is stored, so that whoever can read the
  // manifest finds its chunks). For an object that fits one piece, that one piece. Must not be
  // called once finished().
  Result<SealedPiece> next();

 private:
  ObjectSealer(ByteView object, SealOptions options, std::size_t chunk_count);

  ByteView object_;
  SealOptions options_;
  std::size_t chunk_count_;
  std::size_t sealed_ = 0;
  Manifest manifest_;
};

// A whole object sealed at once: its pieces, top piece last.
struct SealedObject {
  std::vector<SealedPiece> pieces;
  Id handle;  // the top piece's
  ContentKey key;
};

// Seals `object` into all of its pieces (ObjectSealer run to the end); errors as its start().
Result<SealedObject> seal_object(ByteView object, const SealOptions& options);

// An object's top piece, opened: the object itself, or the manifest of its chunks.
using TopPiece = std::variant<Bytes, Manifest>;

// Opens `block` as an object's top piece under `key` (with `salt` if the piece is salted).
// Refuses a block that is not a content-hash block (kWrongBlockKind), and whatever open_piece
// or decode_manifest refuse.
Result<TopPiece> open_top(const past::Block& block, const ContentKey& key, ByteView salt);

// Opens `block` as the chunk `chunk` of an object, straight into its place in `object`
// (object.size() is the manifest's object_bytes). Refuses a block that is not a content-hash
// block (kWrongBlockKind), a chunk outside `object` (kMalformedManifest), and whatever
// open_data_piece_into refuses; on an error the chunk's place in `object` is zeroed.
Status open_chunk(const past::Block& block, const ChunkRef& chunk, ByteView salt,
                  std::span<std::uint8_t> object);

// The block stored under a handle, for open_object: an error when there is none.
using BlockSource = std::function<Result<past::Block>(const Id& handle)>;

// Opens the object named by `handle` and `key`, taking its blocks from `source` (tests and
// benchmarks; SecureStore::fetch does the same over PAST). Errors are those of open_top,
// open_chunk and `source`, the chunk's ones naming which chunk.
Result<Bytes> open_object(const Id& handle, const ContentKey& key, ByteView salt,
                          const BlockSource& source);

}  // namespace post::services
