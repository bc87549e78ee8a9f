// Error codes of host/past: block decoding and validation, block storage, and the PAST
// protocol (inserts, lookups, replicas).
#pragma once

#include <system_error>

#include "host/core/errors.h"

namespace post::past {

// The values travel in PAST replies (past.proto's error_code): never renumber them, and add
// new codes at the end.
enum class PastErrc {
  kMalformedBlock = 1,
  kWrongHandle,
  kBadSignature,
  kStaleTimestamp,
  kImmutable,
  kKindConflict,
  kTooLarge,
  kUnknownKind,
  kQuotaExceeded,
  kNotFound,
  kStorageFailure,
  kReplicasUnavailable,
  kTimeout,
  kMalformedMessage,
};

// The highest value: codes above it came from a newer version.
inline constexpr PastErrc kLastPastErrc = PastErrc::kMalformedMessage;

const std::error_category& past_category();

inline std::error_code make_error_code(PastErrc e) {
  return {static_cast<int>(e), past_category()};
}

using post::make_error;

}  // namespace post::past

template <>
struct std::is_error_code_enum<post::past::PastErrc> : std::true_type {};
