#include "host/core/errors.h"

namespace post {
namespace {

class CoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "core"; }
  std::string message(int value) const override {
    switch (static_cast<CoreErrc>(value)) {
      case CoreErrc::kBadHex: return "bad hex text";
      case CoreErrc::kBadLength: return "bad length";
      case CoreErrc::kBadKey: return "bad key";
      case CoreErrc::kBadSignature: return "bad signature";
      case CoreErrc::kDecryptFailed: return "decryption failed";
      case CoreErrc::kCryptoFailure: return "crypto library failure";
      case CoreErrc::kFrameTooLarge: return "frame too large";
      case CoreErrc::kFrameTruncated: return "frame truncated";
      case CoreErrc::kBadFrameVersion: return "unsupported frame version";
      case CoreErrc::kDecodeFailed: return "message decoding failed";
      case CoreErrc::kConfigSyntax: return "config syntax error";
      case CoreErrc::kConfigMissingKey: return "missing config key";
      case CoreErrc::kConfigBadValue: return "bad config value";
      case CoreErrc::kConfigUnknownKey: return "unknown config key";
      case CoreErrc::kIoError: return "i/o error";
      case CoreErrc::kBadCertificate: return "bad certificate";
      case CoreErrc::kCertificateExpired: return "certificate expired or not yet valid";
      case CoreErrc::kWrongCa: return "certificate not signed by the configured CA";
    }
    return "unknown core error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& core_category() {
  static const CoreCategory category;
  return category;
}

}  // namespace post
