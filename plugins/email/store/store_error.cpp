#include "plugins/email/store/store_error.h"

namespace post::email::store {
namespace {

class StoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "email-store"; }
  std::string message(int value) const override {
    switch (static_cast<StoreErrc>(value)) {
      case StoreErrc::kTruncated: return "truncated record";
      case StoreErrc::kBadMagic: return "not a mail store record";
      case StoreErrc::kUnsupportedVersion: return "unsupported format version";
      case StoreErrc::kUnknownKind: return "unknown record kind";
      case StoreErrc::kWrongKind: return "record kind not valid here";
      case StoreErrc::kBadVarint: return "malformed varint";
      case StoreErrc::kTooLarge: return "over a size limit";
      case StoreErrc::kBadValue: return "field value out of range";
      case StoreErrc::kBadName: return "bad folder name";
      case StoreErrc::kBadKeyword: return "bad keyword";
      case StoreErrc::kBadUidSet: return "bad UID set";
      case StoreErrc::kOutOfOrder: return "log index out of order";
      case StoreErrc::kNotForThisLog: return "record belongs to another log";
      case StoreErrc::kUidsExhausted: return "no UIDs left in this folder";
      case StoreErrc::kNoSuchFolder: return "no such folder";
      case StoreErrc::kFolderExists: return "folder exists";
      case StoreErrc::kStaleUidValidity: return "UIDVALIDITY not above those used before";
      case StoreErrc::kInboxIsPermanent: return "INBOX cannot be deleted";
      case StoreErrc::kNoSuchMessage: return "no such message";
    }
    return "unknown email-store error";
  }
};

}  // namespace

const std::error_category& store_category() {
  static const StoreCategory category;
  return category;
}

}  // namespace post::email::store
