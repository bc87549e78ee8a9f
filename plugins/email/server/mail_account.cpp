#include "plugins/email/server/mail_account.h"

#include <utility>

#include "plugins/email/store/folder_snapshot.h"

namespace post::email {

namespace {
constexpr std::uint32_t kFolderList = 0;  // logs_ key of the folder-list log
}  // namespace

std::string snapshot_log_name(std::uint32_t uidvalidity) {
  return store::folder_log_name(uidvalidity) + "/snapshots";
}

MailAccount::MailAccount(MailIo& io, std::string user) : io_(io), user_(std::move(user)) {}

MailAccount::Log& MailAccount::log_of(std::uint32_t uidvalidity) {
  Log& log = logs_[uidvalidity];
  if (log.name.empty()) {
    log.name = uidvalidity == kFolderList ? std::string(store::kFolderListLogName)
                                          : store::folder_log_name(uidvalidity);
  }
  return log;
}

void MailAccount::open(std::function<void(IoResult<void>)> done) {
  catch_up(log_of(kFolderList), kFolderList, std::move(done));
}

void MailAccount::open_folder(std::uint32_t uidvalidity,
                              std::function<void(IoResult<store::Folder*>)> done) {
  auto& slot = folders_[uidvalidity];
  if (!slot) slot = std::make_unique<store::Folder>(uidvalidity);
  catch_up(log_of(uidvalidity), uidvalidity,
           [this, uidvalidity, done = std::move(done)](IoResult<void> r) {
             if (!r.ok()) return done(r.error());
             store::Folder* folder = folders_[uidvalidity].get();
             // What the log held when the node first read it is not \Recent; what comes
             // after is, until a session claims it.
             recent_from_.try_emplace(uidvalidity, folder->uidnext());
             done(folder);
           });
}

store::Folder* MailAccount::loaded_folder(std::uint32_t uidvalidity) {
  auto it = folders_.find(uidvalidity);
  if (it == folders_.end() || !log_of(uidvalidity).loaded) return nullptr;
  return it->second.get();
}

std::optional<std::uint64_t> MailAccount::last_index(std::uint32_t uidvalidity) const {
  if (uidvalidity == kFolderList) return mailbox_.last_applied_index();
  return folders_.at(uidvalidity)->last_applied_index();
}

void MailAccount::catch_up(Log& log, std::uint32_t uidvalidity,
                           std::function<void(IoResult<void>)> done) {
  log.load_waiters.push_back(std::move(done));
  if (log.loading) return;
  log.loading = true;
  if (uidvalidity != kFolderList && !log.loaded) {
    return read_snapshot_markers(log, uidvalidity, 0, std::nullopt);
  }
  read_page(log, uidvalidity);
}

// A snapshot only saves time: when the markers or the snapshot cannot be read, the folder is
// rebuilt from its whole log.
void MailAccount::read_snapshot_markers(Log& log, std::uint32_t uidvalidity, std::uint64_t from,
                                        std::optional<store::SnapshotMarker> newest) {
  std::weak_ptr<bool> alive = alive_;
  io_.read_log(user_, snapshot_log_name(uidvalidity), from,
               [this, alive, &log, uidvalidity, newest](IoResult<std::vector<LogEntry>> r) mutable {
                 if (alive.expired()) return;
                 if (!r.ok()) return read_page(log, uidvalidity);
                 for (const auto& entry : *r) {
                   auto record = store::decode(entry.data);
                   if (!record.ok()) continue;
                   if (auto* marker = std::get_if<store::SnapshotMarker>(&*record))
                     newest = *marker;
                 }
                 if (r->size() >= kLogReadPage) {
                   return read_snapshot_markers(log, uidvalidity, r->back().index + 1, newest);
                 }
                 if (!newest) return read_page(log, uidvalidity);
                 restore_snapshot(log, uidvalidity, *newest);
               });
}

void MailAccount::restore_snapshot(Log& log, std::uint32_t uidvalidity,
                                   const store::SnapshotMarker& marker) {
  std::weak_ptr<bool> alive = alive_;
  io_.fetch_content(
      store::PartRef{marker.handle, marker.key},
      [this, alive, &log, uidvalidity, covers = marker.covers_index](IoResult<std::string> r) {
        if (alive.expired()) return;
        if (r.ok()) {
          auto restored = store::decode_snapshot(*r);
          store::Folder& folder = *folders_.at(uidvalidity);
          auto current = folder.last_applied_index();
          if (restored.ok() && restored->uidvalidity() == uidvalidity &&
              restored->last_applied_index() == covers && (!current || *current < covers)) {
            folder = std::move(*restored);
            log.snapshot_index = covers;
          }
        }
        read_page(log, uidvalidity);
      });
}

void MailAccount::maybe_snapshot(std::uint32_t uidvalidity) {
  if (uidvalidity == kFolderList) return;
  Log& log = log_of(uidvalidity);
  if (!log.loaded || log.snapshotting) return;
  const store::Folder& folder = *folders_.at(uidvalidity);
  auto last = folder.last_applied_index();
  if (!last) return;
  std::uint64_t since = log.snapshot_index ? *last - *log.snapshot_index : *last + 1;
  if (since < kSnapshotEvery) return;
  std::string bytes = store::encode_snapshot(folder);
  if (bytes.size() > store::kMaxSnapshotBytes) return;
  log.snapshotting = true;
  std::uint64_t covers = *last;
  std::weak_ptr<bool> alive = alive_;
  io_.put_content(std::move(bytes),
                  [this, alive, &log, uidvalidity, covers](IoResult<store::PartRef> ref) {
                    if (alive.expired()) return;
                    if (!ref.ok()) {
                      log.snapshotting = false;
                      return;
                    }
                    store::MailRecord marker = store::SnapshotMarker{covers, ref->handle, ref->key};
                    io_.append_log(user_, snapshot_log_name(uidvalidity), store::encode(marker),
                                   [alive, &log, covers](IoResult<std::uint64_t> r) {
                                     if (alive.expired()) return;
                                     log.snapshotting = false;
                                     if (r.ok()) log.snapshot_index = covers;
                                   });
                  });
}

void MailAccount::read_page(Log& log, std::uint32_t uidvalidity) {
  auto last = last_index(uidvalidity);
  std::uint64_t from = last ? *last + 1 : 0;
  std::weak_ptr<bool> alive = alive_;
  io_.read_log(user_, log.name, from,
               [this, alive, &log, uidvalidity](IoResult<std::vector<LogEntry>> r) {
                 if (alive.expired()) return;
                 if (r.ok()) {
                   for (const auto& entry : *r) apply(uidvalidity, entry.data, entry.index);
                   if (r->size() >= kLogReadPage) return read_page(log, uidvalidity);
                   if (!r->empty()) changed(uidvalidity);
                   log.loaded = true;
                 }
                 maybe_snapshot(uidvalidity);
                 log.loading = false;
                 auto waiters = std::move(log.load_waiters);
                 log.load_waiters.clear();
                 for (auto& w : waiters) {
                   if (r.ok()) {
                     w(IoResult<void>());
                   } else {
                     w(r.error());
                   }
                 }
               });
}

void MailAccount::apply(std::uint32_t uidvalidity, const std::string& bytes, std::uint64_t index) {
  auto record = store::decode(bytes);
  // A record that does not decode is skipped; the index still counts as applied, so the
  // state does not read it again. A SnapshotMarker stands in for it: it changes no folder,
  // and the folder list refuses it but consumes its index.
  store::MailRecord skip = store::SnapshotMarker{};
  const store::MailRecord& r = record.ok() ? *record : skip;
  if (uidvalidity == kFolderList) {
    (void)mailbox_.apply(r, index);
  } else {
    (void)folders_.at(uidvalidity)->apply(r, index);
  }
}

void MailAccount::append_to_list(store::MailRecord record,
                                 std::function<void(IoResult<void>)> done) {
  enqueue(log_of(kFolderList), kFolderList, std::move(record), std::move(done));
}

void MailAccount::append_to_folder(std::uint32_t uidvalidity, store::MailRecord record,
                                   std::function<void(IoResult<void>)> done) {
  if (loaded_folder(uidvalidity) == nullptr) {
    std::weak_ptr<bool> alive = alive_;
    return open_folder(uidvalidity, [this, alive, uidvalidity, record = std::move(record),
                                     done = std::move(done)](IoResult<store::Folder*> r) mutable {
      if (alive.expired()) return;
      if (!r.ok()) return done(r.error());
      enqueue(log_of(uidvalidity), uidvalidity, std::move(record), std::move(done));
    });
  }
  enqueue(log_of(uidvalidity), uidvalidity, std::move(record), std::move(done));
}

void MailAccount::enqueue(Log& log, std::uint32_t uidvalidity, store::MailRecord record,
                          std::function<void(IoResult<void>)> done) {
  auto valid = store::validate(record);
  if (!valid.ok()) return done(IoError{valid.error().detail, false});
  log.appends.push_back(Append{std::move(record), std::move(done), log.next_id++, std::nullopt});
  pump(log, uidvalidity);
}

// The reason the state would refuse `record` if it were appended after the appends in flight,
// or none.
std::optional<std::string> MailAccount::refusal(const Log& log, std::uint32_t uidvalidity,
                                                const store::MailRecord& record) const {
  if (uidvalidity == kFolderList) {
    // Folder-list appends run one at a time: the state is as the log will be.
    auto last = last_index(uidvalidity);
    store::Mailbox probe = mailbox_;
    auto s = probe.apply(record, last ? *last + 1 : 0);
    if (!s.ok()) return s.error().detail;
  } else if (std::holds_alternative<store::Insert>(record)) {
    std::uint64_t uidnext = folders_.at(uidvalidity)->uidnext();
    for (std::size_t i = 0; i < log.in_flight; ++i) {
      if (std::holds_alternative<store::Insert>(log.appends[i].record)) ++uidnext;
    }
    if (uidnext >= store::kMaxUid) return "the folder has no UIDs left";
  }
  return std::nullopt;
}

void MailAccount::pump(Log& log, std::uint32_t uidvalidity) {
  // A done callback may enqueue more (the next command of a session), and an in-memory log
  // may answer inside append_log: the loop below sees both, so an inner call does nothing.
  if (log.pumping) return;
  log.pumping = true;
  const std::size_t limit = uidvalidity == kFolderList ? 1 : kMaxFolderAppendsInFlight;
  std::weak_ptr<bool> alive = alive_;
  for (;;) {
    if (log.in_flight > 0 && log.appends.front().answer) {
      Append done = std::move(log.appends.front());
      log.appends.pop_front();
      --log.in_flight;
      if (done.answer->ok()) {
        if (uidvalidity == kFolderList) {
          (void)mailbox_.apply(done.record, **done.answer);
        } else {
          (void)folders_.at(uidvalidity)->apply(done.record, **done.answer);
        }
        changed(uidvalidity);
        maybe_snapshot(uidvalidity);
        done.done(IoResult<void>());
      } else {
        done.done(done.answer->error());
      }
      if (alive.expired()) return;
      continue;
    }
    if (log.in_flight < limit && log.in_flight < log.appends.size()) {
      auto waiting = log.appends.begin() + static_cast<std::ptrdiff_t>(log.in_flight);
      // Decide against the state the log will have: a record it would refuse is not appended.
      if (auto why = refusal(log, uidvalidity, waiting->record)) {
        Append refused = std::move(*waiting);
        log.appends.erase(waiting);
        refused.done(IoError{*why, false});
        if (alive.expired()) return;
        continue;
      }
      ++log.in_flight;
      const std::uint64_t id = waiting->id;
      io_.append_log(user_, log.name, store::encode(waiting->record),
                     [this, alive, &log, uidvalidity, id](IoResult<std::uint64_t> r) {
                       if (alive.expired()) return;
                       for (std::size_t i = 0; i < log.in_flight; ++i) {
                         if (log.appends[i].id == id) log.appends[i].answer = std::move(r);
                       }
                       pump(log, uidvalidity);
                     });
      if (alive.expired()) return;
      continue;
    }
    break;
  }
  log.pumping = false;
}

int MailAccount::watch(std::uint32_t uidvalidity, std::function<void()> changed) {
  int id = next_watch_++;
  watchers_[id] = {uidvalidity, std::move(changed)};
  return id;
}

void MailAccount::unwatch(int id) {
  watchers_.erase(id);
}

void MailAccount::changed(std::uint32_t uidvalidity) {
  if (uidvalidity == kFolderList) return;
  std::vector<std::function<void()>> calls;
  for (auto& [id, w] : watchers_) {
    if (w.first == uidvalidity) calls.push_back(w.second);
  }
  for (auto& c : calls) c();
}

std::uint32_t MailAccount::claim_recent(std::uint32_t uidvalidity) {
  store::Folder* folder = loaded_folder(uidvalidity);
  std::uint32_t next = folder ? folder->uidnext() : 1;
  auto [it, fresh] = recent_from_.try_emplace(uidvalidity, next);
  std::uint32_t first = it->second;
  it->second = next;
  return first;
}

}  // namespace post::email
