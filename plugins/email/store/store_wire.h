// Primitives of the store's binary format, shared by the record and snapshot codecs. Private
// to the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/email/store/mail_record.h"
#include "plugins/email/store/store_error.h"

namespace post::email::store::wire {

// The kinds byte of a record or a snapshot (FORMAT.md).
enum class Kind : std::uint8_t {
  kInsert = 1,
  kSetFlags = 2,
  kExpunge = 3,
  kSnapshotMarker = 4,
  kCreateFolder = 16,
  kDeleteFolder = 17,
  kRenameFolder = 18,
  kSubscribe = 19,
  kBlock = 20,
  kFolderSnapshot = 64,
};

// Appends fields to a byte string.
class Writer {
 public:
  void header(Kind kind);
  void u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
  // LEB128, 7 bits a byte, least significant first, shortest form.
  void varint(std::uint64_t value);
  // Zigzag then varint.
  void svarint(std::int64_t value);
  // varint length, then the bytes.
  void bytes(std::string_view value);
  void fixed(const Bytes32& value);
  void uid_set(const UidSet& set);
  void flags_body(const Flags& flags);
  void message(const MessageRef& message);

  std::string take() { return std::move(out_); }
  std::size_t size() const { return out_.size(); }

 private:
  std::string out_;
};

// Reads fields from a byte string. The first failure is kept; later reads fail too, so a
// decoder may check once after a group of reads.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  // Magic, version; returns the kind byte.
  bool header(std::uint8_t& kind);
  bool u8(std::uint8_t& value);
  bool varint(std::uint64_t& value);
  // A varint that must be at most `max`.
  bool varint_max(std::uint64_t& value, std::uint64_t max, const char* what);
  bool u32(std::uint32_t& value, const char* what) {
    std::uint64_t v = 0;
    if (!varint_max(v, 0xFFFFFFFFu, what)) return false;
    value = static_cast<std::uint32_t>(v);
    return true;
  }
  bool svarint(std::int64_t& value);
  bool bytes(std::string_view& value, std::size_t max, const char* what);
  bool fixed(Bytes32& value);
  bool boolean(bool& value, const char* what);
  bool uid_set(UidSet& set);
  bool flags_body(Flags& flags);
  bool message(MessageRef& message);
  // The rest must be length-prefixed extension fields; skips them.
  bool extensions();

  bool fail(StoreErrc code, std::string detail);
  bool failed() const { return error_.has_value(); }
  const StoreError& error() const { return *error_; }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  std::optional<StoreError> error_;
};

}  // namespace post::email::store::wire
