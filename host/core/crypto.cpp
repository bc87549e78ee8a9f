#include "host/core/crypto.h"

#include <cryptopp/aes.h>
#include <cryptopp/base64.h>
#include <cryptopp/cryptlib.h>
#include <cryptopp/gcm.h>
#include <cryptopp/hkdf.h>
#include <cryptopp/misc.h>
#include <cryptopp/osrng.h>
#include <cryptopp/secblock.h>
#include <cryptopp/scrypt.h>
#include <cryptopp/sha.h>
#include <cryptopp/xed25519.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include "host/core/errors.h"
#include "host/core/log.h"

namespace post::crypto {
namespace {

using CryptoPP::byte;

// Domain separation of seal(): the HKDF info starts with this label, then the caller's context.
constexpr std::string_view kSealInfoLabel = "post-seal-v1";
constexpr std::size_t kSealOverheadBytes = kX25519KeyBytes + kGcmNonceBytes + kGcmTagBytes;

// RFC 5869: HKDF-Expand produces at most 255 blocks of the hash output.
constexpr std::size_t kHkdfMaxOutputBytes = 255 * kSha256Bytes;

// Ed25519 values below are 32-byte little-endian integers, as RFC 8032 encodes them.
using Le256 = std::array<std::uint8_t, 32>;

// The order L of the Ed25519 base point (RFC 8032 section 5.1).
constexpr Le256 kEd25519GroupOrder = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// The field prime p = 2^255 - 19.
constexpr Le256 kEd25519FieldPrime = {
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};

// The y coordinates (sign bit of x cleared) that encode a point of order 1, 2, 4 or 8,
// canonically or as y + p: the list libsodium refuses in crypto_sign_verify_detached.
constexpr std::array<Le256, 7> kEd25519SmallOrderY = {{
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}};

using SecretKey = CryptoPP::FixedSizeSecBlock<byte, 32>;

// Crypto++ takes (pointer, length) pairs; an empty std::span may hold a null pointer, which
// some of its code paths hand to memcpy. Empty inputs point here instead.
const byte* bytes_of(ByteView v) {
  static constexpr byte kNothing = 0;
  return v.empty() ? &kNothing : v.data();
}

std::string size_error(std::string_view what, std::size_t expected, std::size_t got) {
  return std::string(what) + " must be " + std::to_string(expected) + " bytes, got " +
         std::to_string(got);
}

// Runs `body` and turns any exception into a kCryptoFailure Error naming `operation`.
template <class Body>
auto guarded(std::string_view operation, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const CryptoPP::Exception& e) {
    return make_error(CoreErrc::kCryptoFailure, std::string(operation) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(CoreErrc::kCryptoFailure, std::string(operation) + ": " + e.what());
  }
}

bool is_all_zero(const byte* p, std::size_t n) {
  byte acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

bool less_than(ByteView a, const Le256& b) {
  for (std::size_t i = b.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i];
  }
  return false;
}

// The y coordinate of a point encoding: the encoding without the sign bit of x.
Le256 y_of(ByteView point) {
  Le256 y;
  std::copy(point.begin(), point.end(), y.begin());
  y[31] &= 0x7f;
  return y;
}

bool has_small_order(ByteView point) {
  const Le256 y = y_of(point);
  return std::find(kEd25519SmallOrderY.begin(), kEd25519SmallOrderY.end(), y) !=
         kEd25519SmallOrderY.end();
}

// The checks of RFC 8032 section 5.1.7 and of libsodium that Crypto++ 8.7 leaves out. Without
// them a signature S + L verifies as well as S (malleability), a public key y + p names the same
// key as y, and a small-order public key such as the identity accepts one signature for every
// message.
bool is_strictly_valid(ByteView public_key, ByteView signature) {
  const ByteView r = signature.first(32);
  const ByteView s = signature.subspan(32);
  return less_than(s, kEd25519GroupOrder) && less_than(y_of(public_key), kEd25519FieldPrime) &&
         !has_small_order(public_key) && !has_small_order(r);
}

// X25519 into `shared`; false for a small-order peer key or an all-zero shared secret.
bool agree(byte* shared, const byte* private_key, const byte* peer_public_key) {
  const CryptoPP::x25519 curve;
  if (!curve.Agree(shared, private_key, peer_public_key, /*validateOtherPublicKey=*/true)) {
    return false;
  }
  return !is_all_zero(shared, kX25519KeyBytes);
}

// The AES key of a sealed box: HKDF-SHA-256 over the X25519 shared secret with
// salt = ephemeral public || recipient public and info = kSealInfoLabel || context.
void derive_seal_key(const SecretKey& shared, const byte* ephemeral_public,
                     const byte* recipient_public, ByteView context, SecretKey& key) {
  std::array<byte, 2 * kX25519KeyBytes> salt{};
  std::copy_n(ephemeral_public, kX25519KeyBytes, salt.begin());
  std::copy_n(recipient_public, kX25519KeyBytes, salt.begin() + kX25519KeyBytes);
  Bytes info(kSealInfoLabel.begin(), kSealInfoLabel.end());
  info.insert(info.end(), context.begin(), context.end());
  CryptoPP::HKDF<CryptoPP::SHA256>().DeriveKey(key.data(), key.size(), shared.data(), shared.size(),
                                               salt.data(), salt.size(), info.data(), info.size());
}

// Writes ciphertext || tag (plaintext.size() + kGcmTagBytes bytes) to `out`.
void gcm_encrypt_into(const byte* key, const byte* nonce, ByteView plaintext,
                      ByteView associated_data, byte* out) {
  CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
  gcm.SetKeyWithIV(key, kAesKeyBytes, nonce, kGcmNonceBytes);
  gcm.EncryptAndAuthenticate(out, out + plaintext.size(), kGcmTagBytes, nonce, kGcmNonceBytes,
                             bytes_of(associated_data), associated_data.size(), bytes_of(plaintext),
                             plaintext.size());
}

// Decrypts ciphertext || tag into `plaintext`; false, with `plaintext` empty, when the tag does
// not match.
bool gcm_decrypt_into(const byte* key, const byte* nonce, ByteView ciphertext_and_tag,
                      ByteView associated_data, Bytes& plaintext) {
  const std::size_t n = ciphertext_and_tag.size() - kGcmTagBytes;
  plaintext.assign(n, 0);
  byte unused = 0;
  byte* out = n == 0 ? &unused : plaintext.data();
  CryptoPP::GCM<CryptoPP::AES>::Decryption gcm;
  gcm.SetKeyWithIV(key, kAesKeyBytes, nonce, kGcmNonceBytes);
  const bool authentic = gcm.DecryptAndVerify(
      out, ciphertext_and_tag.data() + n, kGcmTagBytes, nonce, kGcmNonceBytes,
      bytes_of(associated_data), associated_data.size(), bytes_of(ciphertext_and_tag), n);
  if (!authentic) {
    CryptoPP::SecureWipeBuffer(plaintext.data(), plaintext.size());
    plaintext.clear();
  }
  return authentic;
}

// RFC 4648 base64 alphabet value of `c`, or -1.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_base64_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

// ---- hashing ----------------------------------------------------------------------------

Digest sha256(ByteView data) {
  Digest digest;
  CryptoPP::SHA256().CalculateDigest(digest.data(), bytes_of(data), data.size());
  return digest;
}

struct Sha256::Impl {
  CryptoPP::SHA256 hash;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}

Sha256::~Sha256() = default;

void Sha256::update(ByteView data) {
  if (!data.empty()) impl_->hash.Update(data.data(), data.size());
}

Digest Sha256::finish() {
  Digest digest;
  impl_->hash.Final(digest.data());
  return digest;
}

Result<Bytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length) {
  if (length > kHkdfMaxOutputBytes) {
    return make_error(CoreErrc::kBadLength, "HKDF-SHA-256 output of " + std::to_string(length) +
                                                " bytes exceeds the RFC 5869 limit of " +
                                                std::to_string(kHkdfMaxOutputBytes));
  }
  if (length == 0) return Bytes{};
  return guarded("HKDF-SHA-256", [&]() -> Result<Bytes> {
    Bytes out(length);
    CryptoPP::HKDF<CryptoPP::SHA256>().DeriveKey(out.data(), out.size(), bytes_of(ikm), ikm.size(),
                                                 bytes_of(salt), salt.size(), bytes_of(info),
                                                 info.size());
    return out;
  });
}

Result<Bytes> scrypt(ByteView passphrase, ByteView salt, unsigned log2_n, unsigned r, unsigned p,
                     std::size_t length) {
  if (log2_n < 1 || log2_n > 24 || r < 1 || r > 64 || p < 1 || p > 16) {
    return make_error(CoreErrc::kBadLength, "scrypt parameters out of bounds");
  }
  return guarded("scrypt", [&]() -> Result<Bytes> {
    Bytes out(length);
    CryptoPP::Scrypt().DeriveKey(out.data(), out.size(), bytes_of(passphrase), passphrase.size(),
                                 bytes_of(salt), salt.size(), CryptoPP::word64{1} << log2_n, r,
                                 p);
    return out;
  });
}

// ---- randomness ---------------------------------------------------------------------------

void random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  try {
    // One handle on the kernel's generator per thread: no shared state, no lock, and nothing
    // that a fork() could duplicate into two processes.
    thread_local CryptoPP::NonblockingRng os_rng;
    os_rng.GenerateBlock(out.data(), out.size());
  } catch (const std::exception& e) {
    post::log::get("core")->critical("cannot read the operating system's random generator: {}",
                                     e.what());
    std::abort();
  }
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  random_bytes(std::span<std::uint8_t>(out));
  return out;
}

// ---- Ed25519 ------------------------------------------------------------------------------

SigningKeyPair generate_signing_key() {
  SigningKeyPair pair;
  pair.private_key = random_bytes(kEd25519PrivateKeyBytes);
  const CryptoPP::ed25519Signer signer(pair.private_key.data());
  const auto& key = static_cast<const CryptoPP::ed25519PrivateKey&>(signer.GetPrivateKey());
  pair.public_key.assign(key.GetPublicKeyBytePtr(),
                         key.GetPublicKeyBytePtr() + kEd25519PublicKeyBytes);
  return pair;
}

Result<Bytes> signing_public_key(ByteView private_key) {
  if (private_key.size() != kEd25519PrivateKeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("Ed25519 private key", kEd25519PrivateKeyBytes,
                                                    private_key.size()));
  }
  return guarded("Ed25519 public key", [&]() -> Result<Bytes> {
    const CryptoPP::ed25519Signer signer(private_key.data());
    const auto& key = static_cast<const CryptoPP::ed25519PrivateKey&>(signer.GetPrivateKey());
    return Bytes(key.GetPublicKeyBytePtr(), key.GetPublicKeyBytePtr() + kEd25519PublicKeyBytes);
  });
}

Result<Bytes> sign(ByteView private_key, ByteView message) {
  if (private_key.size() != kEd25519PrivateKeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("Ed25519 private key", kEd25519PrivateKeyBytes,
                                                    private_key.size()));
  }
  return guarded("Ed25519 sign", [&]() -> Result<Bytes> {
    const CryptoPP::ed25519Signer signer(private_key.data());
    Bytes signature(kEd25519SignatureBytes);
    // Ed25519 is deterministic: the generator is never read.
    signer.SignMessage(CryptoPP::NullRNG(), bytes_of(message), message.size(), signature.data());
    return signature;
  });
}

bool verify(ByteView public_key, ByteView message, ByteView signature) {
  if (public_key.size() != kEd25519PublicKeyBytes) return false;
  if (signature.size() != kEd25519SignatureBytes) return false;
  if (!is_strictly_valid(public_key, signature)) return false;
  try {
    const CryptoPP::ed25519Verifier verifier(public_key.data());
    return verifier.VerifyMessage(bytes_of(message), message.size(), signature.data(),
                                  signature.size());
  } catch (const CryptoPP::Exception&) {
    return false;
  } catch (const std::exception&) {
    return false;
  }
}

// ---- X25519 and sealing ---------------------------------------------------------------------

AgreementKeyPair generate_agreement_key() {
  const CryptoPP::x25519 curve;
  AgreementKeyPair pair;
  pair.private_key = random_bytes(kX25519KeyBytes);
  curve.ClampKey(pair.private_key.data());
  pair.public_key.resize(kX25519KeyBytes);
  curve.GeneratePublicKey(CryptoPP::NullRNG(), pair.private_key.data(), pair.public_key.data());
  return pair;
}

Result<Bytes> agreement_public_key(ByteView private_key) {
  if (private_key.size() != kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey,
                      size_error("X25519 private key", kX25519KeyBytes, private_key.size()));
  }
  return guarded("X25519 public key", [&]() -> Result<Bytes> {
    Bytes public_key(kX25519KeyBytes);
    CryptoPP::x25519().GeneratePublicKey(CryptoPP::NullRNG(), private_key.data(),
                                         public_key.data());
    return public_key;
  });
}

Result<Bytes> x25519(ByteView private_key, ByteView peer_public_key) {
  if (private_key.size() != kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey,
                      size_error("X25519 private key", kX25519KeyBytes, private_key.size()));
  }
  if (peer_public_key.size() != kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey,
                      size_error("X25519 public key", kX25519KeyBytes, peer_public_key.size()));
  }
  return guarded("X25519", [&]() -> Result<Bytes> {
    Bytes shared(kX25519KeyBytes);
    if (!agree(shared.data(), private_key.data(), peer_public_key.data())) {
      CryptoPP::SecureWipeBuffer(shared.data(), shared.size());
      return make_error(CoreErrc::kBadKey,
                        "X25519 peer key has small order (all-zero shared secret)");
    }
    return shared;
  });
}

Result<Bytes> seal(ByteView recipient_public_key, ByteView plaintext, ByteView context) {
  if (recipient_public_key.size() != kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("seal recipient X25519 key", kX25519KeyBytes,
                                                    recipient_public_key.size()));
  }
  return guarded("seal", [&]() -> Result<Bytes> {
    Bytes sealed(kSealOverheadBytes + plaintext.size());
    byte* ephemeral_public = sealed.data();
    byte* nonce = ephemeral_public + kX25519KeyBytes;
    byte* ciphertext = nonce + kGcmNonceBytes;

    const CryptoPP::x25519 curve;
    SecretKey ephemeral_private;
    random_bytes(std::span<std::uint8_t>(ephemeral_private.data(), ephemeral_private.size()));
    curve.ClampKey(ephemeral_private.data());
    curve.GeneratePublicKey(CryptoPP::NullRNG(), ephemeral_private.data(), ephemeral_public);

    SecretKey shared;
    if (!agree(shared.data(), ephemeral_private.data(), recipient_public_key.data())) {
      return make_error(CoreErrc::kBadKey, "seal recipient X25519 key has small order");
    }
    SecretKey key;
    derive_seal_key(shared, ephemeral_public, recipient_public_key.data(), context, key);
    random_bytes(std::span<std::uint8_t>(nonce, kGcmNonceBytes));
    gcm_encrypt_into(key.data(), nonce, plaintext, context, ciphertext);
    return sealed;
  });
}

Result<Bytes> open(ByteView recipient_private_key, ByteView sealed, ByteView context) {
  if (recipient_private_key.size() != kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("open recipient X25519 key", kX25519KeyBytes,
                                                    recipient_private_key.size()));
  }
  if (sealed.size() < kSealOverheadBytes) {
    return make_error(CoreErrc::kDecryptFailed, "sealed box of " + std::to_string(sealed.size()) +
                                                    " bytes is shorter than the " +
                                                    std::to_string(kSealOverheadBytes) +
                                                    "-byte minimum");
  }
  return guarded("open", [&]() -> Result<Bytes> {
    const byte* ephemeral_public = sealed.data();
    const byte* nonce = ephemeral_public + kX25519KeyBytes;
    const ByteView ciphertext_and_tag = sealed.subspan(kX25519KeyBytes + kGcmNonceBytes);

    std::array<byte, kX25519KeyBytes> recipient_public{};
    CryptoPP::x25519().GeneratePublicKey(CryptoPP::NullRNG(), recipient_private_key.data(),
                                         recipient_public.data());
    SecretKey shared;
    if (!agree(shared.data(), recipient_private_key.data(), ephemeral_public)) {
      return make_error(CoreErrc::kDecryptFailed, "sealed box has a small-order ephemeral key");
    }
    SecretKey key;
    derive_seal_key(shared, ephemeral_public, recipient_public.data(), context, key);
    Bytes plaintext;
    if (!gcm_decrypt_into(key.data(), nonce, ciphertext_and_tag, context, plaintext)) {
      return make_error(CoreErrc::kDecryptFailed,
                        "sealed box failed authentication (tampered, wrong key or wrong context)");
    }
    return plaintext;
  });
}

// ---- AES-256-GCM --------------------------------------------------------------------------

Result<Bytes> aes_gcm_encrypt(ByteView key, ByteView nonce, ByteView plaintext,
                              ByteView associated_data) {
  if (key.size() != kAesKeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("AES-256 key", kAesKeyBytes, key.size()));
  }
  if (nonce.size() != kGcmNonceBytes) {
    return make_error(CoreErrc::kBadLength, size_error("GCM nonce", kGcmNonceBytes, nonce.size()));
  }
  return guarded("AES-256-GCM encrypt", [&]() -> Result<Bytes> {
    Bytes out(plaintext.size() + kGcmTagBytes);
    gcm_encrypt_into(key.data(), nonce.data(), plaintext, associated_data, out.data());
    return out;
  });
}

Result<Bytes> aes_gcm_decrypt(ByteView key, ByteView nonce, ByteView ciphertext_and_tag,
                              ByteView associated_data) {
  if (key.size() != kAesKeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("AES-256 key", kAesKeyBytes, key.size()));
  }
  if (nonce.size() != kGcmNonceBytes) {
    return make_error(CoreErrc::kBadLength, size_error("GCM nonce", kGcmNonceBytes, nonce.size()));
  }
  if (ciphertext_and_tag.size() < kGcmTagBytes) {
    return make_error(CoreErrc::kDecryptFailed, "GCM input of " +
                                                    std::to_string(ciphertext_and_tag.size()) +
                                                    " bytes is shorter than the " +
                                                    std::to_string(kGcmTagBytes) + "-byte tag");
  }
  return guarded("AES-256-GCM decrypt", [&]() -> Result<Bytes> {
    Bytes plaintext;
    if (!gcm_decrypt_into(key.data(), nonce.data(), ciphertext_and_tag, associated_data,
                          plaintext)) {
      return make_error(CoreErrc::kDecryptFailed, "GCM tag mismatch");
    }
    return plaintext;
  });
}

// ---- AES-256-GCM in pieces -----------------------------------------------------------------

namespace {

// The checks both stream kinds make before keying a cipher.
Status check_gcm_parameters(ByteView key, ByteView nonce) {
  if (key.size() != kAesKeyBytes) {
    return make_error(CoreErrc::kBadKey, size_error("AES-256 key", kAesKeyBytes, key.size()));
  }
  if (nonce.size() != kGcmNonceBytes) {
    return make_error(CoreErrc::kBadLength, size_error("GCM nonce", kGcmNonceBytes, nonce.size()));
  }
  return ok_status();
}

// Keys `gcm` and feeds it the associated data; the shared part of both start() functions.
template <class Gcm>
Status key_gcm(Gcm& gcm, ByteView key, ByteView nonce, ByteView associated_data) {
  POST_TRY(check_gcm_parameters(key, nonce));
  return guarded("AES-256-GCM start", [&]() -> Status {
    gcm.SetKeyWithIV(key.data(), key.size(), nonce.data(), nonce.size());
    if (!associated_data.empty()) gcm.Update(associated_data.data(), associated_data.size());
    return ok_status();
  });
}

// One step of either stream: the size and state checks, then `gcm` over `in` into `out`.
template <class Gcm>
Status gcm_process(Gcm& gcm, bool finished, ByteView in, std::span<std::uint8_t> out) {
  if (finished) return make_error(CoreErrc::kCryptoFailure, "AES-256-GCM stream already finished");
  if (out.size() != in.size()) {
    return make_error(CoreErrc::kBadLength, "AES-256-GCM output of " + std::to_string(out.size()) +
                                                " bytes for an input of " +
                                                std::to_string(in.size()));
  }
  if (in.empty()) return ok_status();
  return guarded("AES-256-GCM update", [&]() -> Status {
    gcm.ProcessData(out.data(), in.data(), in.size());
    return ok_status();
  });
}

}  // namespace

struct GcmEncryptor::Impl {
  CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
  bool finished = false;
};

GcmEncryptor::GcmEncryptor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GcmEncryptor::~GcmEncryptor() = default;
GcmEncryptor::GcmEncryptor(GcmEncryptor&&) noexcept = default;
GcmEncryptor& GcmEncryptor::operator=(GcmEncryptor&&) noexcept = default;

Result<GcmEncryptor> GcmEncryptor::start(ByteView key, ByteView nonce, ByteView associated_data) {
  auto impl = std::make_unique<Impl>();
  POST_TRY(key_gcm(impl->gcm, key, nonce, associated_data));
  return GcmEncryptor(std::move(impl));
}

Status GcmEncryptor::update(ByteView plaintext, std::span<std::uint8_t> out) {
  return gcm_process(impl_->gcm, impl_->finished, plaintext, out);
}

Result<std::array<std::uint8_t, kGcmTagBytes>> GcmEncryptor::finish() {
  if (impl_->finished) {
    return make_error(CoreErrc::kCryptoFailure, "AES-256-GCM stream already finished");
  }
  impl_->finished = true;
  return guarded("AES-256-GCM finish", [&]() -> Result<std::array<std::uint8_t, kGcmTagBytes>> {
    std::array<std::uint8_t, kGcmTagBytes> tag{};
    impl_->gcm.TruncatedFinal(tag.data(), tag.size());
    return tag;
  });
}

struct GcmDecryptor::Impl {
  CryptoPP::GCM<CryptoPP::AES>::Decryption gcm;
  bool finished = false;
};

GcmDecryptor::GcmDecryptor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GcmDecryptor::~GcmDecryptor() = default;
GcmDecryptor::GcmDecryptor(GcmDecryptor&&) noexcept = default;
GcmDecryptor& GcmDecryptor::operator=(GcmDecryptor&&) noexcept = default;

Result<GcmDecryptor> GcmDecryptor::start(ByteView key, ByteView nonce, ByteView associated_data) {
  auto impl = std::make_unique<Impl>();
  POST_TRY(key_gcm(impl->gcm, key, nonce, associated_data));
  return GcmDecryptor(std::move(impl));
}

Status GcmDecryptor::update(ByteView ciphertext, std::span<std::uint8_t> out) {
  return gcm_process(impl_->gcm, impl_->finished, ciphertext, out);
}

bool GcmDecryptor::finish(ByteView tag) {
  if (impl_->finished) return false;
  impl_->finished = true;
  if (tag.size() != kGcmTagBytes) return false;
  try {
    return impl_->gcm.TruncatedVerify(tag.data(), tag.size());
  } catch (const std::exception&) {
    return false;
  }
}

// ---- text encoding ------------------------------------------------------------------------

std::string base64_encode(ByteView data) {
  CryptoPP::Base64Encoder encoder(nullptr, /*insertLineBreaks=*/false);
  encoder.Put(bytes_of(data), data.size());
  encoder.MessageEnd();
  std::string text(static_cast<std::size_t>(encoder.MaxRetrievable()), '\0');
  if (!text.empty()) encoder.Get(reinterpret_cast<byte*>(text.data()), text.size());
  return text;
}

Result<Bytes> base64_decode(std::string_view text) {
  // Crypto++'s decoder skips characters outside the alphabet, so validate first.
  std::string compact;
  compact.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_base64_whitespace(c)) continue;
    if (c != '=' && base64_value(c) < 0) {
      return make_error(CoreErrc::kDecodeFailed,
                        "base64: invalid character 0x" +
                            to_hex(as_bytes(std::string_view(&text[i], 1))) + " at offset " +
                            std::to_string(i));
    }
    compact.push_back(c);
  }
  if (compact.size() % 4 != 0) {
    return make_error(CoreErrc::kDecodeFailed, "base64: " + std::to_string(compact.size()) +
                                                   " characters is not a multiple of 4");
  }
  const std::size_t first_pad = compact.find('=');
  const std::size_t padding = first_pad == std::string::npos ? 0 : compact.size() - first_pad;
  if (padding > 2 || compact.find_first_not_of('=', first_pad) != std::string::npos) {
    return make_error(CoreErrc::kDecodeFailed, "base64: '=' only as 1 or 2 final characters");
  }
  if (padding > 0) {
    // The bits after the last whole byte must be zero, so each byte string has one encoding.
    const int last = base64_value(compact[compact.size() - padding - 1]);
    const int unused_bits_mask = padding == 1 ? 0x03 : 0x0f;
    if ((last & unused_bits_mask) != 0) {
      return make_error(CoreErrc::kDecodeFailed, "base64: nonzero bits after the last byte");
    }
  }
  try {
    CryptoPP::Base64Decoder decoder;
    decoder.Put(reinterpret_cast<const byte*>(compact.data()), compact.size());
    decoder.MessageEnd();
    Bytes out(static_cast<std::size_t>(decoder.MaxRetrievable()));
    if (!out.empty()) decoder.Get(out.data(), out.size());
    return out;
  } catch (const CryptoPP::Exception& e) {
    return make_error(CoreErrc::kDecodeFailed, std::string("base64: ") + e.what());
  } catch (const std::exception& e) {
    return make_error(CoreErrc::kDecodeFailed, std::string("base64: ") + e.what());
  }
}

}  // namespace post::crypto
