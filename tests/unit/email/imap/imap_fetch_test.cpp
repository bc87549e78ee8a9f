#include "plugins/email/imap/imap_fetch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/email/imap/imap_command.h"

namespace post::email {
namespace {

std::vector<FetchItem> items_of(std::string_view attributes) {
  auto command = parse_imap_command("f FETCH 1 " + std::string(attributes));
  EXPECT_TRUE(command.ok()) << attributes << " -> " << command.error().reply_line();
  if (!command.ok()) return {};
  return command->args<FetchArguments>().items;
}

std::string reply_to(std::string_view attributes) {
  auto command = parse_imap_command("f FETCH 1 " + std::string(attributes));
  if (command.ok()) return "parsed";
  std::string line = command.error().reply_line();
  return line.substr(0, line.size() - 2);
}

std::vector<std::string> names_of(const std::vector<FetchItem>& items) {
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const auto& item : items) names.push_back(format_fetch_item_name(item));
  return names;
}

TEST(FetchItems, SimpleAttributes) {
  EXPECT_EQ(
      names_of(items_of("(ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE "
                        "RFC822.TEXT BODY BODYSTRUCTURE UID)")),
      (std::vector<std::string>{"ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER",
                                "RFC822.SIZE", "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID"}));
  EXPECT_EQ(names_of(items_of("rfc822.size")), std::vector<std::string>{"RFC822.SIZE"});
}

TEST(FetchItems, MacrosExpand) {
  EXPECT_EQ(names_of(items_of("ALL")),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}));
  EXPECT_EQ(names_of(items_of("fast")),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822.SIZE"}));
  EXPECT_EQ(names_of(items_of("FULL")),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}));
  // Macros stand alone; they are not fetch attributes.
  EXPECT_EQ(reply_to("(ALL)"), "f BAD Unknown fetch attribute ALL");
  EXPECT_EQ(reply_to("ALL FLAGS"), "f BAD Unexpected extra arguments");
}

TEST(FetchItems, SectionWithPartsTextAndPartialRange) {
  auto items = items_of("BODY[1.2.HEADER]<0.1024>");
  ASSERT_EQ(items.size(), 1u);
  const FetchItem& item = items[0];
  EXPECT_EQ(item.attribute, FetchAttribute::kBodySection);
  EXPECT_FALSE(item.peek);
  EXPECT_EQ(item.section.part, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(item.section.text, SectionText::kHeader);
  EXPECT_EQ(item.partial, (FetchPartial{0, 1024}));
  EXPECT_EQ(format_fetch_item_name(item), "BODY[1.2.HEADER]<0>");
  EXPECT_TRUE(fetch_item_sets_seen(item));
}

TEST(FetchItems, EverySectionForm) {
  EXPECT_EQ(
      names_of(items_of("(BODY[] BODY.PEEK[TEXT] BODY[3] BODY[3.1.MIME] BODY[2.TEXT] "
                        "body.peek[header.fields.not (Received DKIM-Signature)]<100.5>)")),
      (std::vector<std::string>{"BODY[]", "BODY[TEXT]", "BODY[3]", "BODY[3.1.MIME]", "BODY[2.TEXT]",
                                "BODY[HEADER.FIELDS.NOT (Received DKIM-Signature)]<100>"}));
  auto peek = items_of("BODY.PEEK[HEADER]");
  EXPECT_TRUE(peek[0].peek);
  EXPECT_FALSE(fetch_item_sets_seen(peek[0]));
  auto fields = items_of("BODY[4.2.HEADER.FIELDS ({7}\r\nSubject \"From\")]");
  EXPECT_EQ(fields[0].section.part, (std::vector<std::uint32_t>{4, 2}));
  EXPECT_EQ(fields[0].section.header_fields, (std::vector<std::string>{"Subject", "From"}));
  EXPECT_EQ(format_fetch_item_name(fields[0]), "BODY[4.2.HEADER.FIELDS (Subject From)]");
}

TEST(FetchItems, WhichItemsSetSeen) {
  auto items = items_of("(RFC822 RFC822.TEXT RFC822.HEADER BODY[] BODY.PEEK[] FLAGS)");
  std::vector<bool> seen;
  seen.reserve(items.size());
  for (const auto& item : items) seen.push_back(fetch_item_sets_seen(item));
  EXPECT_EQ(seen, (std::vector<bool>{true, true, false, true, false, false}));
}

TEST(FetchItems, MalformedSectionsAndRanges) {
  EXPECT_EQ(reply_to("BODY[MIME]"), "f BAD Invalid section");
  EXPECT_EQ(reply_to("BODY[1.]"), "f BAD Invalid section");
  EXPECT_EQ(reply_to("BODY[0]"), "f BAD Invalid section part");
  EXPECT_EQ(reply_to("BODY[1.2"), "f BAD Invalid section");
  EXPECT_EQ(reply_to("BODY[HEADERS]"), "f BAD Invalid section");
  EXPECT_EQ(reply_to("BODY[HEADER.FIELDS]"), "f BAD Expected space before header field list");
  EXPECT_EQ(reply_to("BODY[HEADER.FIELDS ()]"), "f BAD Missing header field name");
  EXPECT_EQ(reply_to("BODY[HEADER.FIELDS (Subject:)]"), "f BAD Invalid header field name");
  EXPECT_EQ(reply_to("BODY[HEADER.FIELDS ({4}\r\na\r\nb)]"), "f BAD Invalid header field name");
  EXPECT_EQ(reply_to("BODY[]<0.0>"), "f BAD Invalid partial length");
  EXPECT_EQ(reply_to("BODY[]<5>"), "f BAD Invalid partial range");
  EXPECT_EQ(reply_to("BODY[]<5.10"), "f BAD Invalid partial range");
  EXPECT_EQ(reply_to("BODY[]<4294967296.1>"), "f BAD Invalid partial origin");
  EXPECT_EQ(reply_to("BODY.PEEK"), "f BAD Invalid fetch attribute BODY.PEEK");
  EXPECT_EQ(reply_to("BINARY[1]"), "f BAD Unknown fetch attribute BINARY");
  EXPECT_EQ(reply_to("(FLAGS"), "f BAD Unterminated fetch attribute list");
  EXPECT_EQ(reply_to("(FLAGS)x"), "f BAD Unexpected extra arguments");
  EXPECT_EQ(reply_to("()"), "f BAD Missing fetch attribute");
  EXPECT_EQ(reply_to("(FLAGS  UID)"), "f BAD Missing fetch attribute");
  EXPECT_EQ(reply_to("(FLAGS (UID))"), "f BAD Invalid fetch attribute");
  EXPECT_EQ(reply_to("FLAGS (CHANGEDSINCE 5)"), "f BAD Unexpected extra arguments");
  auto missing = parse_imap_command("f FETCH 1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().text, "Missing fetch attributes");
}

TEST(FetchItems, SequenceSetsOfFetch) {
  auto command = parse_imap_command("f FETCH 5:2,*,9:* FLAGS");
  ASSERT_TRUE(command.ok());
  EXPECT_EQ(format_sequence_set(command->args<FetchArguments>().set), "2:5,*,9:*");
  EXPECT_EQ(parse_imap_command("f FETCH 1,,2 FLAGS").error().text, "Invalid sequence set");
  EXPECT_EQ(parse_imap_command("f FETCH 0 FLAGS").error().text, "Invalid sequence set");
}

}  // namespace
}  // namespace post::email
