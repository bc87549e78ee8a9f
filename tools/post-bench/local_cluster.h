// LocalCluster: a ring of real postd processes on 127.0.0.1, set up from nothing in one
// directory:
//
//   DIR/ca/                  the CA (post-ca init)
//   DIR/setup.log            what post-ca printed
//   DIR/nodeI/               node I's identity (post-ca issue-node), node.yaml, data/,
//   DIR/nodeI/postd.log      and what its postd printed
//   DIR/users/EMAIL/         a user's identity (post-ca issue-user), when users are asked for
//
// Node 0 starts the ring; the others join through it. Every node has an admin endpoint, which
// the benchmark and the readiness checks talk to.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "host/core/result.h"
#include "tools/post-bench/child_process.h"

namespace post::bench {

// A user a node serves: issued by the cluster's CA and listed in that node's `users:`.
struct ClusterUser {
  int node = 0;
  std::string name;   // "Alice"
  std::string email;  // "alice@example.org"
};

struct ClusterOptions {
  std::string postd_path;
  std::string post_ca_path;
  int nodes = 8;
  // PAST's k and quota, written into every node's `past:` section.
  int replicas = 3;
  std::uint64_t quota_bytes = std::uint64_t{1} << 30;
  // Where the cluster lives. Empty: a new directory under the system's temporary directory,
  // removed when the cluster is destroyed (unless keep_directory() was called). Otherwise a
  // directory that does not exist yet or is empty; it is left in place.
  std::string directory;
  // How long start() waits for every node to be ready.
  std::chrono::seconds ready_timeout{60};
  // Users to issue and serve (puzzle_bits 0). start() waits until each is published.
  std::vector<ClusterUser> users;
  // YAML appended to node i's configuration (top-level keys, e.g. `plugins:`), with every
  // "{dir}" replaced by the cluster's directory.
  std::map<int, std::string> extra_yaml;
};

// One node, as configured.
struct ClusterNode {
  std::string name;  // "node3"
  std::string config_path;
  std::string log_path;
  std::uint16_t port = 0;        // Pastry links
  std::uint16_t admin_port = 0;  // admin endpoint

  boost::asio::ip::tcp::endpoint admin_endpoint() const;
  // "node3 (admin 127.0.0.1:12101, log DIR/node3/postd.log)", for error messages.
  std::string describe() const;
};

class LocalCluster {
 public:
  // Makes the directory, the CA, every node's identity and configuration (with free ports
  // outside the ephemeral range). Nothing runs yet. Errors say which step failed and where
  // its output is.
  static Result<std::unique_ptr<LocalCluster>> prepare(ClusterOptions options);

  // Stops the nodes still running (stop()) and removes the directory unless it is kept.
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // Starts node 0 and waits until it is ready, then starts the others and waits until each
  // is ready with a full leaf set (every other node, or as many as the leaf set holds), and
  // every user in options.users is published by its node, all within options.ready_timeout.
  // `progress(ready, total)` is called as nodes become ready. On failure the error names the node,
  // what it lacked or how it exited, and its log. `io` runs the status requests; it must have work
  // (a work guard).
  Status start(boost::asio::io_context& io, const std::function<void(int, int)>& progress);

  // Ok while every node runs; else an error naming the first node that exited, how, and its
  // log's last lines.
  Status check_running();

  // Sends SIGTERM to every node still running, waits up to kStopGrace for them to leave the
  // ring and exit, then kills the rest with SIGKILL; returns the names of those killed. Safe
  // to call more than once.
  std::vector<std::string> stop();

  // Leaves the directory in place when the cluster is destroyed (for its logs).
  void keep_directory() { keep_ = true; }
  bool directory_kept() const { return keep_; }
  const std::string& directory() const { return dir_; }
  const std::vector<ClusterNode>& nodes() const { return nodes_; }

 private:
  explicit LocalCluster(ClusterOptions options) : options_(std::move(options)) {}

  Status make_directory();
  Status make_identities_and_configs();
  Status write_config(int index, const ClusterNode& node);
  // Issues every user in options_.users into DIR/users/EMAIL.
  Status issue_users(const std::string& setup_log);
  // Polls the users' nodes until every user is published, or until the deadline.
  Status wait_users_published(boost::asio::io_context& io,
                              std::chrono::steady_clock::time_point deadline);
  Status start_node(int index);
  // Polls the nodes in `which` until each is ready (with a full leaf set if asked), calling
  // `on_ready` for each, or until the deadline.
  Status wait_ready(boost::asio::io_context& io, const std::vector<int>& which, bool full_leaf_set,
                    std::chrono::steady_clock::time_point deadline,
                    const std::function<void()>& on_ready);

  ClusterOptions options_;
  std::string dir_;
  bool keep_ = false;
  std::vector<ClusterNode> nodes_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
};

}  // namespace post::bench
