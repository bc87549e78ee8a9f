// LatencyModel: the one-way delay between two simulated nodes. SimNetwork asks its model for
// a node's place when the node is added and for the latency of every message it carries.
// A model's latencies are fixed once both nodes exist: that, plus the network's global event
// order, is what keeps delivery FIFO on every (sender, receiver) pair.
//
// Models are deterministic: a node's place comes only from the Rng it is handed, so the same
// seed gives the same topology. (SphereLatency uses sin/cos/acos, whose last bit may differ
// between C libraries; the others use only exact IEEE arithmetic.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "host/core/random.h"
#include "host/net/clock.h"

namespace post::net {

// Index of a node in a SimNetwork: 0, 1, 2... in the order nodes were added.
using SimNode = std::uint32_t;

class LatencyModel {
 public:
  virtual ~LatencyModel() = default;

  // Gives node `node` its place, drawing any randomness from `rng`. Called once per node, in
  // index order (node == number of nodes added before), and never when node >= max_nodes().
  virtual void add_node(SimNode node, Rng& rng) = 0;

  // One-way latency from `from` to `to`, both already added. Zero when from == to; never
  // negative. Pure: the same pair always gives the same value.
  virtual Duration latency(SimNode from, SimNode to) const = 0;

  // How many nodes this model can place.
  virtual std::size_t max_nodes() const { return std::numeric_limits<std::size_t>::max(); }
};

// Every pair of distinct nodes is `one_way` apart. For unit tests that want round numbers.
class ConstantLatency final : public LatencyModel {
 public:
  explicit ConstantLatency(Duration one_way) : one_way_(one_way) {}

  void add_node(SimNode, Rng&) override {}
  Duration latency(SimNode from, SimNode to) const override {
    return from == to ? Duration::zero() : one_way_;
  }

 private:
  Duration one_way_;
};

// Nodes at uniformly random points of a square. Latency grows linearly with Euclidean
// distance, from `min_latency` (two nodes on the same spot) to `max_latency` (opposite
// corners). The defaults give one-way latencies of about 1 to 200 ms, a wide-area spread.
class PlaneLatency final : public LatencyModel {
 public:
  struct Config {
    Duration min_latency = millis(1);
    Duration max_latency = millis(200);
  };

  PlaneLatency() : PlaneLatency(Config{}) {}
  explicit PlaneLatency(Config config);

  void add_node(SimNode node, Rng& rng) override;
  Duration latency(SimNode from, SimNode to) const override;

 private:
  struct Point {
    float x;
    float y;
  };
  Config config_;
  std::vector<Point> points_;
};

// Nodes at uniformly random points of a sphere, as FreePastry's default SphereNetwork. Latency
// grows linearly with the great-circle distance, from `min_latency` to `max_latency`
// (antipodes).
class SphereLatency final : public LatencyModel {
 public:
  struct Config {
    Duration min_latency = millis(1);
    Duration max_latency = millis(200);
  };

  SphereLatency() : SphereLatency(Config{}) {}
  explicit SphereLatency(Config config);

  void add_node(SimNode node, Rng& rng) override;
  Duration latency(SimNode from, SimNode to) const override;

 private:
  struct Point {
    float x;
    float y;
    float z;
  };
  Config config_;
  std::vector<Point> points_;
};

// Latencies given explicitly, e.g. measured ones: rows[from][to] is the one-way latency from
// `from` to `to`. The matrix must be square; it need not be symmetric. The diagonal is ignored
// (a node reaches itself in zero time). Holds at most rows.size() nodes.
class MatrixLatency final : public LatencyModel {
 public:
  explicit MatrixLatency(const std::vector<std::vector<Duration>>& rows);

  void add_node(SimNode, Rng&) override {}
  Duration latency(SimNode from, SimNode to) const override {
    return from == to ? Duration::zero() : one_way_[std::size_t{from} * size_ + to];
  }
  std::size_t max_nodes() const override { return size_; }

 private:
  std::size_t size_;
  std::vector<Duration> one_way_;  // row-major, size_ x size_
};

}  // namespace post::net
