#include "host/plugin/errors.h"

#include <string>

namespace post::plugin {
namespace {

class PluginCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "plugin"; }
  std::string message(int value) const override {
    switch (static_cast<PluginErrc>(value)) {
      case PluginErrc::kNotFound: return "plugin file not found";
      case PluginErrc::kOutsideDirs: return "plugin path outside the plugin directories";
      case PluginErrc::kLoadFailed: return "plugin file could not be loaded";
      case PluginErrc::kMissingEntry: return "plugin entry symbol missing";
      case PluginErrc::kAbiMismatch: return "plugin built for another ABI";
      case PluginErrc::kBadDescriptor: return "invalid plugin descriptor";
      case PluginErrc::kInitFailed: return "plugin init failed";
      case PluginErrc::kStartFailed: return "plugin start failed";
      case PluginErrc::kDrainFailed: return "plugin drain failed";
      case PluginErrc::kExportFailed: return "plugin state export failed";
      case PluginErrc::kImportFailed: return "plugin state import failed";
      case PluginErrc::kAlreadyLoaded: return "plugin already loaded";
      case PluginErrc::kNotLoaded: return "plugin not loaded";
      case PluginErrc::kIoError: return "plugin I/O error";
      case PluginErrc::kResumeFailed: return "old plugin version did not resume";
      case PluginErrc::kNoCommandHandler: return "plugin takes no admin commands";
      case PluginErrc::kBadCommand: return "admin command over a bound";
      case PluginErrc::kCommandNotAnswered: return "plugin did not answer the admin command";
    }
    return "unknown plugin error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& plugin_category() {
  static const PluginCategory category;
  return category;
}

}  // namespace post::plugin
