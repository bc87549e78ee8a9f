#include "plugins/email/mime/mime_error.h"

namespace post::email {
namespace {

class MimeCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mime"; }
  std::string message(int value) const override {
    switch (static_cast<MimeErrc>(value)) {
      case MimeErrc::kNotAMessage: return "not an RFC 5322 message";
      case MimeErrc::kMessageTooLarge: return "message too large";
      case MimeErrc::kHeaderTooLarge: return "header block too large";
      case MimeErrc::kLayoutMismatch: return "bodies do not match the layout";
      case MimeErrc::kGMimeUnavailable: return "GMime unavailable";
    }
    return "unknown mime error";
  }
};

}  // namespace

const std::error_category& mime_category() {
  static const MimeCategory category;
  return category;
}

}  // namespace post::email
