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
      progress_(users_.size()),
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
  for (const Progress& p : progress_) clock_.cancel(p.retry);
  for (const auto& user : users_) presence_.stop(user.certificate.email);
}

void ServedUsers::start() {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (progress_[i].state == State::kServed || progress_[i].state == State::kPublishing) continue;
    clock_.cancel(progress_[i].retry);
    progress_[i].retry = net::kNoTimer;
    progress_[i].attempts = 0;
    publish(i);
  }
}

void ServedUsers::retry_failed() {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (progress_[i].state != State::kFailed) continue;
    progress_[i].attempts = 0;
    publish(i);
  }
}

const LocalUser* ServedUsers::find(const std::string& email) const {
  auto it = std::find_if(users_.begin(), users_.end(),
                         [&](const LocalUser& u) { return u.certificate.email == email; });
  return it == users_.end() ? nullptr : &*it;
}

ServedUsers::State ServedUsers::state(const std::string& email) const {
  const LocalUser* user = find(email);
  return user == nullptr ? State::kWaiting
                         : progress_[static_cast<std::size_t>(user - users_.data())].state;
}

// Step 1: the certificate block, so that others can find the user and check what the user's
// identity and notifications are signed with.
void ServedUsers::publish(std::size_t i) {
  progress_[i].state = State::kPublishing;
  ++progress_[i].attempts;
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
    progress_[i].state = State::kServed;
    logger()->info("serving user {} <{}>: certificate and identity published",
                   users_[i].certificate.name, users_[i].certificate.email);
  });
}

void ServedUsers::failed(std::size_t i, const std::string& step, const Error& error) {
  const std::string& email = users_[i].certificate.email;
  if (progress_[i].attempts >= options_.attempts) {
    progress_[i].state = State::kFailed;
    logger()->error("user {}: {} failed {} times, giving up until the leaf set changes: {}", email,
                    step, progress_[i].attempts, error.to_string());
    return;
  }
  net::Duration delay = options_.first_retry_delay;
  for (int n = 1; n < progress_[i].attempts && delay < options_.max_retry_delay; ++n) delay *= 2;
  delay = std::min(delay, options_.max_retry_delay);
  progress_[i].state = State::kWaiting;
  logger()->warn("user {}: {} failed (attempt {} of {}): {}; retrying in {:.1f} s", email, step,
                 progress_[i].attempts, options_.attempts, error.to_string(),
                 net::to_seconds(delay));
  progress_[i].retry = clock_.schedule(delay, [this, i] {
    progress_[i].retry = net::kNoTimer;
    publish(i);
  });
}

}  // namespace post::daemon
