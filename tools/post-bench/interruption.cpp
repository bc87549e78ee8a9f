#include "tools/post-bench/interruption.h"

#include <signal.h>

#include <algorithm>

namespace post::bench {
namespace {

// How long io_context::run_one_for waits at most before the interrupt flag is checked again.
constexpr auto kPollSlice = std::chrono::milliseconds(50);

volatile sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  g_signal = sig;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal takes the default action: exit at once
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &action, nullptr);
}

bool interrupted() {
  return g_signal != 0;
}

int interrupt_signal() {
  return g_signal;
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::steady_clock::time_point deadline) {
  while (!done()) {
    auto now = std::chrono::steady_clock::now();
    if (interrupted() || now >= deadline) return false;
    if (io.stopped()) io.restart();
    auto slice = std::min<std::chrono::steady_clock::duration>(kPollSlice, deadline - now);
    io.run_one_for(slice);
  }
  return true;
}

bool pause(boost::asio::io_context& io, std::chrono::steady_clock::duration duration) {
  run_until(
      io, [] { return false; }, std::chrono::steady_clock::now() + duration);
  return !interrupted();
}

}  // namespace post::bench
