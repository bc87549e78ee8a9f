#include "host/daemon/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/log.h"
#include "host/daemon/admin_server.h"
#include "host/daemon/admin_service.h"
#include "host/daemon/plugin_host.h"
#include "host/daemon/plugin_services.h"
#include "host/daemon/served_users.h"
#include "host/post/account.h"
#include "host/post/notification_service.h"
#include "host/post/presence.h"
#include "host/post/secure_store.h"

namespace post::daemon {
namespace {

constexpr net::Duration kFirstJoinRetry = std::chrono::seconds(1);
constexpr net::Duration kMaxJoinRetry = std::chrono::seconds(30);
constexpr net::Duration kShutdownGrace = std::chrono::seconds(2);
constexpr const char* kVersion = "postd " POST_VERSION;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("postd");
  return l;
}

// Creates `dir` if needed and takes an exclusive lock on dir/LOCK; returns the lock's fd.
Result<int> lock_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return make_error(CoreErrc::kIoError,
                      "cannot create data_dir " + dir.string() + ": " + ec.message());
  }
  std::string path = (dir / "LOCK").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(CoreErrc::kIoError, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return make_error(
        CoreErrc::kIoError,
        "data_dir " + dir.string() + " is in use by another postd (" + path + " is locked)");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::write(fd, pid.data(), pid.size()) < 0) {
    logger()->warn("cannot write pid to {}: {}", path, std::strerror(errno));
  }
  return fd;
}

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  crypto::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&seed), sizeof seed));
  return seed;
}

std::uint64_t unix_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

services::NotificationServiceConfig notification_service_config(const NotificationsConfig& c) {
  services::NotificationServiceConfig s;
  s.delegates = c.delegates;
  s.deliver_timeout = c.deliver_timeout;
  s.delegate_timeout = c.delegate_timeout;
  s.recheck_interval = c.recheck_interval;
  s.hold_for = c.hold_for;
  s.max_held = c.max_held;
  return s;
}

// Opens the LevelDB block store at `dir`, logging what it holds.
Result<std::unique_ptr<past::BlockStore>> open_store(const std::filesystem::path& dir,
                                                     const char* what) {
  auto store = past::LevelDbBlockStore::open(dir.string());
  if (!store.ok()) return std::move(store).error();
  logger()->info("{} {}: {} blocks, {} bytes", what, dir.string(), (*store)->count(),
                 (*store)->bytes_used());
  return std::unique_ptr<past::BlockStore>(std::move(*store));
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::create(NodeConfig config) {
  auto identity =
      load_node_identity(config.identity.key.string(), config.identity.certificate.string(),
                         config.identity.ca_certificate.string(), wall_clock_seconds());
  if (!identity.ok()) return std::move(identity).error();
  POST_TRY_ASSIGN(std::vector<LocalUser> users,
                  load_local_users(config.users, identity->ca, wall_clock_seconds()));
  POST_TRY_ASSIGN(int lock_fd, lock_data_dir(config.data_dir));
  auto store = open_store(config.data_dir / "blocks", "block store");
  if (!store.ok()) {
    ::close(lock_fd);
    return std::move(store).error();
  }
  auto notification_store = open_store(config.data_dir / "notifications", "notification store");
  if (!notification_store.ok()) {
    ::close(lock_fd);
    return std::move(notification_store).error();
  }
  for (const auto& user : users) {
    logger()->info("serves user {} <{}> (puzzle {} bits)", user.certificate.name,
                   user.certificate.email, user.puzzle_bits);
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(config), std::move(*identity), lock_fd,
                                            std::move(*store), std::move(*notification_store),
                                            std::move(users)));
}

Daemon::Daemon(NodeConfig config, NodeIdentity identity, int lock_fd,
               std::unique_ptr<past::BlockStore> store,
               std::unique_ptr<past::BlockStore> notification_store, std::vector<LocalUser> users)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      lock_fd_(lock_fd),
      store_(std::move(store)),
      notification_store_(std::move(notification_store)),
      users_(std::move(users)),
      clock_(io_),
      signals_(io_, SIGINT, SIGTERM),
      join_retry_(kFirstJoinRetry) {
  net::AsioTransportOptions options;
  if (config_.listen != config_.advertise) options.bind_address = config_.listen;
  options.send_queue_bytes = config_.transport.send_queue_bytes;
  options.connect_timeout = config_.transport.connect_timeout;
  options.handshake_timeout = config_.transport.handshake_timeout;
  options.idle_timeout = config_.transport.idle_timeout;
  net::LinkIdentity link{identity_.certificate, identity_.signing_key, identity_.ca,
                         config_.advertise};
  transport_ = std::make_unique<net::AsioTransport>(io_, std::move(link), options);
}

Daemon::~Daemon() {
  admin_server_.reset();
  plugins_.reset();  // stops every plugin before the services they call
  if (notifications_) notifications_->set_handler(nullptr);
  plugin_services_.reset();
  admin_service_.reset();  // before Scribe: it leaves the groups it subscribed to
  served_users_.reset();   // stops the presence announcements
  notifications_.reset();  // before the directory, Scribe, PAST and Pastry it uses
  presence_.reset();
  directory_.reset();
  scribe_.reset();
  secure_store_.reset();
  past_.reset();
  pastry_.reset();
  notification_store_.reset();
  store_.reset();
  transport_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Daemon::start() {
  POST_TRY(transport_->start());
  // The Pastry node learns its own handle from the transport, so it comes after start():
  // with port 0 the real port is known only then.
  pastry_ =
      std::make_unique<pastry::PastryNode>(*transport_, clock_, config_.pastry, random_seed());
  pastry_->set_leaf_set_observer([this](const net::NodeHandle& node, bool joined) {
    logger()->info("leaf set {} {} ({} members)", joined ? "+" : "-", node.to_string(),
                   pastry_->leaf_set().size());
    if (joined && served_users_) served_users_->retry_failed();
  });
  past_ = std::make_unique<past::PastNode>(*pastry_, *transport_, clock_, *store_, config_.past,
                                           identity_.ca.public_key, random_seed());
  scribe_ = std::make_unique<scribe::ScribeNode>(*pastry_, *transport_, clock_, config_.scribe,
                                                 random_seed());
  directory_ = std::make_unique<services::UserDirectory>(*past_, identity_.ca);
  presence_ = std::make_unique<services::PresenceAnnouncer>(
      *scribe_, *directory_, clock_, local(), services::PresenceConfig{config_.presence.interval});
  notifications_ = std::make_unique<services::NotificationService>(
      *pastry_, *transport_, clock_, *scribe_, *directory_, *notification_store_,
      notification_service_config(config_.notifications), random_seed());
  served_users_ = std::make_unique<ServedUsers>(std::move(users_), *directory_, *presence_,
                                                *notifications_, clock_, unix_millis);
  POST_TRY_ASSIGN(secure_store_, services::SecureStore::create(*past_, clock_, {}));
  plugin_services_ = std::make_unique<PluginServices>(*past_, *secure_store_, *notifications_,
                                                      *scribe_, *served_users_, clock_);
  notifications_->set_handler(
      [this](const std::string& email, const services::DeliveredNotification& d) {
        if (plugin_services_) plugin_services_->on_notification(email, d);
      });
  plugin::PluginManagerOptions plugin_options;
  plugin_options.services = plugin_services_.get();
  plugin_options.runtime_dir = config_.data_dir / "plugins-runtime";
  plugin_options.kv_stores = plugin::leveldb_store_factory(config_.data_dir / "plugin-kv");
  plugins_ = std::make_unique<PluginHost>(io_, config_, std::move(plugin_options));
  if (config_.admin) {
    admin_service_ = std::make_unique<AdminService>(
        *pastry_, *past_, *store_, *scribe_, *transport_, clock_,
        AdminServiceInfo{kVersion, identity_.certificate.ring, clock_.now()});
    admin_service_->set_users(served_users_.get());
    admin_service_->set_plugins(plugins_.get());
    admin_server_ = std::make_unique<AdminServer>(io_, *config_.admin, *admin_service_);
    POST_TRY(admin_server_->start());
    logger()->info("admin endpoint on {}", admin_server_->address().to_string());
  }
  POST_TRY(plugins_->start());
  logger()->info(
      "node {} ({}) serving on {}", local().id.to_hex(),
      identity_.certificate.ring.empty() ? "global ring" : "ring " + identity_.certificate.ring,
      local().address.to_string());
  join();
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    logger()->info("received {}, leaving", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    begin_shutdown();
  });
  return ok_status();
}

void Daemon::join() {
  std::vector<net::Address> bootstrap;
  for (const auto& a : config_.bootstrap) {
    if (a != config_.advertise) bootstrap.push_back(a);  // a node may list itself
  }
  if (bootstrap.empty()) {
    pastry_->start_new_ring();
    logger()->info("started a new ring");
    on_ready();
    return;
  }
  pastry_->join(bootstrap, [this](Status s) {
    if (stopping_) return;
    if (s.ok()) {
      join_retry_ = kFirstJoinRetry;
      logger()->info("joined the ring: {} leaf set members, {} routing table entries",
                     pastry_->leaf_set().size(), pastry_->routing_table().size());
      on_ready();
      return;
    }
    logger()->warn("join failed ({}); retrying in {:.0f} s", s.error().message,
                   net::to_seconds(join_retry_));
    clock_.schedule(join_retry_, [this] {
      if (!stopping_) join();
    });
    join_retry_ = std::min(join_retry_ * 2, kMaxJoinRetry);
  });
}

void Daemon::on_ready() {
  if (!served_users_->users().empty()) {
    logger()->info("publishing {} user(s)", served_users_->users().size());
  }
  served_users_->start();
}

void Daemon::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  if (admin_server_) admin_server_->stop();
  plugins_.reset();  // plugins stop (and join their threads) while the node still runs
  if (admin_service_) admin_service_->set_plugins(nullptr);
  pastry_->leave();
  transport_->shutdown(/*graceful=*/true);
  // Stop the executor once the goodbyes have left, or after a grace period.
  wait_for_links_to_close(clock_.now() + kShutdownGrace);
}

void Daemon::wait_for_links_to_close(net::Time deadline) {
  if (transport_->links().empty() || clock_.now() >= deadline) {
    io_.stop();
    return;
  }
  clock_.schedule(net::millis(20), [this, deadline] { wait_for_links_to_close(deadline); });
}

void Daemon::run() {
  io_.run();
  logger()->info("node {} stopped", local().id.short_hex());
}

}  // namespace post::daemon
