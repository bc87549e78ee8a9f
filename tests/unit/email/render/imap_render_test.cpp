// Tests of ENVELOPE, BODY/BODYSTRUCTURE and BODY[section]<partial> (plugins/email/render).
// Expected values are what RFC 3501's grammar and examples give and what Dovecot sends for
// the same messages (lower-case types as the layout keeps them, no space between the
// addresses of a list, all four extension fields written).
#include "plugins/email/render/imap_render.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/email/imap/imap_command.h"
#include "tests/unit/email/render/render_samples.h"

namespace post::email {
namespace {

using render_samples::crlf;
using render_samples::kMixed;
using render_samples::kRawUtf8;
using render_samples::kRfc3501;
using render_samples::Stored;

// The fetch item of "FETCH 1 <attribute>", as the parser builds it.
FetchItem item_of(std::string_view attribute) {
  auto command = parse_imap_command("f FETCH 1 " + std::string(attribute));
  EXPECT_TRUE(command.ok()) << attribute;
  if (!command.ok()) return {};
  return command->args<FetchArguments>().items.at(0);
}

BodySection section_of(std::string_view spec) {
  return item_of("BODY.PEEK[" + std::string(spec) + "]").section;
}

// BODY[spec] of `stored`, or "<error>" when rendering failed.
std::string fetch(const Stored& stored, std::string_view spec) {
  RenderResult<std::string> out = render_section(stored.layout(), stored.bodies, section_of(spec));
  return out.ok() ? *out : std::string("<error>");
}

constexpr std::string_view kTerry = R"(("Terry Gray" NIL "gray" "cac.washington.edu"))";
constexpr std::string_view kMixedFrom =
    R"((("=?UTF-8?B?QW5kcsOpIE3DvGxsZXI=?=" NIL "andre" "example.org")))";
constexpr std::string_view kEmbeddedEnvelope =
    R"(("Sun, 2 Feb 2025 10:00:00 +0000" "Original note" (("Dave" NIL "dave" "example.com")))"
    R"( (("Dave" NIL "dave" "example.com")) (("Dave" NIL "dave" "example.com")))"
    R"( ((NIL NIL "andre" "example.org")) NIL NIL NIL "<orig@example.com>"))";

// ---- ENVELOPE ----

TEST(FormatEnvelope, MatchesTheExampleOfRfc3501) {
  const Stored stored(kRfc3501);
  // RFC 3501 7.4.2's example, without the space it shows between the two cc addresses:
  // the grammar (env-cc = "(" 1*address ")") has none, and Dovecot writes none.
  const std::string terry = "(" + std::string(kTerry) + ")";
  EXPECT_EQ(
      format_envelope(stored.layout().envelope),
      R"e(("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" )e" +
          terry + " " + terry + " " + terry +
          R"( ((NIL NIL "imap" "cac.washington.edu")))"
          R"( ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")))"
          R"( NIL NIL "<B27397-0100000@cac.washington.edu>"))");
}

TEST(FormatEnvelope, NonAsciiNamesAndSubjectGoAsUtf8EncodedWords) {
  const Stored stored(kMixed);
  const std::string from(kMixedFrom);
  EXPECT_EQ(format_envelope(stored.layout().envelope),
            R"(("Mon, 3 Feb 2025 23:30:00 -0800" "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=" )" + from +
                " " + from + " " + from +
                R"( (("Bob" NIL "bob" "example.com")(NIL NIL "carol" "example.net")))"
                R"( NIL NIL NIL "<mixed-1@example.org>"))");
}

TEST(FormatEnvelope, RawUtf8SubjectIsEncodedAndMissingFieldsAreNil) {
  const Stored stored(kRawUtf8);
  EXPECT_EQ(format_envelope(stored.layout().envelope),
            R"((NIL "=?UTF-8?B?R3LDvMOfZQ==?=" ((NIL NIL "zoe" "example.com")))"
            R"( ((NIL NIL "zoe" "example.com")) ((NIL NIL "zoe" "example.com")))"
            R"( ((NIL NIL "bob" "example.com")) NIL NIL NIL NIL))");
}

TEST(FormatEnvelope, SenderIsKeptQuotesAreEscapedAndAHostlessAddressHasAnEmptyHost) {
  Envelope e;
  e.from = {{"Ann \"The Boss\"", "ann@example.com"}};
  e.sender = {{"", "list-bounces@example.org"}};
  e.to = {{"", "localonly"}};
  e.subject = "is =?x?= literal";  // 7-bit, but a client would decode it: encoded
  e.in_reply_to = "<parent@example.com>";
  EXPECT_EQ(format_envelope(e),
            R"((NIL "=?UTF-8?B?aXMgPT94Pz0gbGl0ZXJhbA==?=")"
            R"( (("Ann \"The Boss\"" NIL "ann" "example.com")))"
            R"( ((NIL NIL "list-bounces" "example.org")))"
            R"( (("Ann \"The Boss\"" NIL "ann" "example.com")) ((NIL NIL "localonly" "")))"
            R"( NIL NIL "<parent@example.com>" NIL))");
}

TEST(FormatEnvelope, AnEmptyEnvelopeIsAllNil) {
  EXPECT_EQ(format_envelope(Envelope{}), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

// ---- BODY and BODYSTRUCTURE ----

TEST(FormatBodyStructure, SinglePartTextHasSizeAndLines) {
  const Stored stored(kRfc3501);
  EXPECT_EQ(format_body_structure(stored.layout().root, false),
            R"(("text" "plain" ("CHARSET" "US-ASCII") NIL NIL "7bit" 55 1))");
  EXPECT_EQ(format_body_structure(stored.layout().root, true),
            R"(("text" "plain" ("CHARSET" "US-ASCII") NIL NIL "7bit" 55 1 NIL NIL NIL NIL))");
}

TEST(FormatBodyStructure, TextWithoutContentTypeGetsTheUsAsciiDefault) {
  const Stored stored(kRawUtf8);
  EXPECT_EQ(format_body_structure(stored.layout().root, true),
            R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL))");
}

TEST(FormatBodyStructure, NestedMultipartsAttachmentAndEmbeddedMessage) {
  const Stored stored(kMixed);
  const std::string embedded(kEmbeddedEnvelope);
  EXPECT_EQ(format_body_structure(stored.layout().root, false),
            R"((("text" "plain" ("charset" "iso-8859-1") NIL NIL "base64" 44 0))"
            R"((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 44 1))"
            R"(("text" "html" ("charset" "utf-8") NIL NIL "7bit" 25 0) "alternative"))"
            R"(("application" "pdf" ("name" "report.pdf") NIL NIL "base64" 32))"
            R"(("message" "rfc822" NIL NIL "forwarded note" "7bit" 168 )" +
                embedded +
                R"( ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 18 0) 6))"
                R"( "mixed"))");
  EXPECT_EQ(
      format_body_structure(stored.layout().root, true),
      R"((("text" "plain" ("charset" "iso-8859-1") NIL NIL "base64" 44 0 NIL NIL NIL NIL))"
      R"((("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 44 1 NIL NIL NIL NIL))"
      R"(("text" "html" ("charset" "utf-8") NIL NIL "7bit" 25 0 NIL NIL NIL NIL))"
      R"( "alternative" ("boundary" "inner") NIL NIL NIL))"
      R"(("application" "pdf" ("name" "report.pdf") NIL NIL "base64" 32 NIL)"
      R"( ("attachment" ("filename" "report.pdf")) NIL NIL))"
      R"(("message" "rfc822" NIL NIL "forwarded note" "7bit" 168 )" +
          embedded +
          R"( ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 18 0 NIL NIL NIL NIL))"
          R"( 6 NIL NIL NIL NIL) "mixed" ("boundary" "outer") NIL NIL NIL))");
}

TEST(FormatBodyStructure, ExtensionFieldsOfALeaf) {
  MimePart part;
  part.type = "image";
  part.subtype = "png";
  part.parameters = {{"name", "Bild für dich.png"}};
  part.id = "img1@example.com";
  part.description = "a picture";
  part.encoding = "base64";
  part.size = 1024;
  part.md5 = "Q2hlY2sgSW50ZWdyaXR5IQ==";
  part.disposition = "inline";
  part.language = "en, de-CH";
  part.location = "http://example.com/a.png";
  EXPECT_EQ(format_body_structure(part, true),
            R"(("image" "png" ("name" "=?UTF-8?B?QmlsZCBmw7xyIGRpY2gucG5n?=") "<img1@example.com>")"
            R"( "a picture" "base64" 1024 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" NIL) ("en" "de-CH"))"
            R"( "http://example.com/a.png"))");
}

// ---- BODY[section] ----

TEST(RenderSection, WholeMessageHeaderAndTextOfAMultipart) {
  const Stored stored(kMixed);
  const std::string message = crlf(kMixed);
  const std::size_t body = message.find("\r\n\r\n") + 4;
  EXPECT_EQ(fetch(stored, ""), message);
  EXPECT_EQ(fetch(stored, "HEADER"), message.substr(0, body));
  EXPECT_EQ(fetch(stored, "TEXT"), message.substr(body));
  EXPECT_EQ(fetch(stored, "TEXT").size(), 929u);
}

TEST(RenderSection, PartNumbersWalkNestedMultiparts) {
  const Stored stored(kMixed);
  EXPECT_EQ(fetch(stored, "1"), "Q2Fm6SBhdSBsYWl0LCBzZWUgeW91IGF0IG5vb24uDQo=");
  EXPECT_EQ(fetch(stored, "2"),
            "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Gr=C3=BC=C3=9Fe aus K=C3=B6ln, soft=\r\n break\r\n"
            "--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            "<p>Hello <b>world</b></p>\r\n--inner--\r\n");
  EXPECT_EQ(fetch(stored, "2.1"), "Gr=C3=BC=C3=9Fe aus K=C3=B6ln, soft=\r\n break");
  EXPECT_EQ(fetch(stored, "2.2"), "<p>Hello <b>world</b></p>");
  EXPECT_EQ(fetch(stored, "3"), "JVBERi0xLjQKc2VjcmV0IG5lZWRsZQo=");
}

TEST(RenderSection, MimeIsThePartsOwnHeaderBlock) {
  const Stored stored(kMixed);
  EXPECT_EQ(fetch(stored, "2.MIME"),
            "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n");
  EXPECT_EQ(fetch(stored, "2.1.MIME"),
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
  EXPECT_EQ(fetch(stored, "4.MIME"),
            "Content-Type: message/rfc822\r\nContent-Description: forwarded note\r\n\r\n");
}

TEST(RenderSection, EmbeddedMessageSectionsGoInsideIt) {
  const Stored stored(kMixed);
  const std::string header =
      "From: Dave <dave@example.com>\r\nTo: andre@example.org\r\nSubject: Original note\r\n"
      "Date: Sun, 2 Feb 2025 10:00:00 +0000\r\nMessage-ID: <orig@example.com>\r\n\r\n";
  EXPECT_EQ(fetch(stored, "4"), header + "Embedded body line");
  EXPECT_EQ(fetch(stored, "4.HEADER"), header);
  EXPECT_EQ(fetch(stored, "4.TEXT"), "Embedded body line");
  EXPECT_EQ(fetch(stored, "4.1"), "Embedded body line");
  EXPECT_EQ(fetch(stored, "4.1.MIME"), header);
  EXPECT_EQ(fetch(stored, "4.HEADER.FIELDS (SUBJECT)"), "Subject: Original note\r\n\r\n");
  EXPECT_EQ(fetch(stored, "4.HEADER.FIELDS.NOT (from to subject date)"),
            "Message-ID: <orig@example.com>\r\n\r\n");
}

TEST(RenderSection, MissingPartsAndHeaderSectionsOfNonMessagePartsAreEmpty) {
  const Stored stored(kMixed);
  for (const char* spec :
       {"5", "2.3", "1.1", "3.HEADER", "3.TEXT", "2.HEADER.FIELDS (A)", "4.2", "4.1.1", "5.MIME"}) {
    EXPECT_EQ(fetch(stored, spec), "") << spec;
  }
}

TEST(RenderSection, HeaderFieldsKeepMessageOrderAndFoldedLines) {
  const Stored stored(kMixed);
  EXPECT_EQ(fetch(stored, "HEADER.FIELDS (SUBJECT FROM)"),
            "From: =?UTF-8?Q?Andr=C3=A9_M=C3=BCller?= <andre@example.org>\r\n"
            "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n\r\n");
  EXPECT_EQ(fetch(stored, "HEADER.FIELDS (x-tags RECEIVED)"),
            "Received: from mx.example.org by mail.example.com;\r\n"
            " Mon, 3 Feb 2025 23:31:00 -0800\r\n"
            "X-Tags: alpha,\r\n\tbeta\r\n\r\n");
  EXPECT_EQ(fetch(stored, "HEADER.FIELDS (X-NOT-THERE)"), "\r\n");
}

TEST(RenderSection, HeaderFieldsNotDropsTheNamedFieldsWithTheirContinuations) {
  const Stored stored(kMixed);
  EXPECT_EQ(fetch(stored, "HEADER.FIELDS.NOT (Received X-Tags MIME-Version Content-Type)"),
            "From: =?UTF-8?Q?Andr=C3=A9_M=C3=BCller?= <andre@example.org>\r\n"
            "To: Bob <bob@example.com>, carol@example.net\r\n"
            "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
            "Date: Mon, 3 Feb 2025 23:30:00 -0800\r\n"
            "Message-ID: <mixed-1@example.org>\r\n\r\n");
}

TEST(RenderSection, ASinglePartMessageHasOnlyPartOne) {
  const Stored stored(kRfc3501);
  const std::string message = crlf(kRfc3501);
  const std::string body = "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
  EXPECT_EQ(fetch(stored, "1"), body);
  EXPECT_EQ(fetch(stored, "TEXT"), body);
  EXPECT_EQ(fetch(stored, "1.MIME"), message.substr(0, message.size() - body.size()));
  EXPECT_EQ(fetch(stored, "2"), "");
  EXPECT_EQ(fetch(stored, "1.1"), "");
  EXPECT_EQ(fetch(stored, "1.HEADER"), "");
}

TEST(RenderSection, HeaderSectionsNeedNoBodies) {
  const Stored stored(kMixed);
  const std::vector<std::string_view> none;
  for (const char* spec : {"HEADER", "HEADER.FIELDS (SUBJECT)", "HEADER.FIELDS.NOT (SUBJECT)",
                           "2.MIME", "4.HEADER", "4.HEADER.FIELDS (FROM)"}) {
    const BodySection section = section_of(spec);
    EXPECT_FALSE(section_needs_bodies(section)) << spec;
    RenderResult<std::string> out = render_section(stored.layout(), none, section);
    ASSERT_TRUE(out.ok()) << spec;
    EXPECT_EQ(*out, fetch(stored, spec)) << spec;
  }
  for (const char* spec : {"", "TEXT", "1", "2.1", "4", "4.TEXT"}) {
    const BodySection section = section_of(spec);
    EXPECT_TRUE(section_needs_bodies(section)) << spec;
    RenderResult<std::string> out = render_section(stored.layout(), none, section);
    ASSERT_FALSE(out.ok()) << spec;
    EXPECT_EQ(out.error().code, MimeErrc::kLayoutMismatch) << spec;
  }
}

TEST(RenderSection, TopHeaderSectionsAreServedFromTheHeaderBlockAlone) {
  const Stored stored(kMixed);
  const std::string& header = stored.layout().header();
  for (const char* spec : {"HEADER", "HEADER.FIELDS (SUBJECT FROM)", "HEADER.FIELDS.NOT (TO)"}) {
    const BodySection section = section_of(spec);
    EXPECT_TRUE(section_is_top_header(section)) << spec;
    EXPECT_EQ(header_only_section(header, section), fetch(stored, spec)) << spec;
  }
  for (const char* spec : {"", "TEXT", "1", "2.MIME", "4.HEADER"}) {
    EXPECT_FALSE(section_is_top_header(section_of(spec))) << spec;
    EXPECT_EQ(header_only_section(header, section_of(spec)), "") << spec;
  }
}

TEST(RenderSection, HeaderOnlyMessageFieldsStillEndTheirLines) {
  EXPECT_EQ(
      filter_header_fields("Subject: a\r\nX-Last: b", std::vector<std::string>{"x-last"}, false),
      "X-Last: b\r\n\r\n");
  EXPECT_EQ(filter_header_fields("", std::vector<std::string>{"x"}, true), "\r\n");
}

// ---- partial ----

TEST(ApplyPartial, CutsOriginAndCountAndIsEmptyPastTheEnd) {
  const Stored stored(kRfc3501);
  const std::string whole = fetch(stored, "");
  ASSERT_EQ(whole.size(), 397u);
  EXPECT_EQ(apply_partial(whole, item_of("BODY[]<0.4>").partial), "Date");
  EXPECT_EQ(apply_partial(whole, item_of("BODY[]<390.100>").partial), "rrow?\r\n");
  EXPECT_EQ(apply_partial(whole, item_of("BODY[]<396.1>").partial), "\n");
  EXPECT_EQ(apply_partial(whole, item_of("BODY[]<397.1>").partial), "");
  EXPECT_EQ(apply_partial(whole, item_of("BODY[]<4000000000.10>").partial), "");
  EXPECT_EQ(apply_partial(whole, item_of("BODY[]").partial), whole);
  EXPECT_EQ(apply_partial(fetch(stored, "HEADER.FIELDS (SUBJECT)"),
                          item_of("BODY[HEADER.FIELDS (SUBJECT)]<9.4>").partial),
            "IMAP");
}

}  // namespace
}  // namespace post::email
