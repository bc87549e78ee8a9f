// Bytes as an identity or a user certificate block from a replica, or as a presence
// announcement from a Scribe group: the block decoder, the certificate block reader (against a
// fixed CA), the identity block reader and the presence reader (against a fixed user). The
// first byte picks the mode: 0 (mod 3), the rest is a whole encoded block; 1, the rest is an
// identity record, signed here by the fixed user so that its decoding is reached; 2, the rest
// is a presence announcement. Nothing may crash, and what is accepted must be within bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/core/certificate.h"
#include "host/core/crypto.h"
#include "host/past/block.h"
#include "host/post/account.h"
#include "host/post/presence.h"

namespace {

struct Fixed {
  post::CaKey ca;
  post::UserKeys keys;
  post::UserCertificate user;
};

const Fixed& fixed() {
  static const Fixed f = [] {
    using namespace post;
    Fixed x;
    x.ca.signing_key = Bytes(32, 3);
    x.ca.certificate.name = "fuzz CA";
    x.ca.certificate.public_key = crypto::signing_public_key(x.ca.signing_key).value();
    x.keys.signing_key = Bytes(32, 5);
    x.keys.agreement_key = Bytes(32, 6);
    x.user = issue_user_certificate(x.ca, "Fuzz", "fuzz@example.org",
                                    crypto::signing_public_key(x.keys.signing_key).value(),
                                    crypto::agreement_public_key(x.keys.agreement_key).value(), 0,
                                    4'000'000'000)
                 .value();
    return x;
  }();
  return f;
}

void check(const post::Result<post::services::Identity>& identity) {
  if (!identity.ok()) return;
  if (identity->log_heads.size() > post::services::kMaxLogHeads ||
      identity->presence.size() > post::services::kMaxPresenceBytes) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  if (size == 0) return 0;
  const Fixed& f = fixed();
  ByteView input(data + 1, size - 1);
  if (data[0] % 3 == 2) {
    auto presence = services::read_presence(input, f.user);
    if (presence.ok() && presence->data.size() > services::kMaxPresenceBytes) std::abort();
    return 0;
  }
  if (data[0] % 3 == 0) {
    auto block = past::decode_block(input);
    if (!block.ok()) return 0;
    check(services::read_identity_block(*block, f.user));
    (void)services::read_user_certificate_block(*block, f.ca.certificate, 1'800'000'000);
    return 0;
  }
  auto block =
      past::make_public_key_block(f.keys.signing_key, 1, Bytes(input.begin(), input.end()));
  if (!block.ok()) return 0;
  check(services::read_identity_block(*block, f.user));
  return 0;
}
