#include "tests/support/test_support.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "host/core/crypto.h"

namespace post::testing {

TestPki::TestPki(std::string name) {
  auto ca = create_ca(std::move(name), wall_clock_seconds() - 60);
  if (!ca.ok()) throw std::runtime_error(ca.error().to_string());
  ca_ = std::move(*ca);
}

net::LinkIdentity TestPki::node(net::Address listen, std::optional<Id> id) const {
  auto keys = crypto::generate_signing_key();
  Id node_id = id ? *id : Id::hash_of(crypto::random_bytes(32));
  auto now = wall_clock_seconds();
  auto cert = issue_node_certificate(ca_, node_id, keys.public_key, "", now - 60, now + 86400);
  if (!cert.ok()) throw std::runtime_error(cert.error().to_string());
  return net::LinkIdentity{std::move(*cert), keys.private_key, ca_.certificate, listen};
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "post-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (io.stopped()) io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return done();
}

net::Address loopback_any_port() {
  return net::Address::v4(0x7f000001, 0);
}

}  // namespace post::testing
