// Plugins in a real postd, configured in its YAML, driven with the real postctl and real TCP
// clients: plugins built against the installed SDK, in plain C and with the C++ wrapper load;
// broken ones are refused while the node serves; echo is reloaded 20 times, a new build each
// time, under a steady stream of requests that loses none; edits of node.yaml take effect.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/line_client.h"
#include "tests/support/postd_cluster.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace post::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

// What `?version` on a new connection says, or "" when the connection or answer fails.
std::string version_on_new_connection(unsigned short port) {
  LineClient c(port);
  return c.ask("?version").value_or("");
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to `path` as editors do: a new file renamed over the old one.
void replace_file(const fs::path& path, const std::string& text) {
  fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);
}

// Installs a plugin build at `to` as `install` does: copied beside it, then renamed over it.
void install_build(const fs::path& from, const fs::path& to) {
  fs::path tmp = to.parent_path() / ("." + to.filename().string() + ".new");
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, to);
}

// Copies a build over `to` in place (truncate and write, as cp does).
void copy_over(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

// Paths of the 20 distinct echo builds ("echo 1.1.0" ... "echo 1.20.0"), ';'-separated.
std::vector<std::string> echo_builds() {
  std::vector<std::string> out;
  std::stringstream s(POST_ECHO_BUILDS);
  for (std::string item; std::getline(s, item, ';');) out.push_back(item);
  return out;
}

class PluginsInPostd : public ::testing::Test {
 protected:
  // One postd whose plugins: section is `plugins_yaml`, with `files` copied into plugins/.
  void start_node(const std::string& plugins_yaml, const std::vector<std::string>& files) {
    fs::create_directories(dir_.path() + "/plugins");
    for (const auto& f : files) {
      fs::copy_file(f, plugins_dir() / fs::path(f).filename(),
                    fs::copy_options::overwrite_existing);
    }
    cluster_ = std::make_unique<PostdCluster>(
        dir_, ClusterBinaries{POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, 1,
        std::string(kFastPastryYaml) + "plugin_dirs: [plugins]\nplugin_watch: {debounce: 200ms}\n" +
            plugins_yaml);
    ASSERT_TRUE(cluster_->ok()) << cluster_->error();
    cluster_->start(0);
    std::string why;
    ASSERT_TRUE(cluster_->wait_ready(0, 60s, &why)) << why;
  }

  fs::path plugins_dir() const { return fs::path(dir_.path()) / "plugins"; }
  fs::path config_file() const { return fs::path(dir_.path()) / "node0.yaml"; }

  // postctl --json plugins: name -> entry.
  std::map<std::string, nlohmann::json> plugins() const {
    auto run = cluster_->postctl(0, {"plugins"});
    std::map<std::string, nlohmann::json> out;
    if (!run.json.is_object()) return out;
    for (const auto& p : run.json["plugins"]) out[p.value("name", "")] = p;
    return out;
  }
  std::string state_of(const std::string& name) const {
    auto all = plugins();
    return all.contains(name) ? all[name].value("state", "") : "<absent>";
  }

  // Polls `done` until it holds or `timeout` passes.
  static bool eventually(const std::function<bool()>& done, std::chrono::seconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  TempDir dir_;
  std::unique_ptr<PostdCluster> cluster_;
};

std::string echo_entry(unsigned short port, bool enabled = true) {
  return "  - name: echo\n"
         "    path: plugins/echo.so\n"
         "    enabled: " +
         std::string(enabled ? "true" : "false") +
         "\n"
         "    config: {listen: \"127.0.0.1:" +
         std::to_string(port) + "\"}\n";
}

TEST_F(PluginsInPostd, LoadFromYamlAndRefuseBrokenPluginsWhileTheNodeServes) {
  unsigned short port = free_port();
  start_node("plugins:\n" + echo_entry(port) +
                 "  - {name: c, path: plugins/plugin_fixture_c.so,\n"
                 "     config: {greeting: hello, limits: {repeat: 3}, loud: true}}\n"
                 "  - {name: hello, path: plugins/hello.so}\n"
                 "  - {name: wrong-abi, path: plugins/plugin_fixture_wrong_abi.so}\n"
                 "  - {name: no-entry, path: plugins/plugin_fixture_missing_entry.so}\n"
                 "  - {name: bad-init, path: plugins/plugin_fixture_failing_init.so}\n",
             {POST_PLUGIN_ECHO, POST_PLUGIN_C, POST_PLUGIN_OUT_OF_TREE, POST_PLUGIN_WRONG_ABI,
              POST_PLUGIN_MISSING_ENTRY, POST_PLUGIN_FAILING_INIT});

  auto all = plugins();
  ASSERT_EQ(all.size(), 6u) << cluster_->postctl(0, {"plugins"}, false).out;
  EXPECT_EQ(all["echo"]["state"], "serving");
  EXPECT_EQ(all["c"]["state"], "serving");
  EXPECT_EQ(all["c"]["plugin_name"], "c-plugin");
  // Built out of tree against the installed SDK (find_package(PostSDK)).
  EXPECT_EQ(all["hello"]["state"], "serving");
  EXPECT_EQ(all["hello"]["version"], "1.0.0");
  EXPECT_THAT(cluster_->log(0), HasSubstr("hello, started 1 times"));

  EXPECT_EQ(all["wrong-abi"]["state"], "not loaded");
  EXPECT_THAT(all["wrong-abi"].value("error", ""), HasSubstr("ABI"));
  EXPECT_EQ(all["no-entry"]["state"], "not loaded");
  EXPECT_THAT(all["no-entry"].value("error", ""), HasSubstr("post_plugin_entry_v1"));
  EXPECT_EQ(all["bad-init"]["state"], "not loaded");
  EXPECT_THAT(all["bad-init"].value("error", ""),
              HasSubstr("cannot reach the mail spool (test fixture)"));
  // The log names each refused plugin and why.
  EXPECT_THAT(cluster_->log(0), HasSubstr("plugin 'bad-init'"));

  // The node and echo serve.
  LineClient client(port);
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.ask("hello there"), "hello there");
  EXPECT_EQ(client.ask("?version"), "echo 1.0.0");
  EXPECT_EQ(cluster_->status(0).value("state", ""), "ready");

  // postctl's table, for a person.
  auto table = cluster_->postctl(0, {"plugins"}, false);
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, HasSubstr("6 plugin(s) configured"));
  EXPECT_THAT(table.out, HasSubstr("bad-init: "));
}

TEST_F(PluginsInPostd, EchoReloadedTwentyTimesUnderLoadLosesNoRequestAndRefusesNoConnection) {
  auto builds = echo_builds();
  ASSERT_EQ(builds.size(), 20u);
  unsigned short port = free_port();
  start_node("plugins:\n" + echo_entry(port), {POST_PLUGIN_ECHO});
  fs::path echo_so = plugins_dir() / "echo.so";

  // The steady stream: one long-lived connection asking line after line, and a new
  // connection every few lines.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sent{0}, answered{0}, wrong{0}, refused{0}, connections{0};
  std::thread load([&] {
    LineClient steady(port);
    if (!steady.connected()) {
      ++refused;
      return;
    }
    for (std::uint64_t i = 0; !stop; ++i) {
      std::string line = "line " + std::to_string(i);
      ++sent;
      auto reply = steady.ask(line);
      if (!reply) break;
      (*reply == line ? answered : wrong)++;
      if (i % 10 == 0) {
        LineClient fresh(port);
        ++connections;
        if (!fresh.connected()) {
          ++refused;
          continue;
        }
        ++sent;
        auto r = fresh.ask("fresh " + std::to_string(i));
        if (r) (*r == "fresh " + std::to_string(i) ? answered : wrong)++;
      }
    }
  });

  for (std::size_t i = 0; i < builds.size(); ++i) {
    std::string version = "echo 1." + std::to_string(i + 1) + ".0";
    // Alternately installed by rename and copied over the same path in place: the watcher
    // reloads both, and the new image is loaded, not the cached old one.
    if (i % 2 == 0) {
      install_build(builds[i], echo_so);
    } else {
      copy_over(builds[i], echo_so);
    }
    ASSERT_TRUE(eventually([&] { return version_on_new_connection(port) == version; }))
        << "build " << i + 1 << " not serving; version says '" << version_on_new_connection(port)
        << "'; log:\n"
        << cluster_->log(0);
  }
  // An explicit reload through postctl, of the same file.
  auto reload = cluster_->postctl(0, {"reload", "echo"});
  EXPECT_EQ(reload.exit_code, 0) << reload.out;
  EXPECT_EQ(reload.json.value("reloads", 0), 21);

  // A broken build: the old version keeps serving and the failure is reported.
  copy_over(POST_PLUGIN_WRONG_ABI, echo_so);
  ASSERT_TRUE(eventually([&] { return !plugins()["echo"].value("error", "").empty(); }));
  EXPECT_THAT(plugins()["echo"].value("error", ""), HasSubstr("ABI"));
  EXPECT_EQ(plugins()["echo"]["state"], "serving");
  EXPECT_EQ(version_on_new_connection(port), "echo 1.20.0");

  std::this_thread::sleep_for(300ms);
  stop = true;
  load.join();
  std::cerr << sent << " requests sent, " << answered << " answered, " << connections
            << " new connections through 22 reloads\n";
  EXPECT_GT(sent.load(), 100u);
  EXPECT_EQ(answered.load(), sent.load()) << wrong << " wrong answers";
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(refused.load(), 0u) << "of " << connections << " connections";
  EXPECT_EQ(plugins()["echo"].value("reloads", 0), 21);
}

TEST_F(PluginsInPostd, EditsOfTheYamlAndPostctlEnableDisableTakeEffect) {
  unsigned short port = free_port();
  std::string c_entry =
      "  - {name: c, path: plugins/plugin_fixture_c.so, enabled: false,\n"
      "     config: {greeting: hello, limits: {repeat: 3}, loud: true}}\n";
  start_node("plugins:\n" + echo_entry(port) + c_entry, {POST_PLUGIN_ECHO, POST_PLUGIN_C});
  EXPECT_EQ(state_of("echo"), "serving");
  EXPECT_EQ(state_of("c"), "disabled");
  std::string yaml = read_text(config_file());

  // Disable echo in the file: it is unloaded and its socket closed.
  std::string echo_off = yaml;
  echo_off.replace(echo_off.find(echo_entry(port)), echo_entry(port).size(),
                   echo_entry(port, false));
  replace_file(config_file(), echo_off);
  ASSERT_TRUE(eventually([&] { return state_of("echo") == "disabled"; }));
  LineClient closed(port);
  EXPECT_FALSE(closed.connected());
  EXPECT_EQ(closed.connect_errno(), ECONNREFUSED);

  // Enable both in the file.
  std::string both_on = yaml;
  both_on.replace(both_on.find("enabled: false"), 14, "enabled: true");
  replace_file(config_file(), both_on);
  ASSERT_TRUE(
      eventually([&] { return state_of("echo") == "serving" && state_of("c") == "serving"; }));
  EXPECT_EQ(version_on_new_connection(port), "echo 1.0.0");

  // A bad edit is refused with file, line and key, and changes nothing.
  std::string bad = both_on;
  bad.replace(bad.find("enabled: true"), 13, "enabled: maybe");
  replace_file(config_file(), bad);
  ASSERT_TRUE(eventually([&] {
    auto run = cluster_->postctl(0, {"plugins"});
    return run.json.is_object() && !run.json.value("config_error", "").empty();
  }));
  std::string error = cluster_->postctl(0, {"plugins"}).json.value("config_error", "");
  EXPECT_THAT(error, HasSubstr(config_file().string() + ":"));
  EXPECT_THAT(error, HasSubstr("plugins[0].enabled"));
  EXPECT_EQ(state_of("echo"), "serving");
  EXPECT_EQ(state_of("c"), "serving");

  // Changing a plugin's config in the file reloads it with the new config.
  unsigned short port2 = free_port();
  std::string moved = both_on;
  moved.replace(moved.find(std::to_string(port)), std::to_string(port).size(),
                std::to_string(port2));
  replace_file(config_file(), moved);
  ASSERT_TRUE(eventually([&] { return version_on_new_connection(port2) == "echo 1.0.0"; }));
  EXPECT_TRUE(cluster_->postctl(0, {"plugins"}).json.value("config_error", "x").empty());

  // postctl disable / enable, in the running node.
  auto off = cluster_->postctl(0, {"disable", "echo"});
  EXPECT_EQ(off.exit_code, 0) << off.out;
  EXPECT_EQ(state_of("echo"), "disabled");
  EXPECT_EQ(version_on_new_connection(port2), "");
  auto on = cluster_->postctl(0, {"enable", "echo"});
  EXPECT_EQ(on.exit_code, 0) << on.out;
  EXPECT_EQ(on.json.value("state", ""), "serving");
  EXPECT_EQ(version_on_new_connection(port2), "echo 1.0.0");
  auto unknown = cluster_->postctl(0, {"reload", "nope"}, false);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.out, HasSubstr("no plugin named 'nope' is configured"));
  EXPECT_EQ(cluster_->status(0).value("state", ""), "ready");
}

TEST_F(PluginsInPostd, EchoBroadcastsThroughScribeToTheEchoOfEveryNode) {
  // Three nodes, each running echo on its own port; a broadcast sent to one reaches all.
  fs::create_directories(plugins_dir());
  fs::copy_file(POST_PLUGIN_ECHO, plugins_dir() / "echo.so");
  std::vector<unsigned short> ports{free_port(), free_port(), free_port()};
  PostdCluster cluster(dir_, ClusterBinaries{POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, 3,
                       std::string(kFastPastryYaml) + "plugin_dirs: [plugins]\n");
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  // Each node's configuration gets its own echo port.
  for (int i = 0; i < 3; ++i) {
    fs::path file = fs::path(dir_.path()) / ("node" + std::to_string(i) + ".yaml");
    std::ofstream(file, std::ios::app) << "plugins:\n" << echo_entry(ports[i]);
  }
  cluster.start_all();
  std::string why;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster.wait_ready(i, 60s, &why)) << why;

  // Until every echo is in the topic's tree, a broadcast may miss some; send until the
  // last node has seen one, then check one more reaches all three.
  LineClient sender(ports[0]);
  ASSERT_TRUE(sender.connected()) << sender.error();
  auto broadcasts_at = [&](int i) {
    LineClient c(ports[i]);
    if (!c.connected()) return std::string();
    auto head = c.ask("?broadcasts");
    std::string all = head.value_or("");
    int n = 0;
    if (head && head->rfind("broadcasts ", 0) == 0) n = std::stoi(head->substr(11));
    for (int k = 0; k < n; ++k) all += "\n" + c.read_line().value_or("");
    return all;
  };
  ASSERT_TRUE(eventually(
      [&] {
        if (sender.ask("!broadcast warm-up") != "broadcast queued") return false;
        return broadcasts_at(1).find("warm-up") != std::string::npos &&
               broadcasts_at(2).find("warm-up") != std::string::npos;
      },
      60s))
      << "node0 log:\n"
      << cluster.log(0);
  EXPECT_EQ(sender.ask("!broadcast hello ring"), "broadcast queued");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(eventually([&] {
      return broadcasts_at(i).find("hello ring") != std::string::npos;
    })) << "node"
        << i << ": " << broadcasts_at(i);
  }
}

TEST_F(PluginsInPostd, APluginWritingToAClientThatHasGoneDoesNotKillTheNode) {
  // The frozen ABI 1.0 echo answers with write(2), as plain plugins do; a write to a
  // connection the client reset raises SIGPIPE, which would end postd unless it ignores it.
  unsigned short port = free_port();
  start_node(
      "plugins:\n  - {name: frozen, path: plugins/frozen_echo_v1.so, config: {listen: "
      "\"127.0.0.1:" +
          std::to_string(port) + "\"}}\n",
      {POST_PLUGIN_FROZEN_V1});
  ASSERT_EQ(state_of("frozen"), "serving");
  for (int round = 0; round < 20; ++round) {
    LineClient gone(port);
    ASSERT_TRUE(gone.connected()) << gone.error();
    std::string burst;
    for (int i = 0; i < 2000; ++i) burst += "a line the client will never read\n";
    gone.send_line(burst);
    gone.reset();  // RST: the plugin's next writes fail
  }
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(cluster_->running(0)) << cluster_->log(0);
  LineClient after(port);
  ASSERT_TRUE(after.connected()) << after.error();
  EXPECT_EQ(after.ask("still here"), "still here");
  EXPECT_EQ(cluster_->status(0).value("state", ""), "ready");
}

TEST_F(PluginsInPostd, PostdRefusesAConfigWithABadPluginEntryNamingFileLineAndKey) {
  fs::create_directories(plugins_dir());
  fs::create_directories(fs::path(dir_.path()) / "elsewhere");
  fs::copy_file(POST_PLUGIN_ECHO, fs::path(dir_.path()) / "elsewhere/echo.so");
  PostdCluster cluster(
      dir_, ClusterBinaries{POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, 1,
      "plugin_dirs: [plugins]\nplugins:\n  - {name: echo, path: elsewhere/echo.so}\n");
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  std::string log = dir_.file("check.log");
  int code = run_command({POSTD_BIN, "--check-config", "--config", config_file().string()}, log);
  EXPECT_EQ(code, 2);
  std::string out = read_text(log);
  EXPECT_THAT(out, HasSubstr(config_file().string() + ":"));
  EXPECT_THAT(out, HasSubstr("plugins[0].path: "));
  EXPECT_THAT(out, HasSubstr("is outside the plugin directories"));
}

}  // namespace
}  // namespace post::testing
