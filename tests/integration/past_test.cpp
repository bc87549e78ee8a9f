// PAST on eight real postd processes (issue 4): blocks put through one node are found from
// every other, still after two nodes are killed, and a restarted node still has its blocks
// (LevelDB on disk).
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "host/core/crypto.h"
#include "host/past/block.h"
#include "tests/support/postd_cluster.h"

namespace post {
namespace {

using namespace std::chrono_literals;
using testing::PostdCluster;

constexpr int kNodes = 8;
constexpr int kBlocks = 24;

// Fast liveness so the test does not wait minutes for failures to be noticed.
const std::string kSettings = std::string(testing::kFastPastryYaml) +
    "past:\n"
    "  replicas: 3\n"
    "  request_timeout: 2s\n"
    "  maintenance_interval: 5s\n";

class Past : public ::testing::Test {
 protected:
  Past() : cluster(dir, {POSTD_BIN, POSTCTL_BIN, POST_CA_BIN}, kNodes, kSettings) {}

  // Gets `handle` through node i; the payload, or why it failed.
  std::string get(int i, const std::string& handle, std::string* error) {
    auto run = cluster.postctl(i, {"get", handle});
    if (run.exit_code != 0 || !run.json.is_object() || !run.json.contains("payload_base64")) {
      *error = "get " + handle.substr(0, 8) + " from node" + std::to_string(i) + " exited " +
               std::to_string(run.exit_code) + ": " + run.out;
      return "";
    }
    auto bytes = crypto::base64_decode(run.json["payload_base64"].get<std::string>());
    return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : "";
  }

  std::uint64_t blocks_of(int i) {
    auto s = cluster.status(i);
    return s.is_object() ? s["past"]["blocks"].get<std::uint64_t>() : 0;
  }

  testing::TempDir dir;
  PostdCluster cluster;
};

TEST_F(Past, BlocksSurviveTwoKilledNodesAndARestartedNodeKeepsItsBlocks) {
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  cluster.start_all();
  std::string why;
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(cluster.wait_ready(i, 60s, &why)) << why;

  // Put: each block through another node; every put lands on three replicas.
  std::map<std::string, std::string> contents;  // handle -> content
  for (int b = 0; b < kBlocks; ++b) {
    std::string content = "block " + std::to_string(b) + " " + std::string(100 + 37 * b, 'x');
    std::string file = dir.file("in" + std::to_string(b));
    ASSERT_TRUE(write_file(file, content, false).ok());
    auto run = cluster.postctl(b % kNodes, {"put", file});
    ASSERT_EQ(run.exit_code, 0) << run.out;
    std::string handle = run.json["handle"].get<std::string>();
    EXPECT_EQ(handle, past::content_handle(as_bytes(content)).to_hex());
    EXPECT_EQ(run.json["stored_on"].size(), 3u) << run.out;
    contents[handle] = content;
  }
  std::uint64_t replicas = 0;
  for (int i = 0; i < kNodes; ++i) replicas += blocks_of(i);
  EXPECT_EQ(replicas, 3u * kBlocks);

  // Kill two nodes at once (no goodbye). Every block is still found, from every live node.
  const int victim = 3, other_victim = 6;
  const std::uint64_t victim_blocks = blocks_of(victim);
  cluster.kill(victim);
  cluster.kill(other_victim);
  int reader = 0;
  for (const auto& [handle, content] : contents) {
    do reader = (reader + 1) % kNodes;
    while (reader == victim || reader == other_victim);
    std::string error;
    EXPECT_EQ(get(reader, handle, &error), content) << error;
  }

  // Restarted, node 3 opens its LevelDB with the blocks it held, and serves reads again.
  cluster.start(victim);
  ASSERT_TRUE(cluster.wait_ready(victim, 30s, &why)) << why;
  std::smatch opened;
  std::string log = cluster.log(victim);
  std::regex line("block store [^ ]+: ([0-9]+) blocks");
  std::string last;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    last = (*it)[1];
  }
  EXPECT_EQ(last, std::to_string(victim_blocks)) << log;
  EXPECT_GT(victim_blocks, 0u);
  for (const auto& [handle, content] : contents) {
    std::string error;
    EXPECT_EQ(get(victim, handle, &error), content) << error;
  }
}

}  // namespace
}  // namespace post
