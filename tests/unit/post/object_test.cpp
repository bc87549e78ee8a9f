// Objects and manifests (host/post/object.h, manifest.h) without a ring: objects of every
// size class sealed into pieces and opened back from a map of blocks, manifests checked
// against their bounds, and manifests that point at the wrong chunks.
#include "host/post/object.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "host/core/random.h"
#include "host/past/errors.h"
#include "host/post/errors.h"
#include "host/post/manifest.h"
#include "host/post/proto/secure_store.pb.h"

namespace post::services {
namespace {

namespace pb = proto::services;

template <class T>
std::string describe(const Result<T>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

template <class T>
bool fails_with(const Result<T>& r, PostErrc code) {
  return !r.ok() && r.error().code == make_error_code(code);
}

// Blocks by handle, as PAST would serve them.
struct Blocks {
  std::map<Id, past::Block> blocks;

  void add(const SealedObject& object) {
    for (const auto& piece : object.pieces) blocks[piece.handle] = piece.block;
  }
  BlockSource source() const {
    return [this](const Id& handle) -> Result<past::Block> {
      auto it = blocks.find(handle);
      if (it == blocks.end()) return make_error(past::PastErrc::kNotFound, handle.short_hex());
      return it->second;
    };
  }
};

Result<Bytes> round_trip(ByteView object, const SealOptions& options, std::size_t* pieces) {
  POST_TRY_ASSIGN(SealedObject sealed, seal_object(object, options));
  *pieces = sealed.pieces.size();
  Blocks blocks;
  blocks.add(sealed);
  return open_object(sealed.handle, sealed.key, options.salt, blocks.source());
}

TEST(Object, EverySizeClassRoundTripsInTheExpectedNumberOfPieces) {
  struct Case {
    std::size_t bytes;
    std::size_t pieces;
  };
  const std::size_t over = kMaxPieceBodyBytes + 1;
  const std::vector<Case> cases = {
      {0, 1},
      {1, 1},
      {4096, 1},
      {kMaxPieceBodyBytes, 1},                             // exactly one block
      {over, (over + kChunkBytes - 1) / kChunkBytes + 1},  // chunks and a manifest
      {5 * kChunkBytes, 6},
      {5 * kChunkBytes + 1, 7},
  };
  Bytes salt(32, 9);
  for (const Case& c : cases) {
    for (bool salted : {false, true}) {
      SCOPED_TRACE(std::to_string(c.bytes) + (salted ? " bytes, salted" : " bytes"));
      Bytes object = Rng(c.bytes).bytes(c.bytes);
      SealOptions options;
      if (salted) options.salt = salt;
      std::size_t pieces = 0;
      auto opened = round_trip(object, options, &pieces);
      ASSERT_TRUE(opened.ok()) << describe(opened);
      EXPECT_EQ(*opened, object);
      EXPECT_EQ(pieces, c.pieces);
    }
  }
}

TEST(Object, PaddedLargeObjectsRoundTripAndShareNoChunkWithAnotherStore) {
  Bytes object = Rng(5).bytes(5 * kChunkBytes);
  SealOptions padded;
  padded.padding_bytes = 64;
  auto a = seal_object(object, padded);
  auto b = seal_object(object, padded);
  ASSERT_TRUE(a.ok() && b.ok());
  for (const auto& pa : a->pieces) {
    for (const auto& pb_ : b->pieces) EXPECT_NE(pa.handle, pb_.handle);
  }
  Blocks blocks;
  blocks.add(*a);
  blocks.add(*b);
  auto opened_a = open_object(a->handle, a->key, {}, blocks.source());
  auto opened_b = open_object(b->handle, b->key, {}, blocks.source());
  ASSERT_TRUE(opened_a.ok() && opened_b.ok());
  EXPECT_EQ(*opened_a, object);
  EXPECT_EQ(*opened_b, object);
}

TEST(Object, TheSameLargeObjectSealsToTheSameBlocks) {
  Bytes object = Rng(8).bytes(3 * kChunkBytes + kMaxPieceBodyBytes / 2);
  auto a = seal_object(object, {});
  auto b = seal_object(Bytes(object), {});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->pieces.size(), b->pieces.size());
  for (std::size_t i = 0; i < a->pieces.size(); ++i) {
    EXPECT_EQ(a->pieces[i].block.encoded, b->pieces[i].block.encoded) << i;
  }
  EXPECT_EQ(a->handle, b->handle);
  EXPECT_EQ(a->key, b->key);
}

TEST(Object, AnObjectOverTheLimitIsRefusedBeforeAnythingIsSealed) {
  // A view of kMaxObjectBytes + 1 bytes that are never read.
  static const std::uint8_t byte = 0;
  ByteView huge(&byte, static_cast<std::size_t>(kMaxObjectBytes) + 1);
  EXPECT_TRUE(fails_with(ObjectSealer::start(huge, {}), PostErrc::kTooLarge));
}

TEST(Object, AMissingChunkIsReportedWithItsNumberAndPastCode) {
  Bytes object = Rng(1).bytes(5 * kChunkBytes);
  auto sealed = seal_object(object, {});
  ASSERT_TRUE(sealed.ok());
  Blocks blocks;
  blocks.add(*sealed);
  blocks.blocks.erase(sealed->pieces[2].handle);
  auto opened = open_object(sealed->handle, sealed->key, {}, blocks.source());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, past::PastErrc::kNotFound);
  EXPECT_NE(opened.error().message.find("chunk 2 of 5"), std::string::npos)
      << opened.error().to_string();
}

// A manifest sealed by a key holder with the chunks of `sealed` rearranged by `edit`.
SealedPiece manifest_with(const SealedObject& sealed, std::uint64_t object_bytes,
                          const std::function<void(std::vector<ChunkRef>&)>& edit) {
  Manifest manifest;
  manifest.object_bytes = object_bytes;
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i + 1 < sealed.pieces.size(); ++i) {
    ChunkRef ref;
    ref.handle = sealed.pieces[i].handle;
    ref.key = sealed.pieces[i].key;
    ref.offset = offset;
    ref.body_bytes = std::min<std::uint64_t>(kChunkBytes, object_bytes - offset);
    offset += ref.body_bytes;
    manifest.chunks.push_back(ref);
  }
  edit(manifest.chunks);
  return seal_piece(PieceKind::kManifest, encode_manifest(manifest), {}).value();
}

TEST(Object, AManifestPointingAtTheWrongChunkGivesAClearError) {
  const std::uint64_t size = 4 * kChunkBytes + 1000;  // chunks 0-3 full, 4 short
  Bytes object = Rng(2).bytes(size);
  auto sealed = seal_object(object, {});
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->pieces.size(), 6u);
  struct Case {
    const char* what;
    std::function<void(std::vector<ChunkRef>&)> edit;
    PostErrc expected;
  };
  const std::vector<Case> cases = {
      // Chunk 1's handle with chunk 0's key: that block is not encrypted under it.
      {"another chunk's block", [](auto& c) { c[0].handle = c[1].handle; },
       PostErrc::kDecryptFailed},
      // The short last chunk where a full one belongs (handle and key swapped together, the
      // sizes left in place): caught by its size. Only a key holder can seal a manifest, so a
      // manifest that reorders full chunks is simply another object, not a forgery.
      {"the short chunk where a full one belongs",
       [](auto& c) {
         std::swap(c[0].handle, c[4].handle);
         std::swap(c[0].key, c[4].key);
       },
       PostErrc::kChunkMismatch},
      // The manifest's own block as a chunk: a manifest piece where data belongs.
      {"the manifest itself as a chunk",
       [&](auto& c) {
         c[1].handle = sealed->handle;
         c[1].key = sealed->key;
         c[1].body_bytes = kChunkBytes;
       },
       PostErrc::kChunkMismatch},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    SealedPiece bad = manifest_with(*sealed, size, c.edit);
    Blocks blocks;
    blocks.add(*sealed);
    blocks.blocks[bad.handle] = bad.block;
    auto opened = open_object(bad.handle, bad.key, {}, blocks.source());
    EXPECT_TRUE(fails_with(opened, c.expected)) << describe(opened);
  }
}

TEST(Object, OpenTopRefusesABlockOfAnotherKind) {
  auto block = past::make_public_key_block(Bytes(32, 7), 1, to_bytes("identity")).value();
  EXPECT_TRUE(fails_with(open_top(block, ContentKey{}, {}), PostErrc::kWrongBlockKind));
  Bytes object(10);
  ChunkRef chunk;
  chunk.body_bytes = 10;
  EXPECT_TRUE(fails_with(open_chunk(block, chunk, {}, object), PostErrc::kWrongBlockKind));
}

// ---- manifests --------------------------------------------------------------------------

pb::ChunkRef chunk_ref(std::uint64_t body_bytes) {
  pb::ChunkRef ref;
  ref.set_handle(std::string(32, 'h'));
  ref.set_key(std::string(32, 'k'));
  ref.set_body_bytes(body_bytes);
  return ref;
}

Result<Manifest> decode(const pb::Manifest& m) {
  return decode_manifest(as_bytes(m.SerializeAsString()));
}

TEST(Manifest, RoundTripsAndFillsInTheOffsets) {
  Manifest manifest;
  manifest.object_bytes = 2 * kChunkBytes + 5;
  for (std::uint64_t size :
       {std::uint64_t{kChunkBytes}, std::uint64_t{kChunkBytes}, std::uint64_t{5}}) {
    ChunkRef ref;
    ref.handle = Id::hash_of(to_bytes(std::to_string(size)));
    ref.key.fill(static_cast<std::uint8_t>(size));
    ref.body_bytes = size;
    manifest.chunks.push_back(ref);
  }
  auto decoded = decode_manifest(encode_manifest(manifest));
  ASSERT_TRUE(decoded.ok()) << describe(decoded);
  ASSERT_EQ(decoded->chunks.size(), 3u);
  EXPECT_EQ(decoded->object_bytes, manifest.object_bytes);
  EXPECT_EQ(decoded->chunks[2].offset, 2 * kChunkBytes);
  EXPECT_EQ(decoded->chunks[1].handle, manifest.chunks[1].handle);
  EXPECT_EQ(decoded->chunks[2].key, manifest.chunks[2].key);
}

TEST(Manifest, EveryBoundIsChecked) {
  struct Case {
    const char* what;
    pb::Manifest manifest;
    PostErrc expected;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, auto edit, PostErrc expected = PostErrc::kMalformedManifest) {
    pb::Manifest m;
    *m.add_chunks() = chunk_ref(10);
    *m.add_chunks() = chunk_ref(20);
    m.set_object_bytes(30);
    edit(m);
    cases.push_back({what, m, expected});
  };
  with("no chunks", [](pb::Manifest& m) {
    m.clear_chunks();
    m.set_object_bytes(0);
  });
  with("sizes add up to less", [](pb::Manifest& m) { m.set_object_bytes(31); });
  with("sizes add up to more", [](pb::Manifest& m) { m.set_object_bytes(29); });
  with("an empty chunk", [](pb::Manifest& m) {
    m.mutable_chunks(0)->set_body_bytes(0);
    m.set_object_bytes(20);
  });
  with("a chunk larger than a piece", [](pb::Manifest& m) {
    m.mutable_chunks(0)->set_body_bytes(kMaxPieceBodyBytes + 1);
    m.set_object_bytes(kMaxPieceBodyBytes + 21);
  });
  with("a short handle", [](pb::Manifest& m) { m.mutable_chunks(1)->set_handle("h"); });
  with("a long key", [](pb::Manifest& m) { m.mutable_chunks(1)->set_key(std::string(33, 'k')); });
  with(
      "an object over the limit", [](pb::Manifest& m) { m.set_object_bytes(kMaxObjectBytes + 1); },
      PostErrc::kTooLarge);
  with("sizes that would overflow",
       [](pb::Manifest& m) { m.mutable_chunks(0)->set_body_bytes(~std::uint64_t{0}); });
  with("too many chunks", [](pb::Manifest& m) {
    m.clear_chunks();
    for (std::size_t i = 0; i <= kMaxManifestChunks; ++i) *m.add_chunks() = chunk_ref(1);
    m.set_object_bytes(kMaxManifestChunks + 1);
  });
  for (const Case& c : cases) {
    auto decoded = decode(c.manifest);
    EXPECT_TRUE(fails_with(decoded, c.expected)) << c.what << ": " << describe(decoded);
  }
  EXPECT_TRUE(fails_with(decode_manifest(to_bytes("\xff\xff")), PostErrc::kMalformedManifest));
  // The largest listing allowed decodes.
  pb::Manifest most;
  for (std::size_t i = 0; i < kMaxManifestChunks; ++i) *most.add_chunks() = chunk_ref(1);
  most.set_object_bytes(kMaxManifestChunks);
  EXPECT_TRUE(decode(most).ok());
}

}  // namespace
}  // namespace post::services
