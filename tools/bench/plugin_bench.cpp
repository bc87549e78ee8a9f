// Benchmarks of host/plugin, with a real PluginManager on an io_context running on a thread of
// its own, as in postd. Figures in docs/BENCHMARKS.md ("Plugins").
//
//   BM_HostApiCall/<function>/<calls>: a host function called the way a plugin calls it,
//     through the post_host_api table (bench_plugin.c makes <calls> calls in a row on the
//     executor and reports their time), next to the same operation called directly in C++ on a
//     host object of the same class, the same number of times, in the same iteration:
//       counter_add  api->counter_add(host, "calls", 1)   PluginMetrics::counter_add
//       gauge_set    api->gauge_set(host, "level", i)     PluginMetrics::gauge_set
//       kv_get       api->kv_get of a 16-byte value, each call made from the completion of the
//                    one before (the host completes it on the executor)
//                                                         KeyValueStore::get, same LevelDB store
//     The direct calls get the metric's full name ("bench.calls") ready made; the table's
//     function builds it from the slot's name on every call, which is part of what it costs.
//     Time is the table's batch; counters give both rates and the ratio of their costs.
//
//   BM_ReloadPause/clients:<n>: echo 1.0.0 serves <n> connections, each sending a request and
//     waiting for its answer in a loop on a thread of its own; each iteration reloads it to
//     echo 2.0.0 (and the next one back), then waits until every client has had two more
//     answers, so that each reload starts with every client served. Per reload: the wall time
//     of PluginManager::reload on the executor; the time from issuing the reload until a
//     request on a new connection is answered by the new version (the iteration's manual
//     time); and the longest wait for an answer of any client request that overlapped the
//     reload. Counters give the median and max of each over the iterations. A request left
//     without its answer, or answered wrongly, fails the benchmark.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "host/core/errors.h"
#include "host/core/log.h"
#include "host/plugin/key_value_store.h"
#include "host/plugin/plugin_manager.h"
#include "host/plugin/plugin_metrics.h"

namespace post::plugin {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Where CMake built the plugins this program loads.
const fs::path kBenchPlugin = POST_BENCH_PLUGIN;
const fs::path kEchoV1Plugin = POST_PLUGIN_ECHO;
const fs::path kEchoV2Plugin = POST_BENCH_ECHO_V2;

// An answer that takes longer than this counts as missing: the benchmark fails instead of
// hanging.
constexpr int kAnswerTimeoutSeconds = 10;
// The key bench_plugin reads with kv_get, and the size of its value.
constexpr std::string_view kKvKey = "bench-key";
constexpr std::size_t kKvValueBytes = 16;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Setup must not fail quietly: stop loudly if a step does.
template <class T>
T must(Result<T> r, std::string_view what) {
  if (!r.ok()) {
    std::cerr << "plugin_bench: " << what << ": " << r.error().to_string() << '\n';
    std::abort();
  }
  return std::move(r).value();
}

void must(Status s, std::string_view what) {
  if (!s.ok()) {
    std::cerr << "plugin_bench: " << what << ": " << s.error().to_string() << '\n';
    std::abort();
  }
}

// A fresh directory under the system temp dir, removed with this object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "plugin_bench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "plugin_bench: mkdtemp: " << std::strerror(errno) << '\n';
      std::abort();
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A blocking client of a line protocol (echo's, bench_plugin's) on 127.0.0.1.
class LineClient {
 public:
  // Connects; error() says why when it could not.
  explicit LineClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{kAnswerTimeoutSeconds, 0};
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = std::string("connect: ") + std::strerror(errno);
      close();
    }
  }
  ~LineClient() { close(); }
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;

  const std::string& error() const { return error_; }

  // Sends `line` and a newline; false when the connection failed.
  bool send_line(std::string_view line) {
    if (fd_ < 0) return false;
    std::string out = std::string(line) + "\n";
    for (std::size_t sent = 0; sent < out.size();) {
      ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = std::string("send: ") + std::strerror(errno);
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // The next line received, without its newline; nullopt when the connection fails, closes
  // or stays silent for kAnswerTimeoutSeconds.
  std::optional<std::string> read_line() {
    if (fd_ < 0) return std::nullopt;
    while (true) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n == 0 ? "connection closed" : std::string("recv: ") + std::strerror(errno);
        return std::nullopt;
      }
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  std::optional<std::string> ask(std::string_view line) {
    if (!send_line(line)) return std::nullopt;
    return read_line();
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

// A PluginManager whose io_context runs on a thread of its own, as in postd. Other threads
// reach the manager through call() and call_async(), which run on the io thread.
class PluginNode {
 public:
  explicit PluginNode(KeyValueStoreFactory kv_stores = {}) {
    fs::create_directories(plugins_dir());
    io_thread_ = std::thread([this] { io_.run(); });
    call([&] {
      manager_ = std::make_unique<PluginManager>(
          io_, PluginManagerOptions{{plugins_dir()}, dir_.path() / "run", std::move(kv_stores)});
    });
  }
  ~PluginNode() {
    call([this] { manager_.reset(); });
    work_.reset();
    io_thread_.join();
  }
  PluginNode(const PluginNode&) = delete;
  PluginNode& operator=(const PluginNode&) = delete;

  // Copies the plugin built at `built` into the plugin directory as `file`; the spec of slot
  // `slot` with that file.
  PluginSpec install(const std::string& slot, const fs::path& built, const std::string& file) {
    fs::copy_file(built, plugins_dir() / file, fs::copy_options::overwrite_existing);
    return PluginSpec{slot, plugins_dir() / file, std::nullopt};
  }

  // Runs `fn(manager)` on the io thread; the future of what it returns.
  template <class Fn>
  auto call_async(Fn fn) -> std::future<decltype(fn(std::declval<PluginManager&>()))> {
    using R = decltype(fn(std::declval<PluginManager&>()));
    auto task = std::make_shared<std::packaged_task<R()>>(
        [this, fn = std::move(fn)]() mutable { return fn(*manager_); });
    auto result = task->get_future();
    boost::asio::post(io_, [task] { (*task)(); });
    return result;
  }
  template <class Fn>
  auto call_manager(Fn fn) -> decltype(fn(std::declval<PluginManager&>())) {
    return call_async(std::move(fn)).get();
  }

  // The port the plugin in `slot` reports as its "port" gauge (bench_plugin and echo do).
  std::uint16_t port(const std::string& slot) const {
    return static_cast<std::uint16_t>(manager_->metrics().gauge(slot + ".port").value_or(0));
  }

 private:
  template <class Fn>
  void call(Fn fn) {
    std::packaged_task<void()> task(std::move(fn));
    auto done = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    done.get();
  }
  fs::path plugins_dir() const { return dir_.path() / "plugins"; }

  TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread io_thread_;
  std::unique_ptr<PluginManager> manager_;
};

// The manager logs every load and reload, and plugins may warn at init (echo does when the host
// offers no Scribe): keep the benchmark's output a table.
void quiet_logs() {
  static const bool done = [] {
    must(log::set_level("error"), "log level");
    return true;
  }();
  (void)done;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double max_of(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

// ---- Host API table against direct calls -------------------------------------------------

enum class HostFunction { kCounterAdd, kGaugeSet, kKvGet };

const char* name_of(HostFunction f) {
  switch (f) {
    case HostFunction::kCounterAdd: return "counter_add";
    case HostFunction::kGaugeSet: return "gauge_set";
    case HostFunction::kKvGet: return "kv_get";
  }
  return "?";
}

// `calls` calls of `f` made directly on the host's objects, as the host would make them; their
// time in ns, or -1 when a kv_get did not find the value.
std::int64_t time_direct_calls(HostFunction f, std::uint64_t calls, PluginMetrics& metrics,
                               KeyValueStore& store) {
  const std::string counter = "bench.calls";
  const std::string gauge = "bench.level";
  std::int64_t start = now_ns();
  switch (f) {
    case HostFunction::kCounterAdd:
      for (std::uint64_t i = 0; i < calls; ++i) metrics.counter_add(counter, 1);
      break;
    case HostFunction::kGaugeSet:
      for (std::uint64_t i = 0; i < calls; ++i) metrics.gauge_set(gauge, static_cast<double>(i));
      break;
    case HostFunction::kKvGet:
      for (std::uint64_t i = 0; i < calls; ++i) {
        auto value = store.get(kKvKey);
        if (!value.ok() || !value->has_value()) return -1;
        benchmark::DoNotOptimize(value);
      }
      break;
  }
  return now_ns() - start;
}

// Has bench_plugin make `calls` calls of `f` through the host API table; the time it measured
// in ns, or its error.
Result<std::int64_t> time_table_calls(std::uint16_t port, HostFunction f, std::uint64_t calls) {
  LineClient client(port);
  auto reply = client.ask(std::string(name_of(f)) + " " + std::to_string(calls));
  if (!reply) return make_error(std::errc::io_error, "bench_plugin: " + client.error());
  char* end = nullptr;
  long long ns = std::strtoll(reply->c_str(), &end, 10);
  if (reply->empty() || *end != '\0' || ns < 0) {
    return make_error(std::errc::protocol_error, "bench_plugin answered: " + *reply);
  }
  return static_cast<std::int64_t>(ns);
}

void BM_HostApiCall(benchmark::State& state, HostFunction f) {
  quiet_logs();
  const auto calls = static_cast<std::uint64_t>(state.range(0));
  TempDir kv_dir;
  std::shared_ptr<KeyValueStore> store =
      must(leveldb_store_factory(kv_dir.path())("bench"), "open the key-value store");
  must(store->put(kKvKey, std::string(kKvValueBytes, 'v')), "put the key-value entry");
  PluginNode node([store](const std::string&) -> Result<std::unique_ptr<KeyValueStore>> {
    return std::unique_ptr<KeyValueStore>(std::make_unique<SharedKeyValueStore>(store));
  });
  PluginSpec spec = node.install("bench", kBenchPlugin, "bench.so");
  must(node.call_manager([&](PluginManager& m) { return m.load(spec); }), "load bench_plugin");
  const std::uint16_t port = node.port("bench");

  // The direct calls' metrics hold the same names as the manager's, so their maps match.
  PluginMetrics metrics;
  metrics.gauge_set("bench.port", port);
  metrics.counter_add("bench.calls", 0);
  metrics.gauge_set("bench.level", 0);

  std::int64_t table_ns = 0;
  std::int64_t direct_ns = 0;
  bool table_first = true;  // alternates, so neither side always runs on a warmer cache
  for (auto _ : state) {
    std::int64_t direct = 0;
    if (!table_first) direct = time_direct_calls(f, calls, metrics, *store);
    auto table = time_table_calls(port, f, calls);
    if (table_first) direct = time_direct_calls(f, calls, metrics, *store);
    table_first = !table_first;
    if (!table.ok() || direct < 0) {
      state.SkipWithError(table.ok() ? "direct kv_get did not find the entry"
                                     : table.error().message.c_str());
      break;
    }
    table_ns += *table;
    direct_ns += direct;
    state.SetIterationTime(static_cast<double>(*table) * 1e-9);
  }
  if (state.error_occurred() || table_ns == 0 || direct_ns == 0) return;
  const double total = static_cast<double>(state.iterations()) * static_cast<double>(calls);
  state.counters["table_calls/s"] = total / (static_cast<double>(table_ns) * 1e-9);
  state.counters["direct_calls/s"] = total / (static_cast<double>(direct_ns) * 1e-9);
  state.counters["table_ns"] = static_cast<double>(table_ns) / total;
  state.counters["direct_ns"] = static_cast<double>(direct_ns) / total;
  state.counters["table/direct"] = static_cast<double>(table_ns) / static_cast<double>(direct_ns);
}

BENCHMARK_CAPTURE(BM_HostApiCall, counter_add, HostFunction::kCounterAdd)
    ->Arg(100000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_HostApiCall, gauge_set, HostFunction::kGaugeSet)
    ->Arg(100000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_HostApiCall, kv_get, HostFunction::kKvGet)
    ->Arg(10000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---- Reload pause -------------------------------------------------------------------------

// One connection to echo sending a request and waiting for its answer, in a loop on a thread
// of its own, from start() until stop(). It keeps the send time and latency of every request.
class EchoClient {
 public:
  struct Request {
    std::int64_t sent_ns;
    std::int64_t latency_ns;
    std::int64_t answered_ns() const { return sent_ns + latency_ns; }
  };

  EchoClient(std::uint16_t port, int id) : connection_(port), id_(id) {}
  ~EchoClient() { stop(); }
  EchoClient(const EchoClient&) = delete;
  EchoClient& operator=(const EchoClient&) = delete;

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Lets the request in flight finish, then ends the loop.
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::uint64_t answered() const { return answered_; }
  bool failed() const { return failed_; }
  // Read these once stop() has returned.
  std::uint64_t sent() const { return sent_; }
  const std::string& error() const { return error_; }
  const std::vector<Request>& requests() const { return requests_; }

 private:
  void run() {
    requests_.reserve(1 << 20);
    while (!stopping_) {
      std::string line = "client " + std::to_string(id_) + " request " + std::to_string(sent_);
      std::int64_t sent_at = now_ns();
      if (!connection_.send_line(line)) return fail("request '" + line + "' not sent");
      ++sent_;
      auto reply = connection_.read_line();
      std::int64_t answered_at = now_ns();
      if (!reply) return fail("request '" + line + "' got no answer");
      if (*reply != line) return fail("request '" + line + "' answered '" + *reply + "'");
      requests_.push_back(Request{sent_at, answered_at - sent_at});
      ++answered_;
    }
  }
  void fail(const std::string& why) {
    error_ = why + (connection_.error().empty() ? "" : ": " + connection_.error());
    failed_ = true;
  }

  LineClient connection_;
  const int id_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> answered_{0};
  std::uint64_t sent_ = 0;
  std::string error_;
  std::vector<Request> requests_;
};

// Waits until every client has answered `more` requests beyond `since` (or one failed);
// false after kAnswerTimeoutSeconds.
bool wait_for_answers(const std::vector<std::unique_ptr<EchoClient>>& clients,
                      const std::vector<std::uint64_t>& since, std::uint64_t more) {
  auto deadline = Clock::now() + std::chrono::seconds(kAnswerTimeoutSeconds);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    while (clients[i]->answered() < since[i] + more) {
      if (clients[i]->failed() || Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  return true;
}

std::vector<std::uint64_t> answered_counts(const std::vector<std::unique_ptr<EchoClient>>& c) {
  std::vector<std::uint64_t> counts;
  for (const auto& client : c) counts.push_back(client->answered());
  return counts;
}

// What the clients did, once stopped.
struct ClientTotals {
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::string failure;  // the first client's error, if any
};

ClientTotals stop_clients(const std::vector<std::unique_ptr<EchoClient>>& clients) {
  ClientTotals totals;
  for (const auto& client : clients) {
    client->stop();
    totals.sent += client->sent();
    totals.answered += client->answered();
    if (totals.failure.empty()) totals.failure = client->error();
  }
  return totals;
}

// Opens new connections and asks "?version" until `expected` answers; the error otherwise.
Status wait_for_version_on_new_connection(std::uint16_t port, const std::string& expected) {
  auto deadline = Clock::now() + std::chrono::seconds(kAnswerTimeoutSeconds);
  while (true) {
    LineClient probe(port);
    auto reply = probe.ask("?version");
    if (!reply) return make_error(std::errc::io_error, "probe: " + probe.error());
    if (*reply == expected) return ok_status();
    if (Clock::now() > deadline) {
      return make_error(std::errc::timed_out, "probe: still '" + *reply + "', not " + expected);
    }
  }
}

// The longest latency of a request of `requests` (in order of sending) that overlapped
// [from_ns, to_ns].
std::int64_t longest_overlapping(const std::vector<EchoClient::Request>& requests,
                                 std::int64_t from_ns, std::int64_t to_ns) {
  // A client has one request in flight at a time, so answer times are in order too.
  auto it = std::partition_point(requests.begin(), requests.end(),
                                 [&](const auto& r) { return r.answered_ns() < from_ns; });
  std::int64_t longest = 0;
  for (; it != requests.end() && it->sent_ns <= to_ns; ++it) {
    longest = std::max(longest, it->latency_ns);
  }
  return longest;
}

void BM_ReloadPause(benchmark::State& state) {
  quiet_logs();
  const int client_count = static_cast<int>(state.range(0));
  PluginNode node;
  const PluginSpec v1 = node.install("echo", kEchoV1Plugin, "echo.so");
  const PluginSpec v2 = node.install("echo", kEchoV2Plugin, "echo_v2.so");
  must(node.call_manager([&](PluginManager& m) { return m.load(v1); }), "load echo 1.0.0");
  const std::uint16_t port = node.port("echo");

  std::vector<std::unique_ptr<EchoClient>> clients;
  for (int i = 0; i < client_count; ++i) {
    clients.push_back(std::make_unique<EchoClient>(port, i));
    clients.back()->start();
  }
  if (!wait_for_answers(clients, answered_counts(clients), 100)) {
    ClientTotals totals = stop_clients(clients);
    std::string why = "echo 1.0.0 did not answer the clients: " + totals.failure;
    state.SkipWithError(why.c_str());
    return;
  }

  struct ReloadRun {
    Status status;
    std::int64_t began_ns = 0;
    std::int64_t ended_ns = 0;
  };
  struct Window {
    std::int64_t from_ns;
    std::int64_t to_ns;
  };
  std::vector<double> reload_us;
  std::vector<double> serving_us;
  std::vector<Window> windows;
  bool to_v2 = true;
  bool unanswered = false;
  for (auto _ : state) {
    const PluginSpec& spec = to_v2 ? v2 : v1;
    const std::string expected = to_v2 ? "echo 2.0.0" : "echo 1.0.0";
    to_v2 = !to_v2;
    std::int64_t issued = now_ns();
    auto reloaded = node.call_async([&spec](PluginManager& m) {
      ReloadRun run;
      run.began_ns = now_ns();
      run.status = m.reload(spec);
      run.ended_ns = now_ns();
      return run;
    });
    Status serving = wait_for_version_on_new_connection(port, expected);
    std::int64_t served = now_ns();
    ReloadRun run = reloaded.get();
    if (!run.status.ok() || !serving.ok()) {
      const Error& why = !run.status.ok() ? run.status.error() : serving.error();
      state.SkipWithError(why.to_string().c_str());
      break;
    }
    state.SetIterationTime(static_cast<double>(served - issued) * 1e-9);
    reload_us.push_back(static_cast<double>(run.ended_ns - run.began_ns) * 1e-3);
    serving_us.push_back(static_cast<double>(served - issued) * 1e-3);
    windows.push_back(Window{issued, std::max(served, run.ended_ns)});
    // Every request that overlapped this reload has its answer once each client has answered
    // two more; so the next reload finds every client served again.
    if (!wait_for_answers(clients, answered_counts(clients), 2)) {
      unanswered = true;
      break;
    }
  }

  ClientTotals totals = stop_clients(clients);
  if (state.error_occurred()) return;
  if (!totals.failure.empty() || unanswered || totals.sent != totals.answered) {
    std::string why = !totals.failure.empty() ? totals.failure
                      : unanswered            ? "a client's request got no answer after a reload"
                                   : std::to_string(totals.sent - totals.answered) + " of " +
                                         std::to_string(totals.sent) + " requests not answered";
    state.SkipWithError(why.c_str());
    return;
  }

  std::vector<double> gap_us;
  for (const Window& w : windows) {
    std::int64_t longest = 0;
    for (const auto& client : clients) {
      longest = std::max(longest, longest_overlapping(client->requests(), w.from_ns, w.to_ns));
    }
    gap_us.push_back(static_cast<double>(longest) * 1e-3);
  }
  std::vector<double> request_us;
  for (const auto& client : clients) {
    for (const auto& r : client->requests()) {
      request_us.push_back(static_cast<double>(r.latency_ns) * 1e-3);
    }
  }
  state.counters["reload_p50_us"] = median(reload_us);
  state.counters["reload_max_us"] = max_of(reload_us);
  state.counters["serving_p50_us"] = median(serving_us);
  state.counters["serving_max_us"] = max_of(serving_us);
  state.counters["gap_p50_us"] = median(gap_us);
  state.counters["gap_max_us"] = max_of(gap_us);
  state.counters["request_p50_us"] = median(std::move(request_us));
  state.counters["requests"] = static_cast<double>(totals.answered);
  state.counters["lost"] = static_cast<double>(totals.sent - totals.answered);
}

BENCHMARK(BM_ReloadPause)
    ->ArgName("clients")
    ->Arg(1)
    ->Arg(8)
    ->Iterations(500)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace post::plugin
