// MailBaseline: Postfix + Dovecot, the system a user would pick instead of POST for mail, run
// as private instances for `post-bench email` by tools/bench/mail-baseline.sh: their own
// configurations, queue, mailboxes and logs in one directory, loopback ports of their own,
// nothing read from or written to /etc, no system service started. Submission needs AUTH PLAIN
// (Postfix asks Dovecot's auth service); Postfix hands every message to Dovecot over LMTP;
// Dovecot writes Maildir and serves IMAP.
//
// The daemons detach from post-bench (they are not its children), so they are stopped by
// stop() or the destructor; a post-bench killed with SIGKILL leaves them running (the
// directory is named on stderr when the baseline starts).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "host/core/result.h"

namespace post::bench {

class MailBaseline {
 public:
  // Why the baseline cannot run here (postfix or dovecot missing, not root, no script), or
  // nullopt when it can.
  static std::optional<std::string> unavailable_reason(const std::string& script);

  // Makes `directory` (empty: a new temporary directory, removed when the baseline is
  // destroyed unless kept), writes `passwd` (lines "user@domain:{CRYPT}<hash>") into it,
  // picks four free loopback ports and runs `script` start. Fails naming the step and the
  // log to read; the directory is then kept.
  static Result<std::unique_ptr<MailBaseline>> start(const std::string& script,
                                                     const std::string& directory,
                                                     const std::string& passwd);
  // Stops the daemons (if still running) and removes the directory unless it is kept.
  ~MailBaseline();
  MailBaseline(const MailBaseline&) = delete;
  MailBaseline& operator=(const MailBaseline&) = delete;

  // Runs `script` stop: Postfix and Dovecot exit. Safe to call more than once.
  Status stop();

  boost::asio::ip::tcp::endpoint smtp() const;
  boost::asio::ip::tcp::endpoint imap() const;
  const std::string& directory() const { return dir_; }
  void keep_directory() { keep_ = true; }

 private:
  MailBaseline(std::string script, std::string dir, bool keep)
      : script_(std::move(script)), dir_(std::move(dir)), keep_(keep) {}

  std::string script_;
  std::string dir_;
  bool keep_ = false;
  bool running_ = false;
  std::uint16_t smtp_port_ = 0;
  std::uint16_t imap_port_ = 0;
};

}  // namespace post::bench
