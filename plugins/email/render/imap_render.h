// What the IMAP server sends about a stored message (RFC 3501 6.4.5, 7.4.2): ENVELOPE, BODY
// and BODYSTRUCTURE from the MIME layer's layout, and BODY[section]<partial> from the layout
// and the leaf bodies. Pure functions: the server fetches the bodies (lazily, only when
// section_needs_bodies says so) and hands them in.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "plugins/email/imap/imap_fetch.h"
#include "plugins/email/mime/mime_error.h"
#include "plugins/email/mime/mime_layout.h"

namespace post::email {

// A rendered value or the MIME layer's error. The one error rendering can meet is
// kLayoutMismatch: the bodies handed in do not fit the layout (missing or of the wrong size).
template <class T>
using RenderResult = MimeResult<T>;

// The ENVELOPE of a message (RFC 3501 7.4.2): the parenthesised list
//   (date subject from sender reply-to to cc bcc in-reply-to message-id)
// Empty fields are NIL; so is an empty address list. Sender and reply-to are the From list
// when they are empty (RFC 3501 asks the server to default them so). An address is
// (name NIL mailbox host), split at the last "@"; without an "@" the host is "" (never NIL,
// which would read as group syntax). Group syntax is never written: the layout keeps a
// group's members as plain mailboxes and drops the group name. Names and the subject,
// decoded UTF-8 in the Envelope, are sent as RFC 2047 encoded-words when
// needs_header_encoding() says so (mail_text.h); the message-id is sent in angle brackets,
// the date and in-reply-to as written. Strings go as quoted strings or literals
// (quote_or_literal), so any bytes are safe.
std::string format_envelope(const Envelope& envelope);

// BODY (`extensible` false) or BODYSTRUCTURE (true) of `part` and everything below it
// (RFC 3501 7.4.2). A leaf is (type subtype params id description encoding size), plus lines
// for text/*; a message/rfc822 (or message/global) part adds the embedded message's envelope,
// body structure and lines; a multipart is its children followed by its subtype. With
// `extensible`, a leaf adds (md5 disposition language location) and a multipart
// (params disposition language location). The size is the part's content size as stored,
// still transfer-encoded: exactly the length of BODY[n]. Type, subtype and encoding are lower
// case (as the layout keeps them); an empty parameter list is NIL, except that a text part
// whose header has no Content-Type field gets ("charset" "us-ascii"), its RFC 2045 default.
// Content-ID is sent in angle brackets. The description and parameter values (which the
// layout holds decoded, RFC 2231 and RFC 2047) are sent as encoded-words when they need it,
// as names are above; Dovecot would send an RFC 2231 "filename*" parameter as written.
std::string format_body_structure(const MimePart& part, bool extensible);

// Whether render_section() needs the leaf bodies for `section`. False for the header
// sections of the message or of an embedded message (HEADER, HEADER.FIELDS,
// HEADER.FIELDS.NOT, with or without part numbers) and for n.MIME: those come from the layout
// alone, and render_section() accepts an empty body list for them.
bool section_needs_bodies(const BodySection& section);

// Whether `section` is HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT of the message itself (no
// part numbers): header_only_section() can serve it from the top header block alone.
bool section_is_top_header(const BodySection& section);

// BODY[section] of a message (RFC 3501 6.4.5), before any partial:
//   ""                 the whole message (reassembled);
//   HEADER, TEXT       the header block (with its blank line) and everything after it;
//   HEADER.FIELDS (l)  the fields named in l (ASCII case-insensitive), in message order,
//   .NOT               or all the others, each with its continuation lines, and then CRLF;
//   n[.m...]           the content of that part, MIME header excluded;
//   n.MIME             that part's MIME header block;
//   n.HEADER ... n.TEXT  the header sections of the message embedded in part n, which must
//                       be message/rfc822.
// Part numbers walk multipart children; a non-multipart message (and a message embedded in
// a message/rfc822 part) has the single part 1, its body; after a message/rfc822 part the
// numbers go on inside its embedded message. A part that does not exist, and a header or TEXT
// section of a part that is not message/rfc822, give an empty string, as Dovecot does
// (RFC 3501 does not say). Refuses (kLayoutMismatch) bodies that do not fit the layout when
// the section needs them.
RenderResult<std::string> render_section(const MessageLayout& layout,
                                         std::span<const std::string_view> bodies,
                                         const BodySection& section);

// HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT served from the message's top header block
// alone, equal to what render_section() gives. Precondition: section_is_top_header(section);
// any other section gives an empty string.
std::string header_only_section(std::string_view header_block, const BodySection& section);

// The fields of `header_block` whose names are in `names` (ASCII case-insensitive; all the
// others when `exclude`), in order, each with its continuation lines, followed by CRLF.
std::string filter_header_fields(std::string_view header_block, std::span<const std::string> names,
                                 bool exclude);

// `bytes` cut to `partial` (<origin.count>): at most count octets from octet origin; empty
// when origin is at or past the end. No partial: `bytes` unchanged.
std::string apply_partial(std::string_view bytes, std::optional<FetchPartial> partial);

}  // namespace post::email
