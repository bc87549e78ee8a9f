// Error codes of host/post: the secure store (sealing, opening and checking pieces and
// manifests, storing and fetching objects) and logs (heads, clusters, chains, rollback).
// Errors of the PAST layer underneath (an insert refused, a block not found) reach callers
// with their own PastErrc code.
#pragma once

#include <system_error>

#include "host/core/errors.h"

namespace post::services {

// Never renumber; add new codes at the end.
enum class PostErrc {
  kBadOptions = 1,     // a padding size or salt outside its bounds
  kTooLarge,           // an object over kMaxObjectBytes
  kWrongBlockKind,     // the handle names a block that is not a content-hash block
  kDecryptFailed,      // the GCM tag does not verify: tampered, wrong key or wrong block
  kKeyMismatch,        // authentic under the key, but the plaintext does not hash to it
  kUnknownSalt,        // salted, and this node holds no organisation salt
  kMalformedPiece,     // a piece's header or layout is not valid
  kUnknownPieceKind,   // a piece of a kind this version does not know
  kMalformedManifest,  // a manifest out of its bounds or inconsistent
  kChunkMismatch,      // a chunk is not what its manifest says (kind or size)
  // Logs (host/post/log.h).
  kMalformedLogHead,   // a log head's record out of its bounds or inconsistent
  kMalformedCluster,   // a log cluster's record out of its bounds or inconsistent
  kBrokenChain,        // a cluster does not link where the head or the next cluster says
  kRolledBack,         // a log head older than one already seen
  kForkedLog,          // two different log heads with the same version
  kNoSnapshot,         // the log has no snapshot yet
  kNotALogReader,      // an encrypted log whose head holds no key for this reader
  kRecordTooLarge,     // a log record over kMaxRecordBytes
  // Notification delivery (host/post/notification_service.h).
  kSenderBlocked,      // the recipient refuses notifications from this sender
  kNotificationRefused,  // the recipient's node refused the notification as invalid
  kNotDelivered,       // neither the recipient's node nor any delegates took it
  kNotServedHere,      // the user is not served by this node
  kUnknownRecipient,   // the directory has no user with that email
};

// The highest value: codes above it came from a newer version.
inline constexpr PostErrc kLastPostErrc = PostErrc::kUnknownRecipient;

const std::error_category& post_category();

inline std::error_code make_error_code(PostErrc e) {
  return {static_cast<int>(e), post_category()};
}

using post::make_error;

}  // namespace post::services

template <>
struct std::is_error_code_enum<post::services::PostErrc> : std::true_type {};
