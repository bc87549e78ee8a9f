// The layout of a stored message: everything of an RFC 5322 / MIME message except its leaf
// bodies. decompose() (mime_decompose.h) splits a message into a MessageLayout plus one body
// per leaf; the plugin stores each body as a blob of its own (identical attachments are
// identical bytes, so convergent encryption stores them once) and keeps the layout, which is
// small, in the message record. reassemble() puts the bytes back together.
//
// Byte-exactness: every byte of the message is in exactly one of: a header block, a glue
// string, or a leaf body. An entity's bytes are
//
//   header + glue[0] + item[0] + glue[1] + ... + item[n-1] + glue[n]
//
// where the items are the leaf's single body, a multipart's children, or a message/rfc822
// part's embedded message. For a multipart, glue[0] is the preamble plus the first delimiter
// line, glue[i] the delimiter between children, glue[n] the close delimiter plus the epilogue;
// for a leaf glue is normally two empty strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/mime/mime_error.h"

namespace post::email {

// One mailbox of an address header, decoded to UTF-8 (RFC 2047). Members of a group
// ("undisclosed-recipients: a@x, b@y;") are listed as mailboxes; the group name is dropped.
struct MailAddress {
  std::string name;     // display name, decoded; may be empty
  std::string address;  // addr-spec as written ("local@domain"); may be empty for broken input

  bool operator==(const MailAddress&) const = default;
};

// The header summary of a message: what the notification carries and what IMAP's ENVELOPE
// needs. Text fields are UTF-8; a missing header is an empty string or an empty list.
struct Envelope {
  std::vector<MailAddress> from;
  std::vector<MailAddress> sender;
  std::vector<MailAddress> reply_to;
  std::vector<MailAddress> to;
  std::vector<MailAddress> cc;
  std::vector<MailAddress> bcc;
  std::string subject;                    // decoded (RFC 2047)
  std::string date;                       // the Date header as written, unfolded
  std::optional<std::int64_t> date_unix;  // seconds since the epoch, when the date parses
  std::string message_id;                 // without angle brackets
  std::string in_reply_to;                // as written, unfolded

  bool operator==(const Envelope&) const = default;
};

// A parameter of Content-Type or Content-Disposition, decoded (RFC 2231 and RFC 2047).
struct MimeParameter {
  std::string name;
  std::string value;

  bool operator==(const MimeParameter&) const = default;
};

enum class MimePartKind {
  kLeaf,       // a body part whose content is one body blob
  kMultipart,  // multipart/*: children separated by boundary delimiters
  kMessage,    // message/rfc822 (or message/global): one embedded message
};

// One MIME entity, with the facts IMAP's BODYSTRUCTURE needs. Strings are as GMime decoded
// them; an absent field is empty.
struct MimePart {
  MimePartKind kind = MimePartKind::kLeaf;
  std::string header;  // the entity's raw header block, byte-exact, with its blank line;
                       // for the root (and an embedded message's root): the message header

  std::string type = "text";  // lower case, e.g. "text", "multipart"
  std::string subtype = "plain";
  std::vector<MimeParameter> parameters;  // Content-Type parameters, in order
  std::string id;                         // Content-ID, without angle brackets
  std::string description;                // Content-Description
  std::string encoding = "7bit";          // Content-Transfer-Encoding, lower case
  std::string disposition;                // "inline", "attachment" or empty
  std::vector<MimeParameter> disposition_parameters;
  std::string language;  // Content-Language, as written
  std::string location;  // Content-Location
  std::string md5;       // Content-MD5

  // The entity's content size in bytes (everything after the header block), and for a leaf
  // that is text/* or a message/rfc822 part the number of lines in it (count of LF).
  std::size_t size = 0;
  std::size_t lines = 0;

  // Leaf: the index of this leaf's body in the bodies list, and the body's size (still
  // transfer-encoded: what IMAP's BODY[n] returns).
  std::size_t body_index = 0;
  std::size_t body_size = 0;

  // Multipart: the boundary, the preamble and epilogue (also contained in glue).
  std::string boundary;
  std::string preamble;
  std::string epilogue;

  // Multipart: the children; message/rfc822: exactly one child, the embedded message's root
  // entity (whose header is the embedded message's header).
  std::vector<MimePart> children;
  // message/rfc822: the embedded message's header summary.
  std::optional<Envelope> embedded_envelope;

  // Bytes between the items (see the file comment); items + 1 entries.
  std::vector<std::string> glue;
};

// A decomposed message, minus its leaf bodies.
struct MessageLayout {
  // False when the message was stored as one opaque text/plain part (GMime could not parse
  // it as MIME, a limit of mime_decompose.h was exceeded, or the exact round trip failed);
  // the root is then a leaf whose body is everything after the header block.
  bool mime = true;
  Envelope envelope;
  std::size_t size = 0;  // the whole message in bytes (after line-ending normalisation)
  std::size_t leaf_count = 0;
  MimePart root;  // root.header is the message's header block

  const std::string& header() const { return root.header; }
};

// Rebuilds the whole message from `layout` and its leaf bodies (bodies[i] is the body of the
// leaf with body_index i). The result equals the (normalised) input of decompose() byte for
// byte. Refuses (kLayoutMismatch) a body list of the wrong length or a body of the wrong size.
MimeResult<std::string> reassemble(const MessageLayout& layout,
                                   std::span<const std::string> bodies);
MimeResult<std::string> reassemble(const MessageLayout& layout,
                                   std::span<const std::string_view> bodies);

// The bytes of one entity of `layout` (header block plus content), for IMAP's BODY[n.MIME]
// plus BODY[n]. Same contract as reassemble().
MimeResult<std::string> render_part(const MimePart& part, std::span<const std::string_view> bodies);
// The content of one entity without its header block: what IMAP's BODY[n] returns.
MimeResult<std::string> render_content(const MimePart& part,
                                       std::span<const std::string_view> bodies);

}  // namespace post::email
