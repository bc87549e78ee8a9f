#include "tests/support/postd_cluster.h"

#include <signal.h>

#include <cstdio>
#include <thread>

#include "host/core/bytes.h"
#include "host/core/certificate.h"

namespace post::testing {

using namespace std::chrono_literals;

PostdCluster::PostdCluster(const TempDir& dir, ClusterBinaries binaries, int nodes,
                           std::string extra_yaml)
    : dir_(dir), extra_yaml_(std::move(extra_yaml)), bin_(std::move(binaries)) {
  std::string log = dir_.file("setup.log");
  if (run_command({bin_.post_ca, "init", "--dir", dir_.file("ca")}, log) != 0) {
    error_ = "post-ca init failed; see " + log;
    return;
  }
  for (int i = 0; i < nodes; ++i) {
    std::string name = "node" + std::to_string(i);
    if (run_command({bin_.post_ca, "issue-node", "--ca", dir_.file("ca"), "--out", dir_.file(name)},
                    log) != 0) {
      error_ = "post-ca issue-node failed; see " + log;
      return;
    }
    ports_.push_back(free_port());
    admin_ports_.push_back(free_port());
  }
  nodes_.resize(static_cast<std::size_t>(nodes));
  users_yaml_.resize(static_cast<std::size_t>(nodes));
  for (int i = 0; i < nodes; ++i) write_config(i);
}

PostdCluster::~PostdCluster() {
  for (auto& n : nodes_) {
    if (n && n->running()) n->signal(SIGTERM);
  }
  for (auto& n : nodes_) {
    if (n) n->wait(10s);
  }
}

bool PostdCluster::add_user(int i, const std::string& name, const std::string& email,
                            int puzzle_bits) {
  std::string log = dir_.file("setup.log");
  if (run_command({bin_.post_ca, "issue-user", "--ca", dir_.file("ca"), "--name", name, "--email",
                   email, "--out", user_dir(email)},
                  log) != 0) {
    error_ = "post-ca issue-user " + email + " failed; see " + log;
    return false;
  }
  users_yaml_[i] +=
      "  - {dir: users/" + email + ", puzzle_bits: " + std::to_string(puzzle_bits) + "}\n";
  write_config(i);
  return ok();
}

std::string PostdCluster::user_dir(const std::string& email) const {
  return dir_.file("users/" + email);
}

void PostdCluster::write_config(int i) {
  std::string name = "node" + std::to_string(i);
  std::string yaml =
      "identity: {key: " + name + "/node.key, certificate: " + name +
      "/node.cert, ca_certificate: " + name + "/ca.cert}\n" +
      "listen: \"127.0.0.1:" + std::to_string(ports_[i]) + "\"\n" +
      (i == 0 ? std::string() : "bootstrap: [\"127.0.0.1:" + std::to_string(ports_[0]) + "\"]\n") +
      "data_dir: " + name + "/data\n" + "admin: \"127.0.0.1:" + std::to_string(admin_ports_[i]) +
      "\"\n" + "log: {level: info}\n" +
      (users_yaml_[i].empty() ? "" : "users:\n" + users_yaml_[i]) + extra_yaml_;
  if (!write_file(dir_.file(name + ".yaml"), yaml, false).ok()) {
    error_ = "cannot write " + dir_.file(name + ".yaml");
  }
}

void PostdCluster::start(int i) {
  std::string name = "node" + std::to_string(i);
  nodes_[i] = std::make_unique<ChildProcess>(
      std::vector<std::string>{bin_.postd, "--config", dir_.file(name + ".yaml")},
      dir_.file(name + ".log"));
}

void PostdCluster::start_all() {
  for (int i = 0; i < size(); ++i) start(i);
}

void PostdCluster::stop(int i) {
  if (!nodes_[i]) return;
  nodes_[i]->signal(SIGTERM);
  nodes_[i]->wait(10s);
}

void PostdCluster::kill(int i) {
  if (!nodes_[i]) return;
  nodes_[i]->signal(SIGKILL);
  nodes_[i]->wait(10s);
}

bool PostdCluster::running(int i) {
  return nodes_[i] && nodes_[i]->running();
}

std::string PostdCluster::log(int i) const {
  return nodes_[i] ? nodes_[i]->output() : "";
}

std::string PostdCluster::data_dir(int i) const {
  return dir_.file("node" + std::to_string(i) + "/data");
}

PostctlRun PostdCluster::postctl(int i, std::vector<std::string> args, bool json,
                                 std::chrono::seconds timeout) const {
  static int runs = 0;
  std::string out = dir_.file("postctl." + std::to_string(runs++) + ".out");
  std::vector<std::string> argv = {bin_.postctl, "--admin",
                                   "127.0.0.1:" + std::to_string(admin_ports_[i])};
  if (json) argv.push_back("--json");
  argv.insert(argv.end(), args.begin(), args.end());
  PostctlRun run;
  // stdout and stderr go to one file; with --json postctl prints one JSON object on stdout
  // and stderr stays empty unless something failed.
  ChildProcess p(argv, out);
  auto status = p.wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  run.exit_code = status.value_or(-1);
  run.out = p.output();
  std::remove(out.c_str());
  if (json) {
    run.json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
    if (run.json.is_discarded()) run.json = nullptr;
  }
  return run;
}

nlohmann::json PostdCluster::status(int i) const {
  auto run = postctl(i, {"status"}, true, 20s);
  return run.exit_code == 0 ? run.json : nullptr;
}

bool PostdCluster::wait_ready(int i, std::chrono::seconds timeout, std::string* why) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto run = postctl(i, {"status"}, true, 20s);
    if (run.json.is_object() && run.json.value("state", "") == "ready") return true;
    if (std::chrono::steady_clock::now() > deadline) {
      *why = "node" + std::to_string(i) + " is not ready; postctl status said:\n" + run.out +
             "\nits log:\n" + log(i);
      return false;
    }
    std::this_thread::sleep_for(200ms);
  }
}

bool PostdCluster::wait_published(int i, const std::string& email, std::chrono::seconds timeout,
                                  std::string* why) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto run = postctl(i, {"users"}, true, 20s);
    if (run.exit_code == 0 && run.json.contains("users")) {
      for (const auto& u : run.json["users"]) {
        if (u.value("email", "") == email && u.value("published", false)) return true;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      *why = email + " is not published by node" + std::to_string(i) + "; postctl users said:\n" +
             run.out + "\nits log:\n" + log(i);
      return false;
    }
    std::this_thread::sleep_for(200ms);
  }
}

std::string PostdCluster::node_id(int i) const {
  auto s = status(i);
  return s.is_object() ? s.value("node_id", "") : "";
}

}  // namespace post::testing
