// Clock: where protocol code gets time and timers. Protocol state machines never read a
// system clock; they are handed a Clock, which is either the real one (AsioClock, on the
// node's io_context) or the simulator's virtual one. Either way, timer callbacks run on the
// node's executor, one at a time, never concurrently with the node's message handlers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "host/core/random.h"

namespace post::net {

using Duration = std::chrono::nanoseconds;
// A point in time, as the duration since the clock's own epoch (virtual time 0 in the
// simulator; an arbitrary steady origin in a real node). Only differences are meaningful.
using Time = std::chrono::nanoseconds;

using TimerId = std::uint64_t;
inline constexpr TimerId kNoTimer = 0;

class Clock {
 public:
  virtual ~Clock() = default;

  // The current time. Monotonic: never goes backwards.
  virtual Time now() const = 0;

  // Runs `fn` once, `delay` from now (a negative delay counts as zero). Timers due at the
  // same time run in the order they were scheduled. Returns an id for cancel(), never
  // kNoTimer.
  virtual TimerId schedule(Duration delay, std::function<void()> fn) = 0;

  // Cancels a pending timer so its callback never runs. Unknown, fired or already
  // cancelled ids are ignored.
  virtual void cancel(TimerId id) = 0;
};

// `d` scaled by a random factor in [0.9, 1.1), so that periodic work on many nodes does not
// synchronise.
inline Duration jitter(Rng& rng, Duration d) {
  double f = 0.9 + 0.2 * rng.uniform_real();
  return Duration(static_cast<Duration::rep>(static_cast<double>(d.count()) * f));
}

// Seconds as a Duration, for readable call sites: `clock.schedule(seconds(20), ...)`.
constexpr Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
constexpr Duration millis(std::int64_t ms) {
  return std::chrono::milliseconds(ms);
}

// A Duration in seconds, for reports.
constexpr double to_seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace post::net
