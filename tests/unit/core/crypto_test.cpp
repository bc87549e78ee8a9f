// Specification of host/core/crypto: every primitive against its published test vectors, and
// every refusal the header promises.
#include "host/core/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "host/core/bytes.h"
#include "host/core/errors.h"

namespace post::crypto {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes.ok()) << "bad hex in test data: " << text;
  return bytes.value_or({});
}

template <class T>
std::string hex_of(const Result<T>& r) {
  return r.ok() ? to_hex(*r) : "error: " + r.error().to_string();
}

template <class T>
bool fails_with(const Result<T>& r, CoreErrc code) {
  return !r.ok() && r.error().code == make_error_code(code);
}

Bytes flip_bit(Bytes b, std::size_t bit) {
  b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  return b;
}

// ---- SHA-256 (FIPS 180-2, appendix B) ---------------------------------------------------

TEST(Sha256, MatchesFips180OneBlockVectorAbc) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, MatchesTheEmptyMessageVector) {
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, MatchesFips180TwoBlockVector448Bits) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, IncrementalMatchesFips180MillionAVector) {
  const std::string thousand_a(1000, 'a');
  Sha256 hash;
  for (int i = 0; i < 1000; ++i) hash.update(as_bytes(thousand_a));
  EXPECT_EQ(to_hex(hash.finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotForEverySplitPoint) {
  Bytes message(200);
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i * 7);
  const ByteView all(message);
  const Digest expected = sha256(all);
  for (std::size_t split = 0; split <= message.size(); ++split) {
    Sha256 hash;
    hash.update(all.first(split));
    hash.update({});
    hash.update(all.subspan(split));
    EXPECT_EQ(hash.finish(), expected) << "split at " << split;
  }
}

TEST(Sha256, FinishResetsTheStateForANewMessage) {
  Sha256 hash;
  hash.update(as_bytes("some earlier message"));
  (void)hash.finish();
  hash.update(as_bytes("abc"));
  EXPECT_EQ(hash.finish(), sha256(as_bytes("abc")));
  EXPECT_EQ(hash.finish(), sha256({}));
}

// ---- HKDF-SHA-256 (RFC 5869, appendix A) --------------------------------------------------

TEST(Hkdf, MatchesRfc5869TestCase1) {
  auto okm = hkdf_sha256(hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                         hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  EXPECT_EQ(hex_of(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, MatchesRfc5869TestCase2WithLongInputs) {
  auto okm = hkdf_sha256(hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                             "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                             "404142434445464748494a4b4c4d4e4f"),
                         hex("606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                             "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                             "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"),
                         hex("b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
                             "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
                             "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"),
                         82);
  EXPECT_EQ(hex_of(okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(Hkdf, MatchesRfc5869TestCase3WithEmptySaltAndInfo) {
  auto okm = hkdf_sha256(hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), {}, {}, 42);
  EXPECT_EQ(hex_of(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, ProducesUpTo255BlocksAndRefusesMore) {
  const Bytes ikm = hex("0b0b0b0b");
  auto longest = hkdf_sha256(ikm, {}, {}, std::size_t{255} * 32);
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->size(), 255u * 32);
  EXPECT_TRUE(
      fails_with(hkdf_sha256(ikm, {}, {}, std::size_t{255} * 32 + 1), CoreErrc::kBadLength));
}

TEST(Hkdf, ShorterOutputIsAPrefixOfLongerOutput) {
  const Bytes ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto short_okm = hkdf_sha256(ikm, as_bytes("salt"), as_bytes("info"), 10);
  auto long_okm = hkdf_sha256(ikm, as_bytes("salt"), as_bytes("info"), 100);
  ASSERT_TRUE(short_okm.ok() && long_okm.ok());
  EXPECT_TRUE(std::equal(short_okm->begin(), short_okm->end(), long_okm->begin()));
  auto empty = hkdf_sha256(ikm, {}, {}, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// ---- AES-256-GCM (McGrew & Viega, "The Galois/Counter Mode of Operation", appendix B) -------

struct GcmVector {
  std::string_view key, nonce, plaintext, associated_data, ciphertext, tag;
};

void expect_matches_gcm_vector(const GcmVector& v) {
  auto sealed = aes_gcm_encrypt(hex(v.key), hex(v.nonce), hex(v.plaintext), hex(v.associated_data));
  EXPECT_EQ(hex_of(sealed), std::string(v.ciphertext) + std::string(v.tag));

  const Bytes ciphertext_and_tag = hex(std::string(v.ciphertext) + std::string(v.tag));
  auto opened =
      aes_gcm_decrypt(hex(v.key), hex(v.nonce), ciphertext_and_tag, hex(v.associated_data));
  EXPECT_EQ(hex_of(opened), v.plaintext);
}

constexpr std::string_view kGcmKey15 =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr std::string_view kGcmNonce15 = "cafebabefacedbaddecaf888";

TEST(AesGcm, MatchesGcmSpecTestCase13EmptyPlaintext) {
  expect_matches_gcm_vector(
      {.key = "0000000000000000000000000000000000000000000000000000000000000000",
       .nonce = "000000000000000000000000",
       .plaintext = "",
       .associated_data = "",
       .ciphertext = "",
       .tag = "530f8afbc74536b9a963b4f1c4cb738b"});
}

TEST(AesGcm, MatchesGcmSpecTestCase14OneZeroBlock) {
  expect_matches_gcm_vector(
      {.key = "0000000000000000000000000000000000000000000000000000000000000000",
       .nonce = "000000000000000000000000",
       .plaintext = "00000000000000000000000000000000",
       .associated_data = "",
       .ciphertext = "cea7403d4d606b6e074ec5d3baf39d18",
       .tag = "d0d1c8a799996bf0265b98b5d48ab919"});
}

TEST(AesGcm, MatchesGcmSpecTestCase15FourBlocks) {
  expect_matches_gcm_vector(
      {.key = kGcmKey15,
       .nonce = kGcmNonce15,
       .plaintext = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
       .associated_data = "",
       .ciphertext = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
       .tag = "b094dac5d93471bdec1a502270e3cc6c"});
}

TEST(AesGcm, MatchesGcmSpecTestCase16WithAssociatedData) {
  expect_matches_gcm_vector(
      {.key = kGcmKey15,
       .nonce = kGcmNonce15,
       .plaintext = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
       .associated_data = "feedfacedeadbeeffeedfacedeadbeefabaddad2",
       .ciphertext = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
       .tag = "76fc6ece0f4e1768cddf8853bb2d551b"});
}

class AesGcmTampering : public ::testing::Test {
 protected:
  const Bytes key_ = hex(kGcmKey15);
  const Bytes nonce_ = hex(kGcmNonce15);
  const Bytes associated_data_ = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const Bytes sealed_ =
      aes_gcm_encrypt(key_, nonce_, as_bytes("attack at dawn"), associated_data_).value_or({});
};

TEST_F(AesGcmTampering, EveryFlippedBitOfCiphertextOrTagGivesDecryptFailed) {
  ASSERT_EQ(sealed_.size(), 14u + kGcmTagBytes);
  for (std::size_t bit = 0; bit < sealed_.size() * 8; ++bit) {
    auto opened = aes_gcm_decrypt(key_, nonce_, flip_bit(sealed_, bit), associated_data_);
    EXPECT_TRUE(fails_with(opened, CoreErrc::kDecryptFailed)) << "bit " << bit;
  }
}

TEST_F(AesGcmTampering, ChangedAssociatedDataOrNonceGivesDecryptFailed) {
  EXPECT_TRUE(fails_with(aes_gcm_decrypt(key_, nonce_, sealed_, flip_bit(associated_data_, 0)),
                         CoreErrc::kDecryptFailed));
  EXPECT_TRUE(fails_with(aes_gcm_decrypt(key_, nonce_, sealed_, {}), CoreErrc::kDecryptFailed));
  EXPECT_TRUE(fails_with(aes_gcm_decrypt(key_, flip_bit(nonce_, 95), sealed_, associated_data_),
                         CoreErrc::kDecryptFailed));
  EXPECT_TRUE(fails_with(aes_gcm_decrypt(flip_bit(key_, 0), nonce_, sealed_, associated_data_),
                         CoreErrc::kDecryptFailed));
}

TEST_F(AesGcmTampering, InputShorterThanTheTagGivesDecryptFailed) {
  for (std::size_t n = 0; n < kGcmTagBytes; ++n) {
    auto opened = aes_gcm_decrypt(key_, nonce_, ByteView(sealed_).first(n), associated_data_);
    EXPECT_TRUE(fails_with(opened, CoreErrc::kDecryptFailed)) << "length " << n;
  }
}

TEST(AesGcm, RefusesKeysThatAreNot32Bytes) {
  const Bytes nonce(kGcmNonceBytes);
  for (std::size_t n : {0, 16, 24, 31, 33}) {
    EXPECT_TRUE(fails_with(aes_gcm_encrypt(Bytes(n), nonce, as_bytes("x")), CoreErrc::kBadKey));
    EXPECT_TRUE(fails_with(aes_gcm_decrypt(Bytes(n), nonce, Bytes(32)), CoreErrc::kBadKey));
  }
}

TEST(AesGcm, RefusesNoncesThatAreNot12Bytes) {
  const Bytes key(kAesKeyBytes);
  for (std::size_t n : {0, 8, 11, 13, 16}) {
    EXPECT_TRUE(fails_with(aes_gcm_encrypt(key, Bytes(n), as_bytes("x")), CoreErrc::kBadLength));
    EXPECT_TRUE(fails_with(aes_gcm_decrypt(key, Bytes(n), Bytes(32)), CoreErrc::kBadLength));
  }
}

// ---- Ed25519 (RFC 8032, section 7.1) --------------------------------------------------------

struct Ed25519Vector {
  std::string_view secret_key, public_key, message, signature;
};

// TEST 1: the empty message.
constexpr Ed25519Vector kRfc8032Test1 = {
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"};

// TEST 2: one byte.
constexpr Ed25519Vector kRfc8032Test2 = {
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"};

// TEST 3: two bytes.
constexpr Ed25519Vector kRfc8032Test3 = {
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"};

// TEST SHA(abc): the message is SHA-512("abc").
constexpr Ed25519Vector kRfc8032TestShaAbc = {
    "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
    "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"};

void expect_matches_rfc8032_vector(const Ed25519Vector& v) {
  const Bytes secret = hex(v.secret_key);
  const Bytes message = hex(v.message);
  EXPECT_EQ(hex_of(signing_public_key(secret)), v.public_key);
  EXPECT_EQ(hex_of(sign(secret, message)), v.signature);
  EXPECT_TRUE(verify(hex(v.public_key), message, hex(v.signature)));
}

TEST(Ed25519, MatchesRfc8032TestVector1) {
  expect_matches_rfc8032_vector(kRfc8032Test1);
}
TEST(Ed25519, MatchesRfc8032TestVector2) {
  expect_matches_rfc8032_vector(kRfc8032Test2);
}
TEST(Ed25519, MatchesRfc8032TestVector3) {
  expect_matches_rfc8032_vector(kRfc8032Test3);
}
TEST(Ed25519, MatchesRfc8032TestVectorShaAbc) {
  expect_matches_rfc8032_vector(kRfc8032TestShaAbc);
}

TEST(Ed25519, RejectsEveryFlippedBitOfTheMessage) {
  const Bytes public_key = hex(kRfc8032TestShaAbc.public_key);
  const Bytes message = hex(kRfc8032TestShaAbc.message);
  const Bytes signature = hex(kRfc8032TestShaAbc.signature);
  for (std::size_t bit = 0; bit < message.size() * 8; ++bit) {
    EXPECT_FALSE(verify(public_key, flip_bit(message, bit), signature)) << "bit " << bit;
  }
  EXPECT_FALSE(verify(public_key, ByteView(message).first(message.size() - 1), signature));
}

TEST(Ed25519, RejectsEveryFlippedBitOfTheSignature) {
  const Bytes public_key = hex(kRfc8032Test3.public_key);
  const Bytes message = hex(kRfc8032Test3.message);
  const Bytes signature = hex(kRfc8032Test3.signature);
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    EXPECT_FALSE(verify(public_key, message, flip_bit(signature, bit))) << "bit " << bit;
  }
}

TEST(Ed25519, RejectsEveryFlippedBitOfThePublicKey) {
  const Bytes public_key = hex(kRfc8032Test3.public_key);
  const Bytes message = hex(kRfc8032Test3.message);
  const Bytes signature = hex(kRfc8032Test3.signature);
  for (std::size_t bit = 0; bit < public_key.size() * 8; ++bit) {
    EXPECT_FALSE(verify(flip_bit(public_key, bit), message, signature)) << "bit " << bit;
  }
}

TEST(Ed25519, RejectsAnotherVectorsKey) {
  EXPECT_FALSE(verify(hex(kRfc8032Test2.public_key), hex(kRfc8032Test3.message),
                      hex(kRfc8032Test3.signature)));
}

TEST(Ed25519, RejectsANonCanonicalScalarSPlusGroupOrder) {
  // RFC 8032 5.1.7: S must be below L. S + L verifies under the group law, so accepting it
  // would make signatures malleable.
  static constexpr std::uint8_t kGroupOrder[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                                   0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
  Bytes signature = hex(kRfc8032Test1.signature);
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = signature[32 + i] + kGroupOrder[i] + carry;
    signature[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);
  EXPECT_FALSE(verify(hex(kRfc8032Test1.public_key), {}, signature));
}

// Encodings of points of order 1, 2, 4 and 8 (libsodium's list); sign bit clear and set.
constexpr std::string_view kSmallOrderEdwardsPoints[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

// The base point B: the public key whose private scalar is 1.
constexpr std::string_view kBasePoint =
    "5866666666666666666666666666666666666666666666666666666666666666";

// R = B, S = 1: satisfies [S]B = R + [k]A whenever [k]A is the identity, which for a
// small-order A holds for every message (A = identity) or about one message in eight.
Bytes base_point_signature() {
  Bytes signature = hex(kBasePoint);
  signature.push_back(1);
  signature.resize(kEd25519SignatureBytes, 0);
  return signature;
}

TEST(Ed25519, RejectsTheIdentityKeyThatWouldAcceptOneSignatureForEveryMessage) {
  const Bytes identity = hex("0100000000000000000000000000000000000000000000000000000000000000");
  for (std::string_view message : {"", "pay 100 to mallory", "any message at all"}) {
    EXPECT_FALSE(verify(identity, as_bytes(message), base_point_signature())) << message;
  }
}

TEST(Ed25519, RejectsSmallOrderPublicKeys) {
  for (std::string_view point : kSmallOrderEdwardsPoints) {
    for (int m = 0; m < 64; ++m) {
      const std::uint8_t message[] = {static_cast<std::uint8_t>(m)};
      EXPECT_FALSE(verify(hex(point), message, base_point_signature()))
          << point << ", message " << m;
    }
  }
}

TEST(Ed25519, RejectsSmallOrderR) {
  // Under A = B, R = identity and S = SHA-512(R || A || M) mod L satisfy the verification
  // equation; the small-order R is what refuses them.
  const Bytes public_key = hex(kBasePoint);
  EXPECT_FALSE(verify(public_key, {},
                      hex("0100000000000000000000000000000000000000000000000000000000000000"
                          "7f24ddda4b8f2d7478a694491c798d969e36c39cf94f4f1fba07211f44cb2b09")));
  EXPECT_FALSE(verify(public_key, as_bytes("forged"),
                      hex("0100000000000000000000000000000000000000000000000000000000000000"
                          "7b24370249809380dec17ffa9a635093cf60077bef7b4dd9e645edccb620a102")));
}

TEST(Ed25519, RejectsANonCanonicalPublicKeyEncoding) {
  // y = 3 is on the curve; p + 3 is a second spelling of the same point.
  EXPECT_FALSE(verify(hex("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), {},
                      hex(kRfc8032Test1.signature)));
}

TEST(Ed25519, RejectsWrongSizedKeysAndSignatures) {
  const Bytes public_key = hex(kRfc8032Test1.public_key);
  const Bytes signature = hex(kRfc8032Test1.signature);
  EXPECT_FALSE(verify(ByteView(public_key).first(31), {}, signature));
  EXPECT_FALSE(verify(Bytes{}, {}, signature));
  EXPECT_FALSE(verify(public_key, {}, ByteView(signature).first(63)));
  Bytes longer = signature;
  longer.push_back(0);
  EXPECT_FALSE(verify(public_key, {}, longer));
  EXPECT_FALSE(verify(public_key, {}, Bytes{}));
}

TEST(Ed25519, RefusesPrivateKeysThatAreNot32BytesWithBadKey) {
  for (std::size_t n : {0, 31, 33, 64}) {
    EXPECT_TRUE(fails_with(sign(Bytes(n), as_bytes("m")), CoreErrc::kBadKey)) << n;
    EXPECT_TRUE(fails_with(signing_public_key(Bytes(n)), CoreErrc::kBadKey)) << n;
  }
}

TEST(Ed25519, GeneratedKeyPairSignsAndVerifies) {
  const SigningKeyPair keys = generate_signing_key();
  ASSERT_EQ(keys.private_key.size(), kEd25519PrivateKeyBytes);
  ASSERT_EQ(keys.public_key.size(), kEd25519PublicKeyBytes);
  EXPECT_EQ(hex_of(signing_public_key(keys.private_key)), to_hex(keys.public_key));

  auto signature = sign(keys.private_key, as_bytes("a notification"));
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(signature->size(), kEd25519SignatureBytes);
  EXPECT_TRUE(verify(keys.public_key, as_bytes("a notification"), *signature));
  EXPECT_FALSE(verify(keys.public_key, as_bytes("a notificatioN"), *signature));
  EXPECT_FALSE(verify(generate_signing_key().public_key, as_bytes("a notification"), *signature));
}

// ---- X25519 (RFC 7748) --------------------------------------------------------------------

TEST(X25519, MatchesRfc7748Section52Vector1) {
  auto out = x25519(hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                    hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"));
  EXPECT_EQ(hex_of(out), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

TEST(X25519, MatchesRfc7748Section52Vector2WithHighBitSetInU) {
  auto out = x25519(hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                    hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"));
  EXPECT_EQ(hex_of(out), "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, MatchesRfc7748Section61DiffieHellmanExample) {
  const Bytes alice_private =
      hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob_private = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const std::string alice_public =
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  const std::string bob_public = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

  EXPECT_EQ(hex_of(agreement_public_key(alice_private)), alice_public);
  EXPECT_EQ(hex_of(agreement_public_key(bob_private)), bob_public);
  EXPECT_EQ(hex_of(x25519(alice_private, hex(bob_public))), shared);
  EXPECT_EQ(hex_of(x25519(bob_private, hex(alice_public))), shared);
}

TEST(X25519, RefusesSmallOrderPeerKeysWithBadKey) {
  const Bytes private_key = generate_agreement_key().private_key;
  const std::vector<std::string_view> small_order = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1
  };
  for (std::string_view peer : small_order) {
    EXPECT_TRUE(fails_with(x25519(private_key, hex(peer)), CoreErrc::kBadKey)) << peer;
  }
}

TEST(X25519, RefusesKeysThatAreNot32Bytes) {
  const AgreementKeyPair keys = generate_agreement_key();
  EXPECT_TRUE(fails_with(x25519(Bytes(31), keys.public_key), CoreErrc::kBadKey));
  EXPECT_TRUE(fails_with(x25519(keys.private_key, Bytes(33)), CoreErrc::kBadKey));
  EXPECT_TRUE(fails_with(agreement_public_key(Bytes(16)), CoreErrc::kBadKey));
}

TEST(X25519, GeneratedKeysAreClampedAndAgree) {
  const AgreementKeyPair alice = generate_agreement_key();
  const AgreementKeyPair bob = generate_agreement_key();
  ASSERT_EQ(alice.private_key.size(), kX25519KeyBytes);
  EXPECT_EQ(alice.private_key[0] & 7, 0);
  EXPECT_EQ(alice.private_key[31] & 0xc0, 0x40);
  EXPECT_EQ(hex_of(agreement_public_key(alice.private_key)), to_hex(alice.public_key));

  auto ab = x25519(alice.private_key, bob.public_key);
  auto ba = x25519(bob.private_key, alice.public_key);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(*ab, *ba);
}

// ---- seal / open ----------------------------------------------------------------------------

constexpr std::size_t kSealOverhead = kX25519KeyBytes + kGcmNonceBytes + kGcmTagBytes;

class Seal : public ::testing::Test {
 protected:
  const AgreementKeyPair recipient_ = generate_agreement_key();
  const Bytes plaintext_ = to_bytes("content key of block 3fa2c1d0");
  const Bytes context_ = to_bytes("notification");
  const Bytes sealed_ = seal(recipient_.public_key, plaintext_, context_).value_or({});
};

TEST_F(Seal, RoundTripsAndAddsExactly60Bytes) {
  ASSERT_EQ(sealed_.size(), plaintext_.size() + kSealOverhead);
  auto opened = open(recipient_.private_key, sealed_, context_);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(*opened, plaintext_);
}

TEST_F(Seal, RoundTripsEmptyPlaintextAndEmptyContext) {
  auto sealed = seal(recipient_.public_key, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kSealOverhead);
  auto opened = open(recipient_.private_key, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST_F(Seal, FollowsTheDocumentedConstruction) {
  // eph_pub(32) || nonce(12) || AES-256-GCM(key, nonce, plaintext, AD = context), where
  // key = HKDF-SHA-256(X25519(eph, recipient), eph_pub || recipient_pub, "post-seal-v1" ||
  // context).
  const ByteView box(sealed_);
  const ByteView ephemeral_public = box.first(32);
  const ByteView nonce = box.subspan(32, 12);
  const ByteView ciphertext_and_tag = box.subspan(44);

  auto shared = x25519(recipient_.private_key, ephemeral_public);
  ASSERT_TRUE(shared.ok());
  Bytes salt(ephemeral_public.begin(), ephemeral_public.end());
  salt.insert(salt.end(), recipient_.public_key.begin(), recipient_.public_key.end());
  Bytes info = to_bytes("post-seal-v1");
  info.insert(info.end(), context_.begin(), context_.end());
  auto key = hkdf_sha256(*shared, salt, info, kAesKeyBytes);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(hex_of(aes_gcm_decrypt(*key, nonce, ciphertext_and_tag, context_)), to_hex(plaintext_));
}

TEST_F(Seal, TwoSealsOfTheSameMessageShareNoBytes) {
  auto again = seal(recipient_.public_key, plaintext_, context_);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), sealed_.size());
  EXPECT_FALSE(std::equal(sealed_.begin(), sealed_.begin() + 32, again->begin()));
  EXPECT_FALSE(std::equal(sealed_.begin() + 32, sealed_.begin() + 44, again->begin() + 32));
  EXPECT_FALSE(std::equal(sealed_.begin() + 44, sealed_.end(), again->begin() + 44));
}

TEST_F(Seal, OpenWithAnotherPrivateKeyGivesDecryptFailed) {
  const AgreementKeyPair stranger = generate_agreement_key();
  EXPECT_TRUE(fails_with(open(stranger.private_key, sealed_, context_), CoreErrc::kDecryptFailed));
}

TEST_F(Seal, OpenWithAnotherContextGivesDecryptFailed) {
  EXPECT_TRUE(fails_with(open(recipient_.private_key, sealed_, as_bytes("notificatioN")),
                         CoreErrc::kDecryptFailed));
  EXPECT_TRUE(fails_with(open(recipient_.private_key, sealed_, {}), CoreErrc::kDecryptFailed));
}

TEST_F(Seal, EveryFlippedBitInEveryRegionGivesDecryptFailed) {
  struct Region {
    const char* name;
    std::size_t begin, end;
  };
  const Region regions[] = {{"ephemeral key", 0, 32},
                            {"nonce", 32, 44},
                            {"ciphertext", 44, sealed_.size() - kGcmTagBytes},
                            {"tag", sealed_.size() - kGcmTagBytes, sealed_.size()}};
  for (const Region& region : regions) {
    for (std::size_t bit = region.begin * 8; bit < region.end * 8; ++bit) {
      auto opened = open(recipient_.private_key, flip_bit(sealed_, bit), context_);
      EXPECT_TRUE(fails_with(opened, CoreErrc::kDecryptFailed)) << region.name << ", bit " << bit;
    }
  }
}

TEST_F(Seal, SmallOrderEphemeralKeyGivesDecryptFailed) {
  Bytes forged = sealed_;
  std::fill(forged.begin(), forged.begin() + 32, 0);
  EXPECT_TRUE(fails_with(open(recipient_.private_key, forged, context_), CoreErrc::kDecryptFailed));
}

TEST_F(Seal, EveryTruncationGivesDecryptFailed) {
  for (std::size_t n = 0; n < sealed_.size(); ++n) {
    auto opened = open(recipient_.private_key, ByteView(sealed_).first(n), context_);
    EXPECT_TRUE(fails_with(opened, CoreErrc::kDecryptFailed)) << "length " << n;
  }
  Bytes longer = sealed_;
  longer.push_back(0);
  EXPECT_TRUE(fails_with(open(recipient_.private_key, longer, context_), CoreErrc::kDecryptFailed));
}

TEST_F(Seal, RefusesKeysThatAreNot32BytesWithBadKey) {
  EXPECT_TRUE(fails_with(seal(Bytes(31), plaintext_), CoreErrc::kBadKey));
  EXPECT_TRUE(fails_with(open(Bytes(33), sealed_, context_), CoreErrc::kBadKey));
}

TEST_F(Seal, RefusesASmallOrderRecipientKeyWithBadKey) {
  EXPECT_TRUE(fails_with(seal(Bytes(32), plaintext_), CoreErrc::kBadKey));
}

// ---- base64 (RFC 4648, section 10) --------------------------------------------------------

struct Base64Vector {
  std::string_view bytes, text;
};

constexpr Base64Vector kRfc4648Vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesRfc4648Section10Vectors) {
  for (const auto& v : kRfc4648Vectors) EXPECT_EQ(base64_encode(as_bytes(v.bytes)), v.text);
}

TEST(Base64, DecodesRfc4648Section10Vectors) {
  for (const auto& v : kRfc4648Vectors) {
    auto decoded = base64_decode(v.text);
    ASSERT_TRUE(decoded.ok()) << v.text << ": " << decoded.error().to_string();
    EXPECT_EQ(to_string(*decoded), v.bytes);
  }
}

TEST(Base64, RoundTripsEveryByteValueWithoutLineBreaks) {
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  const std::string text = base64_encode(all);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(hex_of(base64_decode(text)), to_hex(all));
}

TEST(Base64, IgnoresWhitespaceAndLineBreaks) {
  EXPECT_EQ(hex_of(base64_decode(" Zm9v\r\nYmFy\n")), to_hex(as_bytes("foobar")));
  EXPECT_EQ(hex_of(base64_decode("Zm 8=\t")), to_hex(as_bytes("fo")));
}

TEST(Base64, RefusesCharactersOutsideTheAlphabet) {
  for (std::string_view text : {"Zm9v!mFy", "Zm9v-_==", "Zm9vYmF\x80", "Zm9v.mFy"}) {
    EXPECT_TRUE(fails_with(base64_decode(text), CoreErrc::kDecodeFailed)) << text;
  }
  EXPECT_TRUE(fails_with(base64_decode(std::string_view("Zm9v\0mFy", 8)), CoreErrc::kDecodeFailed));
}

TEST(Base64, RefusesMissingOrMisplacedPadding) {
  for (std::string_view text : {"Zg", "Zg=", "Zm9", "Z===", "====", "=Zg=", "Zg==Zg==", "Zm=v"}) {
    EXPECT_TRUE(fails_with(base64_decode(text), CoreErrc::kDecodeFailed)) << text;
  }
}

TEST(Base64, RefusesNonzeroBitsAfterTheLastByte) {
  EXPECT_TRUE(fails_with(base64_decode("Zh=="), CoreErrc::kDecodeFailed));
  EXPECT_TRUE(fails_with(base64_decode("Zm9="), CoreErrc::kDecodeFailed));
}

// ---- randomness ---------------------------------------------------------------------------

TEST(RandomBytes, ReturnsTheRequestedLength) {
  for (std::size_t n : {0, 1, 12, 32, 1000, 70000}) EXPECT_EQ(random_bytes(n).size(), n);
}

TEST(RandomBytes, TwoCallsDiffer) {
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

TEST(RandomBytes, FillsTheWholeSpan) {
  // A 4 KiB buffer left with a zero run of 64 bytes by a correct CSPRNG has probability ~2^-500.
  std::vector<std::uint8_t> buffer(4096, 0);
  random_bytes(std::span<std::uint8_t>(buffer));
  for (std::size_t i = 0; i + 64 <= buffer.size(); i += 64) {
    EXPECT_FALSE(std::all_of(buffer.begin() + i, buffer.begin() + i + 64,
                             [](std::uint8_t b) { return b == 0; }))
        << "zero run at " << i;
  }
}

TEST(RandomBytes, ConcurrentThreadsNeverRepeatAValue) {
  constexpr int kThreads = 4;
  constexpr int kDraws = 500;
  std::vector<std::vector<Bytes>> draws(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&draws, t] {
      for (int i = 0; i < kDraws; ++i) draws[t].push_back(random_bytes(16));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<Bytes> seen;
  for (const auto& per_thread : draws) seen.insert(per_thread.begin(), per_thread.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kDraws));
}

}  // namespace
}  // namespace post::crypto
