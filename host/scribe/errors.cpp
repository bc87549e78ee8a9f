#include "host/scribe/errors.h"

#include <string>

namespace post::scribe {
namespace {

class ScribeCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "scribe"; }
  std::string message(int value) const override {
    switch (static_cast<ScribeErrc>(value)) {
      case ScribeErrc::kNoMemberAccepted: return "no member of the group accepted the anycast";
      case ScribeErrc::kTimeout: return "timed out waiting for an answer";
    }
    return "unknown scribe error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& scribe_category() {
  static const ScribeCategory category;
  return category;
}

}  // namespace post::scribe
