// Byte buffers and views used across the node, plus hex text forms.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/core/result.h"

namespace post {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Views the characters of `s` as bytes; the view lives as long as `s`.
inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Copies `s` into a byte buffer.
inline Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// Copies `b` into a std::string (protobuf `bytes` fields are strings).
inline std::string to_string(ByteView b) {
  // Through char pointers, so the copy is one memcpy rather than a byte-by-byte conversion.
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Appends `data` to `out`.
void append(Bytes& out, ByteView data);

// Lower-case hex of `b`, two characters per byte.
std::string to_hex(ByteView b);

// Parses hex text (either case, even length, no prefix or separators). Refuses anything else
// with CoreErrc::kBadHex.
Result<Bytes> from_hex(std::string_view text);

// Compares two byte strings in time independent of where they differ (for MACs and
// signatures); false when the sizes differ.
bool constant_time_equal(ByteView a, ByteView b);

}  // namespace post
