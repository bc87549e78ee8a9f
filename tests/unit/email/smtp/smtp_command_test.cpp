#include "plugins/email/smtp/smtp_command.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "plugins/email/smtp/smtp_reply.h"
#include "plugins/email/smtp/smtp_sasl.h"

namespace post::email {
namespace {

TEST(ParseCommandLine, MatchesVerbsCaseInsensitivelyAndTrimsTheArgument) {
  SmtpCommand mail = parse_command_line("mAiL FROM:<a@b>  ");
  EXPECT_EQ(mail.verb, SmtpVerb::kMail);
  EXPECT_EQ(mail.argument, "FROM:<a@b>");
  EXPECT_EQ(parse_command_line("STARTTLS").verb, SmtpVerb::kStartTls);
  EXPECT_EQ(parse_command_line("quit").verb, SmtpVerb::kQuit);
  EXPECT_EQ(parse_command_line("QUIT").argument, "");
}

TEST(ParseCommandLine, NeedsASpaceAfterTheVerb) {
  EXPECT_EQ(parse_command_line("MAILFROM:<a@b>").verb, SmtpVerb::kUnknown);
  EXPECT_EQ(parse_command_line("QUIT\r").verb, SmtpVerb::kUnknown);
  EXPECT_EQ(parse_command_line("").verb, SmtpVerb::kUnknown);
  EXPECT_EQ(parse_command_line(" QUIT").verb, SmtpVerb::kUnknown);
}

TEST(ParsePathCommand, SplitsPathAndParameters) {
  auto parsed = parse_path_command("FROM:<a@b.c> SIZE=100  body=8BITMIME SMTPUTF8", "FROM:");
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed->path.mailbox(), "a@b.c");
  ASSERT_EQ(parsed->parameters.size(), 3u);
  EXPECT_EQ(parsed->parameters[0].keyword, "SIZE");
  EXPECT_EQ(parsed->parameters[0].value, "100");
  EXPECT_EQ(parsed->parameters[1].keyword, "BODY");
  EXPECT_EQ(parsed->parameters[2].keyword, "SMTPUTF8");
  EXPECT_FALSE(parsed->parameters[2].value.has_value());
}

TEST(ParsePathCommand, ToleratesASpaceAfterTheColon) {
  auto parsed = parse_path_command("to: <a@b.c>", "TO:");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->path.mailbox(), "a@b.c");
}

TEST(ParsePathCommand, RefusesMalformedArguments) {
  EXPECT_FALSE(parse_path_command("<a@b.c>", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:a@b.c", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:<a@b.c>SIZE=1", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:<a@b.c> =1", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:<a@b.c> SIZE=", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:<a@b.c> -X", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:<a@b.c> X=a=b", "FROM:").ok());
  EXPECT_FALSE(parse_path_command("FROM:<a@b.c> X=\x01", "FROM:").ok());
  std::string many = "FROM:<a@b.c>";
  for (std::size_t i = 0; i <= kMaxMailParameters; ++i) many += " X" + std::to_string(i);
  auto too_many = parse_path_command(many, "FROM:");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, SmtpErrc::kParameterSyntax);
}

SmtpResult<MailParameters> interpret(std::string_view argument) {
  auto parsed = parse_path_command(argument, "FROM:");
  EXPECT_TRUE(parsed.ok()) << argument;
  if (!parsed.ok()) return parsed.error();
  return interpret_mail_parameters(parsed->parameters);
}

TEST(InterpretMailParameters, ReadsSizeBodySmtputf8AndAuth) {
  auto params = interpret("FROM:<> SIZE=10485760 BODY=8bitmime SMTPUTF8 AUTH=a+2Bb@c");
  ASSERT_TRUE(params.ok()) << params.error().detail;
  EXPECT_EQ(params->size, 10485760u);
  EXPECT_EQ(params->body, BodyType::k8BitMime);
  EXPECT_TRUE(params->smtputf8);
  EXPECT_EQ(params->auth, "a+2Bb@c");
  EXPECT_EQ(interpret("FROM:<> BODY=7BIT")->body, BodyType::k7Bit);
  EXPECT_EQ(interpret("FROM:<> AUTH=<>")->auth, "<>");
}

TEST(InterpretMailParameters, ToleratesAnIdenticalRepeat) {
  // Python's smtplib adds SMTPUTF8 and BODY=8BITMIME to the ones its caller gave.
  auto params = interpret("FROM:<> SMTPUTF8 BODY=8BITMIME SMTPUTF8 BODY=8bitmime SIZE=9 SIZE=9");
  ASSERT_TRUE(params.ok()) << params.error().detail;
  EXPECT_TRUE(params->smtputf8);
  EXPECT_EQ(params->body, BodyType::k8BitMime);
  EXPECT_EQ(params->size, 9u);
}

TEST(InterpretMailParameters, SaturatesAHugeSize) {
  auto params = interpret("FROM:<> SIZE=99999999999999999999");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->size, std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(interpret("FROM:<> SIZE=999999999999999999999").ok());  // 21 digits
}

TEST(InterpretMailParameters, RefusesUnknownRepeatedAndMalformedParameters) {
  EXPECT_EQ(interpret("FROM:<> RET=FULL").error().code, SmtpErrc::kUnknownParameter);
  EXPECT_EQ(interpret("FROM:<> SIZE=1 size=2").error().code, SmtpErrc::kDuplicateParameter);
  EXPECT_EQ(interpret("FROM:<> BODY=7BIT BODY=8BITMIME").error().code,
            SmtpErrc::kDuplicateParameter);
  EXPECT_EQ(interpret("FROM:<> AUTH=<> AUTH=a@b").error().code, SmtpErrc::kDuplicateParameter);
  EXPECT_EQ(interpret("FROM:<> SIZE=12a").error().code, SmtpErrc::kBadParameterValue);
  EXPECT_EQ(interpret("FROM:<> SIZE").error().code, SmtpErrc::kBadParameterValue);
  EXPECT_EQ(interpret("FROM:<> BODY=BINARYMIME").error().code, SmtpErrc::kBadParameterValue);
  EXPECT_EQ(interpret("FROM:<> SMTPUTF8=yes").error().code, SmtpErrc::kBadParameterValue);
  EXPECT_EQ(interpret("FROM:<> AUTH=a+zz").error().code, SmtpErrc::kBadParameterValue);
  EXPECT_EQ(interpret("FROM:<> AUTH=a+2").error().code, SmtpErrc::kBadParameterValue);
}

TEST(Base64, RoundTripsAndAcceptsMissingPadding) {
  for (const std::string& text :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0user\0pw", 8)}) {
    auto decoded = decode_base64_strict(encode_base64(text));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(*decode_base64_strict("YWI"), "ab");
  EXPECT_EQ(*decode_base64_strict("YQ"), "a");
  EXPECT_EQ(encode_base64("Username:"), "VXNlcm5hbWU6");
}

TEST(Base64, RefusesMalformedInput) {
  for (const char* text :
       {"Y", "YWJj=", "YQ=", "Y===", "YW=J", "YW J", "YW\r\n", "YW*=", "=", "YWJjZA==="}) {
    EXPECT_FALSE(decode_base64_strict(text).has_value()) << text;
  }
}

TEST(PlainResponse, SplitsTheThreeFields) {
  auto plain = parse_plain_response(std::string("admin\0alice\0secret", 18));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->authzid, "admin");
  EXPECT_EQ(plain->authcid, "alice");
  EXPECT_EQ(plain->password, "secret");
  EXPECT_EQ(parse_plain_response(std::string("\0alice\0secret", 13))->authzid, "");
}

TEST(PlainResponse, RefusesTheWrongShape) {
  for (const std::string& text :
       {std::string("alice"), std::string("alice\0secret", 12), std::string("\0\0secret", 8),
        std::string("\0alice\0", 7), std::string("\0alice\0sec\0ret", 14),
        std::string("\0al\xffice\0secret", 14),
        std::string(1, '\0') + std::string(256, 'u') + '\0' + "pw"}) {
    EXPECT_FALSE(parse_plain_response(text).ok());
  }
}

TEST(SmtpReply, SanitisesTextSoNothingCanBeInjected) {
  std::string out;
  append_reply(out, {250, "2.0.0", "queued\r\n250 fake"});
  EXPECT_EQ(out, "250 2.0.0 queued??250 fake\r\n");
  out.clear();
  append_reply(out, {250, "4.0.0", "wrong class"});
  EXPECT_EQ(out, "250 wrong class\r\n");
  out.clear();
  append_reply(out, {250, "", std::string(1000, 'x')});
  EXPECT_EQ(out.size(), 4 + kMaxReplyTextBytes + 2);
}

TEST(SmtpReply, WritesMultiLineReplies) {
  std::string out;
  append_multiline_reply(out, 250, {"host", "SIZE 10", "PIPELINING"});
  EXPECT_EQ(out, "250-host\r\n250-SIZE 10\r\n250 PIPELINING\r\n");
}

TEST(SmtpVerdict, UsesOnlyOverridesOfTheRightClass) {
  VerdictDefaults defaults = {{250, "2.1.5", "Ok"}, {451, "4.3.0", "later"}, {550, "5.1.1", "no"}};
  SmtpVerdict verdict = SmtpVerdict::permanent_failure("no such user", "5.1.2");
  verdict.code = 551;
  SmtpReply reply = resolve_verdict(verdict, defaults);
  EXPECT_EQ(reply.code, 551);
  EXPECT_EQ(reply.enhanced_code, "5.1.2");
  EXPECT_EQ(reply.text, "no such user");
  verdict.code = 250;
  verdict.enhanced_code = "2.0.0";
  reply = resolve_verdict(verdict, defaults);
  EXPECT_EQ(reply.code, 550);
  EXPECT_EQ(reply.enhanced_code, "5.1.1");
  EXPECT_FALSE(is_valid_enhanced_code("5.1", 550));
  EXPECT_FALSE(is_valid_enhanced_code("5.1.1234", 550));
  EXPECT_FALSE(is_valid_enhanced_code("5.1.1.1", 550));
  EXPECT_TRUE(is_valid_enhanced_code("5.7.11", 538));
}

}  // namespace
}  // namespace post::email
