// PortPicker: TCP ports on 127.0.0.1 for the nodes of a local cluster.
#pragma once

#include <cstdint>
#include <random>
#include <set>

#include "host/core/result.h"

namespace post::bench {

class PortPicker {
 public:
  PortPicker();

  // A port that 127.0.0.1 could bind a moment ago, never one this picker returned before. It
  // lies outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range): a port
  // in that range can be taken by any outgoing connection between this call and postd's bind,
  // and the nodes of a ring open connections all the time. Fails (CoreErrc::kIoError) when no
  // such port is found after many tries.
  Result<std::uint16_t> pick();

 private:
  unsigned first_;
  unsigned last_;
  std::set<std::uint16_t> handed_out_;
  std::mt19937 rng_;
};

}  // namespace post::bench
