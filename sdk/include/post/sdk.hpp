// post/sdk.hpp: a header-only C++20 wrapper over post/sdk.h for writing plugins.
//
//   class Echo final : public post::sdk::Plugin {
//    public:
//     explicit Echo(post::sdk::Host& host) : Plugin(host) { ... }
//     void start() override { ... }
//   };
//   POST_PLUGIN(Echo, "echo", "1.0.0")
//
// Nothing C++ crosses the boundary: the macro defines the extern "C" entry symbol, and every
// call from the host goes through a noexcept thunk that turns an exception into an error code
// and message (post::sdk::Exception carries a code of its own; anything else becomes
// POST_ERR_FAILED). Callbacks are std::function objects owned by the Host wrapper until they
// complete, are cancelled, or the instance is destroyed, so nothing leaks. Timers and
// listeners are RAII handles: destroying one cancels it.
//
// The POST services (store, logs, notifications, Scribe) return a Status saying whether the
// host took the call (POST_ERR_UNAVAILABLE from a host without them); a taken call completes
// once, on the executor, unless the instance stops first:
//
//   host.store_put(bytes, [this](post::sdk::Result<post::sdk::StoredContent> r) { ... });
//   host.scribe_subscribe("news", [this](std::span<const std::uint8_t> m) { ... });
//
// ABI 1.1 adds log_share(), on_admin_command() and admin_reply(); on a host of ABI 1.0 they
// answer POST_ERR_UNAVAILABLE (has_abi_1_1() tells beforehand):
//
//   host.on_admin_command([this](std::uint64_t request, std::vector<std::string> args) {
//     host().admin_reply(request, POST_OK, "got " + std::to_string(args.size()) + " args");
//   });
//
// Build a plugin with post_add_plugin() from the PostSDK CMake package: it hides every symbol
// but the entry point, and turns off GNU unique symbols so that the host can unload it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "post/sdk.h"

namespace post::sdk {

// An error code (POST_ERR_*) and what went wrong.
struct Error {
  post_status code = POST_ERR_FAILED;
  std::string message;
};

// Thrown by a plugin to fail a call from the host with a specific code.
class Exception : public std::runtime_error {
 public:
  Exception(post_status code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  post_status code() const noexcept { return code_; }

 private:
  post_status code_;
};

// A value or an Error.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  // The value, or throws Exception with the error (for use inside plugin entry points).
  T& value_or_throw() {
    if (!ok()) throw Exception(error().code, error().message);
    return value();
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  void or_throw() const {
    if (!ok_) throw Exception(error_.code, error_.message);
  }

 private:
  Error error_;
  bool ok_ = true;
};
using Status = Result<void>;

enum class LogLevel : std::uint32_t {
  kTrace = POST_LOG_TRACE,
  kDebug = POST_LOG_DEBUG,
  kInfo = POST_LOG_INFO,
  kWarn = POST_LOG_WARN,
  kError = POST_LOG_ERROR,
};

using Bytes = std::vector<std::uint8_t>;

inline post_bytes to_c(std::span<const std::uint8_t> b) {
  return post_bytes{b.data(), b.size()};
}
inline post_bytes to_c(std::string_view s) {
  return post_bytes{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::span<const std::uint8_t> to_span(post_bytes b) {
  return b.size == 0 ? std::span<const std::uint8_t>() : std::span(b.data, b.size);
}
inline std::string_view to_string_view(std::span<const std::uint8_t> b) {
  return b.empty() ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

// What store_put gives back: what store_fetch needs to get the content again (32 bytes each).
struct StoredContent {
  Bytes handle;
  Bytes key;
};

// One record of a log.
struct LogRecord {
  std::uint64_t index = 0;  // 0 for the log's first record
  Bytes data;
};

// A notification for one of the users the node serves, sent by this plugin on some node.
struct Notification {
  std::string recipient;  // the local user, "bob@example.org"
  std::string sender;     // checked against the sender's certificate by the host
  Bytes payload;
};

// An operator's command for this plugin (ABI 1.1: `postctl command <entry> ARGS...`). The
// handler answers it once, now or later, with Host::admin_reply(request, ...).
using AdminFn = std::function<void(std::uint64_t request, std::vector<std::string> args)>;

using MessageFn = std::function<void(std::span<const std::uint8_t> payload)>;
// Returns true to take an anycast (the search ends here), false to pass it on.
using AnycastFn = std::function<bool(std::span<const std::uint8_t> payload)>;

namespace detail {

inline Error error_from(const post_error& e) {
  return Error{e.code, e.message};
}

// Fills a post_error; safe with err == nullptr.
inline post_status fail(post_error* err, post_status code, std::string_view message) noexcept {
  if (err != nullptr) {
    err->code = code;
    std::size_t n =
        message.size() < POST_ERROR_MESSAGE_SIZE - 1 ? message.size() : POST_ERROR_MESSAGE_SIZE - 1;
    std::memcpy(err->message, message.data(), n);
    err->message[n] = '\0';
  }
  return code;
}

// Runs `fn`, turning any exception into an error code and message.
template <class Fn>
post_status guarded(post_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return POST_OK;
  } catch (const Exception& e) {
    return fail(err, e.code(), e.what());
  } catch (const std::exception& e) {
    return fail(err, POST_ERR_FAILED, e.what());
  } catch (...) {
    return fail(err, POST_ERR_FAILED, "unknown exception");
  }
}

}  // namespace detail

class Host;

// A scheduled timer; destroying or cancel()ing it cancels the timer.
class Timer {
 public:
  Timer() = default;
  Timer(Host* host, post_timer_id id, std::uint64_t slot) : host_(host), id_(id), slot_(slot) {}
  Timer(Timer&& o) noexcept { *this = std::move(o); }
  Timer& operator=(Timer&& o) noexcept {
    if (this != &o) {
      cancel();
      host_ = std::exchange(o.host_, nullptr);
      id_ = o.id_;
      slot_ = o.slot_;
    }
    return *this;
  }
  ~Timer() { cancel(); }
  void cancel();
  post_timer_id id() const { return id_; }

 private:
  Host* host_ = nullptr;
  post_timer_id id_ = 0;
  std::uint64_t slot_ = 0;
};

// A host-owned listening socket handing this instance its connections; destroying it stops
// that (and, for the serving instance, closes the socket).
class Listener {
 public:
  Listener() = default;
  Listener(Host* host, post_listener_id id, std::uint16_t port, std::uint64_t slot)
      : host_(host), id_(id), port_(port), slot_(slot) {}
  Listener(Listener&& o) noexcept { *this = std::move(o); }
  Listener& operator=(Listener&& o) noexcept {
    if (this != &o) {
      close();
      host_ = std::exchange(o.host_, nullptr);
      id_ = o.id_;
      port_ = o.port_;
      slot_ = o.slot_;
    }
    return *this;
  }
  ~Listener() { close(); }
  void close();
  post_listener_id id() const { return id_; }
  std::uint16_t port() const { return port_; }

 private:
  Host* host_ = nullptr;
  post_listener_id id_ = 0;
  std::uint16_t port_ = 0;
  std::uint64_t slot_ = 0;
};

// The host as a plugin instance sees it: the C table behind C++ signatures. All methods may
// be called from any thread; callbacks run on the host's executor.
class Host {
 public:
  Host(post_host* host, const post_host_api* api) : host_(host) {
    std::size_t n = api->struct_size < sizeof(api_) ? api->struct_size : sizeof(api_);
    std::memcpy(&api_, api, n);  // members past the host's struct_size stay null
    api_.struct_size = static_cast<std::uint32_t>(n);
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  post_host* handle() const { return host_; }
  const post_host_api& api() const { return api_; }

  void log(LogLevel level, std::string_view message) const {
    if (api_.log != nullptr)
      api_.log(host_, static_cast<std::uint32_t>(level), std::string(message).c_str());
  }
  void info(std::string_view m) const { log(LogLevel::kInfo, m); }
  void warn(std::string_view m) const { log(LogLevel::kWarn, m); }
  void error(std::string_view m) const { log(LogLevel::kError, m); }

  // Config values of this plugin by dotted key.
  Result<std::string> config_string(const std::string& key) const {
    char* out = nullptr;
    post_error err{};
    if (api_.config_get_string(host_, key.c_str(), &out, &err) != POST_OK) {
      return detail::error_from(err);
    }
    std::string s(out);
    api_.free(host_, out);
    return s;
  }
  Result<std::int64_t> config_int(const std::string& key) const {
    std::int64_t v = 0;
    post_error err{};
    if (api_.config_get_int(host_, key.c_str(), &v, &err) != POST_OK) {
      return detail::error_from(err);
    }
    return v;
  }
  Result<bool> config_bool(const std::string& key) const {
    std::int32_t v = 0;
    post_error err{};
    if (api_.config_get_bool(host_, key.c_str(), &v, &err) != POST_OK) {
      return detail::error_from(err);
    }
    return v != 0;
  }
  // The value, or `fallback` when the key is missing; other errors are returned.
  Result<std::int64_t> config_int_or(const std::string& key, std::int64_t fallback) const {
    auto r = config_int(key);
    if (!r.ok() && r.error().code == POST_ERR_NOT_FOUND) return fallback;
    return r;
  }
  Result<std::string> config_string_or(const std::string& key, std::string fallback) const {
    auto r = config_string(key);
    if (!r.ok() && r.error().code == POST_ERR_NOT_FOUND) return fallback;
    return r;
  }
  Result<std::string> config_yaml() const {
    char* out = nullptr;
    post_error err{};
    if (api_.config_yaml(host_, &out, &err) != POST_OK) return detail::error_from(err);
    std::string s(out);
    api_.free(host_, out);
    return s;
  }

  // Runs `fn` once after `delay`, unless the returned Timer is cancelled or destroyed first.
  Result<Timer> schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(fn)));
    post_timer_id id = 0;
    post_error err{};
    auto ms = static_cast<std::uint64_t>(delay.count() < 0 ? 0 : delay.count());
    if (api_.timer_schedule(host_, ms, &Host::on_timer, ctx(slot), &id, &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    return Timer(this, id, slot);
  }

  // Listens on `address`; `on_accept` receives each accepted descriptor, which it owns.
  Result<Listener> listen(const std::string& address, std::function<void(int fd)> on_accept) {
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(on_accept)));
    post_listener_id id = 0;
    std::uint16_t port = 0;
    post_error err{};
    if (api_.listen(host_, address.c_str(), &Host::on_accept, ctx(slot), &id, &port, &err) !=
        POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    return Listener(this, id, port, slot);
  }

  // The plugin's durable key-value namespace. `done` runs once on the executor; a missing key
  // gives an Error with POST_ERR_NOT_FOUND.
  Status kv_get(std::string_view key, std::function<void(Result<Bytes>)> done) {
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(done)));
    post_error err{};
    if (api_.kv_get(host_, to_c(key), &Host::on_bytes, ctx(slot), &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    return {};
  }
  Status kv_put(std::string_view key, std::span<const std::uint8_t> value,
                std::function<void(Status)> done) {
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(done)));
    post_error err{};
    if (api_.kv_put(host_, to_c(key), to_c(value), &Host::on_done, ctx(slot), &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    return {};
  }
  Status kv_delete(std::string_view key, std::function<void(Status)> done) {
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(done)));
    post_error err{};
    if (api_.kv_delete(host_, to_c(key), &Host::on_done, ctx(slot), &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    return {};
  }

  void counter_add(const std::string& name, std::uint64_t delta = 1) const {
    api_.counter_add(host_, name.c_str(), delta);
  }
  void gauge_set(const std::string& name, double value) const {
    api_.gauge_set(host_, name.c_str(), value);
  }

  // ---- POST services; a host without them answers POST_ERR_UNAVAILABLE. ----

  // Stores `content` in the secure store; `done` gets the handle and key that fetch it.
  Status store_put(std::span<const std::uint8_t> content,
                   std::function<void(Result<StoredContent>)> done) {
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.store_put(host_, to_c(content), &Host::on_stored, c, err);
    });
  }
  // Fetches the content stored under `handle`, opened with `key`.
  Status store_fetch(std::span<const std::uint8_t> handle, std::span<const std::uint8_t> key,
                     std::function<void(Result<Bytes>)> done) {
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.store_fetch(host_, to_c(handle), to_c(key), &Host::on_bytes, c, err);
    });
  }

  // Appends `record` to this plugin's log `log_name` of `user` (a user the node serves);
  // `done` gets the record's index.
  Status log_append(const std::string& user, const std::string& log_name,
                    std::span<const std::uint8_t> record,
                    std::function<void(Result<std::uint64_t>)> done) {
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.log_append(host_, user.c_str(), log_name.c_str(), to_c(record),
                             &Host::on_appended, c, err);
    });
  }
  // Reads up to `max_records` records of that log from index `from` on; `done` gets them all
  // at once, oldest first (none when the log holds nothing at or past `from`).
  Status log_read(const std::string& user, const std::string& log_name, std::uint64_t from,
                  std::uint32_t max_records,
                  std::function<void(Result<std::vector<LogRecord>>)> done) {
    return call(LogRead{std::move(done), {}}, [&](void* c, post_error* err) {
      return api_.log_read(host_, user.c_str(), log_name.c_str(), from, max_records,
                           &Host::on_log_record, c, err);
    });
  }

  // Sends `payload` from `sender` (a user the node serves) to this plugin of `recipient`.
  Status notify_send(const std::string& sender, const std::string& recipient,
                     std::span<const std::uint8_t> payload, std::function<void(Status)> done) {
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.notify_send(host_, sender.c_str(), recipient.c_str(), to_c(payload),
                              &Host::on_done, c, err);
    });
  }
  // Has `fn` receive the notifications for this plugin, for every user the node serves,
  // until the instance stops. A later call replaces `fn`.
  Status on_notification(std::function<void(const Notification&)> fn) {
    std::lock_guard registration(registration_mu_);
    if (notification_slot_ != 0) {
      replace(notification_slot_, std::make_unique<Callback>(std::move(fn)));
      return {};
    }
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(fn)));
    post_error err{};
    if (api_.notify_register(host_, &Host::on_notification, ctx(slot), &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    notification_slot_ = slot;
    return {};
  }

  // Joins this plugin's Scribe topic: `on_message` gets every publication, `on_anycast` (if
  // given) is offered anycasts. Subscribing again replaces both.
  Status scribe_subscribe(const std::string& topic, MessageFn on_message,
                          AnycastFn on_anycast = {}) {
    std::lock_guard registration(registration_mu_);
    auto member = std::make_unique<Callback>(Member{std::move(on_message), std::move(on_anycast)});
    auto known = topics_.find(topic);
    if (known != topics_.end()) {
      replace(known->second, std::move(member));
      return {};
    }
    std::uint64_t slot = keep(std::move(member));
    post_error err{};
    if (api_.scribe_subscribe(host_, topic.c_str(), &Host::on_message, &Host::on_anycast, ctx(slot),
                              &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    topics_.emplace(topic, slot);
    return {};
  }
  // Leaves the topic; its callbacks are not called afterwards.
  Status scribe_unsubscribe(const std::string& topic) {
    std::lock_guard registration(registration_mu_);
    post_error err{};
    if (api_.scribe_unsubscribe(host_, topic.c_str(), &err) != POST_OK) {
      return detail::error_from(err);
    }
    auto known = topics_.find(topic);
    if (known != topics_.end()) {
      forget(known->second);
      topics_.erase(known);
    }
    return {};
  }
  // Sends `payload` to every member of the topic; `done` runs once it has left the node.
  Status scribe_publish(const std::string& topic, std::span<const std::uint8_t> payload,
                        std::function<void(Status)> done) {
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.scribe_publish(host_, topic.c_str(), to_c(payload), &Host::on_done, c, err);
    });
  }
  // Offers `payload` to the topic's members until one takes it; `done` gets the taker's node
  // id (hex), or an Error with POST_ERR_NOT_FOUND when no member took it.
  Status scribe_anycast(const std::string& topic, std::span<const std::uint8_t> payload,
                        std::function<void(Result<std::string>)> done) {
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.scribe_anycast(host_, topic.c_str(), to_c(payload), &Host::on_text, c, err);
    });
  }

  // ---- ABI 1.1; a host of ABI 1.0 answers POST_ERR_UNAVAILABLE ----

  // Whether the host's table has the ABI 1.1 functions.
  bool has_abi_1_1() const {
    return POST_HAS_MEMBER(post_host_api, &api_, admin_reply) && api_.log_share != nullptr &&
           api_.admin_register != nullptr && api_.admin_reply != nullptr;
  }

  // Shares this plugin's log `log_name` of `user` (a user the node serves) with every node:
  // log_read of that user and log then works anywhere. `done` runs once the user's identity
  // names the log.
  Status log_share(const std::string& user, const std::string& log_name,
                   std::function<void(Status)> done) {
    if (!has_abi_1_1()) return older_host("log_share");
    return call(std::move(done), [&](void* c, post_error* err) {
      return api_.log_share(host_, user.c_str(), log_name.c_str(), &Host::on_done, c, err);
    });
  }
  // Has `fn` receive the operator's commands for this instance until it stops; a later call
  // replaces `fn`. `fn` answers each with admin_reply(); an exception it throws answers the
  // command with POST_ERR_FAILED and the exception's message.
  Status on_admin_command(AdminFn fn) {
    if (!has_abi_1_1()) return older_host("admin_register");
    std::lock_guard registration(registration_mu_);
    if (admin_slot_ != 0) {
      replace(admin_slot_, std::make_unique<Callback>(std::move(fn)));
      return {};
    }
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(fn)));
    post_error err{};
    if (api_.admin_register(host_, &Host::on_admin, ctx(slot), &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    admin_slot_ = slot;
    return {};
  }
  // Answers admin command `request` (once; later answers are ignored by the host).
  void admin_reply(std::uint64_t request, post_status status, std::string_view text) const {
    if (!has_abi_1_1()) return;
    api_.admin_reply(host_, request, status, std::string(text).c_str());
  }
  void admin_reply(std::uint64_t request, const Status& status, std::string_view text) const {
    admin_reply(request, status.ok() ? POST_OK : status.error().code, text);
  }

 private:
  friend class Timer;
  friend class Listener;

  static Error older_host(std::string_view function) {
    return Error{POST_ERR_UNAVAILABLE,
                 std::string(function) + ": the host's ABI is older than 1.1"};
  }

  // A log_read in progress: the records come one call at a time.
  struct LogRead {
    std::function<void(Result<std::vector<LogRecord>>)> done;
    std::vector<LogRecord> records;
  };
  // A topic membership.
  struct Member {
    MessageFn on_message;
    AnycastFn on_anycast;
  };
  using Callback = std::variant<
      std::function<void()>, std::function<void(int)>, std::function<void(Result<Bytes>)>,
      std::function<void(Status)>, std::function<void(Result<StoredContent>)>,
      std::function<void(Result<std::uint64_t>)>, std::function<void(Result<std::string>)>,
      std::function<void(const Notification&)>, LogRead, Member, AdminFn>;
  struct Context {
    Host* host;
    std::uint64_t slot;
  };

  // Keeps `callback` and makes the host call `start(ctx, err)` with its context; forgets it
  // again when the host refuses the call.
  template <class Fn, class Start>
  Status call(Fn callback, Start&& start) {
    std::uint64_t slot = keep(std::make_unique<Callback>(std::move(callback)));
    post_error err{};
    if (start(ctx(slot), &err) != POST_OK) {
      forget(slot);
      return detail::error_from(err);
    }
    return {};
  }

  std::uint64_t keep(std::unique_ptr<Callback> cb) {
    std::lock_guard lock(mu_);
    std::uint64_t slot = next_slot_++;
    auto context = std::make_unique<Context>(Context{this, slot});
    entries_.emplace(slot, Entry{std::shared_ptr<Callback>(std::move(cb)), std::move(context)});
    return slot;
  }
  void* ctx(std::uint64_t slot) {
    std::lock_guard lock(mu_);
    return entries_.at(slot).context.get();
  }
  // Drops a callback that will not be called: a failed call, or a cancelled timer or closed
  // listener. The context is kept until the Host goes, because a timer cancelled from
  // another thread may still fire once with it.
  void forget(std::uint64_t slot) {
    std::shared_ptr<Callback> dead;
    std::lock_guard lock(mu_);
    auto it = entries_.find(slot);
    if (it == entries_.end()) return;
    dead = std::move(it->second.callback);
    graveyard_.push_back(std::move(it->second.context));
    entries_.erase(it);
  }
  // Puts `cb` in place of the callback of `slot` (a registration made again): the host keeps
  // calling the same context, and a call already under way finishes with the old callback.
  void replace(std::uint64_t slot, std::unique_ptr<Callback> cb) {
    std::shared_ptr<Callback> old;
    std::lock_guard lock(mu_);
    auto it = entries_.find(slot);
    if (it == entries_.end()) return;
    old = std::exchange(it->second.callback, std::shared_ptr<Callback>(std::move(cb)));
  }
  // The callback of `ctx_ptr` if still registered, else null. A one-shot callback is
  // unregistered: the host never calls it again, so its context can go.
  std::shared_ptr<Callback> find(void* ctx_ptr, bool one_shot) {
    std::unique_ptr<Context> done;
    std::lock_guard lock(mu_);
    auto it = entries_.find(static_cast<Context*>(ctx_ptr)->slot);
    if (it == entries_.end()) return nullptr;
    std::shared_ptr<Callback> cb = it->second.callback;
    if (one_shot) {
      done = std::move(it->second.context);
      entries_.erase(it);
    }
    return cb;
  }
  static void on_timer(void* c, post_timer_id) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, true)) {
      self->run([&] { std::get<std::function<void()>> (*cb)(); });
    }
  }
  static void on_accept(void* c, post_listener_id, int fd) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, false)) {
      self->run([&] { std::get<std::function<void(int)>> (*cb)(fd); });
    }
  }
  static void on_bytes(void* c, post_status status, const char* message, post_bytes value) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, true)) {
      auto& fn = std::get<std::function<void(Result<Bytes>)>>(*cb);
      if (status == POST_OK) {
        Bytes b(value.data, value.data + value.size);
        self->run([&] { fn(std::move(b)); });
      } else {
        self->run([&] { fn(Error{status, message}); });
      }
    }
  }
  static void on_done(void* c, post_status status, const char* message) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, true)) {
      auto& fn = std::get<std::function<void(Status)>>(*cb);
      self->run([&] { status == POST_OK ? fn(Status()) : fn(Error{status, message}); });
    }
  }
  static void on_stored(void* c, post_status status, const char* message, post_bytes handle,
                        post_bytes key) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, true)) {
      auto& fn = std::get<std::function<void(Result<StoredContent>)>>(*cb);
      if (status != POST_OK) return self->run([&] { fn(Error{status, message}); });
      self->run([&] {
        auto h = to_span(handle);
        auto k = to_span(key);
        fn(StoredContent{Bytes(h.begin(), h.end()), Bytes(k.begin(), k.end())});
      });
    }
  }
  static void on_appended(void* c, post_status status, const char* message) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, true)) {
      auto& fn = std::get<std::function<void(Result<std::uint64_t>)>>(*cb);
      if (status != POST_OK) return self->run([&] { fn(Error{status, message}); });
      // The host gives the record's index as decimal text.
      std::uint64_t index = 0;
      for (const char* p = message; p != nullptr && *p >= '0' && *p <= '9'; ++p) {
        index = index * 10 + static_cast<std::uint64_t>(*p - '0');
      }
      self->run([&] { fn(index); });
    }
  }
  static void on_text(void* c, post_status status, const char* message, post_bytes value) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, true)) {
      auto& fn = std::get<std::function<void(Result<std::string>)>>(*cb);
      if (status != POST_OK) return self->run([&] { fn(Error{status, message}); });
      self->run([&] { fn(std::string(to_string_view(to_span(value)))); });
    }
  }
  static void on_log_record(void* c, post_status status, const char* message, std::uint64_t index,
                            post_bytes record, std::int32_t last) {
    auto* self = static_cast<Context*>(c)->host;
    bool final_call = status != POST_OK || last != 0;
    if (auto cb = self->find(c, final_call)) {
      auto& read = std::get<LogRead>(*cb);
      if (status != POST_OK) return self->run([&] { read.done(Error{status, message}); });
      // Records are never empty: an empty one is the final call of a read that found none.
      if (record.size > 0) {
        auto data = to_span(record);
        self->run([&] {
          read.records.push_back(LogRecord{index, Bytes(data.begin(), data.end())});
        });
      }
      if (final_call) self->run([&] { read.done(std::move(read.records)); });
    }
  }
  static void on_notification(void* c, const char* recipient, const char* sender,
                              post_bytes payload) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, false)) {
      auto& fn = std::get<std::function<void(const Notification&)>>(*cb);
      self->run([&] {
        auto data = to_span(payload);
        fn(Notification{recipient != nullptr ? recipient : "", sender != nullptr ? sender : "",
                        Bytes(data.begin(), data.end())});
      });
    }
  }
  static void on_admin(void* c, std::uint64_t request, const char* const* argv,
                       std::uint32_t argc) {
    auto* self = static_cast<Context*>(c)->host;
    auto cb = self->find(c, false);
    if (!cb) {
      self->admin_reply(request, POST_ERR_UNAVAILABLE, "the plugin takes no commands now");
      return;
    }
    post_error err{};
    post_status st = detail::guarded(&err, [&] {
      std::vector<std::string> args;
      args.reserve(argc);
      for (std::uint32_t i = 0; i < argc; ++i) args.emplace_back(argv[i] != nullptr ? argv[i] : "");
      std::get<AdminFn> (*cb)(request, std::move(args));
    });
    if (st != POST_OK) self->admin_reply(request, st, err.message);
  }
  static void on_message(void* c, const char* /*topic*/, post_bytes payload) {
    auto* self = static_cast<Context*>(c)->host;
    if (auto cb = self->find(c, false)) {
      auto& member = std::get<Member>(*cb);
      if (member.on_message) self->run([&] { member.on_message(to_span(payload)); });
    }
  }
  static std::int32_t on_anycast(void* c, const char* /*topic*/, post_bytes payload) {
    auto* self = static_cast<Context*>(c)->host;
    auto cb = self->find(c, false);
    if (!cb) return 0;
    auto& member = std::get<Member>(*cb);
    bool taken = false;
    if (member.on_anycast) self->run([&] { taken = member.on_anycast(to_span(payload)); });
    return taken ? 1 : 0;
  }
  // Callbacks run on the host's executor: an exception must not escape into the host.
  template <class Fn>
  void run(Fn&& fn) noexcept {
    post_error err{};
    if (detail::guarded(&err, std::forward<Fn>(fn)) != POST_OK) {
      log(LogLevel::kError, std::string("callback failed: ") + err.message);
    }
  }

  struct Entry {
    std::shared_ptr<Callback> callback;
    std::unique_ptr<Context> context;  // the void* the host holds; stable address
  };

  post_host* host_;
  post_host_api api_{};
  std::mutex registration_mu_;                   // orders registrations (held across the host call)
  std::uint64_t notification_slot_ = 0;          // registration_mu_
  std::uint64_t admin_slot_ = 0;                 // registration_mu_
  std::map<std::string, std::uint64_t> topics_;  // topic -> slot; registration_mu_
  std::mutex mu_;
  std::uint64_t next_slot_ = 1;
  std::map<std::uint64_t, Entry> entries_;
  // Contexts of cancelled callbacks (see forget()).
  std::vector<std::unique_ptr<Context>> graveyard_;
};

inline void Timer::cancel() {
  if (host_ == nullptr) return;
  host_->api_.timer_cancel(host_->host_, id_);
  host_->forget(slot_);
  host_ = nullptr;
}

inline void Listener::close() {
  if (host_ == nullptr) return;
  host_->api_.unlisten(host_->host_, id_);
  host_->forget(slot_);
  host_ = nullptr;
}

// The base class of a plugin. The derived class's constructor (taking Host&) is init; the
// virtual functions are the rest of the lifecycle (see post/sdk.h). Any of them may throw to
// fail the call.
class Plugin {
 public:
  explicit Plugin(Host& host) : host_(host) {}
  virtual ~Plugin() = default;
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  virtual void start() {}
  virtual void drain() {}
  virtual void stop() {}
  virtual Bytes export_state() { return {}; }
  virtual void import_state(std::span<const std::uint8_t> /*state*/) {}

 protected:
  Host& host() { return host_; }

 private:
  Host& host_;
};

namespace detail {

template <class T>
struct Adapter {
  struct Instance {
    Host host;
    std::unique_ptr<T> plugin;
    Instance(post_host* h, const post_host_api* api) : host(h, api) {}
  };
  static Instance* self(post_plugin* p) { return reinterpret_cast<Instance*>(p); }

  static post_status init(post_host* h, const post_host_api* api, post_plugin** out,
                          post_error* err) noexcept {
    if (out == nullptr || api == nullptr)
      return fail(err, POST_ERR_INVALID_ARGUMENT, "null argument");
    if (!POST_HAS_MEMBER(post_host_api, api, scribe_anycast)) {
      return fail(err, POST_ERR_UNAVAILABLE, "the host's API table is older than ABI 1.0");
    }
    *out = nullptr;
    Instance* created = nullptr;
    post_status st = guarded(err, [&] {
      auto inst = std::make_unique<Instance>(h, api);
      inst->plugin = std::make_unique<T>(inst->host);
      created = inst.release();
    });
    if (st == POST_OK) *out = reinterpret_cast<post_plugin*>(created);
    return st;
  }
  static post_status start(post_plugin* p, post_error* err) noexcept {
    return guarded(err, [&] { self(p)->plugin->start(); });
  }
  static post_status drain(post_plugin* p, post_error* err) noexcept {
    return guarded(err, [&] { self(p)->plugin->drain(); });
  }
  static void stop(post_plugin* p) noexcept {
    post_error err{};
    if (guarded(&err, [&] { self(p)->plugin->stop(); }) != POST_OK) {
      self(p)->host.error(std::string("stop failed: ") + err.message);
    }
  }
  static post_status export_state(post_plugin* p, post_write_fn write, void* ctx,
                                  post_error* err) noexcept {
    return guarded(err, [&] {
      Bytes state = self(p)->plugin->export_state();
      write(ctx, state.data(), state.size());
    });
  }
  static post_status import_state(post_plugin* p, post_bytes state, post_error* err) noexcept {
    return guarded(err, [&] { self(p)->plugin->import_state(to_span(state)); });
  }
  static void destroy(post_plugin* p) noexcept {
    Instance* inst = self(p);
    try {
      inst->plugin.reset();  // before the Host its timers and listeners refer to
    } catch (...) {
    }
    delete inst;
  }

  static constexpr post_plugin_vtable vtable() {
    post_plugin_vtable v{};
    v.struct_size = sizeof(post_plugin_vtable);
    v.init = &init;
    v.start = &start;
    v.drain = &drain;
    v.stop = &stop;
    v.export_state = &export_state;
    v.import_state = &import_state;
    v.destroy = &destroy;
    return v;
  }
};

}  // namespace detail
}  // namespace post::sdk

// Defines the plugin's entry symbol for plugin class `Class` (derived from post::sdk::Plugin,
// constructible from post::sdk::Host&), with its name and version string.
#define POST_PLUGIN(Class, name_literal, version_literal)                                   \
  extern "C" POST_PLUGIN_EXPORT const post_plugin_descriptor* post_plugin_entry_v1(         \
      uint16_t host_abi_major, uint16_t /*host_abi_minor*/) {                               \
    static const post_plugin_vtable vtable = ::post::sdk::detail::Adapter<Class>::vtable(); \
    static const post_plugin_descriptor descriptor = {sizeof(post_plugin_descriptor),       \
                                                      POST_ABI_MAJOR,                       \
                                                      POST_ABI_MINOR,                       \
                                                      name_literal,                         \
                                                      version_literal,                      \
                                                      &vtable};                             \
    return host_abi_major == POST_ABI_MAJOR ? &descriptor : nullptr;                        \
  }
