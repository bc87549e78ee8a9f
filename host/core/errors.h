// Error codes of host/core, and the helper that builds an Error from any module's enum.
#pragma once

#include <string>
#include <system_error>

#include "host/core/result.h"

namespace post {

enum class CoreErrc {
  kBadHex = 1,
  kBadLength,
  kBadKey,
  kBadSignature,
  kDecryptFailed,
  kCryptoFailure,
  kFrameTooLarge,
  kFrameTruncated,
  kBadFrameVersion,
  kDecodeFailed,
  kConfigSyntax,
  kConfigMissingKey,
  kConfigBadValue,
  kConfigUnknownKey,
  kIoError,
  kBadCertificate,
  kCertificateExpired,
  kWrongCa,
};

const std::error_category& core_category();

inline std::error_code make_error_code(CoreErrc e) {
  return {static_cast<int>(e), core_category()};
}

// Builds an Error from any error enum that has a make_error_code overload.
template <class Enum>
Error make_error(Enum e, std::string message) {
  return Error{make_error_code(e), std::move(message)};
}

}  // namespace post

template <>
struct std::is_error_code_enum<post::CoreErrc> : std::true_type {};
