// MailIo in memory, for tests of the IMAP server: logs and stored content in maps. Callbacks
// run at once, or, with `deferred`, only when run() is called, as the plugin's would after a
// round trip to the ring. Failures can be switched on to see how the server copes.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "plugins/email/server/mail_io.h"
#include "plugins/email/server/stored_message.h"

namespace post::email::testing {

class MemoryMailIo : public MailIo {
 public:
  bool deferred = false;
  bool fail_appends = false;
  bool fail_fetches = false;
  int reads_before_failure = -1;  // when 0, the next read_log fails (once); -1: never
  int puts = 0;                                     // put_content calls
  int fetches = 0;                                  // fetch_content calls
  std::map<std::string, std::size_t> records_read;  // by log name

  // Users this node serves; when empty, every user (then every log reads, shared or not).
  std::set<std::string> served;

  void read_log(const std::string& user, const std::string& log, std::uint64_t from,
                std::function<void(IoResult<std::vector<LogEntry>>)> done) override {
    if (!served.empty() && !served.contains(user) && !shared_.contains({user, log})) {
      IoError e{user + " has shared no log " + log, false};
      e.not_found = true;
      return later([done, e] { done(e); });
    }
    if (reads_before_failure >= 0 && reads_before_failure-- == 0) {
      return later([done] { done(IoError{"the ring is unreachable", true}); });
    }
    std::vector<LogEntry> out;
    const auto& records = logs_[{user, log}];
    for (std::uint64_t i = from; i < records.size() && out.size() < kLogReadPage; ++i) {
      out.push_back(LogEntry{i, records[i]});
    }
    records_read[log] += out.size();
    later([done, out = std::move(out)] { done(out); });
  }

  void share_log(const std::string& user, const std::string& log,
                 std::function<void(IoResult<void>)> done) override {
    if (!served.empty() && !served.contains(user)) {
      return later([done, user] { done(IoError{user + " is not served here", false}); });
    }
    shared_.insert({user, log});
    later([done] { done(IoResult<void>()); });
  }

  void append_log(const std::string& user, const std::string& log, std::string record,
                  std::function<void(IoResult<std::uint64_t>)> done) override {
    if (!served.empty() && !served.contains(user)) {
      return later([done, user] { done(IoError{user + " is not served here", false}); });
    }
    if (fail_appends) {
      return later([done] { done(IoError{"the ring is unreachable", true}); });
    }
    auto& records = logs_[{user, log}];
    records.push_back(std::move(record));
    std::uint64_t index = records.size() - 1;
    later([done, index] { done(index); });
  }

  void put_content(std::string content,
                   std::function<void(IoResult<store::PartRef>)> done) override {
    ++puts;
    store::PartRef ref;
    ref.handle = sha256("handle" + content);
    ref.key = sha256("key" + content);
    content_[hex(ref.handle)] = std::move(content);
    later([done, ref] { done(ref); });
  }

  void fetch_content(const store::PartRef& ref,
                     std::function<void(IoResult<std::string>)> done) override {
    ++fetches;
    auto it = content_.find(hex(ref.handle));
    if (fail_fetches || it == content_.end()) {
      return later([done] { done(IoError{"not found", true}); });
    }
    later([done, data = it->second] { done(data); });
  }

  // Runs deferred callbacks until none is left.
  void run() {
    while (!queue_.empty()) {
      auto call = std::move(queue_.front());
      queue_.pop_front();
      call();
    }
  }

  // Runs the deferred callbacks queued now newest first (answers out of order), then run().
  void run_newest_first() {
    std::deque<std::function<void()>> now;
    now.swap(queue_);
    while (!now.empty()) {
      auto call = std::move(now.back());
      now.pop_back();
      call();
    }
    run();
  }

  std::size_t stored_objects() const { return content_.size(); }
  // Replaces every stored object's bytes (a damaged store).
  void damage_content() {
    for (auto& [handle, bytes] : content_) bytes = "damaged";
  }
  std::size_t log_size(const std::string& user, const std::string& log) {
    return logs_[{user, log}].size();
  }

 private:
  void later(std::function<void()> call) {
    if (deferred) {
      queue_.push_back(std::move(call));
    } else {
      call();
    }
  }

  std::map<std::pair<std::string, std::string>, std::vector<std::string>> logs_;
  std::set<std::pair<std::string, std::string>> shared_;
  std::map<std::string, std::string> content_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace post::email::testing
