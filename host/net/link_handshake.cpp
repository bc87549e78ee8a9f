#include "host/net/link_handshake.h"

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/net/errors.h"
#include "host/net/proto/link.pb.h"

namespace post::net {
namespace {

void append_length_prefixed(Bytes& out, ByteView field) {
  auto n = static_cast<std::uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  append(out, field);
}

Error handshake_error(const std::string& why) {
  return make_error(NetErrc::kHandshakeFailed, why);
}

}  // namespace

LinkHandshake::LinkHandshake(Role role, const LinkIdentity& self, std::int64_t now,
                             std::optional<Id> expected_peer)
    : self_(self),
      now_(now),
      expected_peer_(expected_peer),
      state_(role == Role::kInitiator ? State::kStart : State::kAwaitHello) {}

Bytes LinkHandshake::start() {
  nonce_i_ = crypto::random_bytes(kHandshakeNonceBytes);
  cert_i_ = to_string(self_.certificate.encoded);
  listen_i_ = self_.listen_address.to_string();
  proto::LinkFrame frame;
  auto* hello = frame.mutable_hello();
  hello->set_protocol_version(kLinkProtocolVersion);
  hello->set_certificate(cert_i_);
  hello->set_nonce(to_string(nonce_i_));
  hello->set_listen_address(listen_i_);
  state_ = State::kAwaitReply;
  return wire::encode_message(frame);
}

Result<LinkHandshake::Step> LinkHandshake::fail(Error e) {
  state_ = State::kFailed;
  return e;
}

Result<LinkHandshake::Step> LinkHandshake::on_frame(ByteView body) {
  switch (state_) {
    case State::kAwaitHello: return on_hello(body);
    case State::kAwaitReply: return on_reply(body);
    case State::kAwaitFinish: return on_finish(body);
    case State::kStart: return fail(handshake_error("frame received before the handshake started"));
    case State::kComplete:
      return fail(make_error(NetErrc::kProtocolViolation, "handshake frame after completion"));
    case State::kFailed: break;
  }
  return handshake_error("handshake already failed");
}

Result<LinkPeer> LinkHandshake::check_peer(const std::string& certificate,
                                           const std::string& listen) {
  auto cert = verify_node_certificate(as_bytes(certificate), self_.ca, now_);
  if (!cert.ok()) return handshake_error("peer certificate refused: " + cert.error().to_string());
  if (cert->node_id == self_.certificate.node_id) {
    return handshake_error("peer shows this node's own id " + cert->node_id.short_hex());
  }
  if (expected_peer_ && cert->node_id != *expected_peer_) {
    return handshake_error("expected node " + expected_peer_->short_hex() + ", peer is " +
                           cert->node_id.short_hex());
  }
  auto address = Address::parse(listen);
  if (!address.ok()) return handshake_error("peer listen address: " + address.error().message);
  NodeHandle handle{cert->node_id, *address};
  return LinkPeer{std::move(*cert), handle};
}

Bytes LinkHandshake::transcript(std::string_view role) const {
  constexpr std::string_view kContext = "post-link-v1/";
  Bytes out;
  out.reserve(kContext.size() + role.size() + 6 * 4 + nonce_i_.size() + nonce_r_.size() +
              cert_i_.size() + cert_r_.size() + listen_i_.size() + listen_r_.size());
  append(out, as_bytes(kContext));
  append(out, as_bytes(role));
  append_length_prefixed(out, nonce_i_);
  append_length_prefixed(out, nonce_r_);
  append_length_prefixed(out, as_bytes(cert_i_));
  append_length_prefixed(out, as_bytes(cert_r_));
  append_length_prefixed(out, as_bytes(listen_i_));
  append_length_prefixed(out, as_bytes(listen_r_));
  return out;
}

Result<LinkHandshake::Step> LinkHandshake::on_hello(ByteView body) {
  auto frame = wire::decode_message<proto::LinkFrame>(body, "handshake");
  if (!frame.ok()) return fail(handshake_error(frame.error().message));
  if (!frame->has_hello()) return fail(handshake_error("expected Hello, got another message"));
  const auto& hello = frame->hello();
  if (hello.protocol_version() != kLinkProtocolVersion) {
    return fail(handshake_error("link protocol version " +
                                std::to_string(hello.protocol_version()) + " is not supported"));
  }
  if (hello.nonce().size() != kHandshakeNonceBytes) {
    return fail(handshake_error("Hello nonce is not 32 bytes"));
  }
  auto peer = check_peer(hello.certificate(), hello.listen_address());
  if (!peer.ok()) return fail(std::move(peer).error());
  peer_ = std::move(*peer);
  nonce_i_ = to_bytes(hello.nonce());
  cert_i_ = hello.certificate();
  listen_i_ = hello.listen_address();
  nonce_r_ = crypto::random_bytes(kHandshakeNonceBytes);
  cert_r_ = to_string(self_.certificate.encoded);
  listen_r_ = self_.listen_address.to_string();
  auto signature = crypto::sign(self_.signing_key, transcript("responder"));
  if (!signature.ok()) return fail(std::move(signature).error());

  proto::LinkFrame reply;
  auto* r = reply.mutable_hello_reply();
  r->set_protocol_version(kLinkProtocolVersion);
  r->set_certificate(cert_r_);
  r->set_nonce(to_string(nonce_r_));
  r->set_listen_address(listen_r_);
  r->set_signature(to_string(*signature));
  state_ = State::kAwaitFinish;
  return Step{wire::encode_message(reply), false};
}

Result<LinkHandshake::Step> LinkHandshake::on_reply(ByteView body) {
  auto frame = wire::decode_message<proto::LinkFrame>(body, "handshake");
  if (!frame.ok()) return fail(handshake_error(frame.error().message));
  if (!frame->has_hello_reply()) {
    return fail(handshake_error("expected HelloReply, got another message"));
  }
  const auto& reply = frame->hello_reply();
  if (reply.protocol_version() != kLinkProtocolVersion) {
    return fail(handshake_error("link protocol version " +
                                std::to_string(reply.protocol_version()) + " is not supported"));
  }
  if (reply.nonce().size() != kHandshakeNonceBytes) {
    return fail(handshake_error("HelloReply nonce is not 32 bytes"));
  }
  auto peer = check_peer(reply.certificate(), reply.listen_address());
  if (!peer.ok()) return fail(std::move(peer).error());
  nonce_r_ = to_bytes(reply.nonce());
  cert_r_ = reply.certificate();
  listen_r_ = reply.listen_address();
  if (!crypto::verify(peer->certificate.public_key, transcript("responder"),
                      as_bytes(reply.signature()))) {
    return fail(handshake_error("responder's transcript signature does not verify"));
  }
  peer_ = std::move(*peer);
  auto signature = crypto::sign(self_.signing_key, transcript("initiator"));
  if (!signature.ok()) return fail(std::move(signature).error());
  proto::LinkFrame finish;
  finish.mutable_hello_finish()->set_signature(to_string(*signature));
  state_ = State::kComplete;
  return Step{wire::encode_message(finish), true};
}

Result<LinkHandshake::Step> LinkHandshake::on_finish(ByteView body) {
  auto frame = wire::decode_message<proto::LinkFrame>(body, "handshake");
  if (!frame.ok()) return fail(handshake_error(frame.error().message));
  if (!frame->has_hello_finish()) {
    return fail(handshake_error("expected HelloFinish, got another message"));
  }
  if (!crypto::verify(peer_.certificate.public_key, transcript("initiator"),
                      as_bytes(frame->hello_finish().signature()))) {
    return fail(handshake_error("initiator's transcript signature does not verify"));
  }
  state_ = State::kComplete;
  return Step{std::nullopt, true};
}

}  // namespace post::net
