// Notifications: what the sender signs and seals is what the recipient opens; forged,
// misaddressed, tampered and replayed notifications are refused or dropped.
#include "host/post/notification.h"

#include <gtest/gtest.h>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/post/proto/notification.pb.h"
#include "tests/unit/post/test_users.h"

namespace post::services {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

// Signs `n`'s body again with `keys` (what a forger with some key can do) and encodes it.
Bytes resign(proto::services::Notification n, const UserKeys& keys) {
  constexpr std::string_view kContext = "post-notify-v1";
  Bytes signed_bytes(kContext.begin(), kContext.end());
  append(signed_bytes, as_bytes(n.body()));
  n.set_signature(to_string(crypto::sign(keys.signing_key, signed_bytes).value()));
  return wire::encode_message(n);
}

class Notifications : public ::testing::Test {
 protected:
  TestUser make_user(const std::string& email) { return make_test_user(ca, email, kNow); }

  OutgoingNotification mail() {
    OutgoingNotification n;
    n.application = "epost";
    n.app_data = to_bytes("Subject: hello");
    n.content_handle = Id::hash_of(as_bytes(std::string("the message")));
    n.content_key = Bytes(32, 0x5a);
    return n;
  }

  CaKey ca = create_ca("CA", kNow - 1000).value();
  TestUser ada = make_user("ada@example.org");
  TestUser bob = make_user("bob@example.org");
  TestUser eve = make_user("eve@example.org");
};

TEST_F(Notifications, TheRecipientOpensWhatTheSenderSignedAndSealed) {
  Bytes wire = make_notification(ada.keys, ada.certificate, bob.certificate, mail(), 42).value();
  auto header = peek_notification(wire);
  ASSERT_TRUE(header.ok()) << header.error().to_string();
  EXPECT_EQ(header->sender_email, "ada@example.org");
  EXPECT_EQ(header->recipient, bob.certificate.signing_key);

  auto got = open_notification(wire, ada.certificate, bob.keys, bob.certificate);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->id, header->id);
  EXPECT_EQ(got->sender_email, "ada@example.org");
  EXPECT_EQ(got->application, "epost");
  EXPECT_EQ(got->app_data, to_bytes("Subject: hello"));
  EXPECT_EQ(got->content_handle, mail().content_handle);
  EXPECT_EQ(got->content_key, Bytes(32, 0x5a));
  EXPECT_EQ(got->created_ms, 42u);

  // Two notifications of the same content are two notifications.
  Bytes again = make_notification(ada.keys, ada.certificate, bob.certificate, mail(), 42).value();
  EXPECT_NE(peek_notification(again)->id, header->id);

  // A notification without content.
  OutgoingNotification ping;
  ping.application = "im";
  ping.app_data = to_bytes("hi");
  auto plain = open_notification(
      make_notification(ada.keys, ada.certificate, bob.certificate, ping, 1).value(),
      ada.certificate, bob.keys, bob.certificate);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_FALSE(plain->content_handle.has_value());
  EXPECT_TRUE(plain->content_key.empty());
}

TEST_F(Notifications, ForgedMisaddressedAndTamperedNotificationsAreRefused) {
  Bytes wire = make_notification(ada.keys, ada.certificate, bob.certificate, mail(), 1).value();
  // Checked against someone else's certificate: not signed by them.
  EXPECT_EQ(open_notification(wire, eve.certificate, bob.keys, bob.certificate).error().code,
            CoreErrc::kBadSignature);
  // Eve cannot sign as Ada: she has not Ada's key.
  EXPECT_EQ(make_notification(eve.keys, ada.certificate, bob.certificate, mail(), 1).error().code,
            CoreErrc::kBadKey);
  // Eve signs with her own key a body that names Ada as the sender.
  {
    proto::services::Notification n;
    ASSERT_TRUE(n.ParseFromArray(wire.data(), static_cast<int>(wire.size())));
    Bytes forged = resign(n, eve.keys);
    EXPECT_EQ(open_notification(forged, ada.certificate, bob.keys, bob.certificate).error().code,
              CoreErrc::kBadSignature);
    // ...and checked against her own certificate, the body names another sender.
    EXPECT_EQ(open_notification(forged, eve.certificate, bob.keys, bob.certificate).error().code,
              CoreErrc::kBadSignature);
  }
  // Sent to Bob, opened by Eve.
  EXPECT_EQ(open_notification(wire, ada.certificate, eve.keys, eve.certificate).error().code,
            CoreErrc::kBadCertificate);
  // Every flipped bit anywhere is refused (the signature covers the body, the sealed key
  // included).
  for (std::size_t i = 0; i < wire.size(); ++i) {
    Bytes bad = wire;
    bad[i] ^= 0x10;
    EXPECT_FALSE(open_notification(bad, ada.certificate, bob.keys, bob.certificate).ok())
        << "byte " << i;
  }
  // A key sealed for one notification does not open in another, even re-signed by its
  // sender: the seal is bound to the sender, recipient, content handle and nonce.
  {
    Bytes other = make_notification(ada.keys, ada.certificate, bob.certificate, mail(), 2).value();
    proto::services::Notification a, b;
    ASSERT_TRUE(a.ParseFromArray(wire.data(), static_cast<int>(wire.size())));
    ASSERT_TRUE(b.ParseFromArray(other.data(), static_cast<int>(other.size())));
    proto::services::NotificationBody body_a, body_b;
    ASSERT_TRUE(body_a.ParseFromString(a.body()));
    ASSERT_TRUE(body_b.ParseFromString(b.body()));
    body_b.set_sealed_key(body_a.sealed_key());
    b.set_body(body_b.SerializeAsString());
    auto moved = open_notification(resign(b, ada.keys), ada.certificate, bob.keys,
                                   bob.certificate);
    ASSERT_FALSE(moved.ok());
    EXPECT_EQ(moved.error().code, CoreErrc::kDecryptFailed);
  }
}

TEST_F(Notifications, TheInboxDeliversEachNotificationOnceAndRefusesBlockedSenders) {
  NotificationInbox inbox(/*capacity=*/2);
  auto open = [&](const TestUser& from) {
    return open_notification(
               make_notification(from.keys, from.certificate, bob.certificate, mail(), 1).value(),
               from.certificate, bob.keys, bob.certificate)
        .value();
  };
  auto first = open(ada);
  EXPECT_EQ(inbox.accept(first), NotificationInbox::Verdict::kDeliver);
  EXPECT_EQ(inbox.accept(first), NotificationInbox::Verdict::kDuplicate);  // a replay
  inbox.block("eve@example.org");
  EXPECT_EQ(inbox.accept(open(eve)), NotificationInbox::Verdict::kBlocked);
  inbox.unblock("eve@example.org");
  EXPECT_EQ(inbox.accept(open(eve)), NotificationInbox::Verdict::kDeliver);
}

TEST_F(Notifications, BoundsAreCheckedWhenBuilding) {
  auto n = mail();
  n.app_data = Bytes(kMaxAppDataBytes + 1, 1);
  EXPECT_EQ(make_notification(ada.keys, ada.certificate, bob.certificate, n, 1).error().code,
            CoreErrc::kBadLength);
  n = mail();
  n.application = "";
  EXPECT_EQ(make_notification(ada.keys, ada.certificate, bob.certificate, n, 1).error().code,
            CoreErrc::kBadLength);
  n = mail();
  n.content_key.clear();  // a handle without its key
  EXPECT_EQ(make_notification(ada.keys, ada.certificate, bob.certificate, n, 1).error().code,
            CoreErrc::kBadLength);
}

}  // namespace
}  // namespace post::services
