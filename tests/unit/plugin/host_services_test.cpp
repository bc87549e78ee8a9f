// The manager's side of the POST services: a real plugin (fixtures/services_plugin.cpp, written
// with post/sdk.hpp) against a fake HostServices. Arguments reach the service scoped by the
// plugin's name, completions reach the plugin, bad arguments are refused at once, nothing
// reaches an instance that stopped, a reloaded version takes over the topic and the
// notifications without the node leaving the topic, and a host without services answers
// POST_ERR_UNAVAILABLE.
#include "host/plugin/host_services.h"

#include <algorithm>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "host/plugin/errors.h"
#include "host/plugin/plugin_manager.h"
#include "post/sdk.h"
#include "tests/unit/plugin/plugin_test_support.h"

namespace post::plugin {
namespace {

namespace fs = std::filesystem;
using namespace post::plugin::testing;

const fs::path kServicesPlugin = POST_PLUGIN_SERVICES;
constexpr char kPluginName[] = "services-fixture";

std::string text(ByteView b) {
  return post::to_string(b);
}

// Asks echo on `port` for ?broadcasts and returns the texts it lists, or nullopt when the
// reply is not "broadcasts <n>" and n lines.
std::optional<std::vector<std::string>> echo_broadcasts(std::uint16_t port) {
  LineClient client(port);
  auto head = client.ask("?broadcasts");
  if (!head || head->rfind("broadcasts ", 0) != 0) return std::nullopt;
  std::size_t n = std::stoul(head->substr(11));
  // The n lines follow in the same reply; each ask() sends a line the client ignores
  // and returns the next line the reply holds.
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    auto line = client.ask("");
    if (!line) return std::nullopt;
    out.push_back(*line);
  }
  return out;
}

// A one-node stand-in for the daemon's services: content and logs in memory, publications
// and anycasts to the members subscribed here. With `hold`, completions wait in `held` until
// the test releases them. Executor only, like the real thing.
class FakeHostServices final : public HostServices {
 public:
  struct Call {
    std::string function;
    std::string plugin;
    std::string user;  // log owner or sender
    std::string name;  // log name, topic or recipient
    Bytes data;
  };

  void store_put(const std::string& plugin, Bytes content,
                 std::function<void(Result<StoredContent>)> done) override {
    calls.push_back({"store_put", plugin, "", "", content});
    Id handle = Id::hash_of(content);
    content_[handle] = content;
    complete([done, handle] { done(StoredContent{handle, Bytes(kStoreKeyBytes, 7)}); });
  }
  void store_fetch(const std::string& plugin, const Id& handle, Bytes key,
                   std::function<void(Result<Bytes>)> done) override {
    calls.push_back({"store_fetch", plugin, "", handle.to_hex(), key});
    auto it = content_.find(handle);
    if (it == content_.end()) {
      return complete([done] { done(make_error(ServiceErrc::kNotFound, "no such content")); });
    }
    complete([done, content = it->second] { done(content); });
  }
  void log_append(const std::string& plugin, const std::string& user, const std::string& log_name,
                  Bytes record, std::function<void(Result<std::uint64_t>)> done) override {
    calls.push_back({"log_append", plugin, user, log_name, record});
    auto& log = logs_[scoped_name(plugin, user + "/" + log_name)];
    log.push_back(record);
    complete([done, index = log.size() - 1] { done(index); });
  }
  void log_read(const std::string& plugin, const std::string& user, const std::string& log_name,
                std::uint64_t from, std::uint32_t max_records,
                std::function<void(Result<std::vector<LogEntry>>)> done) override {
    calls.push_back({"log_read", plugin, user, log_name, {}});
    std::vector<LogEntry> out;
    const auto& log = logs_[scoped_name(plugin, user + "/" + log_name)];
    for (std::uint64_t i = from; i < log.size() && out.size() < max_records; ++i) {
      out.push_back({i, log[i]});
    }
    complete([done, out] { done(out); });
  }
  void log_share(const std::string& plugin, const std::string& user, const std::string& log_name,
                 std::function<void(Status)> done) override {
    calls.push_back({"log_share", plugin, user, log_name, {}});
    complete([done] { done(ok_status()); });
  }
  void notify_send(const std::string& plugin, const std::string& sender,
                   const std::string& recipient, Bytes payload,
                   std::function<void(Status)> done) override {
    calls.push_back({"notify_send", plugin, sender, recipient, payload});
    complete([done] { done(ok_status()); });
  }
  void set_notification_handler(const std::string& plugin, NotificationHandler handler) override {
    if (handler) {
      ++handlers_set;
      handlers[plugin] = std::move(handler);
    } else {
      ++handlers_cleared;
      handlers.erase(plugin);
    }
  }
  void scribe_subscribe(const std::string& plugin, const std::string& topic,
                        TopicMember member) override {
    ++subscribes;
    members[{plugin, topic}] = std::move(member);
  }
  void scribe_unsubscribe(const std::string& plugin, const std::string& topic) override {
    ++unsubscribes;
    members.erase({plugin, topic});
  }
  void scribe_publish(const std::string& plugin, const std::string& topic, Bytes payload,
                      std::function<void(Status)> done) override {
    calls.push_back({"scribe_publish", plugin, "", topic, payload});
    auto it = members.find({plugin, topic});
    if (it != members.end()) it->second.on_message(payload);
    complete([done] { done(ok_status()); });
  }
  void scribe_anycast(const std::string& plugin, const std::string& topic, Bytes payload,
                      std::function<void(Result<Id>)> done) override {
    calls.push_back({"scribe_anycast", plugin, "", topic, payload});
    auto it = members.find({plugin, topic});
    bool taken = it != members.end() && it->second.on_anycast && it->second.on_anycast(payload);
    if (!taken) {
      return complete([done] { done(make_error(ServiceErrc::kNotFound, "no member took it")); });
    }
    complete([done] { done(node_id()); });
  }

  static Id node_id() { return Id::hash_of(as_bytes("the fake node")); }

  const Call* find(const std::string& function) const {
    for (const Call& c : calls) {
      if (c.function == function) return &c;
    }
    return nullptr;
  }

  bool hold = false;
  std::vector<std::function<void()>> held;
  std::vector<Call> calls;
  std::map<std::string, NotificationHandler> handlers;
  int handlers_set = 0;
  int handlers_cleared = 0;
  std::map<std::pair<std::string, std::string>, TopicMember> members;
  int subscribes = 0;
  int unsubscribes = 0;

 private:
  void complete(std::function<void()> fn) {
    if (hold) {
      held.push_back(std::move(fn));
    } else {
      fn();
    }
  }

  std::map<Id, Bytes> content_;
  std::map<std::string, std::vector<Bytes>> logs_;
};

// A manager over the fake, on an io thread of its own as in postd; the test thread calls the
// manager and the fake on the io thread through call().
class HostServicesTest : public ::testing::Test {
 protected:
  HostServicesTest() {
    fs::create_directories(plugins_dir());
    fs::copy_file(kServicesPlugin, plugins_dir() / "services.so");
    fs::copy_file(kEchoPlugin, plugins_dir() / "echo.so");
    fs::copy_file(kEchoV2Plugin, plugins_dir() / "echo_v2.so");
    io_thread_ = std::thread([this] { io_.run(); });
    start_manager(&services_);
  }

  ~HostServicesTest() override {
    call([this] { manager_.reset(); });
    work_.reset();
    io_thread_.join();
  }

  void start_manager(HostServices* services) {
    call([&] {
      manager_.reset();
      PluginManagerOptions options;
      options.plugin_dirs = {plugins_dir()};
      options.runtime_dir = fs::path(dir_.path()) / "run";
      options.kv_stores = kv_.factory();
      options.services = services;
      options.admin_timeout = admin_timeout_;
      manager_ = std::make_unique<PluginManager>(io_, std::move(options));
    });
  }

  fs::path plugins_dir() const { return fs::path(dir_.path()) / "plugins"; }

  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  PluginSpec spec(const std::string& slot, const std::string& yaml = "") {
    PluginSpec s{slot, plugins_dir() / "services.so", std::nullopt};
    if (!yaml.empty()) {
      auto node = config::Node::load_string(yaml, "node.yaml");
      EXPECT_TRUE(node.ok()) << node.error().to_string();
      if (node.ok()) s.config = *node;
    }
    return s;
  }
  Status load(const PluginSpec& s) {
    return call([&] { return manager_->load(s); });
  }

  // What slot `slot` recorded under `key` in its key-value namespace.
  std::optional<std::string> recorded(const std::string& slot, const std::string& key) {
    auto v = kv_.store(slot)->get(key);
    return v.ok() ? *v : std::nullopt;
  }
  // Waits until `slot` recorded `key`, at most 10 s, and returns it.
  std::optional<std::string> await(const std::string& slot, const std::string& key) {
    eventually([&] { return recorded(slot, key).has_value(); });
    return recorded(slot, key);
  }
  // Waits until `done()`, evaluated on the io thread, holds; at most 10 s.
  bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!call(done)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  // Hands `args` to slot `slot`'s admin command handler and waits for the answer (10 s).
  Result<AdminAnswer> command(const std::string& slot, std::vector<std::string> args) {
    auto answer = std::make_shared<std::optional<Result<AdminAnswer>>>();
    call([&] {
      manager_->admin_command(slot, args, [answer](Result<AdminAnswer> a) { *answer = a; });
      return 0;
    });
    if (!eventually([&] { return answer->has_value(); })) {
      return make_error(PluginErrc::kCommandNotAnswered, "the test's wait ran out");
    }
    return call([&] { return **answer; });
  }
  bool registered() {
    return eventually([&] {
      return services_.handlers.contains(kPluginName) &&
             services_.members.contains({kPluginName, "news"});
    });
  }

  TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread io_thread_;
  MemoryKeyValueStores kv_;
  FakeHostServices services_;
  std::unique_ptr<PluginManager> manager_;
  std::chrono::milliseconds admin_timeout_ = kDefaultAdminTimeout;
};

constexpr char kActing[] = "act: true\nuser: alice@example.org\npeer: bob@example.org\n";

TEST_F(HostServicesTest, ArgumentsReachTheServiceScopedByThePluginAndResultsReachThePlugin) {
  ASSERT_TRUE(load(spec("svc", kActing)).ok());

  EXPECT_EQ(await("svc", "store"), "stored by alice@example.org");
  EXPECT_EQ(await("svc", "log"), "0=entry one;1=entry two;");
  EXPECT_EQ(await("svc", "notify"), "ok");
  EXPECT_EQ(await("svc", "publish"), "ok");
  EXPECT_EQ(await("svc", "message"), "headline from alice@example.org");  // a member here too
  EXPECT_EQ(await("svc", "anycast"), "taken by " + FakeHostServices::node_id().to_hex());
  EXPECT_EQ(await("svc", "took"), "job from alice@example.org");

  call([&] {
    for (const auto& c : services_.calls) EXPECT_EQ(c.plugin, kPluginName) << c.function;
    const auto* append = services_.find("log_append");
    EXPECT_EQ(append->user, "alice@example.org");
    EXPECT_EQ(append->name, "journal");
    EXPECT_EQ(text(append->data), "entry one");
    const auto* fetch = services_.find("store_fetch");
    EXPECT_EQ(fetch->name, Id::hash_of(as_bytes("stored by alice@example.org")).to_hex());
    EXPECT_EQ(fetch->data, Bytes(kStoreKeyBytes, 7));
    const auto* notify = services_.find("notify_send");
    EXPECT_EQ(notify->user, "alice@example.org");
    EXPECT_EQ(notify->name, "bob@example.org");
    EXPECT_EQ(text(notify->data), "hello bob@example.org");
    EXPECT_EQ(services_.find("scribe_publish")->name, "news");
    EXPECT_EQ(services_.subscribes, 1);
    return 0;
  });
}

TEST_F(HostServicesTest, NotificationsReachTheRegisteredPluginWithRecipientSenderAndPayload) {
  ASSERT_TRUE(load(spec("svc")).ok());
  ASSERT_TRUE(registered());
  EXPECT_TRUE(call([&] {
    return services_.handlers.at(kPluginName)(
        PluginNotification{"bob@example.org", "alice@example.org", to_bytes("hi bob")});
  }));
  EXPECT_EQ(await("svc", "notification"), "bob@example.org|alice@example.org|hi bob");
}

TEST_F(HostServicesTest, BadArgumentsAreRefusedAtOnceWithoutACallbackOrAServiceCall) {
  ASSERT_TRUE(load(spec("svc", "probe: true\n")).ok());
  const std::string invalid = std::to_string(POST_ERR_INVALID_ARGUMENT);
  const std::string too_large = std::to_string(POST_ERR_TOO_LARGE);
  for (auto [probe, code] : {std::pair{"store_put_null_callback", invalid},
                             {"store_fetch_short_handle", invalid},
                             {"log_append_empty_user", invalid},
                             {"log_append_record_too_large", too_large},
                             {"log_append_empty_record", invalid},
                             {"log_read_zero_records", invalid},
                             {"notify_send_payload_too_large", too_large},
                             {"notify_register_null", invalid},
                             {"scribe_subscribe_empty_topic", invalid},
                             {"scribe_publish_long_topic", too_large},
                             {"scribe_publish_payload_too_large", too_large},
                             {"scribe_anycast_control_character", invalid}}) {
    EXPECT_EQ(recorded("svc", std::string("probe/") + probe), code) << probe;
  }
  EXPECT_EQ(recorded("svc", "probe/last_message"),
            "scribe_anycast: topic holds a control character");
  ASSERT_TRUE(registered());
  EXPECT_EQ(recorded("svc", "probe/called"), std::nullopt);
  EXPECT_TRUE(call([&] { return services_.calls.empty(); }));
}

TEST_F(HostServicesTest, NothingReachesAnInstanceThatStopped) {
  call([&] { return services_.hold = true; });
  ASSERT_TRUE(load(spec("svc", kActing)).ok());
  ASSERT_TRUE(registered());
  // store_put, the first log_append, notify_send, scribe_publish, scribe_anycast.
  ASSERT_TRUE(eventually([&] { return services_.held.size() == 5; }));
  auto [member, handler] = call([&] {
    return std::pair{services_.members.at({kPluginName, "news"}),
                     services_.handlers.at(kPluginName)};
  });

  ASSERT_TRUE(call([&] { return manager_->unload("svc"); }).ok());
  // The instance's registrations are given back.
  EXPECT_TRUE(eventually([&] { return services_.members.empty() && services_.handlers.empty(); }));
  // A completion, a message or a notification the service still delivers goes nowhere (the
  // plugin's code is unloaded: a call into it would crash the test).
  call([&, member = member, handler = handler] {
    for (auto& fn : services_.held) fn();
    member.on_message(as_bytes("late news"));
    EXPECT_FALSE(member.on_anycast(as_bytes("late job")));
    // Refused, so that the service keeps it for a later version.
    EXPECT_FALSE(
        handler(PluginNotification{"bob@example.org", "alice@example.org", to_bytes("late")}));
    return 0;
  });
  call([] { return 0; });  // anything the calls queued has run
  for (const char* key :
       {"store", "store/handle", "log", "notify", "publish", "anycast", "notification"}) {
    EXPECT_EQ(recorded("svc", key), std::nullopt) << key;
  }
  // The fake handed the publication and the anycast to the member while the plugin served.
  EXPECT_EQ(recorded("svc", "message"), "headline from alice@example.org");
  EXPECT_EQ(recorded("svc", "took"), "job from alice@example.org");
}

TEST_F(HostServicesTest, AReloadedVersionTakesOverTheTopicAndNotificationsWithoutLeaving) {
  call([&] { return services_.hold = true; });
  ASSERT_TRUE(load(spec("svc", kActing)).ok());
  ASSERT_TRUE(registered());
  ASSERT_TRUE(eventually([&] { return services_.held.size() == 5; }));

  Status reloaded = call([&] { return manager_->reload(spec("svc")); });
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();
  call([] { return 0; });  // the manager's sync has run
  call([&] {
    // The node never left the topic, and the handler never went away (it was set again
    // for the new serving instance).
    EXPECT_EQ(services_.subscribes, 1);
    EXPECT_EQ(services_.unsubscribes, 0);
    EXPECT_EQ(services_.handlers_cleared, 0);
    // The old version's operations complete into nothing.
    for (auto& fn : services_.held) fn();
    services_.members.at({kPluginName, "news"}).on_message(as_bytes("after the reload"));
    services_.handlers.at(kPluginName)(
        PluginNotification{"bob@example.org", "carol@example.org", to_bytes("welcome back")});
    return 0;
  });
  EXPECT_EQ(await("svc", "message"), "after the reload");
  EXPECT_EQ(await("svc", "notification"), "bob@example.org|carol@example.org|welcome back");
  EXPECT_EQ(recorded("svc", "store"), std::nullopt);
  EXPECT_EQ(recorded("svc", "publish"), std::nullopt);
}

TEST_F(HostServicesTest, TwoSlotsOfOnePluginShareTheTopicUntilTheLastLeaves) {
  ASSERT_TRUE(load(spec("first")).ok());
  ASSERT_TRUE(load(spec("second")).ok());
  ASSERT_TRUE(registered());
  call([&] {
    services_.members.at({kPluginName, "news"}).on_message(as_bytes("for both"));
    return 0;
  });
  EXPECT_EQ(await("first", "message"), "for both");
  EXPECT_EQ(await("second", "message"), "for both");

  ASSERT_TRUE(call([&] { return manager_->unload("first"); }).ok());
  call([] { return 0; });
  EXPECT_TRUE(call([&] { return services_.members.size() == 1 && services_.unsubscribes == 0; }));
  ASSERT_TRUE(call([&] { return manager_->unload("second"); }).ok());
  EXPECT_TRUE(eventually([&] { return services_.members.empty(); }));
  EXPECT_TRUE(call([&] { return services_.handlers.empty(); }));
}

TEST_F(HostServicesTest, WithoutServicesEveryServiceAnswersUnavailableAndThePluginStillLoads) {
  start_manager(nullptr);
  ASSERT_TRUE(load(spec("svc", kActing)).ok());
  const std::string unavailable = std::to_string(POST_ERR_UNAVAILABLE);
  for (const char* key : {"refused/notify_register", "refused/scribe_subscribe"}) {
    auto r = recorded("svc", key);
    ASSERT_TRUE(r.has_value()) << key;
    EXPECT_EQ(r->rfind(unavailable + " ", 0), 0u) << *r;
    EXPECT_NE(r->find("no POST services"), std::string::npos) << *r;
  }
  for (const char* key : {"store", "log", "notify", "publish", "anycast"}) {
    auto r = recorded("svc", key);
    ASSERT_TRUE(r.has_value()) << key;
    EXPECT_EQ(r->rfind("refused " + unavailable + " ", 0), 0u) << *r;
  }
}

// ---- ABI 1.1: log_share and admin commands ----------------------------------------------

TEST_F(HostServicesTest, LogShareReachesTheServiceScopedByThePlugin) {
  ASSERT_TRUE(load(spec("svc")).ok());
  auto shared = command("svc", {"share", "alice@example.org", "members"});
  ASSERT_TRUE(shared.ok()) << shared.error().to_string();
  EXPECT_EQ(shared->status, POST_OK);
  EXPECT_EQ(shared->text, "shared members of alice@example.org");
  call([&] {
    const auto* share = services_.find("log_share");
    EXPECT_NE(share, nullptr);
    if (share == nullptr) return 0;
    EXPECT_EQ(share->plugin, kPluginName);
    EXPECT_EQ(share->user, "alice@example.org");
    EXPECT_EQ(share->name, "members");
    return 0;
  });
}

TEST_F(HostServicesTest, LogShareRefusesANameTheIdentityCannotHoldAtOnce) {
  ASSERT_TRUE(load(spec("svc")).ok());
  // "plugin/services-fixture/" is 24 bytes: 40 more fill the identity's 64, 41 do not.
  auto fits = command("svc", {"share", "alice@example.org", std::string(40, 'n')});
  ASSERT_TRUE(fits.ok()) << fits.error().to_string();
  EXPECT_EQ(fits->status, POST_OK) << fits->text;
  auto too_long = command("svc", {"share", "alice@example.org", std::string(41, 'n')});
  ASSERT_TRUE(too_long.ok()) << too_long.error().to_string();
  EXPECT_EQ(too_long->status, POST_ERR_TOO_LARGE);
  EXPECT_NE(too_long->text.find("65 bytes > 64 byte limit"), std::string::npos) << too_long->text;
  EXPECT_TRUE(call([&] {
    return std::count_if(services_.calls.begin(), services_.calls.end(),
                         [](const auto& c) { return c.function == "log_share"; }) == 1;
  }));
}

TEST_F(HostServicesTest, AnAdminCommandReachesThePluginAndItsAnswerComesBack) {
  ASSERT_TRUE(load(spec("svc")).ok());
  auto echoed = command("svc", {"echo", "hello", "there"});
  ASSERT_TRUE(echoed.ok()) << echoed.error().to_string();
  EXPECT_EQ(echoed->status, POST_OK);
  EXPECT_EQ(echoed->text, "hello there");

  auto failed = command("svc", {"fail", "no", "such", "list"});
  ASSERT_TRUE(failed.ok()) << failed.error().to_string();
  EXPECT_EQ(failed->status, POST_ERR_FAILED);
  EXPECT_EQ(failed->text, "no such list");

  auto later = command("svc", {"later", "from", "a", "timer"});
  ASSERT_TRUE(later.ok()) << later.error().to_string();
  EXPECT_EQ(later->status, POST_OK);
  EXPECT_EQ(later->text, "from a timer");

  auto unknown = command("svc", {"frobnicate"});
  ASSERT_TRUE(unknown.ok()) << unknown.error().to_string();
  EXPECT_EQ(unknown->status, POST_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(unknown->text, "unknown command 'frobnicate'");

  // No arguments at all reach the plugin as an empty argv.
  auto bare = command("svc", {});
  ASSERT_TRUE(bare.ok()) << bare.error().to_string();
  EXPECT_EQ(bare->text, "unknown command ''");
}

TEST_F(HostServicesTest, AdminCommandsWithoutAHandlerOrOverTheBoundsAreRefused) {
  ASSERT_TRUE(load(spec("quiet", "admin: false\n")).ok());
  ASSERT_TRUE(load(spec("svc")).ok());

  auto no_handler = command("quiet", {"echo", "x"});
  ASSERT_FALSE(no_handler.ok());
  EXPECT_EQ(no_handler.error().code, PluginErrc::kNoCommandHandler);
  EXPECT_NE(no_handler.error().message.find("plugin 'quiet' (services-fixture 1.0.0) takes no "
                                            "admin commands"),
            std::string::npos)
      << no_handler.error().message;

  auto no_slot = command("nobody", {"echo"});
  ASSERT_FALSE(no_slot.ok());
  EXPECT_EQ(no_slot.error().code, PluginErrc::kNotLoaded);

  auto too_many = command("svc", std::vector<std::string>(kMaxAdminArgs + 1, "a"));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, PluginErrc::kBadCommand);
  EXPECT_EQ(too_many.error().message, "plugin 'svc': 65 arguments > the limit of 64");

  auto at_limit = command("svc", {"echo", std::string(kMaxAdminArgBytes, 'a')});
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().to_string();
  EXPECT_EQ(at_limit->text.size(), kMaxAdminArgBytes);
  auto too_long = command("svc", {"echo", std::string(kMaxAdminArgBytes + 1, 'a')});
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, PluginErrc::kBadCommand);
  EXPECT_EQ(too_long.error().message, "plugin 'svc': argument 2 is 4097 bytes > 4096 byte limit");

  auto with_nul = command("svc", {"echo", std::string("a\0b", 3)});
  ASSERT_FALSE(with_nul.ok());
  EXPECT_EQ(with_nul.error().code, PluginErrc::kBadCommand);
}

TEST_F(HostServicesTest, TheHostAnswersACommandThePluginLeavesUnansweredOrDropsByStopping) {
  admin_timeout_ = std::chrono::milliseconds(20);
  start_manager(&services_);
  ASSERT_TRUE(load(spec("svc")).ok());
  auto unanswered = command("svc", {"silent"});
  ASSERT_FALSE(unanswered.ok());
  EXPECT_EQ(unanswered.error().code, PluginErrc::kCommandNotAnswered);
  EXPECT_EQ(unanswered.error().message, "plugin 'svc' did not answer within 20 ms");

  // A command pending when the instance stops (here a reload) is answered at once.
  admin_timeout_ = kDefaultAdminTimeout;
  start_manager(&services_);
  ASSERT_TRUE(load(spec("svc")).ok());
  auto answer = std::make_shared<std::optional<Result<AdminAnswer>>>();
  call([&] {
    manager_->admin_command("svc", {"silent"},
                            [answer](Result<AdminAnswer> a) { *answer = std::move(a); });
    return 0;
  });
  EXPECT_FALSE(call([&] { return answer->has_value(); }));
  ASSERT_TRUE(call([&] { return manager_->reload("svc"); }).ok());
  ASSERT_TRUE(call([&] { return answer->has_value(); }));
  Result<AdminAnswer> dropped = call([&] { return **answer; });
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.error().code, PluginErrc::kCommandNotAnswered);
  EXPECT_EQ(dropped.error().message, "plugin 'svc' stopped before answering the command");
  // The new version takes commands.
  auto echoed = command("svc", {"echo", "again"});
  ASSERT_TRUE(echoed.ok()) << echoed.error().to_string();
  EXPECT_EQ(echoed->text, "again");
}

// ---- echo's broadcast ------------------------------------------------------------------

class EchoBroadcastTest : public HostServicesTest {
 protected:
  std::uint16_t port(const std::string& slot) {
    return static_cast<std::uint16_t>(manager_->metrics().gauge(slot + ".port").value_or(0));
  }
  // Waits until echo in `slot` lists `expected` under ?broadcasts.
  bool lists(const std::string& slot, const std::vector<std::string>& expected) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (echo_broadcasts(port(slot)) != expected) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
};

TEST_F(EchoBroadcastTest, ABroadcastReachesEveryEchoOnTheTopicAndSurvivesAReload) {
  ASSERT_TRUE(load(PluginSpec{"echo", plugins_dir() / "echo.so", std::nullopt}).ok());
  ASSERT_TRUE(load(PluginSpec{"echo-b", plugins_dir() / "echo.so", std::nullopt}).ok());
  ASSERT_TRUE(eventually([&] { return services_.members.contains({"echo", "broadcast"}); }));
  LineClient client(port("echo"));
  EXPECT_EQ(client.ask("!broadcast hello ring"), "broadcast queued") << client.error();
  EXPECT_EQ(client.ask("!broadcast"), "error: usage: !broadcast <text>");
  EXPECT_EQ(client.ask("plain line"), "plain line");
  const std::vector<std::string> hello{"hello ring"};
  EXPECT_TRUE(lists("echo", hello));
  EXPECT_TRUE(lists("echo-b", hello));  // the fake's topic delivers to both slots
  call([&] {
    const auto* published = services_.find("scribe_publish");
    EXPECT_EQ(published->plugin, "echo");
    EXPECT_EQ(published->name, "broadcast");
    return 0;
  });

  // Version 2 takes the received broadcasts over with the connections.
  Status reloaded = call([&] {
    return manager_->reload(PluginSpec{"echo", plugins_dir() / "echo_v2.so", {}});
  });
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().to_string();
  EXPECT_EQ(client.ask("?version"), "echo 2.0.0") << client.error();
  EXPECT_TRUE(lists("echo", hello));
  EXPECT_EQ(client.ask("!broadcast second"), "broadcast queued");
  EXPECT_TRUE(lists("echo", {"hello ring", "second"}));
  EXPECT_TRUE(lists("echo-b", {"hello ring", "second"}));
}

TEST_F(EchoBroadcastTest, WithoutServicesEchoServesAndBroadcastSaysWhyNot) {
  start_manager(nullptr);
  ASSERT_TRUE(load(PluginSpec{"echo", plugins_dir() / "echo.so", std::nullopt}).ok());
  LineClient client(port("echo"));
  EXPECT_EQ(client.ask("hello"), "hello") << client.error();
  auto refused = client.ask("!broadcast hello");
  ASSERT_TRUE(refused.has_value()) << client.error();
  EXPECT_EQ(refused->rfind("error: broadcast unavailable: ", 0), 0u) << *refused;
  EXPECT_NE(refused->find("no POST services"), std::string::npos) << *refused;
  EXPECT_EQ(echo_broadcasts(port("echo")), std::vector<std::string>{});
  EXPECT_EQ(client.ask("?version"), "echo 1.0.0");
}

}  // namespace
}  // namespace post::plugin
