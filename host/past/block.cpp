#include "host/past/block.h"

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/past/errors.h"
#include "host/past/proto/block.pb.h"

namespace post::past {
namespace {

// Domain separation for block signatures; see block.proto.
constexpr std::string_view kSignatureContext = "post-block-v1";

// What a block signature covers: the context, the kind, then the exact body bytes.
Bytes signing_input(BlockKind kind, ByteView signed_body) {
  Bytes out(kSignatureContext.begin(), kSignatureContext.end());
  out.push_back(static_cast<std::uint8_t>(kind));
  append(out, signed_body);
  return out;
}

Error malformed(std::string why) {
  return make_error(PastErrc::kMalformedBlock, std::move(why));
}

Error too_large(std::size_t size) {
  return make_error(PastErrc::kTooLarge, "encoded block of " + std::to_string(size) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(kMaxBlockBytes) + " bytes");
}

template <class Message>
bool parse(Message& message, ByteView bytes) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF), as certificate names must be so that every reader can show them.
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto lead = static_cast<std::uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence, from its lead byte.
    std::size_t length = (lead & 0xe0) == 0xc0   ? 2
                         : (lead & 0xf0) == 0xe0 ? 3
                         : (lead & 0xf8) == 0xf0 ? 4
                                                 : 0;
    if (length == 0 || text.size() - i < length) return false;
    // The smallest code point that needs each length; anything smaller is an overlong form.
    constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    std::uint32_t code = lead & (0x7f >> length);
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = code << 6 | (next & 0x3f);
    }
    if (code < kSmallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

// Fills the decoded fields of a public-key block from its body.
Status decode_public_key_body(Block& block) {
  proto::past::PublicKeyBody body;
  if (!parse(body, block.signed_body)) return malformed("public-key block body does not decode");
  if (body.public_key().size() != crypto::kEd25519PublicKeyBytes) {
    return malformed("public-key block carries a key of " +
                     std::to_string(body.public_key().size()) + " bytes, not 32");
  }
  block.public_key = to_bytes(body.public_key());
  block.timestamp = body.timestamp();
  block.data = to_bytes(body.data());
  return ok_status();
}

// Refuses a certificate name that is empty, too long or not UTF-8.
Status check_name(std::string_view name) {
  if (name.empty()) return malformed("certificate block names no one");
  if (name.size() > kMaxNameBytes) {
    return malformed("certificate name of " + std::to_string(name.size()) +
                     " bytes exceeds the limit of " + std::to_string(kMaxNameBytes));
  }
  if (!is_utf8(name)) return malformed("certificate name is not UTF-8");
  return ok_status();
}

// Fills the decoded fields of a certificate block from its body.
Status decode_certificate_body(Block& block) {
  proto::past::CertificateBody body;
  if (!parse(body, block.signed_body)) return malformed("certificate block body does not decode");
  POST_TRY(check_name(body.name()));
  block.name = body.name();
  block.data = to_bytes(body.data());
  return ok_status();
}

// True when `a` and `b` are the same block, whatever the outer encoding: the same content,
// or the same signed body and signature.
bool same_block(const Block& a, const Block& b) {
  return a.kind == b.kind && a.content == b.content && a.signed_body == b.signed_body &&
         a.signature == b.signature;
}

// Encodes and signs a block of a signed kind, then decodes it again, so that a built block is
// exactly what a replica decoding its bytes would see, limits included.
Result<Block> sign_block(BlockKind kind, ByteView private_key, std::string body) {
  POST_TRY_ASSIGN(Bytes signature, crypto::sign(private_key, signing_input(kind, as_bytes(body))));
  proto::past::Block message;
  message.set_kind(static_cast<proto::past::BlockKind>(kind));
  message.set_signed_body(std::move(body));
  message.set_signature(to_string(signature));
  if (message.ByteSizeLong() > kMaxBlockBytes) return too_large(message.ByteSizeLong());
  return decode_block(wire::encode_message(message));
}

}  // namespace

std::string_view kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::kContentHash: return "content-hash";
    case BlockKind::kPublicKey: return "public-key";
    case BlockKind::kCertificate: return "certificate";
  }
  return "unknown";
}

bool is_mutable(BlockKind kind) {
  return kind == BlockKind::kPublicKey;
}

Result<Block> decode_block(ByteView encoded) {
  if (encoded.size() > kMaxBlockBytes) return too_large(encoded.size());
  proto::past::Block message;
  if (!parse(message, encoded)) {
    return malformed("not a Block message (" + std::to_string(encoded.size()) + " bytes)");
  }
  Block block;
  switch (message.kind()) {
    case proto::past::BLOCK_KIND_UNSPECIFIED: return malformed("block has no kind");
    case proto::past::CONTENT_HASH:
      if (!message.signed_body().empty() || !message.signature().empty()) {
        return malformed("content-hash block carries a signed body or a signature");
      }
      block.kind = BlockKind::kContentHash;
      block.content = to_bytes(message.content());
      break;
    case proto::past::PUBLIC_KEY:
    case proto::past::CERTIFICATE:
      if (!message.content().empty()) {
        return malformed("signed block carries content outside its signed body");
      }
      block.kind = static_cast<BlockKind>(message.kind());
      block.signed_body = to_bytes(message.signed_body());
      block.signature = to_bytes(message.signature());
      POST_TRY(block.kind == BlockKind::kPublicKey ? decode_public_key_body(block)
                                                   : decode_certificate_body(block));
      break;
    default:
      // Proto3 enums are open: a newer writer's kind arrives as its number.
      return make_error(PastErrc::kUnknownKind,
                        "block kind " + std::to_string(static_cast<int>(message.kind())) +
                            " is not known to this version");
  }
  block.encoded.assign(encoded.begin(), encoded.end());
  return block;
}

namespace {

// SHA-256 over the kind's number and then `bytes`. The leading byte separates the kinds' handle
// spaces: nobody can store a content-hash block whose content is Alice's public key (or
// name) under the handle her identity (or certificate) block needs, and so squat on it.
Id tagged_hash(BlockKind kind, ByteView bytes) {
  Bytes input;
  input.reserve(bytes.size() + 1);
  input.push_back(static_cast<std::uint8_t>(kind));
  input.insert(input.end(), bytes.begin(), bytes.end());
  return Id::hash_of(input);
}

}  // namespace

Id content_handle(ByteView content) { return tagged_hash(BlockKind::kContentHash, content); }

Id public_key_handle(ByteView public_key) {
  return tagged_hash(BlockKind::kPublicKey, public_key);
}

Id certificate_handle(std::string_view name) {
  return tagged_hash(BlockKind::kCertificate, as_bytes(name));
}

Id handle_of(const Block& block) {
  switch (block.kind) {
    case BlockKind::kContentHash: return content_handle(block.content);
    case BlockKind::kPublicKey: return public_key_handle(block.public_key);
    case BlockKind::kCertificate: return certificate_handle(block.name);
  }
  return Id();
}

Status validate_block(const Id& handle, const Block& block, ByteView ca_public_key) {
  if (block.encoded.size() > kMaxBlockBytes) return too_large(block.encoded.size());
  Id actual = handle_of(block);
  if (actual != handle) {
    return make_error(PastErrc::kWrongHandle, std::string(kind_name(block.kind)) +
                                                  " block belongs under " + actual.short_hex() +
                                                  ", not " + handle.short_hex());
  }
  switch (block.kind) {
    case BlockKind::kContentHash: return ok_status();
    case BlockKind::kPublicKey:
      if (!crypto::verify(block.public_key, signing_input(block.kind, block.signed_body),
                          block.signature)) {
        return make_error(PastErrc::kBadSignature, "public-key block " + handle.short_hex() +
                                                       " is not signed by its own key");
      }
      return ok_status();
    case BlockKind::kCertificate:
      if (!crypto::verify(ca_public_key, signing_input(block.kind, block.signed_body),
                          block.signature)) {
        return make_error(PastErrc::kBadSignature, "certificate block for \"" + block.name +
                                                       "\" is not signed by the configured CA");
      }
      return ok_status();
  }
  return make_error(PastErrc::kUnknownKind, "block kind " +
                                                std::to_string(static_cast<int>(block.kind)) +
                                                " is not known to this version");
}

Status validate_replacement(const Block& stored, const Block& incoming) {
  if (stored.kind != incoming.kind) {
    return make_error(PastErrc::kKindConflict,
                      "handle " + handle_of(stored).short_hex() + " holds a " +
                          std::string(kind_name(stored.kind)) + " block; a " +
                          std::string(kind_name(incoming.kind)) + " block cannot replace it");
  }
  if (same_block(stored, incoming)) return ok_status();
  switch (incoming.kind) {
    case BlockKind::kPublicKey:
      if (incoming.timestamp <= stored.timestamp) {
        return make_error(PastErrc::kStaleTimestamp,
                          "public-key block " + handle_of(stored).short_hex() + " has timestamp " +
                              std::to_string(incoming.timestamp) + ", not newer than the stored " +
                              std::to_string(stored.timestamp));
      }
      return ok_status();
    case BlockKind::kContentHash:
      // Two valid content-hash blocks under one handle have the same content unless SHA-256
      // collides; this refusal is for blocks that were not validated.
      return make_error(
          PastErrc::kImmutable,
          "content-hash block " + handle_of(stored).short_hex() + " is stored with other content");
    case BlockKind::kCertificate:
      return make_error(PastErrc::kImmutable, "a certificate for \"" + stored.name +
                                                  "\" is already stored and cannot be replaced");
  }
  return make_error(PastErrc::kUnknownKind, "block kind " +
                                                std::to_string(static_cast<int>(incoming.kind)) +
                                                " is not known to this version");
}

Block make_content_block(Bytes data) {
  proto::past::Block message;
  message.set_kind(proto::past::CONTENT_HASH);
  message.set_content(to_string(data));
  Block block;
  block.kind = BlockKind::kContentHash;
  block.content = std::move(data);
  block.encoded = wire::encode_message(message);
  return block;
}

Result<Block> make_public_key_block(ByteView private_key, std::uint64_t timestamp, Bytes data) {
  POST_TRY_ASSIGN(Bytes public_key, crypto::signing_public_key(private_key));
  proto::past::PublicKeyBody body;
  body.set_public_key(to_string(public_key));
  body.set_timestamp(timestamp);
  body.set_data(to_string(data));
  return sign_block(BlockKind::kPublicKey, private_key, body.SerializeAsString());
}

Result<Block> make_certificate_block(ByteView ca_private_key, std::string name, Bytes data) {
  POST_TRY(check_name(name));
  proto::past::CertificateBody body;
  body.set_name(std::move(name));
  body.set_data(to_string(data));
  return sign_block(BlockKind::kCertificate, ca_private_key, body.SerializeAsString());
}

}  // namespace post::past
