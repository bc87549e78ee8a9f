// The notification an ePOST node sends to a recipient's node for one delivered message, and
// the flat layout blob kept in the recipient's INBOX Insert record.
//
// Payload, version 1 (all integers little-endian; "str" is a u16 length then that many bytes):
//   "EPN" u8(version = 1)
//   message_id[32]   SHA-256 of the message after line-ending normalisation (mime/)
//   u32 size         the normalised message's size in octets
//   i64 sent_at      unix seconds when the sender's node accepted it
//   str mail_from, str from, str to, str subject, str date, str message_id_header
//   str layout       store::MessageRef::layout as stored_message.h writes it: "I" and an
//                    inline flat layout, or "S" and the handle and key of a stored one
//   u16 n, then n parts: handle[32] key[32] (all-zero handle and key: an empty body)
// Nothing may follow. Every text field is cut to kMaxSummaryFieldBytes when encoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/server/stored_message.h"
#include "plugins/email/store/mail_record.h"

namespace post::email {

// The host's limit on one notification payload (sdk.h, notify_send).
inline constexpr std::size_t kMaxPayloadBytes = 16 * 1024;
// Each envelope text field in the payload; six of them stay under 2 KiB.
inline constexpr std::size_t kMaxSummaryFieldBytes = 320;
// The layout field: an inline flat layout and its kind byte.
inline constexpr std::size_t kMaxPayloadLayoutBytes = kMaxInlineLayoutBytes + 1;
// Stored parts of one message; equals store::kMaxParts, so 8 KiB of handles and keys.
inline constexpr std::size_t kMaxPayloadParts = store::kMaxParts;

struct DeliveryPayload {
  store::Bytes32 message_id{};
  std::uint32_t size = 0;
  std::int64_t sent_at = 0;
  std::string mail_from;
  std::string from;
  std::string to;
  std::string subject;
  std::string date;
  std::string message_id_header;
  std::string layout;
  std::vector<store::PartRef> parts;
};

// The payload's bytes; text fields cut as documented. Callers keep the layout under
// kMaxPayloadLayoutBytes and parts under kMaxPayloadParts, so the result fits kMaxPayloadBytes.
std::string encode_payload(const DeliveryPayload& payload);

// Parses a payload; nullopt (and `why`) for anything not exactly a version 1 payload within
// the limits above. Reads only within `bytes`.
std::optional<DeliveryPayload> decode_payload(std::string_view bytes, std::string* why);

}  // namespace post::email
