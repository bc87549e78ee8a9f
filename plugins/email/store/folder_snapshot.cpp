#include "plugins/email/store/folder_snapshot.h"

#include <algorithm>

#include "plugins/email/store/store_wire.h"

namespace post::email::store {
namespace {

// The fewest bytes one message takes in a snapshot: UID gap, system flags, keyword count
// (1 each), message id (32), size, date, sender, layout and part count (1 each).
constexpr std::size_t kMinSnapshotMessageBytes = 3 + 32 + 5;

}  // namespace

std::string encode_snapshot(const Folder& folder) {
  wire::Writer w;
  w.header(wire::Kind::kFolderSnapshot);
  w.varint(folder.uidvalidity());
  w.varint(folder.uidnext());
  auto last = folder.last_applied_index();
  w.varint(last ? *last + 1 : 0);
  const std::vector<std::string>& table = folder.keywords();
  w.varint(table.size());
  for (const std::string& keyword : table) w.bytes(keyword);
  w.varint(folder.message_count());
  std::uint32_t previous = 0;
  for (const Message& m : folder.messages()) {
    w.varint(m.uid - previous);
    previous = m.uid;
    w.u8(m.flags.system);
    w.varint(m.flags.keywords.size());
    for (const std::string& keyword : m.flags.keywords) {
      auto it = std::lower_bound(table.begin(), table.end(), keyword);
      w.varint(static_cast<std::uint64_t>(it - table.begin()));
    }
    w.message(m.ref);
  }
  return w.take();
}

StoreResult<Folder> decode_snapshot(std::string_view bytes) {
  if (bytes.size() > kMaxSnapshotBytes) {
    return store_error(StoreErrc::kTooLarge, "snapshot over its limit");
  }
  wire::Reader r(bytes);
  std::uint8_t kind = 0;
  if (!r.header(kind)) return r.error();
  if (kind != static_cast<std::uint8_t>(wire::Kind::kFolderSnapshot)) {
    return store_error(StoreErrc::kWrongKind, "not a folder snapshot");
  }
  std::uint32_t uidvalidity = 0, uidnext = 0;
  std::uint64_t next_index = 0, keyword_count = 0, message_count = 0;
  if (!r.u32(uidvalidity, "UIDVALIDITY") || !r.u32(uidnext, "UIDNEXT") || !r.varint(next_index) ||
      !r.varint_max(keyword_count, kMaxKeywordsPerFolder, "keywords")) {
    return r.error();
  }
  if (uidnext == 0 || uidnext > kMaxUid + 1) return store_error(StoreErrc::kBadValue, "UIDNEXT");
  Folder folder(uidvalidity);
  folder.uidnext_ = uidnext;
  if (next_index != 0) folder.last_index_ = next_index - 1;
  for (std::uint64_t i = 0; i < keyword_count; ++i) {
    std::string_view keyword;
    if (!r.bytes(keyword, kMaxKeywordBytes, "keyword")) return r.error();
    if (!is_valid_keyword(keyword)) return store_error(StoreErrc::kBadKeyword, "keyword");
    if (!folder.keywords_.empty() && !(folder.keywords_.back() < keyword)) {
      return store_error(StoreErrc::kBadKeyword, "keyword table not sorted or duplicated");
    }
    folder.keywords_.emplace_back(keyword);
  }
  if (!r.varint(message_count)) return r.error();
  if (message_count > r.remaining() / kMinSnapshotMessageBytes) {
    return store_error(StoreErrc::kTruncated, "message list runs past the end");
  }
  folder.messages_.reserve(message_count);
  std::uint64_t previous = 0;
  for (std::uint64_t i = 0; i < message_count; ++i) {
    Message m;
    std::uint64_t gap = 0, count = 0;
    if (!r.varint(gap) || !r.u8(m.flags.system) ||
        !r.varint_max(count, kMaxKeywordsPerMessage, "message keywords")) {
      return r.error();
    }
    if (gap == 0 || gap >= uidnext - previous) {  // previous < uidnext: no wrap-around
      return store_error(StoreErrc::kBadValue, "UID zero, not ascending or not below UIDNEXT");
    }
    previous += gap;
    m.uid = static_cast<std::uint32_t>(previous);
    if ((m.flags.system & ~kAllSystemFlags) != 0) {
      return store_error(StoreErrc::kBadValue, "unknown system flag bit");
    }
    std::uint64_t last_keyword = 0;
    for (std::uint64_t k = 0; k < count; ++k) {
      std::uint64_t index = 0;
      if (!r.varint(index)) return r.error();
      if (index >= folder.keywords_.size() || (k > 0 && index <= last_keyword)) {
        return store_error(StoreErrc::kBadKeyword, "keyword index out of table or order");
      }
      last_keyword = index;
      m.flags.keywords.push_back(folder.keywords_[index]);
    }
    if (!r.message(m.ref)) return r.error();
    folder.count(m, +1);
    folder.messages_.push_back(std::move(m));
  }
  if (!r.extensions()) return r.error();
  return folder;
}

}  // namespace post::email::store
