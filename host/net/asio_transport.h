// AsioTransport: the Transport of a real node. TCP links over Boost.Asio, each
// authenticated by LinkHandshake before it carries anything, framed per
// docs/protocol/framing.md, with a bounded send queue per link.
//
// Threading: every method must be called on the thread that runs the io_context given to
// the constructor (the node's executor), and every callback (message handlers, ping
// completions, the link observer) runs there too.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "host/core/certificate.h"
#include "host/net/link_handshake.h"
#include "host/net/transport.h"

namespace post::net {

struct AsioTransportOptions {
  // Where to listen, when it differs from the address peers are told (the identity's
  // listen_address), e.g. a wildcard address.
  std::optional<Address> bind_address;
  // Bytes that may wait in one link's send queue before send() answers kQueueFull.
  std::size_t send_queue_bytes = 16 * 1024 * 1024;
  Duration connect_timeout = std::chrono::seconds(5);
  // A link that has not completed its handshake by then is closed.
  Duration handshake_timeout = std::chrono::seconds(10);
  Duration ping_timeout = std::chrono::seconds(5);
  // A link with no traffic in either direction for this long is closed; zero never closes.
  Duration idle_timeout = Duration::zero();
  // Most links (authenticated or not) this node keeps open; more incoming ones are refused,
  // so a flood of connections cannot exhaust file descriptors.
  std::size_t max_links = 1024;
  // Source of unix time for certificate validity checks.
  std::function<std::int64_t()> wall_clock = wall_clock_seconds;
};

// One open link, for introspection (postctl, the demo).
struct LinkInfo {
  NodeHandle peer;
  bool outgoing = false;
  std::optional<Duration> rtt;
  std::size_t queued_bytes = 0;
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
};

// Counters of what the transport refused or lost; tests and operators read them.
struct TransportStats {
  std::uint64_t links_accepted = 0;
  std::uint64_t links_dialled = 0;
  std::uint64_t handshakes_failed = 0;
  std::uint64_t frames_refused = 0;  // malformed, oversized or unexpected frames
  std::uint64_t links_refused_full = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t messages_dropped_no_handler = 0;
};

class AsioTransport final : public Transport {
 public:
  AsioTransport(boost::asio::io_context& io, LinkIdentity identity,
                AsioTransportOptions options = {});
  ~AsioTransport() override;
  AsioTransport(const AsioTransport&) = delete;
  AsioTransport& operator=(const AsioTransport&) = delete;

  // Binds identity.listen_address and starts accepting links. With port 0 the system picks
  // a port, and local() reports it. Fails with the bind error (e.g. address in use).
  Status start();

  // Says Goodbye on every link, stops accepting, and closes everything once queued frames
  // are written (or at once when `graceful` is false). Pending pings fail with kClosed.
  void shutdown(bool graceful = true);

  const NodeHandle& local() const override { return local_; }
  void set_handler(Channel channel, MessageHandler* handler) override;
  Status send(const NodeHandle& to, Channel channel, Bytes payload) override;
  void ping(const NodeHandle& to, std::function<void(Result<Duration>)> done) override;
  std::optional<Duration> rtt(const NodeHandle& to) const override;
  void connect(const Address& address, std::function<void(Result<NodeHandle>)> done) override;

  // Called when a link to a peer is authenticated (up = true) or closes (up = false).
  void set_link_observer(std::function<void(const NodeHandle&, bool up)> observer);

  std::vector<LinkInfo> links() const;
  const TransportStats& stats() const { return stats_; }

 private:
  class Connection;
  friend class Connection;

  struct Peer {
    std::shared_ptr<Connection> primary;  // where sends to this peer go, in order
    std::vector<std::shared_ptr<Connection>> others;
  };

  void accept_next();
  std::shared_ptr<Connection> primary_for(const NodeHandle& to);
  void on_established(const std::shared_ptr<Connection>& c);
  void on_closed(const std::shared_ptr<Connection>& c, bool report_down);
  void deliver(const NodeHandle& from, std::uint32_t channel, ByteView payload);
  void note_rtt(const NodeHandle& peer, Duration rtt);
  std::size_t open_links() const;
  Duration clock_now() const;

  boost::asio::io_context& io_;
  LinkIdentity identity_;
  AsioTransportOptions options_;
  NodeHandle local_;
  boost::asio::ip::tcp::acceptor acceptor_;
  bool stopping_ = false;
  std::unordered_map<std::uint16_t, MessageHandler*> handlers_;
  std::unordered_map<Id, Peer> peers_;
  std::vector<std::shared_ptr<Connection>> pending_;  // not yet authenticated
  std::unordered_map<Id, std::pair<Address, Duration>> rtts_;  // by id: where, how far
  std::function<void(const NodeHandle&, bool)> link_observer_;
  TransportStats stats_;
};

}  // namespace post::net
