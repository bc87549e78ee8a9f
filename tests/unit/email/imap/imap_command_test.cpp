#include "plugins/email/imap/imap_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace post::email {
namespace {

ImapCommand parse_ok(std::string_view text) {
  auto command = parse_imap_command(text);
  EXPECT_TRUE(command.ok()) << text << " -> " << command.error().reply_line();
  return command.ok() ? std::move(command).value() : ImapCommand{};
}

std::string reply_to(std::string_view text) {
  auto command = parse_imap_command(text);
  if (command.ok()) return "parsed";
  std::string line = command.error().reply_line();
  return line.substr(0, line.size() - 2);
}

// --- What real clients send -----------------------------------------------------------------

TEST(ImapCommand, PythonImaplibSession) {
  // imaplib tags are four letters and a counter; LOGIN quotes the password; APPEND sends a
  // synchronizing literal after the flags and Time2Internaldate's quoted date.
  EXPECT_EQ(parse_ok("KFJL1 CAPABILITY").kind, ImapCommandKind::kCapability);
  auto login = parse_ok("KFJL2 LOGIN alice@example.org \"p@ss w\\\"rd\\\\\"");
  EXPECT_EQ(login.tag, "KFJL2");
  EXPECT_EQ(login.args<LoginArguments>().user, "alice@example.org");
  EXPECT_EQ(login.args<LoginArguments>().password, "p@ss w\"rd\\");
  EXPECT_EQ(parse_ok("KFJL3 SELECT INBOX").args<MailboxArguments>().mailbox, "INBOX");
  auto fetch = parse_ok("KFJL4 UID FETCH 1:* (FLAGS)");
  EXPECT_TRUE(fetch.uid);
  EXPECT_EQ(fetch.kind, ImapCommandKind::kFetch);
  EXPECT_EQ(format_sequence_set(fetch.args<FetchArguments>().set), "1:*");
  EXPECT_EQ(parse_ok("KFJL5 UID SEARCH ALL").args<SearchCriteria>().key.children.size(), 1u);
  auto store = parse_ok("KFJL6 STORE 1 +FLAGS (\\Deleted)");
  EXPECT_EQ(store.args<StoreArguments>().mode, StoreMode::kAdd);
  EXPECT_EQ(store.args<StoreArguments>().flags, std::vector<std::string>{"\\Deleted"});
  EXPECT_EQ(parse_ok("KFJL7 EXPUNGE").kind, ImapCommandKind::kExpunge);
  auto list = parse_ok("KFJL8 LIST \"\" *");
  EXPECT_EQ(list.args<ListArguments>().reference, "");
  EXPECT_EQ(list.args<ListArguments>().pattern, "*");
  auto status = parse_ok("KFJL9 STATUS INBOX (MESSAGES UNSEEN)");
  EXPECT_EQ(status.args<StatusArguments>().items,
            (std::vector<StatusItem>{StatusItem::kMessages, StatusItem::kUnseen}));
  auto append =
      parse_ok("KFJL10 APPEND INBOX (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {12}\r\nSubject: hi\n");
  EXPECT_EQ(append.args<AppendArguments>().message, "Subject: hi\n");
  ASSERT_TRUE(append.args<AppendArguments>().internal_date.has_value());
  EXPECT_EQ(append.args<AppendArguments>().internal_date->unix_seconds(), 1704103200);
  EXPECT_EQ(parse_ok("KFJL11 ENABLE UTF8=ACCEPT").args<EnableArguments>().capabilities,
            std::vector<std::string>{"UTF8=ACCEPT"});
  EXPECT_EQ(parse_ok("KFJL12 IDLE").kind, ImapCommandKind::kIdle);
  EXPECT_EQ(parse_ok("KFJL13 EXAMINE INBOX").kind, ImapCommandKind::kExamine);
  EXPECT_EQ(parse_ok("KFJL14 UID MOVE 1:3 Archive").args<CopyArguments>().mailbox, "Archive");
  EXPECT_EQ(parse_ok("KFJL15 LOGOUT").kind, ImapCommandKind::kLogout);
}

TEST(ImapCommand, MbsyncSession) {
  // isync's drv_imap.c: numeric tags, quoted mailbox names, LITERAL+ APPEND, UIDPLUS.
  EXPECT_EQ(parse_ok("1 CAPABILITY").tag, "1");
  auto login = parse_ok("2 LOGIN \"alice\" \"secret\"");
  EXPECT_EQ(login.args<LoginArguments>().password, "secret");
  auto auth = parse_ok("3 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==");
  EXPECT_EQ(auth.args<AuthenticateArguments>().mechanism, "PLAIN");
  EXPECT_EQ(auth.args<AuthenticateArguments>().initial_response, "AGFsaWNlAHNlY3JldA==");
  EXPECT_EQ(parse_ok("4 NAMESPACE").kind, ImapCommandKind::kNamespace);
  EXPECT_EQ(parse_ok("5 LIST \"\" \"*\"").args<ListArguments>().pattern, "*");
  EXPECT_EQ(parse_ok("5 LIST \"\" INBOX*").args<ListArguments>().pattern, "INBOX*");
  EXPECT_EQ(parse_ok("6 SELECT \"INBOX\"").args<MailboxArguments>().mailbox, "INBOX");

  auto load = parse_ok(
      "7 UID FETCH 1:5 (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (X-TUID MESSAGE-ID)])");
  const auto& items = load.args<FetchArguments>().items;
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].attribute, FetchAttribute::kUid);
  EXPECT_EQ(items[1].attribute, FetchAttribute::kFlags);
  EXPECT_EQ(items[2].attribute, FetchAttribute::kRfc822Size);
  EXPECT_EQ(items[3].attribute, FetchAttribute::kBodySection);
  EXPECT_TRUE(items[3].peek);
  EXPECT_EQ(items[3].section.text, SectionText::kHeaderFields);
  EXPECT_EQ(items[3].section.header_fields, (std::vector<std::string>{"X-TUID", "MESSAGE-ID"}));

  auto highest = parse_ok("8 UID FETCH * (UID)");
  EXPECT_EQ(highest.args<FetchArguments>().set.ranges,
            (std::vector<SequenceRange>{{kSequenceStar, kSequenceStar}}));
  auto body = parse_ok("9 UID FETCH 7 (FLAGS INTERNALDATE BODY.PEEK[])");
  EXPECT_EQ(body.args<FetchArguments>().items[2].section, BodySection{});
  auto flags = parse_ok("10 UID STORE 7 +FLAGS.SILENT (\\Seen \\Deleted)");
  EXPECT_TRUE(flags.args<StoreArguments>().silent);
  EXPECT_EQ(flags.args<StoreArguments>().flags, (std::vector<std::string>{"\\Seen", "\\Deleted"}));
  auto append =
      parse_ok("11 APPEND \"INBOX\" (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {11+}\r\nhello world");
  EXPECT_EQ(append.args<AppendArguments>().internal_date->zone_minutes, -420);
  EXPECT_EQ(append.args<AppendArguments>().message, "hello world");
  auto expunge = parse_ok("12 UID EXPUNGE 1,3:5");
  EXPECT_EQ(format_sequence_set(*expunge.args<ExpungeArguments>().uids), "1,3:5");
  EXPECT_EQ(parse_ok("13 UID MOVE 5 \"Trash\"").kind, ImapCommandKind::kMove);
  EXPECT_EQ(parse_ok("13 UID COPY 5 \"Trash\"").kind, ImapCommandKind::kCopy);
  EXPECT_EQ(parse_ok("14 CHECK").kind, ImapCommandKind::kCheck);
  EXPECT_EQ(parse_ok("15 CLOSE").kind, ImapCommandKind::kClose);
  EXPECT_EQ(parse_ok("16 CREATE \"Archive/2024\"").args<MailboxArguments>().mailbox,
            "Archive/2024");
  EXPECT_EQ(parse_ok("17 DELETE \"Old\"").kind, ImapCommandKind::kDelete);
}

TEST(ImapCommand, CurlSession) {
  // curl's lib/imap.c: "A001"-style tags, atoms where possible, BODY[] with a section and a
  // partial range written by the user.
  EXPECT_EQ(parse_ok("A001 CAPABILITY").tag, "A001");
  EXPECT_EQ(parse_ok("A002 LOGIN user secret").args<LoginArguments>().user, "user");
  EXPECT_EQ(parse_ok("A003 SELECT INBOX").kind, ImapCommandKind::kSelect);
  auto whole = parse_ok("A004 UID FETCH 1 BODY[]");
  ASSERT_EQ(whole.args<FetchArguments>().items.size(), 1u);
  EXPECT_FALSE(whole.args<FetchArguments>().items[0].peek);
  auto partial = parse_ok("A005 FETCH 1 BODY[TEXT]<0.100>");
  EXPECT_EQ(partial.args<FetchArguments>().items[0].partial, (FetchPartial{0, 100}));
  auto append = parse_ok("A006 APPEND INBOX (\\Seen) {5}\r\nhello");
  EXPECT_EQ(append.args<AppendArguments>().flags, std::vector<std::string>{"\\Seen"});
  EXPECT_EQ(parse_ok("A007 LIST \"\" *").kind, ImapCommandKind::kList);
  EXPECT_EQ(parse_ok("A008 SEARCH NEW").args<SearchCriteria>().key.children[0].kind,
            SearchKeyKind::kNew);
  EXPECT_EQ(parse_ok("A009 AUTHENTICATE PLAIN").args<AuthenticateArguments>().initial_response,
            std::nullopt);
  EXPECT_EQ(parse_ok("A010 LOGOUT").kind, ImapCommandKind::kLogout);
}

TEST(ImapCommand, ThunderbirdSession) {
  // Thunderbird writes command names in mixed case and identifies itself with ID.
  EXPECT_EQ(parse_ok("1 capability").kind, ImapCommandKind::kCapability);
  auto id = parse_ok("2 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")");
  const auto& fields = id.args<IdArguments>().fields;
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].first, "name");
  EXPECT_EQ(fields[0].second, "Thunderbird");
  EXPECT_EQ(parse_ok("3 authenticate PLAIN").args<AuthenticateArguments>().mechanism, "PLAIN");
  EXPECT_EQ(parse_ok("4 select \"INBOX\"").kind, ImapCommandKind::kSelect);
  auto fetch = parse_ok("5 UID fetch 1:* (FLAGS)");
  EXPECT_TRUE(fetch.uid);
  EXPECT_EQ(parse_ok("6 uid store 5 +FLAGS (\\Seen)").kind, ImapCommandKind::kStore);
  EXPECT_EQ(parse_ok("7 IDLE").kind, ImapCommandKind::kIdle);
  EXPECT_EQ(parse_ok("8 UID MOVE 5 \"Trash\"").kind, ImapCommandKind::kMove);
  EXPECT_EQ(parse_ok("9 unselect").kind, ImapCommandKind::kUnselect);
}

// --- Each command: happy path, then malformed -------------------------------------------------

TEST(ImapCommand, CommandsWithoutArguments) {
  for (const auto& [text, kind] : std::vector<std::pair<std::string, ImapCommandKind>>{
           {"a CAPABILITY", ImapCommandKind::kCapability},
           {"a NOOP", ImapCommandKind::kNoop},
           {"a LOGOUT", ImapCommandKind::kLogout},
           {"a STARTTLS", ImapCommandKind::kStartTls},
           {"a NAMESPACE", ImapCommandKind::kNamespace},
           {"a IDLE", ImapCommandKind::kIdle},
           {"a CHECK", ImapCommandKind::kCheck},
           {"a CLOSE", ImapCommandKind::kClose},
           {"a UNSELECT", ImapCommandKind::kUnselect},
           {"a EXPUNGE", ImapCommandKind::kExpunge},
       }) {
    auto command = parse_ok(text);
    EXPECT_EQ(command.kind, kind) << text;
    EXPECT_EQ(command_name(kind), text.substr(2));
    EXPECT_EQ(reply_to(text + " now"), "a BAD Unexpected extra arguments") << text;
  }
  EXPECT_FALSE(parse_ok("a EXPUNGE").args<ExpungeArguments>().uids.has_value());
}

TEST(ImapCommand, Login) {
  auto login = parse_ok("a LOGIN {5}\r\nalice \"\"");
  EXPECT_EQ(login.args<LoginArguments>().user, "alice");
  EXPECT_EQ(login.args<LoginArguments>().password, "");
  EXPECT_EQ(reply_to("a LOGIN"), "a BAD Missing user name");
  EXPECT_EQ(reply_to("a LOGIN alice"), "a BAD Missing password");
  EXPECT_EQ(reply_to("a LOGIN alice \"unterminated"), "a BAD Unterminated quoted string");
  EXPECT_EQ(reply_to("a LOGIN alice \"bad\\escape\""), "a BAD Invalid password");
  EXPECT_EQ(reply_to("a LOGIN alice pass word"), "a BAD Unexpected extra arguments");
  EXPECT_EQ(reply_to("a LOGIN alice {10}\r\nshort"), "a BAD Truncated literal in password");
  EXPECT_EQ(reply_to("a LOGIN alice (x)"), "a BAD Invalid password");
}

TEST(ImapCommand, Authenticate) {
  auto empty = parse_ok("a AUTHENTICATE plain =");
  EXPECT_EQ(empty.args<AuthenticateArguments>().mechanism, "PLAIN");
  EXPECT_EQ(empty.args<AuthenticateArguments>().initial_response, "=");
  EXPECT_EQ(reply_to("a AUTHENTICATE"), "a BAD Missing authentication mechanism");
  EXPECT_EQ(reply_to("a AUTHENTICATE PLAIN abc"), "a BAD Invalid initial response");
  EXPECT_EQ(reply_to("a AUTHENTICATE PLAIN a=bc"), "a BAD Invalid initial response");
}

TEST(ImapCommand, Enable) {
  EXPECT_EQ(parse_ok("a ENABLE condstore UTF8=ACCEPT").args<EnableArguments>().capabilities,
            (std::vector<std::string>{"CONDSTORE", "UTF8=ACCEPT"}));
  EXPECT_EQ(reply_to("a ENABLE"), "a BAD Missing capability");
  EXPECT_EQ(reply_to("a ENABLE \"X\""), "a BAD Invalid capability");
}

TEST(ImapCommand, Id) {
  EXPECT_TRUE(parse_ok("a ID NIL").args<IdArguments>().fields.empty());
  auto id = parse_ok("a ID (\"name\" \"mbsync\" \"os\" NIL)");
  EXPECT_EQ(id.args<IdArguments>().fields[1].second, std::nullopt);
  EXPECT_EQ(reply_to("a ID"), "a BAD Missing ID parameter list");
  EXPECT_EQ(reply_to("a ID (\"name\")"), "a BAD Missing ID field value");
  EXPECT_EQ(reply_to("a ID (\"name\" \"x\""), "a BAD Invalid ID parameter list");
  std::string many = "a ID (";
  for (std::size_t i = 0; i <= kMaxIdFields; ++i) many += "\"k" + std::to_string(i) + "\" NIL ";
  many.back() = ')';
  EXPECT_EQ(reply_to(many), "a BAD Too many ID fields");
  EXPECT_EQ(reply_to("a ID (\"" + std::string(31, 'k') + "\" NIL)"),
            "a BAD ID field name too long");
}

TEST(ImapCommand, MailboxCommands) {
  for (const auto& [name, kind] : std::vector<std::pair<std::string, ImapCommandKind>>{
           {"SELECT", ImapCommandKind::kSelect},
           {"EXAMINE", ImapCommandKind::kExamine},
           {"CREATE", ImapCommandKind::kCreate},
           {"DELETE", ImapCommandKind::kDelete},
           {"SUBSCRIBE", ImapCommandKind::kSubscribe},
           {"UNSUBSCRIBE", ImapCommandKind::kUnsubscribe},
       }) {
    auto command = parse_ok("a " + name + " Lists/imap");
    EXPECT_EQ(command.kind, kind);
    EXPECT_EQ(command.args<MailboxArguments>().mailbox, "Lists/imap");
    EXPECT_EQ(reply_to("a " + name), "a BAD Missing mailbox name") << name;
    EXPECT_EQ(reply_to("a " + name + " "), "a BAD Missing mailbox name") << name;
    EXPECT_EQ(reply_to("a " + name + " (x)"), "a BAD Invalid mailbox name") << name;
  }
  // CONDSTORE's SELECT parameters are not offered.
  EXPECT_EQ(reply_to("a SELECT INBOX (CONDSTORE)"), "a BAD Unexpected extra arguments");
}

TEST(ImapCommand, InboxIsCaseInsensitive) {
  EXPECT_EQ(parse_ok("a SELECT inbox").args<MailboxArguments>().mailbox, "INBOX");
  EXPECT_EQ(parse_ok("a SELECT \"InBoX\"").args<MailboxArguments>().mailbox, "INBOX");
  EXPECT_EQ(parse_ok("a COPY 1 {5}\r\ninbox").args<CopyArguments>().mailbox, "INBOX");
  // Only the name INBOX itself: other names keep their case.
  EXPECT_EQ(parse_ok("a SELECT inbox/Sub").args<MailboxArguments>().mailbox, "inbox/Sub");
}

TEST(ImapCommand, MailboxNamesMustBeModifiedUtf7) {
  auto command = parse_ok("a CREATE \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"");
  EXPECT_EQ(command.args<MailboxArguments>().mailbox, "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(parse_ok("a CREATE \"Tom &- Jerry\"").args<MailboxArguments>().mailbox, "Tom &- Jerry");
  auto raw_utf8 = parse_imap_command("a CREATE \"Entw\xc3\xbcrfe\"");
  ASSERT_FALSE(raw_utf8.ok());
  EXPECT_EQ(raw_utf8.error().code, ImapErrc::kBadMailboxName);
  EXPECT_EQ(raw_utf8.error().reply_line(),
            "a NO [CANNOT] Mailbox name is not valid modified UTF-7\r\n");
  EXPECT_EQ(reply_to("a SELECT &Jjo"), "a NO [CANNOT] Mailbox name is not valid modified UTF-7");
  EXPECT_EQ(reply_to("a RENAME a &AGE-"), "a NO [CANNOT] Mailbox name is not valid modified UTF-7");
}

TEST(ImapCommand, Rename) {
  auto rename = parse_ok("a RENAME \"Old Name\" New");
  EXPECT_EQ(rename.args<RenameArguments>().from, "Old Name");
  EXPECT_EQ(rename.args<RenameArguments>().to, "New");
  EXPECT_EQ(reply_to("a RENAME Old"), "a BAD Missing new mailbox name");
}

TEST(ImapCommand, ListAndLsub) {
  auto list = parse_ok("a LIST \"Archive/\" %");
  EXPECT_EQ(list.args<ListArguments>().reference, "Archive/");
  EXPECT_EQ(list.args<ListArguments>().pattern, "%");
  EXPECT_EQ(parse_ok("a LSUB \"\" \"*\"").kind, ImapCommandKind::kLsub);
  EXPECT_EQ(parse_ok("a LIST \"\" Lists/%/imap*").args<ListArguments>().pattern, "Lists/%/imap*");
  EXPECT_EQ(reply_to("a LIST \"\""), "a BAD Missing mailbox pattern");
  EXPECT_EQ(reply_to("a LIST"), "a BAD Missing reference name");
  // LIST-EXTENDED is not offered.
  EXPECT_EQ(reply_to("a LIST (SUBSCRIBED) \"\" *"), "a BAD Invalid reference name");
  EXPECT_EQ(reply_to("a LIST \"\" * RETURN (CHILDREN)"), "a BAD Unexpected extra arguments");
}

TEST(ImapCommand, Status) {
  auto status = parse_ok("a STATUS \"Sent\" (messages RECENT UIDNEXT UIDVALIDITY UNSEEN)");
  EXPECT_EQ(status.args<StatusArguments>().mailbox, "Sent");
  EXPECT_EQ(status.args<StatusArguments>().items.size(), 5u);
  EXPECT_EQ(reply_to("a STATUS Sent"), "a BAD Missing status items");
  EXPECT_EQ(reply_to("a STATUS Sent ()"), "a BAD Missing status item");
  EXPECT_EQ(reply_to("a STATUS Sent MESSAGES"), "a BAD Invalid status item list");
  EXPECT_EQ(reply_to("a STATUS Sent (MESSAGES SIZE)"), "a BAD Unknown status item SIZE");
  EXPECT_EQ(reply_to("a STATUS Sent (MESSAGES"), "a BAD Invalid status item list");
}

TEST(ImapCommand, Append) {
  auto bare = parse_ok("a APPEND Drafts {3}\r\nabc");
  EXPECT_TRUE(bare.args<AppendArguments>().flags.empty());
  EXPECT_FALSE(bare.args<AppendArguments>().internal_date.has_value());
  auto dated = parse_ok("a APPEND Drafts \" 7-Feb-2024 23:59:60 +0130\" {0}\r\n");
  const ImapDateTime& date = *dated.args<AppendArguments>().internal_date;
  EXPECT_EQ(date.date, (ImapDate{2024, 2, 7}));
  EXPECT_EQ(date.second, 60);
  EXPECT_EQ(date.zone_minutes, 90);
  auto keywords = parse_ok("a APPEND Drafts (\\draft $Label1) {1}\r\nx");
  EXPECT_EQ(keywords.args<AppendArguments>().flags,
            (std::vector<std::string>{"\\Draft", "$Label1"}));

  EXPECT_EQ(reply_to("a APPEND"), "a BAD Missing mailbox name");
  EXPECT_EQ(reply_to("a APPEND Drafts"), "a BAD Missing message literal");
  EXPECT_EQ(reply_to("a APPEND Drafts \"message\""), "a BAD Invalid date-time");
  EXPECT_EQ(reply_to("a APPEND Drafts message"), "a BAD Message must be a literal");
  EXPECT_EQ(reply_to("a APPEND Drafts (\\Seen)"), "a BAD Missing message literal");
  EXPECT_EQ(reply_to("a APPEND Drafts (\\Recent) {1}\r\nx"), "a BAD Invalid system flag");
  EXPECT_EQ(reply_to("a APPEND Drafts \"30-Feb-2024 10:00:00 +0000\" {1}\r\nx"),
            "a BAD Invalid date-time");
  EXPECT_EQ(reply_to("a APPEND Drafts \"01-Feb-2024 24:00:00 +0000\" {1}\r\nx"),
            "a BAD Invalid date-time");
  EXPECT_EQ(reply_to("a APPEND Drafts \"01-Feb-2024 10:00:00 0000\" {1}\r\nx"),
            "a BAD Invalid date-time");
  EXPECT_EQ(reply_to("a APPEND Drafts {1}\r\nx {1}\r\ny"), "a BAD MULTIAPPEND is not supported");
  EXPECT_EQ(reply_to("a APPEND Drafts ~{1}\r\nx"), "a BAD literal8 is not supported");
}

TEST(ImapCommand, Store) {
  auto replace = parse_ok("a STORE 2:4 FLAGS ()");
  EXPECT_EQ(replace.args<StoreArguments>().mode, StoreMode::kReplace);
  EXPECT_TRUE(replace.args<StoreArguments>().flags.empty());
  auto remove = parse_ok("a STORE 1 -flags.silent \\seen $Junk");
  EXPECT_EQ(remove.args<StoreArguments>().mode, StoreMode::kRemove);
  EXPECT_TRUE(remove.args<StoreArguments>().silent);
  EXPECT_EQ(remove.args<StoreArguments>().flags, (std::vector<std::string>{"\\Seen", "$Junk"}));

  EXPECT_EQ(reply_to("a STORE"), "a BAD Missing sequence set");
  EXPECT_EQ(reply_to("a STORE 1"), "a BAD Missing store action");
  EXPECT_EQ(reply_to("a STORE 1 +FLAGS"), "a BAD Missing flags");
  EXPECT_EQ(reply_to("a STORE 1 *FLAGS \\Seen"), "a BAD Invalid store action");
  EXPECT_EQ(reply_to("a STORE 1 +FLAGS.LOUD \\Seen"), "a BAD Invalid store action");
  EXPECT_EQ(reply_to("a STORE 1 +FLAGS \\Recent"), "a BAD Invalid system flag");
  EXPECT_EQ(reply_to("a STORE 1 +FLAGS (\\Seen"), "a BAD Invalid flag list");
  EXPECT_EQ(reply_to("a STORE 1 +FLAGS (\\Seen \\*)"), "a BAD Invalid system flag");
  EXPECT_EQ(reply_to("a STORE 1 +FLAGS \\Seen  \\Draft"), "a BAD Missing flag");
}

TEST(ImapCommand, CopyAndMove) {
  auto copy = parse_ok("a COPY 2:4,7 Archive");
  EXPECT_EQ(copy.kind, ImapCommandKind::kCopy);
  EXPECT_FALSE(copy.uid);
  EXPECT_EQ(format_sequence_set(copy.args<CopyArguments>().set), "2:4,7");
  EXPECT_EQ(parse_ok("a MOVE 1 Trash").kind, ImapCommandKind::kMove);
  EXPECT_EQ(reply_to("a COPY 1"), "a BAD Missing mailbox name");
  EXPECT_EQ(reply_to("a MOVE Trash"), "a BAD Invalid sequence set");
}

TEST(ImapCommand, UidCommands) {
  EXPECT_EQ(parse_ok("a UID SEARCH UNSEEN").kind, ImapCommandKind::kSearch);
  EXPECT_EQ(parse_ok("a UID STORE 1 FLAGS \\Seen").kind, ImapCommandKind::kStore);
  EXPECT_EQ(reply_to("a UID EXPUNGE"), "a BAD Missing UID set");
  EXPECT_EQ(reply_to("a UID"), "a BAD Missing UID command");
  EXPECT_EQ(reply_to("a UID SELECT INBOX"), "a BAD Unknown command UID SELECT");
  EXPECT_EQ(reply_to("a UID FROBNICATE 1"), "a BAD Unknown command UID FROBNICATE");
}

TEST(ImapCommand, TagsAndCommandNames) {
  EXPECT_EQ(reply_to("a FROBNICATE"), "a BAD Unknown command FROBNICATE");
  EXPECT_EQ(reply_to("a " + std::string(100, 'X')), "a BAD Unknown command");
  EXPECT_EQ(reply_to("a"), "a BAD Missing command name");
  EXPECT_EQ(reply_to("a "), "a BAD Missing command name");
  EXPECT_EQ(reply_to("a (NOOP)"), "a BAD Missing command name");
  EXPECT_EQ(reply_to("a NOOP(x)"), "a BAD Invalid command name");
  EXPECT_EQ(reply_to(""), "* BAD Missing tag");
  EXPECT_EQ(reply_to(" NOOP"), "* BAD Missing tag");
  EXPECT_EQ(reply_to("+ NOOP"), "* BAD Invalid tag");
  EXPECT_EQ(reply_to("a* NOOP"), "* BAD Invalid tag");
  EXPECT_EQ(reply_to("{3}\r\nabc NOOP"), "* BAD Invalid tag");
  // Tags may hold "]" and most punctuation (RFC 3501 9, tag).
  EXPECT_EQ(parse_ok("a]1.-_ NOOP").tag, "a]1.-_");
}

TEST(ImapCommand, ErrorsAreValuesWithCodes) {
  auto unknown = parse_imap_command("a XYZZY");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ImapErrc::kUnknownCommand);
  EXPECT_EQ(unknown.error().error_code(), make_error_code(ImapErrc::kUnknownCommand));
  EXPECT_STREQ(unknown.error().error_code().category().name(), "imap");
  EXPECT_EQ(unknown.error().status, ImapStatus::kBad);
  EXPECT_EQ(unknown.error().tag, "a");
}

}  // namespace
}  // namespace post::email
