// Bytes as a notification from the network: the header peek and the full check against fixed
// sender and recipient certificates (the recipient's keys open sealed content keys). The first
// byte picks the mode: even, the rest is a whole notification; odd, the rest is a
// notification body, signed here by the fixed sender so that the checks after the signature
// are reached. Nothing may crash, and whatever is accepted must be within its bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/core/certificate.h"
#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/post/notification.h"
#include "host/post/proto/notification.pb.h"

namespace {

struct Fixed {
  post::UserKeys sender_keys, recipient_keys;
  post::UserCertificate sender, recipient;
};

post::UserCertificate user(const post::CaKey& ca, const std::string& email,
                           const post::UserKeys& keys) {
  using namespace post;
  return issue_user_certificate(
             ca, "Fuzz", email, crypto::signing_public_key(keys.signing_key).value(),
             crypto::agreement_public_key(keys.agreement_key).value(), 0, 4'000'000'000)
      .value();
}

const Fixed& fixed() {
  static const Fixed f = [] {
    using namespace post;
    CaKey ca;
    ca.signing_key = Bytes(32, 3);
    ca.certificate.public_key = crypto::signing_public_key(ca.signing_key).value();
    Fixed x;
    x.sender_keys = UserKeys{Bytes(32, 5), Bytes(32, 6)};
    x.recipient_keys = UserKeys{Bytes(32, 7), Bytes(32, 8)};
    x.sender = user(ca, "sender@example.org", x.sender_keys);
    x.recipient = user(ca, "recipient@example.org", x.recipient_keys);
    return x;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace post;
  if (size == 0) return 0;
  const Fixed& f = fixed();
  Bytes input(data + 1, data + size);
  if (data[0] % 2 == 1) {
    proto::services::Notification signed_body;
    signed_body.set_body(std::string(input.begin(), input.end()));
    Bytes message(std::string_view("post-notify-v1").begin(),
                  std::string_view("post-notify-v1").end());
    append(message, input);
    signed_body.set_signature(to_string(crypto::sign(f.sender_keys.signing_key, message).value()));
    input = wire::encode_message(signed_body);
  }
  (void)services::peek_notification(input);
  auto n = services::open_notification(input, f.sender, f.recipient_keys, f.recipient);
  if (n.ok() && (n->app_data.size() > services::kMaxAppDataBytes ||
                 n->content_key.size() > services::kMaxContentKeyBytes ||
                 n->application.size() > services::kMaxApplicationNameBytes)) {
    std::abort();
  }
  return 0;
}
