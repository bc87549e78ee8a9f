// Bytes as a certificate from a peer or a file: the CA certificate parser, the node and user
// certificate verifiers (against a fixed CA) and the armor decoder. Nothing may crash, and
// whatever verifies must carry well-formed fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "host/core/certificate.h"
#include "host/core/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  static const CaCertificate ca = [] {
    CaCertificate c;
    c.name = "fuzz CA";
    c.public_key = crypto::signing_public_key(Bytes(32, 7)).value();
    return c;
  }();
  ByteView input(data, size);
  constexpr std::int64_t kNow = 1'800'000'000;

  (void)parse_ca_certificate(input);
  if (auto node = verify_node_certificate(input, ca, kNow); node.ok()) {
    if (node->public_key.size() != 32) std::abort();
  }
  if (auto user = verify_user_certificate(input, ca, kNow); user.ok()) {
    if (user->signing_key.size() != 32 || user->agreement_key.size() != 32 ||
        user->email.find('@') == std::string::npos) {
      std::abort();
    }
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto label : {kCaCertificateLabel, kNodeCertificateLabel, kUserCertificateLabel}) {
    if (auto raw = dearmor(label, text); raw.ok()) {
      (void)verify_user_certificate(*raw, ca, kNow);
      (void)verify_node_certificate(*raw, ca, kNow);
    }
  }
  return 0;
}
