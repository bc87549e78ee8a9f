#include "plugins/email/store/folder.h"

#include <algorithm>

namespace post::email::store {
namespace {

bool contains_sorted(const std::vector<std::string>& sorted, const std::string& value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

std::vector<std::string> merge_keywords(const std::vector<std::string>& a,
                                        const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<std::string> remove_keywords(const std::vector<std::string>& a,
                                         const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

StoreStatus Folder::apply(const MailRecord& record, std::uint64_t index) {
  if (last_index_ && index <= *last_index_) {
    return store_error(StoreErrc::kOutOfOrder, "log index not above the last applied one");
  }
  last_index_ = index;
  if (const auto* insert = std::get_if<Insert>(&record)) return apply_insert(*insert);
  if (const auto* set_flags = std::get_if<SetFlags>(&record)) return apply_set_flags(*set_flags);
  if (const auto* expunge = std::get_if<Expunge>(&record)) {
    apply_expunge(*expunge);
    return store_ok();
  }
  if (std::holds_alternative<SnapshotMarker>(record)) return store_ok();
  return store_error(StoreErrc::kNotForThisLog, "a folder-list record in a folder log");
}

void Folder::count(const Message& message, int sign) {
  if (!message.flags.has(kSeen)) unseen_ += static_cast<std::uint32_t>(sign);
  if (message.flags.has(kDeleted)) deleted_ += static_cast<std::uint32_t>(sign);
}

StoreStatus Folder::remember_keywords(const Flags& flags) {
  bool all_known = std::all_of(flags.keywords.begin(), flags.keywords.end(),
                               [&](const std::string& k) { return contains_sorted(keywords_, k); });
  if (all_known) return store_ok();
  std::vector<std::string> merged = merge_keywords(keywords_, flags.keywords);
  if (merged.size() > kMaxKeywordsPerFolder) {
    return store_error(StoreErrc::kTooLarge, "too many keywords in this folder");
  }
  keywords_ = std::move(merged);
  return store_ok();
}

StoreStatus Folder::apply_insert(const Insert& insert) {
  if (uidnext_ > kMaxUid) return store_error(StoreErrc::kUidsExhausted, "no UIDs left");
  if (auto s = remember_keywords(insert.flags); !s) return s;
  messages_.push_back(Message{uidnext_++, insert.flags, insert.message});
  count(messages_.back(), +1);
  return store_ok();
}

StoreStatus Folder::apply_set_flags(const SetFlags& set_flags) {
  if (set_flags.mode != FlagMode::kRemove) {
    if (auto s = remember_keywords(set_flags.flags); !s) return s;
  }
  for (const UidRange& range : set_flags.uids.ranges) {
    auto begin = std::lower_bound(messages_.begin(), messages_.end(), range.first,
                                  [](const Message& m, std::uint32_t u) { return m.uid < u; });
    for (auto it = begin; it != messages_.end() && it->uid <= range.last; ++it) {
      count(*it, -1);
      Flags& flags = it->flags;
      switch (set_flags.mode) {
        case FlagMode::kReplace: flags = set_flags.flags; break;
        case FlagMode::kAdd:
          flags.system |= set_flags.flags.system;
          flags.keywords = merge_keywords(flags.keywords, set_flags.flags.keywords);
          break;
        case FlagMode::kRemove:
          flags.system &= static_cast<std::uint8_t>(~set_flags.flags.system);
          flags.keywords = remove_keywords(flags.keywords, set_flags.flags.keywords);
          break;
      }
      // kAdd may pass the per-message limit; keep the first keywords, deterministically.
      if (flags.keywords.size() > kMaxKeywordsPerMessage) {
        flags.keywords.resize(kMaxKeywordsPerMessage);
      }
      count(*it, +1);
    }
  }
  return store_ok();
}

void Folder::apply_expunge(const Expunge& expunge) {
  auto gone = std::remove_if(messages_.begin(), messages_.end(), [&](const Message& m) {
    if (!expunge.uids.contains(m.uid)) return false;
    count(m, -1);
    return true;
  });
  messages_.erase(gone, messages_.end());
}

std::uint32_t Folder::count_from_uid(std::uint32_t uid) const {
  return static_cast<std::uint32_t>(uid_range(uid, 0xFFFFFFFFu).size());
}

std::optional<std::uint32_t> Folder::first_unseen() const {
  if (unseen_ == 0) return std::nullopt;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (!messages_[i].flags.has(kSeen)) return static_cast<std::uint32_t>(i + 1);
  }
  return std::nullopt;
}

const Message* Folder::by_sequence(std::uint32_t sequence) const {
  if (sequence == 0 || sequence > messages_.size()) return nullptr;
  return &messages_[sequence - 1];
}

std::uint32_t Folder::sequence_of(std::uint32_t uid) const {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), uid,
                             [](const Message& m, std::uint32_t u) { return m.uid < u; });
  if (it == messages_.end() || it->uid != uid) return 0;
  return static_cast<std::uint32_t>(it - messages_.begin() + 1);
}

const Message* Folder::by_uid(std::uint32_t uid) const {
  return by_sequence(sequence_of(uid));
}

std::span<const Message> Folder::uid_range(std::uint32_t first, std::uint32_t last) const {
  auto less = [](const Message& m, std::uint32_t u) { return m.uid < u; };
  auto begin = std::lower_bound(messages_.begin(), messages_.end(), first, less);
  if (last < first) return {};
  auto end = last == 0xFFFFFFFFu ? messages_.end()
                                 : std::lower_bound(begin, messages_.end(), last + 1, less);
  return {begin, end};
}

StoreResult<std::vector<std::uint32_t>> Folder::resolve_sequence_set(
    std::span<const NumberRange> set) const {
  auto count = message_count();
  if (count == 0) return store_error(StoreErrc::kNoSuchMessage, "the folder is empty");
  std::vector<NumberRange> ranges;
  for (NumberRange range : set) {
    std::uint32_t a = range.first == kStar ? count : range.first;
    std::uint32_t b = range.last == kStar ? count : range.last;
    if (a > b) std::swap(a, b);
    if (b > count) return store_error(StoreErrc::kNoSuchMessage, "message number past the last");
    ranges.push_back({a, b});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const NumberRange& x, const NumberRange& y) { return x.first < y.first; });
  std::vector<std::uint32_t> out;
  for (const NumberRange& r : ranges) {
    std::uint32_t from = out.empty() ? r.first : std::max(r.first, out.back() + 1);
    for (std::uint64_t n = from; n <= r.last; ++n) out.push_back(static_cast<std::uint32_t>(n));
  }
  return out;
}

std::vector<std::uint32_t> Folder::resolve_uid_set(std::span<const NumberRange> set) const {
  std::uint32_t highest = messages_.empty() ? 0 : messages_.back().uid;
  // Merged first, so that a client repeating "1:*" a thousand times costs one pass.
  std::vector<UidRange> ranges;
  for (NumberRange range : set) {
    std::uint32_t a = range.first == kStar ? highest : range.first;
    std::uint32_t b = range.last == kStar ? highest : range.last;
    if (a > b) std::swap(a, b);
    ranges.push_back({a, b});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const UidRange& x, const UidRange& y) { return x.first < y.first; });
  std::vector<std::uint32_t> out;
  std::uint64_t covered = 0;  // UIDs up to here are collected already
  for (const UidRange& r : ranges) {
    if (r.last < covered) continue;
    auto first = static_cast<std::uint32_t>(std::max<std::uint64_t>(r.first, covered + 1));
    if (r.last >= first) {
      for (const Message& m : uid_range(first, r.last)) out.push_back(m.uid);
    }
    covered = std::max<std::uint64_t>(covered, r.last);
  }
  return out;
}

std::vector<std::uint32_t> Folder::deleted_uids() const {
  std::vector<std::uint32_t> out;
  for (const Message& m : messages_) {
    if (m.flags.has(kDeleted)) out.push_back(m.uid);
  }
  return out;
}

std::vector<std::uint32_t> Folder::expunge_responses(const UidSet& uids) const {
  std::vector<std::uint32_t> out;
  std::uint32_t removed = 0;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (!uids.contains(messages_[i].uid)) continue;
    out.push_back(static_cast<std::uint32_t>(i + 1) - removed);
    ++removed;
  }
  return out;
}

StoreResult<CopyPlan> plan_copy(const Folder& source, std::span<const std::uint32_t> uids,
                                const Folder& target) {
  UidSet wanted = UidSet::of(uids);
  CopyPlan plan;
  std::vector<std::uint32_t> moved;
  std::uint64_t next = target.uidnext();
  for (const UidRange& range : wanted.ranges) {
    for (const Message& m : source.uid_range(range.first, range.last)) {
      if (next > kMaxUid) return store_error(StoreErrc::kUidsExhausted, "target has no UIDs left");
      plan.inserts.push_back(Insert{m.ref, m.flags});
      plan.uid_map.emplace_back(m.uid, static_cast<std::uint32_t>(next++));
      moved.push_back(m.uid);
      if (!m.ref.sender.empty() &&
          std::find(plan.senders.begin(), plan.senders.end(), m.ref.sender) == plan.senders.end()) {
        plan.senders.push_back(m.ref.sender);
      }
    }
  }
  plan.source_expunge.uids = UidSet::of(moved);
  return plan;
}

}  // namespace post::email::store
