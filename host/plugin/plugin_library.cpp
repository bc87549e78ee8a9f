#include "host/plugin/plugin_library.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "host/plugin/errors.h"

namespace post::plugin {
namespace {

namespace fs = std::filesystem;

// The end of the last member of `T` that ABI 1.0 defines: the smallest struct_size the host
// accepts.
constexpr std::size_t kMinDescriptorSize =
    offsetof(post_plugin_descriptor, vtable) + sizeof(post_plugin_descriptor::vtable);
constexpr std::size_t kMinVtableSize =
    offsetof(post_plugin_vtable, destroy) + sizeof(post_plugin_vtable::destroy);

// The dynamic loader's message for `path`. Boost.DLL clears dlerror(), so ask once more.
std::string loader_message(const fs::path& path) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    dlclose(handle);
    return "unknown loader error";
  }
  const char* message = dlerror();
  return message != nullptr ? message : "unknown loader error";
}

// A path in `runtime_dir` that no earlier load of this process used.
fs::path unique_copy_path(const fs::path& runtime_dir, const std::string& slot_name) {
  static std::atomic<std::uint64_t> generation{0};
  return runtime_dir / fmt::format("{}.{}.{}.so", slot_name, ::getpid(), ++generation);
}

}  // namespace

Result<std::unique_ptr<PluginLibrary>> PluginLibrary::open(const std::string& slot_name,
                                                           const fs::path& path,
                                                           const fs::path& runtime_dir) {
  auto refuse = [&](PluginErrc code, const std::string& reason) {
    return make_error(code, fmt::format("plugin '{}' ({}): {}", slot_name, path.string(), reason));
  };
  std::error_code ec;
  if (!fs::exists(path, ec)) return refuse(PluginErrc::kNotFound, "no such file");
  if (!fs::is_regular_file(path, ec)) return refuse(PluginErrc::kNotFound, "not a regular file");
  fs::create_directories(runtime_dir, ec);
  if (ec) {
    return refuse(PluginErrc::kIoError, fmt::format("cannot create runtime directory {}: {}",
                                                    runtime_dir.string(), ec.message()));
  }
  fs::path copy = unique_copy_path(runtime_dir, slot_name);
  fs::copy_file(path, copy, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return refuse(PluginErrc::kIoError,
                  fmt::format("cannot copy to {}: {}", copy.string(), ec.message()));
  }

  std::unique_ptr<PluginLibrary> lib(new PluginLibrary);
  lib->source_path_ = path;
  boost::dll::fs::error_code load_ec;
  lib->library_.load(copy, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                     load_ec);
  std::string load_failure;
  if (load_ec) {
    // The loader names the copy; the operator knows the original.
    load_failure = loader_message(copy);
    for (std::size_t at; (at = load_failure.find(copy.string())) != std::string::npos;) {
      load_failure.replace(at, copy.string().size(), path.string());
    }
  }
  fs::remove(copy, ec);  // the mapping stays; nothing is left to clean up
  if (load_ec) return refuse(PluginErrc::kLoadFailed, load_failure);

  if (!lib->library_.has(POST_PLUGIN_ENTRY_SYMBOL)) {
    return refuse(PluginErrc::kMissingEntry,
                  "does not export " POST_PLUGIN_ENTRY_SYMBOL " (is it a POST plugin?)");
  }
  auto& entry =
      lib->library_.get<std::remove_pointer_t<post_plugin_entry_fn>>(POST_PLUGIN_ENTRY_SYMBOL);
  const post_plugin_descriptor* d = entry(POST_ABI_MAJOR, POST_ABI_MINOR);
  if (d == nullptr) {
    return refuse(PluginErrc::kAbiMismatch,
                  fmt::format("the plugin does not support plugin ABI {}.{} of this host",
                              POST_ABI_MAJOR, POST_ABI_MINOR));
  }
  if (d->struct_size < kMinDescriptorSize) {
    return refuse(PluginErrc::kBadDescriptor,
                  fmt::format("descriptor of {} bytes, ABI 1.0 needs at least {}", d->struct_size,
                              kMinDescriptorSize));
  }
  if (d->abi_major != POST_ABI_MAJOR) {
    return refuse(PluginErrc::kAbiMismatch,
                  fmt::format("built for plugin ABI {}.{}, this host speaks {}.{}", d->abi_major,
                              d->abi_minor, POST_ABI_MAJOR, POST_ABI_MINOR));
  }
  if (d->name == nullptr || d->version == nullptr || d->vtable == nullptr) {
    return refuse(PluginErrc::kBadDescriptor, "descriptor without name, version or vtable");
  }
  const post_plugin_vtable* v = d->vtable;
  if (v->struct_size < kMinVtableSize) {
    return refuse(PluginErrc::kBadDescriptor,
                  fmt::format("vtable of {} bytes, ABI 1.0 needs at least {}", v->struct_size,
                              kMinVtableSize));
  }
  std::memcpy(&lib->vtable_, v, std::min<std::size_t>(v->struct_size, sizeof(lib->vtable_)));
  const post_plugin_vtable& t = lib->vtable_;
  if (t.init == nullptr || t.start == nullptr || t.drain == nullptr || t.stop == nullptr ||
      t.export_state == nullptr || t.import_state == nullptr || t.destroy == nullptr) {
    return refuse(PluginErrc::kBadDescriptor, "vtable with a null function");
  }
  lib->name_ = d->name;
  lib->version_ = d->version;
  lib->abi_major_ = d->abi_major;
  lib->abi_minor_ = d->abi_minor;
  return lib;
}

}  // namespace post::plugin
