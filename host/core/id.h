// Id: a point in the 256-bit circular identifier space (the SHA-256 space) shared by
// nodeIds, block handles and group ids. Bytes are big-endian: byte 0 holds the most
// significant bits, so lexicographic order of the bytes is numeric order.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "host/core/bytes.h"
#include "host/core/result.h"

namespace post {

class Id {
 public:
  static constexpr int kBits = 256;
  static constexpr std::size_t kBytes = 32;
  // Digit sizes Id supports: 1 to 8 bits per digit (Pastry's b).
  static constexpr int kMaxDigitBits = 8;

  using Array = std::array<std::uint8_t, kBytes>;

  // The zero id.
  constexpr Id() = default;
  explicit constexpr Id(const Array& bytes) : bytes_(bytes) {}

  // Exactly 32 bytes, or CoreErrc::kBadLength.
  static Result<Id> from_bytes(ByteView bytes);
  // Exactly 64 hex characters, or an error.
  static Result<Id> from_hex(std::string_view text);
  // SHA-256 of `data`: the id of a content-hash block, a group name, a public key.
  static Id hash_of(ByteView data);
  // 2^256 - 1.
  static Id max();
  // An id with only bit `bit` set, counted from the least significant bit (0..255).
  static Id power_of_two(int bit);

  const Array& bytes() const { return bytes_; }
  ByteView view() const { return {bytes_.data(), bytes_.size()}; }
  std::string to_hex() const;
  // First 8 hex characters, for log lines.
  std::string short_hex() const;

  // ---- digits (base 2^b) ----
  // Number of digits of an id in base 2^b: ceil(256 / b). b must be in [1, 8].
  static int digit_count(int b);
  // Digit `index` in base 2^b, index 0 being the most significant. When b does not divide
  // 256 the last digit holds the remaining low bits.
  int digit(int index, int b) const;
  // A copy of this id with digit `index` (base 2^b) replaced by `value`.
  Id with_digit(int index, int b, int value) const;
  // Number of leading digits (base 2^b) this id shares with `other`; digit_count(b) when equal.
  int shared_prefix_length(const Id& other, int b) const;

  // ---- ring arithmetic (mod 2^256) ----
  Id operator+(const Id& other) const;
  Id operator-(const Id& other) const;
  // Distance walking clockwise (increasing ids, wrapping) from this id to `to`: (to - this).
  Id clockwise_distance(const Id& to) const { return to - *this; }
  // Distance walking counter-clockwise from this id to `to`: (this - to).
  Id counter_clockwise_distance(const Id& to) const { return *this - to; }
  // The shorter of the two ring distances.
  Id distance(const Id& other) const;
  // Half the ring distance rounded down (used to find midpoints): (this + to) / 2 the short way.
  Id midpoint(const Id& to) const;

  friend bool operator==(const Id&, const Id&) = default;
  friend std::strong_ordering operator<=>(const Id& a, const Id& b) {
    return a.bytes_ <=> b.bytes_;
  }

 private:
  Array bytes_{};
};

// Orders candidates by closeness to `key` on the ring. Returns negative when `a` is closer,
// positive when `b` is closer, 0 only when a == b. On equal ring distances (a and b on
// opposite sides of the key), the numerically smaller id counts as closer, so every node
// agrees which one is "the numerically closest".
int compare_closeness(const Id& key, const Id& a, const Id& b);

// True when `a` is strictly closer to `key` than `b` under compare_closeness.
inline bool is_closer(const Id& key, const Id& a, const Id& b) {
  return compare_closeness(key, a, b) < 0;
}

// True when `x` lies on the clockwise arc from `from` to `to`, both ends included. The arc
// from an id to itself is the single point.
bool in_clockwise_arc(const Id& x, const Id& from, const Id& to);

}  // namespace post

template <>
struct std::hash<post::Id> {
  std::size_t operator()(const post::Id& id) const noexcept {
    std::size_t h = 0;
    for (int i = 0; i < 8; ++i) h = h << 8 | id.bytes()[i];
    return h;
  }
};
