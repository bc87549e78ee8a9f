#include "plugins/email/imap/imap_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/email/imap/imap_command.h"

namespace post::email {
namespace {

TEST(QuoteOrLiteral, QuotesSafeTextAndEscapes) {
  EXPECT_EQ(quote_or_literal("INBOX"), "\"INBOX\"");
  EXPECT_EQ(quote_or_literal(""), "\"\"");
  EXPECT_EQ(quote_or_literal("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
}

TEST(QuoteOrLiteral, UsesALiteralForWhatAQuotedStringCannotHold) {
  EXPECT_EQ(quote_or_literal("a\r\nb"), "{4}\r\na\r\nb");
  EXPECT_EQ(quote_or_literal("Gr\xc3\xbc\xc3\x9f"), "{6}\r\nGr\xc3\xbc\xc3\x9f");
  EXPECT_EQ(quote_or_literal(std::string_view("a\0b", 3)), std::string("{3}\r\na\0b", 8));
  std::string long_text(kMaxQuotedBytes + 1, 'x');
  EXPECT_EQ(quote_or_literal(long_text), "{1025}\r\n" + long_text);
  EXPECT_EQ(quote_or_literal(std::string(kMaxQuotedBytes, 'x')).front(), '"');
}

TEST(QuoteOrLiteral, OutputParsesBackToTheSameBytes) {
  for (std::string_view value : {std::string_view("plain"), std::string_view("q\"\\"),
                                 std::string_view("line\r\nbreak"), std::string_view("")}) {
    auto command = parse_imap_command("a LOGIN " + quote_or_literal(value) + " x");
    ASSERT_TRUE(command.ok()) << command.error().reply_line();
    EXPECT_EQ(command->args<LoginArguments>().user, value);
  }
}

TEST(ResponseHelpers, NstringAstringFlagsAndStatusLines) {
  EXPECT_EQ(format_nstring(std::nullopt), "NIL");
  EXPECT_EQ(format_nstring("NIL"), "\"NIL\"");
  EXPECT_EQ(format_astring("Archive/2024"), "Archive/2024");
  EXPECT_EQ(format_astring("Sent Items"), "\"Sent Items\"");
  EXPECT_EQ(format_astring("nil"), "\"nil\"");
  EXPECT_EQ(format_astring(""), "\"\"");
  EXPECT_EQ(format_astring("a%b"), "\"a%b\"");
  std::vector<std::string> flags = {"\\Seen", "\\Answered", "$Forwarded"};
  EXPECT_EQ(format_flags(flags), "(\\Seen \\Answered $Forwarded)");
  EXPECT_EQ(format_flags({}), "()");
  EXPECT_EQ(format_status_response("A1", ImapStatus::kOk, "LOGIN completed"),
            "A1 OK LOGIN completed\r\n");
  EXPECT_EQ(format_status_response("", ImapStatus::kBye, "bye\r\n* injected"),
            "* BYE bye  * injected\r\n");
}

TEST(ModifiedUtf7, DecodesTheRfc3501Example) {
  auto decoded = decode_modified_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
  auto encoded = encode_modified_utf7(*decoded);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
}

TEST(ModifiedUtf7, EncodesAmpersandAndNonAscii) {
  EXPECT_EQ(*encode_modified_utf7("Tom & Jerry"), "Tom &- Jerry");
  EXPECT_EQ(*decode_modified_utf7("Tom &- Jerry"), "Tom & Jerry");
  EXPECT_EQ(*encode_modified_utf7("Entw\xc3\xbcrfe"), "Entw&APw-rfe");
  EXPECT_EQ(*encode_modified_utf7("Gesendete Objekte"), "Gesendete Objekte");
  // Outside the BMP: a surrogate pair (U+1F4E7 E-MAIL SYMBOL).
  std::string emoji = "\xf0\x9f\x93\xa7 Mail";
  auto encoded = encode_modified_utf7(emoji);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, "&2D3c5w- Mail");
  EXPECT_EQ(*decode_modified_utf7(*encoded), emoji);
  EXPECT_EQ(*encode_modified_utf7(""), "");
}

TEST(ModifiedUtf7, RefusesInvalidNames) {
  for (std::string_view bad : {
           "&",            // shift not closed
           "&U,BTFw",      // shift not closed
           "&U/BTFw-",     // '/' is not modified base64
           "&AGE-",        // printable ASCII 'a' inside a shift
           "&2D0-",        // lone high surrogate
           "&3AA-",        // lone low surrogate
           "&AAA-",        // NUL
           "&U,BTF-",      // not a whole UTF-16 unit
           "&U,BTFx-",     // non-zero padding bits
           "caf\xc3\xa9",  // raw 8-bit
           "tab\there",    // control character
       }) {
    EXPECT_FALSE(is_valid_modified_utf7(bad)) << bad;
    auto decoded = decode_modified_utf7(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().code, ImapErrc::kBadModifiedUtf7);
  }
  EXPECT_TRUE(is_valid_modified_utf7("&AOk-t&AOk-"));
  EXPECT_TRUE(is_valid_modified_utf7(""));
}

TEST(ModifiedUtf7, EncodingRefusesInvalidUtf8) {
  for (std::string_view bad :
       std::vector<std::string_view>{"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
                                     std::string_view("a\0b", 3)}) {
    auto encoded = encode_modified_utf7(bad);
    ASSERT_FALSE(encoded.ok());
    EXPECT_EQ(encoded.error().code, ImapErrc::kBadUtf8);
  }
}

TEST(ImapDates, InternalDateFormatAndArithmetic) {
  EXPECT_EQ(format_date_time(837596665, -420), "\"17-Jul-1996 02:44:25 -0700\"");
  EXPECT_EQ(format_date_time(0, 0), "\"01-Jan-1970 00:00:00 +0000\"");
  EXPECT_EQ(format_date_time(-1, 330), "\"01-Jan-1970 05:29:59 +0530\"");
  ImapDateTime t{ImapDate{1996, 7, 17}, 2, 44, 25, -420};
  EXPECT_EQ(t.unix_seconds(), 837596665);
  EXPECT_EQ((ImapDate{1970, 1, 2}).days_since_epoch(), 1);
  EXPECT_EQ((ImapDate{1969, 12, 31}).days_since_epoch(), -1);
  EXPECT_TRUE(is_valid_date(2024, 2, 29));
  EXPECT_FALSE(is_valid_date(2023, 2, 29));
  EXPECT_FALSE(is_valid_date(1900, 2, 29));
  EXPECT_TRUE(is_valid_date(2000, 2, 29));
  EXPECT_FALSE(is_valid_date(2024, 13, 1));
}

}  // namespace
}  // namespace post::email
