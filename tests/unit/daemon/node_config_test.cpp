#include "host/daemon/node_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "host/core/errors.h"
#include "host/post/notification_service.h"
#include "host/post/presence.h"

namespace post::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kMinimal =
    "identity:\n"
    "  key: node.key\n"
    "  certificate: node.cert\n"
    "  ca_certificate: ca.cert\n"
    "listen: 127.0.0.1:4000\n"
    "data_dir: data\n";

net::Address address(std::string_view text) {
  return net::Address::parse(text).value();
}

Result<NodeConfig> parse(std::string_view yaml) {
  return parse_node_config(yaml, "node.yaml", "/etc/post");
}

std::string error_of(const Result<NodeConfig>& result) {
  if (result.ok()) return "<no error>";
  return result.error().message;
}

std::error_code code_of(const Result<NodeConfig>& result) {
  if (result.ok()) return {};
  return result.error().code;
}

// The minimal config with `extra` appended (top-level keys or whole sections).
std::string minimal_with(std::string_view extra) {
  return std::string(kMinimal) + std::string(extra);
}

// A directory of its own under the system temp dir, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("post_node_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, std::string_view contents) const {
    std::filesystem::path file = path_ / name;
    std::ofstream(file) << contents;
    return file;
  }

 private:
  static inline int next_ = 0;
  std::filesystem::path path_;
};

TEST(NodeConfig, FullConfigFileReadsIntoTheExpectedStruct) {
  TempDir dir;
  std::filesystem::path file = dir.write("node.yaml",
                                         "identity:\n"
                                         "  key: keys/node.key\n"
                                         "  certificate: /abs/node.cert\n"
                                         "  ca_certificate: ../ca.cert\n"
                                         "listen: 0.0.0.0:4000\n"
                                         "advertise: 192.0.2.7:4000\n"
                                         "bootstrap: [192.0.2.8:4000, \"[2001:db8::1]:4001\"]\n"
                                         "data_dir: data\n"
                                         "admin: localhost:4100\n"
                                         "log:\n"
                                         "  level: debug\n"
                                         "  file: postd.log\n"
                                         "transport:\n"
                                         "  send_queue_bytes: 1048576\n"
                                         "  handshake_timeout: 2s\n"
                                         "  connect_timeout: 500ms\n"
                                         "  idle_timeout: 15m\n"
                                         "pastry:\n"
                                         "  digit_bits: 3\n"
                                         "  leaf_set_size: 16\n");
  auto config = load_node_config(file);
  ASSERT_TRUE(config.ok()) << config.error().message;

  NodeConfig expected;
  expected.identity.key = dir.path() / "keys/node.key";
  expected.identity.certificate = "/abs/node.cert";
  expected.identity.ca_certificate = dir.path() / "../ca.cert";
  expected.listen = address("0.0.0.0:4000");
  expected.advertise = address("192.0.2.7:4000");
  expected.bootstrap = {address("192.0.2.8:4000"), address("[2001:db8::1]:4001")};
  expected.data_dir = dir.path() / "data";
  expected.admin = address("127.0.0.1:4100");
  expected.log.level = "debug";
  expected.log.file = dir.path() / "postd.log";
  expected.transport.send_queue_bytes = 1 << 20;
  expected.transport.handshake_timeout = seconds(2);
  expected.transport.connect_timeout = milliseconds(500);
  expected.transport.idle_timeout = minutes(15);
  expected.pastry.digit_bits = 3;
  expected.pastry.leaf_set_size = 16;
  expected.source = file;
  EXPECT_TRUE(*config == expected);
  EXPECT_EQ(config->identity.key, expected.identity.key);
  EXPECT_EQ(config->bootstrap, expected.bootstrap);
  EXPECT_EQ(config->log.file, expected.log.file);
}

TEST(NodeConfig, MinimalConfigGetsTheDocumentedDefaults) {
  auto config = parse(kMinimal);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->advertise, config->listen);
  EXPECT_TRUE(config->bootstrap.empty());
  EXPECT_FALSE(config->admin.has_value());
  EXPECT_EQ(config->log, LogConfig{});
  EXPECT_EQ(config->log.level, "info");
  EXPECT_FALSE(config->log.file.has_value());
  EXPECT_EQ(config->transport.send_queue_bytes, std::size_t{16} << 20);
  EXPECT_EQ(config->transport.handshake_timeout, seconds(10));
  EXPECT_EQ(config->transport.connect_timeout, seconds(5));
  EXPECT_EQ(config->transport.idle_timeout, seconds(0));
  EXPECT_EQ(config->pastry.digit_bits, 4);
  EXPECT_EQ(config->pastry.leaf_set_size, 24);
}

TEST(NodeConfig, RelativePathsResolveAgainstTheBaseDirectory) {
  auto config = parse(kMinimal);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->identity.key, std::filesystem::path("/etc/post/node.key"));
  EXPECT_EQ(config->identity.certificate, std::filesystem::path("/etc/post/node.cert"));
  EXPECT_EQ(config->identity.ca_certificate, std::filesystem::path("/etc/post/ca.cert"));
  EXPECT_EQ(config->data_dir, std::filesystem::path("/etc/post/data"));

  auto unresolved = parse_node_config(kMinimal, "node.yaml", "");
  ASSERT_TRUE(unresolved.ok()) << unresolved.error().message;
  EXPECT_EQ(unresolved->data_dir, std::filesystem::path("data"));
}

TEST(NodeConfig, FileInTheWorkingDirectoryKeepsPathsRelative) {
  TempDir dir;
  std::filesystem::path file = dir.write("node.yaml", kMinimal);
  std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto config = load_node_config("node.yaml");
  std::filesystem::current_path(previous);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->data_dir, std::filesystem::path("data"));
}

TEST(NodeConfig, ExampleConfigLoads) {
  std::filesystem::path example =
      std::filesystem::path(POST_SOURCE_DIR) / "config" / "node.example.yaml";
  auto config = load_node_config(example);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->listen, address("127.0.0.1:4000"));
  EXPECT_EQ(config->bootstrap.size(), 2u);
  EXPECT_EQ(config->data_dir, example.parent_path() / "data");
  // The example shows the defaults.
  EXPECT_EQ(config->transport, TransportConfig{});
  EXPECT_EQ(config->pastry, PastryConfig{});
  EXPECT_EQ(config->past, PastConfig{});
  EXPECT_EQ(config->scribe, ScribeConfig{});
  EXPECT_EQ(config->log.level, LogConfig{}.level);
  EXPECT_EQ(config->notifications, NotificationsConfig{});
  EXPECT_EQ(config->presence, PresenceSettings{});
  ASSERT_EQ(config->users.size(), 1u);
  EXPECT_EQ(config->users[0].dir, example.parent_path() / "users" / "alice");
}

TEST(NodeConfig, MissingFileNamesTheFile) {
  auto config = load_node_config("/nonexistent/node.yaml");
  EXPECT_EQ(code_of(config), CoreErrc::kIoError);
  EXPECT_EQ(error_of(config), "cannot read /nonexistent/node.yaml: No such file or directory");
}

TEST(NodeConfig, SyntaxErrorNamesFileAndLine) {
  auto config = parse(minimal_with("bootstrap: [a\n"));
  EXPECT_EQ(code_of(config), CoreErrc::kConfigSyntax);
  EXPECT_THAT(error_of(config), StartsWith("node.yaml:"));
  EXPECT_THAT(error_of(config), HasSubstr("syntax error"));
}

TEST(NodeConfig, UnknownTopLevelKeySuggestsTheIntendedOne) {
  auto config = parse(minimal_with("bootstrapp: []\n"));
  EXPECT_EQ(code_of(config), CoreErrc::kConfigUnknownKey);
  EXPECT_EQ(error_of(config),
            "node.yaml:7:1: unknown key 'bootstrapp' (did you mean 'bootstrap'?)");
}

TEST(NodeConfig, UnknownKeyInASectionNamesTheSection) {
  auto config = parse(minimal_with("transport:\n  idle_timout: 5s\n"));
  EXPECT_EQ(error_of(config),
            "node.yaml:8:3: transport: unknown key 'idle_timout' (did you mean 'idle_timeout'?)");
  EXPECT_THAT(error_of(parse(minimal_with("identity2: {}\n"))),
              HasSubstr("unknown key 'identity2'"));
  EXPECT_THAT(error_of(parse(minimal_with("log: {color: on}\n"))), HasSubstr("log: unknown key"));
  EXPECT_THAT(error_of(parse(minimal_with("pastry: {b: 4}\n"))), HasSubstr("pastry: unknown key"));
}

TEST(NodeConfig, MissingRequiredKeysAreNamed) {
  EXPECT_EQ(error_of(parse("listen: 127.0.0.1:1\ndata_dir: d\n")),
            "node.yaml:1:1: missing required key 'identity'");
  auto no_ca = parse(
      "identity:\n"
      "  key: k\n"
      "  certificate: c\n"
      "listen: 127.0.0.1:1\n"
      "data_dir: d\n");
  EXPECT_EQ(code_of(no_ca), CoreErrc::kConfigMissingKey);
  EXPECT_EQ(error_of(no_ca), "node.yaml:1:1: identity: missing required key 'ca_certificate'");
  EXPECT_THAT(error_of(parse("identity: {key: k, certificate: c, ca_certificate: a}\n")),
              HasSubstr("missing required key 'listen'"));
  EXPECT_THAT(error_of(parse(
                  "identity: {key: k, certificate: c, ca_certificate: a}\nlisten: 127.0.0.1:1\n")),
              HasSubstr("missing required key 'data_dir'"));
}

TEST(NodeConfig, EmptyPathIsRefused) {
  auto config = parse(
      "identity: {key: \"\", certificate: c, ca_certificate: a}\n"
      "listen: 127.0.0.1:1\n"
      "data_dir: d\n");
  EXPECT_EQ(error_of(config), "node.yaml:1:17: identity.key: expected a path, got an empty string");
}

TEST(NodeConfig, BadListenAddressNamesLineAndKey) {
  auto config = parse(
      "identity: {key: k, certificate: c, ca_certificate: a}\n"
      "listen: 127.0.0.1\n"
      "data_dir: d\n");
  EXPECT_EQ(code_of(config), CoreErrc::kConfigBadValue);
  EXPECT_THAT(error_of(config), StartsWith("node.yaml:2:9: listen: '127.0.0.1': "));
}

TEST(NodeConfig, BadBootstrapEntryNamesItsIndex) {
  auto config = parse(minimal_with("bootstrap:\n  - 127.0.0.1:4001\n  - nowhere\n"));
  EXPECT_THAT(error_of(config), StartsWith("node.yaml:9:5: bootstrap[1]: 'nowhere': "));
  EXPECT_THAT(error_of(parse(minimal_with("bootstrap: 127.0.0.1:4001\n"))),
              HasSubstr("bootstrap: expected a sequence"));
  EXPECT_THAT(error_of(parse(minimal_with("bootstrap: [0.0.0.0:4001]\n"))),
              HasSubstr("bootstrap[0]: '0.0.0.0:4001' cannot be dialled"));
}

TEST(NodeConfig, WildcardListenNeedsAnAdvertiseAddress) {
  auto config = parse(
      "identity: {key: k, certificate: c, ca_certificate: a}\n"
      "listen: 0.0.0.0:4000\n"
      "data_dir: d\n");
  EXPECT_EQ(code_of(config), CoreErrc::kConfigBadValue);
  EXPECT_THAT(error_of(config), StartsWith("node.yaml:1:1: advertise: required when listen is a "
                                           "wildcard address (0.0.0.0:4000)"));
  EXPECT_THAT(error_of(parse(minimal_with("advertise: \"[::]:4000\"\n"))),
              HasSubstr("advertise: '[::]:4000' cannot be dialled"));
}

TEST(NodeConfig, AdminAddressIsOptional) {
  auto config = parse(minimal_with("admin: 127.0.0.1:4100\n"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->admin, address("127.0.0.1:4100"));
  EXPECT_THAT(error_of(parse(minimal_with("admin: yes\n"))), StartsWith("node.yaml:7:8: admin: "));
}

TEST(NodeConfig, OddLeafSetSizeIsRefused) {
  auto config = parse(minimal_with("pastry:\n  leaf_set_size: 23\n"));
  EXPECT_EQ(code_of(config), CoreErrc::kConfigBadValue);
  EXPECT_EQ(error_of(config),
            "node.yaml:8:18: pastry.leaf_set_size: must be even (half the leaf set on each "
            "side), got 23");
}

TEST(NodeConfig, PastryValuesOutsideTheirRangesAreRefused) {
  EXPECT_EQ(error_of(parse(minimal_with("pastry:\n  leaf_set_size: 130\n"))),
            "node.yaml:8:18: pastry.leaf_set_size: expected an integer from 2 to 128, got \"130\"");
  EXPECT_EQ(error_of(parse(minimal_with("pastry:\n  leaf_set_size: abc\n"))),
            "node.yaml:8:18: pastry.leaf_set_size: expected an integer from 2 to 128, got \"abc\"");
  EXPECT_THAT(error_of(parse(minimal_with("pastry: {digit_bits: 0}\n"))),
              HasSubstr("pastry.digit_bits: expected an integer from 1 to 8, got \"0\""));
  EXPECT_THAT(error_of(parse(minimal_with("pastry: {digit_bits: 9}\n"))), HasSubstr("got \"9\""));
}

TEST(NodeConfig, ScribeSettingsAreReadAndCheckedAgainstEachOther) {
  auto config = parse(
      minimal_with("scribe:\n  heartbeat_interval: 2s\n  parent_timeout: 7s\n  max_children: 3\n"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->scribe.heartbeat_interval, seconds(2));
  EXPECT_EQ(config->scribe.parent_timeout, seconds(7));
  EXPECT_EQ(config->scribe.max_children, 3u);
  EXPECT_EQ(config->scribe.subscribe_timeout, ScribeConfig{}.subscribe_timeout);

  EXPECT_EQ(
      error_of(parse(minimal_with("scribe:\n  heartbeat_interval: 5s\n  parent_timeout: 5s\n"))),
      "node.yaml:9:19: scribe.parent_timeout: must be longer than heartbeat_interval (5s), "
      "or children give up on parents that are alive");
  EXPECT_THAT(error_of(parse(minimal_with("scribe: {fanout: 3}\n"))),
              HasSubstr("scribe: unknown key"));
  EXPECT_THAT(error_of(parse(minimal_with("scribe: {max_children: -1}\n"))),
              HasSubstr("scribe.max_children: expected an integer from 0 to 100000"));
}

TEST(NodeConfig, UnknownLogLevelIsRefused) {
  auto config = parse(minimal_with("log:\n  level: verbose\n"));
  EXPECT_EQ(error_of(config),
            "node.yaml:8:10: log.level: expected one of trace, debug, info, warn, error, "
            "critical, off, got \"verbose\"");
}

TEST(NodeConfig, TransportLimitsAreEnforced) {
  EXPECT_THAT(error_of(parse(minimal_with("transport: {send_queue_bytes: 1024}\n"))),
              HasSubstr("transport.send_queue_bytes: expected an integer from 65536 to "
                        "1073741824, got \"1024\""));
  EXPECT_THAT(error_of(parse(minimal_with("transport: {handshake_timeout: 0}\n"))),
              HasSubstr("transport.handshake_timeout: expected a duration from 1ms to 10m"));
  EXPECT_THAT(error_of(parse(minimal_with("transport: {connect_timeout: soon}\n"))),
              HasSubstr("got \"soon\""));
  auto never = parse(minimal_with("transport: {idle_timeout: 0}\n"));
  ASSERT_TRUE(never.ok()) << never.error().message;
  EXPECT_EQ(never->transport.idle_timeout, seconds(0));
}

TEST(NodeConfig, SectionOfTheWrongTypeIsRefused) {
  EXPECT_EQ(error_of(parse(minimal_with("pastry: 4\n"))),
            "node.yaml:7:9: pastry: expected a mapping, got \"4\"");
  EXPECT_THAT(error_of(parse("- a\n- b\n")), HasSubstr("expected a mapping, got a sequence"));
}

TEST(NodeConfig, EmptySectionsMeanDefaults) {
  auto config = parse(minimal_with("log:\ntransport: {}\npastry: ~\n"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->transport, TransportConfig{});
  EXPECT_EQ(config->pastry, PastryConfig{});
}

}  // namespace
}  // namespace post::daemon

namespace post::daemon {
namespace {

TEST(NodeConfig, AdminEndpointMustBeOnLoopback) {
  std::string yaml =
      "identity: {key: k, certificate: c, ca_certificate: ca}\n"
      "listen: \"127.0.0.1:4000\"\n"
      "data_dir: d\n"
      "admin: \"10.1.2.3:4100\"\n";
  auto r = parse_node_config(yaml, "node.yaml", "/tmp");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("node.yaml:4"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("must be a loopback address"), std::string::npos);
}

TEST(NodeConfig, PastryTimingsAreReadAndChecked) {
  std::string base =
      "identity: {key: k, certificate: c, ca_certificate: ca}\n"
      "listen: \"127.0.0.1:4000\"\n"
      "data_dir: d\n";
  auto ok = parse_node_config(
      base + "pastry: {heartbeat_interval: 1s, lease: 2500ms, probe_attempts: 5}\n", "node.yaml",
      "/tmp");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->pastry.heartbeat_interval, std::chrono::seconds(1));
  EXPECT_EQ(ok->pastry.lease, std::chrono::milliseconds(2500));
  EXPECT_EQ(ok->pastry.probe_attempts, 5);
  auto bad = parse_node_config(base + "pastry: {heartbeat_interval: 30s, lease: 20s}\n",
                               "node.yaml", "/tmp");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("pastry.lease"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("longer than heartbeat_interval"), std::string::npos);
}

TEST(NodeConfig, PastSettingsTakeSizesWithUnitsAndAreChecked) {
  auto ok = parse(minimal_with(
      "past: {replicas: 5, quota_bytes: 2GiB, cache_bytes: \"512 KiB\", request_timeout: 2s}\n"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->past.replicas, 5);
  EXPECT_EQ(ok->past.quota_bytes, std::uint64_t{2} << 30);
  EXPECT_EQ(ok->past.cache_bytes, 512u * 1024u);
  EXPECT_EQ(ok->past.request_timeout, std::chrono::seconds(2));
  EXPECT_EQ(parse(minimal_with("past: {quota_bytes: 10000000}\n"))->past.quota_bytes, 10000000u);

  auto too_many = parse(minimal_with("past: {replicas: 13}\n"));
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(error_of(too_many), HasSubstr("past.replicas"));
  EXPECT_THAT(error_of(too_many), HasSubstr("at most half the leaf set"));
  auto bad_size = parse(minimal_with("past: {quota_bytes: 3 apples}\n"));
  ASSERT_FALSE(bad_size.ok());
  EXPECT_THAT(error_of(bad_size), HasSubstr("past.quota_bytes"));
  EXPECT_THAT(error_of(bad_size), HasSubstr("expected a size from 1MiB"));
  EXPECT_EQ(code_of(parse(minimal_with("past: {replica: 3}\n"))), CoreErrc::kConfigUnknownKey);
}

TEST(NodeConfig, UsersAreDirectoriesWithAnOptionalPuzzle) {
  auto config = minimal_with(
      "users:\n"
      "  - dir: users/alice\n"
      "  - {dir: /home/bob/post, puzzle_bits: 12}\n");
  auto parsed = parse(config);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->users.size(), 2u);
  EXPECT_EQ(parsed->users[0].dir, std::filesystem::path("/etc/post/users/alice"));
  EXPECT_EQ(parsed->users[0].puzzle_bits, 0u);
  EXPECT_EQ(parsed->users[1].dir, std::filesystem::path("/home/bob/post"));
  EXPECT_EQ(parsed->users[1].puzzle_bits, 12u);
  EXPECT_TRUE(parse(kMinimal)->users.empty());
}

TEST(NodeConfig, BadUserEntriesAreRefusedWithTheirIndex) {
  EXPECT_THAT(error_of(parse(minimal_with("users:\n  - {puzzle_bits: 3}\n"))),
              HasSubstr("users[0]: missing required key 'dir'"));
  EXPECT_THAT(
      error_of(parse(minimal_with("users:\n  - {dir: a}\n  - {dir: b, puzzle_bits: 25}\n"))),
      HasSubstr("users[1].puzzle_bits: expected an integer from 0 to 24"));
  EXPECT_THAT(error_of(parse(minimal_with("users:\n  - {dir: a, puzle_bits: 1}\n"))),
              HasSubstr("did you mean 'puzzle_bits'?"));
  EXPECT_THAT(error_of(parse(minimal_with("users:\n  - users/alice\n"))), HasSubstr("users[0]"));
  EXPECT_THAT(error_of(parse(minimal_with("users:\n  - {dir: a}\n  - {dir: ./a}\n"))),
              HasSubstr("is listed twice"));
  EXPECT_EQ(code_of(parse(minimal_with("users: {dir: a}\n"))), CoreErrc::kConfigBadValue);
}

TEST(NodeConfig, NotificationAndPresenceSettingsAreReadAndChecked) {
  auto config =
      parse(minimal_with("notifications:\n"
                         "  delegates: 4\n"
                         "  deliver_timeout: 2s\n"
                         "  delegate_timeout: 5s\n"
                         "  recheck_interval: 3s\n"
                         "  hold_for: 48h\n"
                         "  max_held: 10\n"
                         "presence:\n"
                         "  interval: 2s\n"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->notifications.delegates, 4);
  EXPECT_EQ(config->notifications.deliver_timeout, seconds(2));
  EXPECT_EQ(config->notifications.delegate_timeout, seconds(5));
  EXPECT_EQ(config->notifications.recheck_interval, seconds(3));
  EXPECT_EQ(config->notifications.hold_for, std::chrono::hours(48));
  EXPECT_EQ(config->notifications.max_held, 10u);
  EXPECT_EQ(config->presence.interval, seconds(2));

  EXPECT_THAT(error_of(parse(minimal_with("pastry: {leaf_set_size: 4}\npast: {replicas: 2}\n"
                                          "notifications: {delegates: 3}\n"))),
              HasSubstr("notifications.delegates: must be at most half the leaf set"));
  EXPECT_THAT(error_of(parse(minimal_with("notifications: {recheck_interval: 0s}\n"))),
              HasSubstr("notifications.recheck_interval"));
  EXPECT_THAT(error_of(parse(minimal_with("notifications: {delegate: 2}\n"))),
              HasSubstr("did you mean 'delegates'?"));
  EXPECT_THAT(error_of(parse(minimal_with("presence: {interval: 10ms}\n"))),
              HasSubstr("presence.interval"));
}

TEST(NodeConfig, NotificationDefaultsAreTheServicesDefaults) {
  services::NotificationServiceConfig service;
  NotificationsConfig config;
  EXPECT_EQ(config.delegates, service.delegates);
  EXPECT_EQ(config.deliver_timeout, service.deliver_timeout);
  EXPECT_EQ(config.delegate_timeout, service.delegate_timeout);
  EXPECT_EQ(config.recheck_interval, service.recheck_interval);
  EXPECT_EQ(config.hold_for, service.hold_for);
  EXPECT_EQ(config.max_held, service.max_held);
  EXPECT_EQ(PresenceSettings{}.interval, services::PresenceConfig{}.interval);
}

// A node.yaml in `dir` whose plugins: section is `plugins` (plugin_dirs: [plugins]); its line 8
// is the first of `plugins`.
Result<NodeConfig> load_with_plugins(const TempDir& dir, std::string_view plugins) {
  std::filesystem::path file =
      dir.write("node.yaml", minimal_with("plugin_dirs: [plugins]\n" + std::string(plugins)));
  return load_node_config(file);
}

TEST(NodeConfig, PluginsReadWithTheirConfigAndResolvedPaths) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "plugins");
  dir.write("plugins/echo.so", "not really a plugin");
  auto config = load_with_plugins(dir,
                                  "plugin_watch: {debounce: 250ms}\n"
                                  "plugins:\n"
                                  "  - name: echo\n"
                                  "    path: plugins/../plugins/echo.so\n"
                                  "    config: {listen: \"127.0.0.1:7000\", limits: {lines: 3}}\n"
                                  "  - {name: echo-off, path: plugins/echo.so, enabled: false}\n");
  ASSERT_TRUE(config.ok()) << error_of(config);
  auto plugins = std::filesystem::canonical(dir.path() / "plugins");
  EXPECT_EQ(config->plugin_dirs, std::vector{plugins});
  EXPECT_TRUE(config->plugin_watch.enabled);
  EXPECT_EQ(config->plugin_watch.debounce, milliseconds(250));
  ASSERT_EQ(config->plugins.size(), 2u);
  const PluginEntry& echo = config->plugins[0];
  EXPECT_EQ(echo.name, "echo");
  EXPECT_EQ(echo.path, plugins / "echo.so");
  EXPECT_TRUE(echo.enabled);
  ASSERT_TRUE(echo.config.has_value());
  EXPECT_EQ(echo.config->child("limits").value().integer("lines", 0, 10).value(), 3);
  EXPECT_THAT(echo.location, StartsWith((dir.path() / "node.yaml").string() + ":10:"));
  EXPECT_FALSE(config->plugins[1].enabled);
  EXPECT_FALSE(config->plugins[1].config.has_value());
  EXPECT_EQ(config->source, dir.path() / "node.yaml");
}

TEST(NodeConfig, BadPluginEntriesAreRefusedWithFileLineAndKey) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "plugins");
  std::filesystem::create_directories(dir.path() / "elsewhere");
  dir.write("plugins/echo.so", "x");
  dir.write("elsewhere/evil.so", "x");
  std::string file = (dir.path() / "node.yaml").string();

  auto unknown_path = load_with_plugins(dir, "plugins:\n  - {name: echo, path: plugins/nope.so}\n");
  EXPECT_THAT(error_of(unknown_path), StartsWith(file + ":9:"));
  EXPECT_THAT(error_of(unknown_path), HasSubstr("plugins[0].path: no such plugin file"));

  auto outside = load_with_plugins(dir, "plugins:\n  - {name: evil, path: elsewhere/evil.so}\n");
  EXPECT_THAT(error_of(outside), StartsWith(file + ":9:"));
  EXPECT_THAT(error_of(outside), HasSubstr("plugins[0].path: "));
  EXPECT_THAT(error_of(outside), HasSubstr("is outside the plugin directories"));

  // A symlink inside the plugin directory that leads out of it is just as outside.
  std::filesystem::create_symlink(dir.path() / "elsewhere/evil.so", dir.path() / "plugins/link.so");
  EXPECT_THAT(error_of(load_with_plugins(dir, "plugins:\n  - {name: l, path: plugins/link.so}\n")),
              HasSubstr("is outside the plugin directories"));

  auto missing_name = load_with_plugins(dir, "plugins:\n  - {path: plugins/echo.so}\n");
  EXPECT_EQ(code_of(missing_name), CoreErrc::kConfigMissingKey);
  EXPECT_THAT(error_of(missing_name), StartsWith(file + ":9:"));
  EXPECT_THAT(error_of(missing_name), HasSubstr("plugins[0]: missing required key 'name'"));

  auto wrong_type = load_with_plugins(
      dir, "plugins:\n  - name: echo\n    path: plugins/echo.so\n    enabled: maybe\n");
  EXPECT_THAT(error_of(wrong_type), StartsWith(file + ":11:"));
  EXPECT_THAT(error_of(wrong_type), HasSubstr("plugins[0].enabled"));

  auto config_not_map = load_with_plugins(
      dir, "plugins:\n  - name: echo\n    path: plugins/echo.so\n    config: [1, 2]\n");
  EXPECT_THAT(error_of(config_not_map), StartsWith(file + ":11:"));
  EXPECT_THAT(error_of(config_not_map), HasSubstr("plugins[0].config"));

  auto twice = load_with_plugins(dir,
                                 "plugins:\n  - {name: echo, path: plugins/echo.so}\n"
                                 "  - {name: echo, path: plugins/echo.so}\n");
  EXPECT_THAT(error_of(twice), StartsWith(file + ":10:"));
  EXPECT_THAT(error_of(twice), HasSubstr("used twice"));

  EXPECT_THAT(
      error_of(load_with_plugins(dir, "plugins:\n  - {name: Echo!, path: plugins/echo.so}\n")),
      HasSubstr("plugins[0].name: expected 1 to 64 of a-z"));
  EXPECT_THAT(error_of(load_with_plugins(dir,
                                         "plugins:\n  - {name: e, path: plugins/echo.so, "
                                         "config: {}, extra: 1}\n")),
              HasSubstr("extra"));
  EXPECT_THAT(error_of(load_with_plugins(dir, "plugin_watch: {debounce: 1h}\n")),
              HasSubstr("plugin_watch.debounce"));

  // No plugin_dirs at all.
  std::filesystem::path bare =
      dir.write("bare.yaml", minimal_with("plugins:\n  - {name: echo, path: plugins/echo.so}\n"));
  EXPECT_THAT(error_of(load_node_config(bare)), HasSubstr("no plugin_dirs are configured"));
  std::filesystem::path no_dir =
      dir.write("nodir.yaml", minimal_with("plugin_dirs: [plugins, missing]\n"));
  EXPECT_THAT(error_of(load_node_config(no_dir)), HasSubstr("plugin_dirs[1]: no such directory"));
}

}  // namespace
}  // namespace post::daemon
