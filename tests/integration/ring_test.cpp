// Sixteen real postd processes on loopback form a Pastry ring; postctl, the real binary,
// reads their state. A node killed with SIGKILL leaves every leaf set within the configured
// failure timeout, and rejoins when restarted with the same identity.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host/core/certificate.h"
#include "host/pastry/pastry_config.h"
#include "tests/support/postd_cluster.h"
#include "tests/support/test_support.h"

namespace post {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kNodes = 16;
constexpr int kLeafSetSize = 8;

// The liveness settings written into every node's configuration.
pastry::PastryConfig liveness() {
  pastry::PastryConfig c;
  c.leaf_set_size = kLeafSetSize;
  c.heartbeat_interval = 1s;
  c.lease = 2500ms;
  c.probe_attempts = 3;
  c.probe_backoff = 200ms;
  return c;
}

// How long the transport waits for a pong (AsioTransportOptions::ping_timeout's default).
constexpr net::Duration kPingTimeout = 5s;

// The Pastry settings written into every node's configuration (those of liveness()).
const std::string kSettings = testing::kFastPastryYaml;

class Ring : public ::testing::Test {
 protected:
  Ring() : cluster(dir, {POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes, kSettings) {}

  json postctl(int i, std::vector<std::string> args) {
    auto run = cluster.postctl(i, std::move(args), true, 20s);
    return run.exit_code == 0 ? run.json : json();
  }

  bool ready(int i) {
    json s = postctl(i, {"status"});
    return s.is_object() && s.value("state", "") == "ready";
  }

  // The ids in node i's leaf set, in ring order (ccw farthest ... cw farthest).
  std::vector<std::string> leaf_set(int i) {
    json ls = postctl(i, {"leafset"});
    std::vector<std::string> out;
    if (!ls.is_object()) return out;
    for (const auto& m : ls["members"]) out.push_back(m["node_id"].get<std::string>());
    return out;
  }

  // What node i's leaf set must be: the L/2 closest of `live` on each side, in ring order.
  std::vector<std::string> expected_leaf_set(int i, const std::vector<int>& live) {
    Id self = Id::from_hex(ids[i]).value();
    std::vector<Id> others;
    for (int j : live) {
      if (j != i) others.push_back(Id::from_hex(ids[j]).value());
    }
    std::sort(others.begin(), others.end(), [&](const Id& a, const Id& b) {
      return self.clockwise_distance(a) < self.clockwise_distance(b);
    });
    std::size_t half = std::min<std::size_t>(kLeafSetSize / 2, others.size());
    std::vector<std::string> out;
    for (std::size_t k = half; k-- > 0;) out.push_back(others[others.size() - 1 - k].to_hex());
    for (std::size_t k = 0; k < half; ++k) {
      std::string id = others[k].to_hex();
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    return out;
  }

  // Polls until every node in `live` has exactly its oracle leaf set, or `timeout` passes.
  bool leaf_sets_match(const std::vector<int>& live, std::chrono::seconds timeout,
                       std::string* mismatch) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool all = true;
      for (int i : live) {
        auto got = leaf_set(i);
        auto want = expected_leaf_set(i, live);
        if (got != want) {
          all = false;
          *mismatch = "node" + std::to_string(i) + " has " + std::to_string(got.size()) +
                      " members, expected " + std::to_string(want.size());
          break;
        }
      }
      if (all) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(200ms);
    }
  }

  std::vector<int> all_but(int excluded) {
    std::vector<int> out;
    for (int i = 0; i < kNodes; ++i) {
      if (i != excluded) out.push_back(i);
    }
    return out;
  }

  testing::TempDir dir;
  testing::PostdCluster cluster;
  std::vector<std::string> ids;
};

TEST_F(Ring, SixteenNodesJoinSurviveAKillAndRejoin) {
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  cluster.start_all();
  // Every node becomes ready and answers postctl.
  std::string why;
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(cluster.wait_ready(i, 60s, &why)) << why;
    ids.push_back(cluster.node_id(i));
    ASSERT_EQ(ids.back().size(), 64u);
  }
  std::string mismatch;
  ASSERT_TRUE(leaf_sets_match(all_but(-1), 30s, &mismatch)) << mismatch;

  // Every node finds the same root for a key, the numerically closest node.
  std::string key = std::string(64, 'a');
  Id key_id = Id::from_hex(key).value();
  int root = 0;
  for (int i = 1; i < kNodes; ++i) {
    if (is_closer(key_id, Id::from_hex(ids[i]).value(), Id::from_hex(ids[root]).value())) root = i;
  }
  for (int i = 0; i < kNodes; i += 5) {
    json r = postctl(i, {"lookup", key});
    ASSERT_TRUE(r.is_object()) << "lookup from node" << i;
    EXPECT_EQ(r["root"]["node_id"], ids[root]);
  }

  // SIGKILL: no goodbye, no leave. The others drop it within the failure timeout.
  const int victim = 5;
  cluster.kill(victim);
  ASSERT_FALSE(cluster.running(victim));
  auto killed_at = std::chrono::steady_clock::now();
  net::Duration limit = liveness().failure_timeout(kPingTimeout);
  for (int i : all_but(victim)) {
    for (;;) {
      auto ls = leaf_set(i);
      if (std::find(ls.begin(), ls.end(), ids[victim]) == ls.end()) break;
      ASSERT_LT(std::chrono::steady_clock::now() - killed_at, limit)
          << "node" << i << " still lists the killed node";
      std::this_thread::sleep_for(100ms);
    }
  }
  ASSERT_TRUE(leaf_sets_match(all_but(victim), 30s, &mismatch)) << mismatch;

  // Restarted with the same identity and data directory, it rejoins.
  cluster.start(victim);
  ASSERT_TRUE(cluster.wait_ready(victim, 30s, &why)) << why;
  EXPECT_EQ(cluster.node_id(victim), ids[victim]);
  ASSERT_TRUE(leaf_sets_match(all_but(-1), 30s, &mismatch)) << mismatch;
}

}  // namespace
}  // namespace post
