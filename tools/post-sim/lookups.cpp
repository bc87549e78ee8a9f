#include "tools/post-sim/lookups.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

namespace post::sim {
namespace {

// How long past the nodes' own lookup_timeout run_lookups waits for the last answers.
constexpr Duration kAnswerGrace = std::chrono::seconds(60);
// Granularity of the wait for answers, in virtual time.
constexpr Duration kPollInterval = std::chrono::seconds(1);

// Route latency along `path` over the direct latency from its first to its last node.
double stretch_of(const SimNetwork& net, const std::vector<NodeHandle>& path) {
  if (path.size() < 2) return 0;
  std::vector<SimNode> nodes;
  nodes.reserve(path.size());
  for (const NodeHandle& hop : path) {
    std::optional<SimNode> node = net.find(hop);
    if (!node) return 0;
    nodes.push_back(*node);
  }
  if (nodes.front() == nodes.back()) return 0;
  Duration route{0};
  for (std::size_t i = 1; i < nodes.size(); ++i) route += net.latency(nodes[i - 1], nodes[i]);
  Duration direct = net.latency(nodes.front(), nodes.back());
  if (direct <= Duration::zero()) return 0;
  return static_cast<double>(route.count()) / static_cast<double>(direct.count());
}

}  // namespace

std::vector<LookupOutcome> run_lookups(SimRing& ring, std::size_t count) {
  struct Batch {
    std::vector<LookupOutcome> outcomes;
    std::vector<bool> done;
    std::size_t pending = 0;
  };
  auto batch = std::make_shared<Batch>();
  std::vector<SimNode> members = ring.members();
  if (members.empty() || count == 0) return {};
  RingOracle oracle = ring.oracle(members);
  batch->outcomes.resize(count);
  batch->done.assign(count, false);
  batch->pending = count;

  for (std::size_t i = 0; i < count; ++i) {
    LookupOutcome& outcome = batch->outcomes[i];
    outcome.source = members[ring.rng().uniform(members.size())];
    outcome.key = ring.rng().random_id();
    outcome.expected = oracle.closest(outcome.key).id;
  }
  // Started after every key is drawn, so an answer that comes back at once cannot change them.
  for (std::size_t i = 0; i < count; ++i) {
    const LookupOutcome& outcome = batch->outcomes[i];
    ring.node(outcome.source)->lookup(outcome.key, [batch, i](Result<pastry::LookupResult> result) {
      if (batch->done[i]) return;
      batch->done[i] = true;
      --batch->pending;
      LookupOutcome& out = batch->outcomes[i];
      if (!result.ok()) {
        out.error = result.error().to_string();
        return;
      }
      out.answered = true;
      out.root = result->root.id;
      out.hops = result->hops;
      out.path = std::move(result->path);
      out.correct = out.root == out.expected;
    });
  }

  SimNetwork& net = ring.network();
  const Time give_up = net.now() + ring.config().pastry.lookup_timeout + kAnswerGrace;
  while (batch->pending > 0 && net.now() < give_up) net.run_for(kPollInterval);

  std::vector<LookupOutcome> outcomes = std::move(batch->outcomes);
  for (std::size_t i = 0; i < count; ++i) {
    if (!batch->done[i]) outcomes[i].error = "no answer";
    batch->done[i] = true;  // a late answer finds the batch closed
    if (outcomes[i].answered) outcomes[i].stretch = stretch_of(net, outcomes[i].path);
  }
  return outcomes;
}

LookupSummary summarize(const std::vector<LookupOutcome>& outcomes) {
  LookupSummary summary;
  summary.lookups = outcomes.size();
  std::vector<int> hops;
  double stretch_sum = 0;
  for (const LookupOutcome& outcome : outcomes) {
    if (outcome.correct) ++summary.correct;
    if (!outcome.answered) continue;
    ++summary.answered;
    hops.push_back(outcome.hops);
    if (outcome.stretch > 0) {
      stretch_sum += outcome.stretch;
      ++summary.stretch_samples;
    }
  }
  if (!hops.empty()) {
    double sum = 0;
    for (int h : hops) sum += h;
    summary.mean_hops = sum / static_cast<double>(hops.size());
    std::sort(hops.begin(), hops.end());
    auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(hops.size())));
    summary.p99_hops = hops[std::max<std::size_t>(rank, 1) - 1];
  }
  if (summary.lookups > 0) {
    summary.correct_fraction =
        static_cast<double>(summary.correct) / static_cast<double>(summary.lookups);
  }
  if (summary.stretch_samples > 0) {
    summary.stretch = stretch_sum / static_cast<double>(summary.stretch_samples);
  }
  return summary;
}

std::string describe(const LookupOutcome& outcome) {
  std::string out = "lookup of " + outcome.key.short_hex() + " from node " +
                    std::to_string(outcome.source) + ": ";
  if (!outcome.answered) return out + "error " + outcome.error;
  out += "root " + outcome.root.short_hex() + ", expected " + outcome.expected.short_hex() + " (" +
         std::to_string(outcome.hops) + " hops, path";
  for (const NodeHandle& hop : outcome.path) out += " " + hop.id.short_hex();
  return out + ")";
}

}  // namespace post::sim
