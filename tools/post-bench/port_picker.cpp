#include "tools/post-bench/port_picker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "host/core/errors.h"

namespace post::bench {
namespace {

// Below this, ports are conventionally taken by services.
constexpr unsigned kLowestPort = 10000;
constexpr int kAttempts = 1000;

// Whether a TCP socket can bind 127.0.0.1:port right now.
bool can_bind(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

PortPicker::PortPicker() : rng_(std::random_device{}() ^ static_cast<unsigned>(::getpid())) {
  unsigned ephemeral_lo = 32768, ephemeral_hi = 60999;  // Linux's default range
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> ephemeral_lo >> ephemeral_hi;
  // Below the ephemeral range when there is room there, else above it.
  if (ephemeral_lo > kLowestPort + 1000) {
    first_ = kLowestPort;
    last_ = ephemeral_lo - 1;
  } else {
    first_ = ephemeral_hi + 1;
    last_ = 65535;
  }
}

Result<std::uint16_t> PortPicker::pick() {
  if (first_ > last_) {
    return make_error(CoreErrc::kIoError,
                      "no TCP ports outside the ephemeral range (see "
                      "/proc/sys/net/ipv4/ip_local_port_range)");
  }
  std::uniform_int_distribution<unsigned> dist(first_, last_);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto port = static_cast<std::uint16_t>(dist(rng_));
    if (handed_out_.contains(port) || !can_bind(port)) continue;
    handed_out_.insert(port);
    return port;
  }
  return make_error(CoreErrc::kIoError, "no free TCP port on 127.0.0.1 between " +
                                            std::to_string(first_) + " and " +
                                            std::to_string(last_));
}

}  // namespace post::bench
