// PluginLibrary: one loaded copy of a plugin's shared object, with its checked descriptor.
//
// The file is first copied to a fresh, unique path in the runtime directory and that copy
// is loaded (RTLD_NOW | RTLD_LOCAL) and then unlinked, so a rebuilt plugin at the same path
// is never mistaken for the image the dynamic loader already holds (dlopen deduplicates by
// path and inode), and overwriting the original never touches mapped code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "host/core/result.h"
#include "post/sdk.h"

namespace post::plugin {

class PluginLibrary {
 public:
  // Loads the plugin at `path` for the plugin slot `slot_name` (used in messages), copying it
  // into `runtime_dir` first. Refuses (PluginErrc, each message naming the slot, the file and
  // the reason): a missing file (kNotFound), a file the loader rejects (kLoadFailed, with the
  // loader's message), no post_plugin_entry_v1 (kMissingEntry), an entry that returns no
  // descriptor or a descriptor of another ABI major version (kAbiMismatch), and a descriptor
  // or vtable smaller than ABI 1.0's or with a null member (kBadDescriptor).
  static Result<std::unique_ptr<PluginLibrary>> open(const std::string& slot_name,
                                                     const std::filesystem::path& path,
                                                     const std::filesystem::path& runtime_dir);

  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;
  // Unloads the image; every instance created from it must be destroyed first.
  ~PluginLibrary() = default;

  // What the descriptor says, copied.
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  std::uint16_t abi_major() const { return abi_major_; }
  std::uint16_t abi_minor() const { return abi_minor_; }
  // The plugin's vtable, copied; members past its struct_size are null.
  const post_plugin_vtable& vtable() const { return vtable_; }
  const std::filesystem::path& source_path() const { return source_path_; }

 private:
  PluginLibrary() = default;

  boost::dll::shared_library library_;
  std::filesystem::path source_path_;
  std::string name_;
  std::string version_;
  std::uint16_t abi_major_ = 0;
  std::uint16_t abi_minor_ = 0;
  post_plugin_vtable vtable_{};
};

}  // namespace post::plugin
