// What the IMAP server (and the plugin's delivery path) needs of POST, as an interface: a
// user's logs, and the secure store. The plugin implements it over the SDK host table; unit
// tests implement it in memory. Every callback runs on the thread that owns the mail state
// (the plugin's loop), never inside the call that started the operation unless the
// implementation says so (the in-memory one may, and the callers cope with both).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plugins/email/common/email_result.h"
#include "plugins/email/store/mail_record.h"

namespace post::email {

// Why a POST operation failed: `temporary` when trying again later may work (the ring is
// reorganising, a node is down), else for good.
struct IoError {
  std::string message;
  bool temporary = true;
  bool not_found = false;  // what was asked for does not exist (a log not shared, no such user)
};

template <class T>
using IoResult = EmailResult<T, IoError>;

// One record of a log and its index (0 for the first).
struct LogEntry {
  std::uint64_t index = 0;
  std::string data;
};

// The most records one read_log returns; read again from the last index + 1 for more.
inline constexpr std::uint32_t kLogReadPage = 1024;

class MailIo {
 public:
  virtual ~MailIo() = default;

  // Records of `user`'s log `log` from index `from` on, at most kLogReadPage, oldest first.
  // A log of a user the node serves reads as empty until written; another user's log can be
  // read once its writer shared it (share_log), and is not_found until then.
  virtual void read_log(const std::string& user, const std::string& log, std::uint64_t from,
                        std::function<void(IoResult<std::vector<LogEntry>>)> done) = 0;
  // Appends `record` to `user`'s log `log`; done gets its index.
  virtual void append_log(const std::string& user, const std::string& log, std::string record,
                          std::function<void(IoResult<std::uint64_t>)> done) = 0;
  // Lets every node read `user`'s log `log` (`user` is one the node serves).
  virtual void share_log(const std::string& user, const std::string& log,
                         std::function<void(IoResult<void>)> done) = 0;
  // Stores `content`; done gets what fetches it again.
  virtual void put_content(std::string content,
                           std::function<void(IoResult<store::PartRef>)> done) = 0;
  // The content stored under `ref`.
  virtual void fetch_content(const store::PartRef& ref,
                             std::function<void(IoResult<std::string>)> done) = 0;
};

}  // namespace post::email
