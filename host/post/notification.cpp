#include "host/post/notification.h"

#include <utility>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/post/proto/notification.pb.h"

namespace post::services {

namespace pb = proto::services;

namespace {

constexpr std::string_view kContext = "post-notify-v1";
constexpr std::size_t kNonceBytes = 16;

Bytes signed_bytes(const std::string& body) {
  Bytes out(kContext.begin(), kContext.end());
  append(out, as_bytes(body));
  return out;
}

// What the sealed key is bound to: this sender, recipient, content and nonce.
Bytes seal_context(const pb::NotificationBody& body) {
  Bytes out(kContext.begin(), kContext.end());
  append(out, as_bytes(body.sender()));
  append(out, as_bytes(body.recipient()));
  append(out, as_bytes(body.content_handle()));
  append(out, as_bytes(body.nonce()));
  return out;
}

Status check_bounds(const std::string& application, std::size_t app_data, std::size_t key) {
  if (application.empty() || application.size() > kMaxApplicationNameBytes) {
    return make_error(CoreErrc::kBadLength, "the application name must be 1 to " +
                                                std::to_string(kMaxApplicationNameBytes) +
                                                " bytes, got " +
                                                std::to_string(application.size()));
  }
  if (app_data > kMaxAppDataBytes) {
    return make_error(CoreErrc::kBadLength, "application data is at most " +
                                                std::to_string(kMaxAppDataBytes) + " bytes, got " +
                                                std::to_string(app_data));
  }
  if (key > kMaxContentKeyBytes) {
    return make_error(CoreErrc::kBadLength, "a content key is at most " +
                                                std::to_string(kMaxContentKeyBytes) + " bytes");
  }
  return ok_status();
}

}  // namespace

Status check_notification_bounds(const OutgoingNotification& n) {
  return check_bounds(n.application, n.app_data.size(), n.content_key.size());
}

Result<Bytes> make_notification(const UserKeys& sender_keys, const UserCertificate& sender,
                                const UserCertificate& recipient,
                                const OutgoingNotification& n, std::uint64_t created_ms) {
  POST_TRY(check_bounds(n.application, n.app_data.size(), n.content_key.size()));
  if (n.content_handle.has_value() == n.content_key.empty()) {
    return make_error(CoreErrc::kBadLength, "a content handle goes with its key, or neither");
  }
  POST_TRY_ASSIGN(Bytes sender_public, crypto::signing_public_key(sender_keys.signing_key));
  if (sender_public != sender.signing_key) {
    return make_error(CoreErrc::kBadKey, "the signing key is not " + sender.email + "'s");
  }
  pb::NotificationBody body;
  body.set_version(1);
  body.set_sender(to_string(sender.signing_key));
  body.set_sender_email(sender.email);
  body.set_recipient(to_string(recipient.signing_key));
  body.set_application(n.application);
  body.set_app_data(to_string(n.app_data));
  if (n.content_handle) body.set_content_handle(to_string(n.content_handle->view()));
  body.set_created_ms(created_ms);
  body.set_nonce(to_string(crypto::random_bytes(kNonceBytes)));
  if (!n.content_key.empty()) {
    POST_TRY_ASSIGN(Bytes sealed,
                    crypto::seal(recipient.agreement_key, n.content_key, seal_context(body)));
    body.set_sealed_key(to_string(sealed));
  }
  std::string encoded = body.SerializeAsString();
  POST_TRY_ASSIGN(Bytes signature, crypto::sign(sender_keys.signing_key, signed_bytes(encoded)));
  pb::Notification out;
  out.set_body(std::move(encoded));
  out.set_signature(to_string(signature));
  return wire::encode_message(out);
}

Result<NotificationHeader> peek_notification(ByteView encoded) {
  POST_TRY_ASSIGN(auto n, wire::decode_message<pb::Notification>(encoded, "notification"));
  POST_TRY_ASSIGN(auto body, wire::decode_message<pb::NotificationBody>(as_bytes(n.body()),
                                                                        "notification body"));
  if (body.sender_email().empty() || body.sender_email().size() > kMaxEmailBytes) {
    return make_error(CoreErrc::kDecodeFailed, "the notification names no valid sender");
  }
  return NotificationHeader{Id::hash_of(as_bytes(n.body())), body.sender_email(),
                            to_bytes(body.recipient())};
}

Result<ReceivedNotification> open_notification(ByteView encoded, const UserCertificate& sender,
                                               const UserKeys& recipient_keys,
                                               const UserCertificate& recipient) {
  POST_TRY_ASSIGN(auto n, wire::decode_message<pb::Notification>(encoded, "notification"));
  if (!crypto::verify(sender.signing_key, signed_bytes(n.body()), as_bytes(n.signature()))) {
    return make_error(CoreErrc::kBadSignature,
                      "the notification is not signed by " + sender.email);
  }
  POST_TRY_ASSIGN(auto body, wire::decode_message<pb::NotificationBody>(as_bytes(n.body()),
                                                                        "notification body"));
  if (body.version() != 1) {
    return make_error(CoreErrc::kDecodeFailed,
                      "notification version " + std::to_string(body.version()));
  }
  if (!constant_time_equal(as_bytes(body.sender()), sender.signing_key) ||
      body.sender_email() != sender.email) {
    return make_error(CoreErrc::kBadSignature, "the notification names another sender");
  }
  if (!constant_time_equal(as_bytes(body.recipient()), recipient.signing_key)) {
    return make_error(CoreErrc::kBadCertificate, "the notification is for someone else");
  }
  POST_TRY(check_bounds(body.application(), body.app_data().size(), 0));
  if (body.nonce().size() != kNonceBytes) {
    return make_error(CoreErrc::kDecodeFailed, "the notification's nonce is not 16 bytes");
  }
  ReceivedNotification out;
  out.id = Id::hash_of(as_bytes(n.body()));
  out.sender_email = body.sender_email();
  out.sender = to_bytes(body.sender());
  out.application = body.application();
  out.app_data = to_bytes(body.app_data());
  out.created_ms = body.created_ms();
  if (!body.content_handle().empty()) {
    auto handle = Id::from_bytes(as_bytes(body.content_handle()));
    if (!handle.ok()) return make_error(CoreErrc::kDecodeFailed, "the content handle is malformed");
    out.content_handle = *handle;
    POST_TRY_ASSIGN(out.content_key, crypto::open(recipient_keys.agreement_key,
                                                  as_bytes(body.sealed_key()), seal_context(body)));
    POST_TRY(check_bounds(out.application, 0, out.content_key.size()));
  } else if (!body.sealed_key().empty()) {
    return make_error(CoreErrc::kDecodeFailed, "a sealed key without a content handle");
  }
  return out;
}

NotificationInbox::Verdict NotificationInbox::accept(const ReceivedNotification& n) {
  if (blocked_.contains(n.sender_email)) return Verdict::kBlocked;
  if (!seen_.insert(n.id).second) return Verdict::kDuplicate;
  order_.push_back(n.id);
  if (order_.size() > capacity_) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
  return Verdict::kDeliver;
}

}  // namespace post::services
