// The notification an ePOST node sends to a recipient's node for one delivered message, and
// the flat layout blob kept in the recipient's INBOX Insert record.
//
// Payload, version 1 (all integers little-endian; "str" is a u16 length then that many bytes):
//   "EPN" u8(version = 1)
//   message_id[32]   SHA-256 of the message after line-ending normalisation (mime/)
//   u32 size         the normalised message's size in octets
//   i64 sent_at      unix seconds when the sender's node accepted it
//   str mail_from, str from, str to, str subject, str date, str message_id_header
//   u8 layout_kind   1: the layout blob follows inline (str); 2: it is stored:
//                    handle[32] key[32]
//   u16 n, then n parts: handle[32] key[32] (all-zero handle and key: an empty body)
// Nothing may follow. Every text field is cut to kMaxSummaryFieldBytes when encoded.
//
// Flat layout, version 1: "EFL" u8(1), then segments until the end: u8 0 + u32 length +
// bytes (literal header or glue text) or u8 1 + u16 body index. Concatenating the literals
// and the bodies in order gives the message back byte for byte. This is a stopgap until the
// MIME layer has a codec for its MessageLayout (BODYSTRUCTURE needs the tree).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/mime/mime_layout.h"

namespace post::email {

// The host's limit on one notification payload (sdk.h, notify_send).
inline constexpr std::size_t kMaxPayloadBytes = 16 * 1024;
// A layout blob up to this size travels inside the payload; a larger one is stored.
inline constexpr std::size_t kMaxInlineLayoutBytes = 4 * 1024;
// Each envelope text field in the payload; six of them stay under 2 KiB.
inline constexpr std::size_t kMaxSummaryFieldBytes = 320;
// Stored parts of one message; equals store::kMaxParts, so 8 KiB of handles and keys.
inline constexpr std::size_t kMaxPayloadParts = 128;

using Digest = std::array<std::uint8_t, 32>;

struct StoredRef {
  Digest handle{};
  Digest key{};
};

struct DeliveryPayload {
  Digest message_id{};
  std::uint32_t size = 0;
  std::int64_t sent_at = 0;
  std::string mail_from;
  std::string from;
  std::string to;
  std::string subject;
  std::string date;
  std::string message_id_header;
  std::optional<std::string> inline_layout;  // set: inline; unset: stored_layout
  StoredRef stored_layout;
  std::vector<StoredRef> parts;
};

// The payload's bytes; text fields cut as documented. Callers keep the inline layout under
// kMaxInlineLayoutBytes and parts under kMaxPayloadParts, so the result fits kMaxPayloadBytes.
std::string encode_payload(const DeliveryPayload& payload);

// Parses a payload; nullopt (and `why`) for anything not exactly a version 1 payload within
// the limits above. Reads only within `bytes`.
std::optional<DeliveryPayload> decode_payload(std::string_view bytes, std::string* why);

// The flat layout blob of a decomposed message (format above).
std::string flatten_layout(const MessageLayout& layout);

// SHA-256 of `bytes`.
Digest sha256(std::string_view bytes);

std::string hex(const Digest& digest);

}  // namespace post::email
