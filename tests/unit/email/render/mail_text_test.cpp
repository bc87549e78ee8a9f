// Tests of the header, encoded-word, transfer-encoding and charset helpers
// (plugins/email/render/mail_text.h).
#include "plugins/email/render/mail_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace post::email {
namespace {

TEST(SplitHeaderFields, KeepsContinuationLinesWithTheirFieldAndStopsAtTheBlankLine) {
  const std::string block =
      "Subject: a\r\n b\r\nX-Y : c\r\n\tdd\r\nno colon here\r\nLast:e\r\n\r\nBody: no\r\n";
  const std::vector<HeaderField> fields = split_header_fields(block);
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0].name, "Subject");
  EXPECT_EQ(fields[0].lines, "Subject: a\r\n b\r\n");
  EXPECT_EQ(fields[0].value, " a\r\n b");
  EXPECT_EQ(fields[1].name, "X-Y");
  EXPECT_EQ(fields[1].lines, "X-Y : c\r\n\tdd\r\n");
  EXPECT_EQ(fields[2].name, "");
  EXPECT_EQ(fields[2].lines, "no colon here\r\n");
  EXPECT_EQ(fields[3].name, "Last");
  EXPECT_EQ(fields[3].value, "e");
  EXPECT_EQ(unfold_header_value(fields[0].value), "a b");
  EXPECT_EQ(unfold_header_value(fields[1].value), "c\tdd");
}

TEST(DecodeHeaderWords, DecodesBAndQJoiningAdjacentWords) {
  EXPECT_EQ(decode_header_words("=?UTF-8?B?R3LDvMOfZQ==?="), "Grüße");
  EXPECT_EQ(decode_header_words("=?utf-8?q?Andr=C3=A9_M?= <a@b>"), "André M <a@b>");
  EXPECT_EQ(decode_header_words("=?UTF-8?Q?a?= =?UTF-8?Q?b?=  c"), "ab  c");
  // A character split across two words (broken, but sent by real mailers) survives.
  EXPECT_EQ(decode_header_words("=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?="), "é");
  EXPECT_EQ(decode_header_words("=?ISO-8859-1*fr?Q?=E9t=E9?="), "été");
  EXPECT_EQ(decode_header_words("=?iso-8859-15?q?=A4?="), "€");
  EXPECT_EQ(decode_header_words("=?windows-1252?q?=93x=94?="), "“x”");
}

TEST(DecodeHeaderWords, KeepsMalformedWordsAsWritten) {
  EXPECT_EQ(decode_header_words("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
  EXPECT_EQ(decode_header_words("=?UTF-8?Q?no end"), "=?UTF-8?Q?no end");
  EXPECT_EQ(decode_header_words("=?UTF-8?Q?sp ace?="), "=?UTF-8?Q?sp ace?=");
  EXPECT_EQ(decode_header_words("plain = ? text"), "plain = ? text");
}

TEST(EncodeHeaderWords, LeavesSafeTextAlone) {
  EXPECT_FALSE(needs_header_encoding("Plain subject\twith tab"));
  EXPECT_EQ(encode_header_words("Plain subject"), "Plain subject");
  EXPECT_TRUE(needs_header_encoding("a =?b"));
  EXPECT_TRUE(needs_header_encoding("bell\x07"));
  EXPECT_TRUE(needs_header_encoding("é"));
}

TEST(EncodeHeaderWords, SplitsIntoWordsOfAtMost75BytesOnCharacterBoundaries) {
  std::string subject;
  for (int i = 0; i < 6; ++i) subject += "Ünïcödé ";  // 72 bytes
  EXPECT_EQ(encode_header_words(subject),
            "=?UTF-8?B?w5xuw69jw7Zkw6kgw5xuw69jw7Zkw6kgw5xuw69jw7Zkw6kgw5xuw69jw7Zk?= "
            "=?UTF-8?B?w6kgw5xuw69jw7Zkw6kgw5xuw69jw7Zkw6kg?=");
  std::string euros = "a";
  for (int i = 0; i < 16; ++i) euros += "€";  // 49 bytes; byte 45 is inside a "€"
  const std::string encoded = encode_header_words(euros);
  EXPECT_EQ(encoded,
            "=?UTF-8?B?YeKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrA==?= "
            "=?UTF-8?B?4oKs4oKs?=");
  EXPECT_EQ(decode_header_words(encoded), euros);
  std::size_t word_begin = 0;
  while (word_begin < encoded.size()) {
    std::size_t end = encoded.find(' ', word_begin);
    if (end == std::string::npos) end = encoded.size();
    EXPECT_LE(end - word_begin, kMaxEncodedWordBytes);
    word_begin = end + 1;
  }
}

TEST(TransferEncodings, Base64BothWaysAndLenientDecoding) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(decode_base64_lenient("Zm9v\r\nYmFy"), "foobar");
  EXPECT_EQ(decode_base64_lenient("Zm8=junk"), "fo");
  EXPECT_EQ(decode_base64_lenient("Zm9vY"), "foo");  // a lone sixth bit group gives no byte
}

TEST(TransferEncodings, QuotedPrintableSoftBreaksAndLiteralEquals) {
  EXPECT_EQ(decode_quoted_printable("a=3Db=\r\nc=\nd"), "a=bcd");
  EXPECT_EQ(decode_quoted_printable("50% =ZZ off="), "50% =ZZ off=");
  EXPECT_EQ(decode_quoted_printable("a_b=5F", true), "a b_");
  EXPECT_EQ(decode_transfer_encoding("Zm9v", "BASE64"), "foo");
  EXPECT_EQ(decode_transfer_encoding("=41", "quoted-printable"), "A");
  EXPECT_EQ(decode_transfer_encoding("=41", "8bit"), "=41");
}

TEST(ToUtf8, ConvertsTheSingleByteCharsetsAndPassesTheRest) {
  EXPECT_EQ(to_utf8("caf\xE9", "ISO-8859-1"), "café");
  EXPECT_EQ(to_utf8("\x80\x81", "cp1252"), "€\xC2\x81");
  EXPECT_EQ(to_utf8("\xA4", "Latin-9"), "€");
  EXPECT_EQ(to_utf8("\xA4", "latin1"), "¤");
  EXPECT_EQ(to_utf8("caf\xE9", "x-unknown"), "caf\xE9");
  EXPECT_EQ(to_utf8("€", "utf-8"), "€");
}

}  // namespace
}  // namespace post::email
