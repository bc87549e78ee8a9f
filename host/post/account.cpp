#include "host/post/account.h"

#include <algorithm>
#include <utility>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/past/errors.h"
#include "host/pastry/handle_codec.h"
#include "host/post/proto/account.pb.h"

namespace post::services {

namespace pb = proto::services;

namespace {

Error too_long(const std::string& what) {
  return make_error(CoreErrc::kBadLength, what);
}

Status check_identity(const Identity& identity) {
  if (identity.log_heads.size() > kMaxLogHeads) {
    return too_long("an identity names at most " + std::to_string(kMaxLogHeads) + " logs");
  }
  for (const auto& head : identity.log_heads) {
    if (head.name.empty() || head.name.size() > kMaxLogNameBytes) {
      return too_long("a log name must be 1 to " + std::to_string(kMaxLogNameBytes) + " bytes");
    }
  }
  if (identity.presence.size() > kMaxPresenceBytes) {
    return too_long("presence data is at most " + std::to_string(kMaxPresenceBytes) + " bytes");
  }
  if (identity.puzzle_bits > kMaxPuzzleBits) {
    return too_long("a sender puzzle is at most " + std::to_string(kMaxPuzzleBits) + " bits");
  }
  return ok_status();
}

}  // namespace

std::string user_certificate_name(std::string_view email) {
  return "user:" + std::string(email);
}

Result<past::Block> make_user_certificate_block(const CaKey& ca, const UserCertificate& user) {
  return past::make_certificate_block(ca.signing_key, user_certificate_name(user.email),
                                      user.encoded);
}

Result<UserCertificate> read_user_certificate_block(const past::Block& block,
                                                    const CaCertificate& ca, std::int64_t now) {
  if (block.kind != past::BlockKind::kCertificate) {
    return make_error(past::PastErrc::kKindConflict,
                      "a user's certificate is a certificate block, got a " +
                          std::string(past::kind_name(block.kind)) + " block");
  }
  POST_TRY(past::validate_block(past::handle_of(block), block, ca.public_key));
  POST_TRY_ASSIGN(UserCertificate user, verify_user_certificate(block.data, ca, now));
  if (block.name != user_certificate_name(user.email)) {
    return make_error(CoreErrc::kBadCertificate, "the block is named '" + block.name +
                                                     "' but holds the certificate of " +
                                                     user.email);
  }
  return user;
}

Result<past::Block> make_identity_block(const UserKeys& keys, const Identity& identity,
                                        std::uint64_t version) {
  POST_TRY(check_identity(identity));
  pb::IdentityRecord record;
  record.set_version(1);
  if (identity.contact) pastry::to_proto(*identity.contact, record.mutable_contact());
  for (const auto& head : identity.log_heads) {
    auto* h = record.add_log_heads();
    h->set_name(head.name);
    pastry::set_id(h->mutable_handle(), head.handle);
  }
  record.set_presence(to_string(identity.presence));
  record.set_puzzle_bits(identity.puzzle_bits);
  return past::make_public_key_block(keys.signing_key, version, wire::encode_message(record));
}

Result<Identity> read_identity_block(const past::Block& block, const UserCertificate& user) {
  if (block.kind != past::BlockKind::kPublicKey) {
    return make_error(past::PastErrc::kKindConflict,
                      "an identity is a public-key block, got a " +
                          std::string(past::kind_name(block.kind)) + " block");
  }
  if (block.public_key != user.signing_key) {
    return make_error(CoreErrc::kBadSignature,
                      "the identity block is signed by another key than " + user.email + "'s");
  }
  POST_TRY(past::validate_block(past::public_key_handle(user.signing_key), block, {}));
  POST_TRY_ASSIGN(auto record,
                  wire::decode_message<pb::IdentityRecord>(block.data, "identity record"));
  if (record.version() != 1) {
    return make_error(CoreErrc::kDecodeFailed,
                      "identity record version " + std::to_string(record.version()));
  }
  Identity identity;
  identity.version = block.timestamp;
  if (record.has_contact()) {
    identity.contact = pastry::from_proto(record.contact());
    if (!identity.contact) return make_error(CoreErrc::kDecodeFailed, "malformed contact node");
  }
  if (record.log_heads_size() > static_cast<int>(kMaxLogHeads)) {
    return too_long("the identity names " + std::to_string(record.log_heads_size()) + " logs");
  }
  for (const auto& h : record.log_heads()) {
    auto handle = pastry::id_from_wire(h.handle());
    if (!handle) return make_error(CoreErrc::kDecodeFailed, "a log head handle is not 32 bytes");
    identity.log_heads.push_back(LogHeadRef{h.name(), *handle});
  }
  identity.presence = to_bytes(record.presence());
  identity.puzzle_bits = record.puzzle_bits();
  POST_TRY(check_identity(identity));
  return identity;
}

// ---------------------------------------------------------------------------------------
// UserDirectory
// ---------------------------------------------------------------------------------------

UserDirectory::UserDirectory(past::PastNode& past, CaCertificate ca)
    : past_(past), ca_(std::move(ca)) {}

UserDirectory::~UserDirectory() = default;

void UserDirectory::publish_certificate(const past::Block& certificate_block,
                                        std::function<void(Status)> done) {
  past_.insert(certificate_block, [done = std::move(done)](Result<past::InsertResult> r) {
    done(r.ok() ? ok_status() : Status(std::move(r).error()));
  });
}

void UserDirectory::update_identity(const UserKeys& keys, const Identity& identity,
                                    std::uint64_t now_version,
                                    std::function<void(Result<std::uint64_t>)> done) {
  auto public_key = crypto::signing_public_key(keys.signing_key);
  if (!public_key.ok()) {
    done(std::move(public_key).error());
    return;
  }
  std::string who = to_hex(*public_key);
  std::uint64_t version = now_version;
  if (auto it = versions_.find(who); it != versions_.end()) {
    version = std::max(version, it->second + 1);
  }
  auto block = make_identity_block(keys, identity, version);
  if (!block.ok()) {
    done(std::move(block).error());
    return;
  }
  std::weak_ptr<char> alive = alive_;
  past_.insert(*block, [this, alive, who, version,
                        done = std::move(done)](Result<past::InsertResult> r) {
    if (!r.ok()) {
      done(std::move(r).error());
      return;
    }
    if (!alive.expired()) versions_[who] = std::max(versions_[who], version);
    done(version);
  });
}

void UserDirectory::find(const std::string& email, std::int64_t now,
                         std::function<void(Result<UserRecord>)> done) {
  Id handle = past::certificate_handle(user_certificate_name(email));
  std::weak_ptr<char> alive = alive_;
  past_.lookup(handle, [this, alive, email, now,
                        done = std::move(done)](Result<past::Block> block) mutable {
    if (alive.expired()) return;
    if (!block.ok()) {
      done(Error{block.error().code, "no certificate for " + email + ": " +
                                         block.error().message});
      return;
    }
    auto user = read_user_certificate_block(*block, ca_, now);
    if (!user.ok()) {
      done(std::move(user).error());
      return;
    }
    Id identity_handle = past::public_key_handle(user->signing_key);
    past_.lookup(identity_handle, [this, alive, user = std::move(*user),
                                   done = std::move(done)](Result<past::Block> b) mutable {
      if (alive.expired()) return;
      UserRecord record{std::move(user), std::nullopt};
      if (!b.ok()) {
        if (b.error().code == past::PastErrc::kNotFound) {
          done(std::move(record));  // a user who never published an identity
        } else {
          done(std::move(b).error());
        }
        return;
      }
      auto identity = read_identity_block(*b, record.certificate);
      if (!identity.ok()) {
        done(std::move(identity).error());
        return;
      }
      std::string who = to_hex(record.certificate.signing_key);
      auto& seen = versions_[who];
      if (identity->version < seen) {
        done(make_error(past::PastErrc::kStaleTimestamp,
                        "the identity of " + record.certificate.email + " went back from version " +
                            std::to_string(seen) + " to " + std::to_string(identity->version)));
        return;
      }
      seen = identity->version;
      record.identity = std::move(*identity);
      done(std::move(record));
    });
  });
}

}  // namespace post::services
