// Address and NodeHandle: how nodes name each other. An Address is an IP (v4 or v6, held
// as 16 bytes, v4 as v4-mapped) and a port; the simulator gives its nodes addresses in
// 10.0.0.0/8 so traces look like real ones. A NodeHandle pairs a nodeId with the address
// where that node listens. Both are small fixed-size values (no heap), since routing tables
// of a million simulated nodes hold hundreds of millions of them.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "host/core/id.h"
#include "host/core/result.h"

namespace post::net {

struct Address {
  std::array<std::uint8_t, 16> ip{};  // network byte order; v4 as ::ffff:a.b.c.d
  std::uint16_t port = 0;

  // a.b.c.d:port as an Address.
  static Address v4(std::uint32_t ip_host_order, std::uint16_t port);
  // Parses "a.b.c.d:port", "[v6]:port" or "localhost:port". Refuses anything else
  // (NetErrc::kBadAddress); no DNS lookup happens here.
  static Result<Address> parse(std::string_view text);

  bool is_v4() const;
  // The IPv4 address in host byte order; only meaningful when is_v4().
  std::uint32_t v4_host_order() const;
  // "a.b.c.d:port" or "[v6]:port".
  std::string to_string() const;
  bool empty() const { return port == 0 && ip == std::array<std::uint8_t, 16>{}; }

  friend bool operator==(const Address&, const Address&) = default;
  friend auto operator<=>(const Address&, const Address&) = default;
};

struct NodeHandle {
  Id id;
  Address address;

  // "3fa2c1d0@10.0.0.7:1", for log lines.
  std::string to_string() const;

  friend bool operator==(const NodeHandle&, const NodeHandle&) = default;
};

}  // namespace post::net

template <>
struct std::hash<post::net::NodeHandle> {
  std::size_t operator()(const post::net::NodeHandle& h) const noexcept {
    return std::hash<post::Id>()(h.id);
  }
};
