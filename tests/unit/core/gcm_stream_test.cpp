// AES-256-GCM in pieces (host/core/crypto.h GcmEncryptor, GcmDecryptor), added for the secure
// store: the same bytes and tag as aes_gcm_encrypt however the message is split, and the same
// refusals.
#include <gtest/gtest.h>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/random.h"

namespace post::crypto {
namespace {

// Encrypts `plaintext` in pieces cut at `cuts`; returns ciphertext || tag.
Bytes encrypt_in_pieces(ByteView key, ByteView nonce, ByteView plaintext, ByteView ad,
                        const std::vector<std::size_t>& cuts) {
  auto enc = GcmEncryptor::start(key, nonce, ad).value();
  Bytes out(plaintext.size() + kGcmTagBytes);
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    EXPECT_TRUE(enc.update(plaintext.subspan(at, cut - at),
                           std::span<std::uint8_t>(out).subspan(at, cut - at))
                    .ok());
    at = cut;
  }
  EXPECT_TRUE(enc.update(plaintext.subspan(at),
                         std::span<std::uint8_t>(out).subspan(at, plaintext.size() - at))
                  .ok());
  auto tag = enc.finish().value();
  std::copy(tag.begin(), tag.end(), out.begin() + static_cast<std::ptrdiff_t>(plaintext.size()));
  return out;
}

TEST(GcmStream, EqualsOneShotEncryptionForEverySplitOfAShortMessage) {
  const Bytes key = Rng(1).bytes(32), nonce = Rng(2).bytes(12), ad = Rng(3).bytes(7);
  const Bytes plaintext = Rng(4).bytes(70);  // over four AES blocks, not a multiple of 16
  const Bytes expected = aes_gcm_encrypt(key, nonce, plaintext, ad).value();
  for (std::size_t a = 0; a <= plaintext.size(); ++a) {
    for (std::size_t b = a; b <= plaintext.size(); b += 5) {
      ASSERT_EQ(encrypt_in_pieces(key, nonce, plaintext, ad, {a, b}), expected) << a << "," << b;
    }
  }
}

TEST(GcmStream, DecryptsInPiecesAndVerifiesOnlyTheRightTag) {
  const Bytes key = Rng(5).bytes(32), nonce = Rng(6).bytes(12);
  const Bytes plaintext = Rng(7).bytes(300000);
  const Bytes sealed = aes_gcm_encrypt(key, nonce, plaintext).value();
  const ByteView ciphertext = ByteView(sealed).first(plaintext.size());
  const ByteView tag = ByteView(sealed).last(kGcmTagBytes);
  auto dec = GcmDecryptor::start(key, nonce).value();
  Bytes out(plaintext.size());
  for (std::size_t at = 0; at < out.size(); at += 65536) {
    const std::size_t n = std::min<std::size_t>(65536, out.size() - at);
    ASSERT_TRUE(
        dec.update(ciphertext.subspan(at, n), std::span<std::uint8_t>(out).subspan(at, n)).ok());
  }
  EXPECT_TRUE(dec.finish(tag));
  EXPECT_EQ(out, plaintext);
  EXPECT_FALSE(dec.finish(tag)) << "a finished stream verifies nothing";

  Bytes bad_tag(tag.begin(), tag.end());
  bad_tag[15] ^= 1;
  auto again = GcmDecryptor::start(key, nonce).value();
  ASSERT_TRUE(again.update(ciphertext, out).ok());
  EXPECT_FALSE(again.finish(bad_tag));
  auto short_tag = GcmDecryptor::start(key, nonce).value();
  ASSERT_TRUE(short_tag.update(ciphertext, out).ok());
  EXPECT_FALSE(short_tag.finish(tag.first(15)));
}

TEST(GcmStream, RefusesBadKeysNoncesOutputSizesAndUseAfterFinish) {
  const Bytes key(32, 1), nonce(12, 2);
  EXPECT_EQ(GcmEncryptor::start(Bytes(31), nonce).error().code, CoreErrc::kBadKey);
  EXPECT_EQ(GcmDecryptor::start(key, Bytes(16)).error().code, CoreErrc::kBadLength);
  auto enc = GcmEncryptor::start(key, nonce).value();
  Bytes in(10), out(9);
  EXPECT_EQ(enc.update(in, out).error().code, CoreErrc::kBadLength);
  ASSERT_TRUE(enc.finish().ok());
  Bytes out10(10);
  EXPECT_EQ(enc.update(in, out10).error().code, CoreErrc::kCryptoFailure);
  EXPECT_EQ(enc.finish().error().code, CoreErrc::kCryptoFailure);
}

}  // namespace
}  // namespace post::crypto
