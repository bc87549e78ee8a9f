#include "host/daemon/node_config.h"

#include <algorithm>
#include <array>
#include <utility>

#include "host/core/config.h"
#include "host/core/errors.h"
#include "host/post/account.h"

namespace post::daemon {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

// Timeouts below a millisecond only fire spuriously; above these bounds they no longer
// detect anything an operator would wait for.
constexpr net::Duration kMinTimeout = milliseconds(1);
constexpr net::Duration kMaxConnectTimeout = minutes(10);
constexpr net::Duration kMaxIdleTimeout = hours(24 * 7);

bool is_loopback(const net::Address& a) {
  if (a.is_v4()) return (a.v4_host_order() >> 24) == 127;
  std::array<std::uint8_t, 16> v6_loopback{};
  v6_loopback[15] = 1;
  return a.ip == v6_loopback;
}

bool is_wildcard(const net::Address& a) {
  return a.ip == decltype(a.ip){} || (a.is_v4() && a.v4_host_order() == 0);
}

Result<net::Address> parse_address(std::string_view text) {
  return net::Address::parse(text);
}

// An address other nodes can dial: not a wildcard, not port 0.
Result<net::Address> parse_dialable_address(std::string_view text) {
  POST_TRY_ASSIGN(net::Address address, net::Address::parse(text));
  if (is_wildcard(address) || address.port == 0) {
    return make_error(CoreErrc::kConfigBadValue,
                      "'" + std::string(text) + "' cannot be dialled by other nodes");
  }
  return address;
}

// A file or directory path; relative ones resolve against `base_dir`.
Result<std::filesystem::path> read_path(const config::Node& node, std::string_view key,
                                        const std::filesystem::path& base_dir) {
  POST_TRY_ASSIGN(std::string text, node.string(key));
  if (text.empty()) return node.bad_value(key, "expected a path, got an empty string");
  std::filesystem::path path(text);
  if (path.is_relative() && !base_dir.empty()) path = base_dir / path;
  return path;
}

Result<IdentityFiles> read_identity(const config::Node& root,
                                    const std::filesystem::path& base_dir) {
  POST_TRY_ASSIGN(config::Node node, root.child("identity"));
  POST_TRY(node.allow_only_keys({"key", "certificate", "ca_certificate"}));
  IdentityFiles identity;
  POST_TRY_ASSIGN(identity.key, read_path(node, "key", base_dir));
  POST_TRY_ASSIGN(identity.certificate, read_path(node, "certificate", base_dir));
  POST_TRY_ASSIGN(identity.ca_certificate, read_path(node, "ca_certificate", base_dir));
  return identity;
}

Result<LogConfig> read_log(const config::Node& root, const std::filesystem::path& base_dir) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("log"));
  POST_TRY(node.allow_only_keys({"level", "file"}));
  LogConfig log;
  POST_TRY_ASSIGN(
      log.level,
      node.choice_or("level", {"trace", "debug", "info", "warn", "error", "critical", "off"},
                     log.level));
  if (node.has("file")) {
    POST_TRY_ASSIGN(log.file, read_path(node, "file", base_dir));
  }
  return log;
}

Result<TransportConfig> read_transport(const config::Node& root) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("transport"));
  POST_TRY(node.allow_only_keys(
      {"send_queue_bytes", "handshake_timeout", "connect_timeout", "idle_timeout"}));
  TransportConfig t;
  POST_TRY_ASSIGN(std::int64_t queue,
                  node.integer_or("send_queue_bytes", TransportConfig::kMinSendQueueBytes,
                                  TransportConfig::kMaxSendQueueBytes, t.send_queue_bytes));
  t.send_queue_bytes = static_cast<std::size_t>(queue);
  POST_TRY_ASSIGN(t.handshake_timeout, node.duration_or("handshake_timeout", kMinTimeout,
                                                        kMaxConnectTimeout, t.handshake_timeout));
  POST_TRY_ASSIGN(t.connect_timeout, node.duration_or("connect_timeout", kMinTimeout,
                                                      kMaxConnectTimeout, t.connect_timeout));
  POST_TRY_ASSIGN(t.idle_timeout, node.duration_or("idle_timeout", net::Duration::zero(),
                                                   kMaxIdleTimeout, t.idle_timeout));
  return t;
}

Result<PastryConfig> read_pastry(const config::Node& root) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("pastry"));
  POST_TRY(node.allow_only_keys(
      {"digit_bits", "leaf_set_size", "proximity_neighbour_selection", "nearest_discovery_steps",
       "heartbeat_interval", "lease", "probe_attempts", "probe_backoff", "failed_retention",
       "route_ack_timeout", "join_timeout", "routing_maintenance_interval",
       "partition_probe_interval", "lookup_timeout"}));
  PastryConfig p;
  POST_TRY_ASSIGN(std::int64_t digit_bits, node.integer_or("digit_bits", 1, 8, p.digit_bits));
  POST_TRY_ASSIGN(std::int64_t leaf_set_size,
                  node.integer_or("leaf_set_size", 2, 128, p.leaf_set_size));
  if (leaf_set_size % 2 != 0) {
    return node.bad_value("leaf_set_size", "must be even (half the leaf set on each side), got " +
                                               std::to_string(leaf_set_size));
  }
  p.digit_bits = static_cast<int>(digit_bits);
  p.leaf_set_size = static_cast<int>(leaf_set_size);
  POST_TRY_ASSIGN(
      p.proximity_neighbour_selection,
      node.boolean_or("proximity_neighbour_selection", p.proximity_neighbour_selection));
  POST_TRY_ASSIGN(std::int64_t steps,
                  node.integer_or("nearest_discovery_steps", 0, 16, p.nearest_discovery_steps));
  p.nearest_discovery_steps = static_cast<int>(steps);
  constexpr net::Duration kMs = std::chrono::milliseconds(1);
  constexpr net::Duration kDay = std::chrono::hours(24);
  POST_TRY_ASSIGN(p.heartbeat_interval,
                  node.duration_or("heartbeat_interval", 10 * kMs, kDay, p.heartbeat_interval));
  POST_TRY_ASSIGN(p.lease, node.duration_or("lease", 10 * kMs, kDay, p.lease));
  if (p.lease <= p.heartbeat_interval) {
    return node.bad_value("lease", "must be longer than heartbeat_interval (" +
                                       config::format_duration(p.heartbeat_interval) +
                                       "), or every member is probed all the time");
  }
  POST_TRY_ASSIGN(std::int64_t attempts,
                  node.integer_or("probe_attempts", 1, 10, p.probe_attempts));
  p.probe_attempts = static_cast<int>(attempts);
  POST_TRY_ASSIGN(p.probe_backoff, node.duration_or("probe_backoff", kMs, kDay, p.probe_backoff));
  POST_TRY_ASSIGN(p.failed_retention,
                  node.duration_or("failed_retention", kMs, 30 * kDay, p.failed_retention));
  POST_TRY_ASSIGN(p.route_ack_timeout,
                  node.duration_or("route_ack_timeout", 10 * kMs, kDay, p.route_ack_timeout));
  POST_TRY_ASSIGN(p.join_timeout, node.duration_or("join_timeout", 10 * kMs, kDay, p.join_timeout));
  POST_TRY_ASSIGN(p.routing_maintenance_interval,
                  node.duration_or("routing_maintenance_interval", 10 * kMs, kDay,
                                   p.routing_maintenance_interval));
  POST_TRY_ASSIGN(p.partition_probe_interval, node.duration_or("partition_probe_interval", 10 * kMs,
                                                               kDay, p.partition_probe_interval));
  POST_TRY_ASSIGN(p.lookup_timeout,
                  node.duration_or("lookup_timeout", 10 * kMs, kDay, p.lookup_timeout));
  return p;
}

Result<PastConfig> read_past(const config::Node& root, const PastryConfig& pastry) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("past"));
  POST_TRY(node.allow_only_keys({"replicas", "quota_bytes", "cache_bytes", "request_timeout",
                                 "insert_timeout", "lookup_timeout", "maintenance_interval"}));
  PastConfig p;
  POST_TRY_ASSIGN(std::int64_t replicas, node.integer_or("replicas", 1, 64, p.replicas));
  if (replicas > pastry.leaf_set_size / 2) {
    return node.bad_value("replicas",
                          "must be at most half the leaf set (pastry.leaf_set_size / 2 = " +
                              std::to_string(pastry.leaf_set_size / 2) +
                              "): a node knows only that many neighbours on each side, got " +
                              std::to_string(replicas));
  }
  p.replicas = static_cast<int>(replicas);
  constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
  constexpr std::uint64_t kPiB = std::uint64_t{1} << 50;
  POST_TRY_ASSIGN(p.quota_bytes, node.byte_size_or("quota_bytes", kMiB, kPiB, p.quota_bytes));
  POST_TRY_ASSIGN(p.cache_bytes, node.byte_size_or("cache_bytes", 0, kPiB, p.cache_bytes));
  constexpr net::Duration kMs = std::chrono::milliseconds(1);
  constexpr net::Duration kDay = std::chrono::hours(24);
  POST_TRY_ASSIGN(p.request_timeout,
                  node.duration_or("request_timeout", 10 * kMs, kDay, p.request_timeout));
  POST_TRY_ASSIGN(p.insert_timeout,
                  node.duration_or("insert_timeout", 10 * kMs, kDay, p.insert_timeout));
  POST_TRY_ASSIGN(p.lookup_timeout,
                  node.duration_or("lookup_timeout", 10 * kMs, kDay, p.lookup_timeout));
  POST_TRY_ASSIGN(p.maintenance_interval,
                  node.duration_or("maintenance_interval", 10 * kMs, kDay, p.maintenance_interval));
  return p;
}

Result<ScribeConfig> read_scribe(const config::Node& root) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("scribe"));
  POST_TRY(node.allow_only_keys({"heartbeat_interval", "parent_timeout", "subscribe_timeout",
                                 "max_children", "anycast_timeout"}));
  ScribeConfig s;
  constexpr net::Duration kMs = std::chrono::milliseconds(1);
  constexpr net::Duration kDay = std::chrono::hours(24);
  POST_TRY_ASSIGN(s.heartbeat_interval,
                  node.duration_or("heartbeat_interval", 10 * kMs, kDay, s.heartbeat_interval));
  POST_TRY_ASSIGN(s.parent_timeout,
                  node.duration_or("parent_timeout", 10 * kMs, kDay, s.parent_timeout));
  if (s.parent_timeout <= s.heartbeat_interval) {
    return node.bad_value("parent_timeout", "must be longer than heartbeat_interval (" +
                                                config::format_duration(s.heartbeat_interval) +
                                                "), or children give up on parents that are alive");
  }
  POST_TRY_ASSIGN(s.subscribe_timeout,
                  node.duration_or("subscribe_timeout", 10 * kMs, kDay, s.subscribe_timeout));
  POST_TRY_ASSIGN(
      std::int64_t max_children,
      node.integer_or("max_children", 0, 100000, static_cast<std::int64_t>(s.max_children)));
  s.max_children = static_cast<std::size_t>(max_children);
  POST_TRY_ASSIGN(s.anycast_timeout,
                  node.duration_or("anycast_timeout", 10 * kMs, kDay, s.anycast_timeout));
  return s;
}

// Puzzles a node may ask of senders; the bound is the accounts layer's (a few seconds of one
// core at the top).
constexpr std::int64_t kMaxPuzzleBits = services::kMaxPuzzleBits;

Result<std::vector<UserEntry>> read_users(const config::Node& root,
                                          const std::filesystem::path& base_dir) {
  POST_TRY_ASSIGN(std::vector<config::Node> nodes, root.sequence("users"));
  std::vector<UserEntry> users;
  for (const auto& node : nodes) {
    POST_TRY(node.allow_only_keys({"dir", "puzzle_bits", "passphrase_file"}));
    UserEntry user;
    POST_TRY_ASSIGN(user.dir, read_path(node, "dir", base_dir));
    user.dir = user.dir.lexically_normal();
    if (node.has("passphrase_file")) {
      POST_TRY_ASSIGN(user.passphrase_file, read_path(node, "passphrase_file", base_dir));
    }
    POST_TRY_ASSIGN(std::int64_t bits, node.integer_or("puzzle_bits", 0, kMaxPuzzleBits, 0));
    user.puzzle_bits = static_cast<std::uint32_t>(bits);
    for (const auto& other : users) {
      if (std::filesystem::weakly_canonical(other.dir) ==
          std::filesystem::weakly_canonical(user.dir)) {
        return node.bad_value("dir",
                              "the user directory " + user.dir.string() + " is listed twice");
      }
    }
    users.push_back(std::move(user));
  }
  return users;
}

Result<NotificationsConfig> read_notifications(const config::Node& root,
                                               const PastryConfig& pastry) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("notifications"));
  POST_TRY(node.allow_only_keys({"delegates", "deliver_timeout", "delegate_timeout",
                                 "recheck_interval", "hold_for", "max_held"}));
  NotificationsConfig n;
  POST_TRY_ASSIGN(std::int64_t delegates, node.integer_or("delegates", 1, 64, n.delegates));
  if (delegates > pastry.leaf_set_size / 2) {
    return node.bad_value("delegates",
                          "must be at most half the leaf set (pastry.leaf_set_size / 2 = " +
                              std::to_string(pastry.leaf_set_size / 2) +
                              "): the delegates are the root and its closest neighbours, got " +
                              std::to_string(delegates));
  }
  n.delegates = static_cast<int>(delegates);
  constexpr net::Duration kMs = std::chrono::milliseconds(1);
  constexpr net::Duration kDay = std::chrono::hours(24);
  POST_TRY_ASSIGN(n.deliver_timeout,
                  node.duration_or("deliver_timeout", 10 * kMs, kDay, n.deliver_timeout));
  POST_TRY_ASSIGN(n.delegate_timeout,
                  node.duration_or("delegate_timeout", 10 * kMs, kDay, n.delegate_timeout));
  POST_TRY_ASSIGN(n.recheck_interval,
                  node.duration_or("recheck_interval", 10 * kMs, kDay, n.recheck_interval));
  POST_TRY_ASSIGN(n.hold_for,
                  node.duration_or("hold_for", std::chrono::minutes(1), 3650 * kDay, n.hold_for));
  POST_TRY_ASSIGN(std::int64_t max_held, node.integer_or("max_held", 0, 100'000'000,
                                                         static_cast<std::int64_t>(n.max_held)));
  n.max_held = static_cast<std::size_t>(max_held);
  return n;
}

Result<PresenceSettings> read_presence(const config::Node& root) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("presence"));
  POST_TRY(node.allow_only_keys({"interval"}));
  PresenceSettings p;
  POST_TRY_ASSIGN(p.interval, node.duration_or("interval", std::chrono::milliseconds(100),
                                               std::chrono::hours(24), p.interval));
  return p;
}

Result<std::vector<std::filesystem::path>> read_plugin_dirs(const config::Node& root,
                                                            const std::filesystem::path& base_dir) {
  POST_TRY_ASSIGN(std::vector<std::string> texts, root.string_list("plugin_dirs"));
  POST_TRY_ASSIGN(std::vector<config::Node> nodes, root.sequence("plugin_dirs"));
  std::vector<std::filesystem::path> dirs;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::filesystem::path dir(texts[i]);
    if (dir.is_relative() && !base_dir.empty()) dir = base_dir / dir;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return nodes[i].bad_value("", "no such directory: " + dir.string());
    }
    dirs.push_back(std::filesystem::canonical(dir, ec));
  }
  return dirs;
}

Result<PluginWatchConfig> read_plugin_watch(const config::Node& root) {
  POST_TRY_ASSIGN(config::Node node, root.child_or_empty("plugin_watch"));
  POST_TRY(node.allow_only_keys({"enabled", "debounce"}));
  PluginWatchConfig w;
  POST_TRY_ASSIGN(w.enabled, node.boolean_or("enabled", w.enabled));
  POST_TRY_ASSIGN(w.debounce, node.duration_or("debounce", std::chrono::milliseconds(10),
                                               std::chrono::minutes(10), w.debounce));
  return w;
}

bool inside(const std::filesystem::path& file, const std::filesystem::path& dir) {
  auto [d, f] = std::mismatch(dir.begin(), dir.end(), file.begin(), file.end());
  return d == dir.end();
}

Result<std::vector<PluginEntry>> read_plugins(const config::Node& root,
                                              const std::filesystem::path& base_dir,
                                              const std::vector<std::filesystem::path>& dirs) {
  POST_TRY_ASSIGN(std::vector<config::Node> nodes, root.sequence("plugins"));
  std::vector<PluginEntry> plugins;
  for (const auto& node : nodes) {
    POST_TRY(node.allow_only_keys({"name", "path", "enabled", "config"}));
    PluginEntry entry;
    entry.location = node.location();
    POST_TRY_ASSIGN(entry.name, node.string("name"));
    if (entry.name.empty() || entry.name.size() > 64 ||
        entry.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") !=
            std::string::npos) {
      return node.bad_value(
          "name", "expected 1 to 64 of a-z, 0-9, '-' and '_', got " + config::quote(entry.name));
    }
    for (const auto& other : plugins) {
      if (other.name == entry.name) {
        return node.bad_value("name", "the plugin name " + config::quote(entry.name) +
                                          " is used twice (also at " + other.location + ")");
      }
    }
    POST_TRY_ASSIGN(entry.path, read_path(node, "path", base_dir));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(entry.path, ec)) {
      return node.bad_value("path", "no such plugin file: " + entry.path.string());
    }
    entry.path = std::filesystem::canonical(entry.path, ec);
    if (dirs.empty()) {
      return node.bad_value("path",
                            "no plugin_dirs are configured: list the directories "
                            "plugins may be loaded from");
    }
    if (std::none_of(dirs.begin(), dirs.end(),
                     [&](const auto& dir) { return inside(entry.path, dir); })) {
      std::string list;
      for (const auto& dir : dirs) list += (list.empty() ? "" : ", ") + dir.string();
      return node.bad_value(
          "path",
          entry.path.string() + " is outside the plugin directories (plugin_dirs: " + list + ")");
    }
    POST_TRY_ASSIGN(entry.enabled, node.boolean_or("enabled", true));
    if (node.has("config")) {
      POST_TRY_ASSIGN(config::Node plugin_config, node.child("config"));
      entry.config = std::move(plugin_config);
    }
    plugins.push_back(std::move(entry));
  }
  return plugins;
}

Result<NodeConfig> read_node_config(const config::Node& root,
                                    const std::filesystem::path& base_dir) {
  POST_TRY(root.allow_only_keys({"identity", "listen", "advertise", "bootstrap", "data_dir",
                                 "admin", "log", "transport", "pastry", "past", "scribe", "users",
                                 "notifications", "presence", "plugin_dirs", "plugin_watch",
                                 "plugins"}));
  NodeConfig c;
  POST_TRY_ASSIGN(c.identity, read_identity(root, base_dir));
  POST_TRY_ASSIGN(c.listen, root.parsed("listen", parse_address));
  if (root.has("advertise")) {
    POST_TRY_ASSIGN(c.advertise, root.parsed("advertise", parse_dialable_address));
  } else if (is_wildcard(c.listen)) {
    return root.bad_value("advertise", "required when listen is a wildcard address (" +
                                           c.listen.to_string() +
                                           "): give the address other nodes should dial");
  } else {
    c.advertise = c.listen;
  }
  POST_TRY_ASSIGN(c.bootstrap, root.parsed_list("bootstrap", parse_dialable_address));
  POST_TRY_ASSIGN(c.data_dir, read_path(root, "data_dir", base_dir));
  if (root.has("admin")) {
    POST_TRY_ASSIGN(c.admin, root.parsed("admin", parse_address));
    if (!is_loopback(*c.admin)) {
      return root.bad_value("admin",
                            "must be a loopback address (127.x.x.x or [::1]): the "
                            "admin endpoint has no authentication, so whoever reaches "
                            "it controls the node; got " +
                                c.admin->to_string());
    }
  }
  POST_TRY_ASSIGN(c.log, read_log(root, base_dir));
  POST_TRY_ASSIGN(c.transport, read_transport(root));
  POST_TRY_ASSIGN(c.pastry, read_pastry(root));
  POST_TRY_ASSIGN(c.past, read_past(root, c.pastry));
  POST_TRY_ASSIGN(c.scribe, read_scribe(root));
  POST_TRY_ASSIGN(c.users, read_users(root, base_dir));
  POST_TRY_ASSIGN(c.notifications, read_notifications(root, c.pastry));
  POST_TRY_ASSIGN(c.presence, read_presence(root));
  POST_TRY_ASSIGN(c.plugin_dirs, read_plugin_dirs(root, base_dir));
  POST_TRY_ASSIGN(c.plugin_watch, read_plugin_watch(root));
  POST_TRY_ASSIGN(c.plugins, read_plugins(root, base_dir, c.plugin_dirs));
  return c;
}

}  // namespace

bool operator==(const PluginEntry& a, const PluginEntry& b) {
  auto yaml = [](const PluginEntry& e) { return e.config ? e.config->to_yaml() : std::string(); };
  return a.name == b.name && a.path == b.path && a.enabled == b.enabled && yaml(a) == yaml(b);
}

Result<NodeConfig> load_node_config(const std::filesystem::path& path) {
  POST_TRY_ASSIGN(config::Node root, config::Node::load_file(path.string()));
  POST_TRY_ASSIGN(NodeConfig config, read_node_config(root, path.parent_path()));
  config.source = path;
  return config;
}

Result<NodeConfig> parse_node_config(std::string_view yaml, std::string_view name,
                                     const std::filesystem::path& base_dir) {
  POST_TRY_ASSIGN(config::Node root, config::Node::load_string(yaml, name));
  return read_node_config(root, base_dir);
}

}  // namespace post::daemon
