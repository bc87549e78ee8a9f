#include "host/past/block.h"

#include <gtest/gtest.h>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/past/errors.h"
#include "host/past/proto/block.pb.h"

namespace post::past {
namespace {

struct Blocks : ::testing::Test {
  crypto::SigningKeyPair ca = crypto::generate_signing_key();
  crypto::SigningKeyPair owner = crypto::generate_signing_key();

  Block public_key_block(std::uint64_t timestamp, std::string_view data = "presence") {
    return make_public_key_block(owner.private_key, timestamp, to_bytes(data)).value();
  }
  Block certificate_block(std::string name = "alice", std::string_view data = "alice's keys") {
    return make_certificate_block(ca.private_key, std::move(name), to_bytes(data)).value();
  }
  // Decodes `encoded` and validates it under `handle`.
  Status check(const Id& handle, ByteView encoded) {
    POST_TRY_ASSIGN(Block block, decode_block(encoded));
    return validate_block(handle, block, ca.public_key);
  }
};

// The encoding of a signed block whose signed body or signature was changed after signing.
Bytes with_flipped_byte(const Block& block, bool in_signature) {
  proto::past::Block message;
  EXPECT_TRUE(message.ParseFromArray(block.encoded.data(), static_cast<int>(block.encoded.size())));
  std::string field = in_signature ? message.signature() : message.signed_body();
  // The last byte of the body is in its data field, so the body still decodes.
  field.back() = static_cast<char>(field.back() ^ 0x01);
  if (in_signature) {
    message.set_signature(field);
  } else {
    message.set_signed_body(field);
  }
  return to_bytes(message.SerializeAsString());
}

// A public-key block naming `public_key`, signed by `signing_key` as if it were of kind
// `signed_as`, built by hand as a forger would.
Bytes hand_signed_public_key_block(ByteView public_key, ByteView signing_key, BlockKind signed_as) {
  proto::past::PublicKeyBody body;
  body.set_public_key(to_string(public_key));
  body.set_timestamp(9);
  std::string body_bytes = body.SerializeAsString();
  Bytes signed_input = to_bytes("post-block-v1");
  signed_input.push_back(static_cast<std::uint8_t>(signed_as));
  append(signed_input, as_bytes(body_bytes));
  proto::past::Block message;
  message.set_kind(proto::past::PUBLIC_KEY);
  message.set_signed_body(body_bytes);
  message.set_signature(to_string(crypto::sign(signing_key, signed_input).value()));
  return to_bytes(message.SerializeAsString());
}

// The kind's byte followed by `bytes`: what a handle hashes.
Bytes tagged(std::uint8_t kind, ByteView bytes) {
  Bytes out(bytes.size() + 1);
  out[0] = kind;
  std::copy(bytes.begin(), bytes.end(), out.begin() + 1);
  return out;
}

TEST_F(Blocks, ContentHashBlockDecodesAndValidatesUnderTheHashOfItsContent) {
  Block built = make_content_block(to_bytes("hello, PAST"));
  auto decoded = decode_block(built.encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->kind, BlockKind::kContentHash);
  EXPECT_EQ(decoded->content, to_bytes("hello, PAST"));
  EXPECT_EQ(decoded->encoded, built.encoded);
  EXPECT_EQ(handle_of(*decoded), Id::hash_of(tagged(1, as_bytes("hello, PAST"))));
  EXPECT_EQ(handle_of(*decoded), content_handle(as_bytes("hello, PAST")));
  EXPECT_TRUE(validate_block(handle_of(*decoded), *decoded, {}).ok());
  EXPECT_FALSE(is_mutable(BlockKind::kContentHash));
}

TEST_F(Blocks, PublicKeyBlockDecodesAndValidatesUnderTheHashOfItsKey) {
  Block built = public_key_block(42);
  auto decoded = decode_block(built.encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->kind, BlockKind::kPublicKey);
  EXPECT_EQ(decoded->public_key, owner.public_key);
  EXPECT_EQ(decoded->timestamp, 42u);
  EXPECT_EQ(decoded->data, to_bytes("presence"));
  EXPECT_EQ(handle_of(*decoded), public_key_handle(owner.public_key));
  EXPECT_EQ(handle_of(*decoded), Id::hash_of(tagged(2, owner.public_key)));
  // The CA key plays no part in a public-key block.
  EXPECT_TRUE(validate_block(handle_of(*decoded), *decoded, {}).ok());
  EXPECT_TRUE(is_mutable(BlockKind::kPublicKey));
}

TEST_F(Blocks, CertificateBlockDecodesAndValidatesUnderTheHashOfItsName) {
  Block built = certificate_block("alice@example.org");
  auto decoded = decode_block(built.encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->kind, BlockKind::kCertificate);
  EXPECT_EQ(decoded->name, "alice@example.org");
  EXPECT_EQ(decoded->data, to_bytes("alice's keys"));
  EXPECT_EQ(handle_of(*decoded), certificate_handle("alice@example.org"));
  EXPECT_EQ(handle_of(*decoded), Id::hash_of(tagged(3, as_bytes("alice@example.org"))));
  EXPECT_TRUE(validate_block(handle_of(*decoded), *decoded, ca.public_key).ok());
  EXPECT_FALSE(is_mutable(BlockKind::kCertificate));
}

TEST_F(Blocks, PayloadIsTheContentOrTheSignedData) {
  EXPECT_EQ(to_string(make_content_block(to_bytes("c")).payload()), "c");
  EXPECT_EQ(to_string(public_key_block(1, "d").payload()), "d");
  EXPECT_EQ(to_string(certificate_block("n", "e").payload()), "e");
}

TEST_F(Blocks, EveryKindUnderAnotherHandleIsRefusedAsWrongHandle) {
  const Id elsewhere = Id::hash_of(as_bytes("elsewhere"));
  for (const Block& block :
       {make_content_block(to_bytes("x")), public_key_block(1), certificate_block()}) {
    auto s = check(elsewhere, block.encoded);
    ASSERT_FALSE(s.ok()) << kind_name(block.kind);
    EXPECT_EQ(s.error().code, PastErrc::kWrongHandle) << s.error().to_string();
  }
}

TEST_F(Blocks, TamperedSignedBodyOrSignatureIsRefusedAsBadSignature) {
  for (const Block& block : {public_key_block(7), certificate_block()}) {
    for (bool in_signature : {false, true}) {
      auto s = check(handle_of(block), with_flipped_byte(block, in_signature));
      ASSERT_FALSE(s.ok()) << kind_name(block.kind) << (in_signature ? " signature" : " body");
      EXPECT_EQ(s.error().code, PastErrc::kBadSignature) << s.error().to_string();
    }
  }
}

TEST_F(Blocks, CertificateSignedByAnotherKeyIsRefused) {
  auto forger = crypto::generate_signing_key();
  Block forged = make_certificate_block(forger.private_key, "alice", {}).value();
  auto s = validate_block(handle_of(forged), forged, ca.public_key);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, PastErrc::kBadSignature);
  EXPECT_NE(s.error().message.find("alice"), std::string::npos) << s.error().message;
}

TEST_F(Blocks, PublicKeyBlockSignedByAnotherKeyIsRefused) {
  auto other = crypto::generate_signing_key();
  Bytes encoded =
      hand_signed_public_key_block(owner.public_key, other.private_key, BlockKind::kPublicKey);
  auto s = check(public_key_handle(owner.public_key), encoded);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, PastErrc::kBadSignature);
}

TEST_F(Blocks, TheKindIsPartOfWhatIsSigned) {
  const Id handle = public_key_handle(owner.public_key);
  Bytes genuine =
      hand_signed_public_key_block(owner.public_key, owner.private_key, BlockKind::kPublicKey);
  ASSERT_TRUE(check(handle, genuine).ok());
  // The owner's own signature, made for the certificate kind, does not make a public-key
  // block: a signature cannot be carried over from one kind to another.
  Bytes encoded =
      hand_signed_public_key_block(owner.public_key, owner.private_key, BlockKind::kCertificate);
  auto s = check(handle, encoded);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, PastErrc::kBadSignature);
}

TEST_F(Blocks, NewerTimestampReplacesAPublicKeyBlock) {
  EXPECT_TRUE(validate_replacement(public_key_block(5), public_key_block(6)).ok());
}

TEST_F(Blocks, OlderOrEqualTimestampIsRefusedAsStale) {
  Block stored = public_key_block(5, "current");
  for (std::uint64_t timestamp : {std::uint64_t{4}, std::uint64_t{5}}) {
    auto s = validate_replacement(stored, public_key_block(timestamp, "other"));
    ASSERT_FALSE(s.ok()) << timestamp;
    EXPECT_EQ(s.error().code, PastErrc::kStaleTimestamp) << s.error().to_string();
  }
}

TEST_F(Blocks, StoringTheSameBlockAgainIsIdempotentForEveryKind) {
  for (const Block& block :
       {make_content_block(to_bytes("x")), public_key_block(3), certificate_block()}) {
    Block again = decode_block(block.encoded).value();
    EXPECT_TRUE(validate_replacement(block, again).ok()) << kind_name(block.kind);
  }
}

TEST_F(Blocks, ACertificateCannotBeReplaced) {
  auto s = validate_replacement(certificate_block("alice", "old keys"),
                                certificate_block("alice", "new keys"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, PastErrc::kImmutable);
  EXPECT_NE(s.error().message.find("alice"), std::string::npos) << s.error().message;
}

TEST_F(Blocks, ABlockOfAnotherKindCannotReplaceTheStoredOne) {
  // Handles of different kinds never meet: a content-hash block whose content is the owner's
  // public key lands elsewhere, so nobody can squat on the identity block's handle.
  Block squatter = make_content_block(owner.public_key);
  Block identity = public_key_block(1);
  EXPECT_NE(handle_of(squatter), handle_of(identity));
  // Were two blocks of different kinds ever to meet, the stored one stays.
  auto s = validate_replacement(squatter, identity);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, PastErrc::kKindConflict) << s.error().to_string();
}

TEST_F(Blocks, PayloadOfTheAdvertisedMaximumFitsInEveryKind) {
  Bytes payload(kMaxPayloadBytes, 0x5a);
  Block content = make_content_block(payload);
  EXPECT_TRUE(validate_block(handle_of(content), content, {}).ok());
  EXPECT_TRUE(make_public_key_block(owner.private_key, 1, payload).ok());
  EXPECT_TRUE(
      make_certificate_block(ca.private_key, std::string(kMaxNameBytes, 'n'), payload).ok());
}

TEST_F(Blocks, OversizedBlockIsRefusedBeforeDecodingAndByValidation) {
  Bytes big(kMaxBlockBytes + 1, 0);
  auto decoded = decode_block(big);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, PastErrc::kTooLarge);

  Block content = make_content_block(Bytes(kMaxBlockBytes, 0x5a));
  auto s = validate_block(handle_of(content), content, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, PastErrc::kTooLarge);
  EXPECT_EQ(decode_block(content.encoded).error().code, PastErrc::kTooLarge);

  auto signed_block = make_public_key_block(owner.private_key, 1, Bytes(kMaxBlockBytes, 0));
  ASSERT_FALSE(signed_block.ok());
  EXPECT_EQ(signed_block.error().code, PastErrc::kTooLarge);
}

TEST_F(Blocks, MalformedBytesAreRefusedAsMalformed) {
  const Bytes cases[] = {
      {0xff, 0xff, 0xff},                          // not a protobuf message
      {},                                          // no kind
      {0x08, 0x01, 0x1a, 0x01, 0x00},              // content-hash block with a signed body
      {0x08, 0x02, 0x12, 0x01, 0x00},              // public-key block with plain content
      {0x08, 0x02, 0x1a, 0x02, 0xff, 0xff},        // public-key body that does not decode
      {0x08, 0x02, 0x1a, 0x02, 0x0a, 0x00},        // public key of 0 bytes
      {0x08, 0x03, 0x1a, 0x02, 0x12, 0x00},        // certificate without a name
      {0x08, 0x03, 0x1a, 0x03, 0x0a, 0x01, 0xff},  // certificate name not UTF-8
  };
  for (const Bytes& bytes : cases) {
    auto r = decode_block(bytes);
    ASSERT_FALSE(r.ok()) << to_hex(bytes);
    EXPECT_EQ(r.error().code, PastErrc::kMalformedBlock) << to_hex(bytes);
  }
}

TEST_F(Blocks, CertificateNamesMustBeUtf8NonEmptyAndBounded) {
  // Empty, too long, an overlong '/', a surrogate, above U+10FFFF, a truncated sequence.
  for (const std::string& name :
       {std::string(), std::string(kMaxNameBytes + 1, 'n'), std::string("\xc0\xaf"),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("a\xe2\x82")}) {
    auto r = make_certificate_block(ca.private_key, name, {});
    ASSERT_FALSE(r.ok()) << name.size();
    EXPECT_EQ(r.error().code, PastErrc::kMalformedBlock) << r.error().to_string();
  }
  EXPECT_TRUE(make_certificate_block(ca.private_key, "zoë 🐘", {}).ok());
}

TEST_F(Blocks, BadSigningKeyIsRefusedByTheBuilders) {
  Bytes short_key(16, 1);
  EXPECT_EQ(make_public_key_block(short_key, 1, {}).error().code, CoreErrc::kBadKey);
  EXPECT_EQ(make_certificate_block(short_key, "alice", {}).error().code, CoreErrc::kBadKey);
}

TEST_F(Blocks, UnknownKindIsRefusedAsUnknown) {
  proto::past::Block message;
  message.set_kind(static_cast<proto::past::BlockKind>(9));
  message.set_content("future");
  auto r = decode_block(to_bytes(message.SerializeAsString()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, PastErrc::kUnknownKind);
  EXPECT_NE(r.error().message.find('9'), std::string::npos) << r.error().message;
}

TEST_F(Blocks, ErrorMessagesNameTheCategoryAndTheProblem) {
  auto r = decode_block(Bytes(kMaxBlockBytes + 1, 0));
  EXPECT_EQ(r.error().to_string(),
            "past: block larger than the size limit: encoded block of 4194305 bytes exceeds the "
            "limit of 4194304 bytes");
}

}  // namespace
}  // namespace post::past
