// Presence (issue 6, item 5): the node a user trusts says so. While it serves the user it
// keeps the user's identity block naming it as the contact node, and multicasts a signed
// announcement on the user's presence group (Scribe group SHA-256 of the user's signing key)
// every `interval`. Whoever holds something for the user (a notification, say) subscribes to
// that group and learns where to deliver, and when the user is back.
//
// Sans-I/O over ScribeNode and UserDirectory; single-threaded, on the node's executor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "host/core/certificate.h"
#include "host/core/result.h"
#include "host/net/clock.h"
#include "host/post/account.h"
#include "host/scribe/scribe_node.h"

namespace post::services {

// The Scribe group a user's presence is announced on.
Id presence_group(ByteView user_signing_key);

// A checked announcement.
struct Presence {
  net::NodeHandle node;
  std::uint64_t sequence = 0;
  Bytes data;
};

// Builds the announcement payload for `keys`'s user, served by `node`.
Result<Bytes> make_presence(const UserKeys& keys, const net::NodeHandle& node,
                            std::uint64_t sequence, ByteView data);

// Checks an announcement received on `user`'s presence group: signed by the user's signing
// key, naming that user, data within kMaxPresenceBytes. Anything else is refused
// (CoreErrc::kDecodeFailed, kBadSignature, kBadLength).
Result<Presence> read_presence(ByteView payload, const UserCertificate& user);

struct PresenceConfig {
  // Announcements are multicast this often (and once at once when serving starts).
  net::Duration interval = std::chrono::seconds(60);
};

class PresenceAnnouncer {
 public:
  // `scribe`, `directory` and `clock` are not owned and must outlive the announcer. `local`
  // is this node.
  PresenceAnnouncer(scribe::ScribeNode& scribe, UserDirectory& directory, net::Clock& clock,
                    net::NodeHandle local, PresenceConfig config);
  ~PresenceAnnouncer();
  PresenceAnnouncer(const PresenceAnnouncer&) = delete;
  PresenceAnnouncer& operator=(const PresenceAnnouncer&) = delete;

  // Starts serving the user: writes the identity block with this node as contact (keeping
  // `identity`'s log heads and presence data), then announces. `done` reports the identity
  // write (announcing goes on regardless until stop()). `now_version` as in
  // UserDirectory::update_identity.
  void serve(const UserKeys& keys, const UserCertificate& user, Identity identity,
             std::uint64_t now_version, std::function<void(Status)> done);
  // Stops announcing for the user with this email.
  void stop(const std::string& email);

  std::uint64_t announcements() const { return announcements_; }

 private:
  struct Served {
    UserKeys keys;
    Id group;
    Bytes data;
    std::uint64_t sequence = 0;
    net::TimerId timer = net::kNoTimer;
  };
  void announce(const std::string& email);

  scribe::ScribeNode& scribe_;
  UserDirectory& directory_;
  net::Clock& clock_;
  net::NodeHandle local_;
  PresenceConfig config_;
  std::map<std::string, Served> served_;
  std::uint64_t announcements_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::services
