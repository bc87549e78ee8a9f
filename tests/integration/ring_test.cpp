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
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace post {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;

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

class Ring : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string log = dir.file("setup.log");
    ASSERT_EQ(testing::run_command({POST_CA_BIN, "init", "--dir", dir.file("ca")}, log), 0);
    for (int i = 0; i < kNodes; ++i) {
      std::string name = "node" + std::to_string(i);
      ASSERT_EQ(
          testing::run_command(
              {POST_CA_BIN, "issue-node", "--ca", dir.file("ca"), "--out", dir.file(name)}, log),
          0);
      ports.push_back(testing::free_port());
      admin_ports.push_back(testing::free_port());
    }
    for (int i = 0; i < kNodes; ++i) write_config(i);
  }

  void write_config(int i) {
    std::string name = "node" + std::to_string(i);
    auto c = liveness();
    std::string yaml =
        "identity: {key: " + name + "/node.key, certificate: " + name +
        "/node.cert, ca_certificate: " + name +
        "/ca.cert}\n"
        "listen: \"127.0.0.1:" +
        std::to_string(ports[i]) + "\"\n" +
        (i == 0 ? std::string() : "bootstrap: [\"127.0.0.1:" + std::to_string(ports[0]) + "\"]\n") +
        "data_dir: " + name +
        "/data\n"
        "admin: \"127.0.0.1:" +
        std::to_string(admin_ports[i]) +
        "\"\n"
        "log: {level: info}\n"
        "pastry:\n"
        "  leaf_set_size: " +
        std::to_string(c.leaf_set_size) +
        "\n"
        "  heartbeat_interval: 1s\n"
        "  lease: 2500ms\n"
        "  probe_attempts: 3\n"
        "  probe_backoff: 200ms\n"
        "  route_ack_timeout: 1s\n"
        "  join_timeout: 5s\n";
    ASSERT_TRUE(write_file(dir.file(name + ".yaml"), yaml, false).ok());
  }

  void start(int i) {
    std::string name = "node" + std::to_string(i);
    nodes[i] = std::make_unique<ChildProcess>(
        std::vector<std::string>{POSTD_BIN, "--config", dir.file(name + ".yaml")},
        dir.file(name + ".log"));
  }

  // Runs `postctl --json ARGS` against node i; the parsed object, or null on failure.
  json postctl(int i, std::vector<std::string> args) {
    std::string out = dir.file("postctl.out");
    std::remove(out.c_str());
    std::vector<std::string> argv = {POSTCTL_BIN, "--admin",
                                     "127.0.0.1:" + std::to_string(admin_ports[i]), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, out);
    if (p.wait(20s) != std::optional<int>(0)) return nullptr;
    return json::parse(p.output(), nullptr, /*allow_exceptions=*/false);
  }

  std::string node_id(int i) {
    json s = postctl(i, {"status"});
    return s.is_object() ? s.value("node_id", "") : "";
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

  void TearDown() override {
    for (auto& n : nodes) {
      if (n && n->running()) n->signal(SIGTERM);
    }
    for (auto& n : nodes) {
      if (n) n->wait(10s);
    }
  }

  testing::TempDir dir;
  std::vector<unsigned short> ports, admin_ports;
  std::unique_ptr<ChildProcess> nodes[kNodes];
  std::vector<std::string> ids;
};

TEST_F(Ring, SixteenNodesJoinSurviveAKillAndRejoin) {
  for (int i = 0; i < kNodes; ++i) start(i);
  // Every node becomes ready and answers postctl.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int i = 0; i < kNodes; ++i) {
    while (!ready(i)) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "node" << i << " is not ready:\n"
                                                            << nodes[i]->output();
      std::this_thread::sleep_for(200ms);
    }
    ids.push_back(node_id(i));
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
  nodes[victim]->signal(SIGKILL);
  ASSERT_TRUE(nodes[victim]->wait(5s).has_value());
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
  start(victim);
  deadline = std::chrono::steady_clock::now() + 30s;
  while (!ready(victim)) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << nodes[victim]->output();
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(node_id(victim), ids[victim]);
  ASSERT_TRUE(leaf_sets_match(all_but(-1), 30s, &mismatch)) << mismatch;
}

}  // namespace
}  // namespace post
