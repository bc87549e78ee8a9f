// AdminServer: postd's admin endpoint, which postctl talks to. A TCP listener on the
// configured admin address; each connection carries framed AdminRequests (host/core/frame.h
// framing, one request per frame) and gets one framed AdminResponse per request, in the order
// the requests came, however late their answers are ready. What the answers say is up to an
// AdminHandler, so the server is tested without a node.
//
// Threading: every method must be called on the thread that runs the io_context given to the
// constructor, and the handler is called there too.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/daemon/proto/admin.pb.h"
#include "host/net/address.h"
#include "host/net/clock.h"

namespace post::daemon {

// The largest admin request: a put of one whole block's payload plus room for the message.
// A bigger frame is a mistake or an attack, refused as soon as its header arrives. (The
// endpoint listens on loopback only.)
inline constexpr std::size_t kMaxAdminRequestBytes = 4 * 1024 * 1024 + 64 * 1024;

// Answers admin requests. handle() may answer at once or later (a lookup crosses the
// network); it calls `reply` exactly once, on the node's executor. Calls after the client has
// gone are harmless. The server fills in the response's request_id.
class AdminHandler {
 public:
  virtual ~AdminHandler() = default;
  virtual void handle(const proto::admin::AdminRequest& request,
                      std::function<void(proto::admin::AdminResponse)> reply) = 0;
};

// Decodes the body of one request frame. Refuses bytes that are not an AdminRequest
// (CoreErrc::kDecodeFailed) or longer than kMaxAdminRequestBytes; a request of a kind this
// build does not know decodes with kind() unset, and the server answers it with an Error.
Result<proto::admin::AdminRequest> decode_admin_request(ByteView body);

// The key a lookup request names: its 32 raw bytes or its 64 hex characters (either case).
// Anything else is refused with a message that shows the key (cut short and made printable)
// and says what a key must be.
Result<Id> parse_lookup_key(const proto::admin::LookupRequest& request);
// The same for the handle of a get.
Result<Id> parse_get_handle(const proto::admin::GetRequest& request);
// The id of a Scribe group: SHA-256 of its name, or its id given as bytes or hex (checked as
// lookup keys are). An empty name or no group at all is refused.
Result<Id> parse_group(const proto::admin::GroupRef& group);

// An AdminResponse carrying only Error{message}.
proto::admin::AdminResponse admin_error(std::string message);

struct AdminServerOptions {
  // A connection with no request in flight and no bytes received for this long is closed.
  net::Duration idle_timeout = std::chrono::seconds(60);
  // A request the handler has not answered by then gets an Error answer from the server, so a
  // lost answer cannot stall the connection. Longer than Pastry's lookup timeout (30 s).
  net::Duration request_timeout = std::chrono::seconds(45);
  // Connections open at once; more are closed on accept. Operators run a handful of postctl
  // processes, never hundreds.
  std::size_t max_connections = 32;
  // Requests one connection may have unanswered or unsent; reading from it pauses at this
  // many, so a client that never reads cannot make the node buffer without bound.
  std::size_t max_pipelined = 16;
};

// What the server refused or served, for tests and operators.
struct AdminServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused_full = 0;
  std::uint64_t connections_refused_bad_input = 0;  // garbage, oversized, undecodable
  std::uint64_t connections_idle_closed = 0;
  std::uint64_t requests_answered = 0;
  std::uint64_t requests_timed_out = 0;
};

class AdminServer {
 public:
  // `handler` is not owned and must outlive the server.
  AdminServer(boost::asio::io_context& io, net::Address address, AdminHandler& handler,
              AdminServerOptions options = {});
  // Closes every connection; pending answers are dropped.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds the address and starts accepting. With port 0 the system picks a port, and
  // address() reports it. Fails (CoreErrc::kIoError) with the address and the reason when it
  // cannot be bound, e.g. in use or not local.
  Status start();

  // Stops accepting and closes every connection at once; answers still pending are dropped.
  // Idempotent.
  void stop();

  // The address being listened on (the bound port once started).
  const net::Address& address() const { return address_; }
  std::size_t open_connections() const { return connections_.size(); }
  const AdminServerStats& stats() const { return stats_; }

 private:
  class Connection;
  friend class Connection;

  void accept_next();
  void on_closed(const std::shared_ptr<Connection>& c);

  boost::asio::io_context& io_;
  net::Address address_;
  AdminHandler& handler_;
  AdminServerOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::shared_ptr<char> alive_;  // expires with the server; accept handlers check it
  bool stopped_ = false;
  std::vector<std::shared_ptr<Connection>> connections_;
  AdminServerStats stats_;
};

}  // namespace post::daemon
