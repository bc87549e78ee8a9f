// Sample messages of the render tests: literal RFC 5322 text, bare LF (decompose() turns it
// into CRLF, which the expected values of the tests assume).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plugins/email/mime/mime_decompose.h"

namespace post::email::render_samples {

// The message of RFC 3501 section 8's example (its ENVELOPE is in 7.4.2), with a body.
constexpr std::string_view kRfc3501 = R"(Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: IMAP4rev1 WG mtg summary and minutes
To: imap@cac.washington.edu
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Message-Id: <B27397-0100000@cac.washington.edu>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
)";

// multipart/mixed: 1 text/plain latin-1 in base64, 2 multipart/alternative (2.1 text/plain
// quoted-printable, 2.2 text/html), 3 a base64 PDF attachment, 4 a message/rfc822. The From
// name and the subject are RFC 2047 encoded UTF-8; Received and X-Tags are folded.
constexpr std::string_view kMixed = R"(Received: from mx.example.org by mail.example.com;
 Mon, 3 Feb 2025 23:31:00 -0800
From: =?UTF-8?Q?Andr=C3=A9_M=C3=BCller?= <andre@example.org>
To: Bob <bob@example.com>, carol@example.net
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=
Date: Mon, 3 Feb 2025 23:30:00 -0800
Message-ID: <mixed-1@example.org>
X-Tags: alpha,
	beta
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is a multi-part message in MIME format.
--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: base64

Q2Fm6SBhdSBsYWl0LCBzZWUgeW91IGF0IG5vb24uDQo=
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe aus K=C3=B6ln, soft=
 break
--inner
Content-Type: text/html; charset=utf-8

<p>Hello <b>world</b></p>
--inner--

--outer
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"

JVBERi0xLjQKc2VjcmV0IG5lZWRsZQo=
--outer
Content-Type: message/rfc822
Content-Description: forwarded note

From: Dave <dave@example.com>
To: andre@example.org
Subject: Original note
Date: Sun, 2 Feb 2025 10:00:00 +0000
Message-ID: <orig@example.com>

Embedded body line
--outer--
)";

// A header without MIME and with a raw UTF-8 subject (RFC 6532), no Message-ID, no Date.
constexpr std::string_view kRawUtf8 = R"(From: zoe@example.com
To: bob@example.com
Subject: Grüße
X-Empty:

€ body
)";

// A stored message: its layout, its bodies, and views of them as the server hands them in.
struct Stored {
  DecomposedMessage message;
  std::vector<std::string_view> bodies;

  explicit Stored(std::string_view text) {
    MimeResult<DecomposedMessage> decomposed = decompose(text);
    if (!decomposed.ok()) {
      ADD_FAILURE() << "decompose: " << decomposed.error().detail;
      return;
    }
    message = std::move(decomposed).value();
    bodies.assign(message.bodies.begin(), message.bodies.end());
  }
  Stored(const Stored&) = delete;
  Stored& operator=(const Stored&) = delete;

  const MessageLayout& layout() const { return message.layout; }
};

inline std::string crlf(std::string_view text) {
  return normalise_line_endings(text);
}

}  // namespace post::email::render_samples
