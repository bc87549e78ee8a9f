#include "host/net/errors.h"

#include <string>

namespace post::net {
namespace {

class NetCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "net"; }
  std::string message(int value) const override {
    switch (static_cast<NetErrc>(value)) {
      case NetErrc::kBadAddress: return "bad address";
      case NetErrc::kTooLarge: return "message too large";
      case NetErrc::kQueueFull: return "send queue full";
      case NetErrc::kTimeout: return "timed out";
      case NetErrc::kUnreachable: return "peer unreachable";
      case NetErrc::kHandshakeFailed: return "link handshake failed";
      case NetErrc::kClosed: return "link closed";
      case NetErrc::kProtocolViolation: return "protocol violation";
    }
    return "unknown net error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& net_category() {
  static const NetCategory category;
  return category;
}

}  // namespace post::net
