// Bytes from the wire, straight into the frame decoder and every message decoder that the
// link layer and certificates use: nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "host/core/certificate.h"
#include "host/core/frame.h"
#include "host/net/proto/link.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  if (size == 0) return 0;
  // The first byte picks how the stream is cut into reads, like TCP segments.
  std::size_t chunk = 1 + data[0] % 64;
  ByteView input(data + 1, size - 1);

  wire::FrameDecoder decoder(data[0] & 0x80 ? 16 * 1024 : wire::kMaxFrameBytes);
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    decoder.feed(input.subspan(off, std::min(chunk, input.size() - off)));
    for (;;) {
      auto body = decoder.next();
      if (!body.ok() || !body->has_value()) break;
      auto frame = wire::decode_message<proto::LinkFrame>(**body, "fuzz");
      if (frame.ok() && frame->has_data()) (void)frame->data().payload().size();
    }
  }

  // The same bytes as certificates and armored files.
  static const CaKey ca = create_ca("fuzz CA", 0).value();
  (void)verify_node_certificate(input, ca.certificate, 1);
  (void)parse_ca_certificate(input);
  std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  (void)dearmor(kNodeCertificateLabel, text);
  return 0;
}
