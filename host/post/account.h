// Accounts (issue 6, item 1): a user is a CA-signed user certificate (host/core/certificate.h)
// published as a PAST certificate block under the name "user:" + email, and an identity block:
// a PAST public-key block signed by the user's own signing key, holding the user's contact
// node, the handles of the user's log heads and presence data. The identity block's
// timestamp is its version; PAST keeps the newest at every replica and readers take the
// newest valid one, so an identity never goes back.
//
// The pure functions build and check the blocks; UserDirectory publishes and finds users over
// a PastNode (sans-I/O, callbacks on the node's executor). Format: docs/protocol/accounts.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/core/certificate.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/net/transport.h"
#include "host/past/block.h"
#include "host/past/past_node.h"

namespace post::services {

// Most log heads an identity names, and most bytes of presence data.
inline constexpr std::size_t kMaxLogHeads = 64;
inline constexpr std::size_t kMaxLogNameBytes = 64;
inline constexpr std::size_t kMaxPresenceBytes = 4096;
// The hardest sender puzzle a user may ask for (2^24 hashes: a few seconds of one core).
inline constexpr std::uint32_t kMaxPuzzleBits = 24;

struct LogHeadRef {
  std::string name;
  Id handle;

  friend bool operator==(const LogHeadRef&, const LogHeadRef&) = default;
};

// What a user's identity block says.
struct Identity {
  std::optional<net::NodeHandle> contact;  // the node that serves the user now
  std::vector<LogHeadRef> log_heads;
  Bytes presence;
  // Senders of notifications to this user solve a puzzle of this many bits (0: none).
  std::uint32_t puzzle_bits = 0;
  std::uint64_t version = 0;  // the block's timestamp

  friend bool operator==(const Identity&, const Identity&) = default;
};

// The certificate block name of the user with `email`: "user:" + email.
std::string user_certificate_name(std::string_view email);

// The user's certificate as a PAST certificate block, signed by the CA (`ca.signing_key`).
Result<past::Block> make_user_certificate_block(const CaKey& ca, const UserCertificate& user);

// Checks a certificate block: its signature by the CA (validate_block under its name's
// handle), that it holds a user certificate of that CA valid at `now`, and that the name is
// the certificate's email's. Errors: PastErrc (kWrongHandle, kBadSignature, ...) for the
// block, CoreErrc (kBadCertificate, kWrongCa, kCertificateExpired, ...) for the certificate.
Result<UserCertificate> read_user_certificate_block(const past::Block& block,
                                                    const CaCertificate& ca, std::int64_t now);

// The identity block of the user whose signing key is `keys.signing_key`, version `version`.
// Refuses an identity over its bounds (CoreErrc::kBadLength) and a bad key (kBadKey).
Result<past::Block> make_identity_block(const UserKeys& keys, const Identity& identity,
                                        std::uint64_t version);

// Checks an identity block against the user's certificate: a public-key block signed by the
// certificate's signing key, under that key's handle, with a well-formed record within its
// bounds (CoreErrc::kDecodeFailed / kBadLength otherwise).
Result<Identity> read_identity_block(const past::Block& block, const UserCertificate& user);

// A user found in the directory.
struct UserRecord {
  UserCertificate certificate;
  std::optional<Identity> identity;  // absent when the user never published one
};

// Publishes and finds users over one node's PAST layer.
class UserDirectory {
 public:
  // `past` is not owned and must outlive the directory; `ca` checks certificates.
  UserDirectory(past::PastNode& past, CaCertificate ca);
  ~UserDirectory();
  UserDirectory(const UserDirectory&) = delete;
  UserDirectory& operator=(const UserDirectory&) = delete;

  // Stores the user's certificate block (made by the CA; anyone may insert it).
  void publish_certificate(const past::Block& certificate_block,
                           std::function<void(Status)> done);

  // Stores a new version of the user's identity: version = max(`now_version`, the last
  // version this directory wrote or read for the user + 1), so versions only grow even if the
  // clock steps back. `done` gets the version written.
  void update_identity(const UserKeys& keys, const Identity& identity, std::uint64_t now_version,
                       std::function<void(Result<std::uint64_t>)> done);

  // Finds the user with `email`: the certificate (checked against the CA) and the newest
  // identity (checked against the certificate's key). A reader that saw a newer version of
  // the identity before refuses an older one (CoreErrc::kBadSignature is not it:
  // PastErrc::kStaleTimestamp).
  void find(const std::string& email, std::int64_t now,
            std::function<void(Result<UserRecord>)> done);

 private:
  past::PastNode& past_;
  CaCertificate ca_;
  // The newest identity version seen per user signing key (hex), for monotonic writes and
  // rollback detection.
  std::unordered_map<std::string, std::uint64_t> versions_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::services
