// echo: the example plugin. A line protocol on a host-owned listening socket: every line a
// client sends comes back unchanged, except these:
//
//   ?version           answers "echo <version>"
//   ?count             answers the number of lines this plugin has served (carried across
//                      reloads)
//   !broadcast <text>  publishes <text> to the Scribe topic "broadcast" of every echo in the
//                      ring; answers "broadcast queued", or "error: <why>" (e.g. a host
//                      without POST services)
//   ?broadcasts        answers "broadcasts <n>" and then the last n (at most 16) texts this
//                      node's echo received on that topic, oldest first, one per line
//
// Config (all optional):
//   listen: "127.0.0.1:7000"   where the host listens for it (default 127.0.0.1:0, any port)
//
// It shows the parts of the SDK a real plugin needs: a listener whose connections survive a
// reload (the connections themselves are handed to the new version in the exported state,
// together with any partial line already read), a thread of its own that drain() and stop()
// join, a Scribe topic (publishing from that thread, receiving on the host's executor), metrics,
// and a state format with a version of its own.
//
// Reported metrics: echo.lines and echo.broadcasts (counters), echo.port and echo.connections
// (gauges).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "post/sdk.hpp"

// The version: ECHO_VERSION, or, for builds that link echo's compiled code with a version of
// their own (the tests' series of new builds, ECHO_VERSION_FROM_LINK), echo_build_version.
#ifdef ECHO_VERSION_FROM_LINK
extern "C" const char echo_build_version[];
#define ECHO_VERSION echo_build_version
#elif !defined(ECHO_VERSION)
#define ECHO_VERSION "1.0.0"
#endif

namespace {

using post::sdk::Bytes;
using post::sdk::Exception;

// A line longer than this is cut into pieces of this size: a client cannot make the
// plugin buffer without bound.
constexpr std::size_t kMaxLineBytes = 64 * 1024;
// The first bytes of the exported state, and its format version. Format 1 may end with the
// received broadcasts (a count, then each text with its length); readers that predate them
// stop before, and a state without them has none.
constexpr char kStateMagic[] = "echo-state";
constexpr std::uint32_t kStateFormat = 1;
// The Scribe topic of !broadcast, and how many received texts ?broadcasts keeps.
constexpr char kBroadcastTopic[] = "broadcast";
constexpr std::size_t kMaxBroadcasts = 16;
constexpr std::string_view kBroadcastCommand = "!broadcast";

// A little-endian writer and reader for the state blob.
void put_u32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
struct Reader {
  std::span<const std::uint8_t> in;
  std::size_t pos = 0;
  std::uint64_t uint(int bytes) {
    if (in.size() - pos < static_cast<std::size_t>(bytes)) {
      throw Exception(POST_ERR_INVALID_ARGUMENT, "truncated echo state");
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{in[pos + i]} << (8 * i);
    pos += bytes;
    return v;
  }
  std::string text(std::size_t n) {
    if (in.size() - pos < n) throw Exception(POST_ERR_INVALID_ARGUMENT, "truncated echo state");
    std::string s(reinterpret_cast<const char*>(in.data() + pos), n);
    pos += n;
    return s;
  }
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a client that went away is an error here, not a SIGPIPE for the node.
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

class Echo final : public post::sdk::Plugin {
 public:
  explicit Echo(post::sdk::Host& host) : Plugin(host) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Exception(POST_ERR_IO, std::string("pipe: ") + std::strerror(errno));
    }
    std::string address = host.config_string_or("listen", "127.0.0.1:0").value_or_throw();
    listener_ = std::move(host.listen(address, [this](int fd) { adopt(fd, {}); }).value_or_throw());
    host.gauge_set("port", listener_.port());
    // Without Scribe (a host with no POST services) echo still serves; !broadcast says why not.
    auto subscribed = host.scribe_subscribe(
        kBroadcastTopic, [this](std::span<const std::uint8_t> text) { received(text); });
    if (!subscribed.ok()) {
      broadcast_unavailable_ = subscribed.error().message;
      host.warn("!broadcast is unavailable: " + broadcast_unavailable_);
    }
  }

  ~Echo() override {
    stop();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  void start() override {
    if (worker_.joinable()) return;
    stopping_ = false;
    worker_ = std::thread([this] { serve(); });
    host().info(std::string("echo ") + ECHO_VERSION + " serving on port " +
                std::to_string(listener_.port()));
  }

  // Finishes the lines already read, then leaves the rest to the kernel's buffers.
  void drain() override { join_worker(); }

  void stop() override {
    join_worker();
    std::lock_guard lock(mu_);
    for (auto& [fd, pending] : connections_) ::close(fd);
    connections_.clear();
  }

  Bytes export_state() override {
    std::lock_guard lock(mu_);
    Bytes out(kStateMagic, kStateMagic + sizeof kStateMagic - 1);
    put_u32(out, kStateFormat);
    put_u64(out, lines_served_);
    put_u32(out, static_cast<std::uint32_t>(connections_.size()));
    for (auto& [fd, pending] : connections_) {
      put_u32(out, static_cast<std::uint32_t>(fd));
      put_u32(out, static_cast<std::uint32_t>(pending.size()));
      out.insert(out.end(), pending.begin(), pending.end());
    }
    put_u32(out, static_cast<std::uint32_t>(broadcasts_.size()));
    for (const std::string& text : broadcasts_) {
      put_u32(out, static_cast<std::uint32_t>(text.size()));
      out.insert(out.end(), text.begin(), text.end());
    }
    return out;
  }

  void import_state(std::span<const std::uint8_t> state) override {
#ifdef ECHO_FAIL_IMPORT
    (void)state;
    throw Exception(POST_ERR_FAILED, "this build refuses every state (test fixture)");
#else
    if (state.empty()) return;
    Reader r{state};
    if (r.text(sizeof kStateMagic - 1) != kStateMagic) {
      throw Exception(POST_ERR_INVALID_ARGUMENT, "not an echo state");
    }
    if (std::uint32_t format = static_cast<std::uint32_t>(r.uint(4)); format != kStateFormat) {
      throw Exception(POST_ERR_INVALID_ARGUMENT,
                      "echo state format " + std::to_string(format) + " is not known here");
    }
    std::uint64_t lines = r.uint(8);
    std::uint32_t count = static_cast<std::uint32_t>(r.uint(4));
    std::vector<std::pair<int, std::string> > conns;
    for (std::uint32_t i = 0; i < count; ++i) {
      int fd = static_cast<int>(r.uint(4));
      std::string pending = r.text(static_cast<std::size_t>(r.uint(4)));
      conns.emplace_back(fd, std::move(pending));
    }
    std::deque<std::string> broadcasts;
    if (r.pos < state.size()) {
      std::uint32_t n = static_cast<std::uint32_t>(r.uint(4));
      for (std::uint32_t i = 0; i < n; ++i) {
        broadcasts.push_back(r.text(static_cast<std::size_t>(r.uint(4))));
        if (broadcasts.size() > kMaxBroadcasts) broadcasts.pop_front();
      }
    }
    // Only now take anything over: the exporter keeps its own descriptors, we dup() them.
    {
      std::lock_guard lock(mu_);
      for (std::string& text : broadcasts_) broadcasts.push_back(std::move(text));
      while (broadcasts.size() > kMaxBroadcasts) broadcasts.pop_front();
      broadcasts_ = std::move(broadcasts);
    }
    lines_served_ = lines;
    for (auto& [fd, pending] : conns) {
      int mine = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (mine < 0) {
        host().warn("echo: cannot take over connection " + std::to_string(fd) + ": " +
                    std::strerror(errno));
        continue;
      }
      adopt(mine, std::move(pending));
    }
#endif
  }

 private:
  void adopt(int fd, std::string pending) {
    {
      std::lock_guard lock(mu_);
      connections_[fd] = std::move(pending);
      host().gauge_set("connections", static_cast<double>(connections_.size()));
    }
    wake();
  }

  void wake() {
    char b = 1;
    (void)!::write(wake_[1], &b, 1);
  }

  void join_worker() {
    if (!worker_.joinable()) return;
    stopping_ = true;
    wake();
    worker_.join();
  }

  // The worker: waits for input on every connection, answers complete lines.
  void serve() {
    std::vector<pollfd> fds;
    while (!stopping_) {
      fds.assign(1, pollfd{wake_[0], POLLIN, 0});
      {
        std::lock_guard lock(mu_);
        for (auto& [fd, pending] : connections_) fds.push_back(pollfd{fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
      if (fds[0].revents != 0) {
        char buf[64];
        while (::read(wake_[0], buf, sizeof buf) > 0) {
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0) serve_connection(fds[i].fd);
      }
    }
  }

  // Reads what `fd` has and answers every complete line; closes it on end of stream.
  void serve_connection(int fd) {
    char buf[16 * 1024];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return;
    std::string lines;
    {
      std::lock_guard lock(mu_);
      auto it = connections_.find(fd);
      if (it == connections_.end()) return;
      if (n <= 0) {
        ::close(fd);
        connections_.erase(it);
        host().gauge_set("connections", static_cast<double>(connections_.size()));
        return;
      }
      std::string& pending = it->second;
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t served = 0;
      std::size_t start = 0;
      for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines += answer(std::string_view(pending).substr(start, nl - start));
        ++served;
      }
      pending.erase(0, start);
      if (pending.size() >= kMaxLineBytes) {
        lines += answer(pending);
        pending.clear();
        ++served;
      }
      lines_served_ += served;
      if (served > 0) host().counter_add("lines", served);
    }
    if (!lines.empty()) (void)write_all(fd, lines);
  }

  // The reply to one line (without its newline); mu_ held.
  std::string answer(std::string_view line) {
    if (line == "?version") return std::string("echo ") + ECHO_VERSION + "\n";
    if (line == "?count") return std::to_string(lines_served_ + 1) + "\n";
    if (line == "?broadcasts") {
      std::string out = "broadcasts " + std::to_string(broadcasts_.size()) + "\n";
      for (const std::string& text : broadcasts_) out += text + "\n";
      return out;
    }
    if (line.starts_with(kBroadcastCommand)) {
      std::string_view rest = line.substr(kBroadcastCommand.size());
      if (rest.empty() || rest.front() != ' ' || rest.size() == 1) {
        return "error: usage: !broadcast <text>\n";
      }
      return broadcast(rest.substr(1));
    }
    return std::string(line) + "\n";
  }

  // Publishes `text` on the broadcast topic (from the worker thread: host functions may be
  // called from any thread). mu_ held: the host only queues the work, it calls nothing back.
  std::string broadcast(std::string_view text) {
    if (!broadcast_unavailable_.empty()) {
      return "error: broadcast unavailable: " + broadcast_unavailable_ + "\n";
    }
    auto published = host().scribe_publish(
        kBroadcastTopic, post::sdk::to_span(post::sdk::to_c(text)), [this](post::sdk::Status s) {
          if (!s.ok()) host().warn("echo: a broadcast failed: " + s.error().message);
        });
    if (!published.ok()) return "error: " + published.error().message + "\n";
    return "broadcast queued\n";
  }

  // A text published on the broadcast topic (by any echo, this one included). Runs on the
  // host's executor.
  void received(std::span<const std::uint8_t> text) {
    std::string line(reinterpret_cast<const char*>(text.data()), text.size());
    // A broadcast is one line of ?broadcasts: a stray newline would break the reply's framing.
    for (char& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    std::lock_guard lock(mu_);
    broadcasts_.push_back(std::move(line));
    if (broadcasts_.size() > kMaxBroadcasts) broadcasts_.pop_front();
    host().counter_add("broadcasts");
  }

  post::sdk::Listener listener_;
  int wake_[2] = {-1, -1};
  std::thread worker_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards what follows (the worker and the host's callbacks share them)
  std::map<int, std::string> connections_;  // fd -> bytes read past the last complete line
  std::uint64_t lines_served_ = 0;
  std::deque<std::string> broadcasts_;  // the last kMaxBroadcasts received, oldest first
  // Why !broadcast cannot work here (set in the constructor, before any thread runs); empty
  // when it can.
  std::string broadcast_unavailable_;
};

}  // namespace

POST_PLUGIN(Echo, "echo", ECHO_VERSION)
