#include "host/daemon/served_users.h"

#include <algorithm>
#include <utility>

#include "host/core/errors.h"
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

// Step 2: the identity block naming this node (and the logs the user shared, those named by
// the identity in the directory included), then presence announcements.
void ServedUsers::serve(std::size_t i) {
  std::weak_ptr<char> alive = alive_;
  auto publish_identity = [this, alive, i] {
    write_identity(i, [this, alive, i](Status s) {
      if (alive.expired()) return;
      if (!s.ok()) {
        failed(i, "publishing the identity", s.error());
        return;
      }
      progress_[i].state = State::kServed;
      logger()->info("serving user {} <{}>: certificate and identity published",
                     users_[i].certificate.name, users_[i].certificate.email);
      // Shares made while the identity was being written.
      if (!progress_[i].shares.empty()) write_identity(i, [](Status) {});
    });
  };
  if (progress_[i].read_identity) return publish_identity();
  look_up(users_[i].certificate.email,
          [this, alive, i, publish_identity](Result<services::UserRecord> found) {
            if (alive.expired()) return;
            if (!found.ok()) {
              failed(i, "reading the identity", found.error());
              return;
            }
            Progress& p = progress_[i];
            p.read_identity = true;
            if (found->identity) {
              for (const auto& log : found->identity->log_heads) {
                bool known = std::any_of(p.log_heads.begin(), p.log_heads.end(),
                                         [&](const auto& l) { return l.name == log.name; });
                if (!known && p.log_heads.size() < services::kMaxLogHeads) {
                  p.log_heads.push_back(log);
                }
              }
            }
            publish_identity();
          });
}

void ServedUsers::write_identity(std::size_t i, std::function<void(Status)> then) {
  const LocalUser& user = users_[i];
  services::Identity identity;
  identity.puzzle_bits = user.puzzle_bits;
  identity.log_heads = progress_[i].log_heads;
  auto shares = std::move(progress_[i].shares);
  progress_[i].shares.clear();
  std::weak_ptr<char> alive = alive_;
  presence_.serve(user.keys, user.certificate, identity, unix_ms_(),
                  [alive, shares = std::move(shares), then = std::move(then)](Status s) {
                    for (const auto& share : shares) share(s);
                    if (!alive.expired()) then(s);
                  });
}

void ServedUsers::share_log(const std::string& email, services::LogHeadRef log,
                            std::function<void(Status)> done) {
  const LocalUser* user = find(email);
  if (user == nullptr) {
    return done(make_error(CoreErrc::kBadKey, email + " is not a user this node serves"));
  }
  if (log.name.empty() || log.name.size() > services::kMaxLogNameBytes) {
    return done(make_error(CoreErrc::kBadLength, "a shared log's name is 1 to " +
                                                     std::to_string(services::kMaxLogNameBytes) +
                                                     " bytes, not " +
                                                     std::to_string(log.name.size())));
  }
  const std::size_t i = static_cast<std::size_t>(user - users_.data());
  Progress& p = progress_[i];
  auto same = std::find_if(p.log_heads.begin(), p.log_heads.end(),
                           [&](const services::LogHeadRef& l) { return l.name == log.name; });
  if (same != p.log_heads.end()) {
    same->handle = log.handle;
  } else if (p.log_heads.size() >= services::kMaxLogHeads) {
    return done(make_error(CoreErrc::kBadLength, email + "'s identity names " +
                                                     std::to_string(services::kMaxLogHeads) +
                                                     " logs already, the most it can"));
  } else {
    p.log_heads.push_back(std::move(log));
  }
  p.shares.push_back(std::move(done));
  switch (p.state) {
    case State::kServed: write_identity(i, [](Status) {}); break;
    case State::kFailed:
      p.attempts = 0;
      publish(i);
      break;
    case State::kWaiting:
    case State::kPublishing: break;  // the publication's identity write takes it
  }
}

std::vector<services::LogHeadRef> ServedUsers::shared_logs(const std::string& email) const {
  const LocalUser* user = find(email);
  if (user == nullptr) return {};
  return progress_[static_cast<std::size_t>(user - users_.data())].log_heads;
}

void ServedUsers::look_up(const std::string& email,
                          std::function<void(Result<services::UserRecord>)> done) {
  directory_.find(email, static_cast<std::int64_t>(unix_ms_() / 1000), std::move(done));
}

void ServedUsers::failed(std::size_t i, const std::string& step, const Error& error) {
  const std::string& email = users_[i].certificate.email;
  if (progress_[i].attempts >= options_.attempts) {
    progress_[i].state = State::kFailed;
    // Shares waiting for this publication learn that it gave up (the logs stay in the list,
    // for the next attempt).
    auto shares = std::move(progress_[i].shares);
    progress_[i].shares.clear();
    for (const auto& share : shares) share(error);
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
