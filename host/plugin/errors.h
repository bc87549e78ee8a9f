// Error codes of host/plugin: loading, checking, starting and reloading plugins, and the
// plugin key-value store.
#pragma once

#include <system_error>

#include "host/core/errors.h"

namespace post::plugin {

// Never renumber; add new codes at the end.
enum class PluginErrc {
  kNotFound = 1,        // no file at the plugin's path
  kOutsideDirs,         // the path is not inside a configured plugin directory
  kLoadFailed,          // the dynamic loader refused the file
  kMissingEntry,        // the file does not export post_plugin_entry_v1
  kAbiMismatch,         // built for another ABI major version, or structs too small
  kBadDescriptor,       // a descriptor or vtable with missing members
  kInitFailed,          // the plugin's init() failed
  kStartFailed,         // start() failed
  kDrainFailed,         // drain() failed
  kExportFailed,        // export_state() failed
  kImportFailed,        // import_state() failed
  kAlreadyLoaded,       // a plugin of that name is loaded already
  kNotLoaded,           // no plugin of that name is loaded
  kIoError,             // copying the file, or the key-value store's disk
  kResumeFailed,        // a reload failed and the old version did not start again
  kNoCommandHandler,    // an admin command for a plugin that registered no handler
  kBadCommand,          // an admin command over a bound (arguments, their size)
  kCommandNotAnswered,  // the plugin did not answer in time, or stopped first
};

const std::error_category& plugin_category();

inline std::error_code make_error_code(PluginErrc e) {
  return {static_cast<int>(e), plugin_category()};
}

using post::make_error;

}  // namespace post::plugin

template <>
struct std::is_error_code_enum<post::plugin::PluginErrc> : std::true_type {};
