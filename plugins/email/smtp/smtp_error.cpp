#include "plugins/email/smtp/smtp_error.h"

namespace post::email {
namespace {

class SmtpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "smtp"; }
  std::string message(int value) const override {
    switch (static_cast<SmtpErrc>(value)) {
      case SmtpErrc::kPathSyntax: return "bad path syntax";
      case SmtpErrc::kLocalPartSyntax: return "bad local part";
      case SmtpErrc::kDomainSyntax: return "bad domain";
      case SmtpErrc::kAddressLiteralSyntax: return "bad address literal";
      case SmtpErrc::kPathTooLong: return "path too long";
      case SmtpErrc::kBadUtf8: return "malformed UTF-8";
      case SmtpErrc::kParameterSyntax: return "bad parameter syntax";
      case SmtpErrc::kUnknownParameter: return "unsupported parameter";
      case SmtpErrc::kDuplicateParameter: return "duplicate parameter";
      case SmtpErrc::kBadParameterValue: return "bad parameter value";
      case SmtpErrc::kBadBase64: return "malformed base64";
      case SmtpErrc::kBadSaslResponse: return "malformed SASL response";
    }
    return "unknown smtp error";
  }
};

}  // namespace

const std::error_category& smtp_category() {
  static const SmtpCategory category;
  return category;
}

}  // namespace post::email
