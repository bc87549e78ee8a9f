// Seeded, deterministic pseudo-random numbers for protocol choices and simulation
// (xoshiro256**, seeded through splitmix64). Never for keys or nonces: those come from
// crypto::random_bytes. The same seed gives the same sequence on every platform, so a
// failing simulation replays from its printed seed.
#pragma once

#include <cstdint>
#include <limits>

#include "host/core/bytes.h"
#include "host/core/id.h"

namespace post {

class Rng {
 public:
  using result_type = std::uint64_t;

  explicit Rng(std::uint64_t seed);

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return next(); }

  std::uint64_t next();
  // Uniform in [0, bound); bound must be > 0. Unbiased (rejection sampling).
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform in [0, 1).
  double uniform_real();
  // True with probability p.
  bool chance(double p) { return uniform_real() < p; }
  // A uniformly random Id.
  Id random_id();
  // `n` bytes, one draw each (test data and simulated content, not key material).
  Bytes bytes(std::size_t n);
  // A new generator whose sequence is independent of this one's continuation.
  Rng fork();

 private:
  std::uint64_t s_[4];
};

}  // namespace post
