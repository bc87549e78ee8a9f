// Pieces (host/post/piece.h): convergent encryption of one body into one content-hash block,
// and every refusal when a piece is opened. Forged pieces are built by hand, as a key holder
// who wanted to cheat would build them: authentic under the key, wrong in some other way.
#include "host/post/piece.h"

#include <gtest/gtest.h>

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <string>

#include "host/core/crypto.h"
#include "host/past/block.h"
#include "host/post/errors.h"
#include "host/post/proto/secure_store.pb.h"

namespace post::services {
namespace {

namespace pb = proto::services;

Bytes text(std::string_view s) {
  return to_bytes(s);
}

template <class T>
std::string describe(const Result<T>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

template <class T>
bool fails_with(const Result<T>& r, PostErrc code) {
  return !r.ok() && r.error().code == make_error_code(code);
}

// The plaintext of a piece: the header, length-delimited, then `body`.
Bytes plaintext_of(const pb::PieceHeader& header, ByteView body) {
  const std::string message = header.SerializeAsString();
  Bytes out(google::protobuf::io::CodedOutputStream::VarintSize32(
      static_cast<std::uint32_t>(message.size())));
  google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<std::uint32_t>(message.size()), out.data());
  append(out, as_bytes(message));
  append(out, body);
  return out;
}

// Encrypts `plaintext` under `key` exactly as a piece is encrypted: block content.
Bytes encrypt_as_piece(ByteView plaintext, const ContentKey& key) {
  return crypto::aes_gcm_encrypt(key, kPieceNonce, plaintext, as_bytes(kPieceAssociatedData))
      .value();
}

// A piece whose key is the hash of its own plaintext (salted or not): what an honest writer
// makes of whatever plaintext it chose. Returns the block content and the key.
std::pair<Bytes, ContentKey> forge_convergent(ByteView plaintext, ByteView salt = {}) {
  crypto::Sha256 hash;
  hash.update(salt);
  hash.update(plaintext);
  ContentKey key = hash.finish();
  return {encrypt_as_piece(plaintext, key), key};
}

pb::PieceHeader data_header(std::size_t body_bytes) {
  pb::PieceHeader header;
  header.set_kind(pb::DATA);
  header.set_body_bytes(body_bytes);
  return header;
}

const Bytes kSalt = Bytes(32, 0x5a);

TEST(Piece, SealsIntoAContentHashBlockUnderItsOwnHandleAndOpensBack) {
  Bytes body = text("Subject: lunch?\r\n\r\nNoon at the usual place.");
  auto piece = seal_piece(PieceKind::kData, body, {});
  ASSERT_TRUE(piece.ok()) << describe(piece);
  EXPECT_EQ(piece->block.kind, past::BlockKind::kContentHash);
  EXPECT_EQ(piece->handle, past::handle_of(piece->block));
  EXPECT_TRUE(past::validate_block(piece->handle, piece->block, {}).ok());
  auto decoded = past::decode_block(piece->block.encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->content, piece->block.content);

  auto opened = open_piece(piece->block.content, piece->key, {});
  ASSERT_TRUE(opened.ok()) << describe(opened);
  EXPECT_EQ(opened->kind, PieceKind::kData);
  EXPECT_EQ(opened->body, body);
}

TEST(Piece, TheKeyIsTheHashOfThePlaintextAndTheContentIsItsGcmEncryption) {
  Bytes body = text("a body");
  for (ByteView salt : {ByteView{}, ByteView(kSalt)}) {
    SealOptions options;
    options.salt = salt;
    auto piece = seal_piece(PieceKind::kData, body, options);
    ASSERT_TRUE(piece.ok());
    // The content is GCM under the key, with the fixed nonce and associated data.
    auto plaintext = crypto::aes_gcm_decrypt(piece->key, kPieceNonce, piece->block.content,
                                             as_bytes(kPieceAssociatedData));
    ASSERT_TRUE(plaintext.ok()) << describe(plaintext);
    // The plaintext is the delimited header, then the body; the key is its (salted) hash.
    Bytes hashed(salt.begin(), salt.end());
    append(hashed, *plaintext);
    EXPECT_EQ(piece->key, crypto::sha256(hashed));
    auto layout = parse_piece_header(*plaintext, plaintext->size());
    ASSERT_TRUE(layout.ok()) << describe(layout);
    EXPECT_EQ(layout->salted, !salt.empty());
    EXPECT_TRUE(std::equal(body.begin(), body.end(),
                           plaintext->begin() + static_cast<std::ptrdiff_t>(layout->header_bytes),
                           plaintext->end()));
    pb::PieceHeader header;
    google::protobuf::io::CodedInputStream in(plaintext->data(),
                                              static_cast<int>(layout->header_bytes));
    std::uint32_t length = 0;
    ASSERT_TRUE(in.ReadVarint32(&length));
    ASSERT_TRUE(
        header.ParseFromArray(plaintext->data() + in.CurrentPosition(), static_cast<int>(length)));
    EXPECT_EQ(header.kind(), pb::DATA);
    EXPECT_EQ(header.body_bytes(), body.size());
    EXPECT_TRUE(header.padding().empty());
  }
}

TEST(Piece, WritersAlignTheBodyInTheHashInputForEverySaltPaddingAndSize) {
  for (std::size_t salt_bytes : {std::size_t{0}, kMinSaltBytes, std::size_t{17}, std::size_t{18},
                                 std::size_t{19}, kMaxSaltBytes}) {
    for (std::size_t padding :
         {std::size_t{0}, kMinPaddingBytes, std::size_t{17}, std::size_t{18}, std::size_t{19},
          std::size_t{100}, std::size_t{101}, kMaxPaddingBytes}) {
      for (std::size_t size : {0, 1, 127, 128, 16383, 16384, 1 << 20, (1 << 20) + 3}) {
        Bytes salt(salt_bytes, 1);
        SealOptions options;
        options.salt = salt;
        options.padding_bytes = padding;
        Bytes body(size, 2);
        auto piece = seal_piece(PieceKind::kData, body, options);
        ASSERT_TRUE(piece.ok()) << describe(piece);
        auto plaintext = crypto::aes_gcm_decrypt(piece->key, kPieceNonce, piece->block.content,
                                                 as_bytes(kPieceAssociatedData));
        ASSERT_TRUE(plaintext.ok());
        auto layout = parse_piece_header(*plaintext, plaintext->size());
        ASSERT_TRUE(layout.ok());
        EXPECT_EQ((salt_bytes + layout->header_bytes) % 4, 0u)
            << "salt " << salt_bytes << ", padding " << padding << ", body " << size;
      }
    }
  }
}

TEST(Piece, TheSameBodyGivesTheSameBlockForEveryWriterAndAnotherBodyAnother) {
  Bytes body(100000);
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<std::uint8_t>(i * 7);
  auto a = seal_piece(PieceKind::kData, body, {});
  auto b = seal_piece(PieceKind::kData, Bytes(body), {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->handle, b->handle);
  EXPECT_EQ(a->key, b->key);
  EXPECT_EQ(a->block.encoded, b->block.encoded);
  body[50000] ^= 1;
  auto c = seal_piece(PieceKind::kData, body, {});
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->handle, a->handle);
  EXPECT_NE(c->key, a->key);
}

TEST(Piece, PaddingMakesEverySealOfTheSameBodyDifferentAndStillOpens) {
  Bytes body = text("yes");
  SealOptions padded;
  padded.padding_bytes = 32;
  auto a = seal_piece(PieceKind::kData, body, padded);
  auto b = seal_piece(PieceKind::kData, body, padded);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->handle, b->handle);
  EXPECT_NE(a->key, b->key);
  // Knowing the body no longer gives the key: the unpadded seal differs from both.
  auto plain = seal_piece(PieceKind::kData, body, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(plain->key, a->key);
  EXPECT_GE(a->block.content.size(), plain->block.content.size() + 32);
  for (const auto* piece : {&*a, &*b}) {
    auto opened = open_piece(piece->block.content, piece->key, {});
    ASSERT_TRUE(opened.ok()) << describe(opened);
    EXPECT_EQ(opened->body, body);
  }
}

TEST(Piece, SaltedPiecesDifferFromUnsaltedOnesAndNeedTheSaltToOpen) {
  Bytes body = text("quarterly figures");
  SealOptions salted;
  salted.salt = kSalt;
  auto a = seal_piece(PieceKind::kData, body, salted);
  auto plain = seal_piece(PieceKind::kData, body, {});
  ASSERT_TRUE(a.ok() && plain.ok());
  EXPECT_NE(a->handle, plain->handle);
  EXPECT_NE(a->key, plain->key);
  auto opened = open_piece(a->block.content, a->key, kSalt);
  ASSERT_TRUE(opened.ok()) << describe(opened);
  EXPECT_EQ(opened->body, body);
  // Without a salt the key cannot be checked; under another one it does not match.
  EXPECT_TRUE(fails_with(open_piece(a->block.content, a->key, {}), PostErrc::kUnknownSalt));
  EXPECT_TRUE(
      fails_with(open_piece(a->block.content, a->key, Bytes(32, 0x11)), PostErrc::kKeyMismatch));
  // A node with a salt still opens unsalted pieces (from other organisations).
  auto unsalted = open_piece(plain->block.content, plain->key, kSalt);
  ASSERT_TRUE(unsalted.ok()) << describe(unsalted);
  EXPECT_EQ(unsalted->body, body);
}

TEST(Piece, OpensEmptyAndManifestBodies) {
  auto empty = seal_piece(PieceKind::kData, {}, {});
  ASSERT_TRUE(empty.ok());
  auto opened = open_piece(empty->block.content, empty->key, {});
  ASSERT_TRUE(opened.ok()) << describe(opened);
  EXPECT_TRUE(opened->body.empty());
  auto manifest = seal_piece(PieceKind::kManifest, text("listing"), {});
  ASSERT_TRUE(manifest.ok());
  auto m = open_piece(manifest->block.content, manifest->key, {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, PieceKind::kManifest);
  EXPECT_EQ(m->body, text("listing"));
}

TEST(Piece, TheLargestBodyFitsOneBlockWithTheMostPaddingAndOneMoreByteIsRefused) {
  Bytes body(kMaxPieceBodyBytes, 0xab);
  SealOptions options;
  options.salt = Bytes(kMaxSaltBytes, 1);
  options.padding_bytes = kMaxPaddingBytes;
  auto piece = seal_piece(PieceKind::kData, body, options);
  ASSERT_TRUE(piece.ok()) << describe(piece);
  EXPECT_LE(piece->block.content.size(), past::kMaxPayloadBytes);
  EXPECT_LE(piece->block.encoded.size(), past::kMaxBlockBytes);
  EXPECT_TRUE(past::validate_block(piece->handle, piece->block, {}).ok());
  auto opened = open_piece(piece->block.content, piece->key, options.salt);
  ASSERT_TRUE(opened.ok()) << describe(opened);
  EXPECT_EQ(opened->body, body);

  body.push_back(0);
  EXPECT_TRUE(fails_with(seal_piece(PieceKind::kData, body, {}), PostErrc::kTooLarge));
}

TEST(Piece, OptionsOutOfBoundsAreRefused) {
  for (std::size_t padding : {std::size_t{1}, kMinPaddingBytes - 1, kMaxPaddingBytes + 1}) {
    SealOptions options;
    options.padding_bytes = padding;
    EXPECT_TRUE(fails_with(seal_piece(PieceKind::kData, text("x"), options), PostErrc::kBadOptions))
        << padding;
  }
  for (std::size_t salt : {std::size_t{1}, kMinSaltBytes - 1, kMaxSaltBytes + 1}) {
    Bytes bytes(salt, 3);
    SealOptions options;
    options.salt = bytes;
    EXPECT_TRUE(fails_with(seal_piece(PieceKind::kData, text("x"), options), PostErrc::kBadOptions))
        << salt;
  }
  SealOptions edge;
  Bytes salt(kMinSaltBytes, 3);
  edge.salt = salt;
  edge.padding_bytes = kMinPaddingBytes;
  EXPECT_TRUE(seal_piece(PieceKind::kData, text("x"), edge).ok());
}

TEST(Piece, AWrongKeyAnyFlippedBitOrATruncatedBlockGivesDecryptFailed) {
  auto piece = seal_piece(PieceKind::kData, text("the body of a message"), {});
  ASSERT_TRUE(piece.ok());
  ContentKey other = piece->key;
  other[31] ^= 1;
  EXPECT_TRUE(fails_with(open_piece(piece->block.content, other, {}), PostErrc::kDecryptFailed));
  const Bytes& content = piece->block.content;
  for (std::size_t bit = 0; bit < content.size() * 8; ++bit) {
    Bytes tampered = content;
    tampered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto opened = open_piece(tampered, piece->key, {});
    ASSERT_TRUE(fails_with(opened, PostErrc::kDecryptFailed))
        << "bit " << bit << ": " << describe(opened);
  }
  for (std::size_t n = 0; n < content.size(); ++n) {
    auto opened = open_piece(ByteView(content).first(n), piece->key, {});
    ASSERT_TRUE(fails_with(opened, PostErrc::kDecryptFailed)) << n << ": " << describe(opened);
  }
}

TEST(Piece, AnAuthenticPieceThatDoesNotHashToItsKeyGivesKeyMismatch) {
  // A key holder encrypts another body under the key of a real one: the tag verifies.
  auto real = seal_piece(PieceKind::kData, text("the real body"), {});
  ASSERT_TRUE(real.ok());
  Bytes other = text("a substitute");
  Bytes forged = encrypt_as_piece(plaintext_of(data_header(other.size()), other), real->key);
  auto opened = open_piece(forged, real->key, {});
  EXPECT_TRUE(fails_with(opened, PostErrc::kKeyMismatch)) << describe(opened);
}

TEST(Piece, MalformedHeadersAreRefusedOnlyOnceTheTagVerifies) {
  struct Case {
    const char* what;
    Bytes plaintext;
    PostErrc expected;
  };
  Bytes body = text("body");
  pb::PieceHeader no_kind = data_header(body.size());
  no_kind.clear_kind();
  pb::PieceHeader unknown_kind = data_header(body.size());
  unknown_kind.set_kind(static_cast<pb::PieceKind>(7));
  pb::PieceHeader long_body = data_header(body.size() + 1);
  pb::PieceHeader short_body = data_header(body.size() - 1);
  pb::PieceHeader too_much_padding = data_header(body.size());
  too_much_padding.set_padding(std::string(kMaxPaddingBytes + 1, 'p'));
  Bytes huge_length = {0xff, 0xff, 0xff, 0xff, 0x0f};  // a varint of 2^32 - 1
  append(huge_length, body);
  Bytes not_a_header = {0x03, 0xff, 0xff, 0xff};  // three bytes that are no PieceHeader
  append(not_a_header, body);
  Bytes length_past_end = {0x40};  // 64 header bytes in a plaintext of 5
  append(length_past_end, body);
  std::vector<Case> cases = {
      {"no kind", plaintext_of(no_kind, body), PostErrc::kMalformedPiece},
      {"unknown kind", plaintext_of(unknown_kind, body), PostErrc::kUnknownPieceKind},
      {"body length too long", plaintext_of(long_body, body), PostErrc::kMalformedPiece},
      {"body length too short", plaintext_of(short_body, body), PostErrc::kMalformedPiece},
      {"padding over the limit", plaintext_of(too_much_padding, body), PostErrc::kMalformedPiece},
      {"header length over the limit", huge_length, PostErrc::kMalformedPiece},
      {"header that does not decode", not_a_header, PostErrc::kMalformedPiece},
      {"header past the end", length_past_end, PostErrc::kMalformedPiece},
      {"empty plaintext", Bytes{}, PostErrc::kMalformedPiece},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto [content, key] = forge_convergent(c.plaintext);
    auto opened = open_piece(content, key, {});
    EXPECT_TRUE(fails_with(opened, c.expected)) << describe(opened);
    // Tampered, the same piece is only ever "does not decrypt": an error that depends on the
    // unauthenticated header would tell an attacker something about the plaintext.
    content[0] ^= 0x80;
    auto tampered = open_piece(content, key, {});
    EXPECT_TRUE(fails_with(tampered, PostErrc::kDecryptFailed)) << describe(tampered);
  }
}

TEST(Piece, ParsesTheHeaderFromThePrefixOfAPlaintext) {
  Bytes body(10000, 1);
  pb::PieceHeader header = data_header(body.size());
  header.set_salted(true);
  header.set_padding(std::string(100, 'p'));
  Bytes plaintext = plaintext_of(header, body);
  auto layout = parse_piece_header(plaintext, plaintext.size());
  ASSERT_TRUE(layout.ok()) << describe(layout);
  EXPECT_EQ(layout->kind, PieceKind::kData);
  EXPECT_TRUE(layout->salted);
  EXPECT_EQ(layout->body_bytes, body.size());
  EXPECT_EQ(layout->header_bytes + layout->body_bytes, plaintext.size());
  // The header must lie inside the prefix given.
  EXPECT_TRUE(fails_with(parse_piece_header(ByteView(plaintext).first(50), plaintext.size()),
                         PostErrc::kMalformedPiece));
  EXPECT_TRUE(fails_with(parse_piece_header({}, 0), PostErrc::kMalformedPiece));
}

TEST(Piece, ADataPieceOpensIntoItsPlaceOnlyWithTheKindAndSizeExpected) {
  Bytes body = text("chunk body");
  auto piece = seal_piece(PieceKind::kData, body, {});
  auto manifest = seal_piece(PieceKind::kManifest, body, {});
  ASSERT_TRUE(piece.ok() && manifest.ok());
  Bytes out(body.size());
  ASSERT_TRUE(open_data_piece_into(piece->block.content, piece->key, {}, out).ok());
  EXPECT_EQ(out, body);
  for (std::size_t size : {body.size() - 1, body.size() + 1, std::size_t{0}}) {
    Bytes wrong(size, 0xee);
    auto s = open_data_piece_into(piece->block.content, piece->key, {}, wrong);
    EXPECT_TRUE(fails_with(s, PostErrc::kChunkMismatch)) << size << ": " << describe(s);
    EXPECT_TRUE(std::all_of(wrong.begin(), wrong.end(), [](auto b) { return b == 0; }));
  }
  std::fill(out.begin(), out.end(), 0xee);
  auto s = open_data_piece_into(manifest->block.content, manifest->key, {}, out);
  EXPECT_TRUE(fails_with(s, PostErrc::kChunkMismatch)) << describe(s);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](auto b) { return b == 0; }));
  // A forged chunk leaves nothing behind either.
  Bytes other = text("other body");
  Bytes forged = encrypt_as_piece(plaintext_of(data_header(other.size()), other), piece->key);
  std::fill(out.begin(), out.end(), 0xee);
  s = open_data_piece_into(forged, piece->key, {}, out);
  EXPECT_TRUE(fails_with(s, PostErrc::kKeyMismatch)) << describe(s);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](auto b) { return b == 0; }));
}

}  // namespace
}  // namespace post::services
