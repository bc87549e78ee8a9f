// EmailLoad: the workload of `post-bench email`, the same against any mail system that takes
// submissions over SMTP and serves the recipient's INBOX over IMAP (the POST email plugin, or
// Postfix + Dovecot as the baseline).
//
// One IMAP client, logged in as the recipient with INBOX selected, watches the mailbox; then
// `messages` messages go in over SMTP from the sender to the recipient, `concurrency` at once
// over as many connections (AUTH PLAIN once per connection, then MAIL, RCPT and DATA for each
// message; no pipelining). Each message carries a Message-ID of its own.
//
// Latency of a message: from reading the 250 reply to its DATA until the IMAP client reads
// the untagged `* N EXISTS` that covers its sequence number, i.e. until a client of the
// recipient is told of it. The watcher learns of new messages by polling (NOOP every
// poll_interval, the default) or by IDLE (what the server pushes, after whatever delay the
// server adds); see WatchMode. Which Message-ID each sequence number holds is read with FETCH
// BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] once the count is reached, so the matching costs the
// servers nothing during the run. The INBOX only grows during the run (nothing expunges), so
// sequence numbers are stable.
//
// Also measured per message, end to end: from sending its MAIL FROM until it is visible. The
// two differ by what a system does before it answers DATA (Postfix: write the queue file; the
// email plugin: also put the message in the secure store), so they are reported side by side.
//
// Throughput: messages that became visible, divided by the time from the first MAIL FROM sent
// to the last message visible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "host/core/result.h"

namespace post::bench {

// A mail system under test: where to submit, where the recipient reads, and who they are.
struct MailTarget {
  std::string system;  // "post", "postfix-dovecot": names it in errors
  boost::asio::ip::tcp::endpoint smtp;
  boost::asio::ip::tcp::endpoint imap;
  std::string sender;
  std::string sender_password;
  std::string recipient;
  std::string recipient_password;
};

// How the IMAP client learns of new messages.
enum class WatchMode {
  kPoll,  // NOOP every poll_interval: when the message is in the mailbox, to a poll's precision
  kIdle,  // IDLE: when the server pushes the news, after any delay of its own (Dovecot's
          // came about half a second after a poll would have found the message)
};

struct EmailLoadOptions {
  std::size_t messages = 1000;
  std::size_t concurrency = 8;  // messages in flight, each on a connection of its own
  std::size_t body_bytes = 1024;
  WatchMode watch = WatchMode::kPoll;
  std::chrono::milliseconds poll_interval{10};
  // Every SMTP and IMAP reply must come within this long, or the connection fails.
  std::chrono::seconds reply_timeout{60};
  // After the last submission, messages not visible within this long count as errors.
  std::chrono::seconds visible_timeout{120};
  // In every Message-ID, so that a run never matches another's messages.
  std::string run_id = "run";
};

// What one run measured.
struct EmailReport {
  std::size_t messages = 0;               // asked for
  std::size_t accepted = 0;               // 250 to DATA
  std::size_t visible = 0;                // accepted and then seen by the IMAP client, once each
  std::size_t errors = 0;                 // messages - visible, plus duplicates seen
  double seconds = 0;                     // from the first MAIL FROM to the last message visible
  double submit_seconds = 0;              // from the first MAIL FROM to the last 250 to DATA
  std::vector<double> latencies_ms;       // 250 to DATA until visible, of the visible ones
  std::vector<double> end_to_end_ms;      // MAIL FROM sent until visible, of the same
  std::vector<std::string> first_errors;  // the first few failures, as messages

  // Visible messages per second of `seconds`; 0 when none.
  double per_second() const;
  // Accepted messages per second of `submit_seconds`; 0 when none.
  double accepted_per_second() const;
  // The nearest-rank percentile `p` (0 < p <= 1) of the latencies; 0 when there are none.
  double percentile_ms(double p) const;
  // The same of the end-to-end times.
  double end_to_end_percentile_ms(double p) const;
};

// (visible, total) as messages become visible.
using EmailProgress = std::function<void(std::size_t, std::size_t)>;

// Runs the workload against `target` on `io` (which must have work: a work guard), returning
// when every message is visible, or visible_timeout after the last submission. Fails when the
// IMAP client cannot log in and select INBOX, when the INBOX is not empty at the start, and
// when interrupted; failed submissions and messages never seen are counted in the report.
Result<EmailReport> run_email_load(boost::asio::io_context& io, const MailTarget& target,
                                   const EmailLoadOptions& options, const EmailProgress& progress);

}  // namespace post::bench
