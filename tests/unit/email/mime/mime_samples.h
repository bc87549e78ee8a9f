// Sample messages shared by the MIME layer's tests, written with LF line endings for
// readability; tests convert them with normalise_line_endings() where they need CRLF.
#pragma once

#include <string_view>

namespace post::email::samples {

inline constexpr std::string_view kPlainText =
    "Return-Path: <alice@example.org>\n"
    "From: Alice Example <alice@example.org>\n"
    "To: bob@example.net\n"
    "Subject: Lunch\n"
    "Date: Tue, 24 Nov 2026 10:15:00 +0100\n"
    "Message-ID: <lunch-1@example.org>\n"
    "\n"
    "Shall we meet at noon?\n"
    "\n"
    "-- \n"
    "Alice\n";

inline constexpr std::string_view kAlternative =
    "From: Carol <carol@example.com>\n"
    "To: Dave <dave@example.com>, erin@example.com\n"
    "Cc: Frank <frank@example.com>\n"
    "Subject: Agenda\n"
    "Date: Wed, 25 Nov 2026 08:00:00 +0000\n"
    "Message-ID: <agenda@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"alt-123\"\n"
    "\n"
    "This is a multi-part message in MIME format.\n"
    "--alt-123\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "1. Budget =E2=82=AC\n"
    "2. Hiring\n"
    "--alt-123\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<ol><li>Budget</li><li>Hiring</li></ol>\n"
    "--alt-123--\n"
    "epilogue line\n";

inline constexpr std::string_view kAttachmentBase64 =
    "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+\n"
    "CnN0cmVhbQp4nCvkMlAwUDC1NNUzMVGwMDHUszRSKErlCtfiyuMCAGVbBhsKZW5kc3RyZWFtCmVuZG9i\n"
    "ag==";

inline constexpr std::string_view kMixedWithAttachment =
    "From: Grace <grace@example.org>\n"
    "To: heidi@example.org\n"
    "Subject: Report attached\n"
    "Date: Thu, 26 Nov 2026 09:30:00 -0500\n"
    "Message-ID: <report@example.org>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed;\n"
    " boundary=\"==mixed==\"\n"
    "\n"
    "--==mixed==\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "Here is the report.\n"
    "--==mixed==\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
    "Content-Description: Quarterly report\n"
    "Content-ID: <pdf-1@example.org>\n"
    "\n"
    "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+\n"
    "CnN0cmVhbQp4nCvkMlAwUDC1NNUzMVGwMDHUszRSKErlCtfiyuMCAGVbBhsKZW5kc3RyZWFtCmVuZG9i\n"
    "ag==\n"
    "--==mixed==--\n";

// The same attachment forwarded by someone else, with different headers around it.
inline constexpr std::string_view kForwardedAttachment =
    "From: Ivan <ivan@example.net>\n"
    "To: judy@example.net, mallory@example.net\n"
    "Subject: Fwd: Report attached\n"
    "Date: Thu, 26 Nov 2026 11:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=fwd\n"
    "\n"
    "--fwd\n"
    "Content-Type: text/plain\n"
    "\n"
    "FYI\n"
    "--fwd\n"
    "Content-Type: application/pdf; name=report.pdf\n"
    "Content-Disposition: attachment; filename=report.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+\n"
    "CnN0cmVhbQp4nCvkMlAwUDC1NNUzMVGwMDHUszRSKErlCtfiyuMCAGVbBhsKZW5kc3RyZWFtCmVuZG9i\n"
    "ag==\n"
    "--fwd--\n";

inline constexpr std::string_view kNestedMessage =
    "From: Oscar <oscar@example.com>\n"
    "To: peggy@example.com\n"
    "Subject: Fwd: Agenda\n"
    "Date: Thu, 26 Nov 2026 12:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=outer\n"
    "\n"
    "--outer\n"
    "Content-Type: text/plain\n"
    "\n"
    "See below.\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: inline\n"
    "\n"
    "From: Carol <carol@example.com>\n"
    "To: dave@example.com\n"
    "Subject: Agenda\n"
    "Message-ID: <inner@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "Budget\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>Budget</b>\n"
    "--inner--\n"
    "\n"
    "--outer--\n";

inline constexpr std::string_view kInternationalHeaders =
    "From: =?UTF-8?Q?Andr=C3=A9_M=C3=BCller?= <andre@example.de>\n"
    "To: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.de>, \"Zoë Ünal\" <zoe@example.de>\n"
    "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\n"
    "Date: Fri, 27 Nov 2026 07:45:12 +0100\n"
    "Message-ID: <intl@example.de>\n"
    "In-Reply-To: <earlier@example.de>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Grüße aus München – bis bald!\n";

}  // namespace post::email::samples
