// Bytes into the secure store's decoders (host/post/piece.h, manifest.h), as an adversary
// with or without a key could make them: nothing may crash, hang or read out of bounds, and
// the decoders must agree with each other. The input is used four ways:
//   1. as an encoded manifest (decode_manifest; a decoded one must re-encode to the same
//      manifest and satisfy its bounds);
//   2. as the start of a piece's plaintext (parse_piece_header);
//   3. as a plaintext that a key holder sealed honestly, unsalted and salted (encrypted here
//      under its own hash): open_piece must accept it exactly when (2) accepts it with the
//      matching salted flag, and give back the bytes after the header;
//   4. as block content under a fixed key (what anyone without the key can store).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/core/crypto.h"
#include "host/post/errors.h"
#include "host/post/manifest.h"
#include "host/post/piece.h"

namespace {

using namespace post;
using namespace post::services;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_manifest(ByteView input) {
  auto manifest = decode_manifest(input);
  if (!manifest.ok()) return;
  check(!manifest->chunks.empty() && manifest->chunks.size() <= kMaxManifestChunks);
  check(manifest->object_bytes <= kMaxObjectBytes);
  std::uint64_t offset = 0;
  for (const ChunkRef& c : manifest->chunks) {
    check(c.offset == offset && c.body_bytes > 0 && c.body_bytes <= kMaxPieceBodyBytes);
    offset += c.body_bytes;
  }
  check(offset == manifest->object_bytes);
  auto again = decode_manifest(encode_manifest(*manifest));
  check(again.ok() && again->object_bytes == manifest->object_bytes &&
        again->chunks.size() == manifest->chunks.size());
  for (std::size_t i = 0; i < again->chunks.size(); ++i) {
    check(again->chunks[i].handle == manifest->chunks[i].handle &&
          again->chunks[i].key == manifest->chunks[i].key &&
          again->chunks[i].body_bytes == manifest->chunks[i].body_bytes);
  }
}

// `plaintext` sealed under its own (salted) hash, as an honest writer would, then opened.
void fuzz_authentic_plaintext(ByteView plaintext, const Result<PieceLayout>& layout,
                              ByteView salt) {
  crypto::Sha256 hash;
  hash.update(salt);
  hash.update(plaintext);
  const ContentKey key = hash.finish();
  auto content =
      crypto::aes_gcm_encrypt(key, kPieceNonce, plaintext, as_bytes(kPieceAssociatedData));
  check(content.ok());
  auto opened = open_piece(*content, key, salt);
  const bool salted = !salt.empty();
  const bool expected = layout.ok() && layout->salted == salted;
  check(opened.ok() == expected);
  if (!opened.ok()) {
    // The layout's own refusal, or the salt's; never "does not decrypt".
    check(opened.error().code != make_error_code(PostErrc::kDecryptFailed));
    return;
  }
  check(opened->kind == layout->kind && opened->body.size() == layout->body_bytes);
  check(std::equal(opened->body.begin(), opened->body.end(),
                   plaintext.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes),
                   plaintext.end()));
  if (opened->kind == PieceKind::kManifest) fuzz_manifest(opened->body);
  // The same piece as a chunk of the size it holds: a data piece opens in place, a manifest
  // piece is refused and leaves zeros.
  Bytes out(opened->body.size(), 0xee);
  auto status = open_data_piece_into(*content, key, salt, out);
  check(status.ok() == (opened->kind == PieceKind::kData));
  if (status.ok()) {
    check(out == opened->body);
  } else {
    check(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Bytes salt(32, 0x5a);
  static const ContentKey fixed_key = crypto::sha256(as_bytes("secure_store_fuzz"));
  const ByteView input(data, size);

  fuzz_manifest(input);

  auto layout = parse_piece_header(input, input.size());
  if (layout.ok()) check(layout->header_bytes + layout->body_bytes == input.size());

  fuzz_authentic_plaintext(input, layout, {});
  fuzz_authentic_plaintext(input, layout, salt);

  // Without the key, nothing but "does not decrypt" (or, for a lucky forgery, a key check).
  auto opened = open_piece(input, fixed_key, salt);
  check(!opened.ok());
  return 0;
}
