#include "host/plugin/host_services.h"

#include <fmt/format.h>

namespace post::plugin {
namespace {

class ServiceCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "plugin-service"; }
  std::string message(int value) const override {
    switch (static_cast<ServiceErrc>(value)) {
      case ServiceErrc::kInvalidArgument: return "invalid argument";
      case ServiceErrc::kNotFound: return "not found";
      case ServiceErrc::kUnavailable: return "not available here";
      case ServiceErrc::kIoError: return "storage failure";
      case ServiceErrc::kTooLarge: return "over a limit";
      case ServiceErrc::kFailed: return "failed";
    }
    return "unknown service error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& service_category() {
  static const ServiceCategory category;
  return category;
}

std::string scoped_name(std::string_view plugin, std::string_view name) {
  std::string out = "plugin/";
  out.append(plugin);
  out += '/';
  out.append(name);
  return out;
}

Status check_scope_name(std::string_view plugin) {
  auto refuse = [&](std::string_view why) {
    return make_error(
        ServiceErrc::kInvalidArgument,
        fmt::format("the plugin name '{}' cannot scope POST services: {}", plugin, why));
  };
  if (plugin.empty()) return refuse("it is empty");
  if (plugin.size() > kMaxServiceScopeBytes) {
    return refuse(fmt::format("{} bytes > {} byte limit", plugin.size(), kMaxServiceScopeBytes));
  }
  for (char c : plugin) {
    if (c == '/') return refuse("it holds a '/'");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return refuse("it holds a control character");
    }
  }
  return ok_status();
}

}  // namespace post::plugin
