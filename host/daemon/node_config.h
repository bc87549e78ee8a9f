// NodeConfig: what `postd --config node.yaml` is told, read and checked in one place. Every
// key is documented in config/node.example.yaml; a mistake anywhere (unknown key, missing
// key, bad value) fails the whole load with an error naming the file, line and key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/core/config.h"
#include "host/core/result.h"
#include "host/net/address.h"
#include "host/net/clock.h"
#include "host/past/past_config.h"
#include "host/pastry/pastry_config.h"
#include "host/scribe/scribe_config.h"

namespace post::daemon {

// Key, certificate and CA certificate files of this node (issued by post-ca).
struct IdentityFiles {
  std::filesystem::path key;
  std::filesystem::path certificate;
  std::filesystem::path ca_certificate;

  friend bool operator==(const IdentityFiles&, const IdentityFiles&) = default;
};

struct LogConfig {
  std::string level = "info";                 // trace, debug, info, warn, error, critical or off
  std::optional<std::filesystem::path> file;  // also log here (appending); stderr always

  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct TransportConfig {
  static constexpr std::size_t kDefaultSendQueueBytes = std::size_t{16} << 20;
  // The bounds keep one slow peer from holding more than a fraction of a desktop's memory,
  // while still fitting several maximum-size frames.
  static constexpr std::size_t kMinSendQueueBytes = std::size_t{64} << 10;
  static constexpr std::size_t kMaxSendQueueBytes = std::size_t{1} << 30;

  // Bytes queued towards one peer before sends to it are refused.
  std::size_t send_queue_bytes = kDefaultSendQueueBytes;
  net::Duration handshake_timeout = std::chrono::seconds(10);
  net::Duration connect_timeout = std::chrono::seconds(5);
  // A link idle this long is closed; zero keeps idle links open.
  net::Duration idle_timeout = net::Duration::zero();

  friend bool operator==(const TransportConfig&, const TransportConfig&) = default;
};

// A user this node serves: a directory made by `post-ca issue-user` (user.key, user.cert,
// ca.cert, user.block), checked when postd starts (host/daemon/local_users.h).
struct UserEntry {
  std::filesystem::path dir;
  // The hash-cash puzzle senders of notifications to this user must solve (0: none).
  std::uint32_t puzzle_bits = 0;
  // The file holding the passphrase of a protected user.key (post-ca issue-user
  // --passphrase-file); empty: the key file is not protected.
  std::filesystem::path passphrase_file;

  friend bool operator==(const UserEntry&, const UserEntry&) = default;
};

// The tunable part of services::NotificationServiceConfig (host/post/notification_service.h);
// the defaults are the service's.
struct NotificationsConfig {
  int delegates = 3;
  net::Duration deliver_timeout = std::chrono::seconds(10);
  net::Duration delegate_timeout = std::chrono::seconds(10);
  net::Duration recheck_interval = std::chrono::seconds(60);
  net::Duration hold_for = std::chrono::hours(24 * 30);
  std::size_t max_held = 100000;

  friend bool operator==(const NotificationsConfig&, const NotificationsConfig&) = default;
};

// services::PresenceConfig: how often a served user's presence is announced.
struct PresenceSettings {
  net::Duration interval = std::chrono::seconds(60);

  friend bool operator==(const PresenceSettings&, const PresenceSettings&) = default;
};

// One entry of node.yaml's plugins: list (host/plugin/plugin_manager.h loads it).
struct PluginEntry {
  std::string name;                    // unique in the node; also the plugin's metrics prefix
  std::filesystem::path path;          // the shared object, inside one of plugin_dirs
  bool enabled = true;                 // false: configured but not loaded
  std::optional<config::Node> config;  // the plugin's own `config:` map, handed to it as is
  std::string location;                // "node.yaml:31:5", for messages about the entry

  // Equal when name, path, enabled and the config's YAML text are (location aside).
  friend bool operator==(const PluginEntry& a, const PluginEntry& b);
};

// The defaults of node.yaml's plugin_watch.
struct PluginWatchConfig {
  // Reload a plugin when its file changes, and apply edits of the plugins: list of the
  // configuration file, as they happen (inotify).
  bool enabled = true;
  // Changes are applied once the files have been quiet this long (a copy writes in chunks).
  net::Duration debounce = std::chrono::milliseconds(500);

  friend bool operator==(const PluginWatchConfig&, const PluginWatchConfig&) = default;
};

using past::PastConfig;
using pastry::PastryConfig;
using scribe::ScribeConfig;

struct NodeConfig {
  IdentityFiles identity;
  net::Address listen;
  // The address other nodes are told to use: `listen` unless set.
  net::Address advertise;
  // Nodes to join through; empty starts a new ring.
  std::vector<net::Address> bootstrap;
  std::filesystem::path data_dir;
  std::optional<net::Address> admin;
  LogConfig log;
  TransportConfig transport;
  PastryConfig pastry;
  PastConfig past;
  ScribeConfig scribe;
  std::vector<UserEntry> users;
  NotificationsConfig notifications;
  PresenceSettings presence;
  // Directories plugins may be loaded from (resolved: symlinks and ".." removed).
  std::vector<std::filesystem::path> plugin_dirs;
  PluginWatchConfig plugin_watch;
  std::vector<PluginEntry> plugins;
  // The file this was read from (load_node_config); empty for parse_node_config.
  std::filesystem::path source;

  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

// Reads and checks the node configuration in the YAML file at `path`. Relative file and
// directory paths in it resolve against the file's directory. Refuses unknown keys,
// missing required keys, values of the wrong type or out of range, and an unspecified
// advertise address when listening on a wildcard address, and a plugin whose file does not
// exist or lies outside plugin_dirs; the error names the file, the line and the key path (the
// CoreErrc::kConfig* codes, or kIoError for an unreadable file).
Result<NodeConfig> load_node_config(const std::filesystem::path& path);

// As load_node_config, for YAML text in memory: `name` stands for the file name in errors,
// and relative paths resolve against `base_dir` (left relative when it is empty).
Result<NodeConfig> parse_node_config(std::string_view yaml, std::string_view name,
                                     const std::filesystem::path& base_dir);

}  // namespace post::daemon
