// Notifications (issue 6, item 3), the message format and its checks: a notification names
// the sender, the recipient, application data and optionally a content handle whose key is
// sealed to the recipient; the sender signs it. The recipient checks the signature against
// the sender's certificate, that it is the recipient, and opens the key; a NotificationInbox
// delivers each notification once however often it arrives (at-least-once on the wire,
// exactly-once to the application) and refuses senders on its block list.
//
// Delivery over the network (direct, or through delegates that wait for the recipient's
// presence) is NotificationService (notification_service.h). Format:
// docs/protocol/notifications.md.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>

#include "host/core/certificate.h"
#include "host/core/id.h"
#include "host/core/result.h"

namespace post::services {

inline constexpr std::size_t kMaxAppDataBytes = 16 * 1024;
inline constexpr std::size_t kMaxApplicationNameBytes = 64;
inline constexpr std::size_t kMaxContentKeyBytes = 64;

// What a sender says.
struct OutgoingNotification {
  std::string application;
  Bytes app_data;
  std::optional<Id> content_handle;
  Bytes content_key;  // sealed to the recipient; empty without content
};

// What the recipient gets once everything checked.
struct ReceivedNotification {
  Id id;  // SHA-256 of the signed notification's body: the same notification, the same id
  std::string sender_email;
  Bytes sender;  // signing key
  std::string application;
  Bytes app_data;
  std::optional<Id> content_handle;
  Bytes content_key;
  std::uint64_t created_ms = 0;
};

// Refuses (CoreErrc::kBadLength, saying the bound) an application name that is empty or over
// kMaxApplicationNameBytes, app_data over kMaxAppDataBytes and a content key over
// kMaxContentKeyBytes: what make_notification and the decoders refuse, for callers that want
// to refuse it before any work.
Status check_notification_bounds(const OutgoingNotification& notification);

// The unchecked facts a recipient needs to find the sender's certificate.
struct NotificationHeader {
  Id id;
  std::string sender_email;
  Bytes recipient;  // signing key
};

// Builds and signs a notification from `sender_keys`' user (`sender`) to `recipient`.
// Refuses data over its bounds (CoreErrc::kBadLength) and bad keys (kBadKey).
Result<Bytes> make_notification(const UserKeys& sender_keys, const UserCertificate& sender,
                                const UserCertificate& recipient,
                                const OutgoingNotification& notification,
                                std::uint64_t created_ms);

// Decodes just enough to know whose certificate checks it (nothing is verified yet).
Result<NotificationHeader> peek_notification(ByteView encoded);

// Checks a notification for the recipient (`recipient_keys`, `recipient`) against the
// sender's certificate: signed by that certificate's key (kBadSignature), from the sender it
// names (kBadSignature), to this recipient (kBadCertificate), within bounds (kBadLength /
// kDecodeFailed), and the content key opens (kDecryptFailed: tampered or not for us).
Result<ReceivedNotification> open_notification(ByteView encoded, const UserCertificate& sender,
                                               const UserKeys& recipient_keys,
                                               const UserCertificate& recipient);

// Exactly-once delivery to the application: remembers the ids it delivered (the last
// `capacity`), and refuses senders on the block list.
class NotificationInbox {
 public:
  explicit NotificationInbox(std::size_t capacity = 100000) : capacity_(capacity) {}

  enum class Verdict { kDeliver, kDuplicate, kBlocked };
  // Whether `n` goes to the application; a kDeliver is remembered.
  Verdict accept(const ReceivedNotification& n);

  // Whether `id` was delivered (among the last `capacity`), and whether `sender_email` is
  // blocked: what accept() would say, without remembering anything.
  bool delivered(const Id& id) const { return seen_.contains(id); }
  bool blocked(const std::string& sender_email) const { return blocked_.contains(sender_email); }

  void block(const std::string& sender_email) { blocked_.insert(sender_email); }
  void unblock(const std::string& sender_email) { blocked_.erase(sender_email); }

 private:
  std::size_t capacity_;
  std::unordered_set<Id> seen_;
  std::deque<Id> order_;
  std::set<std::string> blocked_;
};

}  // namespace post::services
