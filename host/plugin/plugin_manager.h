// PluginManager: the plugins of one node. Loads each plugin (a PluginLibrary) into a named
// slot, gives each instance the host API table (post/sdk.h), and reloads a slot live:
//
//   1. load the new version beside the old one and check it; init() it;
//   2. the old one drains (stops taking work; connections accepted meanwhile wait in the
//      host) and exports its state;
//   3. the new one imports that state and starts, and is handed the waiting connections;
//   4. the old one is stopped, destroyed and unloaded.
//
// If a step fails, the new version is stopped and destroyed, the old one is started again
// (or keeps running) and the error says which step failed and why. Listening sockets belong
// to the slot, not to an instance, so no connection is refused during a reload.
//
// Threading: the manager's methods run on the executor's thread (or while the io_context is
// not running); they call into plugins synchronously. Host functions may be called by
// plugins from any thread; the work is posted to the executor, and every callback into a
// plugin runs there.
//
// POST services (options.services): each instance's Scribe subscriptions and notification
// registration belong to that instance and end when it stops. While the slot's serving
// instance has them, messages and notifications go to it; during a reload the new version's
// registrations (made in its init) take over from the old one's without the node leaving the
// Scribe tree. An instance that is not serving (not started yet, or its slot failed) gets no
// message or notification; notifications meanwhile wait in the services
// (host/daemon/plugin_services.h). Completions of service calls reach an instance only while
// it lives.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "host/core/config.h"
#include "host/core/result.h"
#include "host/plugin/host_services.h"
#include "host/plugin/key_value_store.h"
#include "host/plugin/plugin_metrics.h"

namespace post::plugin {

// Exported state larger than this is refused: a plugin's hand-over state is counters and
// small tables, not data (which belongs in its key-value namespace or the secure store).
inline constexpr std::size_t kMaxStateBytes = 64 << 20;

// Admin commands (post/sdk.h, admin_register; ABI 1.1): at most kMaxAdminArgs arguments of at
// most kMaxAdminArgBytes each (an operator's words, not data), and answers of at most
// kMaxAdminReplyBytes (well inside an admin frame). The SDK names the same bounds.
inline constexpr std::size_t kMaxAdminArgs = 64;
inline constexpr std::size_t kMaxAdminArgBytes = 4096;
inline constexpr std::size_t kMaxAdminReplyBytes = 1024 * 1024;
// How long a plugin has to answer an admin command before the host answers it with an error.
inline constexpr std::chrono::milliseconds kDefaultAdminTimeout{30000};

// A plugin's answer to an admin command.
struct AdminAnswer {
  std::int32_t status = 0;  // POST_OK (0) or the POST_ERR_* code the plugin answered with
  std::string text;
};

struct PluginSpec {
  std::string name;                    // the slot's name, unique in the node
  std::filesystem::path path;          // the shared object
  std::optional<config::Node> config;  // the plugin's own config map; none is an empty map
};

enum class PluginState {
  kServing,  // started and handed its work
  kFailed,   // a reload failed and the old version did not start again
};

struct PluginInfo {
  std::string name;         // the slot
  std::string plugin_name;  // what the plugin's descriptor calls itself
  std::string version;
  std::filesystem::path path;
  PluginState state = PluginState::kServing;
  std::chrono::system_clock::time_point loaded_at;  // when the serving version started
  std::uint64_t reloads = 0;                        // successful reloads since load
  std::string last_error;                           // of the last failed reload, if any
};

struct PluginManagerOptions {
  // A plugin's path must lie inside one of these (after resolving symlinks and "..").
  std::vector<std::filesystem::path> plugin_dirs;
  // Where loaded copies of plugin files are made (each is removed once loaded).
  std::filesystem::path runtime_dir;
  // Each plugin's key-value namespace; when empty, kv_* answer POST_ERR_UNAVAILABLE.
  KeyValueStoreFactory kv_stores;
  // The POST services plugins use (store_*, log_*, notify_*, scribe_*): not owned, and must
  // outlive the manager. When null, those host functions answer POST_ERR_UNAVAILABLE.
  HostServices* services = nullptr;
  // An admin command the plugin has not answered after this long is answered with an error.
  std::chrono::milliseconds admin_timeout = kDefaultAdminTimeout;
};

class PluginManager {
 public:
  PluginManager(boost::asio::io_context& io, PluginManagerOptions options);
  // Stops and unloads every plugin and closes their listening sockets.
  ~PluginManager();
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  // Loads, inits and starts the plugin `spec` describes in a new slot. Refuses a name in
  // use (kAlreadyLoaded), a path outside the plugin directories (kOutsideDirs), and every
  // refusal of PluginLibrary::open, a failing init (kInitFailed) or start (kStartFailed);
  // messages name the plugin and the reason. Other slots are never affected.
  Status load(const PluginSpec& spec);

  // Replaces the version in slot `spec.name` with the file at `spec.path` and config
  // `spec.config`, handing the old instance's state to the new one (see the top of this
  // file). The file is loaded afresh even at the same path. Refuses an unknown slot
  // (kNotLoaded) and every refusal of load(); a failure of drain, export, import or start
  // (kDrainFailed, ...) leaves the old version serving; if the old version then fails to
  // start again, the slot is kFailed and the error is kResumeFailed.
  Status reload(const PluginSpec& spec);
  // As reload(spec) with the slot's current path and config.
  Status reload(const std::string& name);

  // Stops, destroys and unloads the plugin in slot `name` and closes its sockets.
  Status unload(const std::string& name);

  // Hands `args` to the admin command handler (admin_register) of the instance serving slot
  // `name`. `done` runs once, on the executor, possibly before this returns: with the
  // plugin's answer, or an error: kNotLoaded (no such slot, or it is not serving),
  // kNoCommandHandler (the instance registered none), kBadCommand (more than kMaxAdminArgs
  // arguments, one over kMaxAdminArgBytes or holding a NUL), kCommandNotAnswered (no answer
  // within options.admin_timeout, or the instance stopped first: a reload or an unload).
  // Executor only.
  void admin_command(const std::string& name, std::vector<std::string> args,
                     std::function<void(Result<AdminAnswer>)> done);

  std::vector<PluginInfo> plugins() const;
  std::optional<PluginInfo> find(const std::string& name) const;

  // The metrics plugins report, as "<slot>.<name>".
  const PluginMetrics& metrics() const { return metrics_; }

  // Opaque to users of the manager; defined in plugin_manager.cpp.
  struct SlotShared;
  class Instance;
  class ServiceHub;

 private:
  struct Slot;

  Status check_path(const PluginSpec& spec) const;
  Result<std::shared_ptr<Instance>> create_instance(Slot& slot, const PluginSpec& spec);
  Status start_instance(Slot& slot, const std::shared_ptr<Instance>& instance);
  void destroy_instance(Slot& slot, const std::shared_ptr<Instance>& instance);
  // After a failed reload step: destroys `fresh` and starts the old instance again.
  Error abandon_reload(Slot& slot, const std::shared_ptr<Instance>& fresh, Error why);

  boost::asio::io_context& io_;
  PluginManagerOptions options_;
  PluginMetrics metrics_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
  std::shared_ptr<ServiceHub> hub_;  // the instances' registrations with options_.services
};

const char* to_string(PluginState state);

}  // namespace post::plugin
