#include "host/core/id.h"

#include <cassert>

#include "host/core/crypto.h"
#include "host/core/errors.h"

namespace post {

Result<Id> Id::from_bytes(ByteView bytes) {
  if (bytes.size() != kBytes) {
    return make_error(CoreErrc::kBadLength,
                      "an id is 32 bytes, got " + std::to_string(bytes.size()));
  }
  Array a;
  std::copy(bytes.begin(), bytes.end(), a.begin());
  return Id(a);
}

Result<Id> Id::from_hex(std::string_view text) {
  if (text.size() != 2 * kBytes) {
    return make_error(CoreErrc::kBadLength,
                      "an id is 64 hex characters, got " + std::to_string(text.size()));
  }
  POST_TRY_ASSIGN(Bytes raw, post::from_hex(text));
  return from_bytes(raw);
}

Id Id::hash_of(ByteView data) {
  return Id(crypto::sha256(data));
}

Id Id::max() {
  Array a;
  a.fill(0xff);
  return Id(a);
}

Id Id::power_of_two(int bit) {
  assert(bit >= 0 && bit < kBits);
  Array a{};
  a[kBytes - 1 - bit / 8] = static_cast<std::uint8_t>(1u << (bit % 8));
  return Id(a);
}

std::string Id::to_hex() const {
  return post::to_hex(view());
}

std::string Id::short_hex() const {
  return post::to_hex(ByteView(bytes_.data(), 4));
}

int Id::digit_count(int b) {
  assert(b >= 1 && b <= kMaxDigitBits);
  return (kBits + b - 1) / b;
}

namespace {

// Reads `width` bits starting at bit offset `start` (0 = most significant bit).
int read_bits(const Id::Array& a, int start, int width) {
  int value = 0;
  for (int i = 0; i < width; ++i) {
    int bit = start + i;
    value = value << 1 | ((a[bit / 8] >> (7 - bit % 8)) & 1);
  }
  return value;
}

void write_bits(Id::Array& a, int start, int width, int value) {
  for (int i = 0; i < width; ++i) {
    int bit = start + i;
    int v = (value >> (width - 1 - i)) & 1;
    auto mask = static_cast<std::uint8_t>(1u << (7 - bit % 8));
    a[bit / 8] = static_cast<std::uint8_t>(v ? (a[bit / 8] | mask) : (a[bit / 8] & ~mask));
  }
}

int digit_width(int index, int b) {
  int start = index * b;
  return start + b <= Id::kBits ? b : Id::kBits - start;
}

}  // namespace

int Id::digit(int index, int b) const {
  assert(index >= 0 && index < digit_count(b));
  if (b == 4) {  // the common case, without the bit loop
    std::uint8_t byte = bytes_[index / 2];
    return index % 2 == 0 ? byte >> 4 : byte & 0x0f;
  }
  if (b == 8) return bytes_[index];
  return read_bits(bytes_, index * b, digit_width(index, b));
}

Id Id::with_digit(int index, int b, int value) const {
  assert(index >= 0 && index < digit_count(b));
  int width = digit_width(index, b);
  assert(value >= 0 && value < (1 << width));
  Id out = *this;
  write_bits(out.bytes_, index * b, width, value);
  return out;
}

int Id::shared_prefix_length(const Id& other, int b) const {
  int bits = 0;
  for (std::size_t i = 0; i < kBytes; ++i) {
    std::uint8_t x = bytes_[i] ^ other.bytes_[i];
    if (x == 0) {
      bits += 8;
      continue;
    }
    bits += __builtin_clz(static_cast<unsigned>(x)) - 24;
    break;
  }
  if (bits == kBits) return digit_count(b);
  return bits / b;
}

Id Id::operator+(const Id& other) const {
  Array out;
  unsigned carry = 0;
  for (int i = kBytes - 1; i >= 0; --i) {
    unsigned sum = unsigned{bytes_[i]} + other.bytes_[i] + carry;
    out[i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  return Id(out);
}

Id Id::operator-(const Id& other) const {
  Array out;
  int borrow = 0;
  for (int i = kBytes - 1; i >= 0; --i) {
    int diff = int{bytes_[i]} - other.bytes_[i] - borrow;
    borrow = diff < 0 ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(diff + (borrow << 8));
  }
  return Id(out);
}

Id Id::distance(const Id& other) const {
  Id cw = clockwise_distance(other);
  Id ccw = counter_clockwise_distance(other);
  return cw < ccw ? cw : ccw;
}

Id Id::midpoint(const Id& to) const {
  // Half of the clockwise distance, added to this id.
  Id d = clockwise_distance(to);
  Array half;
  unsigned carry = 0;
  for (std::size_t i = 0; i < kBytes; ++i) {
    unsigned v = d.bytes_[i];
    half[i] = static_cast<std::uint8_t>((v >> 1) | (carry << 7));
    carry = v & 1;
  }
  return *this + Id(half);
}

int compare_closeness(const Id& key, const Id& a, const Id& b) {
  if (a == b) return 0;
  Id da = key.distance(a);
  Id db = key.distance(b);
  if (da != db) return da < db ? -1 : 1;
  return a < b ? -1 : 1;
}

bool in_clockwise_arc(const Id& x, const Id& from, const Id& to) {
  return from.clockwise_distance(x) <= from.clockwise_distance(to);
}

}  // namespace post
