#include "host/net/latency_model.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace post::net {
namespace {

// min + (max - min) * fraction, rounded to the nanosecond; fraction is in [0, 1].
Duration interpolate(Duration min, Duration max, double fraction) {
  double span = static_cast<double>((max - min).count());
  return min + Duration(static_cast<Duration::rep>(std::llround(span * fraction)));
}

}  // namespace

PlaneLatency::PlaneLatency(Config config) : config_(config) {
  assert(config_.min_latency >= Duration::zero() && config_.min_latency <= config_.max_latency);
}

void PlaneLatency::add_node(SimNode node, Rng& rng) {
  assert(node == points_.size());
  (void)node;
  float x = static_cast<float>(rng.uniform_real());
  float y = static_cast<float>(rng.uniform_real());
  points_.push_back({x, y});
}

Duration PlaneLatency::latency(SimNode from, SimNode to) const {
  if (from == to) return Duration::zero();
  const Point& a = points_[from];
  const Point& b = points_[to];
  double dx = double{a.x} - double{b.x};
  double dy = double{a.y} - double{b.y};
  double fraction = std::min(1.0, std::sqrt(dx * dx + dy * dy) / std::numbers::sqrt2);
  return interpolate(config_.min_latency, config_.max_latency, fraction);
}

SphereLatency::SphereLatency(Config config) : config_(config) {
  assert(config_.min_latency >= Duration::zero() && config_.min_latency <= config_.max_latency);
}

void SphereLatency::add_node(SimNode node, Rng& rng) {
  assert(node == points_.size());
  (void)node;
  double z = 2.0 * rng.uniform_real() - 1.0;
  double phi = 2.0 * std::numbers::pi * rng.uniform_real();
  double r = std::sqrt(std::max(0.0, 1.0 - z * z));
  points_.push_back({static_cast<float>(r * std::cos(phi)), static_cast<float>(r * std::sin(phi)),
                     static_cast<float>(z)});
}

Duration SphereLatency::latency(SimNode from, SimNode to) const {
  if (from == to) return Duration::zero();
  const Point& a = points_[from];
  const Point& b = points_[to];
  double dot = double{a.x} * b.x + double{a.y} * b.y + double{a.z} * b.z;
  double angle = std::acos(std::clamp(dot, -1.0, 1.0));
  return interpolate(config_.min_latency, config_.max_latency, angle / std::numbers::pi);
}

MatrixLatency::MatrixLatency(const std::vector<std::vector<Duration>>& rows) : size_(rows.size()) {
  one_way_.reserve(size_ * size_);
  for (const auto& row : rows) {
    assert(row.size() == size_);
    for (std::size_t to = 0; to < size_; ++to) {
      Duration d = to < row.size() ? row[to] : Duration::zero();
      one_way_.push_back(std::max(d, Duration::zero()));
    }
  }
}

}  // namespace post::net
