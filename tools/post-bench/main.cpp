// post-bench: benchmarks of a real local cluster. It starts N postd processes on 127.0.0.1
// (a CA, node identities and configurations made for the run), drives them through their
// admin endpoints (past) or the email plugin's SMTP and IMAP (email), and stops them again,
// also on errors and on Ctrl-C.
//
//   post-bench past --nodes N --k K --size BYTES --ops M [--concurrency C] [--seed X] [--json]
//                   [--keep DIR] [--postd PATH] [--post-ca PATH] [--ready-timeout SECONDS]
//
//   post-bench email --nodes N --messages M [--concurrency C] [--size BYTES] [--watch poll|idle]
//                    [--baseline none|postfix-dovecot] [--json] [--keep DIR] [...]
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
//
// `email`: M messages over SMTP from alice (node 1) to bob (node 3, or the last node when
// N < 4), both served by the email plugin, k = 3; then the same through Postfix + Dovecot
// started privately for the run (tools/post-bench/mail_baseline.h). What is measured is in
// tools/post-bench/email_load.h. With --json: nodes, k, messages, concurrency, size, watch,
// messages_per_s, accepted_per_s, p50_ms, p99_ms (from the 250 to DATA), end_to_end_p50_ms,
// end_to_end_p99_ms (from MAIL FROM), errors, baseline (the same figures and "system", or
// null, with baseline_skipped or baseline_error saying why), and with a baseline
// ratio_messages_per_s, ratio_p50_ms, ratio_p99_ms (POST's figure over the baseline's).
#include <crypt.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "host/core/bytes.h"
#include "host/core/certificate.h"
#include "host/core/crypto.h"
#include "host/past/block.h"
#include "tools/post-bench/email_load.h"
#include "tools/post-bench/interruption.h"
#include "tools/post-bench/local_cluster.h"
#include "tools/post-bench/mail_baseline.h"
#include "tools/post-bench/past_load.h"
#include "tools/post-bench/port_picker.h"

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

// Starts the cluster's nodes with a progress bar; the exit code when they did not come up (or
// the run was interrupted), none when every node is ready.
std::optional<int> start_cluster(LocalCluster& cluster, boost::asio::io_context& io,
                                 ProgressBar& bar, bool json) {
  auto started_nodes = cluster.start(io, [&](int ready, int total) {
    bar.draw("cluster", static_cast<std::size_t>(ready), static_cast<std::size_t>(total),
             "nodes ready");
  });
  bar.finish();
  if (interrupted()) return interrupted_exit(json);
  if (!started_nodes.ok()) {
    int code =
        fail(kExitNoCluster, "the cluster did not come up: " + started_nodes.error().message, json);
    keep_for_diagnosis(cluster);
    return code;
  }
  return std::nullopt;
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
  if (auto code = start_cluster(cluster, io, bar, a.json)) return *code;
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

struct EmailArguments {
  int nodes = 4;
  int k = 3;
  std::size_t messages = 1000;
  std::size_t concurrency = 8;
  std::size_t size = 1024;
  std::string watch = "poll";
  int poll_ms = 10;
  std::string baseline;  // empty: postfix-dovecot when it can run here, else none (and why)
  bool json = false;
  std::string keep_dir;
  std::string postd = POSTD_BIN;
  std::string post_ca = POST_CA_BIN;
  std::string email_plugin = EMAIL_PLUGIN_BIN;
  std::string baseline_script = MAIL_BASELINE_SCRIPT;
  int ready_timeout_seconds = 60;
  int visible_timeout_seconds = 120;
};

constexpr int kSenderNode = 1;
constexpr int kRecipientNodeWhenFour = 3;
const std::string kSender = "alice@example.org";
const std::string kRecipient = "bob@example.org";

// Random hex for the run's passwords, salts and Message-IDs.
std::string random_hex(std::size_t bytes) {
  return post::to_hex(post::crypto::random_bytes(bytes));
}

// A SHA-512 crypt(3) hash of `password`, as the email plugin's and Dovecot's passwd files hold.
std::string crypt_hash(const std::string& password) {
  crypt_data data{};
  std::string setting = "$6$" + random_hex(8) + "$";
  const char* out = crypt_r(password.c_str(), setting.c_str(), &data);
  return out == nullptr ? std::string() : std::string(out);
}

Json email_figures(const EmailReport& r) {
  Json j;
  j["messages_per_s"] = rounded(r.per_second(), 1);
  j["accepted_per_s"] = rounded(r.accepted_per_second(), 1);
  j["p50_ms"] = rounded(r.percentile_ms(0.50), 3);
  j["p99_ms"] = rounded(r.percentile_ms(0.99), 3);
  j["end_to_end_p50_ms"] = rounded(r.end_to_end_percentile_ms(0.50), 3);
  j["end_to_end_p99_ms"] = rounded(r.end_to_end_percentile_ms(0.99), 3);
  j["errors"] = r.errors;
  return j;
}

void print_email(const char* system, const EmailReport& r) {
  std::printf(
      "  %-16s %zu of %zu visible in %.2f s: %.1f msg/s (accepted at %.1f/s); latency p50 %.2f "
      "ms, p99 %.2f ms (from MAIL FROM: %.2f, %.2f ms); errors %zu\n",
      system, r.visible, r.messages, r.seconds, r.per_second(), r.accepted_per_second(),
      r.percentile_ms(0.50), r.percentile_ms(0.99), r.end_to_end_percentile_ms(0.50),
      r.end_to_end_percentile_ms(0.99), r.errors);
}

double ratio(double ours, double theirs) {
  return theirs > 0 ? ours / theirs : 0.0;
}

int run_email(const EmailArguments& a) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  ProgressBar bar;
  namespace fs = std::filesystem;

  // Decide about the baseline before spending a minute on the cluster.
  std::optional<std::string> baseline_skipped;
  if (a.baseline == "none") {
    baseline_skipped = "--baseline none";
  } else if (auto why = MailBaseline::unavailable_reason(a.baseline_script)) {
    if (a.baseline == "postfix-dovecot") {
      return fail(kExitNoCluster, "--baseline postfix-dovecot cannot run here: " + *why, a.json);
    }
    baseline_skipped = *why;
    std::cerr << "post-bench: the Postfix + Dovecot baseline is skipped: " << *why << "\n";
  }

  const int recipient_node = a.nodes >= 4 ? kRecipientNodeWhenFour : a.nodes - 1;
  const std::string sender_password = random_hex(12);
  const std::string recipient_password = random_hex(12);
  const std::string passwd = kSender + ":{CRYPT}" + crypt_hash(sender_password) + "\n" +
                             kRecipient + ":{CRYPT}" + crypt_hash(recipient_password) + "\n";

  std::error_code ec;
  fs::path plugin = fs::canonical(a.email_plugin, ec);
  if (ec) return fail(kExitUsage, "--email-plugin " + a.email_plugin + ": " + ec.message(), a.json);

  ClusterOptions options;
  options.postd_path = a.postd;
  options.post_ca_path = a.post_ca;
  options.nodes = a.nodes;
  options.replicas = a.k;
  options.directory = a.keep_dir.empty() ? "" : (fs::path(a.keep_dir) / "cluster").string();
  options.ready_timeout = std::chrono::seconds(a.ready_timeout_seconds);
  options.users = {{kSenderNode, "Alice", kSender}, {recipient_node, "Bob", kRecipient}};
  PortPicker ports;
  std::map<int, std::pair<std::uint16_t, std::uint16_t>> mail_ports;  // node: SMTP, IMAP
  for (int node : {kSenderNode, recipient_node}) {
    if (mail_ports.count(node) != 0) continue;
    auto smtp = ports.pick();
    auto imap = ports.pick();
    if (!smtp.ok() || !imap.ok()) return fail(kExitNoCluster, "no free loopback ports", a.json);
    mail_ports[node] = {*smtp, *imap};
    options.extra_yaml[node] = fmt::format(
        "plugin_dirs: [\"{plugin_dir}\"]\n"
        "plugins:\n"
        "  - name: email\n"
        "    path: \"{plugin}\"\n"
        "    config: {{smtp_listen: \"127.0.0.1:{smtp}\", imap_listen: \"127.0.0.1:{imap}\", "
        "hostname: node{node}.example.org, passwd_file: \"{{dir}}/passwd\"}}\n",
        fmt::arg("plugin_dir", plugin.parent_path().string()), fmt::arg("plugin", plugin.string()),
        fmt::arg("smtp", *smtp), fmt::arg("imap", *imap), fmt::arg("node", node));
  }

  auto started = SteadyClock::now();
  auto prepared = LocalCluster::prepare(options);
  if (!prepared.ok()) {
    if (interrupted()) return interrupted_exit(a.json);
    return fail(kExitNoCluster, "cannot set up the cluster: " + prepared.error().message, a.json);
  }
  LocalCluster& cluster = **prepared;
  if (auto s = post::write_file((fs::path(cluster.directory()) / "passwd").string(), passwd, true);
      !s.ok()) {
    keep_for_diagnosis(cluster);
    return fail(kExitNoCluster, "cannot write the passwd file: " + s.error().message, a.json);
  }
  if (auto code = start_cluster(cluster, io, bar, a.json)) return *code;
  double ready_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();

  EmailLoadOptions load;
  load.messages = a.messages;
  load.concurrency = a.concurrency;
  load.body_bytes = a.size;
  load.watch = a.watch == "idle" ? WatchMode::kIdle : WatchMode::kPoll;
  load.poll_interval = std::chrono::milliseconds(a.poll_ms);
  load.visible_timeout = std::chrono::seconds(a.visible_timeout_seconds);
  load.run_id = random_hex(6);
  auto endpoint = [](std::uint16_t port) {
    return boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), port);
  };
  MailTarget post_target{"post",
                         endpoint(mail_ports[kSenderNode].first),
                         endpoint(mail_ports[recipient_node].second),
                         kSender,
                         sender_password,
                         kRecipient,
                         recipient_password};
  auto progress = [&](const char* label) {
    return [&bar, label](std::size_t done, std::size_t total) {
      bar.draw(label, done, total, "visible");
    };
  };
  auto ours = run_email_load(io, post_target, load, progress("post"));
  bar.finish();
  if (interrupted()) return interrupted_exit(a.json);
  if (!ours.ok()) {
    int code = fail(kExitFailures, ours.error().message, a.json);
    keep_for_diagnosis(cluster);
    return code;
  }
  auto still_running = cluster.check_running();
  for (const auto& name : cluster.stop()) {
    std::cerr << "post-bench: " << name
              << " did not stop in time after SIGTERM; killed it (SIGKILL)\n";
  }

  // The baseline runs after the cluster has stopped, so the two never share the machine.
  std::optional<EmailReport> theirs;
  std::optional<std::string> baseline_error;
  std::unique_ptr<MailBaseline> baseline;
  if (!baseline_skipped) {
    auto mail = MailBaseline::start(
        a.baseline_script, a.keep_dir.empty() ? "" : (fs::path(a.keep_dir) / "baseline").string(),
        passwd);
    if (!mail.ok()) {
      baseline_error = mail.error().message;
    } else {
      baseline = std::move(*mail);
      MailTarget target{"postfix-dovecot", baseline->smtp(), baseline->imap(),  kSender,
                        sender_password,   kRecipient,       recipient_password};
      load.run_id = random_hex(6);
      auto measured = run_email_load(io, target, load, progress("baseline"));
      bar.finish();
      if (interrupted()) return interrupted_exit(a.json);
      if (measured.ok()) {
        theirs = std::move(*measured);
      } else {
        baseline_error = measured.error().message;
      }
      if (auto s = baseline->stop(); !s.ok()) {
        std::cerr << "post-bench: stopping Postfix + Dovecot: " << s.error().message << "\n";
      }
      if (baseline_error) {
        baseline->keep_directory();
        *baseline_error += " (its files are kept in " + baseline->directory() + ")";
      }
    }
  }

  const EmailReport& r = *ours;
  if (a.json) {
    Json j;
    j["nodes"] = a.nodes;
    j["k"] = a.k;
    j["messages"] = a.messages;
    j["concurrency"] = a.concurrency;
    j["size"] = a.size;
    j["watch"] = a.watch;
    j.update(email_figures(r));
    if (theirs) {
      Json b;
      b["system"] = "postfix-dovecot";
      b.update(email_figures(*theirs));
      j["baseline"] = b;
      j["ratio_messages_per_s"] = rounded(ratio(r.per_second(), theirs->per_second()), 3);
      j["ratio_p50_ms"] = rounded(ratio(r.percentile_ms(0.50), theirs->percentile_ms(0.50)), 3);
      j["ratio_p99_ms"] = rounded(ratio(r.percentile_ms(0.99), theirs->percentile_ms(0.99)), 3);
    } else {
      j["baseline"] = nullptr;
      if (baseline_skipped) j["baseline_skipped"] = *baseline_skipped;
      if (baseline_error) j["baseline_error"] = *baseline_error;
    }
    std::cout << j.dump() << "\n";
  } else {
    std::printf(
        "email: %d nodes, k = %d, %zu messages of %zu bytes from %s (node%d) to %s (node%d), %zu "
        "in flight; visibility by IMAP %s\n",
        a.nodes, a.k, a.messages, a.size, kSender.c_str(), kSenderNode, kRecipient.c_str(),
        recipient_node, a.concurrency,
        a.watch == "idle" ? "IDLE" : ("NOOP every " + std::to_string(a.poll_ms) + " ms").c_str());
    std::printf("  cluster          set up and ready in %.2f s\n", ready_seconds);
    print_email("post", r);
    if (theirs) {
      print_email("postfix-dovecot", *theirs);
      std::printf(
          "  ratio            post / postfix-dovecot: throughput %.2f, p50 latency %.2f, p99 "
          "latency %.2f\n",
          ratio(r.per_second(), theirs->per_second()),
          ratio(r.percentile_ms(0.50), theirs->percentile_ms(0.50)),
          ratio(r.percentile_ms(0.99), theirs->percentile_ms(0.99)));
    } else if (baseline_skipped) {
      std::printf("  baseline         skipped: %s\n", baseline_skipped->c_str());
    } else if (baseline_error) {
      std::printf("  baseline         failed: %s\n", baseline_error->c_str());
    }
    std::fflush(stdout);
  }

  int code = kExitOk;
  std::size_t errors = r.errors + (theirs ? theirs->errors : 0);
  if (errors > 0) {
    std::cerr << "post-bench: " << errors << " message(s) failed; the first:\n";
    for (const auto& e : r.first_errors) std::cerr << "  " << e << "\n";
    if (theirs) {
      for (const auto& e : theirs->first_errors) std::cerr << "  " << e << "\n";
    }
    code = kExitFailures;
  }
  if (baseline_error) {
    std::cerr << "post-bench: the baseline failed: " << *baseline_error << "\n";
    code = kExitFailures;
  }
  if (!still_running.ok()) {
    std::cerr << "post-bench: " << still_running.error().message << "\n";
    code = kExitFailures;
  }
  if (r.errors > 0 || !still_running.ok()) keep_for_diagnosis(cluster);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "post-bench: benchmarks of a real local cluster. Starts N postd processes on 127.0.0.1 "
      "(with a CA and node identities made for the run), measures them through their admin "
      "endpoints (past) or the email plugin's SMTP and IMAP (email), and stops them again "
      "(SIGTERM, then SIGKILL), also on errors and Ctrl-C."};
  app.footer(
      "Exit codes: 0 every operation succeeded; 1 an operation or message failed, a node exited "
      "during the run, or the email baseline failed; 2 usage error; 3 the cluster could not be "
      "set up or did not come up, or the email baseline asked for cannot run here; 128+N "
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

  EmailArguments em;
  CLI::App* email = app.add_subcommand(
      "email",
      "Mail through the email plugin: M messages over SMTP (AUTH PLAIN) from alice on node 1 to "
      "bob on node 3 (the last node when N < 4), C in flight on C connections; each message's "
      "latency runs from the 250 reply to its DATA until an IMAP client of bob sees it in the "
      "INBOX. Then the same through a private Postfix + Dovecot (the baseline), and the ratio.");
  email->add_option("--nodes", em.nodes, "postd processes in the ring (node 0 starts it)")
      ->type_name("N")
      ->default_val(4)
      ->check(CLI::Range(3, 1000));
  email->add_option("--k", em.k, "replicas per block (PAST's k)")
      ->type_name("K")
      ->default_val(3)
      ->check(CLI::Range(1, kMaxReplicas));
  email->add_option("--messages", em.messages, "messages to send")
      ->type_name("M")
      ->default_val(1000)
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  email
      ->add_option("--concurrency", em.concurrency,
                   "messages in flight, each on an SMTP connection of its own")
      ->type_name("C")
      ->default_val(8)
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  email->add_option("--size", em.size, "bytes of body per message (plus about 250 of headers)")
      ->type_name("BYTES")
      ->default_val(1024)
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  email
      ->add_option("--watch", em.watch,
                   "how the IMAP client learns of new mail: poll (NOOP every --poll-ms) or idle "
                   "(IMAP IDLE: what the server pushes, after any delay it adds)")
      ->type_name("MODE")
      ->default_val("poll")
      ->check(CLI::IsMember({"poll", "idle"}));
  email->add_option("--poll-ms", em.poll_ms, "milliseconds between NOOPs with --watch poll")
      ->type_name("MS")
      ->default_val(10)
      ->check(CLI::Range(1, 10'000));
  email
      ->add_option("--baseline", em.baseline,
                   "postfix-dovecot: run the same load through a private Postfix + Dovecot; "
                   "none: skip it (default: postfix-dovecot when both are installed and "
                   "post-bench runs as root, else skipped with the reason)")
      ->type_name("SYSTEM")
      ->check(CLI::IsMember({"none", "postfix-dovecot"}));
  email->add_flag("--json", em.json,
                  "print one JSON object on stdout: nodes, k, messages, concurrency, size, "
                  "watch, messages_per_s, accepted_per_s, p50_ms, p99_ms, end_to_end_p50_ms, "
                  "end_to_end_p99_ms, errors, baseline {...} or null, ratio_messages_per_s, "
                  "ratio_p50_ms, ratio_p99_ms");
  email
      ->add_option("--keep", em.keep_dir,
                   "keep the run's files in DIR (new or empty): DIR/cluster and DIR/baseline "
                   "(default: temporary directories, removed unless the run fails)")
      ->type_name("DIR");
  email->add_option("--postd", em.postd, "the postd binary")
      ->type_name("PATH")
      ->default_val(em.postd)
      ->check(CLI::ExistingFile);
  email->add_option("--post-ca", em.post_ca, "the post-ca binary")
      ->type_name("PATH")
      ->default_val(em.post_ca)
      ->check(CLI::ExistingFile);
  email->add_option("--email-plugin", em.email_plugin, "the email plugin (email.so)")
      ->type_name("PATH")
      ->default_val(em.email_plugin)
      ->check(CLI::ExistingFile);
  email
      ->add_option("--baseline-script", em.baseline_script,
                   "the script that starts and stops Postfix + Dovecot")
      ->type_name("PATH")
      ->default_val(em.baseline_script);
  email
      ->add_option("--ready-timeout", em.ready_timeout_seconds,
                   "seconds for every node to be ready and both users published")
      ->type_name("SECONDS")
      ->default_val(60)
      ->check(CLI::Range(1, 3600));
  email
      ->add_option("--visible-timeout", em.visible_timeout_seconds,
                   "seconds after the last submission for every message to be visible")
      ->type_name("SECONDS")
      ->default_val(120)
      ->check(CLI::Range(1, 3600));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  bool is_email = email->parsed();
  int k = is_email ? em.k : a.k;
  int nodes = is_email ? em.nodes : a.nodes;
  if (k > nodes) {
    std::cerr << "post-bench: --k " << k << " needs at least " << k << " nodes (--nodes " << nodes
              << ")\n";
    return kExitUsage;
  }
  install_interrupt_handlers();
  try {
    return is_email ? run_email(em) : run_past(a);
  } catch (const std::exception& e) {
    // Unwinding has stopped the nodes (LocalCluster's destructor).
    std::cerr << "post-bench: unexpected error: " << e.what() << "\n";
    return kExitFailures;
  }
}
