#include "host/plugin/plugin_manager.h"

#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "host/plugin/errors.h"
#include "tests/unit/plugin/plugin_test_support.h"

namespace post::plugin {
namespace {

namespace fs = std::filesystem;
using namespace post::plugin::testing;

// A manager whose io_context runs on a thread of its own, as in postd; the test thread acts
// as clients and calls the manager on the io thread through call().
class PluginManagerTest : public ::testing::Test {
 protected:
  PluginManagerTest() {
    fs::create_directories(plugins_dir());
    for (auto [name, built] : {std::pair{"echo.so", kEchoPlugin},
                               {"echo_v2.so", kEchoV2Plugin},
                               {"echo_bad_import.so", kEchoBadImportPlugin},
                               {"c.so", kCPlugin},
                               {"wrong_abi.so", kWrongAbiPlugin},
                               {"missing_entry.so", kMissingEntryPlugin},
                               {"failing_init.so", kFailingInitPlugin}}) {
      fs::copy_file(built, plugins_dir() / name);
    }
    io_thread_ = std::thread([this] { io_.run(); });
    start_manager(kv_.factory());
  }

  ~PluginManagerTest() override {
    call([this] { manager_.reset(); });
    work_.reset();
    io_thread_.join();
  }

  void start_manager(KeyValueStoreFactory kv) {
    call([&] {
      manager_.reset();
      manager_ = std::make_unique<PluginManager>(
          io_, PluginManagerOptions{{plugins_dir()}, fs::path(dir_.path()) / "run", std::move(kv)});
    });
  }

  fs::path plugins_dir() const { return fs::path(dir_.path()) / "plugins"; }

  // Runs `fn` on the io thread and returns what it returns.
  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  PluginSpec spec(const std::string& name, const std::string& file, const std::string& yaml = "") {
    PluginSpec s{name, plugins_dir() / file, std::nullopt};
    if (!yaml.empty()) {
      auto node = config::Node::load_string(yaml, "node.yaml");
      EXPECT_TRUE(node.ok()) << node.error().to_string();
      if (node.ok()) s.config = *node;
    }
    return s;
  }
  Status load(const PluginSpec& s) {
    return call([&] { return manager_->load(s); });
  }
  Status reload(const PluginSpec& s) {
    return call([&] { return manager_->reload(s); });
  }
  std::optional<PluginInfo> info(const std::string& name) {
    return call([&] { return manager_->find(name); });
  }
  // The port the echo plugin in slot `name` listens on (it reports it as a gauge).
  std::uint16_t echo_port(const std::string& name) {
    return static_cast<std::uint16_t>(manager_->metrics().gauge(name + ".port").value_or(0));
  }
  std::uint64_t counter(const std::string& name) {
    return manager_->metrics().counter(name).value_or(0);
  }
  // Waits (polling) until `done()` holds, at most 10 s.
  static bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread io_thread_;
  MemoryKeyValueStores kv_;
  std::unique_ptr<PluginManager> manager_;
};

constexpr char kCConfig[] = "greeting: hello\nlimits:\n  repeat: 3\nloud: true\n";

TEST_F(PluginManagerTest, LoadsThePlainCPluginWithItsConfigTimersAndKeyValueStore) {
  Status loaded = load(spec("c", "c.so", kCConfig));
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(manager_->metrics().gauge("c.repeat"), 3.0);
  EXPECT_EQ(manager_->metrics().gauge("c.loud"), 1.0);
  EXPECT_EQ(counter("c.yaml_ok"), 1u);
  EXPECT_EQ(counter("c.store_unavailable"), 1u);  // the POST services answer "unavailable"
  // start() schedules a timer, which puts a key and reads it back.
  ASSERT_TRUE(eventually([&] { return counter("c.kv_get_ok") == 1; }));
  EXPECT_EQ(counter("c.ticks"), 1u);
  auto stored = kv_.store("c")->get("greeting");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->value_or("<absent>"), "hello");

  auto i = info("c");
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(i->plugin_name, "c-plugin");
  EXPECT_EQ(i->version, "0.1.0");
  EXPECT_EQ(i->state, PluginState::kServing);
}

TEST_F(PluginManagerTest, PassesOnTheConfigErrorOfAPluginWithFileLineAndKey) {
  Status loaded = load(spec("c", "c.so", "greeting: hello\nloud: true\nlimits:\n  repeat: many\n"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, PluginErrc::kInitFailed);
  EXPECT_NE(loaded.error().message.find("plugin 'c'"), std::string::npos);
  EXPECT_NE(loaded.error().message.find("node.yaml:4:"), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("limits.repeat"), std::string::npos)
      << loaded.error().message;
  EXPECT_FALSE(info("c").has_value());
}

TEST_F(PluginManagerTest, RefusesBrokenPluginsByNameAndReasonWhileOthersKeepServing) {
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  LineClient client(echo_port("echo"));
  ASSERT_EQ(client.ask("before"), "before") << client.error();

  struct Case {
    const char* name;
    const char* file;
    PluginErrc code;
    const char* reason;
  };
  for (const Case& c : {
           Case{"future", "wrong_abi.so", PluginErrc::kAbiMismatch, "built for plugin ABI 2.0"},
           Case{"stranger", "missing_entry.so", PluginErrc::kMissingEntry,
                "does not export post_plugin_entry_v1"},
           Case{"spool", "failing_init.so", PluginErrc::kInitFailed,
                "init failed: cannot reach the mail spool (test fixture)"},
           Case{"ghost", "ghost.so", PluginErrc::kNotFound, "no such file"},
       }) {
    Status loaded = load(spec(c.name, c.file));
    ASSERT_FALSE(loaded.ok()) << c.name;
    EXPECT_EQ(loaded.error().code, c.code) << loaded.error().to_string();
    EXPECT_NE(loaded.error().message.find(std::string("plugin '") + c.name + "'"),
              std::string::npos)
        << loaded.error().message;
    EXPECT_NE(loaded.error().message.find(c.reason), std::string::npos) << loaded.error().message;
  }

  EXPECT_EQ(client.ask("after"), "after") << client.error();
  auto all = call([&] { return manager_->plugins(); });
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "echo");
}

TEST_F(PluginManagerTest, RefusesAPathOutsideThePluginDirectories) {
  for (const fs::path& outside : {kEchoPlugin, plugins_dir() / ".." / "echo.so"}) {
    fs::copy_file(kEchoPlugin, fs::path(dir_.path()) / "echo.so",
                  fs::copy_options::overwrite_existing);
    Status loaded = load(PluginSpec{"echo", outside, std::nullopt});
    ASSERT_FALSE(loaded.ok()) << outside;
    EXPECT_EQ(loaded.error().code, PluginErrc::kOutsideDirs);
    EXPECT_NE(loaded.error().message.find("not inside a plugin directory"), std::string::npos)
        << loaded.error().message;
  }
}

TEST_F(PluginManagerTest, RefusesASecondPluginOfTheSameName) {
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  Status again = load(spec("echo", "echo_v2.so"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, PluginErrc::kAlreadyLoaded);
  EXPECT_EQ(info("echo")->version, "1.0.0");
}

TEST_F(PluginManagerTest, ReloadHandsTheConnectionsAndStateOfVersion1ToVersion2) {
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  std::uint16_t port = echo_port("echo");
  LineClient client(port);
  ASSERT_EQ(client.ask("one"), "one") << client.error();
  ASSERT_EQ(client.ask("two"), "two") << client.error();
  ASSERT_EQ(client.ask("?version"), "echo 1.0.0");

  Status reloaded = reload(spec("echo", "echo_v2.so"));
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();

  // The same connection, now served by version 2, which knows how many lines v1 served.
  EXPECT_EQ(client.ask("?version"), "echo 2.0.0") << client.error();
  EXPECT_EQ(client.ask("?count"), "5");
  EXPECT_EQ(echo_port("echo"), port);  // the same host-owned socket
  LineClient fresh(port);
  EXPECT_EQ(fresh.ask("?version"), "echo 2.0.0") << fresh.error();
  auto i = info("echo");
  EXPECT_EQ(i->version, "2.0.0");
  EXPECT_EQ(i->reloads, 1u);
  EXPECT_EQ(i->last_error, "");
}

TEST_F(PluginManagerTest, AFailingImportLeavesVersion1Serving) {
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  LineClient client(echo_port("echo"));
  ASSERT_EQ(client.ask("one"), "one") << client.error();

  Status reloaded = reload(spec("echo", "echo_bad_import.so"));
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.error().code, PluginErrc::kImportFailed);
  EXPECT_NE(reloaded.error().message.find(
                "new import_state failed: this build refuses every state (test fixture)"),
            std::string::npos)
      << reloaded.error().message;

  EXPECT_EQ(client.ask("?version"), "echo 1.0.0") << client.error();
  EXPECT_EQ(client.ask("?count"), "3");
  LineClient fresh(echo_port("echo"));
  EXPECT_EQ(fresh.ask("still here"), "still here") << fresh.error();
  auto i = info("echo");
  EXPECT_EQ(i->version, "1.0.0");
  EXPECT_EQ(i->state, PluginState::kServing);
  EXPECT_EQ(i->reloads, 0u);
  EXPECT_NE(i->last_error.find("import_state"), std::string::npos);
}

TEST_F(PluginManagerTest, AReloadToABrokenBuildLeavesTheOldVersionServing) {
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  LineClient client(echo_port("echo"));
  for (const char* broken : {"wrong_abi.so", "missing_entry.so", "failing_init.so"}) {
    Status reloaded = reload(spec("echo", broken));
    EXPECT_FALSE(reloaded.ok()) << broken;
    EXPECT_EQ(client.ask("?version"), "echo 1.0.0") << broken << ": " << client.error();
  }
}

TEST_F(PluginManagerTest, ANewBuildCopiedOverTheSamePathIsPickedUp) {
  fs::copy_file(kEchoPlugin, plugins_dir() / "live.so");
  ASSERT_TRUE(load(spec("live", "live.so")).ok());
  LineClient client(echo_port("live"));
  ASSERT_EQ(client.ask("?version"), "echo 1.0.0") << client.error();

  fs::copy_file(kEchoV2Plugin, plugins_dir() / "live.so", fs::copy_options::overwrite_existing);
  Status reloaded = call([&] { return manager_->reload("live"); });
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();
  EXPECT_EQ(client.ask("?version"), "echo 2.0.0") << client.error();
  EXPECT_EQ(info("live")->version, "2.0.0");
}

TEST_F(PluginManagerTest, EchoLosesNoLineAndRefusesNoConnectionThroughReloads) {
  constexpr int kReloads = 5;
  constexpr int kLines = 600;
  constexpr int kLinesPerConnection = 25;
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  std::uint16_t port = echo_port("echo");

  std::atomic<int> answered{0};
  std::string failure;  // written by the client thread, read after join
  std::atomic<bool> failed{false};
  std::thread client([&] {
    std::optional<LineClient> conn;
    for (int i = 0; i < kLines; ++i) {
      if (i % kLinesPerConnection == 0) {
        conn.emplace(port);
        if (!conn->connected()) {
          failure = "connection " + std::to_string(i / kLinesPerConnection) + ": " + conn->error();
          failed = true;
          return;
        }
      }
      std::string line = "line " + std::to_string(i);
      auto reply = conn->ask(line);
      if (reply != line) {
        failure = line + " came back as " + reply.value_or("nothing (" + conn->error() + ")");
        failed = true;
        return;
      }
      answered++;
    }
  });

  std::vector<std::string> reload_errors;
  for (int r = 0; r < kReloads; ++r) {
    int before = answered.load();
    // Reload while the client is in the middle of its stream.
    eventually([&] { return answered.load() > before + 20 || failed.load(); });
    Status reloaded = reload(spec("echo", r % 2 == 0 ? "echo_v2.so" : "echo.so"));
    if (!reloaded.ok()) reload_errors.push_back(reloaded.error().to_string());
  }
  client.join();
  EXPECT_EQ(failure, "");
  EXPECT_EQ(answered.load(), kLines);
  EXPECT_TRUE(reload_errors.empty()) << reload_errors.front();
  EXPECT_EQ(info("echo")->reloads, static_cast<std::uint64_t>(kReloads));
  EXPECT_EQ(counter("echo.lines"), static_cast<std::uint64_t>(kLines));
}

TEST_F(PluginManagerTest, UnloadClosesTheListeningSocket) {
  ASSERT_TRUE(load(spec("echo", "echo.so")).ok());
  std::uint16_t port = echo_port("echo");
  ASSERT_TRUE(LineClient(port).connected());
  ASSERT_TRUE(call([&] { return manager_->unload("echo"); }).ok());
  LineClient refused(port);
  EXPECT_FALSE(refused.connected());
  EXPECT_FALSE(info("echo").has_value());
}

TEST_F(PluginManagerTest, TheCPluginsStateAndLevelDbNamespaceOutliveAReload) {
  TempDir data;
  start_manager(leveldb_store_factory(fs::path(data.path()) / "plugins"));
  ASSERT_TRUE(load(spec("c", "c.so", kCConfig)).ok());
  ASSERT_TRUE(eventually([&] { return counter("c.kv_get_ok") == 1; }));
  EXPECT_EQ(manager_->metrics().gauge("c.starts"), 1.0);

  Status reloaded = reload(spec("c", "c.so", kCConfig));
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();
  EXPECT_EQ(manager_->metrics().gauge("c.starts"), 2.0);  // v1's count, imported, plus one
  ASSERT_TRUE(eventually([&] { return counter("c.kv_get_ok") == 2; }));

  call([&] { manager_.reset(); });
  call([] {});  // handlers the manager left queued have run: the database is closed
  auto store = leveldb_store_factory(fs::path(data.path()) / "plugins")("c");
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  auto value = (*store)->get("greeting");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or("<absent>"), "hello");
}

}  // namespace
}  // namespace post::plugin
