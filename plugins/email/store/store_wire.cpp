#include "plugins/email/store/store_wire.h"

#include <algorithm>

namespace post::email::store::wire {

void Writer::header(Kind kind) {
  u8(kFormatMagic);
  u8(kFormatVersion);
  u8(static_cast<std::uint8_t>(kind));
}

void Writer::varint(std::uint64_t value) {
  while (value >= 0x80) {
    u8(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  u8(static_cast<std::uint8_t>(value));
}

void Writer::svarint(std::int64_t value) {
  auto u = static_cast<std::uint64_t>(value);
  varint((u << 1) ^ (value < 0 ? ~std::uint64_t{0} : 0));
}

void Writer::bytes(std::string_view value) {
  varint(value.size());
  out_.append(value);
}

void Writer::fixed(const Bytes32& value) {
  out_.append(reinterpret_cast<const char*>(value.data()), value.size());
}

// count, then per range: (first - previous last - 1) and (last - first); the first range's
// gap is counted from 0, so a canonical set never has a zero gap after its first range.
void Writer::uid_set(const UidSet& set) {
  varint(set.ranges.size());
  std::uint64_t previous = 0;
  for (const UidRange& range : set.ranges) {
    varint(std::uint64_t{range.first} - previous - 1 + (previous == 0 ? 1 : 0));
    varint(std::uint64_t{range.last} - range.first);
    previous = range.last;
  }
}

void Writer::flags_body(const Flags& flags) {
  u8(flags.system);
  varint(flags.keywords.size());
  for (const std::string& keyword : flags.keywords) bytes(keyword);
}

void Writer::message(const MessageRef& message) {
  fixed(message.message_id);
  varint(message.size);
  svarint(message.internal_date);
  bytes(message.sender);
  bytes(message.layout);
  varint(message.parts.size());
  for (const PartRef& part : message.parts) {
    fixed(part.handle);
    fixed(part.key);
  }
}

bool Reader::fail(StoreErrc code, std::string detail) {
  if (!error_) error_ = StoreError{code, std::move(detail)};
  return false;
}

bool Reader::header(std::uint8_t& kind) {
  std::uint8_t magic = 0, version = 0;
  if (!u8(magic)) return false;
  if (magic != kFormatMagic) return fail(StoreErrc::kBadMagic, "first byte is not the magic");
  if (!u8(version)) return false;
  if (version != kFormatVersion) {
    return fail(StoreErrc::kUnsupportedVersion, "format version " + std::to_string(version));
  }
  return u8(kind);
}

bool Reader::u8(std::uint8_t& value) {
  if (failed()) return false;
  if (pos_ >= in_.size()) return fail(StoreErrc::kTruncated, "input ends inside a field");
  value = static_cast<std::uint8_t>(in_[pos_++]);
  return true;
}

bool Reader::varint(std::uint64_t& value) {
  value = 0;
  for (unsigned shift = 0;; shift += 7) {
    std::uint8_t byte = 0;
    if (!u8(byte)) return false;
    if (shift == 63 && byte > 1) return fail(StoreErrc::kBadVarint, "varint overflows 64 bits");
    value |= std::uint64_t{byte & 0x7Fu} << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && shift != 0) return fail(StoreErrc::kBadVarint, "overlong varint");
      return true;
    }
    if (shift == 63) return fail(StoreErrc::kBadVarint, "varint longer than 10 bytes");
  }
}

bool Reader::varint_max(std::uint64_t& value, std::uint64_t max, const char* what) {
  if (!varint(value)) return false;
  if (value > max) return fail(StoreErrc::kBadValue, std::string(what) + " out of range");
  return true;
}

bool Reader::svarint(std::int64_t& value) {
  std::uint64_t u = 0;
  if (!varint(u)) return false;
  value = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool Reader::bytes(std::string_view& value, std::size_t max, const char* what) {
  std::uint64_t length = 0;
  if (!varint(length)) return false;
  if (length > max) return fail(StoreErrc::kTooLarge, std::string(what) + " over its limit");
  if (length > remaining())
    return fail(StoreErrc::kTruncated, std::string(what) + " runs past the end");
  value = in_.substr(pos_, length);
  pos_ += length;
  return true;
}

bool Reader::fixed(Bytes32& value) {
  if (failed()) return false;
  if (remaining() < value.size()) return fail(StoreErrc::kTruncated, "input ends inside a handle");
  std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), value.size(), value.begin());
  pos_ += value.size();
  return true;
}

bool Reader::boolean(bool& value, const char* what) {
  std::uint8_t byte = 0;
  if (!u8(byte)) return false;
  if (byte > 1) return fail(StoreErrc::kBadValue, std::string(what) + " is not 0 or 1");
  value = byte == 1;
  return true;
}

bool Reader::uid_set(UidSet& set) {
  std::uint64_t count = 0;
  if (!varint(count)) return false;
  if (count == 0) return fail(StoreErrc::kBadUidSet, "empty UID set");
  if (count > kMaxUidRanges) return fail(StoreErrc::kTooLarge, "too many UID ranges");
  // Each range takes at least two bytes: a count the input cannot hold is refused before
  // any allocation.
  if (count > remaining() / 2) return fail(StoreErrc::kTruncated, "UID set runs past the end");
  set.ranges.clear();
  set.ranges.reserve(count);
  std::uint64_t previous = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t gap = 0, span = 0;
    if (!varint(gap) || !varint(span)) return false;
    if (previous != 0 && gap == 0) return fail(StoreErrc::kBadUidSet, "adjacent UID ranges");
    if (previous == 0 && gap == 0) return fail(StoreErrc::kBadUidSet, "UID 0");
    if (gap > 0xFFFFFFFFu || span > 0xFFFFFFFFu) {
      return fail(StoreErrc::kBadUidSet, "UID past the largest");
    }
    std::uint64_t first = previous + gap + (previous == 0 ? 0 : 1);
    std::uint64_t last = first + span;
    if (last > 0xFFFFFFFFu) return fail(StoreErrc::kBadUidSet, "UID past the largest");
    set.ranges.push_back({static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(last)});
    previous = last;
  }
  return true;
}

bool Reader::flags_body(Flags& flags) {
  std::uint64_t count = 0;
  if (!u8(flags.system)) return false;
  if ((flags.system & ~kAllSystemFlags) != 0) {
    return fail(StoreErrc::kBadValue, "unknown system flag bit");
  }
  if (!varint(count)) return false;
  if (count > kMaxKeywordsPerMessage) return fail(StoreErrc::kTooLarge, "too many keywords");
  flags.keywords.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string_view keyword;
    if (!bytes(keyword, kMaxKeywordBytes, "keyword")) return false;
    if (!is_valid_keyword(keyword)) return fail(StoreErrc::kBadKeyword, "keyword is not an atom");
    if (!flags.keywords.empty() && !(flags.keywords.back() < keyword)) {
      return fail(StoreErrc::kBadKeyword, "keywords not sorted or duplicated");
    }
    flags.keywords.emplace_back(keyword);
  }
  return true;
}

bool Reader::message(MessageRef& message) {
  std::uint64_t size = 0, parts = 0;
  std::string_view sender, layout;
  if (!fixed(message.message_id) || !varint_max(size, 0xFFFFFFFFu, "message size") ||
      !svarint(message.internal_date) || !bytes(sender, kMaxAddressBytes, "sender") ||
      !bytes(layout, kMaxLayoutBytes, "layout") || !varint(parts)) {
    return false;
  }
  if (parts > kMaxParts) return fail(StoreErrc::kTooLarge, "too many parts");
  if (parts > remaining() / 64) return fail(StoreErrc::kTruncated, "part list runs past the end");
  message.size = static_cast<std::uint32_t>(size);
  message.sender.assign(sender);
  message.layout.assign(layout);
  message.parts.resize(parts);
  for (PartRef& part : message.parts) {
    if (!fixed(part.handle) || !fixed(part.key)) return false;
  }
  return true;
}

bool Reader::extensions() {
  while (!failed() && remaining() > 0) {
    std::string_view skipped;
    if (!bytes(skipped, kMaxSnapshotBytes, "extension field")) return false;
  }
  return !failed();
}

}  // namespace post::email::store::wire
