#include "host/post/piece.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "host/post/errors.h"
#include "host/post/proto/secure_store.pb.h"

namespace post::services {
namespace {

namespace pb = proto::services;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

// Bulk data is hashed right after it is encrypted or decrypted, slice by slice, while the
// slice is still in the cache.
constexpr std::size_t kSliceBytes = 64 * 1024;

ByteView associated_data() {
  return as_bytes(kPieceAssociatedData);
}

ByteView nonce() {
  return {kPieceNonce.data(), kPieceNonce.size()};
}

Error malformed(std::string why) {
  return make_error(PostErrc::kMalformedPiece, std::move(why));
}

// The piece's handle hash starts with the kind byte of past::content_handle; it is computed
// here over the ciphertext as it is written, instead of over a copy of it afterwards.
// Tests check that the two agree.
constexpr std::uint8_t kContentHashKindByte =
    static_cast<std::uint8_t>(past::BlockKind::kContentHash);

// A plaintext's header, parsed from its first bytes to learn where the body goes, before the
// tag has been checked: nothing it says is believed, and no error it gives is reported, until
// the tag verifies.
struct Routing {
  Result<PieceLayout> layout;
  std::span<std::uint8_t> body;  // where the body goes, when the layout was accepted
};

// Decrypts `content`, routing the body into what `destination(layout)` returns; checks the
// tag, then the key. `destination` may refuse a layout with an error that is reported only
// once the tag has verified.
template <class Destination>
Result<PieceLayout> open_routed(ByteView content, const ContentKey& key, ByteView salt,
                                Destination&& destination) {
  if (content.size() < crypto::kGcmTagBytes) {
    return make_error(
        PostErrc::kDecryptFailed,
        "block content of " + std::to_string(content.size()) + " bytes is shorter than a GCM tag");
  }
  const std::size_t plaintext_bytes = content.size() - crypto::kGcmTagBytes;
  const ByteView ciphertext = content.first(plaintext_bytes);
  const ByteView tag = content.last(crypto::kGcmTagBytes);
  POST_TRY_ASSIGN(auto decryptor, crypto::GcmDecryptor::start(key, nonce(), associated_data()));

  // The header is somewhere in the first kMaxHeaderBytes.
  std::array<std::uint8_t, kMaxHeaderBytes> prefix_buffer;
  const std::size_t prefix_bytes = std::min(plaintext_bytes, kMaxHeaderBytes);
  const std::span<std::uint8_t> prefix(prefix_buffer.data(), prefix_bytes);
  POST_TRY(decryptor.update(ciphertext.first(prefix_bytes), prefix));

  Routing routing{parse_piece_header(prefix, plaintext_bytes), {}};
  if (routing.layout.ok()) {
    auto body = destination(*routing.layout);
    if (body.ok()) {
      routing.body = *body;
    } else {
      routing.layout = std::move(body).error();
    }
  }

  if (!routing.layout.ok()) {
    // Refused before authentication: decrypt the rest to nowhere, so that the error reported
    // is kDecryptFailed unless the piece really is authentic (and then says what is wrong).
    std::array<std::uint8_t, 4096> sink;
    for (std::size_t at = prefix_bytes; at < plaintext_bytes;) {
      const std::size_t n = std::min(sink.size(), plaintext_bytes - at);
      POST_TRY(decryptor.update(ciphertext.subspan(at, n), std::span(sink.data(), n)));
      at += n;
    }
    if (!decryptor.finish(tag)) {
      return make_error(PostErrc::kDecryptFailed, "the GCM tag does not verify under the key");
    }
    return std::move(routing.layout).error();
  }

  const PieceLayout layout = *routing.layout;
  const std::span<std::uint8_t> body = routing.body;
  const auto wipe = [&] { std::fill(body.begin(), body.end(), std::uint8_t{0}); };

  // The key is SHA-256(salt || plaintext) for a salted piece; if this node holds no salt the
  // piece is refused below, once the tag has been checked.
  crypto::Sha256 hash;
  if (layout.salted) hash.update(salt);
  hash.update(ByteView(prefix).first(layout.header_bytes));
  // The part of the body that came with the prefix, then the rest, slice by slice.
  const std::size_t early = prefix_bytes - layout.header_bytes;
  std::copy_n(prefix.begin() + static_cast<std::ptrdiff_t>(layout.header_bytes), early,
              body.begin());
  hash.update(body.first(early));
  for (std::size_t at = early; at < body.size();) {
    const std::size_t n = std::min(kSliceBytes, body.size() - at);
    if (auto s =
            decryptor.update(ciphertext.subspan(prefix_bytes + at - early, n), body.subspan(at, n));
        !s.ok()) {
      wipe();
      return std::move(s).error();
    }
    hash.update(body.subspan(at, n));
    at += n;
  }
  if (!decryptor.finish(tag)) {
    wipe();
    return make_error(PostErrc::kDecryptFailed, "the GCM tag does not verify under the key");
  }
  if (layout.salted && salt.empty()) {
    wipe();
    return make_error(PostErrc::kUnknownSalt,
                      "the piece is salted with an organisation salt and this node has none");
  }
  const crypto::Digest digest = hash.finish();
  if (!constant_time_equal(digest, key)) {
    wipe();
    return make_error(PostErrc::kKeyMismatch,
                      layout.salted
                          ? "the plaintext does not hash to the key under this node's salt "
                            "(another organisation's salt, or a forged piece)"
                          : "the plaintext does not hash to the key (a forged piece)");
  }
  return layout;
}

// The salt and the delimited header are hashed before the body: the body's position in the
// hash input is their length.
constexpr std::size_t kHashAlignment = 4;

std::size_t delimited_size(const pb::PieceHeader& header) {
  const auto message = static_cast<std::uint32_t>(header.ByteSizeLong());
  return CodedOutputStream::VarintSize32(message) + message;
}

// Sets `header`'s alignment field so that salt + delimited header is a multiple of
// kHashAlignment bytes. A field of n filler bytes adds n + 2 bytes, so 1 to 4 of them reach
// every residue; up to 7 covers the varint before the header growing by a byte. Should none
// fit, the header stays unaligned: slower to hash, equally valid.
void align_header(pb::PieceHeader& header, std::size_t salt_bytes) {
  header.clear_alignment();
  for (std::size_t filler = 0; filler <= 7; ++filler) {
    if (filler > 0) header.set_alignment(std::string(filler, '\0'));
    if ((salt_bytes + delimited_size(header)) % kHashAlignment == 0) return;
  }
  header.clear_alignment();
}

}  // namespace

Status check_seal_options(const SealOptions& options) {
  if (options.padding_bytes != 0 &&
      (options.padding_bytes < kMinPaddingBytes || options.padding_bytes > kMaxPaddingBytes)) {
    return make_error(PostErrc::kBadOptions, "padding of " + std::to_string(options.padding_bytes) +
                                                 " bytes: it must be 0 or from " +
                                                 std::to_string(kMinPaddingBytes) + " to " +
                                                 std::to_string(kMaxPaddingBytes));
  }
  if (!options.salt.empty() &&
      (options.salt.size() < kMinSaltBytes || options.salt.size() > kMaxSaltBytes)) {
    return make_error(PostErrc::kBadOptions, "salt of " + std::to_string(options.salt.size()) +
                                                 " bytes: it must be empty or from " +
                                                 std::to_string(kMinSaltBytes) + " to " +
                                                 std::to_string(kMaxSaltBytes));
  }
  return ok_status();
}

Result<SealedPiece> seal_piece(PieceKind kind, ByteView body, const SealOptions& options) {
  POST_TRY(check_seal_options(options));
  if (body.size() > kMaxPieceBodyBytes) {
    return make_error(PostErrc::kTooLarge, "piece body of " + std::to_string(body.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(kMaxPieceBodyBytes));
  }
  pb::PieceHeader header;
  header.set_kind(static_cast<pb::PieceKind>(kind));
  header.set_salted(!options.salt.empty());
  if (options.padding_bytes > 0) {
    header.set_padding(to_string(crypto::random_bytes(options.padding_bytes)));
  }
  header.set_body_bytes(body.size());
  align_header(header, options.salt.size());
  const auto message_bytes = static_cast<std::uint32_t>(header.ByteSizeLong());
  Bytes prefix(CodedOutputStream::VarintSize32(message_bytes) + message_bytes);
  header.SerializeWithCachedSizesToArray(
      CodedOutputStream::WriteVarint32ToArray(message_bytes, prefix.data()));

  crypto::Sha256 key_hash;
  key_hash.update(options.salt);
  key_hash.update(prefix);
  key_hash.update(body);
  SealedPiece piece;
  piece.key = key_hash.finish();

  const std::size_t plaintext_bytes = prefix.size() + body.size();
  Bytes content(plaintext_bytes + crypto::kGcmTagBytes);
  const std::span<std::uint8_t> out(content);
  POST_TRY_ASSIGN(auto encryptor,
                  crypto::GcmEncryptor::start(piece.key, nonce(), associated_data()));
  crypto::Sha256 handle_hash;
  const std::uint8_t kind_byte = kContentHashKindByte;
  handle_hash.update(ByteView(&kind_byte, 1));
  POST_TRY(encryptor.update(prefix, out.first(prefix.size())));
  handle_hash.update(out.first(prefix.size()));
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t n = std::min(kSliceBytes, body.size() - at);
    const auto slice = out.subspan(prefix.size() + at, n);
    POST_TRY(encryptor.update(body.subspan(at, n), slice));
    handle_hash.update(slice);
    at += n;
  }
  POST_TRY_ASSIGN(auto tag, encryptor.finish());
  std::copy(tag.begin(), tag.end(), out.begin() + static_cast<std::ptrdiff_t>(plaintext_bytes));
  handle_hash.update(tag);
  piece.handle = Id(handle_hash.finish());
  piece.block = past::make_content_block(std::move(content));
  return piece;
}

Result<PieceLayout> parse_piece_header(ByteView prefix, std::size_t plaintext_bytes) {
  CodedInputStream in(prefix.data(), static_cast<int>(std::min(prefix.size(), kMaxHeaderBytes)));
  std::uint32_t message_bytes = 0;
  if (!in.ReadVarint32(&message_bytes)) return malformed("the header length does not decode");
  const auto varint_bytes = static_cast<std::size_t>(in.CurrentPosition());
  if (message_bytes > kMaxHeaderBytes - varint_bytes) {
    return malformed("a header of " + std::to_string(message_bytes) +
                     " bytes exceeds the limit of " + std::to_string(kMaxHeaderBytes));
  }
  const std::size_t header_bytes = varint_bytes + message_bytes;
  if (header_bytes > plaintext_bytes || header_bytes > prefix.size()) {
    return malformed("a header of " + std::to_string(header_bytes) + " bytes in a plaintext of " +
                     std::to_string(plaintext_bytes));
  }
  pb::PieceHeader header;
  if (!header.ParseFromArray(prefix.data() + varint_bytes, static_cast<int>(message_bytes))) {
    return malformed("the header does not decode");
  }
  PieceLayout layout;
  switch (header.kind()) {
    case pb::PIECE_KIND_UNSPECIFIED: return malformed("the piece has no kind");
    case pb::DATA: layout.kind = PieceKind::kData; break;
    case pb::MANIFEST: layout.kind = PieceKind::kManifest; break;
    default:
      // Proto3 enums are open: a newer writer's kind arrives as its number.
      return make_error(PostErrc::kUnknownPieceKind,
                        "piece kind " + std::to_string(static_cast<int>(header.kind())) +
                            " is not known to this version");
  }
  if (header.padding().size() > kMaxPaddingBytes) {
    return malformed("padding of " + std::to_string(header.padding().size()) +
                     " bytes exceeds the limit of " + std::to_string(kMaxPaddingBytes));
  }
  layout.salted = header.salted();
  layout.header_bytes = header_bytes;
  layout.body_bytes = plaintext_bytes - header_bytes;
  if (header.body_bytes() != layout.body_bytes) {
    return malformed("the header gives a body of " + std::to_string(header.body_bytes()) +
                     " bytes; " + std::to_string(layout.body_bytes) + " follow it");
  }
  return layout;
}

Result<OpenedPiece> open_piece(ByteView content, const ContentKey& key, ByteView salt) {
  OpenedPiece piece;
  POST_TRY_ASSIGN(
      PieceLayout layout,
      open_routed(content, key, salt, [&](const PieceLayout& l) -> Result<std::span<std::uint8_t>> {
        piece.body.resize(l.body_bytes);
        return std::span<std::uint8_t>(piece.body);
      }));
  piece.kind = layout.kind;
  return piece;
}

Status open_data_piece_into(ByteView content, const ContentKey& key, ByteView salt,
                            std::span<std::uint8_t> out) {
  auto opened =
      open_routed(content, key, salt, [&](const PieceLayout& l) -> Result<std::span<std::uint8_t>> {
        if (l.kind != PieceKind::kData) {
          return make_error(PostErrc::kChunkMismatch,
                            "a manifest piece where a data chunk belongs");
        }
        if (l.body_bytes != out.size()) {
          return make_error(PostErrc::kChunkMismatch, "a chunk of " + std::to_string(l.body_bytes) +
                                                          " bytes where " +
                                                          std::to_string(out.size()) + " belong");
        }
        return out;
      });
  if (!opened.ok()) {
    std::fill(out.begin(), out.end(), std::uint8_t{0});
    return std::move(opened).error();
  }
  return ok_status();
}

}  // namespace post::services
