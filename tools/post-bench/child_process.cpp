#include "tools/post-bench/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "host/core/errors.h"
#include "tools/post-bench/interruption.h"

namespace post::bench {
namespace {

constexpr auto kWaitPollInterval = std::chrono::milliseconds(10);
// Lines of a failed program's log quoted in the error.
constexpr std::size_t kLogLinesQuoted = 10;

// Closes every file descriptor from 3 up; called in the child between fork and exec, so only
// async-signal-safe calls.
void close_inherited_descriptors() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  long max = ::sysconf(_SC_OPEN_MAX);
  for (long fd = 3; fd < (max > 0 ? max : 1024); ++fd) ::close(static_cast<int>(fd));
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                          std::string log_path) {
  // Everything the child needs is prepared here: between fork and exec only async-signal-safe
  // calls are allowed.
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  arg_pointers.reserve(args.size() + 1);
  for (auto& a : args) arg_pointers.push_back(a.data());
  arg_pointers.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return make_error(CoreErrc::kIoError, "cannot open " + log_path + ": " + std::strerror(errno));
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const std::string exec_failed = "post-bench: cannot execute " + argv.front() + "\n";
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return make_error(CoreErrc::kIoError,
                      "cannot start " + argv.front() + ": fork failed: " + std::strerror(err));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    close_inherited_descriptors();
    ::execv(arg_pointers[0], arg_pointers.data());
    [[maybe_unused]] auto n = ::write(2, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, std::move(log_path)));
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool ChildProcess::running() {
  if (raw_status_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    raw_status_ = r == pid_ ? status : 0;
    return false;
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline || interrupted()) return std::nullopt;
    std::this_thread::sleep_for(kWaitPollInterval);
  }
  return WIFEXITED(*raw_status_) ? WEXITSTATUS(*raw_status_) : 128 + WTERMSIG(*raw_status_);
}

std::string ChildProcess::status_text() {
  if (running()) return "is running";
  if (WIFEXITED(*raw_status_))
    return "exited with status " + std::to_string(WEXITSTATUS(*raw_status_));
  return "was killed by signal " + std::to_string(WTERMSIG(*raw_status_)) + " (" +
         ::strsignal(WTERMSIG(*raw_status_)) + ")";
}

Status run_to_completion(const std::vector<std::string>& argv, const std::string& log_path,
                         std::chrono::milliseconds timeout) {
  std::string command;
  for (std::size_t i = 0; i < argv.size() && i < 2; ++i) command += (i ? " " : "") + argv[i];
  POST_TRY_ASSIGN(auto process, ChildProcess::start(argv, log_path));
  auto status = process->wait(timeout);
  if (!status) {
    process->signal(SIGKILL);
    return make_error(CoreErrc::kIoError,
                      command + (interrupted() ? " was interrupted" : " did not finish in time") +
                          "; its log is " + log_path);
  }
  if (*status != 0) {
    return make_error(CoreErrc::kIoError, command + " " + process->status_text() + "; " +
                                              log_excerpt(log_path, kLogLinesQuoted));
  }
  return ok_status();
}

std::string log_excerpt(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  if (!in) return "its log " + path + " cannot be read";
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  if (last.empty()) return "its log " + path + " is empty";
  std::string out = "its log " + path + " ends with:";
  for (const auto& line : last) out += "\n  " + line;
  return out;
}

}  // namespace post::bench
