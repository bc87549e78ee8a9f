// LinkHandshake: the sans-I/O state machine that authenticates a new link. Each side
// shows its node certificate, signed by the CA both trust, and signs a transcript that
// contains the other side's fresh nonce, so a recorded handshake cannot be replayed.
//
//   initiator                                responder
//   Hello{cert_i, nonce_i, listen_i}   ->
//                                      <-    HelloReply{cert_r, nonce_r, listen_r, sig_r}
//   HelloFinish{sig_i}                 ->
//
// sig_r = Sign_r(transcript("responder")), sig_i = Sign_i(transcript("initiator")), where
// transcript(role) = "post-link-v1/" role || len-prefixed(nonce_i, nonce_r, cert_i, cert_r,
// listen_i, listen_r). docs/protocol/framing.md is the specification.
#pragma once

#include <cstdint>
#include <optional>

#include "host/core/bytes.h"
#include "host/core/certificate.h"
#include "host/core/result.h"
#include "host/net/address.h"

namespace post::net {

inline constexpr std::uint32_t kLinkProtocolVersion = 1;
inline constexpr std::size_t kHandshakeNonceBytes = 32;
// Handshake frames hold a certificate and a few small fields; anything bigger is refused
// before it is buffered.
inline constexpr std::size_t kMaxHandshakeFrameBytes = 16 * 1024;

// What a node presents about itself on every link.
struct LinkIdentity {
  NodeCertificate certificate;
  Bytes signing_key;       // Ed25519 seed matching certificate.public_key
  CaCertificate ca;        // the trust anchor peers must chain to
  Address listen_address;  // where this node accepts links (what peers store as its handle)
};

// The authenticated peer at the end of a successful handshake.
struct LinkPeer {
  NodeCertificate certificate;
  NodeHandle handle;  // certificate's nodeId + the listen address it signed
};

class LinkHandshake {
 public:
  enum class Role { kInitiator, kResponder };

  // `now` (unix seconds) is when certificates must be valid. An initiator that dials a
  // known node passes its expected nodeId; a peer showing another id is refused.
  LinkHandshake(Role role, const LinkIdentity& self, std::int64_t now,
                std::optional<Id> expected_peer = std::nullopt);

  // Initiator only: the Hello frame body to send first.
  Bytes start();

  struct Step {
    std::optional<Bytes> reply;  // frame body to send, if any
    bool complete = false;       // the peer is authenticated; peer() is valid
  };

  // Consumes one received frame body. An error means the link must be closed; the error
  // says why (bad certificate, wrong CA, bad signature, unexpected message...). Once an
  // error was returned, every later call returns an error too.
  Result<Step> on_frame(ByteView body);

  bool complete() const { return state_ == State::kComplete; }
  // Only valid when complete().
  const LinkPeer& peer() const { return peer_; }

 private:
  enum class State { kStart, kAwaitHello, kAwaitReply, kAwaitFinish, kComplete, kFailed };

  Result<Step> fail(Error e);
  Result<Step> on_hello(ByteView body);
  Result<Step> on_reply(ByteView body);
  Result<Step> on_finish(ByteView body);
  Result<LinkPeer> check_peer(const std::string& certificate, const std::string& listen);
  Bytes transcript(std::string_view role) const;

  const LinkIdentity& self_;
  std::int64_t now_;
  std::optional<Id> expected_peer_;
  State state_;
  Bytes nonce_i_, nonce_r_;
  std::string cert_i_, cert_r_, listen_i_, listen_r_;
  LinkPeer peer_;
};

}  // namespace post::net
