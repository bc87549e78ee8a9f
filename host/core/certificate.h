// Certificates and the files that hold keys and certificates. A CA (post-ca) signs node
// certificates that bind a random nodeId to a node's Ed25519 key; nodes admit a peer only
// if its certificate verifies against the CA certificate they were configured with.
// docs/protocol/certificates.md describes the formats.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"

namespace post {

struct CaCertificate {
  std::string name;
  Bytes public_key;  // Ed25519
  std::int64_t created = 0;
  Bytes encoded;  // the SignedCertificate bytes this was parsed from

  // SHA-256 of the public key: what node certificates name as their issuer.
  Bytes key_id() const;
};

struct NodeCertificate {
  Id node_id;
  Bytes public_key;  // Ed25519
  std::string ring;  // "" is the global ring
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::uint64_t serial = 0;
  Bytes ca_key_id;
  Bytes encoded;  // the exact SignedCertificate bytes, as shown in link handshakes
};

// A user's certificate: who they are and the two public keys others use with them.
struct UserCertificate {
  std::string name;
  std::string email;
  Bytes signing_key;    // Ed25519 public key
  Bytes agreement_key;  // X25519 public key
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::uint64_t serial = 0;
  Bytes ca_key_id;
  Bytes encoded;  // the exact SignedCertificate bytes
};

// A user's private keys (held only by the nodes the user trusts).
struct UserKeys {
  Bytes signing_key;    // Ed25519 seed
  Bytes agreement_key;  // X25519 private key
};

struct CaKey {
  CaCertificate certificate;
  Bytes signing_key;  // Ed25519 seed
};

// The current wall-clock time in unix seconds. Only programs' edges read it (the CA tool,
// the daemon); protocol code is handed the time.
std::int64_t wall_clock_seconds();

// A new CA: a fresh key pair and a self-signed CA certificate.
Result<CaKey> create_ca(std::string name, std::int64_t now);

// Parses a CA certificate and checks its self-signature; refuses anything else
// (CoreErrc::kBadCertificate).
Result<CaCertificate> parse_ca_certificate(ByteView encoded);

// Signs a node certificate for `node_id` and `node_public_key`, valid from `not_before`
// to `not_after` (unix seconds).
Result<NodeCertificate> issue_node_certificate(const CaKey& ca, const Id& node_id,
                                               ByteView node_public_key, std::string ring,
                                               std::int64_t not_before, std::int64_t not_after);

// Verifies `encoded` as a node certificate issued by `ca` and valid at `now` (unix seconds),
// and returns its content. Refuses a certificate of another CA (kWrongCa), a bad signature
// (kBadSignature), one outside its validity window (kCertificateExpired), or anything
// malformed (kBadCertificate). The signature is checked over the exact bytes received.
Result<NodeCertificate> verify_node_certificate(ByteView encoded, const CaCertificate& ca,
                                                std::int64_t now);

// Most bytes of a user's name and of their email address.
inline constexpr std::size_t kMaxUserNameBytes = 256;
inline constexpr std::size_t kMaxEmailBytes = 254;  // RFC 5321's longest path

// Signs a user certificate binding `name` and `email` to the user's two public keys, valid
// from `not_before` to `not_after`. Refuses keys that are not 32 bytes (kBadKey), an empty or
// overlong name, an email that is not local@domain, and an empty validity window
// (kBadCertificate).
Result<UserCertificate> issue_user_certificate(const CaKey& ca, std::string name,
                                               std::string email, ByteView signing_key,
                                               ByteView agreement_key, std::int64_t not_before,
                                               std::int64_t not_after);

// Verifies `encoded` as a user certificate issued by `ca` and valid at `now`, with the same
// refusals as verify_node_certificate (and kBadCertificate for a malformed name, email or key).
Result<UserCertificate> verify_user_certificate(ByteView encoded, const CaCertificate& ca,
                                                std::int64_t now);

// ---- files ------------------------------------------------------------------------------

inline constexpr std::string_view kCaCertificateLabel = "POST CA CERTIFICATE";
inline constexpr std::string_view kNodeCertificateLabel = "POST NODE CERTIFICATE";
inline constexpr std::string_view kUserCertificateLabel = "POST USER CERTIFICATE";
inline constexpr std::string_view kPrivateKeyLabel = "POST PRIVATE KEY";

// PEM-like text: "-----BEGIN <label>-----", base64 in 64-column lines, "-----END <label>-----".
std::string armor(std::string_view label, ByteView data);
// Inverse of armor(); refuses text without the expected label (kDecodeFailed).
Result<Bytes> dearmor(std::string_view label, std::string_view text);

// The whole content of `path` (at most 16 MiB), or kIoError naming the path and the reason.
Result<std::string> read_file(const std::string& path);

// Writes `contents` to `path` atomically (temporary file, fsync, rename). With
// `private_file` the file is created with mode 0600 and never exists with looser modes.
Status write_file(const std::string& path, std::string_view contents, bool private_file);

enum class KeyKind { kCa = 1, kNode = 2, kUser = 3 };

// Writes an armored private key file (mode 0600).
Status write_private_key(const std::string& path, KeyKind kind, ByteView signing_key);

// Reads a private key file of `kind`. Refuses a file that group or others may read (the
// message says to chmod 600 it), a key of another kind and anything malformed.
Result<Bytes> read_private_key(const std::string& path, KeyKind kind);

// Writes a user's key file (both keys; mode 0600). With a `passphrase`, the keys are
// encrypted under a key derived from it with scrypt (N = 2^15, r = 8, p = 1: about 32 MiB and
// a tenth of a second), so the file alone does not give them away.
Status write_user_keys(const std::string& path, const UserKeys& keys,
                       std::string_view passphrase = {});
// Reads a user's key file, with read_private_key's checks; both keys must be 32 bytes. A
// protected file needs its passphrase: without one, or with a wrong one, CoreErrc::kBadKey
// saying which.
Result<UserKeys> read_user_keys(const std::string& path, std::string_view passphrase = {});
// Whether the key file at `path` is passphrase-protected (false when it cannot be read).
bool key_file_is_protected(const std::string& path);
// Reads a passphrase from its file: the first line, without its line ending. The file must
// not be readable by others (like a key file) and the passphrase not empty (CoreErrc::kBadKey
// naming the file).
Result<std::string> read_passphrase_file(const std::string& path);

// Reads an armored certificate file of the given label.
Result<Bytes> read_certificate_file(const std::string& path, std::string_view label);

// A node's identity as loaded from its files: its certificate (verified against the CA),
// its signing key (checked to match the certificate) and the CA certificate.
struct NodeIdentity {
  NodeCertificate certificate;
  Bytes signing_key;
  CaCertificate ca;
};

Result<NodeIdentity> load_node_identity(const std::string& key_path,
                                        const std::string& certificate_path,
                                        const std::string& ca_certificate_path, std::int64_t now);

// Loads the CA (certificate and key) that post-ca keeps in `dir` (ca.cert, ca.key).
Result<CaKey> load_ca(const std::string& dir);

}  // namespace post
