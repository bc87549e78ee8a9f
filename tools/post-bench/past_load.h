// PastLoad: the PAST workload of `post-bench past`, driven through the nodes' admin endpoints.
//
// Insert phase: `ops` puts of `size` bytes of seeded random content, put i through node
// i mod N, at most `concurrency` in flight. Every answer is checked: a content-hash handle
// that matches the content, stored on k nodes.
//
// Lookup phase: a get of every handle the insert phase stored, each through a node other than
// the one that inserted it (chosen with the seed), `concurrency` in flight. Every answer is
// checked: the same handle, a content-hash block, and exactly the content that was put.
//
// Latency is the time from handing a request to its connection to reading its answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "host/core/bytes.h"
#include "host/core/result.h"
#include "tools/post-bench/admin_channel.h"
#include "tools/post-bench/local_cluster.h"

namespace post::bench {

struct LoadOptions {
  std::size_t size = 1024;      // bytes of content per block
  std::size_t ops = 1000;       // puts, and as many gets
  std::size_t concurrency = 8;  // requests in flight at once, over all nodes
  std::uint64_t seed = 1;       // the content and the choice of lookup nodes
  int replicas = 3;             // k: every put must report this many replicas
  // A request unanswered this long fails (with the other requests on its connection). Longer
  // than postd's own admin request timeout (45 s), which normally answers first.
  std::chrono::steady_clock::duration request_timeout = std::chrono::seconds(60);
};

// What one phase measured.
struct PhaseReport {
  std::size_t attempted = 0;              // operations sent
  std::size_t succeeded = 0;              // answered, and the answer checked out
  std::size_t failed = 0;                 // attempted - succeeded
  double seconds = 0;                     // from the first request sent to the last answer read
  std::vector<double> latencies_ms;       // of the operations that succeeded, in any order
  std::vector<std::string> first_errors;  // the first few failures, as messages

  // Succeeded operations per second of the phase; 0 for an empty phase.
  double per_second() const;
  // The nearest-rank percentile `p` (0 < p <= 1) of the latencies; 0 when there are none.
  double percentile_ms(double p) const;
};

class PastLoad {
 public:
  // (done, total) after each operation completes.
  using Progress = std::function<void(std::size_t, std::size_t)>;

  // A load against `nodes` (their admin endpoints; at least two nodes). Nothing is connected
  // yet. `io` must outlive the load and have work (a work guard).
  PastLoad(boost::asio::io_context& io, std::vector<ClusterNode> nodes, LoadOptions options);
  // Closes every connection and runs the io_context's ready handlers, so no callback of the
  // load runs after it is gone.
  ~PastLoad();
  PastLoad(const PastLoad&) = delete;
  PastLoad& operator=(const PastLoad&) = delete;

  // Opens min(concurrency, kMaxChannelsPerNode) connections to each node's admin endpoint.
  // Fails (naming the node) if one cannot be opened within a few seconds.
  Status connect();

  // Runs the insert phase. Fails only when interrupted; failed puts are counted in the report.
  Result<PhaseReport> insert(const Progress& progress);
  // Runs the lookup phase over what insert() stored. Fails only when interrupted.
  Result<PhaseReport> lookup(const Progress& progress);

 private:
  struct Phase;
  // Called once per operation: whether it succeeded, and how long its request took.
  using OpDone = std::function<void(Result<void>, std::chrono::steady_clock::duration)>;

  // Runs `ops` operations, `concurrency` at once; start(i, done) begins operation i and calls
  // `done` from the io_context when it is over (never from inside start).
  Result<PhaseReport> run_phase(std::size_t ops,
                                const std::function<void(std::size_t, OpDone)>& start,
                                const Progress& progress);
  // The least busy open connection to node `node`, taking turns among equally busy ones (so
  // none sits idle long enough for postd to close it); a closed one if none is open.
  std::shared_ptr<AdminChannel> channel_to(std::size_t node);
  // The content of block `op`: `size` bytes drawn from its own seed.
  Bytes content_of(std::size_t op) const;

  void start_put(std::size_t op, OpDone done);
  void start_get(std::size_t lookup, OpDone done);

  boost::asio::io_context& io_;
  std::vector<ClusterNode> nodes_;
  LoadOptions options_;
  std::vector<std::uint64_t> op_seeds_;
  std::vector<std::vector<std::shared_ptr<AdminChannel>>> channels_;  // per node
  std::vector<std::size_t> next_channel_;  // per node: where channel_to() starts looking
  std::vector<std::string> handles_;       // per put: the handle, empty if it failed
  std::vector<std::size_t> lookup_ops_;    // per get: the put whose handle it reads
  std::vector<std::size_t> lookup_nodes_;  // per get: the node it goes through
};

// Connections per node at most, however high the concurrency: a quarter of what postd accepts
// (32). More requests are pipelined on them.
inline constexpr std::size_t kMaxChannelsPerNode = 8;

}  // namespace post::bench
