#include "host/net/asio_clock.h"

namespace post::net {

AsioClock::AsioClock(boost::asio::io_context& io)
    : io_(io), origin_(std::chrono::steady_clock::now()) {}

AsioClock::~AsioClock() {
  for (auto& [id, timer] : timers_) timer->cancel();
}

Time AsioClock::now() const {
  return std::chrono::duration_cast<Time>(std::chrono::steady_clock::now() - origin_);
}

TimerId AsioClock::schedule(Duration delay, std::function<void()> fn) {
  TimerId id = next_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_);
  timer->expires_after(delay < Duration::zero() ? Duration::zero() : delay);
  timer->async_wait([this, alive = std::weak_ptr<char>(alive_), id,
                     fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;  // cancelled, or the clock is gone
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    auto keep = std::move(it->second);  // the timer object must outlive this handler's frame
    timers_.erase(it);
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void AsioClock::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  timers_.erase(it);
}

}  // namespace post::net
