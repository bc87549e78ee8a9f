// Thin wrappers over Crypto++: the only place in the node that names a Crypto++ type.
// Every function here is total: bad keys, bad tags and library exceptions come back as
// Errors (CoreErrc), never as exceptions.
//
// Algorithms (../../docs/protocol/crypto.md): Ed25519 signatures (RFC 8032), X25519 key
// agreement (RFC 7748), HKDF-SHA-256 (RFC 5869), AES-256-GCM (NIST SP 800-38D) with
// 96-bit nonces and 128-bit tags, SHA-256, and the operating system's CSPRNG.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "host/core/bytes.h"
#include "host/core/result.h"

namespace post::crypto {

inline constexpr std::size_t kSha256Bytes = 32;
inline constexpr std::size_t kEd25519PublicKeyBytes = 32;
inline constexpr std::size_t kEd25519PrivateKeyBytes = 32;  // the RFC 8032 seed
inline constexpr std::size_t kEd25519SignatureBytes = 64;
inline constexpr std::size_t kX25519KeyBytes = 32;
inline constexpr std::size_t kAesKeyBytes = 32;
inline constexpr std::size_t kGcmNonceBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

using Digest = std::array<std::uint8_t, kSha256Bytes>;

// ---- hashing ----------------------------------------------------------------------------

// SHA-256 of `data`.
Digest sha256(ByteView data);

// Incremental SHA-256 for data that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(ByteView data);
  // Returns the digest and resets the state for a new message.
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HKDF-SHA-256 (RFC 5869): extract with `salt` from `ikm`, expand with `info` to
// `length` bytes. Refuses length > 255 * 32 with CoreErrc::kBadLength.
Result<Bytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length);

// scrypt (RFC 7914) of `passphrase` with `salt`: cost N = 2^log2_n, block size r,
// parallelism p, `length` output bytes. For keys from passphrases (key files). Refuses
// log2_n outside 1..24, r outside 1..64, p outside 1..16 (CoreErrc::kBadLength).
Result<Bytes> scrypt(ByteView passphrase, ByteView salt, unsigned log2_n, unsigned r, unsigned p,
                     std::size_t length);

// ---- randomness ---------------------------------------------------------------------------

// Fills `out` from the operating system's CSPRNG. Thread-safe. Aborts the process if the
// CSPRNG cannot be read: nothing that needs fresh keys or nonces can continue safely.
void random_bytes(std::span<std::uint8_t> out);

// `n` fresh random bytes from the CSPRNG.
Bytes random_bytes(std::size_t n);

// ---- Ed25519 ------------------------------------------------------------------------------

struct SigningKeyPair {
  Bytes private_key;  // 32-byte seed (RFC 8032 "secret key")
  Bytes public_key;   // 32 bytes
};

// A fresh Ed25519 key pair from the CSPRNG.
SigningKeyPair generate_signing_key();

// Derives the public key of a 32-byte Ed25519 seed; refuses other sizes (kBadKey).
Result<Bytes> signing_public_key(ByteView private_key);

// Ed25519 signature (64 bytes) of `message` under the 32-byte seed `private_key`.
Result<Bytes> sign(ByteView private_key, ByteView message);

// True only if `signature` is a valid Ed25519 signature of `message` under the 32-byte
// `public_key`. Wrong sizes and malformed keys verify as false. Verification is strict, as in
// libsodium: it also refuses S >= L (RFC 8032 section 5.1.7), a non-canonical public-key encoding
// (y >= p), and a public key or R of small order, so that a signature is not malleable and no
// key accepts one signature for every message.
bool verify(ByteView public_key, ByteView message, ByteView signature);

// ---- X25519 and sealing ---------------------------------------------------------------------

struct AgreementKeyPair {
  Bytes private_key;  // 32 bytes (clamped scalar per RFC 7748)
  Bytes public_key;   // 32 bytes
};

// A fresh X25519 key pair from the CSPRNG.
AgreementKeyPair generate_agreement_key();

// Derives the X25519 public key of a 32-byte private key (clamped on use, as RFC 7748 says,
// so any 32 bytes are a valid private key). Other sizes give kBadKey.
Result<Bytes> agreement_public_key(ByteView private_key);

// X25519(private_key, peer_public_key): the 32-byte shared secret. Refuses keys that are not
// 32 bytes and an all-zero shared secret (a small-order peer key) with kBadKey.
Result<Bytes> x25519(ByteView private_key, ByteView peer_public_key);

// Seals `plaintext` to the holder of the X25519 `recipient_public_key` (ECIES style):
// an ephemeral X25519 key, HKDF-SHA-256 over the shared secret (salt = ephemeral public ||
// recipient public, info = "post-seal-v1" || `context`), AES-256-GCM with `context` as
// associated data. Output: ephemeral public (32) || nonce (12) || ciphertext || tag (16).
// A recipient key that is not 32 bytes or has small order gives kBadKey.
Result<Bytes> seal(ByteView recipient_public_key, ByteView plaintext, ByteView context = {});

// Opens what seal() produced for the key pair whose private half is `recipient_private_key`.
// Any tampering or truncation, a wrong key or a wrong `context` gives kDecryptFailed; a private
// key that is not 32 bytes gives kBadKey.
Result<Bytes> open(ByteView recipient_private_key, ByteView sealed, ByteView context = {});

// ---- AES-256-GCM --------------------------------------------------------------------------

// AES-256-GCM encryption; returns ciphertext || 16-byte tag. Key must be 32 bytes and
// nonce 12 bytes (kBadKey / kBadLength otherwise).
Result<Bytes> aes_gcm_encrypt(ByteView key, ByteView nonce, ByteView plaintext,
                              ByteView associated_data = {});

// Inverse of aes_gcm_encrypt; a bad tag gives kDecryptFailed and no plaintext.
Result<Bytes> aes_gcm_decrypt(ByteView key, ByteView nonce, ByteView ciphertext_and_tag,
                              ByteView associated_data = {});

// ---- AES-256-GCM in pieces -----------------------------------------------------------------

// AES-256-GCM over a message that is processed in pieces, into buffers the caller owns: for a
// message assembled from parts that should not be concatenated first, and for ciphertext
// decrypted straight into its destination. The ciphertext and tag are those aes_gcm_encrypt
// gives for the concatenated pieces, so either side may use either form.
class GcmEncryptor {
 public:
  // Starts a message under `key` (32 bytes, else kBadKey) and `nonce` (12 bytes, else
  // kBadLength), authenticating `associated_data` as well.
  static Result<GcmEncryptor> start(ByteView key, ByteView nonce, ByteView associated_data = {});
  ~GcmEncryptor();
  GcmEncryptor(GcmEncryptor&&) noexcept;
  GcmEncryptor& operator=(GcmEncryptor&&) noexcept;

  // Encrypts the next piece of plaintext into `out`, which must be exactly as long (kBadLength)
  // and must not overlap `plaintext` unless it is the same memory. After finish(), refuses with
  // kCryptoFailure.
  Status update(ByteView plaintext, std::span<std::uint8_t> out);
  // The 16-byte tag over everything encrypted; the message is then over (a second call gives
  // kCryptoFailure).
  Result<std::array<std::uint8_t, kGcmTagBytes>> finish();

 private:
  struct Impl;
  explicit GcmEncryptor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The inverse of GcmEncryptor. update() hands out plaintext before the tag is checked: those
// bytes are unauthenticated until finish() returns true, and the caller must not act on them,
// show them or pass them on before that, and must discard them when it returns false.
class GcmDecryptor {
 public:
  // As GcmEncryptor::start.
  static Result<GcmDecryptor> start(ByteView key, ByteView nonce, ByteView associated_data = {});
  ~GcmDecryptor();
  GcmDecryptor(GcmDecryptor&&) noexcept;
  GcmDecryptor& operator=(GcmDecryptor&&) noexcept;

  // Decrypts the next piece of ciphertext (without the tag) into `out`, which must be exactly
  // as long (kBadLength). After finish(), refuses with kCryptoFailure.
  Status update(ByteView ciphertext, std::span<std::uint8_t> out);
  // True only when `tag` (16 bytes) authenticates everything given to update() and the
  // associated data; the message is then over. A tag of another size, or a second call,
  // gives false.
  bool finish(ByteView tag);

 private:
  struct Impl;
  explicit GcmDecryptor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- text encoding ------------------------------------------------------------------------

// Standard base64 (RFC 4648, with padding, no line breaks).
std::string base64_encode(ByteView data);

// Decodes standard base64; whitespace is ignored, anything else that is not base64
// (or bad padding) gives CoreErrc::kDecodeFailed. Decoding is canonical: nonzero bits after
// the last byte (e.g. "Zh==") are refused, so each byte string has exactly one encoding.
Result<Bytes> base64_decode(std::string_view text);

}  // namespace post::crypto
