// Bytes from an admin client, cut into reads like TCP segments, through the path postd's admin
// endpoint takes: the frame decoder with the admin request limit, the request decoder and the
// key, handle and group parsers. The same bytes also go through the answer decoder postctl
// uses. Nothing may crash, hang or read out of bounds, and whatever decodes must encode and
// decode again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/core/frame.h"
#include "host/daemon/admin_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  ByteView input(data + 1, size - 1);

  wire::FrameDecoder decoder(daemon::kMaxAdminRequestBytes);
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    decoder.feed(input.subspan(off, std::min(chunk, input.size() - off)));
    for (;;) {
      auto body = decoder.next();
      if (!body.ok() || !body->has_value()) break;
      auto request = daemon::decode_admin_request(**body);
      if (!request.ok()) continue;
      if (request->has_lookup()) (void)daemon::parse_lookup_key(request->lookup());
      if (request->has_get()) (void)daemon::parse_get_handle(request->get());
      if (request->has_subscribe()) (void)daemon::parse_group(request->subscribe().group());
      if (request->has_publish()) (void)daemon::parse_group(request->publish().group());
      if (request->has_received()) (void)daemon::parse_group(request->received().group());
      if (request->has_anycast()) (void)daemon::parse_group(request->anycast().group());
      auto again = daemon::decode_admin_request(wire::encode_message(*request));
      if (!again.ok() || again->kind_case() != request->kind_case() ||
          again->request_id() != request->request_id()) {
        std::abort();
      }
    }
  }

  (void)daemon::decode_admin_request(input);
  auto response = wire::decode_message<proto::admin::AdminResponse>(input, "fuzz answer");
  if (response.ok() && response->has_lookup()) (void)response->lookup().path_size();
  return 0;
}
