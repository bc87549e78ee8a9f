// PAST blocks: decoding, handles, validation and replacement rules, and builders. The three
// kinds are those of DESIGN.md "PAST block kinds":
//
//   content-hash   handle = SHA-256(0x01 || content)     immutable
//   public-key     handle = SHA-256(0x02 || public key)  replaced only by a strictly newer timestamp,
//                                                signed by the key itself
//   certificate    handle = SHA-256(0x03 || name)        immutable, signed by the CA
//
// The leading kind byte (not in DESIGN.md's table) keeps the kinds' handle spaces apart, so no
// block of one kind can squat on the handle another kind's block needs.
//
// host/past/proto/block.proto is the stored and wire form. A block keeps the exact bytes it
// was decoded from (`encoded`); replicas store and forward those bytes, never a
// re-serialization, and signatures are checked over the exact `signed_body` bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"

namespace post::past {

// The largest encoded block a node accepts, stores or forwards: it bounds the memory one
// request can take, and a block plus the message around it fits in one frame
// (wire::kMaxFrameBytes).
inline constexpr std::size_t kMaxBlockBytes = 4 * 1024 * 1024;

// The longest certificate name accepted; names are user or service names, and the bound
// keeps kMaxPayloadBytes simple.
inline constexpr std::size_t kMaxNameBytes = 1024;

// A payload (content or data) of at most this size fits in a block of any kind: it leaves
// room for the Block message, the key, timestamp and signature, and a name of kMaxNameBytes.
// Layers that split large objects into blocks cut them at this size.
inline constexpr std::size_t kMaxPayloadBytes = kMaxBlockBytes - 2048;

// The values are those of the wire enum post.proto.past.BlockKind.
enum class BlockKind : std::uint8_t {
  kContentHash = 1,
  kPublicKey = 2,
  kCertificate = 3,
};

// "content-hash", "public-key" or "certificate", for messages and logs.
std::string_view kind_name(BlockKind kind);

// True for kinds whose stored block may be replaced by a newer one (public-key blocks).
bool is_mutable(BlockKind kind);

// A decoded block. Only decode_block and the builders below make one, so the decoded fields
// always agree with `signed_body` and `encoded`.
struct Block {
  BlockKind kind = BlockKind::kContentHash;
  Bytes content;      // content-hash: the data
  Bytes signed_body;  // signed kinds: the exact body bytes the signature covers
  Bytes signature;    // signed kinds: Ed25519, see block.proto for what is signed
  // Decoded from signed_body:
  Bytes public_key;             // public-key: the Ed25519 key that signs the block
  std::uint64_t timestamp = 0;  // public-key: the writer's version number
  std::string name;             // certificate: the name the CA vouches for
  Bytes data;                   // signed kinds: the payload
  // The exact bytes decoded (or built): what is stored, forwarded and counted against limits.
  Bytes encoded;

  // The application's bytes: `content` for content-hash blocks, `data` otherwise.
  ByteView payload() const { return kind == BlockKind::kContentHash ? content : data; }
};

// Decodes a block from `encoded` and keeps a copy of those bytes. Checks only the form, not
// handles or signatures (validate_block does). Refuses more than kMaxBlockBytes (kTooLarge)
// before parsing; refuses bytes that are not a Block, a block without a kind, fields that do
// not belong to its kind, an undecodable body, a public key that is not 32 bytes, and a
// certificate name that is empty, over kMaxNameBytes or not UTF-8 (kMalformedBlock); and kinds this
// version does not know (kUnknownKind). Never throws.
Result<Block> decode_block(ByteView encoded);

// Handles of each kind, for readers that know the content, key or name they look for:
// SHA-256 of the kind's byte followed by the content, key or name.
Id content_handle(ByteView content);
Id public_key_handle(ByteView public_key);
Id certificate_handle(std::string_view name);

// The handle `block` must be stored under: the handle of its content, key or name.
Id handle_of(const Block& block);

// Checks that `block` may be stored under `handle`: at most kMaxBlockBytes encoded
// (kTooLarge), handle_of(block) == handle (kWrongHandle), and for signed kinds a valid
// signature over the exact signed_body (kBadSignature): a public-key block by its own key, a
// certificate block by `ca_public_key` (the CA's Ed25519 key; unused for other kinds). Every
// replica runs it before storing and every reader before believing a block.
Status validate_block(const Id& handle, const Block& block, ByteView ca_public_key);

// Checks that `incoming` may replace `stored`, both already valid under the same handle.
// Receiving the same block again (same content, or same signed body and signature) is fine
// for every kind, so retried inserts and replica repair are idempotent. Otherwise: a block
// of another kind is refused (kKindConflict); a public-key block must carry a strictly newer
// timestamp than the stored one (kStaleTimestamp, also for an equal timestamp); content-hash
// and certificate blocks are immutable, the first valid one stays (kImmutable). A CA that
// wants to change what it vouches for under a name issues a certificate that points to a
// public-key block, which can be updated.
Status validate_replacement(const Block& stored, const Block& incoming);

// ---- builders (for clients, tools and tests) --------------------------------------------

// A content-hash block holding `data`. Does not check the size: content of up to
// kMaxPayloadBytes always fits, and validate_block refuses an encoding over kMaxBlockBytes.
Block make_content_block(Bytes data);

// A public-key block signed by the Ed25519 seed `private_key`, with the given version
// `timestamp`. Refuses a key that is not 32 bytes (CoreErrc::kBadKey) and a block whose
// encoding would exceed kMaxBlockBytes (kTooLarge).
Result<Block> make_public_key_block(ByteView private_key, std::uint64_t timestamp, Bytes data);

// A certificate block for `name`, signed by the CA's Ed25519 seed `ca_private_key`. Refuses a
// bad key (CoreErrc::kBadKey), a name that is empty, longer than kMaxNameBytes or not UTF-8,
// and an encoding over kMaxBlockBytes (kMalformedBlock / kTooLarge, as decode_block would).
Result<Block> make_certificate_block(ByteView ca_private_key, std::string name, Bytes data);

}  // namespace post::past
