// Daemon: the one place where postd wires the layers together. It owns the node's
// io_context (the node's executor: one thread runs every protocol callback), the clock,
// the transport, the Pastry node, PAST, Scribe, the POST services for the users it serves
// (directory, presence, notifications), the admin endpoint, and, as later layers arrive,
// the plugins.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "host/core/certificate.h"
#include "host/daemon/local_users.h"
#include "host/daemon/node_config.h"
#include "host/net/asio_clock.h"
#include "host/net/asio_transport.h"
#include "host/past/block_store.h"
#include "host/past/past_node.h"
#include "host/pastry/pastry_node.h"
#include "host/scribe/scribe_node.h"

namespace post::services {
class NotificationService;
class SecureStore;
class PresenceAnnouncer;
class UserDirectory;
}  // namespace post::services

namespace post::daemon {

class AdminServer;
class AdminService;
class PluginHost;
class PluginServices;
class ServedUsers;

class Daemon {
 public:
  // Loads the node's identity and the users it serves (local_users.h: each checked against
  // the node's CA), takes the data directory's lock (one postd per data dir), opens the block
  // store (<data_dir>/blocks) and the notification store (<data_dir>/notifications) and
  // prepares the transport. Nothing listens yet.
  static Result<std::unique_ptr<Daemon>> create(NodeConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts listening (links and, if configured, the admin endpoint) and joins the ring
  // through the bootstrap nodes, retrying with back-off while none answers; with no
  // bootstrap node it starts a new ring. Once in the ring, it publishes the users it serves
  // (ServedUsers). Fails when an address cannot be bound.
  Status start();

  // Runs the node until SIGINT or SIGTERM, then leaves cleanly: tells the leaf set, says
  // goodbye on every link and waits (briefly) for the goodbyes to be written.
  void run();

  const net::NodeHandle& local() const { return transport_->local(); }

 private:
  Daemon(NodeConfig config, NodeIdentity identity, int lock_fd,
         std::unique_ptr<past::BlockStore> store,
         std::unique_ptr<past::BlockStore> notification_store, std::vector<LocalUser> users);

  void join();
  void on_ready();
  void begin_shutdown();
  void wait_for_links_to_close(net::Time deadline);

  NodeConfig config_;
  NodeIdentity identity_;
  int lock_fd_;
  std::unique_ptr<past::BlockStore> store_;               // <data_dir>/blocks
  std::unique_ptr<past::BlockStore> notification_store_;  // <data_dir>/notifications
  std::vector<LocalUser> users_;  // until start() hands them to served_users_
  boost::asio::io_context io_;
  net::AsioClock clock_;
  std::unique_ptr<net::AsioTransport> transport_;
  std::unique_ptr<pastry::PastryNode> pastry_;
  std::unique_ptr<past::PastNode> past_;
  std::unique_ptr<scribe::ScribeNode> scribe_;
  std::unique_ptr<services::UserDirectory> directory_;
  std::unique_ptr<services::PresenceAnnouncer> presence_;
  std::unique_ptr<services::NotificationService> notifications_;
  std::unique_ptr<ServedUsers> served_users_;
  std::unique_ptr<services::SecureStore> secure_store_;  // for plugins
  std::unique_ptr<PluginServices> plugin_services_;      // the POST services plugins call
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<AdminServer> admin_server_;
  std::unique_ptr<PluginHost> plugins_;  // node.yaml's plugins:
  boost::asio::signal_set signals_;
  net::Duration join_retry_;
  bool stopping_ = false;
};

}  // namespace post::daemon
