// Tests of decompose() and reassemble() (plugins/email/mime).
#include "plugins/email/mime/mime_decompose.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/mime/gmime_runtime.h"
#include "tests/unit/email/mime/mime_samples.h"

namespace post::email {
namespace {

std::string crlf(std::string_view text) {
  return normalise_line_endings(text);
}

DecomposedMessage decompose_ok(std::string_view message) {
  MimeResult<DecomposedMessage> result = decompose(message);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().detail);
  return result.ok() ? std::move(result).value() : DecomposedMessage{};
}

std::string reassembled(const DecomposedMessage& d) {
  MimeResult<std::string> out = reassemble(d.layout, std::span<const std::string>(d.bodies));
  EXPECT_TRUE(out.ok());
  return out.ok() ? *out : std::string();
}

std::vector<std::string_view> views(const std::vector<std::string>& bodies) {
  return {bodies.begin(), bodies.end()};
}

struct Sample {
  const char* name;
  std::string_view text;
};

class RoundTrip : public ::testing::TestWithParam<Sample> {};

TEST_P(RoundTrip, CrlfMessageComesBackByteForByteAsMime) {
  const std::string message = crlf(GetParam().text);
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_TRUE(d.layout.mime);
  EXPECT_EQ(d.layout.size, message.size());
  EXPECT_EQ(d.layout.leaf_count, d.bodies.size());
  EXPECT_EQ(reassembled(d), message);
}

TEST_P(RoundTrip, BareLfMessageComesBackNormalisedToCrlf) {
  const std::string_view message = GetParam().text;
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_TRUE(d.layout.mime);
  EXPECT_EQ(reassembled(d), crlf(message));
  EXPECT_EQ(d.layout.size, crlf(message).size());
}

TEST_P(RoundTrip, TheLayoutAloneHoldsNoLeafBody) {
  const DecomposedMessage d = decompose_ok(crlf(GetParam().text));
  std::size_t body_bytes = 0;
  for (const std::string& body : d.bodies) body_bytes += body.size();
  EXPECT_EQ(reassembled(d).size(), d.layout.size);
  EXPECT_LE(body_bytes, d.layout.size);
}

INSTANTIATE_TEST_SUITE_P(
    Samples, RoundTrip,
    ::testing::Values(Sample{"PlainText", samples::kPlainText},
                      Sample{"Alternative", samples::kAlternative},
                      Sample{"MixedWithAttachment", samples::kMixedWithAttachment},
                      Sample{"ForwardedAttachment", samples::kForwardedAttachment},
                      Sample{"NestedMessage", samples::kNestedMessage},
                      Sample{"InternationalHeaders", samples::kInternationalHeaders}),
    [](const ::testing::TestParamInfo<Sample>& sample) { return std::string(sample.param.name); });

TEST(Decompose, PlainTextIsOneLeafWithTheHeaderBlockKeptExactly) {
  const std::string message = crlf(samples::kPlainText);
  const DecomposedMessage d = decompose_ok(message);
  const MimePart& root = d.layout.root;
  EXPECT_EQ(root.kind, MimePartKind::kLeaf);
  EXPECT_EQ(root.type, "text");
  EXPECT_EQ(root.subtype, "plain");
  EXPECT_EQ(root.encoding, "7bit");
  const std::size_t blank = message.find("\r\n\r\n") + 4;
  EXPECT_EQ(d.layout.header(), message.substr(0, blank));
  ASSERT_EQ(d.bodies.size(), 1u);
  EXPECT_EQ(d.bodies[0], message.substr(blank));
  EXPECT_EQ(root.body_size, d.bodies[0].size());
  EXPECT_EQ(root.size, d.bodies[0].size());
  EXPECT_EQ(root.lines, 4u);
}

TEST(Decompose, EnvelopeIsTheDecodedHeaderSummary) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kAlternative));
  const Envelope& e = d.layout.envelope;
  ASSERT_EQ(e.from.size(), 1u);
  EXPECT_EQ(e.from[0], (MailAddress{"Carol", "carol@example.com"}));
  ASSERT_EQ(e.to.size(), 2u);
  EXPECT_EQ(e.to[0], (MailAddress{"Dave", "dave@example.com"}));
  EXPECT_EQ(e.to[1], (MailAddress{"", "erin@example.com"}));
  ASSERT_EQ(e.cc.size(), 1u);
  EXPECT_TRUE(e.bcc.empty());
  EXPECT_EQ(e.subject, "Agenda");
  EXPECT_EQ(e.date, "Wed, 25 Nov 2026 08:00:00 +0000");
  ASSERT_TRUE(e.date_unix.has_value());
  EXPECT_EQ(*e.date_unix, 1795593600);
  EXPECT_EQ(e.message_id, "agenda@example.com");
}

TEST(Decompose, Rfc2047AndUtf8HeadersAreDecodedToUtf8) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kInternationalHeaders));
  const Envelope& e = d.layout.envelope;
  ASSERT_EQ(e.from.size(), 1u);
  EXPECT_EQ(e.from[0].name, "Andr\xC3\xA9 M\xC3\xBCller");
  ASSERT_EQ(e.to.size(), 2u);
  EXPECT_EQ(e.to[0].name, "J\xC3\xB6rg");
  EXPECT_EQ(e.to[1].name, "Zo\xC3\xAB \xC3\x9Cnal");
  EXPECT_EQ(e.subject,
            "Gr\xC3\xBC\xC3\x9F"
            "e aus M\xC3\xBCnchen");
  EXPECT_EQ(e.in_reply_to, "<earlier@example.de>");
  EXPECT_EQ(d.layout.root.encoding, "8bit");
}

TEST(Decompose, AlternativeKeepsPreambleDelimitersAndEpilogue) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kAlternative));
  const MimePart& root = d.layout.root;
  ASSERT_EQ(root.kind, MimePartKind::kMultipart);
  EXPECT_EQ(root.subtype, "alternative");
  EXPECT_EQ(root.boundary, "alt-123");
  ASSERT_EQ(root.children.size(), 2u);
  ASSERT_EQ(root.glue.size(), 3u);
  EXPECT_EQ(root.glue[0], "This is a multi-part message in MIME format.\r\n--alt-123\r\n");
  EXPECT_EQ(root.glue[1], "\r\n--alt-123\r\n");
  EXPECT_EQ(root.glue[2], "\r\n--alt-123--\r\nepilogue line\r\n");
  const MimePart& plain = root.children[0];
  EXPECT_EQ(plain.encoding, "quoted-printable");
  ASSERT_EQ(plain.parameters.size(), 1u);
  EXPECT_EQ(plain.parameters[0], (MimeParameter{"charset", "utf-8"}));
  // The body is still transfer-encoded, and the CRLF before the delimiter is not part of it.
  EXPECT_EQ(d.bodies[plain.body_index], "1. Budget =E2=82=AC\r\n2. Hiring");
  EXPECT_EQ(plain.lines, 1u);
  EXPECT_EQ(plain.header,
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
  EXPECT_EQ(root.children[1].subtype, "html");
}

TEST(Decompose, AttachmentFactsAndEncodedBody) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kMixedWithAttachment));
  const MimePart& root = d.layout.root;
  ASSERT_EQ(root.kind, MimePartKind::kMultipart);
  EXPECT_EQ(root.subtype, "mixed");
  ASSERT_EQ(root.children.size(), 2u);
  const MimePart& pdf = root.children[1];
  EXPECT_EQ(pdf.type, "application");
  EXPECT_EQ(pdf.subtype, "pdf");
  EXPECT_EQ(pdf.encoding, "base64");
  EXPECT_EQ(pdf.disposition, "attachment");
  ASSERT_EQ(pdf.disposition_parameters.size(), 1u);
  EXPECT_EQ(pdf.disposition_parameters[0], (MimeParameter{"filename", "report.pdf"}));
  EXPECT_EQ(pdf.description, "Quarterly report");
  EXPECT_EQ(pdf.id, "pdf-1@example.org");
  EXPECT_EQ(d.bodies[pdf.body_index], crlf(samples::kAttachmentBase64));
  EXPECT_EQ(pdf.size, pdf.body_size);
}

TEST(Decompose, LanguageLocationMd5AndEncodedParametersAreReported) {
  const DecomposedMessage d = decompose_ok(
      crlf("From: a@example.org\nContent-Type: multipart/mixed; boundary=s\n\n"
           "--s\nContent-Type: text/plain; charset=us-ascii\nContent-Language: en, de\n"
           "Content-Location: http://example.org/notes.txt\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
           "\nnotes\n"
           "--s\nContent-Type: image/png; name*=utf-8''%E2%82%AC.png\n"
           "Content-Disposition: inline; filename*0=\"a\"; filename*1=\"b.png\"\n\niVBORw0KGgo\n"
           "--s--\n"));
  ASSERT_TRUE(d.layout.mime);
  ASSERT_EQ(d.layout.root.children.size(), 2u);
  const MimePart& notes = d.layout.root.children[0];
  EXPECT_EQ(notes.language, "en, de");
  EXPECT_EQ(notes.location, "http://example.org/notes.txt");
  EXPECT_EQ(notes.md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
  const MimePart& image = d.layout.root.children[1];
  ASSERT_EQ(image.parameters.size(), 1u);
  EXPECT_EQ(image.parameters[0], (MimeParameter{"name", "\xE2\x82\xAC.png"}));
  EXPECT_EQ(image.disposition, "inline");
  ASSERT_EQ(image.disposition_parameters.size(), 1u);
  EXPECT_EQ(image.disposition_parameters[0], (MimeParameter{"filename", "ab.png"}));
  EXPECT_EQ(image.lines, 0u);  // lines are counted for text parts only
}

TEST(Decompose, TheSameAttachmentInTwoMessagesIsTheSameBodyBlob) {
  const DecomposedMessage a = decompose_ok(crlf(samples::kMixedWithAttachment));
  const DecomposedMessage b = decompose_ok(crlf(samples::kForwardedAttachment));
  ASSERT_EQ(a.bodies.size(), 2u);
  ASSERT_EQ(b.bodies.size(), 2u);
  EXPECT_EQ(a.bodies[1], b.bodies[1]);
  EXPECT_NE(a.layout.root.children[1].header, b.layout.root.children[1].header);
}

TEST(Decompose, NestedMessageCarriesItsOwnLayoutAndEnvelope) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kNestedMessage));
  const MimePart& root = d.layout.root;
  ASSERT_EQ(root.children.size(), 2u);
  const MimePart& forwarded = root.children[1];
  ASSERT_EQ(forwarded.kind, MimePartKind::kMessage);
  EXPECT_EQ(forwarded.type, "message");
  EXPECT_EQ(forwarded.subtype, "rfc822");
  EXPECT_EQ(forwarded.disposition, "inline");
  ASSERT_TRUE(forwarded.embedded_envelope.has_value());
  EXPECT_EQ(forwarded.embedded_envelope->subject, "Agenda");
  EXPECT_EQ(forwarded.embedded_envelope->message_id, "inner@example.com");
  ASSERT_EQ(forwarded.children.size(), 1u);
  const MimePart& inner = forwarded.children[0];
  ASSERT_EQ(inner.kind, MimePartKind::kMultipart);
  EXPECT_EQ(inner.subtype, "alternative");
  EXPECT_EQ(inner.header.substr(0, 6), "From: ");
  ASSERT_EQ(inner.children.size(), 2u);
  EXPECT_EQ(d.bodies[inner.children[0].body_index], "Budget");
  EXPECT_EQ(d.layout.leaf_count, 3u);
  EXPECT_GT(forwarded.lines, 0u);

  // BODY[2] of the outer message is the whole embedded message, header included.
  const std::vector<std::string_view> bodies = views(d.bodies);
  MimeResult<std::string> content = render_content(forwarded, bodies);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->substr(0, 6), "From: ");
  EXPECT_EQ(content->size(), forwarded.size);
  EXPECT_NE(content->find("--inner--\r\n"), std::string::npos);
  EXPECT_EQ(content->substr(content->size() - 2), "\r\n");  // the blank line before --outer--
}

TEST(Decompose, RenderPartGivesMimeHeaderPlusContent) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kMixedWithAttachment));
  const MimePart& pdf = d.layout.root.children[1];
  const std::vector<std::string_view> bodies = views(d.bodies);
  MimeResult<std::string> part = render_part(pdf, bodies);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(*part, pdf.header + d.bodies[pdf.body_index]);
}

TEST(Decompose, HeaderOnlyMessageIsAccepted) {
  const std::string message = "From: a@example.org\r\nSubject: nothing\r\n";
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_EQ(reassembled(d), message);
}

TEST(Decompose, HeaderlessBodyPartRoundTrips) {
  const std::string message = crlf(
      "From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n"
      "--b\n\nno headers here\n--b\nContent-Type: text/plain\n\nsecond\n--b--\n");
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_TRUE(d.layout.mime);
  EXPECT_EQ(reassembled(d), message);
}

TEST(Decompose, MalformedMimeIsStillAcceptedAndRoundTrips) {
  const std::vector<std::string> messages = {
      // boundary never appears
      crlf("From: a@x\nContent-Type: multipart/mixed; boundary=zzz\n\nno parts at all\n"),
      // multipart without a boundary parameter
      crlf("From: a@x\nContent-Type: multipart/mixed\n\n--a\n\nx\n--a--\n"),
      // no close delimiter, truncated part
      crlf("From: a@x\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: "
           "text/plain\n\ntruncated"),
      // message/rfc822 with an empty body
      crlf("From: a@x\nContent-Type: message/rfc822\n\n"),
      // garbage content type and encoding
      crlf("From: a@x\nContent-Type: ///;;;===\nContent-Transfer-Encoding: rot13\n\nhello\n"),
      // header continuation lines, a NUL byte and 8-bit junk
      std::string("From: a@x\r\n\tfolded\r\nX-Junk: \xff\xfe\r\n\r\nbody\0with nul\r\n", 43),
  };
  for (const std::string& message : messages) {
    SCOPED_TRACE(message);
    const DecomposedMessage d = decompose_ok(message);
    EXPECT_EQ(reassembled(d), message);
  }
}

// Found by mime_fuzz: asking GMime for the boundary of a multipart that has none made it
// invent one and re-encode a hostile Content-Type parameter list into a 2 GiB string.
TEST(Decompose, MultipartWithoutBoundaryAndHostileParametersStaysSmall) {
  std::ifstream file(std::string(POST_MIME_TEST_DATA) +
                         "/regress/multipart_without_boundary_hostile_parameters.eml",
                     std::ios::binary);
  ASSERT_TRUE(file.good());
  std::stringstream content;
  content << file.rdbuf();
  const std::string message = content.str();
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_EQ(reassembled(d), crlf(message));
}

TEST(Decompose, RefusesInputThatIsNotAnRfc5322Message) {
  for (std::string_view input :
       {std::string_view(""), std::string_view("hello world\r\n"),
        std::string_view("\r\nFrom: a@x\r\n"), std::string_view(": no name\r\n\r\n")}) {
    MimeResult<DecomposedMessage> result = decompose(input);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, MimeErrc::kNotAMessage);
    EXPECT_EQ(std::error_code(result.error().code), MimeErrc::kNotAMessage);
  }
}

TEST(Decompose, RefusesMessagesOverTheSizeLimit) {
  std::string message = "From: a@x\r\n\r\n";
  message.resize(kMaxMessageBytes + 1, 'a');
  MimeResult<DecomposedMessage> result = decompose(message);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, MimeErrc::kMessageTooLarge);

  // Under the limit as sent, over it once bare LFs become CRLF.
  std::string lf_message = "From: a@x\n\n";
  lf_message.resize(kMaxMessageBytes / 2 + 16, '\n');
  result = decompose(lf_message);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, MimeErrc::kMessageTooLarge);
}

TEST(Decompose, RefusesAnOversizedHeaderBlock) {
  std::string message = "From: a@x\r\n";
  while (message.size() <= kMaxHeaderBlockBytes) message += "X-Filler: 0123456789abcdef\r\n";
  message += "\r\nbody\r\n";
  MimeResult<DecomposedMessage> result = decompose(message);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, MimeErrc::kHeaderTooLarge);
}

std::string nested_multiparts(int depth) {
  std::string head = "From: a@x\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  std::string tail;
  for (int i = 1; i <= depth; ++i) {
    head += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=b" +
            std::to_string(i) + "\r\n\r\n";
    tail = "\r\n--b" + std::to_string(i - 1) + "--\r\n" + tail;
  }
  head += "--b" + std::to_string(depth) + "\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b" +
          std::to_string(depth) + "--\r\n";
  return head + tail;
}

TEST(Decompose, NestingWithinTheDepthLimitIsKeptAsStructure) {
  const std::string message = nested_multiparts(kMaxMimeDepth - 1);
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_TRUE(d.layout.mime);
  EXPECT_EQ(reassembled(d), message);
}

TEST(Decompose, NestingBeyondTheDepthLimitIsStoredOpaque) {
  const std::string message = nested_multiparts(kMaxMimeDepth + 5);
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_FALSE(d.layout.mime);
  EXPECT_EQ(d.layout.root.kind, MimePartKind::kLeaf);
  EXPECT_EQ(d.layout.envelope.from.size(), 1u);
  EXPECT_EQ(reassembled(d), message);
}

TEST(Decompose, MorePartsThanTheLimitAreStoredOpaque) {
  std::string message = "From: a@x\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (std::size_t i = 0; i < kMaxMimeParts + 1; ++i) {
    message += "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  }
  message += "--p--\r\n";
  const DecomposedMessage d = decompose_ok(message);
  EXPECT_FALSE(d.layout.mime);
  EXPECT_EQ(d.bodies.size(), 1u);
  EXPECT_EQ(reassembled(d), message);
}

TEST(Reassemble, RefusesBodiesThatDoNotFitTheLayout) {
  const DecomposedMessage d = decompose_ok(crlf(samples::kMixedWithAttachment));
  std::vector<std::string> bodies = d.bodies;
  bodies.pop_back();
  MimeResult<std::string> out = reassemble(d.layout, std::span<const std::string>(bodies));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, MimeErrc::kLayoutMismatch);

  bodies = d.bodies;
  bodies[0] += "x";
  out = reassemble(d.layout, std::span<const std::string>(bodies));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, MimeErrc::kLayoutMismatch);
}

TEST(NormaliseLineEndings, TurnsBareLfIntoCrlfAndKeepsEverythingElse) {
  EXPECT_EQ(normalise_line_endings("a\nb\r\nc\rd\n"), "a\r\nb\r\nc\rd\r\n");
  EXPECT_EQ(normalise_line_endings("\n"), "\r\n");
  EXPECT_EQ(normalise_line_endings(""), "");
}

TEST(GMimeRuntime, InitialisesOnceAndStaysUsable) {
  EXPECT_TRUE(ensure_gmime_initialised().ok());
  EXPECT_TRUE(ensure_gmime_initialised().ok());
}

}  // namespace
}  // namespace post::email
