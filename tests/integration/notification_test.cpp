// POST notifications on five real postd processes over TCP (issue 6): alice is served by one
// node, bob by another, each issued by the cluster's CA with the real post-ca and listed in
// the node's users:. A notification alice sends while bob's node is up goes straight to it
// and bob has it exactly once. Then bob's node stops (SIGTERM); three more notifications are
// handed to delegates; bob's node starts again on the same data directory and receives all
// three, each exactly once, and still has the first one, once. Notifications also flow from
// bob to alice. Everything goes through the real postctl.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "host/core/crypto.h"
#include "tests/support/postd_cluster.h"

namespace post {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::PostdCluster;

constexpr int kNodes = 5;
constexpr int kAliceNode = 1;
constexpr int kBobNode = 2;
const std::string kAlice = "alice@example.org";
const std::string kBob = "bob@example.org";

// Fast liveness, Scribe repair and presence, and delegates that re-read the recipient's
// identity every 3 s, so a restarted node gets its notifications within seconds.
const std::string kSettings = std::string(testing::kFastPastryYaml) +
                              "scribe:\n"
                              "  heartbeat_interval: 1s\n"
                              "  parent_timeout: 3s\n"
                              "  subscribe_timeout: 2s\n"
                              "presence:\n"
                              "  interval: 2s\n"
                              "notifications:\n"
                              "  recheck_interval: 3s\n"
                              "  deliver_timeout: 2s\n"
                              "  delegate_timeout: 5s\n";

// One received notification as postctl shows it.
struct Got {
  std::string id;
  std::string sender;
  std::string application;
  std::string data;
};

class Notifications : public ::testing::Test {
 protected:
  Notifications() : cluster(dir, {POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes, kSettings) {}

  void SetUp() override {
    ASSERT_TRUE(cluster.ok()) << cluster.error();
    ASSERT_TRUE(cluster.add_user(kAliceNode, "Alice", kAlice)) << cluster.error();
    ASSERT_TRUE(cluster.add_user(kBobNode, "Bob", kBob)) << cluster.error();
    cluster.start_all();
    for (int i = 0; i < kNodes; ++i) {
      std::string why;
      ASSERT_TRUE(cluster.wait_ready(i, 60s, &why)) << why;
    }
    ASSERT_NO_FATAL_FAILURE(wait_published(kAliceNode, kAlice));
    ASSERT_NO_FATAL_FAILURE(wait_published(kBobNode, kBob));
  }

  void wait_published(int i, const std::string& email) {
    std::string why;
    ASSERT_TRUE(cluster.wait_published(i, email, 60s, &why)) << why;
  }

  // Sends `data` from `from` (served by node i) to `to`; the postctl JSON answer.
  json notify(int i, const std::string& from, const std::string& to, const std::string& data) {
    auto run = cluster.postctl(i, {"--timeout", "40", "notify", "--from", from, "--to", to, "--app",
                                   "chat", "--data", data});
    EXPECT_EQ(run.exit_code, 0) << run.out << "\nsender's log:\n" << cluster.log(i);
    return run.json;
  }

  // What `email` (served by node i) received, in order; empty when postctl failed.
  std::vector<Got> received(int i, const std::string& email) {
    auto run = cluster.postctl(i, {"notifications", "--user", email});
    std::vector<Got> out;
    if (run.exit_code != 0 || !run.json.contains("notifications")) return out;
    for (const auto& n : run.json["notifications"]) {
      auto bytes = crypto::base64_decode(n["app_data_base64"].get<std::string>());
      out.push_back(Got{n["id"].get<std::string>(), n["sender_email"].get<std::string>(),
                        n["application"].get<std::string>(),
                        bytes.ok() ? std::string(bytes->begin(), bytes->end()) : "?"});
    }
    return out;
  }

  // Waits until `email` at node i has received `count` notifications (or more).
  std::vector<Got> wait_received(int i, const std::string& email, std::size_t count,
                                 std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto got = received(i, email);
      if (got.size() >= count || std::chrono::steady_clock::now() > deadline) return got;
      std::this_thread::sleep_for(250ms);
    }
  }

  // How often each id appears.
  static std::map<std::string, int> counts(const std::vector<Got>& got) {
    std::map<std::string, int> c;
    for (const auto& g : got) ++c[g.id];
    return c;
  }

  // Notifications the nodes `nodes` hold for others now, in all.
  std::size_t held_now(const std::vector<int>& nodes) {
    std::size_t held = 0;
    for (int i : nodes) {
      json s = cluster.status(i);
      if (s.is_object() && s["notifications"].is_object()) {
        held += s["notifications"]["held_now"].get<std::size_t>();
      }
    }
    return held;
  }

  std::string all_logs() {
    std::string logs;
    for (int i = 0; i < kNodes; ++i) {
      logs += "---- node" + std::to_string(i) + "\n" + cluster.log(i);
    }
    return logs;
  }

  testing::TempDir dir;
  PostdCluster cluster;
};

TEST_F(Notifications, ReachTheRecipientDirectlyAndThroughDelegatesAcrossARestart) {
  // Both nodes up: straight to bob's node, once.
  json first = notify(kAliceNode, kAlice, kBob, "hello bob");
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["path"], "direct");
  ASSERT_EQ(first["nodes"].size(), 1u);
  EXPECT_EQ(first["nodes"][0]["node_id"], cluster.node_id(kBobNode));
  const std::string first_id = first["id"].get<std::string>();

  auto got = wait_received(kBobNode, kBob, 1, 20s);
  ASSERT_EQ(got.size(), 1u) << all_logs();
  EXPECT_EQ(got[0].id, first_id);
  EXPECT_EQ(got[0].sender, kAlice);
  EXPECT_EQ(got[0].application, "chat");
  EXPECT_EQ(got[0].data, "hello bob");

  // And the other way.
  json back = notify(kBobNode, kBob, kAlice, "hello alice");
  EXPECT_EQ(back["path"], "direct");
  auto alice_got = wait_received(kAliceNode, kAlice, 1, 20s);
  ASSERT_EQ(alice_got.size(), 1u) << all_logs();
  EXPECT_EQ(alice_got[0].sender, kBob);
  EXPECT_EQ(alice_got[0].data, "hello alice");

  // Bob's node leaves: what alice sends now waits with delegates.
  cluster.stop(kBobNode);
  ASSERT_FALSE(cluster.running(kBobNode));
  std::vector<std::string> later_ids;
  for (int n = 1; n <= 3; ++n) {
    json later = notify(kAliceNode, kAlice, kBob, "while you were away " + std::to_string(n));
    ASSERT_TRUE(later.is_object()) << all_logs();
    EXPECT_EQ(later["path"], "delegated") << later.dump();
    EXPECT_GE(later["nodes"].size(), 1u) << later.dump();
    later_ids.push_back(later["id"].get<std::string>());
  }

  // Some live nodes hold them (each notification by up to `delegates` nodes).
  EXPECT_GE(held_now({0, 1, 3, 4}), 3u) << all_logs();

  // Back on the same data directory: the three arrive, each once, and the first is still
  // there, once.
  cluster.start(kBobNode);
  std::string why;
  ASSERT_TRUE(cluster.wait_ready(kBobNode, 60s, &why)) << why;
  got = wait_received(kBobNode, kBob, 4, 45s);
  ASSERT_EQ(got.size(), 4u) << all_logs();
  auto c = counts(got);
  EXPECT_EQ(c[first_id], 1);
  for (const auto& id : later_ids) EXPECT_EQ(c[id], 1) << id;
  EXPECT_EQ(got[0].id, first_id);  // kept in arrival order across the restart
  std::set<std::string> texts;
  for (std::size_t k = 1; k < got.size(); ++k) texts.insert(got[k].data);
  EXPECT_EQ(texts, (std::set<std::string>{"while you were away 1", "while you were away 2",
                                          "while you were away 3"}));

  // The delegates forget them once bob's node took them; nothing arrived twice meanwhile.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (held_now({0, 1, 2, 3, 4}) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(held_now({0, 1, 2, 3, 4}), 0u) << all_logs();
  got = received(kBobNode, kBob);
  EXPECT_EQ(got.size(), 4u) << all_logs();

  // The sender's counters say how they left.
  json status = cluster.status(kAliceNode);
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["notifications"]["sent_direct"], 1);
  EXPECT_EQ(status["notifications"]["sent_delegated"], 3);
}

TEST_F(Notifications, ErrorsNameTheProblem) {
  // A sender this node does not serve.
  auto run = cluster.postctl(kBobNode, {"notify", "--from", kAlice, "--to", kBob, "--data", "x"},
                             /*json=*/false);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, ::testing::HasSubstr("'" + kAlice + "' is not a user this node serves"));
  // A recipient nobody issued.
  run = cluster.postctl(
      kAliceNode,
      {"--timeout", "40", "notify", "--from", kAlice, "--to", "nobody@example.org", "--data", "x"},
      /*json=*/false);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, ::testing::HasSubstr("nobody@example.org"));
  // Notifications of a user another node serves.
  run = cluster.postctl(kAliceNode, {"notifications", "--user", kBob}, /*json=*/false);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, ::testing::HasSubstr("is not a user this node serves"));
}

}  // namespace
}  // namespace post
