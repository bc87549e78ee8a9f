// AdminChannel: one TCP connection to a postd admin endpoint (docs/POSTCTL.md, "The admin
// endpoint"), carrying pipelined requests: any number may be sent before their answers come
// back, and the answers come in request order. Unlike postctl's client it is asynchronous, so
// one thread keeps many requests to many nodes in flight.
//
// Threading: every method must be called on the thread that runs the io_context, and the
// callbacks run there too. Channels are shared_ptrs because the socket's pending handlers
// keep the channel alive until they have run.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/core/bytes.h"
#include "host/core/frame.h"
#include "host/core/result.h"
#include "host/daemon/proto/admin.pb.h"

namespace post::bench {

class AdminChannel : public std::enable_shared_from_this<AdminChannel> {
 public:
  using Clock = std::chrono::steady_clock;
  using Reply = std::function<void(Result<proto::admin::AdminResponse>)>;

  // A channel to `endpoint`, not yet connected. `what` names the endpoint in errors, e.g.
  // "node3's admin endpoint 127.0.0.1:12101". A request unanswered after `request_timeout`
  // fails, and with it the channel (the answers behind it could not be matched any more).
  static std::shared_ptr<AdminChannel> create(boost::asio::io_context& io,
                                              boost::asio::ip::tcp::endpoint endpoint,
                                              std::string what, Clock::duration request_timeout);

  // Opens the connection; `done` gets ok, or NetErrc::kUnreachable with the reason. Call once.
  void connect(std::function<void(Status)> done);

  // Sends `request` (its request_id is set here) and calls `reply` once with the answer, or
  // with an error when the channel fails first: NetErrc::kClosed (connection lost or closed
  // by close()), kTimeout, kProtocolViolation (an answer that does not decode or is not the
  // one expected next). `reply` is never called from inside call(): a request on a channel
  // that is not open fails from the io_context.
  void call(proto::admin::AdminRequest request, Reply reply);

  // Requests sent and not answered yet.
  std::size_t in_flight() const { return pending_.size(); }
  // Connected, and no error so far.
  bool open() const { return state_ == State::kOpen; }
  const std::string& what() const { return what_; }

  // Closes the connection; requests in flight fail with NetErrc::kClosed.
  void close();

 private:
  enum class State { kIdle, kConnecting, kOpen, kFailed };
  struct Pending {
    std::uint64_t request_id;
    Reply reply;
    Clock::time_point deadline;
  };

  AdminChannel(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint,
               std::string what, Clock::duration request_timeout);

  void write_next();
  void read_more();
  void on_frame(const Bytes& body);
  void arm_timer();
  void on_timer();
  // Closes the socket and fails every request in flight with `error`.
  void fail(const Error& error);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string what_;
  Clock::duration request_timeout_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  State state_ = State::kIdle;
  std::uint64_t next_request_id_ = 1;
  std::deque<Pending> pending_;
  std::deque<Bytes> unsent_;  // encoded frames; the front one is being written when writing_
  bool writing_ = false;
  wire::FrameDecoder decoder_{wire::kMaxFrameBytes};
  std::vector<std::uint8_t> read_buffer_;
};

}  // namespace post::bench
