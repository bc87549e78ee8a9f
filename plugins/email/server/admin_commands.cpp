#include "plugins/email/server/admin_commands.h"

#include <memory>
#include <utility>

#include "plugins/email/common/ascii.h"

namespace post::email {

namespace {

constexpr const char* kHelp =
    "email plugin commands:\n"
    "  blocked USER                  USER's block list\n"
    "  block USER ADDRESS...         drop mail from these senders to USER\n"
    "  unblock USER ADDRESS...       take senders off USER's block list\n"
    "  list-members LIST             the members of mailing list LIST\n"
    "  list-add LIST ADDRESS...      add members (on the node holding LIST's keys)\n"
    "  list-remove LIST ADDRESS...   remove members (same)\n";

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + "\n";
  return out;
}

AdminAnswer failed(std::string text) {
  return AdminAnswer{false, std::move(text)};
}

// Addresses from args[from...], lower-cased; an answer naming the first bad one otherwise.
std::optional<std::vector<std::string>> addresses(const std::vector<std::string>& args,
                                                  std::size_t from, std::string* bad) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < args.size(); ++i) {
    if (!plausible_address(args[i])) {
      *bad = args[i];
      return std::nullopt;
    }
    out.push_back(to_ascii_lower(args[i]));
  }
  return out;
}

void change_block_list(MailAccount& account, std::vector<std::string> senders, bool on,
                       std::function<void(AdminAnswer)> done) {
  account.open([&account, senders = std::move(senders), on,
                done = std::move(done)](IoResult<void> opened) mutable {
    if (!opened.ok()) {
      return done(failed("cannot read " + account.user() + "'s folders: " + opened.error().message));
    }
    // Only what changes something; the folder list's appends run one at a time, in order.
    std::vector<std::string> todo;
    for (auto& s : senders) {
      if (account.mailbox().is_blocked(s) != on) todo.push_back(std::move(s));
    }
    const std::string verb = on ? "blocked" : "unblocked";
    if (todo.empty()) return done(AdminAnswer{true, "nothing to change\n"});
    struct Progress {
      std::size_t left;
      std::vector<std::string> changed;
      std::string error;
      std::function<void(AdminAnswer)> done;
    };
    auto p = std::make_shared<Progress>(Progress{todo.size(), {}, {}, std::move(done)});
    for (const auto& s : todo) {
      account.append_to_list(store::Block{s, on}, [p, s, verb, &account](IoResult<void> r) {
        if (r.ok()) {
          p->changed.push_back(s);
        } else if (p->error.empty()) {
          p->error = r.error().message;
        }
        if (--p->left > 0) return;
        std::string text;
        for (const auto& c : p->changed) text += verb + " " + c + " for " + account.user() + "\n";
        if (!p->error.empty()) return p->done(failed(text + "error: " + p->error));
        p->done(AdminAnswer{true, text});
      });
    }
  });
}

void change_list(ListDirectory& lists, const std::string& list, std::vector<std::string> members,
                 bool join, std::function<void(AdminAnswer)> done) {
  std::vector<MemberChange> changes;
  for (auto& m : members) changes.push_back(MemberChange{std::move(m), join});
  lists.change(list, std::move(changes), [list, done](IoResult<std::vector<std::string>> r) {
    if (!r.ok()) return done(failed("cannot change " + list + ": " + r.error().message));
    done(AdminAnswer{true, list + " has " + std::to_string(r->size()) + " member(s)\n" +
                               joined(*r)});
  });
}

}  // namespace

void run_admin_command(AdminTarget& target, const std::vector<std::string>& args,
                       std::function<void(AdminAnswer)> done) {
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    return done(AdminAnswer{!args.empty(), kHelp});
  }
  const std::string& name = args[0];
  auto usage = [&](const char* what) {
    done(failed("usage: " + name + " " + what + "\n"));
  };
  std::string bad;
  if (name == "blocked") {
    if (args.size() != 2 || !plausible_address(args[1])) return usage("USER");
    MailAccount& account = target.account_of(to_ascii_lower(args[1]));
    return account.open([&account, done](IoResult<void> r) {
      if (!r.ok()) {
        return done(failed("cannot read " + account.user() + "'s folders: " + r.error().message));
      }
      const auto& blocked = account.mailbox().blocked();
      done(AdminAnswer{true, joined({blocked.begin(), blocked.end()})});
    });
  }
  if (name == "block" || name == "unblock") {
    if (args.size() < 3 || !plausible_address(args[1])) return usage("USER ADDRESS...");
    auto senders = addresses(args, 2, &bad);
    if (!senders) return done(failed("not an address: " + bad + "\n"));
    return change_block_list(target.account_of(to_ascii_lower(args[1])), std::move(*senders),
                             name == "block", std::move(done));
  }
  if (name == "list-members") {
    if (args.size() != 2 || !plausible_address(args[1])) return usage("LIST");
    const std::string list = to_ascii_lower(args[1]);
    return target.lists().members(list, [list, done](IoResult<ListDirectory::Members> r) {
      if (!r.ok()) return done(failed("cannot read " + list + ": " + r.error().message));
      if (!r->has_value()) return done(failed(list + " is not a mailing list\n"));
      done(AdminAnswer{true, joined(**r)});
    });
  }
  if (name == "list-add" || name == "list-remove") {
    if (args.size() < 3 || !plausible_address(args[1])) return usage("LIST ADDRESS...");
    auto members = addresses(args, 2, &bad);
    if (!members) return done(failed("not an address: " + bad + "\n"));
    return change_list(target.lists(), to_ascii_lower(args[1]), std::move(*members),
                       name == "list-add", std::move(done));
  }
  done(failed("unknown command " + name + "\n" + kHelp));
}

}  // namespace post::email
