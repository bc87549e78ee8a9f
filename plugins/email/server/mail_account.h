// One user's mail as the node holds it: the folder list (store::Mailbox) and the folders
// opened so far (store::Folder), rebuilt from the user's logs and kept up to date by the one
// writer of those logs, this object. Every change goes through append_*: the record is
// appended to its log, then applied at the index the log gave it, then the folder's watchers
// (IMAP sessions with it selected, IDLE) are told. Up to kMaxFolderAppendsInFlight appends to
// one folder's log are in flight at once (the host writes those waiting together, with one head
// write), but each is applied and answered in the order made, after the ones before it: so
// records are applied in log order and a writer knows the UID an Insert takes when it hears
// back. Folder-list appends run one at a time (whether one is refused depends on the last).
//
// Single-threaded: every call and every callback on the thread that owns the account.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugins/email/server/mail_io.h"
#include "plugins/email/store/folder.h"
#include "plugins/email/store/mail_record.h"
#include "plugins/email/store/mailbox.h"

namespace post::email {

// A folder's state is stored as a snapshot (store/folder_snapshot.h) after this many records
// since the last one; opening the folder then reads the snapshot and only the records after it.
inline constexpr std::uint64_t kSnapshotEvery = 1000;

// The most appends to one folder's log waiting for the log's answer at once.
inline constexpr std::size_t kMaxFolderAppendsInFlight = 64;

// The log of a folder's SnapshotMarker records ("folder/<uidvalidity>/snapshots"): small (one
// record per kSnapshotEvery folder records), read whole when the folder is opened.
std::string snapshot_log_name(std::uint32_t uidvalidity);

class MailAccount {
 public:
  MailAccount(MailIo& io, std::string user);
  MailAccount(const MailAccount&) = delete;
  MailAccount& operator=(const MailAccount&) = delete;

  const std::string& user() const { return user_; }

  // Reads the folder-list log (what is new since the last read) and then calls done.
  void open(std::function<void(IoResult<void>)> done);
  // The folder list as of the last open() or append.
  const store::Mailbox& mailbox() const { return mailbox_; }

  // Reads folder `uidvalidity`'s log (what is new since the last read; all of it the first
  // time) and gives the folder. The pointer stays valid as long as the account.
  void open_folder(std::uint32_t uidvalidity, std::function<void(IoResult<store::Folder*>)> done);
  // The folder if it was opened before, else null.
  store::Folder* loaded_folder(std::uint32_t uidvalidity);

  // Appends `record` (a folder-list record) to the folder-list log and applies it. A record
  // the state refuses is not appended (done gets the reason, for good).
  void append_to_list(store::MailRecord record, std::function<void(IoResult<void>)> done);
  // Appends `record` (a folder record) to folder `uidvalidity`'s log, opening the folder
  // first if needed, applies it and tells the folder's watchers.
  void append_to_folder(std::uint32_t uidvalidity, store::MailRecord record,
                        std::function<void(IoResult<void>)> done);

  // Calls `changed` after every change applied to folder `uidvalidity`, until unwatch(id).
  int watch(std::uint32_t uidvalidity, std::function<void()> changed);
  void unwatch(int id);

  // \Recent (RFC 3501 2.3.2): a message is recent for the first session that selects its
  // folder after it arrived. Returns the lowest UID that is recent for a session selecting
  // folder `uidvalidity` now, and marks every message up to UIDNEXT - 1 as seen by one.
  std::uint32_t claim_recent(std::uint32_t uidvalidity);

 private:
  struct Append {
    store::MailRecord record;
    std::function<void(IoResult<void>)> done;
    std::uint64_t id = 0;                           // names it to the log's answer
    std::optional<IoResult<std::uint64_t>> answer;  // the log's, once it came
  };
  struct Log {
    std::string name;
    bool loaded = false;  // read once: the state is usable
    bool loading = false;
    std::vector<std::function<void(IoResult<void>)>> load_waiters;
    std::deque<Append> appends;  // the first `in_flight` are with the log, the rest wait
    std::size_t in_flight = 0;
    std::uint64_t next_id = 1;
    bool pumping = false;  // pump() is running (a callback inside it must not start another)
    bool snapshotting = false;                    // a snapshot of the folder is being written
    std::optional<std::uint64_t> snapshot_index;  // the index the newest snapshot covers
  };

  // Reads the log from after the state's last applied index, page by page, applying records.
  void catch_up(Log& log, std::uint32_t uidvalidity, std::function<void(IoResult<void>)> done);
  void read_page(Log& log, std::uint32_t uidvalidity);
  // Before a folder's first read: restores its newest snapshot, then read_page().
  void read_snapshot_markers(Log& log, std::uint32_t uidvalidity, std::uint64_t from,
                             std::optional<store::SnapshotMarker> newest);
  void restore_snapshot(Log& log, std::uint32_t uidvalidity, const store::SnapshotMarker& marker);
  // Writes a snapshot when kSnapshotEvery records were applied since the last one.
  void maybe_snapshot(std::uint32_t uidvalidity);
  void apply(std::uint32_t uidvalidity, const std::string& bytes, std::uint64_t index);
  std::optional<std::uint64_t> last_index(std::uint32_t uidvalidity) const;
  void enqueue(Log& log, std::uint32_t uidvalidity, store::MailRecord record,
               std::function<void(IoResult<void>)> done);
  // Finishes the answered appends at the front, in order, and starts waiting ones while fewer
  // than the log's limit are in flight.
  void pump(Log& log, std::uint32_t uidvalidity);
  std::optional<std::string> refusal(const Log& log, std::uint32_t uidvalidity,
                                     const store::MailRecord& record) const;
  void changed(std::uint32_t uidvalidity);
  Log& log_of(std::uint32_t uidvalidity);  // 0: the folder-list log

  MailIo& io_;
  std::string user_;
  store::Mailbox mailbox_;
  std::map<std::uint32_t, std::unique_ptr<store::Folder>> folders_;
  std::map<std::uint32_t, Log> logs_;
  std::map<std::uint32_t, std::uint32_t> recent_from_;  // folder -> lowest UID still recent
  std::map<int, std::pair<std::uint32_t, std::function<void()>>> watchers_;
  int next_watch_ = 1;
  // Set while the account exists; callbacks of operations in flight check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace post::email
