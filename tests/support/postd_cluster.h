// PostdCluster: a ring of real postd processes on loopback for integration tests, with a CA
// and node identities made by the real post-ca, and the real postctl to ask the nodes.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace post::testing {

struct ClusterBinaries {
  std::string postd;
  std::string postctl;
  std::string post_ca;
};

// What postctl printed and how it ended.
struct PostctlRun {
  int exit_code = -1;
  std::string out;      // stdout and stderr
  nlohmann::json json;  // stdout parsed, when --json was given and it parsed; else null
};

// The Pastry section integration tests give every node: a small leaf set and liveness in
// seconds (heartbeat 1 s, lease 2.5 s, three probes 200 ms apart), so a killed node is
// noticed within a few seconds instead of a minute.
inline constexpr const char* kFastPastryYaml =
    "pastry:\n"
    "  leaf_set_size: 8\n"
    "  heartbeat_interval: 1s\n"
    "  lease: 2500ms\n"
    "  probe_attempts: 3\n"
    "  probe_backoff: 200ms\n"
    "  route_ack_timeout: 1s\n"
    "  join_timeout: 5s\n";

class PostdCluster {
 public:
  // Issues `nodes` identities under a new CA in `dir` and writes one configuration per node
  // (node0 starts the ring, the others bootstrap through it). `extra_yaml` is appended to
  // every configuration (pastry: and past: sections, say). Nothing is started.
  PostdCluster(const TempDir& dir, ClusterBinaries binaries, int nodes, std::string extra_yaml);
  // Stops every node still running (SIGTERM, then SIGKILL).
  ~PostdCluster();
  PostdCluster(const PostdCluster&) = delete;
  PostdCluster& operator=(const PostdCluster&) = delete;

  int size() const { return static_cast<int>(admin_ports_.size()); }
  // Whether SetUp-style preparation worked; `error()` says what did not.
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Issues a user with the cluster's CA (the real `post-ca issue-user`, into users/<email>)
  // and has node i serve it: its configuration lists the user with `puzzle_bits`. Takes effect
  // at the node's next start. False (with error() saying why) when post-ca fails.
  bool add_user(int i, const std::string& name, const std::string& email, int puzzle_bits = 0);
  // The directory add_user issued `email` into.
  std::string user_dir(const std::string& email) const;

  void start(int i);
  void start_all();
  // SIGTERM: the node leaves cleanly. Waits for the process to end.
  void stop(int i);
  // SIGKILL: no goodbye. Waits for the process to end.
  void kill(int i);
  bool running(int i);
  // The node's log so far.
  std::string log(int i) const;
  std::string data_dir(int i) const;

  // Runs `postctl --admin <node i> [--json] args...`.
  PostctlRun postctl(int i, std::vector<std::string> args, bool json = true,
                     std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  // postctl --json status of node i, or null.
  nlohmann::json status(int i) const;
  // Waits until node i says it is ready; false (with `why` set) on timeout.
  bool wait_ready(int i, std::chrono::seconds timeout, std::string* why) const;
  // Waits until node i says `email`'s certificate and identity are out in the ring (postctl
  // users); false (with `why` set) on timeout.
  bool wait_published(int i, const std::string& email, std::chrono::seconds timeout,
                      std::string* why) const;
  // The node's id (64 hex characters) from its status, or "".
  std::string node_id(int i) const;

 private:
  void write_config(int i);

  const TempDir& dir_;
  std::string extra_yaml_;
  std::vector<std::string> users_yaml_;  // per node: its users: entries
  ClusterBinaries bin_;
  std::vector<unsigned short> ports_, admin_ports_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
  std::string error_;
};

}  // namespace post::testing
