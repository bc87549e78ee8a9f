// Ctrl-C for post-bench: SIGINT, SIGTERM and SIGHUP set a flag that every wait in the program
// checks, so the nodes are always stopped before post-bench exits. A second signal of the
// same kind is not caught: it ends post-bench at once, and the nodes die with it (they are
// started with a parent-death signal, see ChildProcess).
#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace post::bench {

// Installs the handlers. Call once, before starting any child process.
void install_interrupt_handlers();

// True once SIGINT, SIGTERM or SIGHUP arrived.
bool interrupted();

// The signal that interrupted, or 0.
int interrupt_signal();

// Runs `io`'s handlers until `done()` holds, `deadline` passes or a signal interrupts;
// returns done(). `io` must have work (a work guard) so that it never runs out of it.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::steady_clock::time_point deadline);

// Waits `duration` while running `io`'s handlers; false when interrupted.
bool pause(boost::asio::io_context& io, std::chrono::steady_clock::duration duration);

}  // namespace post::bench
