#include "host/past/errors.h"

namespace post::past {
namespace {

class PastCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "past"; }
  std::string message(int value) const override {
    switch (static_cast<PastErrc>(value)) {
      case PastErrc::kMalformedBlock: return "malformed block";
      case PastErrc::kWrongHandle: return "block does not match its handle";
      case PastErrc::kBadSignature: return "block signature does not verify";
      case PastErrc::kStaleTimestamp: return "block is not newer than the stored version";
      case PastErrc::kImmutable: return "an immutable block is already stored under this handle";
      case PastErrc::kKindConflict: return "a block of another kind is stored under this handle";
      case PastErrc::kTooLarge: return "block larger than the size limit";
      case PastErrc::kUnknownKind: return "block of a kind this version does not know";
      case PastErrc::kQuotaExceeded: return "storage quota exceeded";
      case PastErrc::kNotFound: return "block not found";
      case PastErrc::kStorageFailure: return "block storage failure";
      case PastErrc::kReplicasUnavailable: return "not enough replicas reachable";
      case PastErrc::kTimeout: return "timed out waiting for an answer";
      case PastErrc::kMalformedMessage: return "malformed PAST message";
    }
    return "unknown past error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& past_category() {
  static const PastCategory category;
  return category;
}

}  // namespace post::past
