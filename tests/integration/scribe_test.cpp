// Scribe on eight real postd processes over TCP (issue 5): every node subscribes to a group
// through postctl, a publication reaches each member once; a forwarder (an interior node of
// the tree, not the root) is killed, the tree repairs itself, and the next publication again
// reaches every live member once; then the root is killed and the same holds. Anycast finds
// the one member that accepts, and fails clearly on a group nobody is in.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "host/core/crypto.h"
#include "tests/support/postd_cluster.h"

namespace post {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::PostdCluster;

constexpr int kNodes = 8;

// Fast liveness; at most two children per node, so that an eight-member tree has forwarders
// below the root (the bottleneck remover pushes the others down).
const std::string kSettings = std::string(testing::kFastPastryYaml) +
    "scribe:\n"
    "  heartbeat_interval: 1s\n"
    "  parent_timeout: 3s\n"
    "  subscribe_timeout: 2s\n"
    "  max_children: 2\n"
    "  anycast_timeout: 10s\n";

// One node's view of the group from `postctl groups`.
struct Role {
  bool root = false;
  std::string parent;  // node id hex, "" when none
  std::set<std::string> children;
};

class Scribe : public ::testing::Test {
 protected:
  Scribe() : cluster(dir, {POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes, kSettings) {}

  // The payloads node i received for `group`, decoded, in order.
  std::vector<std::string> received(int i, const std::string& group) {
    auto run = cluster.postctl(i, {"received", group});
    std::vector<std::string> out;
    if (run.exit_code != 0 || !run.json.contains("messages")) return out;
    for (const auto& m : run.json["messages"]) {
      auto bytes = crypto::base64_decode(m["payload_base64"].get<std::string>());
      if (bytes.ok()) out.emplace_back(bytes->begin(), bytes->end());
    }
    return out;
  }

  // Node i's role in `group` (by its id), or nullopt when it is not in the tree.
  std::optional<Role> role(int i, const std::string& group_id) {
    auto run = cluster.postctl(i, {"groups"});
    if (run.exit_code != 0 || !run.json.contains("groups")) return std::nullopt;
    for (const auto& g : run.json["groups"]) {
      if (g["group"] != group_id) continue;
      Role r;
      r.root = g["root"].get<bool>();
      if (g["parent"].is_object()) r.parent = g["parent"]["node_id"].get<std::string>();
      for (const auto& c : g["children"]) r.children.insert(c["node_id"].get<std::string>());
      if (!r.root && r.parent.empty()) return std::nullopt;  // still joining
      return r;
    }
    return std::nullopt;
  }

  // Whether the live nodes form one tree: exactly one root, and every other live node's
  // parent chain reaches it through live nodes only, each parent listing the child.
  bool tree_is_whole(const std::set<int>& live, const std::string& group_id, std::string* why) {
    std::map<std::string, Role> roles;  // by node id
    for (int i : live) {
      auto r = role(i, group_id);
      if (!r) {
        *why = "node" + std::to_string(i) + " is not in the tree";
        return false;
      }
      roles[ids[i]] = *r;
    }
    int roots = 0;
    for (const auto& [id, r] : roles) roots += r.root ? 1 : 0;
    if (roots != 1) {
      *why = std::to_string(roots) + " roots";
      return false;
    }
    for (const auto& [id, r] : roles) {
      std::string at = id;
      for (int steps = 0; !roles[at].root; ++steps) {
        const std::string parent = roles[at].parent;
        if (!roles.contains(parent) || !roles[parent].children.contains(at) || steps > kNodes) {
          *why = "node " + at.substr(0, 8) + " hangs from " + parent.substr(0, 8) +
                 ", which is not a live parent of it";
          return false;
        }
        at = parent;
      }
    }
    return true;
  }

  void wait_for_whole_tree(const std::set<int>& live, const std::string& group_id) {
    std::string why;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!tree_is_whole(live, group_id, &why)) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::string views;
        for (int i : live) {
          views += "node" + std::to_string(i) + " " + ids[i].substr(0, 8) + ": " +
                   cluster.postctl(i, {"groups"}, false).out;
        }
        FAIL() << "the tree did not repair: " << why << "\n" << views;
      }
      std::this_thread::sleep_for(500ms);
    }
  }

  // Publishes `message` through node `from` and waits until every live node has it; then
  // checks that each has it exactly once.
  void publish_and_check(int from, const std::set<int>& live, const std::string& message) {
    auto run = cluster.postctl(from, {"publish", "news", message});
    ASSERT_EQ(run.exit_code, 0) << run.out;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (int i : live) {
      for (;;) {
        auto got = received(i, "news");
        if (std::count(got.begin(), got.end(), message) > 0) break;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "node" << i << " never received '" << message << "'";
        std::this_thread::sleep_for(200ms);
      }
    }
    // Duplicates would arrive within the same round trips: give them a moment.
    std::this_thread::sleep_for(1s);
    for (int i : live) {
      auto got = received(i, "news");
      EXPECT_EQ(std::count(got.begin(), got.end(), message), 1)
          << "node" << i << " received '" << message << "' " << std::count(got.begin(), got.end(), message)
          << " times";
    }
  }

  testing::TempDir dir;
  PostdCluster cluster;
  std::vector<std::string> ids;
};

TEST_F(Scribe, EveryLiveMemberGetsEachMessageOnceAcrossForwarderAndRootFailures) {
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  cluster.start_all();
  std::string why;
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(cluster.wait_ready(i, 60s, &why)) << why;
  for (int i = 0; i < kNodes; ++i) ids.push_back(cluster.node_id(i));

  std::set<int> live;
  std::string group_id;
  for (int i = 0; i < kNodes; ++i) {
    auto run = cluster.postctl(i, {"subscribe", "news"});
    ASSERT_EQ(run.exit_code, 0) << run.out;
    group_id = run.json["group"].get<std::string>();
    live.insert(i);
  }
  EXPECT_EQ(group_id, Id::hash_of(as_bytes(std::string("news"))).to_hex());
  ASSERT_NO_FATAL_FAILURE(wait_for_whole_tree(live, group_id));
  ASSERT_NO_FATAL_FAILURE(publish_and_check(0, live, "first"));

  // Kill a forwarder: a node below the root with children of its own.
  int forwarder = -1, root = -1;
  for (int i : live) {
    auto r = role(i, group_id);
    ASSERT_TRUE(r.has_value());
    if (r->root) root = i;
    if (!r->root && !r->children.empty() && forwarder < 0) forwarder = i;
  }
  ASSERT_GE(root, 0);
  ASSERT_GE(forwarder, 0) << "with max_children 2 an eight-member tree has forwarders";
  cluster.kill(forwarder);
  live.erase(forwarder);
  ASSERT_NO_FATAL_FAILURE(wait_for_whole_tree(live, group_id));
  int publisher = *live.begin() == root ? *std::next(live.begin()) : *live.begin();
  ASSERT_NO_FATAL_FAILURE(publish_and_check(publisher, live, "second"));

  // Kill the root: the next closest node takes the group over.
  cluster.kill(root);
  live.erase(root);
  ASSERT_NO_FATAL_FAILURE(wait_for_whole_tree(live, group_id));
  ASSERT_NO_FATAL_FAILURE(publish_and_check(*live.rbegin(), live, "third"));
  for (int i : live) {
    auto got = received(i, "news");
    EXPECT_EQ(got, (std::vector<std::string>{"first", "second", "third"})) << "node" << i;
  }
}

TEST_F(Scribe, AnycastReachesTheMemberThatAcceptsAndFailsWhenNobodyIsInTheGroup) {
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  cluster.start_all();
  std::string why;
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(cluster.wait_ready(i, 60s, &why)) << why;

  // Everybody is a member, but only node 5 takes anycasts.
  for (int i = 0; i < kNodes; ++i) {
    std::vector<std::string> args{"subscribe", "workers"};
    if (i == 5) args.push_back("--accept-anycast");
    auto run = cluster.postctl(i, args);
    ASSERT_EQ(run.exit_code, 0) << run.out;
  }
  const std::string node5 = cluster.node_id(5);
  for (int from : {0, 3, 7}) {
    auto run = cluster.postctl(from, {"anycast", "workers", "job " + std::to_string(from)});
    ASSERT_EQ(run.exit_code, 0) << run.out;
    EXPECT_EQ(run.json["member"]["node_id"], node5) << run.out;
  }
  auto got = received(5, "workers");
  EXPECT_EQ(got, (std::vector<std::string>{"job 0", "job 3", "job 7"}));
  EXPECT_TRUE(received(4, "workers").empty());

  // A group nobody subscribed to: a clear failure, exit code 1.
  auto run = cluster.postctl(2, {"anycast", "nobody-here", "anyone?"});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("the group has no tree"), std::string::npos) << run.out;
  // Received on a group the endpoint did not subscribe to: an error that says so.
  run = cluster.postctl(2, {"received", "nobody-here"});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("not subscribed"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace post
