#include "host/post/errors.h"

#include <string>

namespace post::services {
namespace {

class PostCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "post"; }
  std::string message(int value) const override {
    switch (static_cast<PostErrc>(value)) {
      case PostErrc::kBadOptions: return "invalid secure store options";
      case PostErrc::kTooLarge: return "object larger than the size limit";
      case PostErrc::kWrongBlockKind: return "handle does not name a content-hash block";
      case PostErrc::kDecryptFailed: return "block does not decrypt under the key";
      case PostErrc::kKeyMismatch: return "decrypted content does not hash to its key";
      case PostErrc::kUnknownSalt: return "content salted with a salt this node does not hold";
      case PostErrc::kMalformedPiece: return "malformed piece";
      case PostErrc::kUnknownPieceKind: return "piece of a kind this version does not know";
      case PostErrc::kMalformedManifest: return "malformed manifest";
      case PostErrc::kChunkMismatch: return "chunk does not match its manifest";
      case PostErrc::kMalformedLogHead: return "malformed log head";
      case PostErrc::kMalformedCluster: return "malformed log cluster";
      case PostErrc::kBrokenChain: return "log chain does not link up";
      case PostErrc::kRolledBack: return "log head older than one already seen";
      case PostErrc::kForkedLog: return "two different log heads with the same version";
      case PostErrc::kNoSnapshot: return "the log has no snapshot";
      case PostErrc::kNotALogReader: return "this reader holds no key for the encrypted log";
      case PostErrc::kRecordTooLarge: return "log record larger than the size limit";
      case PostErrc::kSenderBlocked: return "the recipient blocks this sender";
      case PostErrc::kNotificationRefused: return "the recipient's node refused the notification";
      case PostErrc::kNotDelivered: return "no node took the notification";
      case PostErrc::kNotServedHere: return "the user is not served by this node";
      case PostErrc::kUnknownRecipient: return "no such user";
    }
    return "unknown post error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& post_category() {
  static const PostCategory category;
  return category;
}

}  // namespace post::services
