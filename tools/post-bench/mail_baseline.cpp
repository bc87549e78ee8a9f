#include "tools/post-bench/mail_baseline.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include "host/core/certificate.h"
#include "host/core/errors.h"
#include "tools/post-bench/child_process.h"
#include "tools/post-bench/port_picker.h"

namespace post::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Where Debian's packages put the two programs.
constexpr const char* kPostfix = "/usr/sbin/postfix";
constexpr const char* kDovecot = "/usr/sbin/dovecot";
// The script runs postfix check and start and dovecot start; a minute means something hangs.
constexpr auto kScriptTimeout = std::chrono::milliseconds(60s);

Error baseline_error(const std::string& message) {
  return make_error(CoreErrc::kIoError, message);
}

}  // namespace

std::optional<std::string> MailBaseline::unavailable_reason(const std::string& script) {
  if (::access(kPostfix, X_OK) != 0 || ::access(kDovecot, X_OK) != 0) {
    return std::string("Postfix or Dovecot is not installed (") + kPostfix + ", " + kDovecot +
           "; tools/install-deps installs postfix, dovecot-imapd and dovecot-lmtpd)";
  }
  if (::geteuid() != 0) {
    return std::string(
        "it needs root (Postfix's and Dovecot's masters start as root and drop privileges)");
  }
  if (::access(script.c_str(), R_OK) != 0) {
    return "its script " + script + " cannot be read";
  }
  return std::nullopt;
}

Result<std::unique_ptr<MailBaseline>> MailBaseline::start(const std::string& script,
                                                          const std::string& directory,
                                                          const std::string& passwd) {
  std::error_code ec;
  std::string dir;
  bool keep = !directory.empty();
  if (directory.empty()) {
    std::string pattern = (fs::temp_directory_path(ec) / "post-bench-baseline-XXXXXX").string();
    if (ec) return baseline_error("no temporary directory: " + ec.message());
    if (::mkdtemp(pattern.data()) == nullptr) {
      return baseline_error("cannot create a directory like " + pattern + ": " +
                            std::strerror(errno));
    }
    dir = pattern;
  } else {
    dir = fs::absolute(directory, ec).string();
    if (ec) return baseline_error(directory + ": " + ec.message());
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
      return baseline_error(dir + " exists and is not empty; give a new or empty one");
    }
    fs::create_directories(dir, ec);
    if (ec) return baseline_error("cannot create " + dir + ": " + ec.message());
  }
  std::unique_ptr<MailBaseline> baseline(new MailBaseline(script, dir, keep));
  std::string passwd_path = (fs::path(dir) / "passwd").string();
  POST_TRY(write_file(passwd_path, passwd, true));
  PortPicker ports;
  POST_TRY_ASSIGN(baseline->smtp_port_, ports.pick());
  POST_TRY_ASSIGN(baseline->imap_port_, ports.pick());
  POST_TRY_ASSIGN(std::uint16_t lmtp_port, ports.pick());
  POST_TRY_ASSIGN(std::uint16_t auth_port, ports.pick());
  baseline->running_ = true;  // a start that fails halfway leaves a daemon to stop
  std::string log = (fs::path(dir) / "setup.log").string();
  auto started =
      run_to_completion({"/bin/bash", script, "start", dir, std::to_string(baseline->smtp_port_),
                         std::to_string(baseline->imap_port_), std::to_string(lmtp_port),
                         std::to_string(auth_port), passwd_path},
                        log, kScriptTimeout);
  if (!started.ok()) {
    (void)baseline->stop();  // the start's failure is the one to report
    baseline->keep_ = true;
    Error e = std::move(started).error();
    e.message = "Postfix + Dovecot did not start: " + e.message + " (" + dir + " is kept)";
    return e;
  }
  return baseline;
}

MailBaseline::~MailBaseline() {
  (void)stop();  // nothing to report to from a destructor
  if (!keep_ && !dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

Status MailBaseline::stop() {
  if (!running_) return ok_status();
  running_ = false;
  std::string log = (fs::path(dir_) / "setup.log").string();
  POST_TRY_ASSIGN(auto process, ChildProcess::start({"/bin/bash", script_, "stop", dir_}, log));
  // Not ChildProcess::wait(), which returns early once post-bench is interrupted: stopping
  // is what an interruption needs most.
  auto deadline = std::chrono::steady_clock::now() + kScriptTimeout;
  while (process->running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  if (process->running()) {
    return baseline_error("stopping Postfix + Dovecot did not finish in time; see " + log);
  }
  if (process->status_text() != "exited with status 0") {
    return baseline_error("stopping Postfix + Dovecot: the script " + process->status_text() +
                          "; " + log_excerpt(log, 10));
  }
  return ok_status();
}

boost::asio::ip::tcp::endpoint MailBaseline::smtp() const {
  return {boost::asio::ip::address_v4::loopback(), smtp_port_};
}

boost::asio::ip::tcp::endpoint MailBaseline::imap() const {
  return {boost::asio::ip::address_v4::loopback(), imap_port_};
}

}  // namespace post::bench
