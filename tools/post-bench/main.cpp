// post-bench: benchmarks of a real local cluster. It starts N postd processes on 127.0.0.1
// (a CA, node identities and configurations made for the run), drives them through their
// admin endpoints, and stops them again, also on errors and on Ctrl-C.
//
//   post-bench past --nodes N --k K --size BYTES --ops M [--concurrency C] [--seed X] [--json]
//                   [--keep DIR] [--postd PATH] [--post-ca PATH] [--ready-timeout SECONDS]
//
// `past`: M puts of BYTES bytes of seeded random content, round-robin over the nodes, C in
// flight; then M gets of the stored handles, each through another node than the one that
// put it, every payload compared with what was put (tools/post-bench/past_load.h).
//
// With --json, stdout holds exactly one JSON object: nodes, k, size, ops, inserts_per_s,
// lookups_per_s, insert_p50_ms, insert_p99_ms, lookup_p50_ms, lookup_p99_ms (latencies of the
// operations that succeeded) and errors (failed puts and gets); or {"error": message} when
// there is no result (the cluster did not come up, or the run was interrupted). Progress goes
// to stderr, and only when stderr is a terminal.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "host/past/block.h"
#include "tools/post-bench/interruption.h"
#include "tools/post-bench/local_cluster.h"
#include "tools/post-bench/past_load.h"

namespace {

using namespace post::bench;
using Json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailures = 1;   // an operation failed, or a node exited during the run
constexpr int kExitUsage = 2;      // the command line does not parse
constexpr int kExitNoCluster = 3;  // the cluster could not be set up or did not come up
// post-sim past bounds k the same way: at most half of the default leaf set (24).
constexpr int kMaxReplicas = 12;
// Room for the Block message around the content (the difference between PAST's largest
// block and its largest payload), for sizing the quota.
constexpr std::uint64_t kBlockOverheadBytes =
    post::past::kMaxBlockBytes - post::past::kMaxPayloadBytes;
constexpr std::uint64_t kMinQuotaBytes = std::uint64_t{1} << 30;  // postd's default
// Redraws of the progress line at most this often.
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 30;

// Draws "insert [#####.....] 1234/2000" on a terminal's last line; does nothing when stderr
// is not a terminal.
class ProgressBar {
 public:
  ProgressBar() : enabled_(::isatty(STDERR_FILENO) == 1) {}

  void draw(const char* label, std::size_t done, std::size_t total, const char* unit) {
    if (!enabled_) return;
    auto now = SteadyClock::now();
    if (done < total && drawn_ && now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    int filled = total == 0 ? kBarWidth : static_cast<int>(done * kBarWidth / total);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(stderr, "\r%-7s [%s] %zu/%zu %s ", label, bar.c_str(), done, total, unit);
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  SteadyClock::time_point last_draw_{};
};

double rounded(double v, int decimals) {
  double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

struct PastArguments {
  int nodes = 8;
  int k = 3;
  std::size_t size = 1024;
  std::size_t ops = 1000;
  std::size_t concurrency = 8;
  std::uint64_t seed = 1;
  bool json = false;
  std::string keep_dir;
  std::string postd = POSTD_BIN;
  std::string post_ca = POST_CA_BIN;
  int ready_timeout_seconds = 60;
};

// Reports `message` on stderr and, with --json, as {"error": message} on stdout.
int fail(int code, const std::string& message, bool json) {
  std::cerr << "post-bench: " << message << "\n";
  if (json) std::cout << Json{{"error", message}}.dump() << "\n";
  return code;
}

// Keeps the cluster's directory after a failure, and says where it is.
void keep_for_diagnosis(LocalCluster& cluster) {
  cluster.keep_directory();
  std::cerr << "post-bench: the cluster's files (configurations, data, logs) are kept in "
            << cluster.directory() << "\n";
}

int interrupted_exit(bool json) {
  return fail(128 + interrupt_signal(), "interrupted; stopping the nodes", json);
}

void print_phase(const char* name, const char* unit, const PhaseReport& r) {
  std::printf("  %-8s %zu of %zu ok in %.2f s: %.1f %s/s; latency p50 %.2f ms, p99 %.2f ms\n", name,
              r.succeeded, r.attempted, r.seconds, r.per_second(), unit, r.percentile_ms(0.50),
              r.percentile_ms(0.99));
}

int run_past(const PastArguments& a) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  ProgressBar bar;

  ClusterOptions options;
  options.postd_path = a.postd;
  options.post_ca_path = a.post_ca;
  options.nodes = a.nodes;
  options.replicas = a.k;
  // A node holds at most one replica of each block, so this quota is never what fails.
  options.quota_bytes = std::max<std::uint64_t>(
      kMinQuotaBytes, static_cast<std::uint64_t>(a.ops) * (a.size + kBlockOverheadBytes));
  options.directory = a.keep_dir;
  options.ready_timeout = std::chrono::seconds(a.ready_timeout_seconds);

  auto started = SteadyClock::now();
  auto prepared = LocalCluster::prepare(options);
  if (!prepared.ok()) {
    if (interrupted()) return interrupted_exit(a.json);
    return fail(kExitNoCluster, "cannot set up the cluster: " + prepared.error().message, a.json);
  }
  LocalCluster& cluster = **prepared;
  auto started_nodes = cluster.start(io, [&](int ready, int total) {
    bar.draw("cluster", static_cast<std::size_t>(ready), static_cast<std::size_t>(total),
             "nodes ready");
  });
  bar.finish();
  if (interrupted()) return interrupted_exit(a.json);
  if (!started_nodes.ok()) {
    int code = fail(kExitNoCluster, "the cluster did not come up: " + started_nodes.error().message,
                    a.json);
    keep_for_diagnosis(cluster);
    return code;
  }
  double ready_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();

  LoadOptions load_options;
  load_options.size = a.size;
  load_options.ops = a.ops;
  load_options.concurrency = a.concurrency;
  load_options.seed = a.seed;
  load_options.replicas = a.k;
  PastLoad load(io, cluster.nodes(), load_options);
  if (auto s = load.connect(); !s.ok()) {
    if (interrupted()) return interrupted_exit(a.json);
    int code = fail(kExitNoCluster, s.error().message, a.json);
    keep_for_diagnosis(cluster);
    return code;
  }
  auto inserted = load.insert(
      [&](std::size_t done, std::size_t total) { bar.draw("insert", done, total, "puts"); });
  bar.finish();
  if (!inserted.ok()) return interrupted_exit(a.json);
  auto looked_up = load.lookup(
      [&](std::size_t done, std::size_t total) { bar.draw("lookup", done, total, "gets"); });
  bar.finish();
  if (!looked_up.ok()) return interrupted_exit(a.json);

  auto still_running = cluster.check_running();
  for (const auto& name : cluster.stop()) {
    std::cerr << "post-bench: " << name
              << " did not stop in time after SIGTERM; killed it (SIGKILL)\n";
  }
  const PhaseReport& ins = *inserted;
  const PhaseReport& look = *looked_up;
  std::size_t errors = ins.failed + look.failed;

  if (a.json) {
    Json j;
    j["nodes"] = a.nodes;
    j["k"] = a.k;
    j["size"] = a.size;
    j["ops"] = a.ops;
    j["inserts_per_s"] = rounded(ins.per_second(), 1);
    j["lookups_per_s"] = rounded(look.per_second(), 1);
    j["insert_p50_ms"] = rounded(ins.percentile_ms(0.50), 3);
    j["insert_p99_ms"] = rounded(ins.percentile_ms(0.99), 3);
    j["lookup_p50_ms"] = rounded(look.percentile_ms(0.50), 3);
    j["lookup_p99_ms"] = rounded(look.percentile_ms(0.99), 3);
    j["errors"] = errors;
    std::cout << j.dump() << "\n";
  } else {
    std::printf(
        "past: %d nodes, k = %d, %zu puts then gets of %zu bytes, %zu in flight (seed %llu)\n",
        a.nodes, a.k, a.ops, a.size, a.concurrency, static_cast<unsigned long long>(a.seed));
    std::printf("  cluster  set up and ready in %.2f s\n", ready_seconds);
    print_phase("insert", "puts", ins);
    print_phase("lookup", "gets", look);
    std::printf("  errors   %zu\n", errors);
    std::fflush(stdout);
  }

  int code = kExitOk;
  if (errors > 0) {
    std::cerr << "post-bench: " << errors << " operation(s) failed";
    std::vector<std::string> first = ins.first_errors;
    first.insert(first.end(), look.first_errors.begin(), look.first_errors.end());
    std::cerr << "; the first:\n";
    for (const auto& e : first) std::cerr << "  " << e << "\n";
    code = kExitFailures;
  }
  if (!still_running.ok()) {
    std::cerr << "post-bench: " << still_running.error().message << "\n";
    code = kExitFailures;
  }
  if (code != kExitOk) keep_for_diagnosis(cluster);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "post-bench: benchmarks of a real local cluster. Starts N postd processes on 127.0.0.1 "
      "(with a CA and node identities made for the run), measures them through their admin "
      "endpoints, and stops them again (SIGTERM, then SIGKILL), also on errors and Ctrl-C."};
  app.footer(
      "Exit codes: 0 every operation succeeded; 1 an operation failed or a node exited during "
      "the run; 2 usage error; 3 the cluster could not be set up or did not come up; 128+N "
      "interrupted by signal N. On failure the cluster's directory is kept and named.");
  app.set_version_flag("--version", std::string("post-bench ") + POST_VERSION);
  app.require_subcommand(1);

  PastArguments a;
  CLI::App* past = app.add_subcommand(
      "past",
      "PAST through the admin endpoints: M puts of BYTES of seeded random content, "
      "round-robin over the nodes, then M gets of the stored handles, each through another "
      "node than the one that put it, every payload checked. Reports throughput and p50/p99 "
      "latency of each phase, and the number of failed operations.");
  past->add_option("--nodes", a.nodes, "postd processes in the ring (node 0 starts it)")
      ->type_name("N")
      ->default_val(8)
      ->check(CLI::Range(2, 1000));
  past->add_option("--k", a.k, "replicas per block (PAST's k, the nodes' past.replicas)")
      ->type_name("K")
      ->default_val(3)
      ->check(CLI::Range(1, kMaxReplicas));
  past->add_option("--size", a.size, "bytes of content per block")
      ->type_name("BYTES")
      ->default_val(1024)
      ->check(CLI::Range(std::size_t{1}, post::past::kMaxPayloadBytes));
  past->add_option("--ops", a.ops, "puts, and as many gets")
      ->type_name("M")
      ->default_val(1000)
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  past->add_option("--concurrency", a.concurrency,
                   "requests in flight at once, over all nodes (at most 8 connections per node; "
                   "more requests are pipelined on them)")
      ->type_name("C")
      ->default_val(8)
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  past->add_option("--seed", a.seed, "seed of the content and of the choice of lookup nodes")
      ->type_name("X")
      ->default_val(1);
  past->add_flag("--json", a.json,
                 "print one JSON object on stdout: nodes, k, size, ops, inserts_per_s, "
                 "lookups_per_s, insert_p50_ms, insert_p99_ms, lookup_p50_ms, lookup_p99_ms, "
                 "errors");
  past->add_option("--keep", a.keep_dir,
                   "build the cluster in DIR (new or empty) and leave it there afterwards "
                   "(default: a temporary directory, removed unless the run fails)")
      ->type_name("DIR");
  past->add_option("--postd", a.postd, "the postd binary")
      ->type_name("PATH")
      ->default_val(a.postd)
      ->check(CLI::ExistingFile);
  past->add_option("--post-ca", a.post_ca, "the post-ca binary")
      ->type_name("PATH")
      ->default_val(a.post_ca)
      ->check(CLI::ExistingFile);
  past->add_option("--ready-timeout", a.ready_timeout_seconds,
                   "seconds for every node to be ready with a full leaf set")
      ->type_name("SECONDS")
      ->default_val(60)
      ->check(CLI::Range(1, 3600));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (a.k > a.nodes) {
    std::cerr << "post-bench: --k " << a.k << " needs at least " << a.k << " nodes (--nodes "
              << a.nodes << ")\n";
    return kExitUsage;
  }
  install_interrupt_handlers();
  try {
    return run_past(a);
  } catch (const std::exception& e) {
    // Unwinding has stopped the nodes (LocalCluster's destructor).
    std::cerr << "post-bench: unexpected error: " << e.what() << "\n";
    return kExitFailures;
  }
}
