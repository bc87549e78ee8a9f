#include "host/daemon/plugin_services.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/log.h"
#include "host/past/errors.h"
#include "host/post/errors.h"
#include "host/post/manifest.h"
#include "host/post/notification.h"
#include "host/scribe/errors.h"
#include "host/scribe/scribe_config.h"

namespace post::daemon {

// The limits the manager checks for plugins are the services' own.
static_assert(plugin::kMaxServiceScopeBytes == services::kMaxApplicationNameBytes);
static_assert(plugin::kMaxSharedLogScopedBytes == services::kMaxLogNameBytes);
static_assert(plugin::kMaxStoreObjectBytes == services::kMaxObjectBytes);
static_assert(plugin::kStoreKeyBytes == sizeof(services::ContentKey));
static_assert(plugin::kStoreHandleBytes == Id::kBytes);
static_assert(plugin::kMaxLogRecordBytes == services::kMaxRecordBytes);
static_assert(plugin::kMaxNotificationPayloadBytes == services::kMaxAppDataBytes);
static_assert(plugin::kMaxScribePayloadBytes == scribe::kMaxPayloadBytes);

namespace {

using plugin::ServiceErrc;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("plugin");
  return l;
}

// `e`, from a layer underneath, as the error of `function`: the code a plugin can act on, and
// the layer's own words.
Error service_error(std::string_view function, const Error& e) {
  ServiceErrc code = ServiceErrc::kFailed;
  if (e.code == past::PastErrc::kNotFound || e.code == services::PostErrc::kUnknownRecipient ||
      e.code == scribe::ScribeErrc::kNoMemberAccepted) {
    code = ServiceErrc::kNotFound;
  } else if (e.code == past::PastErrc::kTooLarge || e.code == services::PostErrc::kTooLarge ||
             e.code == services::PostErrc::kRecordTooLarge) {
    code = ServiceErrc::kTooLarge;
  } else if (e.code == past::PastErrc::kStorageFailure) {
    code = ServiceErrc::kIoError;
  }
  return make_error(code, fmt::format("{}: {}", function, e.to_string()));
}

Error not_served(std::string_view function, const std::string& user, std::string_view why) {
  return make_error(ServiceErrc::kInvalidArgument,
                    fmt::format("{}: {} is not a user this node serves ({})", function, user, why));
}

Error too_large(std::string_view function, std::string_view what, std::size_t size,
                std::size_t limit) {
  return make_error(ServiceErrc::kTooLarge,
                    fmt::format("{}: {} of {} bytes > {} byte limit", function, what, size, limit));
}

}  // namespace

// A log of a served user, opened for writing on first use.
struct PluginServices::OpenLog {
  std::unique_ptr<services::LogWriter> writer;  // null while opening
  // Appends made while the writer was opening, in order.
  std::deque<std::pair<Bytes, std::function<void(Result<std::uint64_t>)>>> waiting;
  std::size_t in_flight = 0;  // appends handed to the writer and not answered yet
};

// A plugin's membership of one topic, as Scribe's client.
class PluginServices::Topic final : public scribe::ScribeClient {
 public:
  Topic(const Id& group_id, plugin::TopicMember topic_member)
      : group(group_id), member(std::move(topic_member)) {}

  void deliver(const Id& /*group*/, ByteView payload) override {
    // A copy: the member may be replaced while it runs.
    auto on_message = member.on_message;
    if (on_message) on_message(payload);
  }
  bool accept_anycast(const Id& /*group*/, ByteView payload) override {
    auto on_anycast = member.on_anycast;
    return on_anycast && on_anycast(payload);
  }

  const Id group;
  plugin::TopicMember member;
};

PluginServices::PluginServices(past::PastNode& past, services::SecureStore& store,
                               services::NotificationService& notifications,
                               scribe::ScribeNode& scribe, ServedUsers& users, net::Clock& clock)
    : past_(past),
      store_(store),
      notifications_(notifications),
      scribe_(scribe),
      users_(users),
      clock_(clock) {}

PluginServices::~PluginServices() {
  for (auto& [key, topic] : topics_) scribe_.unsubscribe(topic->group);
}

Id PluginServices::topic_group(const std::string& plugin, const std::string& topic) {
  return Id::hash_of(as_bytes(plugin::scoped_name(plugin, topic)));
}

void PluginServices::soon(std::function<void()> fn) {
  std::weak_ptr<char> alive = alive_;
  clock_.schedule(net::Duration::zero(), [alive, fn = std::move(fn)] {
    if (!alive.expired()) fn();
  });
}

// ---- store ------------------------------------------------------------------------------------

void PluginServices::store_put(const std::string& /*plugin*/, Bytes content,
                               std::function<void(Result<plugin::StoredContent>)> done) {
  std::weak_ptr<char> alive = alive_;
  store_.store(
      std::move(content), {},
      [alive, done = std::move(done)](Result<services::StoredObject> stored) {
        if (alive.expired()) return;
        if (!stored.ok()) return done(service_error("store_put", stored.error()));
        done(plugin::StoredContent{stored->handle, Bytes(stored->key.begin(), stored->key.end())});
      });
}

void PluginServices::store_fetch(const std::string& /*plugin*/, const Id& handle, Bytes key,
                                 std::function<void(Result<Bytes>)> done) {
  services::ContentKey content_key{};
  if (key.size() != content_key.size()) {
    Error e = make_error(
        ServiceErrc::kInvalidArgument,
        fmt::format("store_fetch: a key is {} bytes, not {}", content_key.size(), key.size()));
    return soon([done = std::move(done), e = std::move(e)] { done(e); });
  }
  std::copy(key.begin(), key.end(), content_key.begin());
  std::weak_ptr<char> alive = alive_;
  store_.fetch(handle, content_key, [alive, done = std::move(done)](Result<Bytes> content) {
    if (alive.expired()) return;
    if (!content.ok()) return done(service_error("store_fetch", content.error()));
    done(std::move(content));
  });
}

// ---- logs -------------------------------------------------------------------------------------

Result<Bytes> PluginServices::log_key(const LogKey& key, const char* function) const {
  const auto& [user, plugin, name] = key;
  const LocalUser* local = users_.find(user);
  if (local == nullptr) {
    return not_served(function, user, "a log is written with its writer's private key");
  }
  auto seed = services::derive_log_key(local->keys.signing_key, plugin::scoped_name(plugin, name));
  if (!seed.ok()) return service_error(function, seed.error());
  return seed;
}

void PluginServices::log_append(const std::string& plugin, const std::string& user,
                                const std::string& log_name, Bytes record,
                                std::function<void(Result<std::uint64_t>)> done) {
  if (record.size() > services::kMaxRecordBytes) {
    Error e = too_large("log_append", "a record", record.size(), services::kMaxRecordBytes);
    return soon([done = std::move(done), e = std::move(e)] { done(e); });
  }
  LogKey key{user, plugin, log_name};
  auto it = logs_.find(key);
  if (it != logs_.end()) {
    OpenLog& log = *it->second;
    if (log.writer) return append_now(key, log, std::move(record), std::move(done));
    log.waiting.emplace_back(std::move(record), std::move(done));
    return;
  }
  auto seed = log_key(key, "log_append");
  if (!seed.ok()) return soon([done = std::move(done), e = std::move(seed).error()] { done(e); });
  auto& log = logs_[key];
  log = std::make_unique<OpenLog>();
  log->waiting.emplace_back(std::move(record), std::move(done));
  std::weak_ptr<char> alive = alive_;
  services::LogWriter::open(
      past_, store_, clock_, std::move(*seed), services::LogConfig{},
      [this, alive, key](Result<std::unique_ptr<services::LogWriter>> writer) {
        if (alive.expired()) return;
        auto opened = logs_.find(key);
        if (opened == logs_.end()) return;
        auto waiting = std::move(opened->second->waiting);
        if (!writer.ok()) {
          logger()->warn("cannot open log {} of {} for plugin {}: {}", std::get<2>(key),
                         std::get<0>(key), std::get<1>(key), writer.error().to_string());
          logs_.erase(opened);  // the next append tries again
          Error e = service_error("log_append", writer.error());
          for (auto& [unwritten, waiting_done] : waiting) waiting_done(e);
          return;
        }
        OpenLog& now_open = *opened->second;
        now_open.writer = std::move(*writer);
        for (auto& [unwritten, waiting_done] : waiting) {
          append_now(key, now_open, std::move(unwritten), std::move(waiting_done));
        }
      });
}

void PluginServices::append_now(const LogKey& key, OpenLog& log, Bytes record,
                                std::function<void(Result<std::uint64_t>)> done) {
  ++log.in_flight;
  std::weak_ptr<char> alive = alive_;
  OpenLog* writing = &log;
  log.writer->append(std::move(record), [this, alive, key, writing,
                                         done = std::move(done)](Result<std::uint64_t> index) {
    if (alive.expired()) return;
    --writing->in_flight;
    if (!index.ok() && index.error().code == past::PastErrc::kStaleTimestamp) {
      // PAST holds a newer head: the log was written elsewhere (the user moved between
      // nodes). The next append opens the log afresh, from that head.
      retire(key, writing);
    }
    if (index.ok()) {
      done(*index);
    } else {
      done(service_error("log_append", index.error()));
    }
    if (writing->in_flight == 0) release_retired(writing);
  });
}

void PluginServices::retire(const LogKey& key, OpenLog* log) {
  auto it = logs_.find(key);
  if (it == logs_.end() || it->second.get() != log) return;  // retired already
  logger()->warn("log {} of {} for plugin {} was written elsewhere; opening it again",
                 std::get<2>(key), std::get<0>(key), std::get<1>(key));
  retired_.push_back(std::move(it->second));
  logs_.erase(it);
}

void PluginServices::release_retired(OpenLog* log) {
  auto it = std::find_if(retired_.begin(), retired_.end(),
                         [&](const std::unique_ptr<OpenLog>& r) { return r.get() == log; });
  if (it == retired_.end()) return;
  // Not from inside the writer's own callback: destroy it in a turn of its own.
  std::shared_ptr<OpenLog> doomed = std::move(*it);
  retired_.erase(it);
  soon([doomed] {});
}

void PluginServices::log_read(const std::string& plugin, const std::string& user,
                              const std::string& log_name, std::uint64_t from,
                              std::uint32_t max_records,
                              std::function<void(Result<std::vector<plugin::LogEntry>>)> done) {
  if (users_.find(user) == nullptr) {
    return read_shared(plugin, user, log_name, from, max_records, std::move(done));
  }
  auto fail = [this, &done](Error e) {
    soon([done = std::move(done), e = std::move(e)] { done(e); });
  };
  LogKey key{user, plugin, log_name};
  auto& reader = readers_[key];
  if (!reader) {
    auto seed = log_key(key, "log_read");
    if (!seed.ok()) {
      readers_.erase(key);
      return fail(std::move(seed).error());
    }
    auto public_key = crypto::signing_public_key(*seed);
    if (!public_key.ok()) {
      readers_.erase(key);
      return fail(service_error("log_read", public_key.error()));
    }
    reader = std::make_unique<services::LogReader>(past_, store_, std::move(*public_key));
  }
  services::LogReader* r = reader.get();
  std::weak_ptr<char> alive = alive_;
  r->refresh([this, alive, r, from, max_records,
              done = std::move(done)](Result<services::LogHead> head) mutable {
    if (alive.expired()) return;
    read_records(r, std::move(head), from, max_records, std::move(done));
  });
}

void PluginServices::read_shared(const std::string& plugin, const std::string& user,
                                 const std::string& log_name, std::uint64_t from,
                                 std::uint32_t max_records,
                                 std::function<void(Result<std::vector<plugin::LogEntry>>)> done) {
  std::weak_ptr<char> alive = alive_;
  users_.look_up(user, [this, alive, plugin, user, log_name, from, max_records,
                        done = std::move(done)](Result<services::UserRecord> found) mutable {
    if (alive.expired()) return;
    if (!found.ok()) {
      if (found.error().code == past::PastErrc::kNotFound) {
        return done(make_error(ServiceErrc::kNotFound,
                               fmt::format("log_read: no user {} in the directory", user)));
      }
      return done(service_error("log_read", found.error()));
    }
    const std::string scoped = plugin::scoped_name(plugin, log_name);
    std::optional<Id> handle;
    if (found->identity) {
      for (const auto& log : found->identity->log_heads) {
        if (log.name == scoped) handle = log.handle;
      }
    }
    if (!handle) {
      return done(make_error(
          ServiceErrc::kNotFound,
          fmt::format("log_read: {} is not a user this node serves, and has not shared log '{}' "
                      "of plugin '{}' (no '{}' in the user's identity)",
                      user, log_name, plugin, scoped)));
    }
    past_.lookup(*handle, [this, alive, handle = *handle, from, max_records,
                           done = std::move(done)](Result<past::Block> block) mutable {
      if (alive.expired()) return;
      if (!block.ok()) {
        if (block.error().code == past::PastErrc::kNotFound) {
          return done(std::vector<plugin::LogEntry>{});  // shared, never written
        }
        return done(service_error("log_read", block.error()));
      }
      if (block->kind != past::BlockKind::kPublicKey ||
          past::public_key_handle(block->public_key) != handle) {
        return done(make_error(ServiceErrc::kFailed,
                               fmt::format("log_read: the block under the shared log's head "
                                           "handle {} is not a log head of that handle",
                                           handle.to_hex())));
      }
      auto& reader = shared_readers_[handle];
      if (!reader) {
        reader = std::make_unique<services::LogReader>(past_, store_, block->public_key);
      }
      read_records(reader.get(), reader->accept_head(*block), from, max_records, std::move(done));
    });
  });
}

void PluginServices::read_records(services::LogReader* reader, Result<services::LogHead> head,
                                  std::uint64_t from, std::uint32_t max_records,
                                  std::function<void(Result<std::vector<plugin::LogEntry>>)> done) {
  using Entries = std::vector<plugin::LogEntry>;
  if (!head.ok()) {
    // A log never written has no head: it is empty.
    if (head.error().code == past::PastErrc::kNotFound) return done(Entries{});
    return done(service_error("log_read", head.error()));
  }
  if (from >= head->record_count) return done(Entries{});
  std::weak_ptr<char> alive = alive_;
  reader->read_since(from, [alive, max_records, done = std::move(done)](
                               Result<std::vector<services::LogRecord>> records) {
    if (alive.expired()) return;
    if (!records.ok()) return done(service_error("log_read", records.error()));
    Entries out;
    for (auto& record : *records) {
      if (out.size() == max_records) break;
      out.push_back(plugin::LogEntry{record.index, std::move(record.data)});
    }
    done(std::move(out));
  });
}

void PluginServices::log_share(const std::string& plugin, const std::string& user,
                               const std::string& log_name, std::function<void(Status)> done) {
  auto fail = [this, &done](Error e) {
    soon([done = std::move(done), e = std::move(e)] { done(e); });
  };
  const std::string scoped = plugin::scoped_name(plugin, log_name);
  if (scoped.size() > plugin::kMaxSharedLogScopedBytes) {
    return fail(too_large("log_share", "the shared log's name '" + scoped + "'", scoped.size(),
                          plugin::kMaxSharedLogScopedBytes));
  }
  auto seed = log_key(LogKey{user, plugin, log_name}, "log_share");
  if (!seed.ok()) return fail(std::move(seed).error());
  auto public_key = crypto::signing_public_key(*seed);
  if (!public_key.ok()) return fail(service_error("log_share", public_key.error()));
  std::weak_ptr<char> alive = alive_;
  users_.share_log(
      user, services::LogHeadRef{scoped, past::public_key_handle(*public_key)},
      [alive, done = std::move(done)](Status shared) {
        if (alive.expired()) return;
        if (shared.ok()) return done(ok_status());
        if (shared.error().code == CoreErrc::kBadLength) {
          return done(make_error(ServiceErrc::kTooLarge, "log_share: " + shared.error().message));
        }
        done(service_error("log_share", shared.error()));
      });
}

// ---- notifications ----------------------------------------------------------------------------

void PluginServices::notify_send(const std::string& plugin, const std::string& sender,
                                 const std::string& recipient, Bytes payload,
                                 std::function<void(Status)> done) {
  const LocalUser* local = users_.find(sender);
  if (local == nullptr) {
    Error e = not_served("notify_send", sender, "a notification is signed with its sender's key");
    return soon([done = std::move(done), e = std::move(e)] { done(e); });
  }
  if (payload.size() > services::kMaxAppDataBytes) {
    Error e = too_large("notify_send", "a payload", payload.size(), services::kMaxAppDataBytes);
    return soon([done = std::move(done), e = std::move(e)] { done(e); });
  }
  services::OutgoingNotification notification;
  notification.application = plugin;
  notification.app_data = std::move(payload);
  std::weak_ptr<char> alive = alive_;
  notifications_.send(local->keys, local->certificate, recipient, std::move(notification),
                      [alive, done = std::move(done)](Result<services::SendResult> sent) {
                        if (alive.expired()) return;
                        if (!sent.ok()) return done(service_error("notify_send", sent.error()));
                        done(ok_status());
                      });
}

void PluginServices::set_notification_handler(const std::string& plugin,
                                              plugin::NotificationHandler handler) {
  if (!handler) {
    handlers_.erase(plugin);
    return;
  }
  handlers_[plugin] = std::move(handler);
  if (waiting_for(plugin)) soon([this, plugin] { deliver_pending(plugin); });
}

bool PluginServices::waiting_for(const std::string& plugin) const {
  return std::any_of(pending_.begin(), pending_.end(),
                     [&](const Pending& p) { return p.application == plugin; });
}

void PluginServices::deliver_pending(const std::string& plugin) {
  while (true) {
    auto handler = handlers_.find(plugin);
    if (handler == handlers_.end()) return;  // gone again: the rest keeps waiting
    auto next = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Pending& p) { return p.application == plugin; });
    if (next == pending_.end()) return;
    const std::uint64_t id = next->id;
    const plugin::PluginNotification notification = next->notification;
    plugin::NotificationHandler fn = handler->second;  // a copy: it may be replaced meanwhile
    if (!fn(notification)) return;                     // no instance serves now: it keeps its place
    ++stats_.notifications_to_plugins;
    auto taken = std::find_if(pending_.begin(), pending_.end(),
                              [&](const Pending& p) { return p.id == id; });
    if (taken != pending_.end()) {
      pending_bytes_ -= taken->notification.payload.size();
      pending_.erase(taken);
    }
  }
}

void PluginServices::on_notification(const std::string& email,
                                     const services::DeliveredNotification& d) {
  const services::ReceivedNotification& n = d.notification;
  if (n.application.empty()) return;
  plugin::PluginNotification notification{email, n.sender_email, n.app_data};
  auto handler = handlers_.find(n.application);
  const bool has_handler = handler != handlers_.end();
  // Older notifications of the same plugin that still wait go first.
  const bool queue_ahead = waiting_for(n.application);
  if (has_handler && !queue_ahead) {
    plugin::NotificationHandler fn = handler->second;
    if (fn(notification)) {
      ++stats_.notifications_to_plugins;
      return;
    }
  }
  logger()->debug("a notification for {} from {} waits for plugin '{}'", email, n.sender_email,
                  n.application);
  pending_bytes_ += notification.payload.size();
  pending_.push_back(Pending{next_pending_++, n.application, std::move(notification)});
  while (pending_.size() > kMaxPendingNotifications ||
         pending_bytes_ > kMaxPendingNotificationBytes) {
    const Pending& oldest = pending_.front();
    logger()->warn(
        "dropped a notification for {} from {}: plugin '{}' took none of the last {} ({} bytes)",
        oldest.notification.recipient, oldest.notification.sender, oldest.application,
        pending_.size(), pending_bytes_);
    pending_bytes_ -= oldest.notification.payload.size();
    pending_.pop_front();
    ++stats_.notifications_dropped;
  }
  if (has_handler && queue_ahead) soon([this, plugin = n.application] { deliver_pending(plugin); });
}

// ---- Scribe -----------------------------------------------------------------------------------

void PluginServices::scribe_subscribe(const std::string& plugin, const std::string& topic,
                                      plugin::TopicMember member) {
  auto& t = topics_[{plugin, topic}];
  if (t) {
    t->member = std::move(member);
    return;
  }
  t = std::make_unique<Topic>(topic_group(plugin, topic), std::move(member));
  std::weak_ptr<char> alive = alive_;
  scribe_.subscribe(t->group, t.get(), [alive, plugin, topic](Status s) {
    if (alive.expired()) return;
    if (!s.ok()) {
      logger()->warn("plugin '{}': subscribing to topic '{}' failed: {}", plugin, topic,
                     s.error().to_string());
      return;
    }
    logger()->debug("plugin '{}': in the tree of topic '{}'", plugin, topic);
  });
}

void PluginServices::scribe_unsubscribe(const std::string& plugin, const std::string& topic) {
  auto it = topics_.find({plugin, topic});
  if (it == topics_.end()) return;
  scribe_.unsubscribe(it->second->group);
  topics_.erase(it);
}

void PluginServices::scribe_publish(const std::string& plugin, const std::string& topic,
                                    Bytes payload, std::function<void(Status)> done) {
  if (payload.size() > scribe::kMaxPayloadBytes) {
    Error e = too_large("scribe_publish", "a payload", payload.size(), scribe::kMaxPayloadBytes);
    return soon([done = std::move(done), e = std::move(e)] { done(e); });
  }
  scribe_.publish(topic_group(plugin, topic), std::move(payload));
  soon([done = std::move(done)] { done(ok_status()); });
}

void PluginServices::scribe_anycast(const std::string& plugin, const std::string& topic,
                                    Bytes payload, std::function<void(Result<Id>)> done) {
  if (payload.size() > scribe::kMaxPayloadBytes) {
    Error e = too_large("scribe_anycast", "a payload", payload.size(), scribe::kMaxPayloadBytes);
    return soon([done = std::move(done), e = std::move(e)] { done(e); });
  }
  std::weak_ptr<char> alive = alive_;
  scribe_.anycast(topic_group(plugin, topic), std::move(payload),
                  [alive, done = std::move(done)](Result<scribe::AnycastResult> taken) {
                    if (alive.expired()) return;
                    if (!taken.ok()) return done(service_error("scribe_anycast", taken.error()));
                    done(taken->member.id);
                  });
}

}  // namespace post::daemon
