#include "plugins/email/server/mailing_list.h"

#include <algorithm>
#include <utility>

#include "plugins/email/common/ascii.h"

namespace post::email {

namespace {
// Most addresses the directory remembers; beyond it, entries not being read are dropped.
constexpr std::size_t kMaxCachedLists = 4096;
}  // namespace

bool plausible_address(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  const auto at = address.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == address.size()) return false;
  if (address.find('@', at + 1) != std::string_view::npos) return false;
  return std::all_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '<' && c != '>' && c != ',';
  });
}

std::string encode_member_change(const MemberChange& change) {
  return (change.join ? "+" : "-") + change.address;
}

std::optional<MemberChange> decode_member_change(std::string_view record) {
  if (record.size() < 2 || (record[0] != '+' && record[0] != '-')) return std::nullopt;
  std::string_view address = record.substr(1);
  if (!plausible_address(address)) return std::nullopt;
  return MemberChange{to_ascii_lower(address), record[0] == '+'};
}

bool apply_member_changes(std::vector<std::string>& members,
                          const std::vector<MemberChange>& changes) {
  for (const MemberChange& c : changes) {
    auto it = std::find(members.begin(), members.end(), c.address);
    if (c.join && it == members.end()) {
      if (members.size() >= kMaxListMembers) return false;
      members.push_back(c.address);
    } else if (!c.join && it != members.end()) {
      members.erase(it);
    }
  }
  return true;
}

ListDirectory::ListDirectory(MailIo& io, Clock now_ms) : io_(io), now_ms_(std::move(now_ms)) {}

void ListDirectory::members(const std::string& address,
                            std::function<void(IoResult<Members>)> done) {
  const std::string key = to_ascii_lower(address);
  if (cache_.size() >= kMaxCachedLists && !cache_.contains(key)) {
    std::erase_if(cache_, [](const auto& kv) { return !kv.second.reading; });
  }
  Entry& e = cache_[key];
  if (!e.reading && e.read_at != 0 && now_ms_() - e.read_at < kListCacheMs) {
    return done(e.members);
  }
  e.waiters.push_back(std::move(done));
  if (e.reading) return;
  e.reading = true;
  read(key, e.records, e.members.value_or(std::vector<std::string>{}), e.members.has_value());
}

void ListDirectory::read(const std::string& address, std::uint64_t from,
                         std::vector<std::string> so_far, bool found) {
  std::weak_ptr<bool> alive = alive_;
  io_.read_log(
      address, std::string(kListMembersLog), from,
      [this, alive, address, from, so_far = std::move(so_far),
       found](IoResult<std::vector<LogEntry>> r) mutable {
        if (alive.expired()) return;
        Entry& e = cache_[address];
        auto finish = [&](IoResult<Members> answer) {
          e.reading = false;
          auto waiters = std::move(e.waiters);
          e.waiters.clear();
          for (auto& w : waiters) w(answer);
        };
        // A failed page keeps the entry as it was: the next read starts there again.
        if (!r.ok() && !r.error().not_found) return finish(r.error());
        const std::uint64_t next = from_after(r, from);
        if (r.ok()) {
          std::vector<MemberChange> changes;
          for (const LogEntry& entry : *r) {
            if (auto c = decode_member_change(entry.data)) changes.push_back(std::move(*c));
          }
          (void)apply_member_changes(so_far, changes);  // the writer kept it within bounds
          found = found || !r->empty();
          if (r->size() >= kLogReadPage) return read(address, next, std::move(so_far), found);
        }
        // A log with no record (never written, or not shared) is no list.
        e.records = next;
        e.members = found ? Members(std::move(so_far)) : std::nullopt;
        e.read_at = now_ms_();
        finish(e.members);
      });
}

std::uint64_t ListDirectory::from_after(const IoResult<std::vector<LogEntry>>& r,
                                        std::uint64_t from) {
  if (!r.ok() || r->empty()) return from;
  return r->back().index + 1;
}

void ListDirectory::change(const std::string& list, std::vector<MemberChange> changes,
                           std::function<void(IoResult<std::vector<std::string>>)> done) {
  const std::string key = to_ascii_lower(list);
  if (!plausible_address(key)) return done(IoError{"not an address: " + list, false});
  for (MemberChange& c : changes) {
    c.address = to_ascii_lower(c.address);
    if (!plausible_address(c.address)) return done(IoError{"not an address: " + c.address, false});
  }
  std::weak_ptr<bool> alive = alive_;
  io_.share_log(key, std::string(kListMembersLog), [this, alive, key, changes = std::move(changes),
                                                    done = std::move(done)](IoResult<void> s) {
    if (alive.expired()) return;
    if (!s.ok()) return done(s.error());
    // Read afresh: the cache may be a few seconds old.
    Entry& e = cache_[key];
    e.read_at = 0;
    members(key, [this, alive, key, changes, done](IoResult<Members> now) {
      if (alive.expired()) return;
      if (!now.ok()) return done(now.error());
      std::vector<std::string> members = now->value_or(std::vector<std::string>{});
      // Only the records that change something, so the log stays short.
      std::vector<MemberChange> todo;
      for (const MemberChange& c : changes) {
        std::vector<std::string> before = members;
        if (!apply_member_changes(members, {c})) {
          return done(IoError{"the list would have more than " +
                                  std::to_string(kMaxListMembers) + " members",
                              false});
        }
        if (members != before) todo.push_back(c);
      }
      append_changes(key, std::move(todo), 0, done);
    });
  });
}

void ListDirectory::append_changes(const std::string& list, std::vector<MemberChange> todo,
                                   std::size_t next,
                                   std::function<void(IoResult<std::vector<std::string>>)> done) {
  std::weak_ptr<bool> alive = alive_;
  if (next == todo.size()) {
    cache_[list].read_at = 0;  // read what the log now says
    return members(list, [done](IoResult<Members> now) {
      if (!now.ok()) return done(now.error());
      done(now->value_or(std::vector<std::string>{}));
    });
  }
  const std::string record = encode_member_change(todo[next]);
  io_.append_log(list, std::string(kListMembersLog), record,
                 [this, alive, list, todo = std::move(todo), next,
                  done = std::move(done)](IoResult<std::uint64_t> r) mutable {
                   if (alive.expired()) return;
                   if (!r.ok()) return done(r.error());
                   append_changes(list, std::move(todo), next + 1, std::move(done));
                 });
}

}  // namespace post::email
