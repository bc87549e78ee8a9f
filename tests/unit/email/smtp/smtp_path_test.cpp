#include "plugins/email/smtp/smtp_path.h"

#include <gtest/gtest.h>

#include <string>

namespace post::email {
namespace {

SmtpPath parsed(std::string_view text) {
  auto path = parse_path(text);
  EXPECT_TRUE(path.ok()) << text << ": " << (path.ok() ? "" : path.error().detail);
  return path.ok() ? *path : SmtpPath{};
}

SmtpErrc error_of(std::string_view text) {
  auto path = parse_path(text);
  EXPECT_FALSE(path.ok()) << text << " was accepted";
  return path.ok() ? SmtpErrc{} : path.error().code;
}

TEST(ParsePath, ReadsAPlainMailbox) {
  SmtpPath path = parsed("<alice@example.org>");
  EXPECT_FALSE(path.null);
  EXPECT_EQ(path.local_part, "alice");
  EXPECT_EQ(path.domain, "example.org");
  EXPECT_EQ(path.mailbox(), "alice@example.org");
  EXPECT_FALSE(path.has_non_ascii());
}

TEST(ParsePath, ReadsTheNullPath) {
  SmtpPath path = parsed("<>");
  EXPECT_TRUE(path.null);
  EXPECT_EQ(path.mailbox(), "");
}

TEST(ParsePath, DecodesQuotedLocalPartsAndRequotesOnlyWhenNeeded) {
  EXPECT_EQ(parsed("<\"john.doe\"@example.org>").mailbox(), "john.doe@example.org");
  SmtpPath spaced = parsed("<\"john \\\"j\\\" doe\"@example.org>");
  EXPECT_EQ(spaced.local_part, "john \"j\" doe");
  EXPECT_EQ(spaced.mailbox(), "\"john \\\"j\\\" doe\"@example.org");
  EXPECT_EQ(parsed("<\"\"@example.org>").mailbox(), "\"\"@example.org");
  EXPECT_EQ(parsed("<\"a..b\"@x>").mailbox(), "\"a..b\"@x");
}

TEST(ParsePath, AcceptsEveryAtextCharacter) {
  EXPECT_EQ(parsed("<a!#$%&'*+-/=?^_`{|}~z@x.y>").local_part, "a!#$%&'*+-/=?^_`{|}~z");
}

TEST(ParsePath, IgnoresASourceRoute) {
  SmtpPath path = parsed("<@relay.one,@relay-two.example:bob@example.org>");
  EXPECT_EQ(path.mailbox(), "bob@example.org");
  EXPECT_EQ(error_of("<@relay.one bob@example.org>"), SmtpErrc::kPathSyntax);
  EXPECT_EQ(error_of("<@:bob@example.org>"), SmtpErrc::kDomainSyntax);
}

TEST(ParsePath, ReadsAddressLiterals) {
  EXPECT_EQ(parsed("<a@[192.0.2.1]>").domain, "[192.0.2.1]");
  EXPECT_EQ(parsed("<a@[IPv6:2001:db8::1]>").domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(parsed("<a@[IPv6:1:2:3:4:5:6:7:8]>").domain, "[IPv6:1:2:3:4:5:6:7:8]");
  EXPECT_EQ(parsed("<a@[IPv6:::ffff:192.0.2.1]>").domain, "[IPv6:::ffff:192.0.2.1]");
  EXPECT_EQ(parsed("<a@[IPv6:1:2:3:4:5:6:192.0.2.1]>").domain, "[IPv6:1:2:3:4:5:6:192.0.2.1]");
  EXPECT_EQ(parsed("<a@[x-tag:anything>goes]>").domain, "[x-tag:anything>goes]");
}

TEST(ParsePath, RefusesMalformedAddressLiterals) {
  for (const char* text :
       {"<a@[256.0.0.1]>", "<a@[1.2.3]>", "<a@[1.2.3.4.5]>", "<a@[1.2.3.]>", "<a@[0001.2.3.4]>",
        "<a@[IPv6:1:2:3:4:5:6:7]>", "<a@[IPv6:1::2::3]>", "<a@[IPv6:1:2:3:4:5:6:7::8]>",
        "<a@[IPv6:12345::1]>", "<a@[IPv6:g::1]>", "<a@[IPv6:1.2.3.4::]>", "<a@[:x]>",
        "<a@[tag-:x]>", "<a@[tag:]>", "<a@[]>", "<a@[1.2.3.4>", "<a@[a\\b]>"}) {
    EXPECT_EQ(error_of(text), SmtpErrc::kAddressLiteralSyntax) << text;
  }
}

TEST(ParsePath, RefusesBadDomains) {
  for (const char* text : {"<a@>", "<a@.example>", "<a@example.>", "<a@exa..mple>",
                           "<a@-example.org>", "<a@example-.org>", "<a@exa_mple.org>"}) {
    auto path = parse_path(text);
    EXPECT_FALSE(path.ok()) << text;
  }
  EXPECT_EQ(error_of(("<a@" + std::string(64, 'x') + ".org>")), SmtpErrc::kDomainSyntax);
  EXPECT_TRUE(parse_path("<a@" + std::string(63, 'x') + ".org>").ok());
}

TEST(ParsePath, RefusesBadLocalParts) {
  for (const char* text : {"<.a@x>", "<a.@x>", "<a..b@x>", "<@x>", "<a b@x>", "<\"unterminated@x>",
                           "<\"bad\\\x01\"@x>", "<\"tab\there\"@x>", "<a(comment)@x>"}) {
    EXPECT_FALSE(parse_path(text).ok()) << text;
  }
}

TEST(ParsePath, RefusesWhatIsNotAPath) {
  for (const char* text :
       {"", "<", ">", "alice@example.org", "<alice@example.org", "alice@example.org>", "<alice>",
        "<alice@example.org> ", " <a@x>", "<alice@example.org>>", "<<alice@example.org>>", "< >",
        "<alice@example.org\r\n>", "<a@b\0c>"}) {
    EXPECT_FALSE(parse_path(text).ok()) << text;
  }
}

TEST(ParsePath, EnforcesTheRfc5321SizeLimits) {
  EXPECT_TRUE(parse_path("<" + std::string(64, 'l') + "@x.org>").ok());
  EXPECT_EQ(error_of("<" + std::string(65, 'l') + "@x.org>"), SmtpErrc::kPathTooLong);
  EXPECT_EQ(error_of("<\"" + std::string(63, 'l') + "\"@x.org>"), SmtpErrc::kPathTooLong);
  std::string long_domain;
  for (int i = 0; i < 5; ++i) long_domain += std::string(50, 'd') + ".";
  long_domain += "org";  // 258 bytes
  EXPECT_EQ(error_of("<a@" + long_domain + ">"), SmtpErrc::kPathTooLong);
  std::string domain_250 = std::string(60, 'd') + "." + std::string(60, 'd') + "." +
                           std::string(60, 'd') + "." + std::string(60, 'd') + ".abcdefg";
  ASSERT_EQ(domain_250.size(), 251u);
  EXPECT_TRUE(parse_path("<a@" + domain_250 + ">").ok());
  EXPECT_EQ(error_of("<" + std::string(10, 'l') + "@" + domain_250 + ">"),
            SmtpErrc::kPathTooLong);  // 264 bytes in all
}

TEST(ParsePath, AcceptsUtf8AndFlagsIt) {
  SmtpPath path = parsed("<j\xc3\xb6rg@b\xc3\xbc\x63her.example>");
  EXPECT_TRUE(path.has_non_ascii());
  EXPECT_EQ(path.mailbox(), "j\xc3\xb6rg@b\xc3\xbc\x63her.example");
  EXPECT_TRUE(parsed("<\"\xe7\x94\xb0\xe4\xb8\xad \xe5\xa4\xaa\"@x.jp>").has_non_ascii());
}

TEST(ParsePath, RefusesMalformedUtf8) {
  EXPECT_EQ(error_of("<j\xc3@x.org>"), SmtpErrc::kBadUtf8);              // truncated
  EXPECT_EQ(error_of("<a\xc0\xafz@x.org>"), SmtpErrc::kBadUtf8);         // overlong "/"
  EXPECT_EQ(error_of("<a@\xed\xa0\x80.org>"), SmtpErrc::kBadUtf8);       // surrogate
  EXPECT_EQ(error_of("<a@x\xf4\x90\x80\x80.org>"), SmtpErrc::kBadUtf8);  // > U+10FFFF
}

TEST(ParsePath, ReadsTheBarePostmasterRecipient) {
  SmtpPath path = parsed("<PostMaster>");
  EXPECT_TRUE(path.is_bare_postmaster());
  EXPECT_EQ(path.mailbox(), "PostMaster");
  EXPECT_FALSE(parsed("<postmaster@x.org>").is_bare_postmaster());
  EXPECT_FALSE(parse_path("<\"postmaster\">").ok());
}

TEST(ParsePathPrefix, StopsAfterThePathAndReportsItsLength) {
  auto parsed_prefix = parse_path_prefix("<a@[x:y>z]> SIZE=10");
  ASSERT_TRUE(parsed_prefix.ok());
  EXPECT_EQ(parsed_prefix->length, 11u);
  EXPECT_EQ(parsed_prefix->path.domain, "[x:y>z]");
  auto quoted = parse_path_prefix("<\"a> b\"@x> BODY=8BITMIME");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->path.local_part, "a> b");
  EXPECT_EQ(quoted->length, 10u);
}

}  // namespace
}  // namespace post::email
