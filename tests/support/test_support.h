// Helpers for tests: an in-memory PKI, temporary directories, and running an io_context
// until a condition holds.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "host/core/certificate.h"
#include "host/net/link_handshake.h"

namespace post::testing {

// A CA made in memory, issuing node identities on demand.
class TestPki {
 public:
  explicit TestPki(std::string name = "test CA");
  const CaKey& ca() const { return ca_; }
  // A new node identity with a random nodeId (or `id`), listening on `listen`.
  net::LinkIdentity node(net::Address listen, std::optional<Id> id = std::nullopt) const;

 private:
  CaKey ca_;
};

// A fresh directory under the system temp dir, removed when this object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `io` until `done()` is true or `timeout` passes; returns done(). Never sleeps longer
// than needed: it polls between handlers.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// 127.0.0.1 with port 0 (the system picks a free port on bind).
net::Address loopback_any_port();

}  // namespace post::testing
