#include "host/net/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "host/net/errors.h"

namespace post::net {

Address Address::v4(std::uint32_t ip_host_order, std::uint16_t port) {
  Address a;
  a.ip[10] = 0xff;
  a.ip[11] = 0xff;
  a.ip[12] = static_cast<std::uint8_t>(ip_host_order >> 24);
  a.ip[13] = static_cast<std::uint8_t>(ip_host_order >> 16);
  a.ip[14] = static_cast<std::uint8_t>(ip_host_order >> 8);
  a.ip[15] = static_cast<std::uint8_t>(ip_host_order);
  a.port = port;
  return a;
}

Result<Address> Address::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(NetErrc::kBadAddress, "'" + std::string(text) + "': " + why);
  };
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() ||
      port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  std::string host_str(host);
  if (host_str == "localhost") host_str = "127.0.0.1";
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host_str.c_str(), &v4) == 1) {
    return Address::v4(ntohl(v4.s_addr), static_cast<std::uint16_t>(port));
  }
  if (inet_pton(AF_INET6, host_str.c_str(), &v6) == 1) {
    Address a;
    std::memcpy(a.ip.data(), &v6, 16);
    a.port = static_cast<std::uint16_t>(port);
    return a;
  }
  return bad("host must be an IPv4 or IPv6 address or 'localhost'");
}

bool Address::is_v4() const {
  for (int i = 0; i < 10; ++i) {
    if (ip[i] != 0) return false;
  }
  return ip[10] == 0xff && ip[11] == 0xff;
}

std::uint32_t Address::v4_host_order() const {
  return std::uint32_t{ip[12]} << 24 | std::uint32_t{ip[13]} << 16 | std::uint32_t{ip[14]} << 8 |
         ip[15];
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    in_addr v4{htonl(v4_host_order())};
    inet_ntop(AF_INET, &v4, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port);
  }
  in6_addr v6;
  std::memcpy(&v6, ip.data(), 16);
  inet_ntop(AF_INET6, &v6, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(port);
}

std::string NodeHandle::to_string() const {
  return id.short_hex() + "@" + address.to_string();
}

}  // namespace post::net
