// AdminService: what postd's admin endpoint says about the node. It answers each
// AdminRequest from the public state of the node's Pastry, PAST and Scribe layers and
// transport: status, leaf set, routing table, links, lookups routed through the overlay, puts
// and gets of blocks, and Scribe groups. For `subscribe` the endpoint itself becomes a member
// of the group and keeps what it receives (the last kInboxMessages per group) for `received`.
// With the node's ServedUsers it also answers for its users: who they are, notifications sent
// from them and received for them, blocked senders, and the notification counters.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "host/daemon/admin_server.h"
#include "host/daemon/plugin_host.h"
#include "host/daemon/served_users.h"
#include "host/net/asio_transport.h"
#include "host/net/clock.h"
#include "host/past/past_node.h"
#include "host/pastry/pastry_node.h"
#include "host/scribe/scribe_node.h"

namespace post::daemon {

// Facts about the running node that its layers do not hold.
struct AdminServiceInfo {
  std::string version;  // e.g. "postd 0.1.0"
  std::string ring;     // the node certificate's ring; empty for the global ring
  net::Time started{};  // on `clock`: when the node started, for the uptime
};

class AdminService final : public AdminHandler {
 public:
  // Reads `node`, `transport` and `clock` (none owned; all must outlive the service) on the
  // node's executor, whenever a request comes.
  AdminService(pastry::PastryNode& node, past::PastNode& past, past::BlockStore& store,
               scribe::ScribeNode& scribe, net::AsioTransport& transport, net::Clock& clock,
               AdminServiceInfo info);
  ~AdminService() override;

  // The node's users and their notifications, answered from now on; until then (and in
  // tests without them) users, notify, notifications and block get an Error. Not owned; must
  // outlive the service.
  void set_users(ServedUsers* users) { users_ = users; }
  // The node's plugins, for `plugins`, plugin actions and plugin commands (until set, those
  // get an Error). Not owned; must outlive the service.
  void set_plugins(PluginHost* plugins) { plugins_ = plugins; }

  // Messages kept per group for `received`; older ones are discarded.
  static constexpr std::size_t kInboxMessages = 1024;

  // Answers status, leafset, routes and peers at once, and lookup when the overlay has found
  // the key's root (or failed to: then with an Error saying why). A lookup key that is not
  // 32 bytes or 64 hex characters gets an Error naming the key.
  void handle(const proto::admin::AdminRequest& request,
              std::function<void(proto::admin::AdminResponse)> reply) override;

 private:
  proto::admin::AdminResponse status() const;
  proto::admin::AdminResponse leaf_set() const;
  proto::admin::AdminResponse routes() const;
  proto::admin::AdminResponse peers() const;
  void lookup(const proto::admin::LookupRequest& request,
              std::function<void(proto::admin::AdminResponse)> reply);
  void put(const proto::admin::PutRequest& request,
           std::function<void(proto::admin::AdminResponse)> reply);
  void get(const proto::admin::GetRequest& request,
           std::function<void(proto::admin::AdminResponse)> reply);
  void subscribe(const proto::admin::SubscribeRequest& request,
                 std::function<void(proto::admin::AdminResponse)> reply);
  proto::admin::AdminResponse unsubscribe(const proto::admin::UnsubscribeRequest& request);
  proto::admin::AdminResponse publish(const proto::admin::PublishRequest& request);
  proto::admin::AdminResponse received(const proto::admin::ReceivedRequest& request) const;
  void anycast(const proto::admin::AnycastRequest& request,
               std::function<void(proto::admin::AdminResponse)> reply);
  proto::admin::AdminResponse groups() const;
  proto::admin::AdminResponse users() const;
  void notify(const proto::admin::NotifyRequest& request,
              std::function<void(proto::admin::AdminResponse)> reply);
  proto::admin::AdminResponse notifications(
      const proto::admin::NotificationsRequest& request) const;
  proto::admin::AdminResponse block_sender(const proto::admin::BlockSenderRequest& request);
  proto::admin::AdminResponse plugins() const;
  proto::admin::AdminResponse plugin_action(const proto::admin::PluginActionRequest& request);
  void plugin_command(const proto::admin::PluginCommandRequest& request,
                      std::function<void(proto::admin::AdminResponse)> reply);
  // The served user `email`, or an Error answer saying this node does not serve them.
  Result<const LocalUser*> served_user(const std::string& email) const;

  class Inbox;

  pastry::PastryNode& node_;
  past::PastNode& past_;
  past::BlockStore& store_;
  scribe::ScribeNode& scribe_;
  net::AsioTransport& transport_;
  net::Clock& clock_;
  AdminServiceInfo info_;
  // The groups this endpoint subscribed to (ScribeNode holds pointers to these inboxes).
  std::unordered_map<Id, std::unique_ptr<Inbox>> inboxes_;
  ServedUsers* users_ = nullptr;
  PluginHost* plugins_ = nullptr;
};

}  // namespace post::daemon
