// The current host loads and serves a plugin binary built against plugin ABI 1.0 and
// committed (tests/abi/frozen_v1): a change to the host that breaks plugins already out
// there fails here, whatever the current SDK headers say.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "host/plugin/plugin_manager.h"
#include "tests/support/line_client.h"
#include "tests/support/test_support.h"

namespace post::plugin {
namespace {

namespace fs = std::filesystem;

// The committed binary (a compile definition from CMake).
const fs::path kFrozenEchoV1 = POST_FROZEN_ECHO_V1;

using post::testing::LineClient;

// A manager whose io_context runs on a thread of its own, as in postd, with the frozen
// binary copied into its plugin directory as frozen.so.
class FrozenV1Plugin : public ::testing::Test {
 protected:
  FrozenV1Plugin() {
    fs::create_directories(plugins_dir());
    fs::copy_file(kFrozenEchoV1, plugins_dir() / "frozen.so");
    io_thread_ = std::thread([this] { io_.run(); });
    call([this] {
      manager_ = std::make_unique<PluginManager>(
          io_, PluginManagerOptions{{plugins_dir()}, fs::path(dir_.path()) / "run", {}});
    });
  }

  ~FrozenV1Plugin() override {
    call([this] { manager_.reset(); });
    work_.reset();
    io_thread_.join();
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

  // Loads frozen.so in slot "frozen", with `yaml` as its config map (none when empty).
  Status load(const std::string& yaml = "") {
    PluginSpec spec{"frozen", plugins_dir() / "frozen.so", std::nullopt};
    if (!yaml.empty()) {
      auto node = config::Node::load_string(yaml, "node.yaml");
      EXPECT_TRUE(node.ok()) << node.error().to_string();
      if (node.ok()) spec.config = *node;
    }
    return call([&] { return manager_->load(spec); });
  }
  std::uint16_t port() const {
    return static_cast<std::uint16_t>(manager_->metrics().gauge("frozen.port").value_or(0));
  }
  std::uint64_t lines() const { return manager_->metrics().counter("frozen.lines").value_or(0); }

  // Waits (polling) until `done()` holds, at most 10 s.
  static bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  post::testing::TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread io_thread_;
  std::unique_ptr<PluginManager> manager_;
};

TEST_F(FrozenV1Plugin, IsLoadedAndServesLinesThroughTheCurrentHost) {
  Status loaded = load("greeting: built for ABI 1.0\n");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  auto info = call([&] { return manager_->find("frozen"); });
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->plugin_name, "frozen-echo");
  EXPECT_EQ(info->version, "1.0.0");
  EXPECT_EQ(info->state, PluginState::kServing);

  ASSERT_NE(port(), 0);
  LineClient client(port());
  EXPECT_EQ(client.ask("hello, old friend"), "hello, old friend") << client.error();
  EXPECT_EQ(client.ask("?version"), "frozen-echo 1.0.0 abi 1.0") << client.error();
  EXPECT_EQ(client.ask("?greeting"), "built for ABI 1.0") << client.error();
  EXPECT_EQ(client.ask("?count"), "3") << client.error();
  EXPECT_TRUE(eventually([&] { return lines() == 4; })) << lines();
}

TEST_F(FrozenV1Plugin, ReloadsOntoItselfKeepingItsPortAndLineCount) {
  ASSERT_TRUE(load().ok());
  std::uint16_t before = port();
  {
    LineClient client(before);
    ASSERT_EQ(client.ask("one"), "one") << client.error();
    ASSERT_EQ(client.ask("two"), "two") << client.error();
  }
  Status reloaded = call([&] { return manager_->reload("frozen"); });
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();
  EXPECT_EQ(call([&] { return manager_->find("frozen"); })->reloads, 1u);
  EXPECT_EQ(port(), before);  // the host-owned socket stayed open

  LineClient client(before);
  EXPECT_EQ(client.ask("?count"), "2") << client.error();  // drained, exported, imported
  EXPECT_EQ(client.ask("?greeting"), "hello") << client.error();
}

TEST_F(FrozenV1Plugin, IsStoppedAndUnloadedWithItsSocketClosed) {
  ASSERT_TRUE(load().ok());
  std::uint16_t listening = port();
  LineClient client(listening);
  ASSERT_EQ(client.ask("still here"), "still here") << client.error();

  Status unloaded = call([&] { return manager_->unload("frozen"); });
  ASSERT_TRUE(unloaded.ok()) << unloaded.error().to_string();
  EXPECT_FALSE(call([&] { return manager_->find("frozen"); }).has_value());
  EXPECT_EQ(client.ask("anyone?"), std::nullopt);  // stop() closed the connection
  LineClient late(listening);
  EXPECT_EQ(late.ask("hello"), std::nullopt) << "the listening socket is still open";
}

}  // namespace
}  // namespace post::plugin
