// Child processes for integration tests: real postd (and tool) processes on loopback.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace post::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, its stdout and stderr appended to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  // Kills the process (SIGKILL) if it still runs.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for the process to exit; returns its exit status (or 128 + signal), or nullopt
  // on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // Everything the process wrote so far.
  std::string output() const;
  // Waits until the output contains `text`; false on timeout.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> status_;
};

// Runs a command to completion; returns its exit status and appends output to `log_path`.
int run_command(const std::vector<std::string>& argv, const std::string& log_path);

// The whole content of a file (a log run_command wrote, say); "" when it cannot be read.
std::string read_file(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago, outside the kernel's ephemeral range
// (so no outgoing connection takes it before the server binds), never the same one twice.
unsigned short free_port();

}  // namespace post::testing
