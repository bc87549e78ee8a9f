// Pieces: the unit of the secure store's convergent encryption (docs/protocol/secure-store.md).
// A piece is a body (an object, one chunk of one, or a manifest) behind a small header, sealed
// into the content of one PAST content-hash block:
//
//   plaintext  P = varint(len(H)) || H || body        H: a PieceHeader (kind, salted, padding,
//                                                        body length, alignment filler)
//   key        K = SHA-256(P), or SHA-256(salt || P) under an organisation salt
//   content    C = AES-256-GCM(K, nonce 0^96, P, associated data "post-piece-v1") || tag
//   handle       = past::handle_of(content-hash block of C) = SHA-256(0x01 || C)
//
// The same body with the same options (no padding) gives the same key, block and handle,
// whoever seals it: one stored copy. A key encrypts one plaintext only (it is that
// plaintext's hash), so the fixed nonce is never reused with a different message. Everything
// here is a pure function of its arguments (padding comes from the CSPRNG): no network, no
// clock, usable from fuzzers and benchmarks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "host/core/bytes.h"
#include "host/core/crypto.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/past/block.h"

namespace post::services {

// A piece's key: the SHA-256 above, used as its AES-256 key. Whoever holds it can read the
// piece, so it travels only sealed to a recipient (or inside an encrypted manifest).
using ContentKey = std::array<std::uint8_t, crypto::kAesKeyBytes>;

// The fixed GCM nonce and the associated data of every piece. The associated data keeps a
// piece's ciphertext from verifying as any other use of AES-256-GCM under the same key.
inline constexpr std::array<std::uint8_t, crypto::kGcmNonceBytes> kPieceNonce{};
inline constexpr std::string_view kPieceAssociatedData = "post-piece-v1";

// Padding: none, or between these many random bytes. 16 bytes (128 bits) put the key beyond
// guessing; the upper bound keeps headers small (a caller that wants to hide a body's length
// pads it to a size class itself before storing).
inline constexpr std::size_t kMinPaddingBytes = 16;
inline constexpr std::size_t kMaxPaddingBytes = 4096;

// An organisation salt: none, or this many bytes (it should be random: a guessable salt
// protects nothing).
inline constexpr std::size_t kMinSaltBytes = 16;
inline constexpr std::size_t kMaxSaltBytes = 64;

// The most bytes a piece's length-delimited header may take: a header with the most padding,
// its other fields, and the varint before it, with room to spare for fields a later version
// adds. Readers refuse larger headers.
inline constexpr std::size_t kMaxHeaderBytes = kMaxPaddingBytes + 64;

// The largest body one piece holds, whatever the options: one block's payload less the tag
// and the largest header (4,188,080 bytes, just under 4 MiB).
inline constexpr std::size_t kMaxPieceBodyBytes =
    past::kMaxPayloadBytes - crypto::kGcmTagBytes - kMaxHeaderBytes;

// The values are those of the wire enum post.proto.services.PieceKind.
enum class PieceKind : std::uint8_t {
  kData = 1,      // the body is bytes of the object
  kManifest = 2,  // the body is an encoded manifest (host/post/manifest.h)
};

struct SealOptions {
  // The organisation salt (not owned; it must outlive any sealer given these options).
  // Empty: unsalted, so pieces converge with every other writer's.
  ByteView salt;
  // Random bytes added to each piece's header: 0, or kMinPaddingBytes..kMaxPaddingBytes.
  std::size_t padding_bytes = 0;
};

// Checks the bounds above: padding 0 or within [kMinPaddingBytes, kMaxPaddingBytes], salt
// empty or within [kMinSaltBytes, kMaxSaltBytes]. kBadOptions names what is wrong.
Status check_seal_options(const SealOptions& options);

// A sealed piece, ready for past::PastNode::insert.
struct SealedPiece {
  past::Block block;  // a content-hash block holding the ciphertext
  Id handle;          // past::handle_of(block)
  ContentKey key;
};

// Seals `body` as a piece of `kind` (see the top of this file). Refuses options out of bounds
// (kBadOptions) and a body over kMaxPieceBodyBytes (kTooLarge). With padding_bytes == 0 the
// result depends only on `kind`, `body` and the salt.
Result<SealedPiece> seal_piece(PieceKind kind, ByteView body, const SealOptions& options);

// What a piece's header says about its plaintext.
struct PieceLayout {
  PieceKind kind = PieceKind::kData;
  bool salted = false;
  std::size_t header_bytes = 0;  // the varint and the header
  std::size_t body_bytes = 0;    // the rest of the plaintext
};

// Parses the header at the start of a plaintext of `plaintext_bytes` bytes, of which `prefix`
// holds the first (at least min(plaintext_bytes, kMaxHeaderBytes)). Refuses, with
// kMalformedPiece, a length or header that does not decode, a header over kMaxHeaderBytes or
// longer than the plaintext, no kind, padding over kMaxPaddingBytes, and a body length other
// than what follows the header; a kind this version does not know gives kUnknownPieceKind.
// Never throws; reads nothing beyond `prefix`.
Result<PieceLayout> parse_piece_header(ByteView prefix, std::size_t plaintext_bytes);

// An opened piece.
struct OpenedPiece {
  PieceKind kind = PieceKind::kData;
  Bytes body;
};

// Opens the piece whose block content is `content` with `key`: decrypts it, checks the GCM
// tag (kDecryptFailed: tampered, another key, another block), the header (as
// parse_piece_header), and that the plaintext hashes to `key` (kKeyMismatch), with `salt`
// when the header says the piece is salted (kUnknownSalt when `salt` is empty). Nothing is
// believed, and no error other than kDecryptFailed is reported, before the tag has verified.
// The body is decrypted straight into the returned buffer.
Result<OpenedPiece> open_piece(ByteView content, const ContentKey& key, ByteView salt);

// Opens a piece that must be a DATA piece of exactly `out.size()` body bytes (a chunk whose
// size its manifest gives) straight into `out`. Errors as open_piece, plus kChunkMismatch for
// another kind or size. On any error `out` is zeroed: nothing unauthenticated is left there.
Status open_data_piece_into(ByteView content, const ContentKey& key, ByteView salt,
                            std::span<std::uint8_t> out);

}  // namespace post::services
