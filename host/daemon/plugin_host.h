// PluginHost: the node's plugins as node.yaml configures them (plugin_dirs, plugin_watch,
// plugins:), on top of plugin::PluginManager. It loads the enabled entries when the node
// starts, keeps what it could not load (and why) for `postctl plugins`, and serves `postctl
// reload / enable / disable`. With plugin_watch on it also follows the files: a plugin whose
// shared object changes is reloaded (an entry that was refused is tried again), and an edit
// of the configuration file's plugin list is applied entry by entry: new entries are loaded,
// removed or disabled ones unloaded, changed ones reloaded with their new path and config. A
// configuration that does not load is reported (file, line, key) and changes nothing.
//
// A failure never stops the node or touches the other plugins: a plugin that cannot be
// loaded is reported, and one whose reload fails keeps its old version serving.
//
// `enable` and `disable` change the running node only; the configuration file is the
// operator's, and an entry keeps its runtime state until the file changes that entry.
//
// Threading: every method runs on the node's executor (the io_context's thread), or before
// it runs.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "host/core/result.h"
#include "host/daemon/file_watcher.h"
#include "host/daemon/node_config.h"
#include "host/plugin/plugin_manager.h"

namespace post::daemon {

struct PluginStatus {
  std::string name;
  std::filesystem::path path;
  bool enabled = true;                     // loaded (or meant to be) in the running node
  std::optional<plugin::PluginInfo> info;  // while loaded
  std::string error;  // why an enabled plugin is not loaded, or of its last failed reload
};

class PluginHost {
 public:
  // `config` is the node's configuration; its source file is what the watcher follows.
  PluginHost(boost::asio::io_context& io, const NodeConfig& config,
             plugin::PluginManagerOptions options);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads every enabled plugin and, with plugin_watch on, starts following the files.
  // Failures are logged and kept for status(); they do not fail the call, which fails only
  // when the watcher cannot start.
  Status start();

  // Every configured plugin, in configuration order.
  std::vector<PluginStatus> status() const;
  // The error of the last configuration file that did not load (empty once one does).
  const std::string& config_error() const { return config_error_; }

  // Loads the plugin's file afresh (same path, same config) and hands over its state; a
  // disabled plugin is refused, one that is enabled but was refused is loaded.
  Status reload(const std::string& name);
  Status enable(const std::string& name);
  Status disable(const std::string& name);

  // Re-reads the configuration file and applies its plugin list (see the top).
  Status reload_config();

  plugin::PluginManager& manager() { return *manager_; }

 private:
  struct Entry {
    PluginEntry config;
    bool enabled = true;
    std::string error;
  };

  Entry* find(const std::string& name);
  plugin::PluginSpec spec(const Entry& entry) const;
  // Loads `entry` when it is enabled and not loaded; records the outcome.
  Status load(Entry& entry);
  Status unload(Entry& entry);
  // Reloads a loaded entry with its (possibly new) path and config; loads it when it is not.
  Status refresh(Entry& entry);
  void apply(const NodeConfig& fresh);
  void on_files_changed(const std::set<std::filesystem::path>& changed);
  void rewatch();

  boost::asio::io_context& io_;
  NodeConfig config_;  // as last loaded, for telling what an edit changed
  std::unique_ptr<plugin::PluginManager> manager_;
  std::vector<Entry> entries_;
  std::unique_ptr<FileWatcher> watcher_;
  std::string config_error_;
  std::set<std::string> applied_;  // entries the last apply() loaded or reloaded
};

}  // namespace post::daemon
