#include "host/daemon/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "host/core/errors.h"
#include "host/core/log.h"

namespace post::daemon {
namespace {

constexpr net::Duration kFirstRetry = std::chrono::seconds(1);
constexpr net::Duration kMaxRetry = std::chrono::seconds(30);
constexpr net::Duration kKeepAliveInterval = std::chrono::seconds(10);
constexpr net::Duration kShutdownGrace = std::chrono::seconds(2);

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("postd");
  return l;
}

// Creates `dir` if needed and takes an exclusive lock on dir/LOCK; returns the lock's fd.
Result<int> lock_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return make_error(CoreErrc::kIoError,
                      "cannot create data_dir " + dir.string() + ": " + ec.message());
  std::string path = (dir / "LOCK").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(CoreErrc::kIoError, "cannot open " + path + ": " + std::strerror(errno));
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

std::string format_rtt(const std::optional<net::Duration>& rtt) {
  if (!rtt) return "rtt ?";
  return fmt::format("rtt {:.2f} ms", std::chrono::duration<double, std::milli>(*rtt).count());
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::create(NodeConfig config) {
  auto identity =
      load_node_identity(config.identity.key.string(), config.identity.certificate.string(),
                         config.identity.ca_certificate.string(), wall_clock_seconds());
  if (!identity.ok()) return std::move(identity).error();
  POST_TRY_ASSIGN(int lock_fd, lock_data_dir(config.data_dir));
  return std::unique_ptr<Daemon>(new Daemon(std::move(config), std::move(*identity), lock_fd));
}

Daemon::Daemon(NodeConfig config, NodeIdentity identity, int lock_fd)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      lock_fd_(lock_fd),
      clock_(io_),
      signals_(io_, SIGINT, SIGTERM) {
  net::AsioTransportOptions options;
  if (config_.listen != config_.advertise) options.bind_address = config_.listen;
  options.send_queue_bytes = config_.transport.send_queue_bytes;
  options.connect_timeout = config_.transport.connect_timeout;
  options.handshake_timeout = config_.transport.handshake_timeout;
  options.idle_timeout = config_.transport.idle_timeout;
  net::LinkIdentity link{identity_.certificate, identity_.signing_key, identity_.ca,
                         config_.advertise};
  transport_ = std::make_unique<net::AsioTransport>(io_, std::move(link), options);
  for (const auto& a : config_.bootstrap) {
    if (a == config_.advertise) continue;  // a node listed as its own bootstrap starts the ring
    bootstraps_.push_back(Bootstrap{a, std::nullopt, kFirstRetry});
  }
}

Daemon::~Daemon() {
  transport_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Daemon::start() {
  POST_TRY(transport_->start());
  transport_->set_link_observer([this](const net::NodeHandle& peer, bool up) {
    if (!up) {
      logger()->info("link down with {}", peer.to_string());
      print_links();
      return;
    }
    // Measure the new link's RTT (the proximity metric) before reporting it.
    transport_->ping(peer, [this, peer](Result<net::Duration> rtt) {
      logger()->info("link up with {}, {}", peer.to_string(),
                     rtt.ok() ? format_rtt(*rtt) : "no pong: " + rtt.error().message);
      print_links();
    });
  });
  logger()->info(
      "node {} ({}) serving on {}; {} bootstrap node(s)", local().id.to_hex(),
      identity_.certificate.ring.empty() ? "global ring" : "ring " + identity_.certificate.ring,
      local().address.to_string(), bootstraps_.size());
  for (std::size_t i = 0; i < bootstraps_.size(); ++i) dial(i);
  clock_.schedule(kKeepAliveInterval, [this] { keep_alive(); });
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    logger()->info("received {}, leaving", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    begin_shutdown();
  });
  return ok_status();
}

void Daemon::dial(std::size_t index) {
  if (stopping_) return;
  transport_->connect(bootstraps_[index].address, [this, index](Result<net::NodeHandle> r) {
    Bootstrap& b = bootstraps_[index];
    if (r.ok()) {
      b.peer = *r;
      b.retry_delay = kFirstRetry;
      return;
    }
    if (stopping_) return;
    logger()->warn("bootstrap {} unreachable ({}); retrying in {:.0f} s", b.address.to_string(),
                   r.error().message, net::to_seconds(b.retry_delay));
    clock_.schedule(b.retry_delay, [this, index] { dial(index); });
    b.retry_delay = std::min(b.retry_delay * 2, kMaxRetry);
  });
}

void Daemon::keep_alive() {
  if (stopping_) return;
  // Pings the bootstrap links; a peer that stopped answering is dialled again by address.
  for (std::size_t i = 0; i < bootstraps_.size(); ++i) {
    if (!bootstraps_[i].peer) continue;
    transport_->ping(*bootstraps_[i].peer, [this, i](Result<net::Duration> r) {
      if (r.ok() || stopping_) return;
      logger()->warn("bootstrap {} stopped answering: {}", bootstraps_[i].peer->to_string(),
                     r.error().message);
      bootstraps_[i].peer.reset();
      dial(i);
    });
  }
  clock_.schedule(kKeepAliveInterval, [this] { keep_alive(); });
}

void Daemon::print_links() const {
  auto links = transport_->links();
  std::string text;
  for (const auto& l : links) {
    text += fmt::format("\n    {} {} {}", l.outgoing ? "->" : "<-", l.peer.to_string(),
                        format_rtt(l.rtt));
  }
  logger()->info("{} link(s){}", links.size(), text);
}

void Daemon::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
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
