// A message as the email plugin keeps it: leaf bodies in the secure store, and in the folder
// record (store::MessageRef) the size, a digest, the part references and the layout. This file
// turns a message into that form (store_message) and back (load_message), for SMTP delivery,
// IMAP APPEND and every FETCH.
//
// MessageRef::layout is "I" followed by a flat layout, or "S" followed by the handle and key
// (32 bytes each) of a flat layout in the secure store (when it is larger than
// kMaxInlineLayoutBytes). A flat layout, version 1, is "EFL" u8(1) and then segments until the
// end: u8 0 + u32 length (little-endian) + bytes (header or glue text), or u8 1 + u16 body
// index. Concatenating the texts and the bodies in order gives the message back, byte for byte.
// A delivered message's layout may be "V" u16(length, little-endian) + a header line +
// one of the two forms above: the recipient's node put in front of the message a header field
// naming the sender it verified (verified_sender_layout); a copy of that field in the sender's
// own header is read back renamed to X-POST-Unchecked-Claim (same length), so that the one a
// person sees is the node's.
// The MIME tree is not kept: a reader that needs it (BODYSTRUCTURE, BODY[1.2]) decomposes the
// rebuilt message again, which gives the same tree, since decompose() is deterministic.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugins/email/mime/mime_decompose.h"
#include "plugins/email/mime/mime_layout.h"
#include "plugins/email/server/mail_io.h"
#include "plugins/email/store/mail_record.h"

namespace post::email {

// A flat layout up to this size is kept inline in the folder record (and in a delivery
// notification); a larger one is stored.
inline constexpr std::size_t kMaxInlineLayoutBytes = 4 * 1024;

// Bodies are padded before they are stored, so that the store (and anyone watching it) sees
// sizes in a few buckets instead of each message's exact size: u32 length (little-endian), the
// body, zeros up to the bucket. Buckets double from kMinPaddedBodyBytes up to kLargeBodyBytes,
// then grow in steps of kLargeBodyStep. Identical bodies still pad to identical bytes, so an
// attachment sent many times is stored once.
inline constexpr std::size_t kMinPaddedBodyBytes = 1024;
inline constexpr std::size_t kLargeBodyBytes = 64 * 1024;
inline constexpr std::size_t kLargeBodyStep = 16 * 1024;

// `body` padded as above, and back (nullopt for bytes that are not a padded body).
std::string pad_body(std::string_view body);
std::optional<std::string> unpad_body(std::string_view stored);

// The flat layout of a decomposed message (format above).
std::string flatten_layout(const MessageLayout& layout);

// The message rebuilt from a flat layout and its bodies; nullopt when the flat layout is
// malformed or names a body that is not in `bodies`.
std::optional<std::string> rebuild_message(std::string_view flat,
                                           std::span<const std::string> bodies);

// The message's top header block (with its blank line) from a flat layout alone: the first
// text segment up to and including the first empty line. Empty when the layout is malformed.
std::string flat_header_block(std::string_view flat);

// The header field the recipient's node adds to each delivered message.
inline constexpr std::string_view kVerifiedSenderField = "X-POST-Verified-Sender";

// "X-POST-Verified-Sender: <sender>\r\n" (CR and LF in `sender` dropped).
std::string verified_sender_header(std::string_view sender);

// The layout to file for a message that `sender` (checked against its certificate by the
// host) sent with `layout`, an "I" or "S" layout: nullopt for anything else (a sender cannot
// bring its own "V").
std::optional<std::string> verified_sender_layout(std::string_view sender, std::string_view layout);

// SHA-256 of `bytes`, and as lower-case hex.
store::Bytes32 sha256(std::string_view bytes);
std::string hex(std::span<const std::uint8_t> bytes);

// A message ready for a folder: its reference (message_id, size, layout, parts; internal
// date, sender and flags are the caller's) and its header summary.
struct StoredMessage {
  store::MessageRef ref;
  Envelope envelope;
};

// Decomposes `message` (mime/), stores each non-empty body and, when large, the flat layout,
// and gives the reference. An empty body is not stored (its PartRef stays zero). Fails for
// good when the message cannot be decomposed or has more than store::kMaxParts leaves,
// temporarily when the store does.
void store_message(MailIo& io, std::string_view message,
                   std::function<void(IoResult<StoredMessage>)> done);

// A message read back: always the header block and its summary; `message` (the whole text)
// and `decomposed` (its layout and bodies) when the bodies were asked for.
struct LoadedMessage {
  std::string header;
  Envelope envelope;  // from the header block
  std::optional<std::string> message;
  std::optional<DecomposedMessage> decomposed;
};

// Reads what is needed of the message `ref` names: the flat layout (a store fetch when it is
// not inline) and, with `with_bodies`, every part. Keeps the most recently read messages in a
// cache bounded by bytes, so that a client fetching BODYSTRUCTURE and then BODY[] of the same
// messages reads them once.
class MessageLoader {
 public:
  explicit MessageLoader(MailIo& io, std::size_t cache_bytes = std::size_t{64} << 20)
      : io_(io), cache_bytes_(cache_bytes) {}

  void load(const store::MessageRef& ref, bool with_bodies,
            std::function<void(IoResult<std::shared_ptr<const LoadedMessage>>)> done);

 private:
  struct Entry {
    std::string id;
    std::shared_ptr<const LoadedMessage> message;
    std::size_t bytes = 0;
  };
  std::shared_ptr<const LoadedMessage> cached(const std::string& id, bool with_bodies);
  void remember(const std::string& id, std::shared_ptr<const LoadedMessage> message);

  MailIo& io_;
  std::size_t cache_bytes_;
  std::size_t used_bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> by_id_;
};

}  // namespace post::email
