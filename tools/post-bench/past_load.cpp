#include "tools/post-bench/past_load.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "host/core/errors.h"
#include "host/core/random.h"
#include "host/past/block.h"
#include "tools/post-bench/interruption.h"

namespace post::bench {

namespace asio = boost::asio;
namespace admin = post::proto::admin;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Failures quoted in full; the rest are counted.
constexpr std::size_t kErrorsKept = 5;
constexpr auto kConnectTimeout = 5s;
// A distinct stream of the seed for the choice of lookup nodes, so that it does not repeat
// the content's.
constexpr std::uint64_t kLookupNodeStream = 0x6c6f6f6b7570ULL;  // "lookup"

Error op_error(const std::string& message) {
  return make_error(CoreErrc::kIoError, message);
}

}  // namespace

double PhaseReport::per_second() const {
  return seconds > 0 ? static_cast<double>(succeeded) / seconds : 0.0;
}

double PhaseReport::percentile_ms(double p) const {
  if (latencies_ms.empty()) return 0;
  std::vector<double> sorted = latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// The state of a running phase. Callbacks hold it by shared_ptr, so a late one (after an
// interruption) finds it alive and sees `stopped`.
struct PastLoad::Phase {
  std::size_t ops = 0;
  std::size_t next = 0;
  std::size_t in_flight = 0;
  std::size_t done = 0;
  bool stopped = false;
  SteadyClock::time_point started;
  SteadyClock::time_point last_answer;
  PhaseReport report;
};

PastLoad::PastLoad(asio::io_context& io, std::vector<ClusterNode> nodes, LoadOptions options)
    : io_(io), nodes_(std::move(nodes)), options_(options) {
  Rng rng(options_.seed);
  op_seeds_.resize(options_.ops);
  for (auto& s : op_seeds_) s = rng.next();
}

PastLoad::~PastLoad() {
  for (auto& per_node : channels_) {
    for (auto& c : per_node) c->close();
  }
  try {
    io_.poll();
  } catch (...) {  // a destructor must not throw, and there is nothing left to save
  }
}

Status PastLoad::connect() {
  // Shared with the callbacks, which may run after this returns (after a timeout).
  struct Connecting {
    std::size_t pending = 0;
    std::optional<Error> first_error;
  };
  auto state = std::make_shared<Connecting>();
  std::size_t per_node = std::min(options_.concurrency, kMaxChannelsPerNode);
  channels_.assign(nodes_.size(), {});
  next_channel_.assign(nodes_.size(), 0);
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    for (std::size_t c = 0; c < per_node; ++c) {
      auto channel = AdminChannel::create(io_, nodes_[n].admin_endpoint(), nodes_[n].describe(),
                                          options_.request_timeout);
      ++state->pending;
      channel->connect([state](Status s) {
        --state->pending;
        if (!s.ok() && !state->first_error) state->first_error = std::move(s).error();
      });
      channels_[n].push_back(std::move(channel));
    }
  }
  bool connected = run_until(
      io_, [&] { return state->pending == 0; }, SteadyClock::now() + kConnectTimeout);
  if (!connected) {
    if (interrupted()) return make_error(CoreErrc::kIoError, "interrupted");
    return make_error(CoreErrc::kIoError,
                      "connections to the admin endpoints did not open within " +
                          std::to_string(kConnectTimeout.count()) + " s");
  }
  if (state->first_error) return *state->first_error;
  return ok_status();
}

std::shared_ptr<AdminChannel> PastLoad::channel_to(std::size_t node) {
  const auto& channels = channels_[node];
  std::size_t start = next_channel_[node];
  std::optional<std::size_t> best;
  for (std::size_t k = 0; k < channels.size(); ++k) {
    std::size_t i = (start + k) % channels.size();
    if (channels[i]->open() && (!best || channels[i]->in_flight() < channels[*best]->in_flight())) {
      best = i;
    }
  }
  if (!best) return channels.front();  // its call() fails, naming the node
  next_channel_[node] = (*best + 1) % channels.size();
  return channels[*best];
}

Bytes PastLoad::content_of(std::size_t op) const {
  Rng rng(op_seeds_[op]);
  Bytes out(options_.size);
  for (std::size_t i = 0; i < out.size(); i += 8) {
    std::uint64_t word = rng.next();
    std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, out.size() - i));
  }
  return out;
}

Result<PhaseReport> PastLoad::run_phase(std::size_t ops,
                                        const std::function<void(std::size_t, OpDone)>& start,
                                        const Progress& progress) {
  auto phase = std::make_shared<Phase>();
  phase->ops = ops;
  phase->started = SteadyClock::now();
  phase->last_answer = phase->started;
  // Starts operations until `concurrency` are in flight. Each one's completion starts the next.
  std::function<void()> pump;
  pump = [this, phase, &start, &progress, &pump] {
    while (!phase->stopped && phase->in_flight < options_.concurrency && phase->next < phase->ops) {
      std::size_t op = phase->next++;
      ++phase->in_flight;
      ++phase->report.attempted;
      start(op,
            [phase, &progress, &pump](const Result<void>& result, SteadyClock::duration latency) {
              auto now = SteadyClock::now();
              --phase->in_flight;
              ++phase->done;
              phase->last_answer = now;
              if (result.ok()) {
                ++phase->report.succeeded;
                phase->report.latencies_ms.push_back(
                    std::chrono::duration<double, std::milli>(latency).count());
              } else {
                ++phase->report.failed;
                if (phase->report.first_errors.size() < kErrorsKept) {
                  phase->report.first_errors.push_back(result.error().message);
                }
              }
              if (phase->stopped) return;
              progress(phase->done, phase->ops);
              pump();
            });
    }
  };
  pump();
  bool finished = run_until(
      io_, [&] { return phase->done == phase->ops; }, SteadyClock::time_point::max());
  if (!finished) {
    // Interrupted: whatever is in flight fails now, and nothing new starts.
    phase->stopped = true;
    for (auto& per_node : channels_) {
      for (auto& c : per_node) c->close();
    }
    io_.poll();
    return make_error(CoreErrc::kIoError, "interrupted");
  }
  phase->stopped = true;
  phase->report.seconds =
      std::chrono::duration<double>(phase->last_answer - phase->started).count();
  return std::move(phase->report);
}

void PastLoad::start_put(std::size_t op, OpDone done) {
  std::size_t node = op % nodes_.size();
  Bytes content = content_of(op);
  Id expected = past::content_handle(content);
  admin::AdminRequest request;
  request.mutable_put()->set_content(to_string(content));
  auto sent = SteadyClock::now();
  channel_to(node)->call(
      std::move(request), [this, op, node, expected, sent, done_with_latency = std::move(done)](
                              Result<admin::AdminResponse> answer) {
        auto latency = SteadyClock::now() - sent;
        auto finish = [&](Result<void> result) { done_with_latency(std::move(result), latency); };
        // The channel's errors name the node already.
        if (!answer.ok()) {
          return finish(op_error("put #" + std::to_string(op) + ": " + answer.error().message));
        }
        std::string what = "put #" + std::to_string(op) + " through " + nodes_[node].describe();
        if (answer->has_error()) return finish(op_error(what + ": " + answer->error().message()));
        if (!answer->has_put())
          return finish(op_error(what + ": answered with another kind of answer"));
        const admin::PutReply& put = answer->put();
        if (put.handle() != to_string(expected.view())) {
          return finish(op_error(what + ": handle " + to_hex(as_bytes(put.handle())) +
                                 " is not the content's, " + expected.to_hex()));
        }
        if (put.stored_on_size() != options_.replicas) {
          return finish(op_error(what + ": stored on " + std::to_string(put.stored_on_size()) +
                                 " nodes, not k = " + std::to_string(options_.replicas)));
        }
        handles_[op] = put.handle();
        finish(ok_status());
      });
}

void PastLoad::start_get(std::size_t lookup, OpDone done) {
  std::size_t op = lookup_ops_[lookup];
  std::size_t node = lookup_nodes_[lookup];
  admin::AdminRequest request;
  request.mutable_get()->set_id(handles_[op]);
  auto sent = SteadyClock::now();
  channel_to(node)->call(std::move(request), [this, op, node, sent,
                                              done_with_latency = std::move(done)](
                                                 Result<admin::AdminResponse> answer) {
    auto latency = SteadyClock::now() - sent;
    auto finish = [&](Result<void> result) { done_with_latency(std::move(result), latency); };
    std::string op_name =
        "get #" + std::to_string(op) + " (" + to_hex(as_bytes(handles_[op])).substr(0, 8) + ")";
    if (!answer.ok()) return finish(op_error(op_name + ": " + answer.error().message));
    std::string what = op_name + " through " + nodes_[node].describe();
    if (answer->has_error()) return finish(op_error(what + ": " + answer->error().message()));
    if (!answer->has_get())
      return finish(op_error(what + ": answered with another kind of answer"));
    const admin::GetReply& get = answer->get();
    if (get.handle() != handles_[op]) {
      return finish(op_error(what + ": answered for handle " + to_hex(as_bytes(get.handle()))));
    }
    if (get.kind() != "content-hash") {
      return finish(op_error(what + ": a block of kind '" + get.kind() + "', not content-hash"));
    }
    Bytes content = content_of(op);
    if (get.payload().size() != content.size() ||
        std::memcmp(get.payload().data(), content.data(), content.size()) != 0) {
      return finish(op_error(what + ": the payload (" + std::to_string(get.payload().size()) +
                             " bytes) is not the content that was put (" +
                             std::to_string(content.size()) + " bytes)"));
    }
    finish(ok_status());
  });
}

Result<PhaseReport> PastLoad::insert(const Progress& progress) {
  handles_.assign(options_.ops, std::string());
  return run_phase(
      options_.ops, [this](std::size_t op, OpDone done) { start_put(op, std::move(done)); },
      progress);
}

Result<PhaseReport> PastLoad::lookup(const Progress& progress) {
  Rng rng(options_.seed ^ kLookupNodeStream);
  lookup_ops_.clear();
  lookup_nodes_.clear();
  for (std::size_t op = 0; op < handles_.size(); ++op) {
    if (handles_[op].empty()) continue;  // the put failed, and was counted then
    std::size_t inserter = op % nodes_.size();
    std::size_t offset = 1 + static_cast<std::size_t>(rng.uniform(nodes_.size() - 1));
    lookup_ops_.push_back(op);
    lookup_nodes_.push_back((inserter + offset) % nodes_.size());
  }
  return run_phase(
      lookup_ops_.size(),
      [this](std::size_t lookup, OpDone done) { start_get(lookup, std::move(done)); }, progress);
}

}  // namespace post::bench
