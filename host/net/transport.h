// Transport: how protocol code talks to other nodes. Protocol state machines hold a
// Transport& and never touch a socket. Two implementations are interchangeable: the Asio
// TCP transport (authenticated links between real processes) and the simulated network
// (virtual time, thousands of nodes in one process).
//
// Messages are opaque payloads tagged with a Channel naming the protocol they belong to;
// each layer registers a handler for its channel and decodes its own messages. Callbacks
// run on the node's executor, one at a time (see clock.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "host/core/bytes.h"
#include "host/core/result.h"
#include "host/net/address.h"
#include "host/net/clock.h"

namespace post::net {

// Which protocol a payload belongs to. Values are part of the wire format
// (docs/protocol/framing.md); new protocols take new numbers.
enum class Channel : std::uint16_t {
  kPastry = 1,
  kPast = 2,
  kScribe = 3,
  kPost = 4,
  kPlugin = 5,
  kTest = 0x7f00,  // tests and examples only
};

// Largest payload a Transport carries in one message: a 4 MiB block plus room for the
// message around it (PAST splits nothing larger; see docs/protocol/framing.md).
inline constexpr std::size_t kMaxPayloadBytes = 4 * 1024 * 1024 + 64 * 1024;

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  // A message on this handler's channel from `from`, whose nodeId the transport has
  // authenticated (TCP: the peer's certificate; simulation: by construction). `payload` is
  // valid only during the call.
  virtual void on_message(const NodeHandle& from, ByteView payload) = 0;
  // The link to `peer` broke or could not be made; messages sent to it since the last
  // delivery may be lost. Every registered handler hears of it.
  virtual void on_link_down(const NodeHandle& /*peer*/) {}
};

class Transport {
 public:
  virtual ~Transport() = default;

  // This node's own handle.
  virtual const NodeHandle& local() const = 0;

  // Routes messages on `channel` to `handler` (not owned; must outlive its registration).
  // nullptr unregisters. Messages on a channel nobody handles are dropped with a log line.
  virtual void set_handler(Channel channel, MessageHandler* handler) = 0;

  // Queues `payload` for `to`, opening and authenticating a link if there is none.
  // Messages on one link arrive in the order sent; nothing is delivered twice. Returns an
  // error without queuing when the payload is larger than kMaxPayloadBytes
  // (NetErrc::kTooLarge) or the queue to `to` is full (NetErrc::kQueueFull: back-pressure;
  // the caller drops or retries later). A failure after queuing is reported through
  // on_link_down.
  virtual Status send(const NodeHandle& to, Channel channel, Bytes payload) = 0;

  // Measures the round-trip time to `to` and calls `done` once, on the executor, with
  // the RTT or an error (NetErrc::kTimeout, kUnreachable). The measurement also updates
  // rtt(to).
  virtual void ping(const NodeHandle& to, std::function<void(Result<Duration>)> done) = 0;

  // The most recent round-trip time measured to `to`, if any: the proximity metric.
  virtual std::optional<Duration> rtt(const NodeHandle& to) const = 0;

  // Learns who listens at `address` by opening an authenticated link to it: how a node
  // bootstraps from configured addresses. Calls `done` once, on the executor, with the
  // node's handle (its certified nodeId and `address`) or an error (NetErrc::kUnreachable,
  // kHandshakeFailed, kTimeout).
  virtual void connect(const Address& address, std::function<void(Result<NodeHandle>)> done) = 0;
};

}  // namespace post::net
