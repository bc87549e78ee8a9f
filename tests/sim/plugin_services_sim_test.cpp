// The POST services of plugins end to end on a simulated ring of 16 nodes (PostRing): the
// fixture plugin (tests/unit/plugin/fixtures/services_plugin.cpp) runs in a PluginManager on
// two nodes, over PluginServices, ServedUsers and the node's real services, as in postd. Alice
// is served by node A, Bob by node B. The plugin on A stores and fetches content, writes and
// reads Alice's log, notifies Bob, publishes to a topic and anycasts to it; the plugin on B
// gets the notification, the publication and the anycast. Then, through the C++ interface:
// notifications wait for a plugin that has no handler yet, the refusals the services
// document (unshared foreign logs, senders not served here), and shared logs (ABI 1.1) read
// on a node that does not serve their writer.
#include "host/daemon/plugin_services.h"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <optional>

#include "host/daemon/served_users.h"
#include "host/plugin/plugin_manager.h"
#include "tests/support/test_support.h"
#include "tools/post-sim/post_scenario.h"

namespace post::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using plugin::ServiceErrc;
using sim::SimNode;

const fs::path kServicesPlugin = POST_PLUGIN_SERVICES;
constexpr char kPluginName[] = "services-fixture";
constexpr std::uint64_t kSeed = 73;

// One node's host side: the users it serves, its PluginServices and a PluginManager.
struct Host {
  std::unique_ptr<ServedUsers> users;
  std::unique_ptr<PluginServices> services;
  plugin::MemoryKeyValueStores kv;
  std::unique_ptr<plugin::PluginManager> plugins;
};

class PluginServicesRing : public ::testing::Test {
 protected:
  PluginServicesRing() {
    sim::PostRingConfig config;
    config.ring.nodes = 16;
    config.ring.seed = kSeed;
    config.ring.pastry.leaf_set_size = 8;
    config.past.replicas = 3;
    config.presence.interval = 5s;
    config.notify.deliver_timeout = 3s;
    config.notify.delegate_timeout = 5s;
    ring_ = std::make_unique<sim::PostRing>(config);
    EXPECT_TRUE(ring_->build().failed.empty()) << "seed " << kSeed;
    ring_->ring().run_for(20s);
    nodes_ = ring_->ring().members();
    a_ = nodes_[1];
    b_ = nodes_[9];
    fs::create_directories(plugins_dir());
    fs::copy_file(kServicesPlugin, plugins_dir() / "services.so");
    serve(a_, "alice@example.org");
    serve(b_, "bob@example.org");
  }

  ~PluginServicesRing() override {
    for (auto& [node, host] : hosts_) {
      host.plugins.reset();  // before the services it uses
      ring_->notify(node)->set_handler(nullptr);
      host.services.reset();
      host.users.reset();
    }
  }

  fs::path plugins_dir() const { return fs::path(dir_.path()) / "plugins"; }

  // Node `n` serves the user `email` (made on first use), with PluginServices and a
  // PluginManager over it.
  void serve(SimNode n, const std::string& email) {
    if (!users_.contains(email)) {
      auto made = ring_->add_user(email, n);
      ASSERT_TRUE(made.ok()) << made.error().to_string();
      users_.emplace(email, std::move(made).value());
    }
    const sim::SimUser* user = &users_.at(email);
    LocalUser local;
    local.keys = user->keys;
    local.certificate = user->certificate;
    local.certificate_block =
        services::make_user_certificate_block(ring_->ca(), user->certificate).value();
    Host& host = hosts_[n];
    host.users = std::make_unique<ServedUsers>(
        std::vector<LocalUser>{local}, *ring_->directory(n), *ring_->presence(n), *ring_->notify(n),
        ring_->ring().network().clock(n),
        [this] { return static_cast<std::uint64_t>(ring_->unix_now()) * 1000; });
    host.services = std::make_unique<PluginServices>(
        *ring_->past_ring().past(n), *ring_->secure_store(n), *ring_->notify(n), *ring_->scribe(n),
        *host.users, ring_->ring().network().clock(n));
    // What the daemon's handler does.
    PluginServices* services = host.services.get();
    ring_->notify(n)->set_handler(
        [services](const std::string& to, const services::DeliveredNotification& d) {
          services->on_notification(to, d);
        });
    plugin::PluginManagerOptions options;
    options.plugin_dirs = {plugins_dir()};
    options.runtime_dir = fs::path(dir_.path()) / ("run" + std::to_string(n));
    options.kv_stores = host.kv.factory();
    options.services = host.services.get();
    host.plugins = std::make_unique<plugin::PluginManager>(io_, std::move(options));
    host.users->start();
    ASSERT_TRUE(run_until([&] { return host.users->state(email) == ServedUsers::State::kServed; }))
        << email << " is not served; seed " << kSeed;
  }

  // Runs the ring and the plugins' executor (one thread: the test's) until `done()`.
  bool run_until(const std::function<bool()>& done, net::Duration limit = 2min) {
    return ring_->run_until(
        [&] {
          io_.poll();
          return done();
        },
        limit, 10ms);
  }

  Status load(SimNode n, const std::string& yaml) {
    auto config = config::Node::load_string(yaml, "node.yaml");
    if (!config.ok()) return config.error();
    return hosts_[n].plugins->load(
        plugin::PluginSpec{"svc", plugins_dir() / "services.so", *config});
  }

  std::optional<std::string> recorded(SimNode n, const std::string& key) {
    auto v = hosts_[n].kv.store("svc")->get(key);
    return v.ok() ? *v : std::nullopt;
  }

  Result<std::uint64_t> append(SimNode n, const std::string& user, const std::string& log,
                               const std::string& record) {
    std::optional<Result<std::uint64_t>> out;
    hosts_[n].services->log_append(kPluginName, user, log, to_bytes(record),
                                   [&](Result<std::uint64_t> r) { out = std::move(r); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); })) << record << "; seed " << kSeed;
    return out.value_or(make_error(ServiceErrc::kFailed, "no answer"));
  }
  Status share(SimNode n, const std::string& user, const std::string& log) {
    std::optional<Status> out;
    hosts_[n].services->log_share(kPluginName, user, log, [&](Status s) { out = std::move(s); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); })) << log << "; seed " << kSeed;
    return out.value_or(make_error(ServiceErrc::kFailed, "no answer"));
  }
  // The records of `user`'s log read at node `n`, as "<index>=<record>" each.
  Result<std::vector<std::string>> read(SimNode n, const std::string& user, const std::string& log,
                                        std::uint64_t from = 0, std::uint32_t max = 100) {
    std::optional<Result<std::vector<plugin::LogEntry>>> out;
    hosts_[n].services->log_read(
        kPluginName, user, log, from, max,
        [&](Result<std::vector<plugin::LogEntry>> r) { out = std::move(r); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); })) << log << "; seed " << kSeed;
    if (!out) return make_error(ServiceErrc::kFailed, "no answer");
    if (!out->ok()) return std::move(*out).error();
    std::vector<std::string> records;
    for (const auto& e : **out)
      records.push_back(std::to_string(e.index) + "=" + to_string(e.record));
    return records;
  }

  bool in_topic(SimNode n, const std::string& topic) {
    return ring_->scribe(n)->in_tree(PluginServices::topic_group(kPluginName, topic));
  }

  post::testing::TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<sim::PostRing> ring_;
  std::vector<SimNode> nodes_;
  SimNode a_ = 0;
  SimNode b_ = 0;
  std::map<SimNode, Host> hosts_;
  std::map<std::string, sim::SimUser> users_;
};

TEST_F(PluginServicesRing, APluginOnOneNodeReachesItsPeerOnAnotherThroughEveryService) {
  // Bob's plugin: takes anycasts. It subscribes in its init; the tree forms meanwhile.
  Status loaded = load(b_, "user: bob@example.org\npeer: alice@example.org\n");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  ASSERT_TRUE(run_until([&] { return in_topic(b_, "news"); })) << "seed " << kSeed;

  // Alice's plugin acts as it starts: store, log, notify, publish, anycast.
  loaded = load(a_,
                "act: true\ntake_anycasts: false\nuser: alice@example.org\n"
                "peer: bob@example.org\n");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  ASSERT_TRUE(run_until([&] {
    for (const char* key : {"store", "log", "notify", "publish", "anycast"}) {
      if (!recorded(a_, key)) return false;
    }
    return recorded(b_, "notification") && recorded(b_, "message") && recorded(b_, "took");
  })) << "seed "
      << kSeed;

  EXPECT_EQ(recorded(a_, "store"), "stored by alice@example.org");
  EXPECT_EQ(recorded(a_, "log"), "0=entry one;1=entry two;");
  EXPECT_EQ(recorded(a_, "notify"), "ok");
  EXPECT_EQ(recorded(a_, "publish"), "ok");
  EXPECT_EQ(recorded(a_, "anycast"), "taken by " + ring_->ring().node(b_)->local().id.to_hex());
  EXPECT_EQ(recorded(b_, "notification"),
            "bob@example.org|alice@example.org|hello bob@example.org");
  EXPECT_EQ(recorded(b_, "message"), "headline from alice@example.org");
  EXPECT_EQ(recorded(b_, "took"), "job from alice@example.org");
  EXPECT_EQ(hosts_[b_].services->stats().notifications_to_plugins, 1u);
  EXPECT_EQ(hosts_[a_].services->open_logs(), 1u);

  // A reload of Bob's plugin takes the topic over (that the node never leaves the topic
  // meanwhile is host_services_test's).
  Status reloaded = hosts_[b_].plugins->reload("svc");
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();
  std::optional<Status> published;
  hosts_[a_].services->scribe_publish(kPluginName, "news", to_bytes("after the reload"),
                                      [&](Status s) { published = std::move(s); });
  ASSERT_TRUE(run_until([&] { return recorded(b_, "message") == "after the reload"; }))
      << "seed " << kSeed;
  ASSERT_TRUE(published.has_value() && published->ok());
  EXPECT_TRUE(in_topic(b_, "news"));
}

TEST_F(PluginServicesRing, NotificationsWaitForAPluginThatHasNoHandlerYet) {
  // Alice notifies Bob's plugin before it is loaded on B.
  std::optional<Status> sent;
  hosts_[a_].services->notify_send(kPluginName, "alice@example.org", "bob@example.org",
                                   to_bytes("are you there?"),
                                   [&](Status s) { sent = std::move(s); });
  ASSERT_TRUE(run_until([&] { return sent.has_value(); }));
  ASSERT_TRUE(sent->ok()) << sent->error().to_string();
  EXPECT_EQ(hosts_[b_].services->pending_notifications(), 1u);

  ASSERT_TRUE(load(b_, "user: bob@example.org\n").ok());
  ASSERT_TRUE(run_until([&] { return recorded(b_, "notification").has_value(); }));
  EXPECT_EQ(recorded(b_, "notification"), "bob@example.org|alice@example.org|are you there?");
  EXPECT_EQ(hosts_[b_].services->pending_notifications(), 0u);
}

TEST_F(PluginServicesRing, ANotificationRefusedWhileNoInstanceServesWaitsForTheNextHandler) {
  PluginServices& at_b = *hosts_[b_].services;
  std::vector<std::string> taken;
  at_b.set_notification_handler("direct", [](const plugin::PluginNotification&) {
    return false;  // as the manager's while no instance serves
  });
  std::optional<Status> sent;
  hosts_[a_].services->notify_send("direct", "alice@example.org", "bob@example.org",
                                   to_bytes("first"), [&](Status s) { sent = std::move(s); });
  ASSERT_TRUE(run_until([&] { return sent.has_value(); }));
  ASSERT_TRUE(sent->ok()) << sent->error().to_string();
  EXPECT_EQ(at_b.pending_notifications(), 1u);

  at_b.set_notification_handler("direct", [&](const plugin::PluginNotification& n) {
    taken.push_back(n.recipient + "|" + n.sender + "|" + to_string(n.payload));
    return true;
  });
  ASSERT_TRUE(run_until([&] { return !taken.empty(); }));
  EXPECT_EQ(taken, std::vector<std::string>{"bob@example.org|alice@example.org|first"});
  EXPECT_EQ(at_b.pending_notifications(), 0u);
  EXPECT_EQ(at_b.stats().notifications_to_plugins, 1u);
}

TEST_F(PluginServicesRing, ALogWrittenOnAnotherNodeMeanwhileIsOpenedAgainFromItsNewestHead) {
  const SimNode c = nodes_[13];
  serve(c, "alice@example.org");  // Alice moved: node C serves her too now
  auto append = [&](SimNode n, const std::string& record) {
    std::optional<Result<std::uint64_t>> out;
    hosts_[n].services->log_append(kPluginName, "alice@example.org", "journal", to_bytes(record),
                                   [&](Result<std::uint64_t> r) { out = std::move(r); });
    EXPECT_TRUE(run_until([&] { return out.has_value(); })) << record;
    return out.value_or(make_error(ServiceErrc::kFailed, "no answer"));
  };
  auto first = append(a_, "a1");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(*first, 0u);
  auto elsewhere = append(c, "c1");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.error().to_string();
  EXPECT_EQ(*elsewhere, 1u);
  // A's writer is behind: its head is refused, and the next append starts from C's head.
  auto behind = append(a_, "a2");
  ASSERT_FALSE(behind.ok());
  EXPECT_NE(behind.error().message.find("not newer than the stored version"), std::string::npos)
      << behind.error().message;
  auto again = append(a_, "a3");
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(*again, 2u);

  std::optional<Result<std::vector<plugin::LogEntry>>> read;
  hosts_[a_].services->log_read(
      kPluginName, "alice@example.org", "journal", 0, 10,
      [&](Result<std::vector<plugin::LogEntry>> r) { read = std::move(r); });
  ASSERT_TRUE(run_until([&] { return read.has_value(); }));
  ASSERT_TRUE(read->ok()) << read->error().to_string();
  std::vector<std::string> records;
  for (const auto& e : **read)
    records.push_back(std::to_string(e.index) + "=" + to_string(e.record));
  EXPECT_EQ(records, (std::vector<std::string>{"0=a1", "1=c1", "2=a3"}));
  EXPECT_EQ(hosts_[a_].services->open_logs(), 1u);
}

TEST_F(PluginServicesRing, RefusesForeignLogsAndSendersThisNodeDoesNotServe) {
  PluginServices& at_a = *hosts_[a_].services;
  std::optional<Result<std::vector<plugin::LogEntry>>> read;
  at_a.log_read(kPluginName, "bob@example.org", "journal", 0, 10,
                [&](Result<std::vector<plugin::LogEntry>> r) { read = std::move(r); });
  std::optional<Result<std::uint64_t>> appended;
  at_a.log_append(kPluginName, "bob@example.org", "journal", to_bytes("forged"),
                  [&](Result<std::uint64_t> r) { appended = std::move(r); });
  std::optional<Status> sent;
  at_a.notify_send(kPluginName, "bob@example.org", "alice@example.org", to_bytes("forged"),
                   [&](Status s) { sent = std::move(s); });
  std::optional<Result<std::vector<plugin::LogEntry>>> empty;
  at_a.log_read(kPluginName, "alice@example.org", "never written", 0, 10,
                [&](Result<std::vector<plugin::LogEntry>> r) { empty = std::move(r); });
  ASSERT_TRUE(run_until([&] { return read && appended && sent && empty; }));

  ASSERT_FALSE(read->ok());
  EXPECT_EQ(read->error().code, ServiceErrc::kNotFound);
  EXPECT_NE(read->error().message.find("has not shared log 'journal' of plugin "
                                       "'services-fixture'"),
            std::string::npos)
      << read->error().message;
  ASSERT_FALSE(appended->ok());
  EXPECT_EQ(appended->error().code, ServiceErrc::kInvalidArgument);
  EXPECT_NE(appended->error().message.find("bob@example.org is not a user this node serves"),
            std::string::npos)
      << appended->error().message;
  ASSERT_FALSE(sent->ok());
  EXPECT_EQ(sent->error().code, ServiceErrc::kInvalidArgument);
  ASSERT_TRUE(empty->ok()) << empty->error().to_string();
  EXPECT_TRUE((*empty)->empty());
  EXPECT_EQ(at_a.open_logs(), 0u);
}

TEST_F(PluginServicesRing, ALogSharedByItsWriterIsReadOnANodeThatDoesNotServeTheWriter) {
  using Records = std::vector<std::string>;
  ASSERT_TRUE(append(a_, "alice@example.org", "members", "bob@example.org").ok());
  ASSERT_TRUE(append(a_, "alice@example.org", "members", "carol@example.org").ok());
  Status shared = share(a_, "alice@example.org", "members");
  ASSERT_TRUE(shared.ok()) << shared.error().to_string();
  ASSERT_EQ(hosts_[a_].users->shared_logs("alice@example.org").size(), 1u);
  EXPECT_EQ(hosts_[a_].users->shared_logs("alice@example.org")[0].name,
            "plugin/services-fixture/members");

  // Node B serves Bob, not Alice: it finds the log through Alice's identity.
  auto read_at_b = read(b_, "alice@example.org", "members");
  ASSERT_TRUE(read_at_b.ok()) << read_at_b.error().to_string();
  EXPECT_EQ(*read_at_b, (Records{"0=bob@example.org", "1=carol@example.org"}));
  auto paged = read(b_, "alice@example.org", "members", 1, 1);
  ASSERT_TRUE(paged.ok()) << paged.error().to_string();
  EXPECT_EQ(*paged, (Records{"1=carol@example.org"}));

  // A record appended later is seen by the next read: nothing is cached.
  ASSERT_TRUE(append(a_, "alice@example.org", "members", "dave@example.org").ok());
  auto newer = read(b_, "alice@example.org", "members", 2);
  ASSERT_TRUE(newer.ok()) << newer.error().to_string();
  EXPECT_EQ(*newer, (Records{"2=dave@example.org"}));

  // Alice moves to node C, whose first identity keeps the log shared.
  const SimNode c = nodes_[13];
  serve(c, "alice@example.org");
  EXPECT_EQ(hosts_[c].users->shared_logs("alice@example.org").size(), 1u);
  auto after_move = read(b_, "alice@example.org", "members");
  ASSERT_TRUE(after_move.ok()) << after_move.error().to_string();
  EXPECT_EQ(after_move->size(), 3u);
}

TEST_F(PluginServicesRing, AnUnsharedLogOrAnUnknownUserReadsAsNotFoundAndASharedEmptyLogAsEmpty) {
  ASSERT_TRUE(append(a_, "alice@example.org", "journal", "private").ok());
  auto unshared = read(b_, "alice@example.org", "journal");
  ASSERT_FALSE(unshared.ok());
  EXPECT_EQ(unshared.error().code, ServiceErrc::kNotFound);

  auto unknown = read(b_, "nobody@example.org", "members");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ServiceErrc::kNotFound);
  EXPECT_NE(unknown.error().message.find("no user nobody@example.org in the directory"),
            std::string::npos)
      << unknown.error().message;

  // Shared before anything was written: it exists, and is empty.
  ASSERT_TRUE(share(a_, "alice@example.org", "members").ok());
  auto empty = read(b_, "alice@example.org", "members");
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_TRUE(empty->empty());
  // Sharing one log does not share the others.
  unshared = read(b_, "alice@example.org", "journal");
  ASSERT_FALSE(unshared.ok());
  EXPECT_EQ(unshared.error().code, ServiceErrc::kNotFound);
}

TEST_F(PluginServicesRing, OnlyAServedUserSharesAndOnlyNamesTheIdentityHolds) {
  Status foreign = share(a_, "bob@example.org", "members");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, ServiceErrc::kInvalidArgument);
  EXPECT_NE(foreign.error().message.find("bob@example.org is not a user this node serves"),
            std::string::npos)
      << foreign.error().message;
  Status too_long = share(a_, "alice@example.org", std::string(41, 'n'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ServiceErrc::kTooLarge);
  EXPECT_TRUE(hosts_[a_].users->shared_logs("alice@example.org").empty());
}

}  // namespace
}  // namespace post::daemon
