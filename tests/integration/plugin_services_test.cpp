// ABI 1.1 in real postd processes on loopback, driven with the real postctl: three nodes load
// the services fixture plugin (tests/unit/plugin/fixtures/services_plugin.cpp) as entry "svc",
// and a second time as "quiet", which registers no admin command handler. Alice is served by
// node 0. Through `postctl command svc ...` the plugin on node 0 appends to Alice's logs and
// shares one; the plugin on node 2, which does not serve Alice, reads the shared log (found
// through Alice's identity, signatures checked) and gets POST_ERR_NOT_FOUND for the other.
// postctl prints the plugin's answers with the documented exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/postd_cluster.h"

namespace post::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int kNodes = 3;
constexpr int kAliceNode = 0;
constexpr int kReaderNode = 2;  // serves nobody
const std::string kAlice = "alice@example.org";

const std::string kSettings =
    std::string(kFastPastryYaml) +
    "plugin_dirs: [plugins]\n"
    "plugins:\n"
    "  - {name: svc, path: plugins/services.so}\n"
    "  - {name: quiet, path: plugins/services.so, config: {admin: false}}\n";

class PluginServicesInPostd : public ::testing::Test {
 protected:
  PluginServicesInPostd() {
    fs::create_directories(fs::path(dir_.path()) / "plugins");
    fs::copy_file(POST_PLUGIN_SERVICES, fs::path(dir_.path()) / "plugins" / "services.so");
  }

  void SetUp() override {
    ASSERT_TRUE(cluster_.ok()) << cluster_.error();
    ASSERT_TRUE(cluster_.add_user(kAliceNode, "Alice", kAlice)) << cluster_.error();
    cluster_.start_all();
    for (int i = 0; i < kNodes; ++i) {
      std::string why;
      ASSERT_TRUE(cluster_.wait_ready(i, 60s, &why)) << why;
    }
    std::string why;
    ASSERT_TRUE(cluster_.wait_published(kAliceNode, kAlice, 60s, &why)) << why;
  }

  // `postctl command <args...>` at node i, as text.
  PostctlRun command(int i, std::vector<std::string> args) {
    args.insert(args.begin(), "command");
    return cluster_.postctl(i, std::move(args), /*json=*/false);
  }

  TempDir dir_;
  PostdCluster cluster_{dir_, {POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes, kSettings};
};

TEST_F(PluginServicesInPostd, ASharedLogIsReadOnANodeThatDoesNotServeItsWriter) {
  for (const char* member : {"bob@example.org", "carol@example.org"}) {
    auto appended = command(kAliceNode, {"svc", "append", kAlice, "members", member});
    ASSERT_EQ(appended.exit_code, 0) << appended.out;
  }
  auto journal = command(kAliceNode, {"svc", "append", kAlice, "journal", "private"});
  ASSERT_EQ(journal.exit_code, 0) << journal.out;
  EXPECT_EQ(journal.out, "appended 0\n");

  auto shared = command(kAliceNode, {"svc", "share", kAlice, "members"});
  ASSERT_EQ(shared.exit_code, 0) << shared.out;
  EXPECT_EQ(shared.out, "shared members of alice@example.org\n");

  auto read = command(kReaderNode, {"svc", "read", kAlice, "members"});
  EXPECT_EQ(read.exit_code, 0) << read.out;
  EXPECT_EQ(read.out, "0=bob@example.org;1=carol@example.org;\n");

  // A record appended after the share is seen by the next read.
  auto third = command(kAliceNode, {"svc", "append", kAlice, "members", "dave@example.org"});
  ASSERT_EQ(third.exit_code, 0) << third.out;
  EXPECT_EQ(third.out, "appended 2\n");
  auto newer = command(kReaderNode, {"svc", "read", kAlice, "members", "2"});
  EXPECT_EQ(newer.exit_code, 0) << newer.out;
  EXPECT_EQ(newer.out, "2=dave@example.org;\n");

  // The unshared log, and a user nobody serves: POST_ERR_NOT_FOUND (-2), exit 1.
  auto unshared = command(kReaderNode, {"svc", "read", kAlice, "journal"});
  EXPECT_EQ(unshared.exit_code, 1) << unshared.out;
  EXPECT_THAT(unshared.out, HasSubstr("plugin svc answered -2: "));
  EXPECT_THAT(unshared.out, HasSubstr("has not shared log 'journal' of plugin 'services-fixture'"));
  auto unknown = command(kReaderNode, {"svc", "read", "nobody@example.org", "members"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_THAT(unknown.out, HasSubstr("plugin svc answered -2: "));
}

TEST_F(PluginServicesInPostd, PostctlCommandReachesThePluginAndExitsWithItsAnswer) {
  auto echoed = command(kReaderNode, {"svc", "echo", "hello", "world"});
  EXPECT_EQ(echoed.exit_code, 0) << echoed.out;
  EXPECT_EQ(echoed.out, "hello world\n");

  auto later = command(kReaderNode, {"svc", "later", "answered", "later"});
  EXPECT_EQ(later.exit_code, 0) << later.out;
  EXPECT_EQ(later.out, "answered later\n");

  auto as_json = cluster_.postctl(kReaderNode, {"command", "svc", "echo", "x"});
  EXPECT_EQ(as_json.exit_code, 0) << as_json.out;
  EXPECT_EQ(as_json.json, (nlohmann::json{{"plugin", "svc"}, {"status", 0}, {"text", "x"}}))
      << as_json.out;

  // The plugin's error: its text on stderr, exit 1.
  auto failed = command(kReaderNode, {"svc", "fail", "no", "such", "list"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_EQ(failed.out, "postctl: plugin svc answered -8: no such list\n");

  // The host's refusals: exit 1 with the reason.
  auto no_handler = command(kReaderNode, {"quiet", "echo", "x"});
  EXPECT_EQ(no_handler.exit_code, 1) << no_handler.out;
  EXPECT_THAT(no_handler.out, HasSubstr("plugin 'quiet' (services-fixture 1.0.0) takes no admin "
                                        "commands"));
  auto no_plugin = command(kReaderNode, {"nosuch", "echo"});
  EXPECT_EQ(no_plugin.exit_code, 1) << no_plugin.out;
  EXPECT_THAT(no_plugin.out, HasSubstr("plugin 'nosuch': not loaded"));

  // Usage errors: exit 2, nothing sent.
  auto no_name = command(kReaderNode, {});
  EXPECT_EQ(no_name.exit_code, 2) << no_name.out;
  auto too_many = command(kReaderNode, std::vector<std::string>(66, "a"));
  EXPECT_EQ(too_many.exit_code, 2) << too_many.out;
  EXPECT_THAT(too_many.out, HasSubstr("65 arguments; a plugin takes at most 64"));
}

}  // namespace
}  // namespace post::testing
