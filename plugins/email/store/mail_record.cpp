#include "plugins/email/store/mail_record.h"

#include <algorithm>

#include "plugins/email/store/store_wire.h"

namespace post::email::store {
namespace {

using wire::Kind;
using wire::Reader;
using wire::Writer;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

StoreStatus invalid(StoreErrc code, std::string detail) {
  return store_error(code, std::move(detail));
}

StoreStatus check_flags(const Flags& flags) {
  if ((flags.system & ~kAllSystemFlags) != 0) {
    return invalid(StoreErrc::kBadValue, "unknown system flag bit");
  }
  if (flags.keywords.size() > kMaxKeywordsPerMessage) {
    return invalid(StoreErrc::kTooLarge, "too many keywords");
  }
  for (std::size_t i = 0; i < flags.keywords.size(); ++i) {
    if (!is_valid_keyword(flags.keywords[i])) {
      return invalid(StoreErrc::kBadKeyword, "keyword is not an atom");
    }
    if (i > 0 && !(flags.keywords[i - 1] < flags.keywords[i])) {
      return invalid(StoreErrc::kBadKeyword, "keywords not sorted or duplicated");
    }
  }
  return store_ok();
}

StoreStatus check_uid_set(const UidSet& set) {
  if (set.ranges.empty()) return invalid(StoreErrc::kBadUidSet, "empty UID set");
  if (set.ranges.size() > kMaxUidRanges)
    return invalid(StoreErrc::kTooLarge, "too many UID ranges");
  std::uint64_t previous = 0;
  for (const UidRange& range : set.ranges) {
    if (range.first == 0 || range.last < range.first) {
      return invalid(StoreErrc::kBadUidSet, "UID 0 or an inverted range");
    }
    if (previous != 0 && range.first <= previous + 1) {
      return invalid(StoreErrc::kBadUidSet, "overlapping, adjacent or unsorted UID ranges");
    }
    previous = range.last;
  }
  return store_ok();
}

StoreStatus check_message(const MessageRef& message) {
  if (message.sender.size() > kMaxAddressBytes)
    return invalid(StoreErrc::kTooLarge, "sender too long");
  if (message.layout.size() > kMaxLayoutBytes)
    return invalid(StoreErrc::kTooLarge, "layout too large");
  if (message.parts.size() > kMaxParts) return invalid(StoreErrc::kTooLarge, "too many parts");
  return store_ok();
}

StoreStatus check_name(std::string_view name) {
  if (!is_valid_folder_name(name)) return invalid(StoreErrc::kBadName, "bad folder name");
  return store_ok();
}

bool is_valid_address(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddressBytes) return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
  });
}

StoreStatus check_fields(const MailRecord& record) {
  return std::visit(Overloaded{
                        [](const Insert& r) -> StoreStatus {
                          if (auto s = check_message(r.message); !s) return s;
                          return check_flags(r.flags);
                        },
                        [](const SetFlags& r) -> StoreStatus {
                          if (auto s = check_uid_set(r.uids); !s) return s;
                          if (r.mode != FlagMode::kReplace && r.mode != FlagMode::kAdd &&
                              r.mode != FlagMode::kRemove) {
                            return invalid(StoreErrc::kBadValue, "unknown flag mode");
                          }
                          return check_flags(r.flags);
                        },
                        [](const Expunge& r) -> StoreStatus { return check_uid_set(r.uids); },
                        [](const SnapshotMarker&) -> StoreStatus { return store_ok(); },
                        [](const CreateFolder& r) -> StoreStatus {
                          if (r.uidvalidity == 0)
                            return invalid(StoreErrc::kBadValue, "UIDVALIDITY 0");
                          return check_name(r.name);
                        },
                        [](const DeleteFolder& r) -> StoreStatus { return check_name(r.name); },
                        [](const RenameFolder& r) -> StoreStatus {
                          if (auto s = check_name(r.from); !s) return s;
                          if (auto s = check_name(r.to); !s) return s;
                          bool inbox = canonical_folder_name(r.from) == kInboxName;
                          if (inbox != (r.new_inbox_uidvalidity != 0)) {
                            return invalid(
                                StoreErrc::kBadValue,
                                "a new INBOX UIDVALIDITY is required for INBOX and only for it");
                          }
                          return store_ok();
                        },
                        [](const Subscribe& r) -> StoreStatus { return check_name(r.name); },
                        [](const Block& r) -> StoreStatus {
                          if (!is_valid_address(r.address)) {
                            return invalid(StoreErrc::kBadValue,
                                           "blocked address empty, too long or with spaces");
                          }
                          return store_ok();
                        },
                    },
                    record);
}

void write_body(Writer& w, const MailRecord& record) {
  std::visit(Overloaded{
                 [&](const Insert& r) {
                   w.header(Kind::kInsert);
                   w.message(r.message);
                   w.flags_body(r.flags);
                 },
                 [&](const SetFlags& r) {
                   w.header(Kind::kSetFlags);
                   w.uid_set(r.uids);
                   w.u8(static_cast<std::uint8_t>(r.mode));
                   w.flags_body(r.flags);
                 },
                 [&](const Expunge& r) {
                   w.header(Kind::kExpunge);
                   w.uid_set(r.uids);
                 },
                 [&](const SnapshotMarker& r) {
                   w.header(Kind::kSnapshotMarker);
                   w.varint(r.covers_index);
                   w.fixed(r.handle);
                   w.fixed(r.key);
                 },
                 [&](const CreateFolder& r) {
                   w.header(Kind::kCreateFolder);
                   w.bytes(r.name);
                   w.varint(r.uidvalidity);
                 },
                 [&](const DeleteFolder& r) {
                   w.header(Kind::kDeleteFolder);
                   w.bytes(r.name);
                 },
                 [&](const RenameFolder& r) {
                   w.header(Kind::kRenameFolder);
                   w.bytes(r.from);
                   w.bytes(r.to);
                   w.varint(r.new_inbox_uidvalidity);
                 },
                 [&](const Subscribe& r) {
                   w.header(Kind::kSubscribe);
                   w.bytes(r.name);
                   w.u8(r.on ? 1 : 0);
                 },
                 [&](const Block& r) {
                   w.header(Kind::kBlock);
                   w.bytes(r.address);
                   w.u8(r.on ? 1 : 0);
                 },
             },
             record);
}

bool read_name(Reader& r, std::string& name) {
  std::string_view view;
  if (!r.bytes(view, kMaxFolderNameBytes, "folder name")) return false;
  name.assign(view);
  return true;
}

// Reads the body of `kind`; the header is already read.
bool read_body(Reader& r, std::uint8_t kind, MailRecord& out) {
  switch (static_cast<Kind>(kind)) {
    case Kind::kInsert: {
      Insert rec;
      if (!r.message(rec.message) || !r.flags_body(rec.flags)) return false;
      out = std::move(rec);
      return true;
    }
    case Kind::kSetFlags: {
      SetFlags rec;
      std::uint8_t mode = 0;
      if (!r.uid_set(rec.uids) || !r.u8(mode)) return false;
      if (mode > static_cast<std::uint8_t>(FlagMode::kRemove)) {
        return r.fail(StoreErrc::kBadValue, "unknown flag mode");
      }
      rec.mode = static_cast<FlagMode>(mode);
      if (!r.flags_body(rec.flags)) return false;
      out = std::move(rec);
      return true;
    }
    case Kind::kExpunge: {
      Expunge rec;
      if (!r.uid_set(rec.uids)) return false;
      out = std::move(rec);
      return true;
    }
    case Kind::kSnapshotMarker: {
      SnapshotMarker rec;
      if (!r.varint(rec.covers_index) || !r.fixed(rec.handle) || !r.fixed(rec.key)) return false;
      out = rec;
      return true;
    }
    case Kind::kCreateFolder: {
      CreateFolder rec;
      if (!read_name(r, rec.name) || !r.u32(rec.uidvalidity, "UIDVALIDITY")) return false;
      out = std::move(rec);
      return true;
    }
    case Kind::kDeleteFolder: {
      DeleteFolder rec;
      if (!read_name(r, rec.name)) return false;
      out = std::move(rec);
      return true;
    }
    case Kind::kRenameFolder: {
      RenameFolder rec;
      if (!read_name(r, rec.from) || !read_name(r, rec.to) ||
          !r.u32(rec.new_inbox_uidvalidity, "UIDVALIDITY")) {
        return false;
      }
      out = std::move(rec);
      return true;
    }
    case Kind::kSubscribe: {
      Subscribe rec;
      if (!read_name(r, rec.name) || !r.boolean(rec.on, "subscribe switch")) return false;
      out = std::move(rec);
      return true;
    }
    case Kind::kBlock: {
      Block rec;
      std::string_view address;
      if (!r.bytes(address, kMaxAddressBytes, "address") || !r.boolean(rec.on, "block switch")) {
        return false;
      }
      rec.address.assign(address);
      out = std::move(rec);
      return true;
    }
    case Kind::kFolderSnapshot:
      return r.fail(StoreErrc::kWrongKind, "a folder snapshot is not a log record");
  }
  return r.fail(StoreErrc::kUnknownKind, "record kind " + std::to_string(kind));
}

}  // namespace

void normalize(Flags& flags) {
  std::sort(flags.keywords.begin(), flags.keywords.end());
  flags.keywords.erase(std::unique(flags.keywords.begin(), flags.keywords.end()),
                       flags.keywords.end());
}

bool is_valid_keyword(std::string_view keyword) {
  if (keyword.empty() || keyword.size() > kMaxKeywordBytes || keyword[0] == '\\') return false;
  constexpr std::string_view kSpecials = "(){%*\"\\]";
  return std::none_of(keyword.begin(), keyword.end(), [&](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7F || kSpecials.find(c) != std::string_view::npos;
  });
}

UidSet UidSet::of(std::span<const std::uint32_t> uids) {
  std::vector<std::uint32_t> sorted(uids.begin(), uids.end());
  std::sort(sorted.begin(), sorted.end());
  UidSet set;
  for (std::uint32_t uid : sorted) {
    if (uid == 0) continue;
    if (!set.ranges.empty() && uid <= set.ranges.back().last) continue;
    if (!set.ranges.empty() && uid == set.ranges.back().last + 1) {
      set.ranges.back().last = uid;
    } else {
      set.ranges.push_back({uid, uid});
    }
  }
  return set;
}

bool UidSet::contains(std::uint32_t uid) const {
  auto it = std::lower_bound(ranges.begin(), ranges.end(), uid,
                             [](const UidRange& r, std::uint32_t u) { return r.last < u; });
  return it != ranges.end() && it->first <= uid;
}

std::uint64_t UidSet::count() const {
  std::uint64_t total = 0;
  for (const UidRange& r : ranges) total += std::uint64_t{r.last} - r.first + 1;
  return total;
}

bool is_folder_record(const MailRecord& record) {
  return std::holds_alternative<Insert>(record) || std::holds_alternative<SetFlags>(record) ||
         std::holds_alternative<Expunge>(record) || std::holds_alternative<SnapshotMarker>(record);
}

std::string encode(const MailRecord& record) {
  Writer w;
  write_body(w, record);
  return w.take();
}

StoreResult<MailRecord> decode(std::string_view bytes) {
  if (bytes.size() > kMaxRecordBytes)
    return store_error(StoreErrc::kTooLarge, "record over 64 KiB");
  Reader r(bytes);
  std::uint8_t kind = 0;
  MailRecord record;
  if (!r.header(kind) || !read_body(r, kind, record) || !r.extensions()) return r.error();
  if (auto s = check_fields(record); !s) return s.error();
  return record;
}

StoreStatus validate(const MailRecord& record) {
  if (auto s = check_fields(record); !s) return s;
  if (std::holds_alternative<Insert>(record) && encode(record).size() > kMaxRecordBytes) {
    return invalid(StoreErrc::kTooLarge, "record over 64 KiB");
  }
  return store_ok();
}

bool is_valid_folder_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxFolderNameBytes) return false;
  std::size_t levels = 1;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '\0' || c == '\r' || c == '\n') return false;
    if (c == kHierarchyDelimiter) {
      if (i == 0 || i + 1 == name.size() || name[i + 1] == kHierarchyDelimiter) return false;
      ++levels;
    }
  }
  return levels <= kMaxFolderDepth;
}

std::string canonical_folder_name(std::string_view name) {
  std::size_t end = name.find(kHierarchyDelimiter);
  std::string_view first = name.substr(0, end);
  if (!ascii_iequal(first, kInboxName)) return std::string(name);
  std::string out(kInboxName);
  if (end != std::string_view::npos) out.append(name.substr(end));
  return out;
}

std::string folder_log_name(std::uint32_t uidvalidity) {
  return "folder/" + std::to_string(uidvalidity);
}

}  // namespace post::email::store
