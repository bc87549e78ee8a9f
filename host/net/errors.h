// Error codes of host/net.
#pragma once

#include <system_error>

#include "host/core/errors.h"

namespace post::net {

enum class NetErrc {
  kBadAddress = 1,
  kTooLarge,
  kQueueFull,
  kTimeout,
  kUnreachable,
  kHandshakeFailed,
  kClosed,
  kProtocolViolation,
};

const std::error_category& net_category();

inline std::error_code make_error_code(NetErrc e) {
  return {static_cast<int>(e), net_category()};
}

using post::make_error;

}  // namespace post::net

template <>
struct std::is_error_code_enum<post::net::NetErrc> : std::true_type {};
