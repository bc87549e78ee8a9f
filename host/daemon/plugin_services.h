// PluginServices: the POST services behind the plugins' host functions (plugin::HostServices),
// over one node's secure store, PAST (logs), notification service and Scribe, for the users
// the node serves.
//
//   store     the secure store as it is (convergent encryption; no salt or padding options).
//   logs      the log "plugin/<plugin>/<name>" of a user, keyed by derive_log_key() from the
//             user's signing key, unencrypted. A writer per log is opened on first use and
//             kept open (one writer per log: PAST refuses a second one's heads), and opened
//             again when PAST turns out to hold a newer head (written elsewhere). Only users
//             this node serves can write. Their logs can be read here; other users' logs only
//             when shared: log_share names the log's head handle in the user's identity block
//             (a LogHeadRef named "plugin/<plugin>/<name>", through ServedUsers::share_log),
//             and a read of a user not served here looks the user up in the directory
//             (certificate and identity checked), finds that name, fetches the head block
//             under its handle and reads it with a LogReader of the head's key (signatures,
//             chain and rollback checked). Nothing of that is cached but the readers (one per
//             head handle, for their rollback checks): every read sees the identity and head
//             PAST holds then.
//   notify    sent as the plugin's application from a served user; received ones reach the
//             handler of the plugin their application names, through on_notification(),
//             which the daemon's NotificationService handler calls.
//   Scribe    the group of topic `t` of plugin `p` is Id::hash_of("plugin/<p>/<t>").
//
// Single-threaded: construct, call and destroy it on the node's executor. The references are
// not owned and must outlive this object; the PluginManager using it must be destroyed first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "host/daemon/served_users.h"
#include "host/net/clock.h"
#include "host/past/past_node.h"
#include "host/plugin/host_services.h"
#include "host/post/log.h"
#include "host/post/notification_service.h"
#include "host/post/secure_store.h"
#include "host/scribe/scribe_node.h"

namespace post::daemon {

// Notifications for a plugin that has no handler (not loaded yet, reloading, failed) wait in
// memory, oldest dropped first, up to this many and this many payload bytes in all: enough
// to bridge a start-up or a reload, too little for senders to fill the node's memory. They
// are not kept across restarts (NotificationService::delivered() keeps every notification).
inline constexpr std::size_t kMaxPendingNotifications = 1024;
inline constexpr std::size_t kMaxPendingNotificationBytes = 4 * 1024 * 1024;

struct PluginServicesStats {
  std::uint64_t notifications_to_plugins = 0;  // handed to a plugin's handler
  std::uint64_t notifications_dropped = 0;     // waited too long for a handler (the bounds)
};

class PluginServices final : public plugin::HostServices {
 public:
  PluginServices(past::PastNode& past, services::SecureStore& store,
                 services::NotificationService& notifications, scribe::ScribeNode& scribe,
                 ServedUsers& users, net::Clock& clock);
  ~PluginServices() override;
  PluginServices(const PluginServices&) = delete;
  PluginServices& operator=(const PluginServices&) = delete;

  // Takes a notification the local user `email` received (the daemon's NotificationService
  // handler calls this for each one). One whose application names a plugin with a handler goes
  // to it; one with no application is not a plugin's and is ignored; the others (and those a
  // handler refuses because no instance of the plugin serves) wait for a handler of their
  // application, which gets them oldest first (see kMaxPendingNotifications).
  void on_notification(const std::string& email, const services::DeliveredNotification& d);

  // Notifications waiting for a handler.
  std::size_t pending_notifications() const { return pending_.size(); }
  // Logs with a writer open.
  std::size_t open_logs() const { return logs_.size(); }
  const PluginServicesStats& stats() const { return stats_; }

  // ---- plugin::HostServices ----
  void store_put(const std::string& plugin, Bytes content,
                 std::function<void(Result<plugin::StoredContent>)> done) override;
  void store_fetch(const std::string& plugin, const Id& handle, Bytes key,
                   std::function<void(Result<Bytes>)> done) override;
  void log_append(const std::string& plugin, const std::string& user, const std::string& log_name,
                  Bytes record, std::function<void(Result<std::uint64_t>)> done) override;
  void log_read(const std::string& plugin, const std::string& user, const std::string& log_name,
                std::uint64_t from, std::uint32_t max_records,
                std::function<void(Result<std::vector<plugin::LogEntry>>)> done) override;
  void log_share(const std::string& plugin, const std::string& user, const std::string& log_name,
                 std::function<void(Status)> done) override;
  void notify_send(const std::string& plugin, const std::string& sender,
                   const std::string& recipient, Bytes payload,
                   std::function<void(Status)> done) override;
  void set_notification_handler(const std::string& plugin,
                                plugin::NotificationHandler handler) override;
  void scribe_subscribe(const std::string& plugin, const std::string& topic,
                        plugin::TopicMember member) override;
  void scribe_unsubscribe(const std::string& plugin, const std::string& topic) override;
  void scribe_publish(const std::string& plugin, const std::string& topic, Bytes payload,
                      std::function<void(Status)> done) override;
  void scribe_anycast(const std::string& plugin, const std::string& topic, Bytes payload,
                      std::function<void(Result<Id>)> done) override;

  // The Scribe group of `plugin`'s topic `topic`.
  static Id topic_group(const std::string& plugin, const std::string& topic);

 private:
  // (user, plugin, log name)
  using LogKey = std::tuple<std::string, std::string, std::string>;
  struct OpenLog;
  class Topic;
  struct Pending {
    std::uint64_t id = 0;
    std::string application;
    plugin::PluginNotification notification;
  };

  // Runs `fn` on the executor in a turn of its own, unless this object is gone by then.
  void soon(std::function<void()> fn);
  // The Ed25519 seed of `key`'s log, or the error (the user is not served here, ...).
  Result<Bytes> log_key(const LogKey& key, const char* function) const;
  void append_now(const LogKey& key, OpenLog& log, Bytes record,
                  std::function<void(Result<std::uint64_t>)> done);
  // Moves `log` out of logs_ (a newer head exists elsewhere), and frees a retired log once
  // its writer answered every append.
  void retire(const LogKey& key, OpenLog* log);
  void release_retired(OpenLog* log);
  // Reads the log of a user not served here, shared by its writer (see the top).
  void read_shared(const std::string& plugin, const std::string& user, const std::string& log_name,
                   std::uint64_t from, std::uint32_t max_records,
                   std::function<void(Result<std::vector<plugin::LogEntry>>)> done);
  // Hands `done` at most `max_records` records of `reader`'s log from `from` on, given the
  // head just accepted (or the error getting it; kNotFound: no head yet, an empty log).
  void read_records(services::LogReader* reader, Result<services::LogHead> head, std::uint64_t from,
                    std::uint32_t max_records,
                    std::function<void(Result<std::vector<plugin::LogEntry>>)> done);
  // Whether notifications of `plugin` wait, and hands them to its handler, oldest first,
  // until it refuses one (no instance serves) or none is left.
  bool waiting_for(const std::string& plugin) const;
  void deliver_pending(const std::string& plugin);

  past::PastNode& past_;
  services::SecureStore& store_;
  services::NotificationService& notifications_;
  scribe::ScribeNode& scribe_;
  ServedUsers& users_;
  net::Clock& clock_;
  PluginServicesStats stats_;

  std::map<LogKey, std::unique_ptr<OpenLog>> logs_;
  std::vector<std::unique_ptr<OpenLog>> retired_;  // stale writers finishing their appends
  std::map<LogKey, std::unique_ptr<services::LogReader>> readers_;
  std::map<Id, std::unique_ptr<services::LogReader>> shared_readers_;  // by head handle
  std::map<std::string, plugin::NotificationHandler> handlers_;  // by plugin name
  std::deque<Pending> pending_;
  std::size_t pending_bytes_ = 0;
  std::uint64_t next_pending_ = 1;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Topic>> topics_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::daemon
