// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "tools/post-bench/email_load.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "host/core/bytes.h"
#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "tools/post-bench/interruption.h"

// GCC 12 pairs the sized operator delete of Boost.Asio's coroutine frames with the wrong
// allocation function and warns (a known false positive with coroutine frames); they are allocated
// and freed by Asio's own matching pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace post::bench {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Failures quoted in full; the rest are counted.
constexpr std::size_t kErrorsKept = 5;
// A reply line longer than this ends the connection: no SMTP or IMAP line of this workload
// comes near it.
constexpr std::size_t kMaxLineBytes = 64 * 1024;
// The largest IMAP literal accepted: the workload fetches one header field per message.
constexpr std::size_t kMaxLiteralBytes = 1 << 20;
// Servers that were just started may not listen yet: connections refused are retried this
// long.
constexpr auto kConnectWindow = 10s;
constexpr auto kConnectRetry = 100ms;
// How often an idling watcher checks whether it is done (it reads in slices this long).
constexpr auto kIdleSlice = 100ms;
// Body lines of the generated messages, without CRLF.
constexpr std::size_t kBodyLineBytes = 72;

// A failure inside a client coroutine; caught where the coroutine begins and turned into a
// counted error. Never leaves this file.
struct ClientFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A TCP connection read by lines (and IMAP literals), every read with a timeout.
class LineConnection {
 public:
  explicit LineConnection(const asio::any_io_executor& executor) : socket_(executor) {}

  // Connects, retrying refused connections for `window`.
  awaitable<void> connect(tcp::endpoint endpoint, Clock::duration window) {
    auto deadline = Clock::now() + window;
    for (;;) {
      boost::system::error_code ec;
      co_await socket_.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
      boost::system::error_code ignored;
      if (!ec) {
        socket_.set_option(tcp::no_delay(true), ignored);
        co_return;
      }
      socket_.close(ignored);
      if (ec != asio::error::connection_refused || Clock::now() >= deadline) {
        throw ClientFailure("cannot connect to " + endpoint.address().to_string() + ":" +
                            std::to_string(endpoint.port()) + ": " + ec.message());
      }
      asio::steady_timer pause(socket_.get_executor(), kConnectRetry);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }

  // The next line, without its CRLF; nullopt when no whole line came within `timeout` (the
  // connection stays usable). Throws ClientFailure when the connection fails or closes.
  awaitable<std::optional<std::string>> read_line(Clock::duration timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        co_return line;
      }
      if (buffer_.size() > kMaxLineBytes) throw ClientFailure("a reply line over 64 KiB");
      if (!co_await read_more(deadline)) co_return std::nullopt;
    }
  }

  // Exactly `n` bytes (an IMAP literal). Throws ClientFailure on a timeout too.
  awaitable<std::string> read_exact(std::size_t n, Clock::duration timeout) {
    auto deadline = Clock::now() + timeout;
    while (buffer_.size() < n) {
      if (!co_await read_more(deadline)) throw ClientFailure("no literal within the timeout");
    }
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    co_return out;
  }

  awaitable<void> write(std::string data) {
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(data),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw ClientFailure("write failed: " + ec.message());
  }

  // Ends the connection; reads and writes in progress fail.
  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // Appends what the socket has to buffer_; false when nothing came before `deadline`.
  awaitable<bool> read_more(Clock::time_point deadline) {
    if (Clock::now() >= deadline) co_return false;
    // Shared with the timer's handler, which may run after this read is over.
    struct Watch {
      bool reading = true;
      bool expired = false;
    };
    auto watch = std::make_shared<Watch>();
    asio::steady_timer timer(socket_.get_executor(), deadline);
    timer.async_wait([watch, socket = &socket_](boost::system::error_code ec) {
      // `socket` is alive while the read is in progress: its coroutine is suspended in it.
      if (ec || !watch->reading) return;
      watch->expired = true;
      boost::system::error_code ignored;
      socket->cancel(ignored);
    });
    boost::system::error_code ec;
    std::size_t n = co_await socket_.async_read_some(asio::buffer(chunk_),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    watch->reading = false;
    timer.cancel();
    if (ec == asio::error::operation_aborted && watch->expired) co_return false;
    if (ec == asio::error::eof) throw ClientFailure("the server closed the connection");
    if (ec) throw ClientFailure("read failed: " + ec.message());
    buffer_.append(chunk_.data(), n);
    co_return true;
  }

  tcp::socket socket_;
  std::string buffer_;
  std::array<char, 16 * 1024> chunk_{};
};

// Shared by the coroutines of one run and run_email_load, on the io_context's thread.
struct RunState {
  MailTarget target;
  EmailLoadOptions options;
  EmailProgress progress;

  std::size_t next = 0;  // the next message a submitter takes
  std::size_t submitters_running = 0;
  std::optional<Clock::time_point> submissions_over;  // when the last submitter ended
  std::optional<Clock::time_point> first_submit;
  Clock::time_point last_accept{};
  std::size_t accepted = 0;
  std::vector<std::optional<Clock::time_point>> started_at;   // per message: MAIL FROM sent
  std::vector<std::optional<Clock::time_point>> accepted_at;  // per message
  std::vector<std::optional<Clock::time_point>> visible_at;   // per message

  bool watcher_ready = false;  // INBOX selected: submissions may start
  bool watcher_done = false;
  std::optional<std::string> watcher_error;
  std::size_t duplicates = 0;

  bool stopped = false;  // interrupted: every coroutine ends as soon as it can
  std::vector<std::weak_ptr<LineConnection>> connections;
  std::size_t errors_noted = 0;
  std::vector<std::string> first_errors;

  void note_error(std::string message) {
    ++errors_noted;
    if (first_errors.size() < kErrorsKept) first_errors.push_back(std::move(message));
  }
};

std::string message_id_prefix(const RunState& st) {
  return "post-bench." + st.options.run_id + ".";
}

std::string rfc5322_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::array<char, 64> out{};
  std::strftime(out.data(), out.size(), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return out.data();
}

// Message `i` as DATA sends it: headers, a body of about body_bytes in 72-column lines, the
// final dot. No line starts with a dot, so none needs stuffing.
std::string message_text(const RunState& st, std::size_t i) {
  std::string text = "From: <" + st.target.sender + ">\r\nTo: <" + st.target.recipient +
                     ">\r\nSubject: post-bench message " + std::to_string(i) +
                     "\r\nDate: " + rfc5322_date() + "\r\nMessage-ID: <" + message_id_prefix(st) +
                     std::to_string(i) +
                     "@bench.invalid>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
                     "charset=us-ascii\r\n\r\n";
  std::size_t body = 0;
  for (std::size_t line = 0; body < st.options.body_bytes; ++line) {
    std::string l = "message " + std::to_string(i) + " line " + std::to_string(line) + " ";
    l.resize(std::min(kBodyLineBytes, st.options.body_bytes - body), 'x');
    body += l.size() + 2;
    text += l + "\r\n";
  }
  text += ".\r\n";
  return text;
}

struct SmtpReply {
  int code = 0;
  std::string text;  // every line, joined with " / "
};

awaitable<SmtpReply> read_smtp_reply(LineConnection& c, Clock::duration timeout) {
  SmtpReply reply;
  for (;;) {
    auto line = co_await c.read_line(timeout);
    if (!line) throw ClientFailure("no SMTP reply within the timeout");
    if (line->size() < 3 || !std::all_of(line->begin(), line->begin() + 3,
                                         [](char ch) { return ch >= '0' && ch <= '9'; })) {
      throw ClientFailure("not an SMTP reply: " + line->substr(0, 200));
    }
    reply.code = std::stoi(line->substr(0, 3));
    if (!reply.text.empty()) reply.text += " / ";
    reply.text += *line;
    if (line->size() == 3 || (*line)[3] == ' ') co_return reply;
    if ((*line)[3] != '-') throw ClientFailure("not an SMTP reply: " + line->substr(0, 200));
  }
}

// Sends `command` (without CRLF) and reads the reply; throws unless its code is `expected`.
awaitable<SmtpReply> smtp_step(LineConnection& c, std::string command, int expected,
                               Clock::duration timeout) {
  co_await c.write(command + "\r\n");
  SmtpReply reply = co_await read_smtp_reply(c, timeout);
  if (reply.code != expected) {
    std::string shown = command.rfind("AUTH ", 0) == 0 ? "AUTH PLAIN" : command;
    throw ClientFailure(shown + ": " + reply.text);
  }
  co_return reply;
}

// One SMTP connection: AUTH PLAIN, then messages taken from st->next until none are left.
awaitable<void> submit_messages(std::shared_ptr<RunState> st) {
  auto conn = std::make_shared<LineConnection>(co_await asio::this_coro::executor);
  st->connections.push_back(conn);
  const auto timeout = Clock::duration(st->options.reply_timeout);
  std::optional<std::size_t> current;
  try {
    co_await conn->connect(st->target.smtp, kConnectWindow);
    SmtpReply greeting = co_await read_smtp_reply(*conn, timeout);
    if (greeting.code != 220) throw ClientFailure("greeting: " + greeting.text);
    co_await smtp_step(*conn, "EHLO post-bench.localhost", 250, timeout);
    std::string plain = std::string(1, '\0') + st->target.sender + std::string(1, '\0') +
                        st->target.sender_password;
    co_await smtp_step(*conn, "AUTH PLAIN " + crypto::base64_encode(as_bytes(plain)), 235, timeout);
    while (!st->stopped && st->next < st->options.messages) {
      std::size_t i = st->next++;
      current = i;
      st->started_at[i] = Clock::now();
      if (!st->first_submit) st->first_submit = st->started_at[i];
      co_await smtp_step(*conn, "MAIL FROM:<" + st->target.sender + ">", 250, timeout);
      co_await smtp_step(*conn, "RCPT TO:<" + st->target.recipient + ">", 250, timeout);
      co_await smtp_step(*conn, "DATA", 354, timeout);
      co_await conn->write(message_text(*st, i));
      SmtpReply reply = co_await read_smtp_reply(*conn, timeout);
      if (reply.code != 250) throw ClientFailure("end of DATA: " + reply.text);
      auto now = Clock::now();
      st->accepted_at[i] = now;
      st->last_accept = now;
      ++st->accepted;
      current.reset();
    }
    if (!st->stopped) co_await smtp_step(*conn, "QUIT", 221, timeout);
  } catch (const std::exception& e) {
    if (!st->stopped) {
      st->note_error(st->target.system + " SMTP " +
                     (current ? "message #" + std::to_string(*current) + ": " : "session: ") +
                     e.what());
    }
  }
  conn->close();
  if (--st->submitters_running == 0) st->submissions_over = Clock::now();
}

std::string imap_quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// The IMAP side: a watcher of the recipient's INBOX.
class InboxWatcher {
 public:
  InboxWatcher(std::shared_ptr<RunState> st, std::shared_ptr<LineConnection> conn)
      : st_(std::move(st)), conn_(std::move(conn)), timeout_(st_->options.reply_timeout) {}

  awaitable<void> run() {
    co_await conn_->connect(st_->target.imap, kConnectWindow);
    auto greeting = co_await conn_->read_line(timeout_);
    if (!greeting || greeting->rfind("* OK", 0) != 0) {
      throw ClientFailure("IMAP greeting: " + greeting.value_or("(none)"));
    }
    co_await command("LOGIN " + imap_quoted(st_->target.recipient) + " " +
                     imap_quoted(st_->target.recipient_password));
    co_await command("SELECT INBOX");
    if (exists_ != 0) {
      throw ClientFailure("the INBOX of " + st_->target.recipient + " holds " +
                          std::to_string(exists_) + " messages before the run; it must be empty");
    }
    st_->watcher_ready = true;
    for (;;) {
      co_await wait_for_news();
      if (st_->stopped) co_return;
      if (exists_ > fetched_) co_await fetch_new();
      if (done()) break;
      if (past_deadline()) break;
    }
    co_await command("LOGOUT");
  }

 private:
  bool submissions_over() const { return st_->submissions_over.has_value(); }
  // Every accepted message was matched.
  bool done() const {
    if (!submissions_over()) return false;
    for (std::size_t i = 0; i < st_->options.messages; ++i) {
      if (st_->accepted_at[i] && !st_->visible_at[i]) return false;
    }
    return true;
  }
  bool past_deadline() const {
    return submissions_over() &&
           Clock::now() >= *st_->submissions_over + st_->options.visible_timeout;
  }
  // The mailbox holds enough new messages to cover every accepted one not matched yet.
  bool enough_news() const {
    return submissions_over() && exists_ - useless_ >= st_->accepted && exists_ > fetched_;
  }

  // Untagged responses that matter here: EXISTS (stamped) and FETCH (matched).
  void on_untagged(const std::string& response, Clock::time_point at) {
    // "* 12 EXISTS", "* 12 FETCH (...)"
    std::size_t p = 2;
    std::size_t digits_end = p;
    while (digits_end < response.size() && response[digits_end] >= '0' &&
           response[digits_end] <= '9') {
      ++digits_end;
    }
    if (digits_end == p || digits_end - p > 9) return;
    std::size_t n = std::stoul(response.substr(p, digits_end - p));
    std::string rest = response.substr(digits_end);
    if (rest == " EXISTS") {
      if (n > exists_) {
        exists_ = n;
        stamps_.emplace_back(n, at);
        if (st_->progress) st_->progress(std::min(n, st_->options.messages), st_->options.messages);
      }
    } else if (rest.rfind(" FETCH ", 0) == 0) {
      on_fetched(n, rest);
    }
  }

  // Matches sequence number `seq` to the message whose Message-ID its header holds.
  void on_fetched(std::size_t seq, const std::string& data) {
    std::string prefix = message_id_prefix(*st_);
    auto at = data.find(prefix);
    std::optional<std::size_t> index;
    if (at != std::string::npos) {
      std::size_t p = at + prefix.size();
      std::size_t end = p;
      while (end < data.size() && data[end] >= '0' && data[end] <= '9') ++end;
      if (end > p && end - p <= 9) index = std::stoul(data.substr(p, end - p));
    }
    if (!index || *index >= st_->options.messages) {
      ++useless_;
      st_->note_error(st_->target.system + " IMAP: message " + std::to_string(seq) +
                      " of the INBOX is none of this run's");
      return;
    }
    if (st_->visible_at[*index]) {
      ++useless_;
      ++st_->duplicates;
      st_->note_error(st_->target.system + " IMAP: message #" + std::to_string(*index) +
                      " is in the INBOX more than once");
      return;
    }
    // The first EXISTS that counted this sequence number.
    auto stamp = std::lower_bound(stamps_.begin(), stamps_.end(), seq,
                                  [](const auto& s, std::size_t v) { return s.first < v; });
    st_->visible_at[*index] = stamp == stamps_.end() ? Clock::now() : stamp->second;
  }

  // Reads one response: a line, with any literals ({N} at its end) and the lines after them
  // joined in. Untagged ones go to on_untagged. nullopt on a timeout.
  awaitable<std::optional<std::string>> read_response(Clock::duration timeout) {
    auto line = co_await conn_->read_line(timeout);
    if (!line) co_return std::nullopt;
    auto at = Clock::now();
    std::string response = *line;
    while (!response.empty() && response.back() == '}') {
      auto open = response.rfind('{');
      if (open == std::string::npos) break;
      std::string count = response.substr(open + 1, response.size() - open - 2);
      if (!count.empty() && count.back() == '+') count.pop_back();
      if (count.empty() || count.size() > 9 ||
          !std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        break;
      }
      std::size_t n = std::stoul(count);
      if (n > kMaxLiteralBytes) throw ClientFailure("an IMAP literal over 1 MiB");
      std::string literal = co_await conn_->read_exact(n, timeout_);
      response += "\r\n";
      response += literal;
      auto more = co_await conn_->read_line(timeout_);
      if (!more) throw ClientFailure("no IMAP response after a literal within the timeout");
      response += *more;
    }
    if (response.rfind("* ", 0) == 0) on_untagged(response, at);
    co_return response;
  }

  // Sends `text` with a new tag and reads until its tagged answer; throws unless it is OK.
  awaitable<void> command(std::string text) {
    std::string tag = "b" + std::to_string(++tags_);
    co_await conn_->write(tag + " " + text + "\r\n");
    co_await until_tagged(tag, text);
  }

  awaitable<void> until_tagged(std::string tag, std::string what) {
    for (;;) {
      auto response = co_await read_response(timeout_);
      if (!response) throw ClientFailure("no answer to IMAP " + shown(what) + " in time");
      if (response->rfind(tag + " ", 0) != 0) continue;
      if (response->rfind(tag + " OK", 0) != 0) {
        throw ClientFailure("IMAP " + shown(what) + ": " + response->substr(0, 300));
      }
      co_return;
    }
  }

  static std::string shown(const std::string& command) {
    return command.rfind("LOGIN ", 0) == 0 ? "LOGIN" : command;
  }

  // Returns when the mailbox holds enough news to fetch, past the deadline, or when stopped.
  awaitable<void> wait_for_news() {
    if (st_->options.watch == WatchMode::kIdle) {
      std::string tag = "b" + std::to_string(++tags_);
      co_await conn_->write(tag + " IDLE\r\n");
      for (;;) {
        auto response = co_await read_response(timeout_);
        if (!response) throw ClientFailure("no answer to IMAP IDLE in time");
        if (response->rfind("+", 0) == 0) break;
        if (response->rfind(tag + " ", 0) == 0) {
          throw ClientFailure("IMAP IDLE: " + response->substr(0, 300));
        }
      }
      while (!st_->stopped && !enough_news() && !past_deadline()) {
        co_await read_response(kIdleSlice);
      }
      if (st_->stopped) co_return;
      co_await conn_->write("DONE\r\n");
      co_await until_tagged(tag, "IDLE");
      co_return;
    }
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (!st_->stopped && !enough_news() && !past_deadline()) {
      co_await command("NOOP");
      if (enough_news()) break;
      pause.expires_after(st_->options.poll_interval);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }

  awaitable<void> fetch_new() {
    std::size_t upto = exists_;
    co_await command("FETCH " + std::to_string(fetched_ + 1) + ":" + std::to_string(upto) +
                     " (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
    fetched_ = upto;
  }

  std::shared_ptr<RunState> st_;
  std::shared_ptr<LineConnection> conn_;
  Clock::duration timeout_;
  std::size_t tags_ = 0;
  std::size_t exists_ = 0;   // the largest EXISTS so far
  std::size_t fetched_ = 0;  // sequence numbers 1..fetched_ were matched (or found useless)
  std::size_t useless_ = 0;  // sequence numbers holding a duplicate or another message
  // (EXISTS count, when it was read), counts increasing.
  std::vector<std::pair<std::size_t, Clock::time_point>> stamps_;
};

awaitable<void> watch_inbox(std::shared_ptr<RunState> st) {
  auto conn = std::make_shared<LineConnection>(co_await asio::this_coro::executor);
  st->connections.push_back(conn);
  try {
    InboxWatcher watcher(st, conn);
    co_await watcher.run();
  } catch (const std::exception& e) {
    st->watcher_error =
        st->target.system + " IMAP client of " + st->target.recipient + ": " + e.what();
  }
  conn->close();
  st->watcher_done = true;
}

// Ends every coroutine of the run: closes their connections and runs their handlers.
void stop_run(asio::io_context& io, RunState& st) {
  st.stopped = true;
  for (auto& weak : st.connections) {
    if (auto c = weak.lock()) c->close();
  }
  auto deadline = Clock::now() + 2s;
  while (Clock::now() < deadline && (st.submitters_running > 0 || !st.watcher_done)) {
    if (io.stopped()) io.restart();
    io.run_one_for(10ms);
  }
}

Error load_error(const std::string& message) {
  return make_error(CoreErrc::kIoError, message);
}

}  // namespace

double EmailReport::per_second() const {
  return seconds > 0 ? static_cast<double>(visible) / seconds : 0.0;
}

double EmailReport::accepted_per_second() const {
  return submit_seconds > 0 ? static_cast<double>(accepted) / submit_seconds : 0.0;
}

namespace {

double nearest_rank(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

double EmailReport::percentile_ms(double p) const {
  return nearest_rank(latencies_ms, p);
}

double EmailReport::end_to_end_percentile_ms(double p) const {
  return nearest_rank(end_to_end_ms, p);
}

Result<EmailReport> run_email_load(asio::io_context& io, const MailTarget& target,
                                   const EmailLoadOptions& options, const EmailProgress& progress) {
  auto st = std::make_shared<RunState>();
  st->target = target;
  st->options = options;
  st->progress = progress;
  st->started_at.resize(options.messages);
  st->accepted_at.resize(options.messages);
  st->visible_at.resize(options.messages);

  asio::co_spawn(io, watch_inbox(st), asio::detached);
  bool ready = run_until(
      io, [&] { return st->watcher_ready || st->watcher_done; },
      Clock::now() + kConnectWindow + 3 * Clock::duration(options.reply_timeout));
  if (!ready || !st->watcher_ready) {
    stop_run(io, *st);
    if (interrupted()) return load_error("interrupted");
    return load_error(st->watcher_error.value_or(
        target.system + " IMAP client of " + target.recipient + ": INBOX not selected in time"));
  }

  std::size_t connections = std::min(options.concurrency, options.messages);
  st->submitters_running = connections;
  for (std::size_t c = 0; c < connections; ++c) {
    asio::co_spawn(io, submit_messages(st), asio::detached);
  }
  bool finished = run_until(
      io, [&] { return st->watcher_done && st->submitters_running == 0; },
      Clock::time_point::max());
  if (!finished) {
    stop_run(io, *st);
    return load_error("interrupted");
  }
  if (st->watcher_error) return load_error(*st->watcher_error);

  EmailReport report;
  report.messages = options.messages;
  report.accepted = st->accepted;
  std::optional<Clock::time_point> last_visible;
  std::size_t invisible = 0;
  for (std::size_t i = 0; i < options.messages; ++i) {
    const auto& accepted = st->accepted_at[i];
    const auto& visible = st->visible_at[i];
    if (accepted && visible) {
      ++report.visible;
      // A message can be announced before its 250 reply is read (both arrive on this
      // thread); its latency is then 0.
      auto latency = std::max(Clock::duration::zero(), *visible - *accepted);
      report.latencies_ms.push_back(std::chrono::duration<double, std::milli>(latency).count());
      report.end_to_end_ms.push_back(
          std::chrono::duration<double, std::milli>(*visible - *st->started_at[i]).count());
      if (!last_visible || *visible > *last_visible) last_visible = *visible;
    } else if (accepted) {
      if (invisible++ < kErrorsKept) {
        st->note_error(target.system + " message #" + std::to_string(i) +
                       " was accepted but not visible over IMAP within " +
                       std::to_string(options.visible_timeout.count()) + " s");
      }
    }
  }
  if (st->next < options.messages) {
    st->note_error(target.system + ": " + std::to_string(options.messages - st->next) +
                   " messages were never submitted (every SMTP connection failed)");
  }
  report.errors = (options.messages - report.visible) + st->duplicates;
  if (st->first_submit) {
    if (last_visible) {
      report.seconds = std::chrono::duration<double>(*last_visible - *st->first_submit).count();
    }
    if (st->accepted > 0) {
      report.submit_seconds =
          std::chrono::duration<double>(st->last_accept - *st->first_submit).count();
    }
  }
  report.first_errors = st->first_errors;
  return report;
}

}  // namespace post::bench
