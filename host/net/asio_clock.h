// AsioClock: the real Clock of a postd node. Timers are steady_timers on the node's
// io_context, so their callbacks run on the node's executor thread.
#pragma once

#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/net/clock.h"

namespace post::net {

class AsioClock final : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io);
  // Cancels every pending timer; their callbacks never run.
  ~AsioClock() override;
  AsioClock(const AsioClock&) = delete;
  AsioClock& operator=(const AsioClock&) = delete;

  // Steady time since this clock was created.
  Time now() const override;
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;

  // Number of timers that are scheduled and have not fired or been cancelled.
  std::size_t pending() const { return timers_.size(); }

 private:
  boost::asio::io_context& io_;
  std::chrono::steady_clock::time_point origin_;
  TimerId next_id_ = 1;
  std::unordered_map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
  // Handlers already queued when the clock is destroyed check this before touching it.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::net
