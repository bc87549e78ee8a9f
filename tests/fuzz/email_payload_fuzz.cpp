// Bytes into what the email plugin reads from other nodes and from its own logs: a delivery
// notification's payload (delivery_payload.h) and a flat message layout (stored_message.h).
// Nothing may crash or read out of bounds; an accepted payload must encode to bytes that decode
// to the same payload; a flat layout either rebuilds a message from the bodies given or is
// refused, and its header block is a prefix of the rebuilt message; a stored body unpads
// within its bytes, and padding round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/server/delivery_payload.h"
#include "plugins/email/server/stored_message.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using post::fuzz::check;

using namespace post::email;

bool same(const DeliveryPayload& a, const DeliveryPayload& b) {
  return a.message_id == b.message_id && a.size == b.size && a.sent_at == b.sent_at &&
         a.mail_from == b.mail_from && a.from == b.from && a.to == b.to && a.subject == b.subject &&
         a.date == b.date && a.message_id_header == b.message_id_header && a.layout == b.layout &&
         a.parts == b.parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto payload = decode_payload(input, &why)) {
    std::string again = encode_payload(*payload);
    check(again.size() <= kMaxPayloadBytes);
    auto decoded = decode_payload(again, &why);
    check(decoded.has_value() && same(*decoded, *payload));
  } else {
    check(!why.empty());
  }
  // The same bytes as a stored (padded) body, and padded themselves.
  if (auto body = unpad_body(input)) check(body->size() + 4 <= input.size());
  check(unpad_body(pad_body(input)) == std::string(input));
  // The same bytes as a flat layout, with three small bodies.
  std::vector<std::string> bodies = {"first body\r\n", "", "third"};
  std::string header = flat_header_block(input);
  if (auto message = rebuild_message(input, bodies)) {
    check(message->compare(0, header.size(), header) == 0 || header == "\r\n");
  }
  return 0;
}
