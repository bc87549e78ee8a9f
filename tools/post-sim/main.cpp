// post-sim: runs N simulated Pastry nodes in one process, in virtual time, and reports what
// the overlay did (docs/SIMULATOR.md).
//
//   post-sim route --nodes N --lookups M [--fail F] [--repair-seconds S] [--seed X] [--json]
//   post-sim past --nodes N --blocks B --fail-waves W --wave-fraction F [--repair-seconds S]
//                 [--k K] [--seed X] [--json]
//   post-sim scribe --nodes N --groups G --publishes P [--anycasts A] [--fail F]
//                   [--repair-seconds S] [--seed X] [--json]
//   post-sim post --nodes N --users U --messages M [--offline-fraction F]
//                 [--offline-seconds S] [--seed X] [--json]
//
// `past`: N nodes with PAST (in-memory stores) take B inserts of random content-hash blocks;
// then in each of W waves a share F of the live nodes crash at once and the rest repair for
// S virtual seconds. Reports blocks_lost (blocks no live node holds, counted from the stores),
// min_replicas (the least number of a surviving block's k closest live nodes that hold it)
// and the cost of replica maintenance per node and minute of repair.
//
// `route`: N nodes join; a fraction F of them crash at once; after S virtual seconds of
// repair, M lookups of random keys from random live nodes are checked against the oracle.
// With --json, stdout holds one JSON object and nothing else; progress goes to stderr, and
// only when stderr is a terminal.
//
// Report: mean_hops and p99_hops of the answered lookups; correct_fraction, the share of
// lookups delivered to the numerically closest live node (errors and silence count as wrong);
// stretch, the mean over lookups with source != root of (sum of the modelled one-way
// latencies along the path) / (latency from source to root); bytes_per_node, the heap in use
// after the joins minus before the ring existed, over N (network and Pastry state together);
// join_seconds and seconds, wall times of the join phase and of the whole run.
//
// Proximity: below 100,000 nodes, nodes measure RTTs with pings and the network stores each
// measurement (--rtt measured); from 100,000 nodes on, rtt() answers from the latency model
// (--rtt oracle), because the stored measurements cost tens of bytes per (node, peer) pair.
// The pings are still sent either way, so the traffic is the same.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tools/post-sim/past_scenario.h"
#include "tools/post-sim/post_scenario.h"
#include "tools/post-sim/route_scenario.h"
#include "tools/post-sim/scribe_scenario.h"

using namespace post;
using namespace post::sim;

namespace {

// At this many nodes and above, proximity comes from the latency model by default: stored
// ping measurements would cost tens of bytes per (node, peer) pair.
constexpr std::size_t kRttOracleFromNodes = 100'000;
// Redraws of the progress bar at most this often, in wall time.
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 30;

int fail(const std::string& message) {
  std::cerr << "post-sim: " << message << "\n";
  return 1;
}

// Draws "joining [#####.....] 1234/10000 nodes  virtual 12.3 s" on a terminal's last line.
class ProgressBar {
 public:
  void draw(std::size_t done, std::size_t total, net::Time now) {
    auto wall = std::chrono::steady_clock::now();
    if (done < total && wall - last_draw_ < kRedrawInterval) return;
    last_draw_ = wall;
    int filled = total == 0 ? kBarWidth : static_cast<int>(done * kBarWidth / total);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(stderr, "\rjoining [%s] %zu/%zu nodes  virtual %.1f s ", bar.c_str(), done, total,
                 net::to_seconds(now));
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

nlohmann::ordered_json to_json(const RouteReport& r) {
  nlohmann::ordered_json j;
  j["nodes"] = r.nodes;
  j["lookups"] = r.lookups;
  j["mean_hops"] = r.mean_hops;
  j["p99_hops"] = r.p99_hops;
  j["correct_fraction"] = r.correct_fraction;
  j["stretch"] = r.stretch;
  j["bytes_per_node"] = r.bytes_per_node;
  j["join_seconds"] = r.join_seconds;
  j["seconds"] = r.seconds;
  return j;
}

void print_summary(const RouteReport& r, const RouteScenarioOptions& o) {
  std::printf("route: %zu nodes (seed %llu), %zu lookups\n", r.nodes,
              static_cast<unsigned long long>(o.ring.seed), r.lookups);
  std::printf("  joins         %zu failed, done at virtual %.1f s, wall %.2f s\n", r.join_failures,
              r.join_virtual_seconds, r.join_seconds);
  if (r.crashed > 0) {
    std::printf("  crashed       %zu at once, then %.0f s of repair\n", r.crashed,
                net::to_seconds(o.repair));
  }
  std::printf("  live          %zu nodes when the lookups started\n", r.live);
  if (r.state) {
    std::printf("  leaf sets     %zu of %zu exact\n", r.state->exact_leaf_sets, r.state->nodes);
    std::printf(
        "  tables        %zu entries, %zu dead, %zu misplaced, %.4f of fillable slots "
        "filled\n",
        r.state->tables.entries, r.state->tables.dead, r.state->tables.misplaced,
        r.state->filled_fraction());
  }
  std::printf("  correct       %.4f (%zu unanswered)\n", r.correct_fraction, r.unanswered);
  std::printf("  hops          mean %.3f, p99 %.0f\n", r.mean_hops, r.p99_hops);
  std::printf("  stretch       %.3f (route latency / direct latency)\n", r.stretch);
  std::printf("  memory        %.0f bytes per node\n", r.bytes_per_node);
  std::printf("  simulation    %llu events, %llu messages, virtual %.1f s, %.0f events/s\n",
              static_cast<unsigned long long>(r.events),
              static_cast<unsigned long long>(r.messages), r.virtual_seconds,
              r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0.0);
  std::printf("  wall time     %.2f s\n", r.seconds);
}

nlohmann::ordered_json to_json(const PastReport& r) {
  nlohmann::ordered_json j;
  j["nodes"] = r.nodes;
  j["blocks"] = r.blocks;
  j["k"] = r.k;
  j["blocks_lost"] = r.blocks_lost;
  j["min_replicas"] = r.min_replicas;
  j["maintenance_msgs_per_node_min"] = r.maintenance_msgs_per_node_min;
  j["maintenance_bytes_per_node_min"] = r.maintenance_bytes_per_node_min;
  j["seconds"] = r.seconds;
  return j;
}

void print_summary(const PastReport& r, const PastScenarioOptions& o) {
  std::printf("past: %zu nodes (seed %llu), %zu blocks of %zu bytes, k = %d\n", r.nodes,
              static_cast<unsigned long long>(o.ring.seed), r.blocks, o.block_bytes, r.k);
  std::printf("  joins         %zu failed\n", r.join_failures);
  std::printf("  inserts       %zu failed%s%s\n", r.insert_failures,
              r.insert_error.empty() ? "" : "; the first: ", r.insert_error.c_str());
  for (std::size_t w = 0; w < r.waves.size(); ++w) {
    const WaveReport& wave = r.waves[w];
    std::printf(
        "  wave %-3zu      %zu crashed, %zu live; lost %zu (predicted %zu); min replicas %d, "
        "%zu under k\n",
        w + 1, wave.crashed, wave.live, wave.lost, wave.predicted_lost, wave.min_replicas,
        wave.under_replicated);
  }
  std::printf("  lost          %zu blocks in all\n", r.blocks_lost);
  std::printf("  min replicas  %d\n", r.min_replicas);
  std::printf("  maintenance   %.1f messages, %.0f bytes per node per minute\n",
              r.maintenance_msgs_per_node_min, r.maintenance_bytes_per_node_min);
  std::printf("  simulation    virtual %.1f s\n", r.virtual_seconds);
  std::printf("  wall time     %.2f s\n", r.seconds);
}

nlohmann::ordered_json to_json(const ScribeReport& r) {
  nlohmann::ordered_json j;
  j["nodes"] = r.nodes;
  j["groups"] = r.groups;
  j["publishes"] = r.publishes;
  j["delivery_ratio"] = r.delivery_ratio;
  j["duplicates"] = r.duplicates;
  j["mean_depth"] = r.mean_depth;
  j["max_children"] = r.max_children;
  j["mean_rdp"] = r.mean_rdp;
  j["detached_before"] = r.detached_before;
  j["repair_seconds"] = r.repair_seconds;
  j["roots_failed"] = r.roots_failed;
  j["delivery_ratio_after"] = r.delivery_ratio_after;
  j["anycasts"] = r.anycasts;
  j["anycasts_found"] = r.anycasts_found;
  j["anycasts_refused"] = r.anycasts_refused;
  j["anycasts_refused_answered"] = r.anycasts_refused_answered;
  j["seconds"] = r.seconds;
  return j;
}

void print_summary(const ScribeReport& r, const ScribeScenarioOptions& o) {
  std::printf("scribe: %zu nodes (seed %llu), %zu groups (%zu memberships), %zu publishes\n",
              r.nodes, static_cast<unsigned long long>(o.ring.seed), r.groups, r.memberships,
              r.publishes);
  std::printf("  subscribe     %zu not acknowledged\n", r.subscribe_failures);
  std::printf("  delivery      %.4f of expected deliveries, %zu duplicates\n", r.delivery_ratio,
              r.duplicates);
  std::printf("  trees         mean depth %.2f, max children %zu, %zu memberships detached\n",
              r.mean_depth, r.max_children, r.detached_before);
  std::printf("  delay         mean RDP %.2f (tree path / direct from the root)\n", r.mean_rdp);
  std::printf("  anycast       %zu of %zu found an accepting member; %zu of %zu with none "
              "accepting answered so\n",
              r.anycasts_found, r.anycasts, r.anycasts_refused_answered, r.anycasts_refused);
  if (r.crashed > 0) {
    if (r.repair_seconds >= 0) {
      std::printf("  repair        %zu crashed (roots of %zu groups); every live member attached "
                  "again after %.1f s\n",
                  r.crashed, r.roots_failed, r.repair_seconds);
    } else {
      std::printf("  repair        %zu crashed (roots of %zu groups); %zu memberships still "
                  "detached after %.0f s\n",
                  r.crashed, r.roots_failed, r.detached_after, net::to_seconds(o.repair));
      for (const auto& e : r.detached_examples) std::printf("                %s\n", e.c_str());
    }
    std::printf("  after repair  %.4f of live members reached by one publication per group\n",
                r.delivery_ratio_after);
  }
  std::printf("  wall time     %.2f s\n", r.seconds);
}

nlohmann::ordered_json to_json(const PostReport& r) {
  nlohmann::ordered_json j;
  j["nodes"] = r.nodes;
  j["users"] = r.users;
  j["messages"] = r.messages;
  j["sent"] = r.sent;
  j["send_failures"] = r.send_failures;
  j["sent_direct"] = r.sent_direct;
  j["sent_delegated"] = r.sent_delegated;
  j["delivered"] = r.delivered;
  j["duplicates_to_app"] = r.duplicates_to_app;
  j["lost"] = r.lost;
  j["bodies_fetched"] = r.bodies_fetched;
  j["plaintext_blocks_found"] = r.plaintext_blocks_found;
  j["offline_users"] = r.offline_users;
  j["mean_delivery_seconds_online"] = r.mean_delivery_seconds_online;
  j["mean_delivery_seconds_offline"] = r.mean_delivery_seconds_offline;
  j["held_at_end"] = r.held_at_end;
  j["virtual_seconds"] = r.virtual_seconds;
  j["seconds"] = r.seconds;
  return j;
}

void print_summary(const PostReport& r, const PostScenarioOptions& o) {
  std::printf("post: %zu nodes (seed %llu), %zu users (%zu offline for %.0f s), %zu messages\n",
              r.nodes, static_cast<unsigned long long>(o.ring.ring.seed), r.users,
              r.offline_users, net::to_seconds(o.offline), r.messages);
  std::printf("  sent          %zu (%zu direct, %zu to delegates), %zu failed\n", r.sent,
              r.sent_direct, r.sent_delegated, r.send_failures);
  if (!r.first_send_error.empty()) {
    std::printf("                first failure: %s\n", r.first_send_error.c_str());
  }
  std::printf("  delivered     %zu, %zu duplicates to the application, %zu lost\n", r.delivered,
              r.duplicates_to_app, r.lost);
  std::printf("  bodies        %zu fetched intact by their recipient\n", r.bodies_fetched);
  std::printf("  latency       %.2f s online, %.2f s offline (from the recipient's return)\n",
              r.mean_delivery_seconds_online, r.mean_delivery_seconds_offline);
  std::printf("  plaintext     %zu stored blocks hold a message's plaintext\n",
              r.plaintext_blocks_found);
  std::printf("  delegates     %zu notifications still held at the end\n", r.held_at_end);
  std::printf("  simulation    virtual %.1f s\n", r.virtual_seconds);
  std::printf("  wall time     %.2f s\n", r.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"post-sim: simulated Pastry rings in virtual time"};
  app.require_subcommand(1);

  RouteScenarioOptions options;
  double repair_seconds = 120;
  double settle_seconds = 0;
  double join_spacing_ms = 0;
  bool json = false;
  bool no_pns = false;
  std::string rtt = "auto";
  std::string latency = "plane";

  CLI::App* route = app.add_subcommand("route", "join N nodes, crash some, check M lookups");
  route->add_option("--nodes", options.ring.nodes, "nodes in the ring")
      ->default_val(1000)
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  route->add_option("--lookups", options.lookups, "lookups of random keys")->default_val(1000);
  route->add_option("--fail", options.fail_fraction, "share of nodes crashed at once (0..1)")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 1.0));
  route->add_option("--repair-seconds", repair_seconds, "virtual seconds of repair after the crash")
      ->default_val(120.0)
      ->check(CLI::NonNegativeNumber);
  route->add_option("--settle-seconds", settle_seconds, "virtual seconds of quiet after the joins")
      ->default_val(0.0)
      ->check(CLI::NonNegativeNumber);
  route->add_option("--seed", options.ring.seed, "seed of the whole run")->default_val(1);
  route->add_option("--leaf-set", options.ring.pastry.leaf_set_size, "leaf set size L (even)")
      ->default_val(24)
      ->check(CLI::Range(2, 256));
  route->add_option("--digit-bits", options.ring.pastry.digit_bits, "Pastry's b")
      ->default_val(4)
      ->check(CLI::Range(1, Id::kMaxDigitBits));
  route->add_option("--latency", latency, "latency model: plane or sphere")
      ->check(CLI::IsMember({"plane", "sphere"}))
      ->default_val("plane");
  route->add_flag("--no-pns", no_pns, "turn proximity neighbour selection off");
  route
      ->add_option("--rtt", rtt,
                   "proximity source: measured pings, the latency oracle, or auto (oracle from "
                   "100,000 nodes)")
      ->check(CLI::IsMember({"auto", "measured", "oracle"}))
      ->default_val("auto");
  route
      ->add_option("--join-spacing-ms", join_spacing_ms,
                   "virtual ms between join starts (0: about 100 s for all)")
      ->default_val(0.0)
      ->check(CLI::NonNegativeNumber);
  route->add_flag("--check-state", options.check_state,
                  "check leaf sets and routing tables against the oracle (summary only)");
  route->add_flag("--json", json, "print one JSON object on stdout");

  PastScenarioOptions past;
  double past_repair_seconds = 300;
  CLI::App* past_cmd =
      app.add_subcommand("past", "insert B blocks, fail nodes in waves, count what is lost");
  past_cmd->add_option("--nodes", past.ring.nodes, "nodes in the ring")
      ->default_val(1000)
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  past_cmd->add_option("--blocks", past.blocks, "content-hash blocks inserted")->default_val(1000);
  past_cmd->add_option("--block-bytes", past.block_bytes, "bytes of random content per block")
      ->default_val(256)
      ->check(CLI::Range(std::size_t{1}, post::past::kMaxPayloadBytes));
  past_cmd->add_option("--fail-waves", past.waves, "waves of failures")
      ->default_val(1)
      ->check(CLI::NonNegativeNumber);
  past_cmd->add_option("--wave-fraction", past.wave_fraction, "share of live nodes crashed per wave")
      ->default_val(0.1)
      ->check(CLI::Range(0.0, 1.0));
  past_cmd
      ->add_option("--repair-seconds", past_repair_seconds, "virtual seconds of repair after a wave")
      ->default_val(300.0)
      ->check(CLI::NonNegativeNumber);
  past_cmd->add_option("--k", past.past.replicas, "replicas per block")
      ->default_val(3)
      ->check(CLI::Range(1, 12));
  past_cmd->add_option("--seed", past.ring.seed, "seed of the whole run")->default_val(1);
  past_cmd->add_flag("--json", json, "print one JSON object on stdout");

  ScribeScenarioOptions scribe_options;
  double scribe_repair_seconds = 300;
  CLI::App* scribe_cmd = app.add_subcommand(
      "scribe", "groups with Zipf sizes, publications, failures: delivery and repair");
  scribe_cmd->add_option("--nodes", scribe_options.ring.nodes, "nodes in the ring")
      ->default_val(1000)
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  scribe_cmd->add_option("--groups", scribe_options.groups, "groups (sizes Zipf, rank^-1.25)")
      ->default_val(100);
  scribe_cmd->add_option("--publishes", scribe_options.publishes, "publications to random groups")
      ->default_val(100);
  scribe_cmd
      ->add_option("--anycasts", scribe_options.anycasts,
                   "anycasts with an accepting member, and as many with none accepting")
      ->default_val(20);
  scribe_cmd->add_option("--fail", scribe_options.fail_fraction, "share of nodes crashed at once")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 1.0));
  scribe_cmd
      ->add_option("--repair-seconds", scribe_repair_seconds,
                   "longest virtual time allowed for delivery to recover after the crash")
      ->default_val(300.0)
      ->check(CLI::NonNegativeNumber);
  scribe_cmd->add_option("--seed", scribe_options.ring.seed, "seed of the whole run")->default_val(1);
  scribe_cmd->add_flag("--json", json, "print one JSON object on stdout");

  PostScenarioOptions post_options;
  double offline_seconds = 300;
  CLI::App* post_cmd = app.add_subcommand(
      "post", "users send each other messages (secure store + notifications), some offline");
  post_cmd->add_option("--nodes", post_options.ring.ring.nodes, "nodes in the ring")
      ->default_val(200)
      ->check(CLI::Range(std::size_t{2}, std::size_t{1'000'000}));
  post_cmd->add_option("--users", post_options.users, "users, each served by a random node")
      ->default_val(50)
      ->check(CLI::Range(std::size_t{2}, std::size_t{1'000'000}));
  post_cmd->add_option("--messages", post_options.messages, "messages between random users")
      ->default_val(200);
  post_cmd
      ->add_option("--offline-fraction", post_options.offline_fraction,
                   "share of the users offline while the messages are sent")
      ->default_val(0.0)
      ->check(CLI::Range(0.0, 0.9));
  post_cmd
      ->add_option("--offline-seconds", offline_seconds,
                   "virtual seconds the offline users stay away")
      ->default_val(300.0)
      ->check(CLI::NonNegativeNumber);
  post_cmd->add_option("--seed", post_options.ring.ring.seed, "seed of the whole run")
      ->default_val(1);
  post_cmd->add_flag("--json", json, "print one JSON object on stdout");

  CLI11_PARSE(app, argc, argv);

  ProgressBar bar;
  if (post_cmd->parsed()) {
    post_options.offline = net::seconds(offline_seconds);
    if (::isatty(STDERR_FILENO)) {
      post_options.join_progress = [&bar](std::size_t done, std::size_t total, net::Time now) {
        bar.draw(done, total, now);
      };
      post_options.on_phase = [&bar](const std::string& phase) {
        bar.finish();
        std::fprintf(stderr, "%s...\n", phase.c_str());
      };
    }
    PostReport report = run_post_scenario(post_options);
    bar.finish();
    if (json) {
      std::cout << to_json(report).dump() << "\n";
    } else {
      print_summary(report, post_options);
    }
    return 0;
  }
  if (scribe_cmd->parsed()) {
    scribe_options.repair = net::seconds(scribe_repair_seconds);
    if (::isatty(STDERR_FILENO)) {
      scribe_options.join_progress = [&bar](std::size_t done, std::size_t total, net::Time now) {
        bar.draw(done, total, now);
      };
      scribe_options.on_phase = [&bar](const std::string& phase) {
        bar.finish();
        std::fprintf(stderr, "%s...\n", phase.c_str());
      };
    }
    ScribeReport report = run_scribe_scenario(scribe_options);
    bar.finish();
    if (json) {
      std::cout << to_json(report).dump() << "\n";
    } else {
      print_summary(report, scribe_options);
    }
    return 0;
  }
  if (past_cmd->parsed()) {
    past.repair = net::seconds(past_repair_seconds);
    if (2 * past.past.replicas > past.ring.pastry.leaf_set_size) {
      return fail("--k must be at most half the leaf set (" +
                  std::to_string(past.ring.pastry.leaf_set_size / 2) + ")");
    }
    if (::isatty(STDERR_FILENO)) {
      past.join_progress = [&bar](std::size_t done, std::size_t total, net::Time now) {
        bar.draw(done, total, now);
      };
      past.on_phase = [&bar](const std::string& phase) {
        bar.finish();
        std::fprintf(stderr, "%s...\n", phase.c_str());
      };
    }
    PastReport report = run_past_scenario(past);
    bar.finish();
    if (report.join_failures > 0) {
      std::cerr << "post-sim: " << report.join_failures << " of " << report.nodes
                << " joins failed (seed " << past.ring.seed << ")\n";
    }
    if (json) {
      std::cout << to_json(report).dump() << "\n";
    } else {
      print_summary(report, past);
    }
    return 0;
  }

  if (options.ring.pastry.leaf_set_size % 2 != 0) return fail("--leaf-set must be even");
  options.ring.latency = latency == "sphere" ? LatencyKind::kSphere : LatencyKind::kPlane;
  options.ring.pastry.proximity_neighbour_selection = !no_pns;
  options.ring.rtt_from_oracle =
      rtt == "oracle" || (rtt == "auto" && options.ring.nodes >= kRttOracleFromNodes);
  options.ring.join_spacing = net::seconds(join_spacing_ms / 1000.0);
  options.repair = net::seconds(repair_seconds);
  options.settle = net::seconds(settle_seconds);

  if (::isatty(STDERR_FILENO)) {
    options.join_progress = [&bar](std::size_t done, std::size_t total, net::Time now) {
      bar.draw(done, total, now);
    };
    options.on_phase = [&bar](const std::string& phase) {
      bar.finish();
      std::fprintf(stderr, "%s...\n", phase.c_str());
    };
  }
  RouteReport report = run_route_scenario(options);
  bar.finish();

  if (report.join_failures > 0) {
    std::cerr << "post-sim: " << report.join_failures << " of " << report.nodes
              << " joins failed (seed " << options.ring.seed
              << "), the first: " << report.join_error << "\n";
  }
  if (json) {
    std::cout << to_json(report).dump() << "\n";
  } else {
    print_summary(report, options);
  }
  return 0;
}
