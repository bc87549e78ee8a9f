#include "host/daemon/admin_server.h"

#include <algorithm>
#include <array>
#include <deque>
#include <exception>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/core/log.h"

namespace post::daemon {

namespace asio = boost::asio;
namespace admin = proto::admin;
using asio::ip::tcp;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("admin");
  return l;
}

tcp::endpoint to_endpoint(const net::Address& a) {
  if (a.is_v4()) return {asio::ip::address_v4(a.v4_host_order()), a.port};
  asio::ip::address_v6::bytes_type b;
  std::copy(a.ip.begin(), a.ip.end(), b.begin());
  return {asio::ip::address_v6(b), a.port};
}

std::string endpoint_text(const tcp::endpoint& e) {
  auto ip = e.address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  }
  return ip.is_v6() ? "[" + ip.to_string() + "]:" + std::to_string(e.port())
                    : ip.to_string() + ":" + std::to_string(e.port());
}

std::string kind_name(const admin::AdminRequest& r) {
  switch (r.kind_case()) {
    case admin::AdminRequest::kStatus: return "status";
    case admin::AdminRequest::kLeafSet: return "leafset";
    case admin::AdminRequest::kRoutes: return "routes";
    case admin::AdminRequest::kPeers: return "peers";
    case admin::AdminRequest::kLookup: return "lookup";
    case admin::AdminRequest::kPut: return "put";
    case admin::AdminRequest::kGet: return "get";
    case admin::AdminRequest::kSubscribe: return "subscribe";
    case admin::AdminRequest::kUnsubscribe: return "unsubscribe";
    case admin::AdminRequest::kPublish: return "publish";
    case admin::AdminRequest::kReceived: return "received";
    case admin::AdminRequest::kAnycast: return "anycast";
    case admin::AdminRequest::kGroups: return "groups";
    case admin::AdminRequest::kUsers: return "users";
    case admin::AdminRequest::kNotify: return "notify";
    case admin::AdminRequest::kNotifications: return "notifications";
    case admin::AdminRequest::kBlockSender: return "block";
    case admin::AdminRequest::kPlugins: return "plugins";
    case admin::AdminRequest::kPluginAction: return "plugin action";
    case admin::AdminRequest::KIND_NOT_SET: break;
  }
  return "unknown";
}

// How much of a malformed lookup key an error message repeats.
constexpr std::size_t kShownKeyChars = 80;
constexpr net::Duration kAcceptRetryDelay = std::chrono::milliseconds(100);

// "0.1 s", "45 s", "1.5 s": durations in error messages and log lines.
std::string seconds_text(net::Duration d) {
  return fmt::format("{:g} s", net::to_seconds(d));
}

net::Duration steady_now() {
  return std::chrono::duration_cast<net::Duration>(
      std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace

Result<admin::AdminRequest> decode_admin_request(ByteView body) {
  if (body.size() > kMaxAdminRequestBytes) {
    return make_error(CoreErrc::kFrameTooLarge, "admin request of " + std::to_string(body.size()) +
                                                    " bytes > limit of " +
                                                    std::to_string(kMaxAdminRequestBytes));
  }
  return wire::decode_message<admin::AdminRequest>(body, "admin request");
}

namespace {

// An id given as 32 bytes or as 64 hex characters; `what` names it in errors ("lookup key").
Result<Id> parse_id(const std::string* bytes, const std::string* hex, std::string_view what) {
  if (bytes != nullptr) {
    auto id = Id::from_bytes(as_bytes(*bytes));
    if (!id.ok()) {
      return Error{id.error().code, std::string(what) + " is " + std::to_string(bytes->size()) +
                                        " bytes; it must be 32 bytes"};
    }
    return id;
  }
  if (hex != nullptr) {
    auto id = Id::from_hex(*hex);
    if (!id.ok()) {
      std::string shown = hex->substr(0, kShownKeyChars);
      for (char& c : shown) {
        if (c < 0x20 || c > 0x7e) c = '?';
      }
      if (shown.size() < hex->size()) shown += "...";
      std::string why = hex->size() == 2 * Id::kBytes
                            ? "it holds a character that is not a hex digit"
                            : "expected 64 hex characters, got " + std::to_string(hex->size());
      return Error{id.error().code, std::string(what) + " '" + shown + "' is not a key: " + why};
    }
    return id;
  }
  return make_error(CoreErrc::kBadLength, "the request names no " + std::string(what));
}

}  // namespace

Result<Id> parse_lookup_key(const admin::LookupRequest& request) {
  return parse_id(request.key_case() == admin::LookupRequest::kId ? &request.id() : nullptr,
                  request.key_case() == admin::LookupRequest::kHex ? &request.hex() : nullptr,
                  "lookup key");
}

Result<Id> parse_get_handle(const admin::GetRequest& request) {
  return parse_id(request.handle_case() == admin::GetRequest::kId ? &request.id() : nullptr,
                  request.handle_case() == admin::GetRequest::kHex ? &request.hex() : nullptr,
                  "block handle");
}

Result<Id> parse_group(const admin::GroupRef& group) {
  if (group.group_case() == admin::GroupRef::kName) {
    if (group.name().empty()) {
      return make_error(CoreErrc::kBadLength, "the group name is empty");
    }
    return Id::hash_of(as_bytes(group.name()));
  }
  return parse_id(group.group_case() == admin::GroupRef::kId ? &group.id() : nullptr,
                  group.group_case() == admin::GroupRef::kHex ? &group.hex() : nullptr,
                  "group");
}

admin::AdminResponse admin_error(std::string message) {
  admin::AdminResponse r;
  r.mutable_error()->set_message(std::move(message));
  return r;
}

// ---------------------------------------------------------------------------------------
// Connection: one admin client. Requests are numbered as they arrive; answers wait in their
// slot until every earlier one has been written, so they leave in request order.
// ---------------------------------------------------------------------------------------
class AdminServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(AdminServer& server, tcp::socket socket)
      : server_(&server),
        options_(server.options_),
        socket_(std::move(socket)),
        decoder_(kMaxAdminRequestBytes),
        idle_timer_(server.io_),
        last_activity_(steady_now()) {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    who_ = ec ? std::string("?") : endpoint_text(remote);
  }

  const std::string& who() const { return who_; }

  void start() {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    arm_idle_timer();
    pump();
  }

  // Forgets the server (it is stopping) and closes at once.
  void detach() {
    server_ = nullptr;
    close("admin endpoint stopping");
  }

 private:
  struct Slot {
    std::uint64_t seq;
    std::uint64_t request_id;
    std::optional<admin::AdminResponse> answer;
    std::unique_ptr<asio::steady_timer> timer;
  };

  std::size_t in_flight() const { return slots_.size() + write_queue_.size(); }

  // Takes complete requests from the decoder while the pipeline has room, then reads more,
  // or closes once a client that finished sending has had every answer.
  void pump() {
    while (!closed_ && server_ && in_flight() < options_.max_pipelined) {
      auto next = decoder_.next();
      if (!next.ok()) {
        refuse("bad frame: " + next.error().to_string());
        return;
      }
      if (!next->has_value()) break;
      auto request = decode_admin_request(**next);
      if (!request.ok()) {
        refuse(request.error().to_string());
        return;
      }
      dispatch(std::move(*request));
    }
    if (closed_ || !server_) return;
    if (eof_) {
      if (in_flight() == 0) close("client closed the connection");
      return;
    }
    if (!reading_ && in_flight() < options_.max_pipelined) read_more();
  }

  void read_more() {
    reading_ = true;
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self](const boost::system::error_code& ec, std::size_t n) {
                              self->reading_ = false;
                              if (self->closed_) return;
                              if (ec == asio::error::eof) {
                                self->eof_ = true;
                              } else if (ec) {
                                self->close("read failed: " + ec.message());
                                return;
                              } else {
                                self->last_activity_ = steady_now();
                                self->decoder_.feed(ByteView(self->read_buffer_.data(), n));
                              }
                              self->pump();
                            });
  }

  void dispatch(admin::AdminRequest request) {
    std::uint64_t seq = next_seq_++;
    auto timer = std::make_unique<asio::steady_timer>(server_->io_);
    timer->expires_after(options_.request_timeout);
    std::weak_ptr<Connection> weak = weak_from_this();
    timer->async_wait([weak, seq](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_request_timeout(seq);
    });
    slots_.push_back(Slot{seq, request.request_id(), std::nullopt, std::move(timer)});

    if (request.kind_case() == admin::AdminRequest::KIND_NOT_SET) {
      logger()->info("admin client {} sent a request of a kind this postd does not know", who_);
      answer(seq, admin_error("unknown admin request: this postd does not know the command "
                              "(is postctl newer than postd?)"));
      return;
    }
    logger()->debug("admin client {}: {}", who_, kind_name(request));
    auto reply = [weak, seq](admin::AdminResponse response) {
      if (auto self = weak.lock()) self->answer(seq, std::move(response));
    };
    try {
      server_->handler_.handle(request, std::move(reply));
    } catch (const std::exception& e) {
      logger()->error("admin {} request from {} failed: {}", kind_name(request), who_, e.what());
      answer(seq, admin_error("internal error answering " + kind_name(request) + ": " + e.what()));
    } catch (...) {
      logger()->error("admin {} request from {} failed with an unknown exception",
                      kind_name(request), who_);
      answer(seq, admin_error("internal error answering " + kind_name(request)));
    }
  }

  void on_request_timeout(std::uint64_t seq) {
    if (closed_) return;
    if (server_) server_->stats_.requests_timed_out++;
    logger()->warn("admin request from {} not answered within {}", who_,
                   seconds_text(options_.request_timeout));
    answer(seq,
           admin_error("the node did not answer within " + seconds_text(options_.request_timeout)));
  }

  // Records the answer to request `seq`; writes every answer that is now next in order.
  void answer(std::uint64_t seq, admin::AdminResponse response) {
    if (closed_) return;
    auto it =
        std::find_if(slots_.begin(), slots_.end(), [seq](const Slot& s) { return s.seq == seq; });
    if (it == slots_.end() || it->answer) {
      logger()->debug("ignored a second answer to admin request {} from {}", seq, who_);
      return;
    }
    it->timer->cancel();
    response.set_request_id(it->request_id);
    it->answer = std::move(response);
    while (!slots_.empty() && slots_.front().answer) {
      write_response(*slots_.front().answer);
      slots_.pop_front();
      if (server_) server_->stats_.requests_answered++;
    }
  }

  void write_response(const admin::AdminResponse& response) {
    Bytes body = wire::encode_message(response);
    if (body.size() + 1 > wire::kMaxFrameBytes) {
      logger()->error("admin answer to {} is {} bytes, over the frame limit; sent an error", who_,
                      body.size());
      auto error = admin_error("the answer (" + std::to_string(body.size()) +
                               " bytes) is larger than a frame may be");
      error.set_request_id(response.request_id());
      body = wire::encode_message(error);
    }
    write_queue_.push_back(wire::encode_frame(body));
    if (!writing_) write_next();
  }

  void write_next() {
    if (write_queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(write_queue_.front()),
                      [self](const boost::system::error_code& ec, std::size_t) {
                        if (self->closed_) return;
                        if (ec) {
                          self->close("write failed: " + ec.message());
                          return;
                        }
                        self->write_queue_.pop_front();
                        self->last_activity_ = steady_now();
                        self->write_next();
                        self->pump();
                      });
  }

  // Closes a connection whose client went quiet, unless an answer is still being prepared.
  void arm_idle_timer() {
    net::Duration idle = options_.idle_timeout;
    if (idle <= net::Duration::zero()) return;
    idle_timer_.expires_after(idle / 2);
    std::weak_ptr<Connection> weak = weak_from_this();
    idle_timer_.async_wait([weak, idle](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      if (self->in_flight() == 0 && steady_now() - self->last_activity_ >= idle) {
        if (self->server_) self->server_->stats_.connections_idle_closed++;
        self->close("idle for " + seconds_text(idle));
        return;
      }
      self->arm_idle_timer();
    });
  }

  // Logs why the client is refused, and closes.
  void refuse(const std::string& why) {
    logger()->warn("closed admin connection from {}: {}", who_, why);
    if (server_) server_->stats_.connections_refused_bad_input++;
    close(why);
  }

  void close(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    idle_timer_.cancel();
    for (auto& s : slots_) s.timer->cancel();
    slots_.clear();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    logger()->debug("admin connection from {} closed: {}", who_, reason);
    // write_queue_ stays: a pending write may still refer to its front buffer.
    if (server_) server_->on_closed(shared_from_this());
  }

  AdminServer* server_;
  AdminServerOptions options_;
  tcp::socket socket_;
  std::string who_;
  wire::FrameDecoder decoder_;
  asio::steady_timer idle_timer_;
  net::Duration last_activity_;
  std::array<std::uint8_t, 16 * 1024> read_buffer_{};
  std::deque<Slot> slots_;
  std::deque<Bytes> write_queue_;
  std::uint64_t next_seq_ = 1;
  bool reading_ = false;
  bool writing_ = false;
  bool eof_ = false;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------
// AdminServer
// ---------------------------------------------------------------------------------------

AdminServer::AdminServer(asio::io_context& io, net::Address address, AdminHandler& handler,
                         AdminServerOptions options)
    : io_(io),
      address_(address),
      handler_(handler),
      options_(options),
      acceptor_(io),
      accept_retry_(io),
      alive_(std::make_shared<char>()) {}

AdminServer::~AdminServer() {
  stop();
}

Status AdminServer::start() {
  if (acceptor_.is_open() || stopped_) {
    return make_error(CoreErrc::kIoError,
                      "admin endpoint " + address_.to_string() + " was already started");
  }
  boost::system::error_code ec;
  auto endpoint = to_endpoint(address_);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return make_error(CoreErrc::kIoError, "cannot open the admin endpoint on " +
                                              address_.to_string() + ": " + ec.message());
  }
  address_.port = acceptor_.local_endpoint().port();
  logger()->debug("admin endpoint listening on {}", address_.to_string());
  accept_next();
  return ok_status();
}

void AdminServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& c : connections) c->detach();
}

void AdminServer::accept_next() {
  std::weak_ptr<char> alive = alive_;
  acceptor_.async_accept([this, alive](const boost::system::error_code& ec, tcp::socket socket) {
    // The server may be gone by the time an accept that raced its destruction completes.
    if (alive.expired() || ec == asio::error::operation_aborted || stopped_) return;
    if (ec) {
      // Out of file descriptors, most likely: wait a little rather than spin.
      logger()->warn("admin endpoint {}: accept failed: {}", address_.to_string(), ec.message());
      accept_retry_.expires_after(kAcceptRetryDelay);
      accept_retry_.async_wait([this, alive](const boost::system::error_code& wait_ec) {
        if (!wait_ec && !alive.expired() && !stopped_) accept_next();
      });
      return;
    }
    if (connections_.size() >= options_.max_connections) {
      stats_.connections_refused_full++;
      boost::system::error_code ep_ec;
      auto remote = socket.remote_endpoint(ep_ec);
      logger()->warn("refused admin connection from {}: {} connections open (the most allowed)",
                     ep_ec ? std::string("?") : endpoint_text(remote), connections_.size());
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      stats_.connections_accepted++;
      auto c = std::make_shared<Connection>(*this, std::move(socket));
      connections_.push_back(c);
      logger()->debug("admin connection from {}", c->who());
      c->start();
    }
    accept_next();
  });
}

void AdminServer::on_closed(const std::shared_ptr<Connection>& c) {
  std::erase(connections_, c);
}

}  // namespace post::daemon
