#include "host/net/asio_transport.h"

#include <array>
#include <deque>
#include <map>

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/net/errors.h"
#include "host/net/proto/link.pb.h"

namespace post::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("net");
  return l;
}

tcp::endpoint to_endpoint(const Address& a) {
  if (a.is_v4()) return {asio::ip::address_v4(a.v4_host_order()), a.port};
  asio::ip::address_v6::bytes_type b;
  std::copy(a.ip.begin(), a.ip.end(), b.begin());
  return {asio::ip::address_v6(b), a.port};
}

Address to_address(const tcp::endpoint& e) {
  auto ip = e.address();
  if (ip.is_v4()) return Address::v4(ip.to_v4().to_uint(), e.port());
  if (ip.to_v6().is_v4_mapped()) {
    return Address::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6()).to_uint(),
                       e.port());
  }
  Address a;
  auto b = ip.to_v6().to_bytes();
  std::copy(b.begin(), b.end(), a.ip.begin());
  a.port = e.port();
  return a;
}

Bytes link_frame_bytes(const proto::LinkFrame& f) {
  return wire::encode_frame(wire::encode_message(f));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Connection: one TCP link, from connect/accept through handshake to close.
// ---------------------------------------------------------------------------------------
class AsioTransport::Connection : public std::enable_shared_from_this<Connection> {
 public:
  // An outgoing link dials `dial`, and refuses a peer other than `expected` when given.
  Connection(AsioTransport& transport, tcp::socket socket, bool outgoing,
             std::optional<Address> dial, std::optional<Id> expected)
      : transport_(&transport),
        socket_(std::move(socket)),
        outgoing_(outgoing),
        decoder_(kMaxHandshakeFrameBytes),
        handshake_timer_(transport.io_),
        idle_timer_(transport.io_),
        handshake_(outgoing ? LinkHandshake::Role::kInitiator : LinkHandshake::Role::kResponder,
                   transport.identity_, transport.options_.wall_clock(), expected) {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (!ec) remote_ = to_address(remote);
    if (dial) remote_ = *dial;
    if (expected) who_ = expected->short_hex() + "@";
    who_ += remote_.to_string();
  }

  // Calls `done` with the peer's handle once the link is authenticated, or with the error
  // that closed it first.
  void on_authenticated(std::function<void(Result<NodeHandle>)> done) {
    waiters_.push_back(std::move(done));
  }

  bool outgoing() const { return outgoing_; }
  bool established() const { return established_; }
  bool closed() const { return closed_; }
  const LinkPeer& peer() const { return handshake_.peer(); }
  std::size_t queued_bytes() const { return queued_bytes_; }
  std::uint64_t frames_in() const { return frames_in_; }
  std::uint64_t frames_out() const { return frames_out_; }
  // Who this link is with, for log lines, before and after authentication.
  std::string who() const { return established_ ? peer().handle.to_string() : who_; }
  const Address& remote() const { return remote_; }

  void start_outgoing() {
    arm_handshake_timer(transport_->options_.connect_timeout +
                        transport_->options_.handshake_timeout);
    auto self = shared_from_this();
    socket_.async_connect(to_endpoint(remote_), [self](const boost::system::error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        self->close("cannot connect: " + ec.message(), /*graceful=*/false);
        return;
      }
      boost::system::error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->hello_sent_ = self->transport_->clock_now();
      self->write_raw(wire::encode_frame(self->handshake_.start()));
      self->read_more();
    });
  }

  void start_incoming() {
    arm_handshake_timer(transport_->options_.handshake_timeout);
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    read_more();
  }

  // Queues a LinkFrame for the peer. Before authentication, frames wait and are written once
  // the handshake completes. Refuses when the queue is full.
  Status enqueue(const proto::LinkFrame& frame) {
    Bytes bytes = link_frame_bytes(frame);
    if (queued_bytes_ + bytes.size() > transport_->options_.send_queue_bytes) {
      return make_error(NetErrc::kQueueFull, "send queue to " + who() + " holds " +
                                                 std::to_string(queued_bytes_) + " bytes");
    }
    if (established_) {
      write_raw(std::move(bytes));
    } else {
      queued_bytes_ += bytes.size();
      held_.push_back(std::move(bytes));
    }
    return ok_status();
  }

  void ping(std::function<void(Result<Duration>)> done) {
    std::uint64_t nonce = next_ping_++;
    auto timer = std::make_unique<asio::steady_timer>(transport_->io_);
    timer->expires_after(transport_->options_.ping_timeout);
    auto self = shared_from_this();
    timer->async_wait([self, nonce](const boost::system::error_code& ec) {
      if (ec) return;
      self->finish_ping(nonce, make_error(NetErrc::kTimeout, "no pong from " + self->who()));
    });
    pings_[nonce] = PendingPing{Duration::zero(), std::move(done), std::move(timer)};
    proto::LinkFrame frame;
    frame.mutable_ping()->set_nonce(nonce);
    if (established_) pings_[nonce].sent = transport_->clock_now();
    auto status = enqueue(frame);
    if (!status.ok()) finish_ping(nonce, std::move(status).error());
  }

  // Closes the link. `graceful` first writes a Goodbye and what is queued.
  void close(const std::string& reason, bool graceful) {
    if (closed_ || closing_) return;
    if (graceful && socket_.is_open() && established_) {
      closing_ = true;
      close_reason_ = reason;
      proto::LinkFrame bye;
      bye.mutable_goodbye()->set_reason(reason);
      write_raw(link_frame_bytes(bye));
      // Do not wait forever for a slow peer to take the queue.
      handshake_timer_.expires_after(std::chrono::seconds(2));
      auto self = shared_from_this();
      handshake_timer_.async_wait([self](const boost::system::error_code& ec) {
        if (!ec) self->finish_close();
      });
      return;
    }
    close_reason_ = reason;
    finish_close();
  }

  // Forgets the transport (it is being destroyed) and closes without calling back.
  void detach() {
    transport_ = nullptr;
    finish_close();
  }

 private:
  struct PendingPing {
    Duration sent;
    std::function<void(Result<Duration>)> done;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void arm_handshake_timer(Duration d) {
    handshake_timer_.expires_after(d);
    auto self = shared_from_this();
    handshake_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->established_ || self->closed_) return;
      if (self->transport_) self->transport_->stats_.handshakes_failed++;
      self->close("handshake timed out", false);
    });
  }

  // Closes the link when nothing was read or written for the configured idle timeout.
  void arm_idle_timer() {
    Duration idle = transport_->options_.idle_timeout;
    if (idle <= Duration::zero()) return;
    idle_timer_.expires_after(idle / 2);
    auto self = shared_from_this();
    idle_timer_.async_wait([self, idle](const boost::system::error_code& ec) {
      if (ec || self->closed_ || !self->transport_) return;
      if (self->transport_->clock_now() - self->last_activity_ >= idle) {
        self->close("idle for " + std::to_string(to_seconds(idle)) + " s", true);
        return;
      }
      self->arm_idle_timer();
    });
  }

  void read_more() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self](const boost::system::error_code& ec, std::size_t n) {
                              if (self->closed_) return;
                              if (ec) {
                                self->close(ec == asio::error::eof ? "peer closed the connection"
                                                                   : "read failed: " + ec.message(),
                                            false);
                                return;
                              }
                              if (self->transport_)
                                self->last_activity_ = self->transport_->clock_now();
                              self->decoder_.feed(ByteView(self->read_buffer_.data(), n));
                              self->drain_frames();
                              if (!self->closed_) self->read_more();
                            });
  }

  void drain_frames() {
    while (!closed_ && transport_) {
      auto next = decoder_.next();
      if (!next.ok()) {
        transport_->stats_.frames_refused++;
        if (!established_) transport_->stats_.handshakes_failed++;
        refuse("bad frame: " + next.error().to_string());
        return;
      }
      if (!next->has_value()) return;
      frames_in_++;
      if (!established_) {
        on_handshake_frame(**next);
      } else {
        on_link_frame(**next);
      }
    }
  }

  // Logs why the peer is refused, and closes without further ado.
  void refuse(const std::string& why) {
    logger()->warn("refused link {} {}: {}", outgoing_ ? "to" : "from", who(), why);
    close(why, false);
  }

  void on_handshake_frame(const Bytes& body) {
    auto step = handshake_.on_frame(body);
    if (!step.ok()) {
      transport_->stats_.handshakes_failed++;
      refuse(step.error().to_string());
      return;
    }
    if (step->reply) write_raw(wire::encode_frame(*step->reply));
    if (!step->complete) return;
    established_ = true;
    handshake_timer_.cancel();
    decoder_.set_max_frame_bytes(wire::kMaxFrameBytes);
    if (outgoing_) transport_->note_rtt(peer().handle, transport_->clock_now() - hello_sent_);
    auto self = shared_from_this();
    transport_->on_established(self);
    if (closed_) return;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) w(peer().handle);
    if (closed_ || !transport_) return;
    arm_idle_timer();
    // Frames queued while the link was being authenticated go out now, in order.
    auto held = std::move(held_);
    held_.clear();
    for (auto& b : held) {
      queued_bytes_ -= b.size();  // write_raw counts it again
      write_raw(std::move(b));
    }
    for (auto& [nonce, p] : pings_) {
      if (p.sent == Duration::zero()) p.sent = transport_->clock_now();
    }
  }

  void on_link_frame(const Bytes& body) {
    auto frame = wire::decode_message<proto::LinkFrame>(body, "link frame");
    if (!frame.ok()) {
      transport_->stats_.frames_refused++;
      refuse(frame.error().to_string());
      return;
    }
    switch (frame->kind_case()) {
      case proto::LinkFrame::kData:
        transport_->deliver(peer().handle, frame->data().channel(),
                            as_bytes(frame->data().payload()));
        return;
      case proto::LinkFrame::kPing: {
        proto::LinkFrame pong;
        pong.mutable_pong()->set_nonce(frame->ping().nonce());
        write_raw(link_frame_bytes(pong));
        return;
      }
      case proto::LinkFrame::kPong: {
        auto it = pings_.find(frame->pong().nonce());
        if (it == pings_.end()) return;  // late answer to a ping that timed out
        Duration rtt = transport_->clock_now() - it->second.sent;
        transport_->note_rtt(peer().handle, rtt);
        finish_ping(frame->pong().nonce(), rtt);
        return;
      }
      case proto::LinkFrame::kGoodbye:
        logger()->info("link to {} closed by peer: {}", who(), frame->goodbye().reason());
        close("peer said goodbye", false);
        return;
      default:
        transport_->stats_.frames_refused++;
        refuse("unexpected handshake message on an established link");
        return;
    }
  }

  void finish_ping(std::uint64_t nonce, Result<Duration> result) {
    auto it = pings_.find(nonce);
    if (it == pings_.end()) return;
    auto done = std::move(it->second.done);
    it->second.timer->cancel();
    pings_.erase(it);
    done(std::move(result));
  }

  void write_raw(Bytes bytes) {
    if (closed_) return;
    queued_bytes_ += bytes.size();
    write_queue_.push_back(std::move(bytes));
    if (!writing_) write_next();
  }

  void write_next() {
    if (write_queue_.empty()) {
      writing_ = false;
      if (closing_) finish_close();
      return;
    }
    writing_ = true;
    // Gather what is queued into one write.
    std::vector<asio::const_buffer> buffers;
    std::size_t count = std::min<std::size_t>(write_queue_.size(), 64);
    for (std::size_t i = 0; i < count; ++i) buffers.emplace_back(asio::buffer(write_queue_[i]));
    auto self = shared_from_this();
    asio::async_write(socket_, buffers,
                      [self, count](const boost::system::error_code& ec, std::size_t) {
                        if (self->closed_) return;
                        if (ec) {
                          self->close("write failed: " + ec.message(), false);
                          return;
                        }
                        if (self->transport_) self->last_activity_ = self->transport_->clock_now();
                        for (std::size_t i = 0; i < count; ++i) {
                          self->queued_bytes_ -= self->write_queue_.front().size();
                          self->write_queue_.pop_front();
                          self->frames_out_++;
                        }
                        self->write_next();
                      });
  }

  void finish_close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    handshake_timer_.cancel();
    idle_timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto pings = std::move(pings_);
    pings_.clear();
    for (auto& [nonce, p] : pings) {
      p.timer->cancel();
      if (transport_) p.done(make_error(NetErrc::kUnreachable, who() + ": " + close_reason_));
    }
    auto waiters = std::move(waiters_);
    waiters_.clear();
    if (transport_) {
      for (auto& w : waiters) w(make_error(NetErrc::kUnreachable, who() + ": " + close_reason_));
      logger()->debug("link {} {} closed: {}", outgoing_ ? "to" : "from", who(), close_reason_);
      transport_->on_closed(shared_from_this(), /*report_down=*/true);
    }
  }

  AsioTransport* transport_;
  tcp::socket socket_;
  bool outgoing_;
  Address remote_;
  std::string who_;
  wire::FrameDecoder decoder_;
  asio::steady_timer handshake_timer_;
  asio::steady_timer idle_timer_;
  LinkHandshake handshake_;
  Duration last_activity_{};
  std::vector<std::function<void(Result<NodeHandle>)>> waiters_;
  Duration hello_sent_{};
  bool established_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::string close_reason_;
  std::array<std::uint8_t, 64 * 1024> read_buffer_;
  std::deque<Bytes> write_queue_;
  std::vector<Bytes> held_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::uint64_t next_ping_ = 1;
  std::map<std::uint64_t, PendingPing> pings_;
  std::uint64_t frames_in_ = 0;
  std::uint64_t frames_out_ = 0;
};

// ---------------------------------------------------------------------------------------
// AsioTransport
// ---------------------------------------------------------------------------------------

AsioTransport::AsioTransport(asio::io_context& io, LinkIdentity identity,
                             AsioTransportOptions options)
    : io_(io),
      identity_(std::move(identity)),
      options_(std::move(options)),
      local_{identity_.certificate.node_id, identity_.listen_address},
      acceptor_(io) {}

AsioTransport::~AsioTransport() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  auto pending = std::move(pending_);
  for (auto& c : pending) c->detach();
  auto peers = std::move(peers_);
  for (auto& [id, p] : peers) {
    if (p.primary) p.primary->detach();
    for (auto& c : p.others) c->detach();
  }
}

Duration AsioTransport::clock_now() const {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch());
}

Status AsioTransport::start() {
  boost::system::error_code ec;
  Address bind = options_.bind_address.value_or(identity_.listen_address);
  auto endpoint = to_endpoint(bind);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(NetErrc::kUnreachable,
                      "cannot listen on " + bind.to_string() + ": " + ec.message());
  }
  if (identity_.listen_address.port == 0 && !options_.bind_address) {
    identity_.listen_address.port = acceptor_.local_endpoint().port();
    local_.address = identity_.listen_address;
  }
  logger()->info("node {} listening on {}", local_.id.short_hex(), local_.address.to_string());
  accept_next();
  return ok_status();
}

void AsioTransport::accept_next() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) {
      if (open_links() >= options_.max_links) {
        stats_.links_refused_full++;
        boost::system::error_code ep_ec;
        auto remote = socket.remote_endpoint(ep_ec);
        logger()->warn("refused link from {}: {} links open (max_links)",
                       ep_ec ? std::string("?") : to_address(remote).to_string(), open_links());
        socket.close();
      } else {
        stats_.links_accepted++;
        auto c = std::make_shared<Connection>(*this, std::move(socket), false, std::nullopt,
                                              std::nullopt);
        pending_.push_back(c);
        c->start_incoming();
      }
    } else {
      logger()->warn("accept failed: {}", ec.message());
    }
    accept_next();
  });
}

std::size_t AsioTransport::open_links() const {
  std::size_t n = pending_.size();
  for (const auto& [id, p] : peers_) n += (p.primary ? 1 : 0) + p.others.size();
  return n;
}

void AsioTransport::shutdown(bool graceful) {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::vector<std::shared_ptr<Connection>> all = pending_;
  for (auto& [id, p] : peers_) {
    if (p.primary) all.push_back(p.primary);
    all.insert(all.end(), p.others.begin(), p.others.end());
  }
  for (auto& c : all) c->close("node shutting down", graceful);
}

void AsioTransport::set_handler(Channel channel, MessageHandler* handler) {
  auto key = static_cast<std::uint16_t>(channel);
  if (handler) {
    handlers_[key] = handler;
  } else {
    handlers_.erase(key);
  }
}

std::shared_ptr<AsioTransport::Connection> AsioTransport::primary_for(const NodeHandle& to) {
  Peer& p = peers_[to.id];
  if (p.primary && !p.primary->closed()) return p.primary;
  for (auto it = p.others.begin(); it != p.others.end(); ++it) {
    if ((*it)->established()) {
      p.primary = *it;
      p.others.erase(it);
      return p.primary;
    }
  }
  if (stopping_) return nullptr;
  if (open_links() >= options_.max_links) return nullptr;
  stats_.links_dialled++;
  auto c = std::make_shared<Connection>(*this, tcp::socket(io_), true, to.address, to.id);
  p.primary = c;
  c->start_outgoing();
  return c;
}

Status AsioTransport::send(const NodeHandle& to, Channel channel, Bytes payload) {
  if (payload.size() > kMaxPayloadBytes) {
    return make_error(NetErrc::kTooLarge, std::to_string(payload.size()) + " bytes for " +
                                              to.to_string() + " > limit of " +
                                              std::to_string(kMaxPayloadBytes));
  }
  if (to.id == local_.id) {
    return make_error(NetErrc::kUnreachable, "send to self");
  }
  auto c = primary_for(to);
  if (!c)
    return make_error(NetErrc::kUnreachable, "no link to " + to.to_string() + " possible now");
  proto::LinkFrame frame;
  auto* data = frame.mutable_data();
  data->set_channel(static_cast<std::uint32_t>(channel));
  data->set_payload(payload.data(), payload.size());
  return c->enqueue(frame);
}

void AsioTransport::ping(const NodeHandle& to, std::function<void(Result<Duration>)> done) {
  auto c = to.id == local_.id ? nullptr : primary_for(to);
  if (!c) {
    asio::post(io_, [done = std::move(done), to] {
      done(make_error(NetErrc::kUnreachable, "cannot ping " + to.to_string()));
    });
    return;
  }
  c->ping(std::move(done));
}

std::optional<Duration> AsioTransport::rtt(const NodeHandle& to) const {
  auto it = rtts_.find(to.id);
  // Only a measurement of this very handle counts: a gossiped handle that pairs a known id
  // with another address has not been verified by a handshake.
  if (it == rtts_.end() || it->second.first != to.address) return std::nullopt;
  return it->second.second;
}

void AsioTransport::note_rtt(const NodeHandle& peer, Duration rtt) {
  rtts_[peer.id] = {peer.address, rtt};
}

void AsioTransport::connect(const Address& address, std::function<void(Result<NodeHandle>)> done) {
  for (const auto& [id, p] : peers_) {
    if (p.primary && p.primary->established() && p.primary->peer().handle.address == address) {
      asio::post(io_, [done = std::move(done), h = p.primary->peer().handle] { done(h); });
      return;
    }
  }
  if (stopping_ || open_links() >= options_.max_links) {
    asio::post(io_, [done = std::move(done), address] {
      done(make_error(NetErrc::kUnreachable,
                      "cannot open a link to " + address.to_string() + " now"));
    });
    return;
  }
  stats_.links_dialled++;
  auto c = std::make_shared<Connection>(*this, tcp::socket(io_), true, address, std::nullopt);
  pending_.push_back(c);
  c->on_authenticated(std::move(done));
  c->start_outgoing();
}

void AsioTransport::set_link_observer(std::function<void(const NodeHandle&, bool up)> observer) {
  link_observer_ = std::move(observer);
}

void AsioTransport::on_established(const std::shared_ptr<Connection>& c) {
  std::erase(pending_, c);
  const NodeHandle& peer = c->peer().handle;
  Peer& p = peers_[peer.id];
  if (!p.primary || p.primary->closed()) {
    p.primary = c;
  } else if (p.primary != c) {
    p.others.push_back(c);
  }
  logger()->info("link {} {} authenticated", c->outgoing() ? "to" : "from", peer.to_string());
  if (link_observer_) link_observer_(peer, true);
}

void AsioTransport::on_closed(const std::shared_ptr<Connection>& c, bool report_down) {
  std::erase(pending_, c);
  std::optional<NodeHandle> lost;
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    Peer& p = it->second;
    if (p.primary == c) {
      p.primary = nullptr;
      lost = c->established() ? c->peer().handle : NodeHandle{it->first, c->remote()};
    }
    std::erase(p.others, c);
    if (!p.primary && p.others.empty()) {
      peers_.erase(it);
      break;
    }
    if (lost) break;
  }
  if (c->established() && link_observer_) link_observer_(c->peer().handle, false);
  if (report_down && lost && !stopping_) {
    // Copy: a handler may register or unregister others while we iterate.
    std::vector<MessageHandler*> hs;
    for (auto& [ch, h] : handlers_) hs.push_back(h);
    for (auto* h : hs) h->on_link_down(*lost);
  }
}

void AsioTransport::deliver(const NodeHandle& from, std::uint32_t channel, ByteView payload) {
  auto it = handlers_.find(static_cast<std::uint16_t>(channel));
  if (it == handlers_.end()) {
    stats_.messages_dropped_no_handler++;
    logger()->debug("dropped message from {} on channel {}: no handler", from.to_string(), channel);
    return;
  }
  stats_.messages_delivered++;
  it->second->on_message(from, payload);
}

std::vector<LinkInfo> AsioTransport::links() const {
  std::vector<LinkInfo> out;
  for (const auto& [id, p] : peers_) {
    auto add = [&](const std::shared_ptr<Connection>& c) {
      if (!c || !c->established()) return;
      out.push_back(LinkInfo{c->peer().handle, c->outgoing(), rtt(c->peer().handle),
                             c->queued_bytes(), c->frames_in(), c->frames_out()});
    };
    add(p.primary);
    for (const auto& c : p.others) add(c);
  }
  return out;
}

}  // namespace post::net
