// ServedUsers: the users this node serves (node.yaml's users:), put into the ring and kept
// there. On construction each user is registered with the NotificationService, so
// notifications for them are taken from the start. Once the node has joined the ring,
// start() publishes each user's certificate block in the directory and starts serving the
// user's presence (an identity block naming this node, then announcements); a step that fails
// (the ring may still be settling) is logged and retried with back-off.
//
// The identity also names the logs the users shared (share_log(), for plugins' log_share): the
// node keeps their LogHeadRefs and writes them into every identity it publishes, and before
// the first one it reads the identity in the directory and keeps the logs named there, so that
// a restart or a move to another node does not unshare them.
//
// Single-threaded: construct and call it on the node's executor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/daemon/local_users.h"
#include "host/net/clock.h"
#include "host/post/account.h"
#include "host/post/notification_service.h"
#include "host/post/presence.h"

namespace post::daemon {

struct ServedUsersOptions {
  // Publication attempts per user before giving up (with a log line saying so), and the delay
  // before the first retry, doubled after each failure up to max_retry_delay.
  int attempts = 10;
  net::Duration first_retry_delay = std::chrono::seconds(1);
  net::Duration max_retry_delay = std::chrono::seconds(30);
};

class ServedUsers {
 public:
  // What the users' publication has reached.
  enum class State { kWaiting, kPublishing, kServed, kFailed };

  // None of the references is owned; all must outlive this object. `unix_ms` reads the wall
  // clock (identity versions are unix milliseconds, so they grow across restarts).
  ServedUsers(std::vector<LocalUser> users, services::UserDirectory& directory,
              services::PresenceAnnouncer& presence, services::NotificationService& notifications,
              net::Clock& clock, std::function<std::uint64_t()> unix_ms,
              ServedUsersOptions options = {});
  ~ServedUsers();
  ServedUsers(const ServedUsers&) = delete;
  ServedUsers& operator=(const ServedUsers&) = delete;

  // Publishes every user (certificate block, then identity and presence). Call once the node
  // is in the ring; calling it again starts over for users not served yet.
  void start();
  // Starts over for the users whose publication gave up (kFailed): the daemon calls it when a
  // node joins its leaf set, as a ring too small to hold k replicas is a common cause.
  void retry_failed();

  // Names `log` in the identity of the served user `email`, replacing a log of the same name,
  // and publishes the identity. `done` runs once an identity naming the log is stored: at
  // once if the user is served, else after the user's publication (whose failure it gets).
  // Refuses a user not served here (CoreErrc::kBadKey: the node holds no key of theirs) and a
  // log over the identity's bounds (CoreErrc::kBadLength: services::kMaxLogHeads logs, names
  // of services::kMaxLogNameBytes).
  void share_log(const std::string& email, services::LogHeadRef log,
                 std::function<void(Status)> done);
  // The logs the identity of `email` names (none for a user not served here).
  std::vector<services::LogHeadRef> shared_logs(const std::string& email) const;

  // Finds any user of the deployment in the directory (UserDirectory::find at the wall
  // clock's time): certificate checked against the CA, identity against the certificate.
  void look_up(const std::string& email, std::function<void(Result<services::UserRecord>)> done);

  const std::vector<LocalUser>& users() const { return users_; }
  // The served user with `email`, or null.
  const LocalUser* find(const std::string& email) const;
  State state(const std::string& email) const;

  services::NotificationService& notifications() { return notifications_; }
  const services::NotificationService& notifications() const { return notifications_; }
  const services::PresenceAnnouncer& presence() const { return presence_; }

 private:
  void publish(std::size_t i);
  void serve(std::size_t i);
  // Writes users_[i]'s identity (contact, puzzle, shared logs) and answers the shares waiting
  // for it with the outcome; `then` gets it too.
  void write_identity(std::size_t i, std::function<void(Status)> then);
  void failed(std::size_t i, const std::string& step, const Error& error);

  // How far each user's publication got: progress_[i] is users_[i]'s.
  struct Progress {
    State state = State::kWaiting;
    int attempts = 0;
    net::TimerId retry = net::kNoTimer;
    bool read_identity = false;  // the logs named in the directory's identity are known
    std::vector<services::LogHeadRef> log_heads;
    // share_log() calls waiting for the next identity write.
    std::vector<std::function<void(Status)>> shares;
  };

  std::vector<LocalUser> users_;
  std::vector<Progress> progress_;
  services::UserDirectory& directory_;
  services::PresenceAnnouncer& presence_;
  services::NotificationService& notifications_;
  net::Clock& clock_;
  std::function<std::uint64_t()> unix_ms_;
  ServedUsersOptions options_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::daemon
