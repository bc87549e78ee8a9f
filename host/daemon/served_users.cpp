#include "host/daemon/served_users.h"

#include <algorithm>
#include <utility>

#include "host/core/log.h"

namespace post::daemon {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("postd");
  return l;
}

}  // namespace

ServedUsers::ServedUsers(std::vector<LocalUser> users, services::UserDirectory& directory,
                         services::PresenceAnnouncer& presence,
                         services::NotificationService& notifications, net::Clock& clock,
                         std::function<std::uint64_t()> unix_ms, ServedUsersOptions options)
    : users_(std::move(users)),
      states_(users_.size(), State::kWaiting),
      attempts_(users_.size(), 0),
      retries_(users_.size(), net::kNoTimer),
      directory_(directory),
      presence_(presence),
      notifications_(notifications),
      clock_(clock),
      unix_ms_(std::move(unix_ms)),
      options_(options) {
  for (const auto& user : users_) {
    notifications_.add_user(user.keys, user.certificate, user.puzzle_bits);
  }
}

ServedUsers::~ServedUsers() {
  for (net::TimerId t : retries_) clock_.cancel(t);
  for (const auto& user : users_) presence_.stop(user.certificate.email);
}

void ServedUsers::start() {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (states_[i] == State::kServed || states_[i] == State::kPublishing) continue;
    clock_.cancel(retries_[i]);
    retries_[i] = net::kNoTimer;
    attempts_[i] = 0;
    publish(i);
  }
}

void ServedUsers::retry_failed() {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (states_[i] != State::kFailed) continue;
    attempts_[i] = 0;
    publish(i);
  }
}

const LocalUser* ServedUsers::find(const std::string& email) const {
  auto it = std::find_if(users_.begin(), users_.end(),
                         [&](const LocalUser& u) { return u.certificate.email == email; });
  return it == users_.end() ? nullptr : &*it;
}

ServedUsers::State ServedUsers::state(const std::string& email) const {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (users_[i].certificate.email == email) return states_[i];
  }
  return State::kWaiting;
}

// Step 1: the certificate block, so that others can find the user and check what the user's
// identity and notifications are signed with.
void ServedUsers::publish(std::size_t i) {
  states_[i] = State::kPublishing;
  ++attempts_[i];
  std::weak_ptr<char> alive = alive_;
  directory_.publish_certificate(users_[i].certificate_block, [this, alive, i](Status s) {
    if (alive.expired()) return;
    if (!s.ok()) {
      failed(i, "publishing the certificate", s.error());
      return;
    }
    serve(i);
  });
}

// Step 2: the identity block naming this node, then presence announcements.
void ServedUsers::serve(std::size_t i) {
  const LocalUser& user = users_[i];
  services::Identity identity;
  identity.puzzle_bits = user.puzzle_bits;
  std::weak_ptr<char> alive = alive_;
  presence_.serve(user.keys, user.certificate, identity, unix_ms_(), [this, alive, i](Status s) {
    if (alive.expired()) return;
    if (!s.ok()) {
      failed(i, "publishing the identity", s.error());
      return;
    }
    states_[i] = State::kServed;
    logger()->info("serving user {} <{}>: certificate and identity published",
                   users_[i].certificate.name, users_[i].certificate.email);
  });
}

void ServedUsers::failed(std::size_t i, const std::string& step, const Error& error) {
  const std::string& email = users_[i].certificate.email;
  if (attempts_[i] >= options_.attempts) {
    states_[i] = State::kFailed;
    logger()->error("user {}: {} failed {} times, giving up until the leaf set changes: {}", email,
                    step, attempts_[i], error.to_string());
    return;
  }
  net::Duration delay = options_.first_retry_delay;
  for (int n = 1; n < attempts_[i] && delay < options_.max_retry_delay; ++n) delay *= 2;
  delay = std::min(delay, options_.max_retry_delay);
  states_[i] = State::kWaiting;
  logger()->warn("user {}: {} failed (attempt {} of {}): {}; retrying in {:.1f} s", email, step,
                 attempts_[i], options_.attempts, error.to_string(), net::to_seconds(delay));
  retries_[i] = clock_.schedule(delay, [this, i] {
    retries_[i] = net::kNoTimer;
    publish(i);
  });
}

}  // namespace post::daemon
