// Mailing lists (POST paper, ePOST section): a list is an address whose keys its maintainer's
// node holds, like any user's; its members are the records of that address's log
// kListMembersLog, which the maintainer's node shares (MailIo::share_log) so that every node
// can read it, signature checked. Mail to the list is expanded by the sender's node: each
// member gets the message from the sender, as if addressed one by one. Only the node holding
// the list's keys can append to the log, so only the maintainer changes membership.
//
// Records are "+address" (joins) and "-address" (leaves), address lower-cased; the members are
// what the records leave, in the order they joined. A record that does not decode is skipped.
//
// ListDirectory answers "is this address a list, and who is on it?" with a short cache: a
// membership change is seen by other nodes within kListCacheMs. Single-threaded, like
// MailAccount.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/server/mail_io.h"

namespace post::email {

inline constexpr std::string_view kListMembersLog = "list/members";
inline constexpr std::size_t kMaxListMembers = 10000;
inline constexpr std::int64_t kListCacheMs = 10'000;

struct MemberChange {
  std::string address;  // lower-cased
  bool join = true;
  bool operator==(const MemberChange&) const = default;
};

std::string encode_member_change(const MemberChange& change);
// Nothing for a record that is not "+address" or "-address" with a plausible address.
std::optional<MemberChange> decode_member_change(std::string_view record);

// A plausible e-mail address for a list or a member: "local@domain", ASCII without spaces or
// control characters, one '@', both sides non-empty, at most 254 bytes.
bool plausible_address(std::string_view address);

// Applies `changes` to `members` (in join order): a join of a member adds nothing, a leave of a
// non-member removes nothing. Returns false (and leaves `members` as it was after the changes
// that fit) when a join would go over kMaxListMembers.
bool apply_member_changes(std::vector<std::string>& members,
                          const std::vector<MemberChange>& changes);

class ListDirectory {
 public:
  using Clock = std::function<std::int64_t()>;  // milliseconds, monotonic
  ListDirectory(MailIo& io, Clock now_ms);
  ListDirectory(const ListDirectory&) = delete;
  ListDirectory& operator=(const ListDirectory&) = delete;

  // The members of list `address`, or nothing when `address` has no shared members log (it is
  // not a list). An error when the log cannot be read now.
  using Members = std::optional<std::vector<std::string>>;
  void members(const std::string& address, std::function<void(IoResult<Members>)> done);

  // Changes list `list`'s membership: appends the records (each one only if it changes
  // something) to the list's log, sharing it first, and answers with the members after them.
  // Works only on the node that holds the list's keys (the log refuses others).
  void change(const std::string& list, std::vector<MemberChange> changes,
              std::function<void(IoResult<std::vector<std::string>>)> done);

 private:
  struct Entry {
    Members members;
    std::int64_t read_at = 0;
    std::uint64_t records = 0;  // log records applied
    bool reading = false;
    std::vector<std::function<void(IoResult<Members>)>> waiters;
  };
  // Reads the log from `entry.records` on (all of it the first time).
  void read(const std::string& address, std::uint64_t from, std::vector<std::string> so_far,
            bool found);
  // The index after the last record of `r`, or `from` when it holds none.
  static std::uint64_t from_after(const IoResult<std::vector<LogEntry>>& r, std::uint64_t from);
  void append_changes(const std::string& list, std::vector<MemberChange> todo, std::size_t next,
                      std::function<void(IoResult<std::vector<std::string>>)> done);

  MailIo& io_;
  Clock now_ms_;
  std::map<std::string, Entry> cache_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace post::email
