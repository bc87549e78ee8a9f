// LineClient: a blocking TCP client for line protocols on 127.0.0.1 (echo and the other test
// plugins), whose reads give up after a timeout so a missing answer fails a test instead of
// hanging it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace post::testing {

class LineClient {
 public:
  // Connects to 127.0.0.1:port; connected() says whether it did, error() and connect_errno()
  // why not.
  explicit LineClient(std::uint16_t port);
  ~LineClient();
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  int connect_errno() const { return connect_errno_; }

  // Sends `line` and a newline; false when the connection fails.
  bool send_line(const std::string& line);
  // The next line (without its newline), or nullopt at end of stream, on an error or after
  // `timeout`.
  std::optional<std::string> read_line(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // send_line, then read_line.
  std::optional<std::string> ask(const std::string& line);
  // Closes with a reset (SO_LINGER 0) rather than a FIN: the server's next writes fail.
  void reset();

 private:
  void close();

  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffer_;
  std::string error_;
};

}  // namespace post::testing
