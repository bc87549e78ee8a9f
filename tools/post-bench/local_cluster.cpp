#include "tools/post-bench/local_cluster.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "host/core/certificate.h"
#include "host/core/errors.h"
#include "tools/post-bench/admin_channel.h"
#include "tools/post-bench/interruption.h"
#include "tools/post-bench/port_picker.h"

namespace post::bench {

namespace asio = boost::asio;
namespace admin = post::proto::admin;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

// post-ca makes one key pair per call; a minute means something is wrong.
constexpr auto kPostCaTimeout = std::chrono::milliseconds(60s);
// SIGTERM makes postd tell its leaf set it leaves and wait for the goodbyes to go out (up to
// its own shutdown grace); after this long it is killed.
constexpr auto kStopGrace = std::chrono::milliseconds(5s);
// Readiness polling: a status request per node that is not ready yet, this often.
constexpr auto kReadyPollInterval = 200ms;
constexpr auto kStatusTimeout = 2s;
constexpr auto kConnectTimeout = 1s;
// Lines of a node's log quoted when it fails.
constexpr std::size_t kLogLinesQuoted = 10;

Error cluster_error(const std::string& message) {
  return make_error(CoreErrc::kIoError, message);
}

std::string state_name(admin::JoinState s) {
  switch (s) {
    case admin::JOIN_STATE_IDLE: return "idle";
    case admin::JOIN_STATE_JOINING: return "joining";
    case admin::JOIN_STATE_READY: return "ready";
    case admin::JOIN_STATE_LEFT: return "left";
    default: return "unknown";
  }
}

// Asks `channel` (connecting it first if needed) for the node's status, waiting at most
// kConnectTimeout + kStatusTimeout. The callbacks hold their results by shared_ptr: after a
// timeout or an interruption they may run after this function returned.
Result<admin::StatusReply> status_of(asio::io_context& io, std::shared_ptr<AdminChannel>& channel,
                                     const ClusterNode& node) {
  if (!channel || !channel->open()) {
    if (channel) channel->close();
    channel = AdminChannel::create(io, node.admin_endpoint(), node.name + "'s admin endpoint",
                                   kStatusTimeout);
    auto connected = std::make_shared<std::optional<Status>>();
    channel->connect([connected](Status s) { *connected = std::move(s); });
    if (!run_until(
            io, [&] { return connected->has_value(); }, SteadyClock::now() + kConnectTimeout)) {
      channel->close();
      return make_error(CoreErrc::kIoError, "no connection to its admin endpoint");
    }
    if (!(*connected)->ok()) return std::move(**connected).error();
  }
  admin::AdminRequest request;
  request.mutable_status();
  auto answer = std::make_shared<std::optional<Result<admin::AdminResponse>>>();
  channel->call(request, [answer](Result<admin::AdminResponse> r) { *answer = std::move(r); });
  // The channel's own request timeout ends the wait; the deadline here only backs it up.
  if (!run_until(
          io, [&] { return answer->has_value(); }, SteadyClock::now() + kStatusTimeout + 1s)) {
    channel->close();
    return make_error(CoreErrc::kIoError, "no answer to a status request");
  }
  Result<admin::AdminResponse>& response = **answer;
  if (!response.ok()) return response.error();
  if (response->has_error()) {
    return make_error(CoreErrc::kIoError,
                      "status answered with an error: " + response->error().message());
  }
  if (!response->has_status()) {
    return make_error(CoreErrc::kIoError, "status answered with another kind of answer");
  }
  return response->status();
}

}  // namespace

asio::ip::tcp::endpoint ClusterNode::admin_endpoint() const {
  return {asio::ip::address_v4::loopback(), admin_port};
}

std::string ClusterNode::describe() const {
  return name + " (admin 127.0.0.1:" + std::to_string(admin_port) + ", log " + log_path + ")";
}

Result<std::unique_ptr<LocalCluster>> LocalCluster::prepare(ClusterOptions options) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster(std::move(options)));
  POST_TRY(cluster->make_directory());
  if (auto s = cluster->make_identities_and_configs(); !s.ok()) {
    if (interrupted()) return std::move(s).error();
    cluster->keep_ = true;  // for the logs the error names
    Error e = std::move(s).error();
    e.message += " (the cluster's directory " + cluster->dir_ + " is kept)";
    return e;
  }
  return cluster;
}

Status LocalCluster::make_identities_and_configs() {
  fs::path dir = dir_;
  std::string setup_log = (dir / "setup.log").string();
  POST_TRY(run_to_completion({options_.post_ca_path, "init", "--dir", (dir / "ca").string()},
                             setup_log, kPostCaTimeout));
  POST_TRY(issue_users(setup_log));
  PortPicker ports;
  for (int i = 0; i < options_.nodes; ++i) {
    if (interrupted()) return cluster_error("interrupted");
    ClusterNode node;
    node.name = "node" + std::to_string(i);
    fs::path node_dir = dir / node.name;
    POST_TRY(run_to_completion({options_.post_ca_path, "issue-node", "--ca", (dir / "ca").string(),
                                "--out", node_dir.string()},
                               setup_log, kPostCaTimeout));
    node.config_path = (node_dir / "node.yaml").string();
    node.log_path = (node_dir / "postd.log").string();
    POST_TRY_ASSIGN(node.port, ports.pick());
    POST_TRY_ASSIGN(node.admin_port, ports.pick());
    POST_TRY(write_config(i, node));
    nodes_.push_back(std::move(node));
  }
  return ok_status();
}

LocalCluster::~LocalCluster() {
  stop();
  processes_.clear();
  if (!keep_ && !dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

Status LocalCluster::make_directory() {
  std::error_code ec;
  if (options_.directory.empty()) {
    std::string pattern = (fs::temp_directory_path(ec) / "post-bench-XXXXXX").string();
    if (ec) return cluster_error("no temporary directory: " + ec.message());
    if (::mkdtemp(pattern.data()) == nullptr) {
      return cluster_error("cannot create a directory like " + pattern + ": " +
                           std::strerror(errno));
    }
    dir_ = pattern;
    return ok_status();
  }
  keep_ = true;
  fs::path dir = fs::absolute(options_.directory, ec);
  if (ec) return cluster_error("--keep " + options_.directory + ": " + ec.message());
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return cluster_error("--keep " + options_.directory +
                         ": the directory exists and is not empty; give a new or empty one");
  }
  fs::create_directories(dir, ec);
  if (ec) return cluster_error("cannot create " + dir.string() + ": " + ec.message());
  dir_ = dir.string();
  return ok_status();
}

Status LocalCluster::issue_users(const std::string& setup_log) {
  fs::path dir = dir_;
  for (const ClusterUser& user : options_.users) {
    if (user.node < 0 || user.node >= options_.nodes) {
      return cluster_error("user " + user.email + " is on node" + std::to_string(user.node) +
                           ", which the cluster does not have");
    }
    POST_TRY(run_to_completion(
        {options_.post_ca_path, "issue-user", "--ca", (dir / "ca").string(), "--name", user.name,
         "--email", user.email, "--out", (dir / "users" / user.email).string()},
        setup_log, kPostCaTimeout));
  }
  return ok_status();
}

Status LocalCluster::write_config(int index, const ClusterNode& node) {
  // Paths are relative to the configuration's directory, where post-ca put the identity.
  std::string bootstrap =
      index == 0 ? "" : fmt::format("bootstrap: [\"127.0.0.1:{}\"]\n", nodes_.front().port);
  std::string yaml = fmt::format(
      "# Written by post-bench: {name} of a local cluster of {nodes} nodes.\n"
      "identity: {{key: node.key, certificate: node.cert, ca_certificate: ca.cert}}\n"
      "listen: \"127.0.0.1:{port}\"\n"
      "{bootstrap}"
      "data_dir: data\n"
      "admin: \"127.0.0.1:{admin_port}\"\n"
      "log: {{level: info}}\n"
      "past:\n"
      "  replicas: {replicas}\n"
      "  quota_bytes: {quota_bytes}\n",
      fmt::arg("name", node.name), fmt::arg("nodes", options_.nodes), fmt::arg("port", node.port),
      fmt::arg("bootstrap", bootstrap), fmt::arg("admin_port", node.admin_port),
      fmt::arg("replicas", options_.replicas), fmt::arg("quota_bytes", options_.quota_bytes));
  std::string users;
  for (const ClusterUser& user : options_.users) {
    if (user.node != index) continue;
    users +=
        "  - {dir: \"" + (fs::path(dir_) / "users" / user.email).string() + "\", puzzle_bits: 0}\n";
  }
  if (!users.empty()) yaml += "users:\n" + users;
  if (auto extra = options_.extra_yaml.find(index); extra != options_.extra_yaml.end()) {
    std::string text = extra->second;
    for (auto at = text.find("{dir}"); at != std::string::npos; at = text.find("{dir}", at)) {
      text.replace(at, 5, dir_);
      at += dir_.size();
    }
    yaml += text;
  }
  return write_file(node.config_path, yaml, false);
}

Status LocalCluster::start_node(int index) {
  const ClusterNode& node = nodes_[static_cast<std::size_t>(index)];
  POST_TRY_ASSIGN(
      auto process,
      ChildProcess::start({options_.postd_path, "--config", node.config_path}, node.log_path));
  processes_[static_cast<std::size_t>(index)] = std::move(process);
  return ok_status();
}

Status LocalCluster::start(asio::io_context& io, const std::function<void(int, int)>& progress) {
  processes_.resize(nodes_.size());
  auto deadline = SteadyClock::now() + options_.ready_timeout;
  int total = static_cast<int>(nodes_.size());
  progress(0, total);
  // The first node alone: the others' joins go through it, so it must have started the ring.
  POST_TRY(start_node(0));
  POST_TRY(wait_ready(io, {0}, /*full_leaf_set=*/false, deadline, [] {}));
  std::vector<int> all = {0};
  for (int i = 1; i < total; ++i) {
    POST_TRY(start_node(i));
    all.push_back(i);
  }
  int ready = 0;
  POST_TRY(
      wait_ready(io, all, /*full_leaf_set=*/true, deadline, [&] { progress(++ready, total); }));
  return wait_users_published(io, deadline);
}

Status LocalCluster::wait_users_published(asio::io_context& io, SteadyClock::time_point deadline) {
  std::vector<ClusterUser> waiting = options_.users;
  std::map<int, std::shared_ptr<AdminChannel>> channels;
  std::string last_seen;
  while (!waiting.empty()) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      const ClusterNode& node = nodes_[static_cast<std::size_t>(it->node)];
      std::shared_ptr<AdminChannel>& channel = channels[it->node];
      if (!channel || !channel->open()) {
        if (channel) channel->close();
        channel = AdminChannel::create(io, node.admin_endpoint(), node.name + "'s admin endpoint",
                                       kStatusTimeout);
        auto connected = std::make_shared<std::optional<Status>>();
        channel->connect([connected](Status s) { *connected = std::move(s); });
        if (!run_until(
                io, [&] { return connected->has_value(); }, SteadyClock::now() + kConnectTimeout) ||
            !(*connected)->ok()) {
          channel->close();
          last_seen = node.name + "'s admin endpoint did not answer";
          break;
        }
      }
      admin::AdminRequest request;
      request.mutable_users();
      auto answer = std::make_shared<std::optional<Result<admin::AdminResponse>>>();
      channel->call(request, [answer](Result<admin::AdminResponse> r) { *answer = std::move(r); });
      if (!run_until(
              io, [&] { return answer->has_value(); }, SteadyClock::now() + kStatusTimeout + 1s)) {
        channel->close();
        last_seen = node.name + " did not answer a users request";
        break;
      }
      bool published = false;
      if ((*answer)->ok() && (**answer)->has_users()) {
        for (const auto& u : (**answer)->users().users()) {
          if (u.email() == it->email) published = u.published();
        }
        last_seen = it->email + " is not published yet by " + node.name;
      } else {
        last_seen = node.name + " did not list its users";
      }
      it = published ? waiting.erase(it) : it + 1;
    }
    if (waiting.empty()) break;
    if (interrupted()) return cluster_error("interrupted");
    if (SteadyClock::now() >= deadline) {
      for (auto& entry : channels) {
        if (entry.second) entry.second->close();
      }
      const ClusterNode& node = nodes_[static_cast<std::size_t>(waiting.front().node)];
      return cluster_error(std::to_string(waiting.size()) + " user(s) not published after " +
                           std::to_string(options_.ready_timeout.count()) + " s: " + last_seen +
                           "; " + log_excerpt(node.log_path, kLogLinesQuoted));
    }
    if (!pause(io, kReadyPollInterval)) return cluster_error("interrupted");
  }
  for (auto& entry : channels) {
    if (entry.second) entry.second->close();
  }
  return ok_status();
}

Status LocalCluster::wait_ready(asio::io_context& io, const std::vector<int>& which,
                                bool full_leaf_set, SteadyClock::time_point deadline,
                                const std::function<void()>& on_ready) {
  struct Waiting {
    int index;
    std::shared_ptr<AdminChannel> channel;
    std::string last_seen = "its admin endpoint never answered";
  };
  std::vector<Waiting> waiting;
  waiting.reserve(which.size());
  for (int i : which) waiting.push_back(Waiting{i, nullptr});
  auto expected_leaf_set = [&](const admin::StatusReply& s) {
    if (!full_leaf_set) return std::uint32_t{0};
    return std::min<std::uint32_t>(static_cast<std::uint32_t>(nodes_.size() - 1),
                                   s.leaf_set_capacity());
  };
  for (;;) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      const ClusterNode& node = nodes_[static_cast<std::size_t>(it->index)];
      ChildProcess& process = *processes_[static_cast<std::size_t>(it->index)];
      if (!process.running()) {
        return cluster_error(node.name + " " + process.status_text() + " before it was ready; " +
                             log_excerpt(node.log_path, kLogLinesQuoted));
      }
      auto status = status_of(io, it->channel, node);
      if (interrupted()) return cluster_error("interrupted");
      if (!status.ok()) {
        it->last_seen = status.error().message;
        ++it;
        continue;
      }
      std::uint32_t want = expected_leaf_set(*status);
      it->last_seen = "state " + state_name(status->state()) + ", leaf set of " +
                      std::to_string(status->leaf_set_size()) + " (of " + std::to_string(want) +
                      " expected)";
      if (status->state() == admin::JOIN_STATE_READY && status->leaf_set_size() >= want) {
        it->channel->close();
        it = waiting.erase(it);
        on_ready();
      } else {
        ++it;
      }
    }
    if (waiting.empty()) break;
    if (SteadyClock::now() >= deadline) {
      const Waiting& w = waiting.front();
      const ClusterNode& node = nodes_[static_cast<std::size_t>(w.index)];
      for (auto& other : waiting) {
        if (other.channel) other.channel->close();
      }
      return cluster_error(std::to_string(waiting.size()) + " node(s) not ready after " +
                           std::to_string(options_.ready_timeout.count()) + " s; the first, " +
                           node.name + ": " + w.last_seen + "; " +
                           log_excerpt(node.log_path, kLogLinesQuoted));
    }
    if (!pause(io, kReadyPollInterval)) return cluster_error("interrupted");
  }
  return ok_status();
}

Status LocalCluster::check_running() {
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    if (processes_[i] && !processes_[i]->running()) {
      return cluster_error(nodes_[i].name + " " + processes_[i]->status_text() +
                           " during the run; " + log_excerpt(nodes_[i].log_path, kLogLinesQuoted));
    }
  }
  return ok_status();
}

std::vector<std::string> LocalCluster::stop() {
  std::vector<std::string> killed;
  for (auto& p : processes_) {
    if (p) p->signal(SIGTERM);
  }
  auto deadline = SteadyClock::now() + kStopGrace;
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    ChildProcess* p = processes_[i].get();
    if (!p) continue;
    // ChildProcess::wait() returns early once interrupted; stopping must not.
    while (p->running() && SteadyClock::now() < deadline) std::this_thread::sleep_for(10ms);
    if (p->running()) {
      p->signal(SIGKILL);
      killed.push_back(nodes_[i].name);
      auto kill_deadline = SteadyClock::now() + kStopGrace;
      while (p->running() && SteadyClock::now() < kill_deadline) {
        std::this_thread::sleep_for(1ms);
      }
    }
  }
  return killed;
}

}  // namespace post::bench
