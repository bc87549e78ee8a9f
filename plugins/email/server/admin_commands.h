// The operator's commands for the email plugin, as `postctl command <entry> ARGS...` brings
// them (SDK ABI 1.1):
//
//   help                              what follows
//   blocked USER                      USER's block list
//   block USER ADDRESS...             adds senders to USER's block list (their mail is dropped)
//   unblock USER ADDRESS...           takes them off it
//   list-members LIST                 the members of mailing list LIST
//   list-add LIST ADDRESS...          adds members (on the node holding LIST's keys)
//   list-remove LIST ADDRESS...       removes members (same)
//
// USER must be a user this node serves. Answers are text for a person; a command that fails
// changes nothing it did not report as done. Single-threaded, on the plugin's loop.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "plugins/email/server/mail_account.h"
#include "plugins/email/server/mailing_list.h"

namespace post::email {

struct AdminAnswer {
  bool ok = true;
  std::string text;
};

class AdminTarget {
 public:
  virtual ~AdminTarget() = default;
  // The account of `user` (created on first use; POST refuses to write it for a user the node
  // does not serve).
  virtual MailAccount& account_of(const std::string& user) = 0;
  virtual ListDirectory& lists() = 0;
};

// Runs the command `args` (args[0] is its name) and answers through `done`, once.
void run_admin_command(AdminTarget& target, const std::vector<std::string>& args,
                       std::function<void(AdminAnswer)> done);

}  // namespace post::email
