#include "tools/post-bench/admin_channel.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "host/net/errors.h"

namespace post::bench {

namespace asio = boost::asio;
namespace admin = post::proto::admin;
using asio::ip::tcp;
using net::NetErrc;

namespace {

// Bytes read from the socket at once. A 64 KiB answer arrives in one or two reads.
constexpr std::size_t kReadChunkBytes = std::size_t{256} * 1024;

}  // namespace

std::shared_ptr<AdminChannel> AdminChannel::create(asio::io_context& io, tcp::endpoint endpoint,
                                                   std::string what,
                                                   Clock::duration request_timeout) {
  return std::shared_ptr<AdminChannel>(
      new AdminChannel(io, std::move(endpoint), std::move(what), request_timeout));
}

AdminChannel::AdminChannel(asio::io_context& io, tcp::endpoint endpoint, std::string what,
                           Clock::duration request_timeout)
    : io_(io),
      endpoint_(std::move(endpoint)),
      what_(std::move(what)),
      request_timeout_(request_timeout),
      socket_(io),
      timer_(io),
      read_buffer_(kReadChunkBytes) {}

void AdminChannel::connect(std::function<void(Status)> done) {
  state_ = State::kConnecting;
  socket_.async_connect(endpoint_, [self = shared_from_this(),
                                    done = std::move(done)](const boost::system::error_code& ec) {
    if (self->state_ != State::kConnecting) {  // closed meanwhile
      done(make_error(NetErrc::kClosed, self->what_ + ": closed while connecting"));
      return;
    }
    if (ec) {
      self->state_ = State::kFailed;
      boost::system::error_code ignored;
      self->socket_.close(ignored);
      done(make_error(NetErrc::kUnreachable,
                      "cannot connect to " + self->what_ + ": " + ec.message()));
      return;
    }
    boost::system::error_code ignored;
    self->socket_.set_option(tcp::no_delay(true), ignored);
    self->state_ = State::kOpen;
    self->read_more();
    self->write_next();
    done(ok_status());
  });
}

void AdminChannel::call(admin::AdminRequest request, Reply reply) {
  if (state_ != State::kOpen && state_ != State::kConnecting) {
    asio::post(io_, [reply = std::move(reply), what = what_] {
      reply(make_error(NetErrc::kClosed, what + ": the connection is not open"));
    });
    return;
  }
  request.set_request_id(next_request_id_++);
  pending_.push_back(
      Pending{request.request_id(), std::move(reply), Clock::now() + request_timeout_});
  unsent_.push_back(wire::encode_frame(wire::encode_message(request)));
  if (state_ == State::kOpen) write_next();
  arm_timer();
}

void AdminChannel::close() {
  if (state_ == State::kFailed) return;
  fail(make_error(NetErrc::kClosed, what_ + ": closed by post-bench"));
}

void AdminChannel::write_next() {
  if (writing_ || unsent_.empty() || state_ != State::kOpen) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(unsent_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (self->state_ != State::kOpen) return;
                      if (ec) {
                        self->fail(make_error(NetErrc::kClosed, "sending to " + self->what_ +
                                                                    " failed: " + ec.message()));
                        return;
                      }
                      self->unsent_.pop_front();
                      self->write_next();
                    });
}

void AdminChannel::read_more() {
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->state_ != State::kOpen) return;
        if (ec) {
          std::string why = ec == asio::error::eof ? "it closed the connection" : ec.message();
          self->fail(make_error(NetErrc::kClosed, "reading from " + self->what_ + ": " + why));
          return;
        }
        self->decoder_.feed(ByteView(self->read_buffer_.data(), n));
        for (;;) {
          auto next = self->decoder_.next();
          if (!next.ok()) {
            self->fail(make_error(NetErrc::kProtocolViolation,
                                  self->what_ + " sent a bad frame: " + next.error().to_string()));
            return;
          }
          if (!next->has_value()) break;
          self->on_frame(**next);
          if (self->state_ != State::kOpen) return;
        }
        self->read_more();
      });
}

void AdminChannel::on_frame(const Bytes& body) {
  auto response = wire::decode_message<admin::AdminResponse>(body, "admin answer");
  if (!response.ok()) {
    fail(make_error(NetErrc::kProtocolViolation,
                    what_ + " sent an unreadable answer: " + response.error().message));
    return;
  }
  if (pending_.empty() || response->request_id() != pending_.front().request_id) {
    fail(make_error(
        NetErrc::kProtocolViolation,
        what_ + " answered request " + std::to_string(response->request_id()) +
            (pending_.empty() ? " with none in flight"
                              : ", expected " + std::to_string(pending_.front().request_id))));
    return;
  }
  Reply reply = std::move(pending_.front().reply);
  pending_.pop_front();
  reply(std::move(*response));  // may call call() again: pending_ is consistent here
}

void AdminChannel::arm_timer() {
  if (timer_armed_ || pending_.empty()) return;
  timer_armed_ = true;
  timer_.expires_at(pending_.front().deadline);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    self->timer_armed_ = false;
    self->on_timer();
  });
}

void AdminChannel::on_timer() {
  if (state_ == State::kFailed || pending_.empty()) return;
  if (Clock::now() >= pending_.front().deadline) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(request_timeout_).count();
    fail(make_error(NetErrc::kTimeout, what_ + " did not answer request " +
                                           std::to_string(pending_.front().request_id) +
                                           " within " + std::to_string(seconds) + " s"));
    return;
  }
  arm_timer();
}

void AdminChannel::fail(const Error& error) {
  state_ = State::kFailed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  // unsent_ stays: a write in progress still refers to its front frame until its handler runs.
  std::deque<Pending> failed;
  failed.swap(pending_);  // the replies may start new requests (on other channels)
  for (auto& p : failed) p.reply(error);
}

}  // namespace post::bench
