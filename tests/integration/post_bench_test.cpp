// The real post-bench binary: it starts a small ring of real postd processes, runs its PAST
// workload through their admin endpoints (or its email workload through the email plugin's
// SMTP and IMAP), reports one JSON object, and leaves no node running. No wall-clock
// thresholds: only that the numbers are there and make sense.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

extern char** environ;

namespace post {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Json = nlohmann::json;

// A run of post-bench: exit status, stdout and stderr apart.
struct BenchRun {
  std::optional<int> status;  // nullopt: it did not finish in time (it was killed)
  std::string out;
  std::string err;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

BenchRun post_bench(const testing::TempDir& dir, std::vector<std::string> args,
                    std::chrono::seconds timeout = 240s) {
  std::string out = dir.file("post-bench.out");
  std::string err = dir.file("post-bench.err");
  args.insert(args.begin(), POST_BENCH_BIN);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  BenchRun run;
  if (rc != 0) {
    run.err = "posix_spawn failed";
    return run;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);  // its nodes die with it (parent-death signal)
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  run.out = read_all(out);
  run.err = read_all(err);
  return run;
}

// Processes whose command line mentions `text`.
std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string cmdline = read_all(entry.path().string() + "/cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(text) != std::string::npos) found.push_back(cmdline);
  }
  return found;
}

TEST(PostBench, PastRunOnFourNodesReportsEveryKeyAndNoErrors) {
  testing::TempDir dir;
  std::string cluster = dir.file("cluster");
  BenchRun run = post_bench(dir, {"past", "--nodes", "4", "--k", "3", "--ops", "20", "--size",
                                  "1024", "--json", "--keep", cluster});
  ASSERT_EQ(run.status, std::optional<int>(0)) << "stdout:\n" << run.out << "stderr:\n" << run.err;

  Json j = Json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << "stdout is not one JSON object:\n" << run.out;
  for (const char* key :
       {"nodes", "k", "size", "ops", "inserts_per_s", "lookups_per_s", "insert_p50_ms",
        "insert_p99_ms", "lookup_p50_ms", "lookup_p99_ms", "errors"}) {
    ASSERT_TRUE(j.contains(key)) << "no \"" << key << "\" in " << run.out;
    EXPECT_TRUE(j[key].is_number()) << key << " is not a number in " << run.out;
  }
  EXPECT_EQ(j["nodes"], 4);
  EXPECT_EQ(j["k"], 3);
  EXPECT_EQ(j["size"], 1024);
  EXPECT_EQ(j["ops"], 20);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_GT(j["inserts_per_s"].get<double>(), 0);
  EXPECT_GT(j["lookups_per_s"].get<double>(), 0);
  EXPECT_GT(j["insert_p50_ms"].get<double>(), 0);
  EXPECT_GE(j["insert_p99_ms"].get<double>(), j["insert_p50_ms"].get<double>());
  EXPECT_GT(j["lookup_p50_ms"].get<double>(), 0);
  EXPECT_GE(j["lookup_p99_ms"].get<double>(), j["lookup_p50_ms"].get<double>());

  // --keep leaves the cluster's files; every node was stopped before post-bench exited.
  for (int i = 0; i < 4; ++i) {
    std::string node = cluster + "/node" + std::to_string(i);
    EXPECT_TRUE(std::filesystem::exists(node + "/node.yaml")) << node;
    EXPECT_TRUE(std::filesystem::exists(node + "/postd.log")) << node;
  }
  EXPECT_THAT(processes_mentioning(cluster), ::testing::IsEmpty());
}

TEST(PostBench, EmailRunOnFourNodesSeesEveryMessageOverImapWithoutErrors) {
  testing::TempDir dir;
  std::string keep = dir.file("run");
  BenchRun run = post_bench(dir, {"email", "--nodes", "4", "--messages", "20", "--json",
                                  "--baseline", "none", "--keep", keep});
  ASSERT_EQ(run.status, std::optional<int>(0)) << "stdout:\n" << run.out << "stderr:\n" << run.err;

  Json j = Json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << "stdout is not one JSON object:\n" << run.out;
  for (const char* key : {"nodes", "k", "messages", "concurrency", "size", "messages_per_s",
                          "accepted_per_s", "p50_ms", "p99_ms", "errors"}) {
    ASSERT_TRUE(j.contains(key)) << "no \"" << key << "\" in " << run.out;
    EXPECT_TRUE(j[key].is_number()) << key << " is not a number in " << run.out;
  }
  EXPECT_EQ(j["nodes"], 4);
  EXPECT_EQ(j["k"], 3);
  EXPECT_EQ(j["messages"], 20);
  EXPECT_EQ(j["watch"], "poll");
  EXPECT_EQ(j["errors"], 0);
  EXPECT_GT(j["messages_per_s"].get<double>(), 0);
  EXPECT_GT(j["p50_ms"].get<double>(), 0);
  EXPECT_GE(j["p99_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_TRUE(j["baseline"].is_null()) << run.out;
  EXPECT_EQ(j["baseline_skipped"], "--baseline none");

  // Alice's node submitted, Bob's node delivered all 20 into his INBOX.
  std::ifstream log(keep + "/cluster/node3/postd.log");
  std::string line;
  int delivered = 0;
  while (std::getline(log, line)) {
    if (line.find("email: delivered message") != std::string::npos &&
        line.find("to bob@example.org's INBOX") != std::string::npos) {
      ++delivered;
    }
  }
  EXPECT_EQ(delivered, 20);
  EXPECT_THAT(processes_mentioning(keep), ::testing::IsEmpty());
}

TEST(PostBench, ANodeThatCannotStartIsNamedWithItsLog) {
  testing::TempDir dir;
  std::string cluster = dir.file("cluster");
  // /bin/false stands in for postd: node 0 exits at once.
  BenchRun run = post_bench(dir,
                            {"past", "--nodes", "2", "--k", "1", "--ops", "1", "--json", "--keep",
                             cluster, "--postd", "/bin/false"},
                            60s);
  EXPECT_EQ(run.status, std::optional<int>(3)) << run.err;
  Json j = Json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << run.out;
  ASSERT_TRUE(j.contains("error")) << run.out;
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("node0 exited with status 1"));
  EXPECT_THAT(run.err, HasSubstr(cluster + "/node0/postd.log"));
}

TEST(PostBench, RefusesMoreReplicasThanNodes) {
  testing::TempDir dir;
  BenchRun run = post_bench(dir, {"past", "--nodes", "2", "--k", "3"}, 60s);
  EXPECT_EQ(run.status, std::optional<int>(2));
  EXPECT_THAT(run.err, HasSubstr("--k 3 needs at least 3 nodes"));

  BenchRun email = post_bench(dir, {"email", "--nodes", "3", "--k", "4"}, 60s);
  EXPECT_EQ(email.status, std::optional<int>(2));
  EXPECT_THAT(email.err, HasSubstr("--k 4 needs at least 4 nodes"));
}

}  // namespace
}  // namespace post
