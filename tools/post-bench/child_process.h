// ChildProcess: a program post-bench starts (postd, post-ca), its stdout and stderr appended to
// a log file. Children get SIGKILL from the kernel if post-bench itself dies without stopping
// them (Linux's parent-death signal), so no node outlives a crashed or killed benchmark.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/core/result.h"

namespace post::bench {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path, not searched in PATH) with `argv`; stdin is /dev/null, stdout and
  // stderr go to the end of `log_path` (created if missing). Only file descriptors 0 to 2 are
  // inherited. Fails with CoreErrc::kIoError when the log cannot be opened or fork fails; a
  // program that cannot be executed exits with status 127.
  static Result<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& argv,
                                                     std::string log_path);
  // Kills the process (SIGKILL) if it still runs, and reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Whether the process still runs; reaps it once it has exited.
  bool running();
  // Sends `sig` if the process still runs.
  void signal(int sig);
  // Waits up to `timeout` for the process to exit (returns early when post-bench is
  // interrupted); its exit status (128 + the signal if a signal ended it), or nullopt if it
  // still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // "exited with status 2", "killed by signal 9", or "is running".
  std::string status_text();

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string log_path_;
  std::optional<int> raw_status_;  // as waitpid reported it
};

// Runs `argv` to completion (at most `timeout`), output appended to `log_path`. Fails when it
// cannot start, does not finish in time (it is killed) or exits with a non-zero status; the
// error names the program and the log, and quotes the log's last lines.
Status run_to_completion(const std::vector<std::string>& argv, const std::string& log_path,
                         std::chrono::milliseconds timeout);

// "its log PATH ends with:" and the last `lines` lines of the file, each on a line of its own
// indented by two spaces; or "its log PATH is empty" (or "cannot be read").
std::string log_excerpt(const std::string& path, std::size_t lines);

}  // namespace post::bench
