// What the fuzz targets share: a check that aborts (so libFuzzer records the input) and a
// deterministic generator seeded from the input, so that a crash replays from its file.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace post::fuzz {

inline void check(bool condition) {
  if (!condition) std::abort();
}

// xorshift64, seeded with FNV-1a of the seed bytes.
class Rng {
 public:
  explicit Rng(std::string_view seed) {
    for (char c : seed) state_ = (state_ ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    if (state_ == 0) state_ = 1;
  }
  std::uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // A number in [0, n); n > 0.
  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace post::fuzz
