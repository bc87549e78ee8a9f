// Daemon: the one place where postd wires the layers together. It owns the node's
// io_context (the node's executor: one thread runs every protocol callback), the clock,
// the transport, and, as later layers arrive, Pastry, PAST, Scribe, POST and the plugins.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "host/core/certificate.h"
#include "host/daemon/node_config.h"
#include "host/net/asio_clock.h"
#include "host/net/asio_transport.h"

namespace post::daemon {

class Daemon {
 public:
  // Loads the node's identity, takes the data directory's lock (one postd per data dir)
  // and prepares the transport. Nothing listens yet.
  static Result<std::unique_ptr<Daemon>> create(NodeConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts listening and dialling the bootstrap nodes (retrying with back-off while they are
  // unreachable). Fails when the listen address cannot be bound.
  Status start();

  // Runs the node until SIGINT or SIGTERM, then leaves cleanly: says goodbye on every link
  // and waits (briefly) for the goodbyes to be written.
  void run();

  const net::NodeHandle& local() const { return transport_->local(); }

 private:
  Daemon(NodeConfig config, NodeIdentity identity, int lock_fd);

  struct Bootstrap {
    net::Address address;
    std::optional<net::NodeHandle> peer;
    net::Duration retry_delay;
  };

  void dial(std::size_t index);
  void keep_alive();
  void print_links() const;
  void begin_shutdown();
  void wait_for_links_to_close(net::Time deadline);

  NodeConfig config_;
  NodeIdentity identity_;
  int lock_fd_;
  boost::asio::io_context io_;
  net::AsioClock clock_;
  std::unique_ptr<net::AsioTransport> transport_;
  boost::asio::signal_set signals_;
  std::vector<Bootstrap> bootstraps_;
  bool stopping_ = false;
};

}  // namespace post::daemon
