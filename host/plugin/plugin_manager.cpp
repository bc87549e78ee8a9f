#include "host/plugin/plugin_manager.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/core/errors.h"
#include "host/core/log.h"
#include "host/net/address.h"
#include "host/plugin/errors.h"
#include "host/plugin/plugin_library.h"
#include "post/sdk.h"

namespace post::plugin {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

post_status fail(post_error* err, post_status code, std::string_view message) {
  if (err != nullptr) {
    err->code = code;
    std::size_t n = std::min(message.size(), std::size_t{POST_ERROR_MESSAGE_SIZE - 1});
    std::memcpy(err->message, message.data(), n);
    err->message[n] = '\0';
  }
  return code;
}

// The message a plugin wrote into `err`, or a stand-in when it wrote none.
std::string plugin_message(const post_error& err) {
  std::size_t n = strnlen(err.message, POST_ERROR_MESSAGE_SIZE);
  if (n == 0) return "no message (status " + std::to_string(err.code) + ")";
  return std::string(err.message, n);
}

char* copy_string(const std::string& s) {
  auto* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

tcp::endpoint to_endpoint(const net::Address& a) {
  if (a.is_v4()) return {asio::ip::address_v4(a.v4_host_order()), a.port};
  return {asio::ip::address_v6(a.ip), a.port};
}

}  // namespace

// What one slot's instances share: its sockets, key-value namespace and metrics. Instances
// and queued handlers hold it by shared_ptr, so it outlives them all.
struct PluginManager::SlotShared {
  struct Listener {
    post_listener_id id = 0;
    net::Address address;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::uint16_t port = 0;
    std::deque<int> waiting;  // accepted while no instance was serving
  };

  SlotShared(asio::io_context& io_context, std::string slot_name, PluginMetrics& plugin_metrics)
      : io(io_context),
        name(std::move(slot_name)),
        logger(log::get("plugin")),
        metrics(plugin_metrics) {}

  asio::io_context& io;
  const std::string name;
  std::shared_ptr<spdlog::logger> logger;
  PluginMetrics& metrics;             // the manager's; only touched while an instance is alive
  std::shared_ptr<KeyValueStore> kv;  // null: unavailable
  std::shared_ptr<ServiceHub> hub;    // null: no POST services

  // Admin commands handed to an instance and not answered yet, by request id. Executor only.
  struct PendingCommand {
    std::uint64_t instance_serial = 0;
    std::function<void(Result<AdminAnswer>)> done;
    std::unique_ptr<asio::steady_timer> timeout;
  };
  std::map<std::uint64_t, PendingCommand> commands;

  // Answers command `request`, when it is still pending, with `answer`. Executor only.
  void finish_command(std::uint64_t request, Result<AdminAnswer> answer) {
    auto it = commands.find(request);
    if (it == commands.end()) return;
    PendingCommand pending = std::move(it->second);
    commands.erase(it);
    pending.timeout->cancel();
    pending.done(std::move(answer));
  }
  // Answers every command pending with the instance `serial` with an error. Executor only.
  void orphan_commands(std::uint64_t serial) {
    std::vector<std::uint64_t> orphaned;
    for (const auto& [request, pending] : commands) {
      if (pending.instance_serial == serial) orphaned.push_back(request);
    }
    for (std::uint64_t request : orphaned) {
      finish_command(request, make_error(PluginErrc::kCommandNotAnswered,
                                         fmt::format("plugin '{}' stopped before answering "
                                                     "the command",
                                                     name)));
    }
  }

  std::mutex mu;  // guards what follows, and each instance's `accepts`
  std::map<post_listener_id, std::unique_ptr<Listener>> listeners;
  post_listener_id next_listener_id = 1;
  Instance* serving = nullptr;  // the instance accepted connections go to; executor only

  // Closes a listener and the connections waiting in it. Executor only; mu held.
  void close_listener_locked(post_listener_id id) {
    auto it = listeners.find(id);
    if (it == listeners.end()) return;
    boost::system::error_code ec;
    it->second->acceptor->close(ec);
    for (int fd : it->second->waiting) ::close(fd);
    listeners.erase(it);
  }
};

// One instance of a plugin: the post_host its calls carry.
class PluginManager::Instance : public std::enable_shared_from_this<Instance> {
 public:
  struct Accept {
    post_accept_fn fn;
    void* ctx;
  };
  struct NotificationTarget {
    post_notification_fn fn;
    void* ctx;
  };
  struct TopicTarget {
    post_scribe_message_fn on_message;
    post_scribe_anycast_fn on_anycast;  // may be null
    void* ctx;
  };
  struct AdminTarget {
    post_admin_fn fn;
    void* ctx;
  };

  Instance(std::shared_ptr<SlotShared> slot_shared, std::unique_ptr<PluginLibrary> lib,
           config::Node plugin_config)
      : shared(std::move(slot_shared)),
        library(std::move(lib)),
        config(std::move(plugin_config)),
        plugin_name(library->name()),
        serial(next_serial++) {}

  static Instance* from(post_host* host) { return reinterpret_cast<Instance*>(host); }
  post_host* handle() { return reinterpret_cast<post_host*>(this); }
  const post_plugin_vtable& vtable() const { return library->vtable(); }

  // Runs `fn` on the executor (inline when already there) unless the instance is stopped.
  template <class Fn>
  void on_executor(Fn fn) {
    asio::dispatch(shared->io, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      if (self->alive) fn(*self);
    });
  }
  // Queues `fn` on the executor, to run unless the instance is stopped by then.
  template <class Fn>
  void later(Fn fn) {
    asio::post(shared->io, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      if (self->alive) fn(*self);
    });
  }

  // Whether the slot hands this instance its work now. Executor only.
  bool serving() {
    std::lock_guard lock(shared->mu);
    return alive && shared->serving == this;
  }

  std::shared_ptr<SlotShared> shared;
  std::unique_ptr<PluginLibrary> library;  // unloaded when the last handler lets go
  config::Node config;
  const std::string plugin_name;  // the descriptor's: the scope of its POST services
  const std::uint64_t serial;     // unique in the process, unlike the address
  post_plugin* plugin = nullptr;
  std::atomic<bool> alive{true};  // false from stop on: no callback reaches the plugin
  std::atomic<post_timer_id> next_timer_id{1};
  std::map<post_timer_id, std::unique_ptr<asio::steady_timer>> timers;  // executor only
  std::map<post_listener_id, Accept> accepts;                           // shared->mu
  // Registrations with the POST services (executor only; see ServiceHub).
  std::optional<NotificationTarget> notification;
  std::map<std::string, TopicTarget> topics;
  std::optional<AdminTarget> admin;  // admin_register's; executor only

 private:
  static inline std::atomic<std::uint64_t> next_serial{1};
};

// The instances' registrations with the manager's HostServices. The service holds one
// subscription per (plugin name, topic) while a live instance is subscribed to it, and one
// notification handler per plugin name while a serving instance registered one; messages and
// notifications go to the serving instances registered for them.
//
// A registration takes effect here at once when made on the executor (as during init), and
// the service is brought in line (sync()) in a later turn of the executor. So during a
// reload the new version's registrations are in place before the old version's go, and the
// service sees no change at all; and the service is never called back into from inside one
// of its own callbacks (a plugin that subscribes while handling a message). Executor only.
class PluginManager::ServiceHub : public std::enable_shared_from_this<ServiceHub> {
 public:
  ServiceHub(asio::io_context& io_context, HostServices& host_services)
      : services(host_services), io_(io_context) {}

  HostServices& services;

  void register_notifications(Instance& instance, Instance::NotificationTarget target) {
    instance.notification = target;
    auto& registered = notifications_[instance.plugin_name];
    if (std::find(registered.begin(), registered.end(), &instance) == registered.end()) {
      registered.push_back(&instance);
    }
    request_sync();
  }

  void subscribe(Instance& instance, const std::string& topic, Instance::TopicTarget target) {
    bool fresh = !instance.topics.contains(topic);
    instance.topics[topic] = target;
    if (!fresh) return;
    topics_[{instance.plugin_name, topic}].push_back(&instance);
    request_sync();
  }

  void unsubscribe(Instance& instance, const std::string& topic) {
    if (instance.topics.erase(topic) == 0) return;
    drop_member(instance, topic);
    request_sync();
  }

  // Drops every registration of `instance` (it stopped, or its init failed).
  void forget(Instance& instance) {
    for (auto& [topic, target] : instance.topics) drop_member(instance, topic);
    instance.topics.clear();
    instance.notification.reset();
    auto it = notifications_.find(instance.plugin_name);
    if (it != notifications_.end()) {
      std::erase(it->second, &instance);
      if (it->second.empty()) notifications_.erase(it);
    }
    request_sync();
  }

  // Has sync() run in a later turn of the executor; the manager asks for it after every
  // change of the serving instances.
  void request_sync() {
    if (sync_pending_) return;
    sync_pending_ = true;
    asio::post(io_, [weak = weak_from_this()] {
      if (auto hub = weak.lock()) hub->sync();
    });
  }

  // Releases every subscription and handler at once (the manager is going).
  void shutdown() {
    for (const auto& [plugin, topic] : subscribed_) services.scribe_unsubscribe(plugin, topic);
    subscribed_.clear();
    for (const auto& [plugin, serving] : connected_) {
      services.set_notification_handler(plugin, nullptr);
    }
    connected_.clear();
  }

 private:
  using TopicKey = std::pair<std::string, std::string>;  // plugin name, topic

  void drop_member(Instance& instance, const std::string& topic) {
    auto it = topics_.find({instance.plugin_name, topic});
    if (it == topics_.end()) return;
    std::erase(it->second, &instance);
    if (it->second.empty()) topics_.erase(it);
  }

  // Subscribes the service to the topics live instances want and unsubscribes it from the
  // others; gives it a handler for each plugin name a serving instance registered for, and
  // takes it back from the others (so that their notifications wait in the service).
  void sync() {
    sync_pending_ = false;
    std::weak_ptr<ServiceHub> weak = weak_from_this();
    for (auto it = subscribed_.begin(); it != subscribed_.end();) {
      if (topics_.contains(*it)) {
        ++it;
        continue;
      }
      services.scribe_unsubscribe(it->first, it->second);
      it = subscribed_.erase(it);
    }
    for (const auto& [key, members] : topics_) {
      if (subscribed_.contains(key)) continue;
      subscribed_.insert(key);
      TopicMember member;
      member.on_message = [weak, key = key](ByteView payload) {
        if (auto hub = weak.lock()) hub->deliver_message(key, payload);
      };
      member.on_anycast = [weak, key = key](ByteView payload) {
        auto hub = weak.lock();
        return hub && hub->offer_anycast(key, payload);
      };
      services.scribe_subscribe(key.first, key.second, std::move(member));
    }
    // A handler is set again when the serving instances changed: the service then offers
    // them what waited (e.g. refused while a reload was under way).
    std::map<std::string, std::vector<std::uint64_t>> wanted;
    for (auto& [plugin, instances] : notifications_) {
      for (Instance* i : instances) {
        if (i->serving()) wanted[plugin].push_back(i->serial);
      }
    }
    for (const auto& [plugin, serving] : wanted) {
      auto known = connected_.find(plugin);
      if (known != connected_.end() && known->second == serving) continue;
      services.set_notification_handler(plugin,
                                        [weak, plugin = plugin](const PluginNotification& n) {
                                          auto hub = weak.lock();
                                          return hub && hub->deliver_notification(plugin, n);
                                        });
    }
    for (const auto& [plugin, serving] : connected_) {
      if (!wanted.contains(plugin)) services.set_notification_handler(plugin, nullptr);
    }
    connected_ = std::move(wanted);
  }

  // The serving instances among `instances`, held so that a callback cannot free them.
  static std::vector<std::shared_ptr<Instance>> serving_among(
      const std::vector<Instance*>& instances) {
    std::vector<std::shared_ptr<Instance>> out;
    for (Instance* i : instances) {
      if (i->serving()) out.push_back(i->shared_from_this());
    }
    return out;
  }

  // False when no serving instance took it: the service keeps it for later.
  bool deliver_notification(const std::string& plugin, const PluginNotification& n) {
    auto it = notifications_.find(plugin);
    if (it == notifications_.end()) return false;
    post_bytes payload{n.payload.data(), n.payload.size()};
    bool taken = false;
    for (auto& i : serving_among(it->second)) {
      if (!i->alive || !i->notification) continue;
      Instance::NotificationTarget target = *i->notification;
      target.fn(target.ctx, n.recipient.c_str(), n.sender.c_str(), payload);
      taken = true;
    }
    return taken;
  }

  void deliver_message(const TopicKey& key, ByteView payload) {
    auto it = topics_.find(key);
    if (it == topics_.end()) return;
    post_bytes bytes{payload.data(), payload.size()};
    for (auto& i : serving_among(it->second)) {
      auto found = i->topics.find(key.second);
      if (!i->alive || found == i->topics.end()) continue;
      Instance::TopicTarget target = found->second;
      target.on_message(target.ctx, key.second.c_str(), bytes);
    }
  }

  bool offer_anycast(const TopicKey& key, ByteView payload) {
    auto it = topics_.find(key);
    if (it == topics_.end()) return false;
    post_bytes bytes{payload.data(), payload.size()};
    for (auto& i : serving_among(it->second)) {
      auto found = i->topics.find(key.second);
      if (!i->alive || found == i->topics.end()) continue;
      Instance::TopicTarget target = found->second;
      if (target.on_anycast == nullptr) continue;
      if (target.on_anycast(target.ctx, key.second.c_str(), bytes) != 0) return true;
    }
    return false;
  }

  asio::io_context& io_;
  std::map<std::string, std::vector<Instance*>> notifications_;  // by plugin name
  // The plugin names whose handler the service holds, with the serving instances then.
  std::map<std::string, std::vector<std::uint64_t>> connected_;
  std::map<TopicKey, std::vector<Instance*>> topics_;  // the live members of each topic
  std::set<TopicKey> subscribed_;                      // what the service holds
  bool sync_pending_ = false;
};

struct PluginManager::Slot {
  PluginSpec spec;
  std::shared_ptr<SlotShared> shared;
  std::shared_ptr<Instance> current;
  PluginState state = PluginState::kServing;
  std::chrono::system_clock::time_point loaded_at;
  std::uint64_t reloads = 0;
  std::string last_error;
};

namespace {

using Instance = PluginManager::Instance;
using SlotShared = PluginManager::SlotShared;

// Hands each connection waiting in the slot's listeners to `instance`, if it is the serving
// instance and listens there. Executor only.
void flush_waiting(const std::shared_ptr<Instance>& instance) {
  SlotShared& s = *instance->shared;
  std::vector<std::pair<Instance::Accept, std::pair<post_listener_id, int>>> ready;
  {
    std::lock_guard lock(s.mu);
    if (s.serving != instance.get()) return;
    for (auto& [id, listener] : s.listeners) {
      auto reg = instance->accepts.find(id);
      if (reg == instance->accepts.end()) continue;
      for (int fd : listener->waiting) ready.push_back({reg->second, {id, fd}});
      listener->waiting.clear();
    }
  }
  for (auto& [reg, conn] : ready) reg.fn(reg.ctx, conn.first, conn.second);
}

// An accepted connection on listener `id`: to the serving instance, or into the queue.
void deliver(const std::shared_ptr<SlotShared>& s, post_listener_id id, int fd) {
  Instance::Accept reg{};
  Instance* target = nullptr;
  {
    std::lock_guard lock(s->mu);
    auto it = s->listeners.find(id);
    if (it == s->listeners.end()) {
      ::close(fd);
      return;
    }
    if (s->serving != nullptr) {
      auto r = s->serving->accepts.find(id);
      if (r != s->serving->accepts.end()) {
        reg = r->second;
        target = s->serving;
      }
    }
    if (target == nullptr) {
      it->second->waiting.push_back(fd);
      return;
    }
  }
  reg.fn(reg.ctx, id, fd);
}

void accept_next(const std::shared_ptr<SlotShared>& s, post_listener_id id) {
  std::lock_guard lock(s->mu);
  auto it = s->listeners.find(id);
  if (it == s->listeners.end()) return;
  it->second->acceptor->async_accept(
      s->io, [weak = std::weak_ptr<SlotShared>(s), id](const boost::system::error_code& ec,
                                                       tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        auto slot = weak.lock();
        if (!slot) return;
        if (ec) {
          slot->logger->warn("plugin '{}': accept failed: {}", slot->name, ec.message());
        } else {
          boost::system::error_code release_ec;
          int fd = socket.release(release_ec);
          if (!release_ec) deliver(slot, id, fd);
        }
        accept_next(slot, id);
      });
}

// Closes the slot's listeners that `keeper` does not listen on (a new version that stopped
// using an address), and drops every registration of instances other than `keeper`.
void prune_listeners(SlotShared& s, Instance* keeper) {
  std::lock_guard lock(s.mu);
  std::vector<post_listener_id> unused;
  for (auto& [id, listener] : s.listeners) {
    if (keeper == nullptr || !keeper->accepts.contains(id)) unused.push_back(id);
  }
  for (post_listener_id id : unused) s.close_listener_locked(id);
}

// ---- The host API table -------------------------------------------------------------------

const char* kNoServices =
    "not available in this host: it offers plugins no POST services (secure store, logs, "
    "notifications, Scribe)";

void host_free(post_host*, void* ptr) {
  std::free(ptr);
}

void host_log(post_host* host, uint32_t level, const char* message) {
  Instance* i = Instance::from(host);
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::trace,
                                                          spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  auto lvl = level < 5 ? kLevels[level] : spdlog::level::err;
  i->shared->logger->log(lvl, "{}: {}", i->shared->name, message != nullptr ? message : "");
}

// The parent mapping of dotted `key` and the last part of it.
Result<std::pair<config::Node, std::string>> config_lookup(const config::Node& root,
                                                           std::string_view key) {
  config::Node node = root;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    if (dot == std::string_view::npos) break;
    POST_TRY_ASSIGN(node, node.child(key.substr(start, dot - start)));
    start = dot + 1;
  }
  return std::pair{node, std::string(key.substr(start))};
}

post_status config_error(post_error* err, const Error& e) {
  bool missing = e.code == CoreErrc::kConfigMissingKey;
  return fail(err, missing ? POST_ERR_NOT_FOUND : POST_ERR_INVALID_ARGUMENT, e.message);
}

template <class Read>
post_status config_read(post_host* host, const char* key, post_error* err, Read read) {
  if (key == nullptr || *key == '\0') return fail(err, POST_ERR_INVALID_ARGUMENT, "empty key");
  auto where = config_lookup(Instance::from(host)->config, key);
  if (!where.ok()) return config_error(err, where.error());
  return read(where->first, where->second);
}

post_status host_config_get_string(post_host* host, const char* key, char** out, post_error* err) {
  if (out == nullptr) return fail(err, POST_ERR_INVALID_ARGUMENT, "null out");
  return config_read(host, key, err, [&](const config::Node& node, const std::string& last) {
    auto v = node.string(last);
    if (!v.ok()) return config_error(err, v.error());
    *out = copy_string(*v);
    return *out != nullptr ? POST_OK : fail(err, POST_ERR_FAILED, "out of memory");
  });
}

post_status host_config_get_int(post_host* host, const char* key, int64_t* out, post_error* err) {
  if (out == nullptr) return fail(err, POST_ERR_INVALID_ARGUMENT, "null out");
  return config_read(host, key, err, [&](const config::Node& node, const std::string& last) {
    auto v = node.integer(last, INT64_MIN, INT64_MAX);
    if (!v.ok()) return config_error(err, v.error());
    *out = *v;
    return POST_OK;
  });
}

post_status host_config_get_bool(post_host* host, const char* key, int32_t* out, post_error* err) {
  if (out == nullptr) return fail(err, POST_ERR_INVALID_ARGUMENT, "null out");
  return config_read(host, key, err, [&](const config::Node& node, const std::string& last) {
    auto v = node.boolean(last);
    if (!v.ok()) return config_error(err, v.error());
    *out = *v ? 1 : 0;
    return POST_OK;
  });
}

post_status host_config_yaml(post_host* host, char** out, post_error* err) {
  if (out == nullptr) return fail(err, POST_ERR_INVALID_ARGUMENT, "null out");
  *out = copy_string(Instance::from(host)->config.to_yaml());
  return *out != nullptr ? POST_OK : fail(err, POST_ERR_FAILED, "out of memory");
}

post_status host_timer_schedule(post_host* host, uint64_t delay_ms, post_timer_fn fn, void* ctx,
                                post_timer_id* out_id, post_error* err) {
  if (fn == nullptr) return fail(err, POST_ERR_INVALID_ARGUMENT, "null timer callback");
  Instance* instance = Instance::from(host);
  post_timer_id id = instance->next_timer_id++;
  if (out_id != nullptr) *out_id = id;
  instance->on_executor([id, delay_ms, fn, ctx](Instance& self) {
    auto timer = std::make_unique<asio::steady_timer>(self.shared->io);
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    timer->async_wait(
        [self = self.shared_from_this(), id, fn, ctx](const boost::system::error_code& ec) {
          if (ec || !self->alive) return;
          auto it = self->timers.find(id);
          if (it == self->timers.end()) return;
          auto keep = std::move(it->second);
          self->timers.erase(it);
          fn(ctx, id);
        });
    self.timers.emplace(id, std::move(timer));
  });
  return POST_OK;
}

void host_timer_cancel(post_host* host, post_timer_id id) {
  Instance::from(host)->on_executor([id](Instance& self) {
    auto it = self.timers.find(id);
    if (it == self.timers.end()) return;
    it->second->cancel();
    self.timers.erase(it);
  });
}

post_status host_listen(post_host* host, const char* address, post_accept_fn on_accept, void* ctx,
                        post_listener_id* out_id, uint16_t* out_port, post_error* err) {
  if (address == nullptr || on_accept == nullptr) {
    return fail(err, POST_ERR_INVALID_ARGUMENT, "null address or callback");
  }
  auto parsed = net::Address::parse(address);
  if (!parsed.ok()) return fail(err, POST_ERR_INVALID_ARGUMENT, parsed.error().message);
  Instance* instance = Instance::from(host);
  const std::shared_ptr<SlotShared>& s = instance->shared;
  post_listener_id id = 0;
  std::uint16_t port = 0;
  bool opened = false;
  {
    std::lock_guard lock(s->mu);
    for (auto& [lid, listener] : s->listeners) {
      if (listener->address == *parsed) {
        id = lid;
        port = listener->port;
      }
    }
    if (id == 0) {
      auto listener = std::make_unique<SlotShared::Listener>();
      listener->address = *parsed;
      listener->acceptor = std::make_unique<tcp::acceptor>(s->io);
      boost::system::error_code ec;
      tcp::endpoint endpoint = to_endpoint(*parsed);
      listener->acceptor->open(endpoint.protocol(), ec);
      if (!ec) listener->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) listener->acceptor->bind(endpoint, ec);
      if (!ec) listener->acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) port = listener->acceptor->local_endpoint(ec).port();
      if (ec) {
        return fail(err, POST_ERR_IO,
                    fmt::format("cannot listen on {}: {}", parsed->to_string(), ec.message()));
      }
      listener->port = port;
      id = listener->id = s->next_listener_id++;
      s->listeners.emplace(id, std::move(listener));
      opened = true;
    }
    instance->accepts[id] = Instance::Accept{on_accept, ctx};
  }
  if (opened) {
    s->logger->info("plugin '{}': listening on {}", s->name,
                    net::Address{parsed->ip, port}.to_string());
    asio::dispatch(s->io, [weak = std::weak_ptr<SlotShared>(s), id] {
      if (auto slot = weak.lock()) accept_next(slot, id);
    });
  }
  // A serving instance listening anew gets what waited for it.
  instance->on_executor([](Instance& self) { flush_waiting(self.shared_from_this()); });
  if (out_id != nullptr) *out_id = id;
  if (out_port != nullptr) *out_port = port;
  return POST_OK;
}

void host_unlisten(post_host* host, post_listener_id id) {
  Instance* instance = Instance::from(host);
  auto s = instance->shared;
  asio::dispatch(s->io, [self = instance->shared_from_this(), s, id] {
    std::lock_guard lock(s->mu);
    self->accepts.erase(id);
    if (s->serving == self.get()) s->close_listener_locked(id);
  });
}

post_status check_kv(Instance* instance, post_bytes key, const void* done, post_error* err) {
  if (!instance->shared->kv) {
    return fail(err, POST_ERR_UNAVAILABLE, "no key-value store is configured in this host");
  }
  if (done == nullptr) return fail(err, POST_ERR_INVALID_ARGUMENT, "null callback");
  if (key.size == 0 || key.data == nullptr)
    return fail(err, POST_ERR_INVALID_ARGUMENT, "empty key");
  if (key.size > kMaxKvKeyBytes) {
    return fail(err, POST_ERR_TOO_LARGE,
                fmt::format("key of {} bytes > {} byte limit", key.size, kMaxKvKeyBytes));
  }
  return POST_OK;
}

std::string_view view(post_bytes b) {
  return b.size == 0 ? std::string_view()
                     : std::string_view(reinterpret_cast<const char*>(b.data), b.size);
}

post_status host_kv_get(post_host* host, post_bytes key, post_bytes_fn done, void* ctx,
                        post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_kv(instance, key, reinterpret_cast<const void*>(done), err)) return st;
  auto value = instance->shared->kv->get(view(key));
  instance->later([value = std::move(value), done, ctx](Instance&) {
    if (!value.ok()) {
      done(ctx, POST_ERR_IO, value.error().message.c_str(), post_bytes{nullptr, 0});
    } else if (!value->has_value()) {
      done(ctx, POST_ERR_NOT_FOUND, "no such key", post_bytes{nullptr, 0});
    } else {
      const std::string& v = **value;
      done(ctx, POST_OK, "", post_bytes{reinterpret_cast<const uint8_t*>(v.data()), v.size()});
    }
  });
  return POST_OK;
}

void complete_later(Instance* instance, Status status, post_done_fn done, void* ctx) {
  instance->later([status = std::move(status), done, ctx](Instance&) {
    if (status.ok()) {
      done(ctx, POST_OK, "");
    } else {
      done(ctx, POST_ERR_IO, status.error().message.c_str());
    }
  });
}

post_status host_kv_put(post_host* host, post_bytes key, post_bytes value, post_done_fn done,
                        void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_kv(instance, key, reinterpret_cast<const void*>(done), err)) return st;
  if (value.size > kMaxKvValueBytes) {
    return fail(err, POST_ERR_TOO_LARGE,
                fmt::format("value of {} bytes > {} byte limit", value.size, kMaxKvValueBytes));
  }
  if (value.size > 0 && value.data == nullptr) {
    return fail(err, POST_ERR_INVALID_ARGUMENT, "null value data");
  }
  complete_later(instance, instance->shared->kv->put(view(key), view(value)), done, ctx);
  return POST_OK;
}

post_status host_kv_delete(post_host* host, post_bytes key, post_done_fn done, void* ctx,
                           post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_kv(instance, key, reinterpret_cast<const void*>(done), err)) return st;
  complete_later(instance, instance->shared->kv->remove(view(key)), done, ctx);
  return POST_OK;
}

void host_counter_add(post_host* host, const char* name, uint64_t delta) {
  if (name == nullptr) return;
  Instance* i = Instance::from(host);
  i->shared->metrics.counter_add(i->shared->name + "." + name, delta);
}

void host_gauge_set(post_host* host, const char* name, double value) {
  if (name == nullptr) return;
  Instance* i = Instance::from(host);
  i->shared->metrics.gauge_set(i->shared->name + "." + name, value);
}

// ---- POST services (options.services) ------------------------------------------------------
//
// Each function checks its arguments here, synchronously (the plugin learns of a bad call at
// once, and no callback follows), and copies what it borrowed. Operations are posted to the
// executor, so the service always runs them in a turn of their own; registrations take effect
// on the executor (inline when called there: see ServiceHub). Completions reach the plugin
// only while the instance lives: they hold it weakly, so an instance that stopped is neither
// called nor kept loaded by a slow operation.

post_status unavailable(post_error* err, const char* function) {
  return fail(err, POST_ERR_UNAVAILABLE, fmt::format("{}: {}", function, kNoServices));
}

// The hub of `instance`'s manager, or an error: no services, or a plugin name that cannot
// scope them.
post_status check_services(Instance* instance, const char* function, post_error* err) {
  if (!instance->shared->hub) return unavailable(err, function);
  Status scope = check_scope_name(instance->plugin_name);
  if (!scope.ok()) {
    return fail(err, POST_ERR_INVALID_ARGUMENT,
                fmt::format("{}: {}", function, scope.error().message));
  }
  return POST_OK;
}

template <class Fn>
post_status check_callback(Fn fn, const char* function, post_error* err) {
  if (fn != nullptr) return POST_OK;
  return fail(err, POST_ERR_INVALID_ARGUMENT, fmt::format("{}: null callback", function));
}

// A user, topic or log name: 1 to `max` bytes of text without control characters.
post_status check_name(const char* name, std::size_t max, const char* function, const char* what,
                       post_error* err) {
  if (name == nullptr || *name == '\0') {
    return fail(err, POST_ERR_INVALID_ARGUMENT, fmt::format("{}: empty {}", function, what));
  }
  std::size_t n = strnlen(name, max + 1);
  if (n > max) {
    return fail(err, POST_ERR_TOO_LARGE,
                fmt::format("{}: {} longer than the {} byte limit", function, what, max));
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      return fail(err, POST_ERR_INVALID_ARGUMENT,
                  fmt::format("{}: {} holds a control character", function, what));
    }
  }
  return POST_OK;
}

post_status check_bytes(post_bytes b, std::uint64_t max, const char* function, const char* what,
                        post_error* err) {
  if (b.size > 0 && b.data == nullptr) {
    return fail(err, POST_ERR_INVALID_ARGUMENT,
                fmt::format("{}: {} of {} bytes with null data", function, what, b.size));
  }
  if (b.size > max) {
    return fail(err, POST_ERR_TOO_LARGE,
                fmt::format("{}: {} of {} bytes > {} byte limit", function, what, b.size, max));
  }
  return POST_OK;
}

Bytes copy_bytes(post_bytes b) {
  return b.size == 0 ? Bytes() : Bytes(b.data, b.data + b.size);
}

post_bytes borrow(ByteView b) {
  return post_bytes{b.data(), b.size()};
}

// The POST_ERR_* of a service's error, and the message a plugin reads.
post_status status_of(const Error& e) {
  if (e.code.category() != service_category()) return POST_ERR_FAILED;
  switch (static_cast<ServiceErrc>(e.code.value())) {
    case ServiceErrc::kInvalidArgument: return POST_ERR_INVALID_ARGUMENT;
    case ServiceErrc::kNotFound: return POST_ERR_NOT_FOUND;
    case ServiceErrc::kUnavailable: return POST_ERR_UNAVAILABLE;
    case ServiceErrc::kIoError: return POST_ERR_IO;
    case ServiceErrc::kTooLarge: return POST_ERR_TOO_LARGE;
    case ServiceErrc::kFailed: return POST_ERR_FAILED;
  }
  return POST_ERR_FAILED;
}
std::string message_of(const Error& e) {
  return e.code.category() == service_category() ? e.message : e.to_string();
}

// Wraps a completion so that it runs, with the instance, only while the instance is alive.
template <class Fn>
auto while_alive(Instance& instance, Fn fn) {
  return [weak = instance.weak_from_this(), fn = std::move(fn)](auto&&... args) mutable {
    auto self = weak.lock();
    if (!self || !self->alive) return;
    fn(*self, std::forward<decltype(args)>(args)...);
  };
}

post_status host_store_put(post_host* host, post_bytes content, post_store_put_fn done, void* ctx,
                           post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "store_put", err)) return st;
  if (post_status st = check_callback(done, "store_put", err)) return st;
  if (post_status st = check_bytes(content, kMaxStoreObjectBytes, "store_put", "content", err)) {
    return st;
  }
  instance->later([content = copy_bytes(content), done, ctx](Instance& self) mutable {
    self.shared->hub->services.store_put(
        self.plugin_name, std::move(content),
        while_alive(self, [done, ctx](Instance&, Result<StoredContent> r) {
          if (!r.ok()) {
            done(ctx, status_of(r.error()), message_of(r.error()).c_str(), post_bytes{},
                 post_bytes{});
            return;
          }
          done(ctx, POST_OK, "", borrow(r->handle.bytes()), borrow(r->key));
        }));
  });
  return POST_OK;
}

post_status host_store_fetch(post_host* host, post_bytes handle, post_bytes key, post_bytes_fn done,
                             void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "store_fetch", err)) return st;
  if (post_status st = check_callback(done, "store_fetch", err)) return st;
  if (handle.data == nullptr || handle.size != kStoreHandleBytes) {
    return fail(
        err, POST_ERR_INVALID_ARGUMENT,
        fmt::format("store_fetch: a handle is {} bytes, not {}", kStoreHandleBytes, handle.size));
  }
  if (key.data == nullptr || key.size != kStoreKeyBytes) {
    return fail(err, POST_ERR_INVALID_ARGUMENT,
                fmt::format("store_fetch: a key is {} bytes, not {}", kStoreKeyBytes, key.size));
  }
  Id id = Id::from_bytes(ByteView(handle.data, handle.size)).value();
  instance->later([id, key = copy_bytes(key), done, ctx](Instance& self) mutable {
    self.shared->hub->services.store_fetch(
        self.plugin_name, id, std::move(key),
        while_alive(self, [done, ctx](Instance&, Result<Bytes> r) {
          if (!r.ok()) {
            done(ctx, status_of(r.error()), message_of(r.error()).c_str(), post_bytes{});
            return;
          }
          done(ctx, POST_OK, "", borrow(*r));
        }));
  });
  return POST_OK;
}

post_status host_log_append(post_host* host, const char* user, const char* log_name,
                            post_bytes record, post_done_fn done, void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "log_append", err)) return st;
  if (post_status st = check_callback(done, "log_append", err)) return st;
  if (post_status st = check_name(user, kMaxUserBytes, "log_append", "user", err)) return st;
  if (post_status st = check_name(log_name, kMaxLogNameBytes, "log_append", "log name", err)) {
    return st;
  }
  if (post_status st = check_bytes(record, kMaxLogRecordBytes, "log_append", "record", err)) {
    return st;
  }
  if (record.size == 0) return fail(err, POST_ERR_INVALID_ARGUMENT, "log_append: empty record");
  instance->later([user = std::string(user), log_name = std::string(log_name),
                   record = copy_bytes(record), done, ctx](Instance& self) mutable {
    self.shared->hub->services.log_append(
        self.plugin_name, user, log_name, std::move(record),
        while_alive(self, [done, ctx](Instance&, Result<std::uint64_t> r) {
          if (!r.ok()) {
            done(ctx, status_of(r.error()), message_of(r.error()).c_str());
            return;
          }
          done(ctx, POST_OK, std::to_string(*r).c_str());
        }));
  });
  return POST_OK;
}

post_status host_log_read(post_host* host, const char* user, const char* log_name, uint64_t from,
                          uint32_t max_records, post_log_record_fn on_record, void* ctx,
                          post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "log_read", err)) return st;
  if (post_status st = check_callback(on_record, "log_read", err)) return st;
  if (post_status st = check_name(user, kMaxUserBytes, "log_read", "user", err)) return st;
  if (post_status st = check_name(log_name, kMaxLogNameBytes, "log_read", "log name", err)) {
    return st;
  }
  if (max_records == 0) {
    return fail(err, POST_ERR_INVALID_ARGUMENT, "log_read: max_records is 0");
  }
  max_records = std::min(max_records, kMaxLogReadRecords);
  instance->later([user = std::string(user), log_name = std::string(log_name), from, max_records,
                   on_record, ctx](Instance& self) {
    self.shared->hub->services.log_read(
        self.plugin_name, user, log_name, from, max_records,
        while_alive(self, [from, on_record, ctx](Instance& i, Result<std::vector<LogEntry>> r) {
          if (!r.ok()) {
            on_record(ctx, status_of(r.error()), message_of(r.error()).c_str(), from, post_bytes{},
                      1);
            return;
          }
          if (r->empty()) {
            on_record(ctx, POST_OK, "", from, post_bytes{}, 1);
            return;
          }
          for (std::size_t k = 0; k < r->size() && i.alive; ++k) {
            const LogEntry& e = (*r)[k];
            on_record(ctx, POST_OK, "", e.index, borrow(e.record), k + 1 == r->size() ? 1 : 0);
          }
        }));
  });
  return POST_OK;
}

post_status host_notify_send(post_host* host, const char* sender, const char* recipient,
                             post_bytes payload, post_done_fn done, void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "notify_send", err)) return st;
  if (post_status st = check_callback(done, "notify_send", err)) return st;
  if (post_status st = check_name(sender, kMaxUserBytes, "notify_send", "sender", err)) return st;
  if (post_status st = check_name(recipient, kMaxUserBytes, "notify_send", "recipient", err)) {
    return st;
  }
  if (post_status st =
          check_bytes(payload, kMaxNotificationPayloadBytes, "notify_send", "payload", err)) {
    return st;
  }
  instance->later([sender = std::string(sender), recipient = std::string(recipient),
                   payload = copy_bytes(payload), done, ctx](Instance& self) mutable {
    self.shared->hub->services.notify_send(self.plugin_name, sender, recipient, std::move(payload),
                                           while_alive(self, [done, ctx](Instance&, Status s) {
                                             if (!s.ok()) {
                                               done(ctx, status_of(s.error()),
                                                    message_of(s.error()).c_str());
                                               return;
                                             }
                                             done(ctx, POST_OK, "");
                                           }));
  });
  return POST_OK;
}

post_status host_notify_register(post_host* host, post_notification_fn on_notification, void* ctx,
                                 post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "notify_register", err)) return st;
  if (post_status st = check_callback(on_notification, "notify_register", err)) return st;
  instance->on_executor([on_notification, ctx](Instance& self) {
    self.shared->hub->register_notifications(self, {on_notification, ctx});
  });
  return POST_OK;
}

post_status host_scribe_subscribe(post_host* host, const char* topic,
                                  post_scribe_message_fn on_message,
                                  post_scribe_anycast_fn on_anycast, void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "scribe_subscribe", err)) return st;
  if (post_status st = check_callback(on_message, "scribe_subscribe", err)) return st;
  if (post_status st = check_name(topic, kMaxTopicBytes, "scribe_subscribe", "topic", err)) {
    return st;
  }
  instance->on_executor([topic = std::string(topic), on_message, on_anycast, ctx](Instance& self) {
    self.shared->hub->subscribe(self, topic, {on_message, on_anycast, ctx});
  });
  return POST_OK;
}

post_status host_scribe_unsubscribe(post_host* host, const char* topic, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "scribe_unsubscribe", err)) return st;
  if (post_status st = check_name(topic, kMaxTopicBytes, "scribe_unsubscribe", "topic", err)) {
    return st;
  }
  instance->on_executor(
      [topic = std::string(topic)](Instance& self) { self.shared->hub->unsubscribe(self, topic); });
  return POST_OK;
}

post_status host_scribe_publish(post_host* host, const char* topic, post_bytes payload,
                                post_done_fn done, void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "scribe_publish", err)) return st;
  if (post_status st = check_callback(done, "scribe_publish", err)) return st;
  if (post_status st = check_name(topic, kMaxTopicBytes, "scribe_publish", "topic", err)) {
    return st;
  }
  if (post_status st =
          check_bytes(payload, kMaxScribePayloadBytes, "scribe_publish", "payload", err)) {
    return st;
  }
  instance->later([topic = std::string(topic), payload = copy_bytes(payload), done,
                   ctx](Instance& self) mutable {
    self.shared->hub->services.scribe_publish(self.plugin_name, topic, std::move(payload),
                                              while_alive(self, [done, ctx](Instance&, Status s) {
                                                if (!s.ok()) {
                                                  done(ctx, status_of(s.error()),
                                                       message_of(s.error()).c_str());
                                                  return;
                                                }
                                                done(ctx, POST_OK, "");
                                              }));
  });
  return POST_OK;
}

post_status host_scribe_anycast(post_host* host, const char* topic, post_bytes payload,
                                post_bytes_fn done, void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "scribe_anycast", err)) return st;
  if (post_status st = check_callback(done, "scribe_anycast", err)) return st;
  if (post_status st = check_name(topic, kMaxTopicBytes, "scribe_anycast", "topic", err)) {
    return st;
  }
  if (post_status st =
          check_bytes(payload, kMaxScribePayloadBytes, "scribe_anycast", "payload", err)) {
    return st;
  }
  instance->later([topic = std::string(topic), payload = copy_bytes(payload), done,
                   ctx](Instance& self) mutable {
    self.shared->hub->services.scribe_anycast(
        self.plugin_name, topic, std::move(payload),
        while_alive(self, [done, ctx](Instance&, Result<Id> taker) {
          if (!taker.ok()) {
            done(ctx, status_of(taker.error()), message_of(taker.error()).c_str(), post_bytes{});
            return;
          }
          std::string hex = taker->to_hex();
          done(ctx, POST_OK, "", borrow(as_bytes(hex)));
        }));
  });
  return POST_OK;
}

post_status host_log_share(post_host* host, const char* user, const char* log_name,
                           post_done_fn done, void* ctx, post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_services(instance, "log_share", err)) return st;
  if (post_status st = check_callback(done, "log_share", err)) return st;
  if (post_status st = check_name(user, kMaxUserBytes, "log_share", "user", err)) return st;
  if (post_status st = check_name(log_name, kMaxLogNameBytes, "log_share", "log name", err)) {
    return st;
  }
  std::string scoped = scoped_name(instance->plugin_name, log_name);
  if (scoped.size() > kMaxSharedLogScopedBytes) {
    return fail(err, POST_ERR_TOO_LARGE,
                fmt::format("log_share: the shared name '{}' is {} bytes > {} byte limit of an "
                            "identity's log names (plugin and log name: at most {} bytes)",
                            scoped, scoped.size(), kMaxSharedLogScopedBytes,
                            kMaxSharedLogScopedBytes - scoped_name("", "").size()));
  }
  instance->later(
      [user = std::string(user), log_name = std::string(log_name), done, ctx](Instance& self) {
        self.shared->hub->services.log_share(
            self.plugin_name, user, log_name, while_alive(self, [done, ctx](Instance&, Status s) {
              if (!s.ok()) {
                done(ctx, status_of(s.error()), message_of(s.error()).c_str());
                return;
              }
              done(ctx, POST_OK, "");
            }));
      });
  return POST_OK;
}

// ---- Admin commands (ABI 1.1) -------------------------------------------------------------

static_assert(kMaxAdminArgs == POST_ADMIN_MAX_ARGS);
static_assert(kMaxAdminArgBytes == POST_ADMIN_MAX_ARG_BYTES);
static_assert(kMaxAdminReplyBytes == POST_ADMIN_MAX_REPLY_BYTES);
static_assert(kDefaultAdminTimeout.count() == POST_ADMIN_TIMEOUT_MS);

post_status host_admin_register(post_host* host, post_admin_fn on_command, void* ctx,
                                post_error* err) {
  Instance* instance = Instance::from(host);
  if (post_status st = check_callback(on_command, "admin_register", err)) return st;
  instance->on_executor([on_command, ctx](Instance& self) {
    self.admin = Instance::AdminTarget{on_command, ctx};
  });
  return POST_OK;
}

void host_admin_reply(post_host* host, uint64_t request, post_status status,
                      const char* utf8_text) {
  Instance* instance = Instance::from(host);
  std::size_t size = utf8_text == nullptr ? 0 : strnlen(utf8_text, kMaxAdminReplyBytes + 1);
  AdminAnswer answer{status,
                     size > kMaxAdminReplyBytes ? std::string() : std::string(utf8_text, size)};
  if (size > kMaxAdminReplyBytes) {
    answer.status = POST_ERR_TOO_LARGE;
    answer.text = fmt::format("plugin '{}' answered with more than the {} byte limit",
                              instance->shared->name, kMaxAdminReplyBytes);
  }
  instance->on_executor([request, answer = std::move(answer)](Instance& self) mutable {
    auto it = self.shared->commands.find(request);
    if (it == self.shared->commands.end() || it->second.instance_serial != self.serial) return;
    self.shared->finish_command(request, std::move(answer));
  });
}

const post_host_api kHostApi = {
    .struct_size = sizeof(post_host_api),
    .abi_major = POST_ABI_MAJOR,
    .abi_minor = POST_ABI_MINOR,
    .free = host_free,
    .log = host_log,
    .config_get_string = host_config_get_string,
    .config_get_int = host_config_get_int,
    .config_get_bool = host_config_get_bool,
    .config_yaml = host_config_yaml,
    .timer_schedule = host_timer_schedule,
    .timer_cancel = host_timer_cancel,
    .listen = host_listen,
    .unlisten = host_unlisten,
    .kv_get = host_kv_get,
    .kv_put = host_kv_put,
    .kv_delete = host_kv_delete,
    .counter_add = host_counter_add,
    .gauge_set = host_gauge_set,
    .store_put = host_store_put,
    .store_fetch = host_store_fetch,
    .log_append = host_log_append,
    .log_read = host_log_read,
    .notify_send = host_notify_send,
    .notify_register = host_notify_register,
    .scribe_subscribe = host_scribe_subscribe,
    .scribe_unsubscribe = host_scribe_unsubscribe,
    .scribe_publish = host_scribe_publish,
    .scribe_anycast = host_scribe_anycast,
    .log_share = host_log_share,
    .admin_register = host_admin_register,
    .admin_reply = host_admin_reply,
};

void append_state(void* ctx, const uint8_t* data, size_t size) {
  auto* state = static_cast<std::pair<std::string, bool>*>(ctx);
  if (state->first.size() + size > kMaxStateBytes) {
    state->second = true;  // too large; reported once export_state returns
    return;
  }
  if (size > 0) state->first.append(reinterpret_cast<const char*>(data), size);
}

// Has the POST services follow the instances' registrations once the manager's call that
// declares it is over: the serving instances may have changed.
class SyncServicesAfter {
 public:
  explicit SyncServicesAfter(PluginManager::ServiceHub* hub) : hub_(hub) {}
  ~SyncServicesAfter() {
    if (hub_ != nullptr) hub_->request_sync();
  }
  SyncServicesAfter(const SyncServicesAfter&) = delete;
  SyncServicesAfter& operator=(const SyncServicesAfter&) = delete;

 private:
  PluginManager::ServiceHub* hub_;
};

bool is_inside(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  // "dir/" canonicalises with a trailing empty element; it matches anything.
  return d == dir.end() || (std::next(d) == dir.end() && d->empty());
}

}  // namespace

// ---- PluginManager ------------------------------------------------------------------------

const char* to_string(PluginState state) {
  switch (state) {
    case PluginState::kServing: return "serving";
    case PluginState::kFailed: return "failed";
  }
  return "unknown";
}

PluginManager::PluginManager(asio::io_context& io, PluginManagerOptions options)
    : io_(io), options_(std::move(options)) {
  if (options_.services != nullptr) hub_ = std::make_shared<ServiceHub>(io_, *options_.services);
}

PluginManager::~PluginManager() {
  while (!slots_.empty()) (void)unload(slots_.begin()->first);
  if (hub_) hub_->shutdown();
}

Status PluginManager::check_path(const PluginSpec& spec) const {
  std::error_code ec;
  fs::path file = fs::weakly_canonical(fs::absolute(spec.path, ec), ec);
  if (ec) {
    return make_error(PluginErrc::kNotFound, fmt::format("plugin '{}' ({}): {}", spec.name,
                                                         spec.path.string(), ec.message()));
  }
  for (const fs::path& dir : options_.plugin_dirs) {
    fs::path canonical_dir = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (!ec && is_inside(file, canonical_dir)) return ok_status();
  }
  std::string dirs;
  for (const fs::path& dir : options_.plugin_dirs) {
    dirs += (dirs.empty() ? "" : ", ") + dir.string();
  }
  return make_error(PluginErrc::kOutsideDirs,
                    fmt::format("plugin '{}' ({}): not inside a plugin directory ({})", spec.name,
                                spec.path.string(), dirs.empty() ? "none configured" : dirs));
}

Result<std::shared_ptr<PluginManager::Instance>> PluginManager::create_instance(
    Slot& slot, const PluginSpec& spec) {
  POST_TRY(check_path(spec));
  POST_TRY_ASSIGN(auto library, PluginLibrary::open(spec.name, spec.path, options_.runtime_dir));
  config::Node plugin_config =
      spec.config ? *spec.config : *config::Node::load_string("{}", spec.name);
  auto instance =
      std::make_shared<Instance>(slot.shared, std::move(library), std::move(plugin_config));
  post_error err{};
  post_plugin* plugin = nullptr;
  if (instance->vtable().init(instance->handle(), &kHostApi, &plugin, &err) != POST_OK ||
      plugin == nullptr) {
    instance->alive = false;
    {
      std::lock_guard lock(slot.shared->mu);
      instance->accepts.clear();
    }
    if (slot.shared->hub) slot.shared->hub->forget(*instance);
    return make_error(PluginErrc::kInitFailed,
                      fmt::format("plugin '{}' ({}): init failed: {}", spec.name,
                                  spec.path.string(), plugin_message(err)));
  }
  instance->plugin = plugin;
  return instance;
}

Status PluginManager::start_instance(Slot& slot, const std::shared_ptr<Instance>& instance) {
  post_error err{};
  if (instance->vtable().start(instance->plugin, &err) != POST_OK) {
    return make_error(PluginErrc::kStartFailed,
                      fmt::format("plugin '{}' ({}): start failed: {}", slot.spec.name,
                                  instance->library->source_path().string(), plugin_message(err)));
  }
  {
    std::lock_guard lock(slot.shared->mu);
    slot.shared->serving = instance.get();
  }
  flush_waiting(instance);
  return ok_status();
}

void PluginManager::destroy_instance(Slot& slot, const std::shared_ptr<Instance>& instance) {
  {
    std::lock_guard lock(slot.shared->mu);
    if (slot.shared->serving == instance.get()) slot.shared->serving = nullptr;
  }
  instance->alive = false;  // from here on, no callback reaches the plugin
  if (slot.shared->hub) slot.shared->hub->forget(*instance);
  instance->admin.reset();
  slot.shared->orphan_commands(instance->serial);
  instance->vtable().stop(instance->plugin);
  instance->vtable().destroy(instance->plugin);
  instance->plugin = nullptr;
  for (auto& [id, timer] : instance->timers) timer->cancel();
  instance->timers.clear();
  std::lock_guard lock(slot.shared->mu);
  instance->accepts.clear();
}

Error PluginManager::abandon_reload(Slot& slot, const std::shared_ptr<Instance>& fresh, Error why) {
  destroy_instance(slot, fresh);
  Status resumed = start_instance(slot, slot.current);
  prune_listeners(*slot.shared, slot.current.get());
  if (!resumed.ok()) {
    slot.state = PluginState::kFailed;
    why = make_error(
        PluginErrc::kResumeFailed,
        why.message + "; then the old version did not resume: " + resumed.error().message);
  }
  slot.last_error = why.message;
  slot.shared->logger->error("reload of plugin '{}' abandoned: {}", slot.spec.name, why.message);
  return why;
}

Status PluginManager::load(const PluginSpec& spec) {
  SyncServicesAfter sync(hub_.get());
  if (slots_.contains(spec.name)) {
    return make_error(PluginErrc::kAlreadyLoaded,
                      fmt::format("plugin '{}': a plugin of that name is loaded", spec.name));
  }
  auto slot = std::make_unique<Slot>();
  slot->spec = spec;
  slot->shared = std::make_shared<SlotShared>(io_, spec.name, metrics_);
  slot->shared->hub = hub_;
  if (options_.kv_stores) {
    auto kv = options_.kv_stores(spec.name);
    if (!kv.ok()) {
      return make_error(PluginErrc::kIoError,
                        fmt::format("plugin '{}': {}", spec.name, kv.error().message));
    }
    slot->shared->kv = std::move(kv).value();
  }
  POST_TRY_ASSIGN(slot->current, create_instance(*slot, spec));
  Status started = start_instance(*slot, slot->current);
  if (!started.ok()) {
    destroy_instance(*slot, slot->current);
    prune_listeners(*slot->shared, nullptr);
    return started;
  }
  prune_listeners(*slot->shared, slot->current.get());
  slot->loaded_at = std::chrono::system_clock::now();
  slot->shared->logger->info("loaded plugin '{}': {} {} from {}", spec.name,
                             slot->current->library->name(), slot->current->library->version(),
                             spec.path.string());
  slots_.emplace(spec.name, std::move(slot));
  return ok_status();
}

Status PluginManager::reload(const std::string& name) {
  auto it = slots_.find(name);
  if (it == slots_.end()) {
    return make_error(PluginErrc::kNotLoaded, fmt::format("plugin '{}': not loaded", name));
  }
  return reload(PluginSpec(it->second->spec));
}

Status PluginManager::reload(const PluginSpec& spec) {
  SyncServicesAfter sync(hub_.get());
  auto it = slots_.find(spec.name);
  if (it == slots_.end()) {
    return make_error(PluginErrc::kNotLoaded, fmt::format("plugin '{}': not loaded", spec.name));
  }
  Slot& slot = *it->second;
  auto start = std::chrono::steady_clock::now();

  // 1. The new version beside the old one.
  auto created = create_instance(slot, spec);
  if (!created.ok()) {
    prune_listeners(*slot.shared, slot.current.get());  // any the failed init opened
    slot.last_error = created.error().message;
    return std::move(created).error();
  }
  std::shared_ptr<Instance> fresh = std::move(created).value();
  const std::shared_ptr<Instance> old = slot.current;
  auto step_failed = [&](PluginErrc code, const char* step, const post_error& err) {
    return make_error(code, fmt::format("plugin '{}' ({}): reload: {} failed: {}", spec.name,
                                        spec.path.string(), step, plugin_message(err)));
  };

  // 2. The old one drains and exports its state; connections wait in the host meanwhile.
  if (slot.state == PluginState::kServing) {
    {
      std::lock_guard lock(slot.shared->mu);
      slot.shared->serving = nullptr;
    }
    post_error err{};
    if (old->vtable().drain(old->plugin, &err) != POST_OK) {
      return abandon_reload(slot, fresh, step_failed(PluginErrc::kDrainFailed, "old drain", err));
    }
  }
  std::pair<std::string, bool> state;
  {
    post_error err{};
    if (old->vtable().export_state(old->plugin, &append_state, &state, &err) != POST_OK) {
      return abandon_reload(slot, fresh,
                            step_failed(PluginErrc::kExportFailed, "old export_state", err));
    }
    if (state.second) {
      return abandon_reload(
          slot, fresh,
          make_error(PluginErrc::kExportFailed,
                     fmt::format("plugin '{}': reload: exported state over the {} byte limit",
                                 spec.name, kMaxStateBytes)));
    }
  }

  // 3. The new one takes the state over and starts.
  {
    post_error err{};
    post_bytes bytes{reinterpret_cast<const uint8_t*>(state.first.data()), state.first.size()};
    if (fresh->vtable().import_state(fresh->plugin, bytes, &err) != POST_OK) {
      return abandon_reload(slot, fresh,
                            step_failed(PluginErrc::kImportFailed, "new import_state", err));
    }
  }
  Status started = start_instance(slot, fresh);
  if (!started.ok()) return abandon_reload(slot, fresh, std::move(started).error());

  // 4. The old one goes.
  slot.current = fresh;
  destroy_instance(slot, old);
  prune_listeners(*slot.shared, fresh.get());
  std::string old_version = old->library->version();
  slot.spec = spec;
  slot.state = PluginState::kServing;
  slot.loaded_at = std::chrono::system_clock::now();
  slot.reloads++;
  slot.last_error.clear();
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  slot.shared->logger->info("reloaded plugin '{}': {} -> {} ({} bytes of state) in {} us",
                            spec.name, old_version, fresh->library->version(), state.first.size(),
                            took.count());
  return ok_status();
}

Status PluginManager::unload(const std::string& name) {
  SyncServicesAfter sync(hub_.get());
  auto it = slots_.find(name);
  if (it == slots_.end()) {
    return make_error(PluginErrc::kNotLoaded, fmt::format("plugin '{}': not loaded", name));
  }
  Slot& slot = *it->second;
  destroy_instance(slot, slot.current);
  prune_listeners(*slot.shared, nullptr);
  slot.shared->logger->info("unloaded plugin '{}'", name);
  slots_.erase(it);
  return ok_status();
}

std::optional<PluginInfo> PluginManager::find(const std::string& name) const {
  auto it = slots_.find(name);
  if (it == slots_.end()) return std::nullopt;
  const Slot& slot = *it->second;
  PluginInfo info;
  info.name = name;
  info.plugin_name = slot.current->library->name();
  info.version = slot.current->library->version();
  info.path = slot.spec.path;
  info.state = slot.state;
  info.loaded_at = slot.loaded_at;
  info.reloads = slot.reloads;
  info.last_error = slot.last_error;
  return info;
}

void PluginManager::admin_command(const std::string& name, std::vector<std::string> args,
                                  std::function<void(Result<AdminAnswer>)> done) {
  auto it = slots_.find(name);
  if (it == slots_.end()) {
    return done(make_error(PluginErrc::kNotLoaded, fmt::format("plugin '{}': not loaded", name)));
  }
  if (args.size() > kMaxAdminArgs) {
    return done(make_error(PluginErrc::kBadCommand,
                           fmt::format("plugin '{}': {} arguments > the limit of {}", name,
                                       args.size(), kMaxAdminArgs)));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].size() > kMaxAdminArgBytes) {
      return done(make_error(PluginErrc::kBadCommand,
                             fmt::format("plugin '{}': argument {} is {} bytes > {} byte limit",
                                         name, i + 1, args[i].size(), kMaxAdminArgBytes)));
    }
    if (args[i].find('\0') != std::string::npos) {
      return done(make_error(PluginErrc::kBadCommand,
                             fmt::format("plugin '{}': argument {} holds a NUL", name, i + 1)));
    }
  }
  Slot& slot = *it->second;
  std::shared_ptr<Instance> instance = slot.current;
  if (slot.state != PluginState::kServing || !instance->serving()) {
    return done(make_error(PluginErrc::kNotLoaded,
                           fmt::format("plugin '{}': not serving ({})", name,
                                       slot.last_error.empty() ? "reloading" : slot.last_error)));
  }
  if (!instance->admin) {
    return done(make_error(PluginErrc::kNoCommandHandler,
                           fmt::format("plugin '{}' ({} {}) takes no admin commands: it "
                                       "registered no handler (admin_register, ABI 1.1)",
                                       name, instance->plugin_name, instance->library->version())));
  }
  static std::atomic<std::uint64_t> next_request{1};
  const std::uint64_t request = next_request++;
  auto timeout = std::make_unique<asio::steady_timer>(io_, options_.admin_timeout);
  timeout->async_wait([weak = std::weak_ptr<SlotShared>(slot.shared), request, name,
                       ms = options_.admin_timeout.count()](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (auto shared = weak.lock()) {
      shared->finish_command(
          request, make_error(PluginErrc::kCommandNotAnswered,
                              fmt::format("plugin '{}' did not answer within {} ms", name, ms)));
    }
  });
  slot.shared->commands.emplace(
      request, SlotShared::PendingCommand{instance->serial, std::move(done), std::move(timeout)});
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(a.c_str());
  Instance::AdminTarget target = *instance->admin;
  target.fn(target.ctx, request, argv.data(), static_cast<std::uint32_t>(argv.size()));
}

std::vector<PluginInfo> PluginManager::plugins() const {
  std::vector<PluginInfo> out;
  for (const auto& [name, slot] : slots_) out.push_back(*find(name));
  return out;
}

}  // namespace post::plugin
