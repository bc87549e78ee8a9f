#include "host/post/presence.h"

#include <utility>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/pastry/handle_codec.h"
#include "host/post/proto/account.pb.h"

namespace post::services {

namespace pb = proto::services;

namespace {

constexpr std::string_view kPresenceContext = "post-presence-v1";

Bytes signed_presence(const std::string& body) {
  Bytes out(kPresenceContext.begin(), kPresenceContext.end());
  append(out, as_bytes(body));
  return out;
}

}  // namespace

Id presence_group(ByteView user_signing_key) {
  return Id::hash_of(user_signing_key);
}

Result<Bytes> make_presence(const UserKeys& keys, const net::NodeHandle& node,
                            std::uint64_t sequence, ByteView data) {
  if (data.size() > kMaxPresenceBytes) {
    return make_error(CoreErrc::kBadLength,
                      "presence data is at most " + std::to_string(kMaxPresenceBytes) + " bytes");
  }
  POST_TRY_ASSIGN(Bytes user, crypto::signing_public_key(keys.signing_key));
  pb::PresenceBody body;
  body.set_user(to_string(user));
  pastry::to_proto(node, body.mutable_node());
  body.set_sequence(sequence);
  body.set_data(to_string(data));
  std::string encoded = body.SerializeAsString();
  POST_TRY_ASSIGN(Bytes signature, crypto::sign(keys.signing_key, signed_presence(encoded)));
  pb::PresenceAnnouncement announcement;
  announcement.set_body(std::move(encoded));
  announcement.set_signature(to_string(signature));
  return wire::encode_message(announcement);
}

Result<Presence> read_presence(ByteView payload, const UserCertificate& user) {
  POST_TRY_ASSIGN(auto announcement,
                  wire::decode_message<pb::PresenceAnnouncement>(payload, "presence announcement"));
  if (!crypto::verify(user.signing_key, signed_presence(announcement.body()),
                      as_bytes(announcement.signature()))) {
    return make_error(CoreErrc::kBadSignature,
                      "the presence announcement is not signed by " + user.email);
  }
  POST_TRY_ASSIGN(auto body, wire::decode_message<pb::PresenceBody>(
                                 as_bytes(announcement.body()), "presence body"));
  if (!constant_time_equal(as_bytes(body.user()), user.signing_key)) {
    return make_error(CoreErrc::kBadSignature, "the announcement names another user");
  }
  if (body.data().size() > kMaxPresenceBytes) {
    return make_error(CoreErrc::kBadLength, "presence data over its bound");
  }
  auto node = pastry::from_proto(body.node());
  if (!node) return make_error(CoreErrc::kDecodeFailed, "the announcement's node is malformed");
  return Presence{*node, body.sequence(), to_bytes(body.data())};
}

// ---------------------------------------------------------------------------------------
// PresenceAnnouncer
// ---------------------------------------------------------------------------------------

PresenceAnnouncer::PresenceAnnouncer(scribe::ScribeNode& scribe, UserDirectory& directory,
                                     net::Clock& clock, net::NodeHandle local,
                                     PresenceConfig config)
    : scribe_(scribe),
      directory_(directory),
      clock_(clock),
      local_(std::move(local)),
      config_(config) {}

PresenceAnnouncer::~PresenceAnnouncer() {
  for (auto& [email, s] : served_) clock_.cancel(s.timer);
}

void PresenceAnnouncer::serve(const UserKeys& keys, const UserCertificate& user,
                              Identity identity, std::uint64_t now_version,
                              std::function<void(Status)> done) {
  stop(user.email);
  Served& s = served_[user.email];
  s.keys = keys;
  s.group = presence_group(user.signing_key);
  s.data = identity.presence;
  s.sequence = now_version;
  identity.contact = local_;
  std::weak_ptr<char> alive = alive_;
  std::string email = user.email;
  directory_.update_identity(keys, identity, now_version,
                             [this, alive, email, done = std::move(done)](Result<std::uint64_t> r) {
                               if (!alive.expired() && served_.contains(email)) announce(email);
                               done(r.ok() ? ok_status() : Status(std::move(r).error()));
                             });
}

void PresenceAnnouncer::stop(const std::string& email) {
  auto it = served_.find(email);
  if (it == served_.end()) return;
  clock_.cancel(it->second.timer);
  served_.erase(it);
}

void PresenceAnnouncer::announce(const std::string& email) {
  auto it = served_.find(email);
  if (it == served_.end()) return;
  Served& s = it->second;
  clock_.cancel(s.timer);
  auto payload = make_presence(s.keys, local_, s.sequence++, s.data);
  if (payload.ok()) {
    scribe_.publish(s.group, std::move(*payload));
    ++announcements_;
  }
  s.timer = clock_.schedule(config_.interval, [this, email] { announce(email); });
}

}  // namespace post::services
