// Shared by the plugin tests: where the fixture plugins were built, a plugin directory to
// copy them into, and a blocking line client for the echo plugin.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/support/test_support.h"

namespace post::plugin::testing {

// Paths of the plugins built with the tests (compile definitions from CMake).
inline const std::filesystem::path kEchoPlugin = POST_PLUGIN_ECHO;
inline const std::filesystem::path kEchoV2Plugin = POST_PLUGIN_ECHO_V2;
inline const std::filesystem::path kEchoBadImportPlugin = POST_PLUGIN_ECHO_BAD_IMPORT;
inline const std::filesystem::path kCPlugin = POST_PLUGIN_C;
inline const std::filesystem::path kWrongAbiPlugin = POST_PLUGIN_WRONG_ABI;
inline const std::filesystem::path kMissingEntryPlugin = POST_PLUGIN_MISSING_ENTRY;
inline const std::filesystem::path kFailingInitPlugin = POST_PLUGIN_FAILING_INIT;

using post::testing::TempDir;

// A blocking TCP client speaking the echo plugin's line protocol on 127.0.0.1.
class LineClient {
 public:
  // Connects; `error()` says why when it could not.
  explicit LineClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A reply that never comes fails the test instead of hanging it.
    timeval timeout{10, 0};
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = std::string("connect: ") + std::strerror(errno);
      close();
    }
  }
  ~LineClient() { close(); }
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

  // Sends `line` and a newline, then reads one line back (without its newline); nullopt
  // when the connection fails or closes first.
  std::optional<std::string> ask(const std::string& line) {
    std::string out = line + "\n";
    for (std::size_t sent = 0; sent < out.size();) {
      ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        error_ = std::string("send: ") + std::strerror(errno);
        return std::nullopt;
      }
      sent += static_cast<std::size_t>(n);
    }
    while (true) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string reply = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return reply;
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        error_ = n == 0 ? "connection closed" : std::string("recv: ") + std::strerror(errno);
        return std::nullopt;
      }
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
  std::string buffer_;
  std::string error_;
};

}  // namespace post::plugin::testing
