#include "host/daemon/local_users.h"

#include <string>
#include <utility>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/post/account.h"

namespace post::daemon {
namespace {

// `error` with "users[i]: " in front, keeping its code.
Error in_entry(std::size_t i, const Error& error) {
  return Error{error.code, "users[" + std::to_string(i) + "]: " + error.message};
}

Result<LocalUser> load_user(const UserEntry& entry, const CaCertificate& ca, std::int64_t now) {
  const std::string dir = entry.dir.string();
  const std::string key_path = (entry.dir / "user.key").string();
  const std::string cert_path = (entry.dir / "user.cert").string();
  const std::string ca_path = (entry.dir / "ca.cert").string();
  const std::string block_path = (entry.dir / "user.block").string();

  // The user's CA must be the node's: a user of another deployment cannot be served here.
  POST_TRY_ASSIGN(Bytes ca_raw, read_certificate_file(ca_path, kCaCertificateLabel));
  auto user_ca = parse_ca_certificate(ca_raw);
  if (!user_ca.ok()) return Error{user_ca.error().code, ca_path + ": " + user_ca.error().message};
  if (user_ca->public_key != ca.public_key) {
    return make_error(CoreErrc::kWrongCa,
                      ca_path + " is the CA \"" + user_ca->name + "\" (key id " +
                          to_hex(user_ca->key_id()).substr(0, 16) + "...), not this node's CA \"" +
                          ca.name + "\" (key id " + to_hex(ca.key_id()).substr(0, 16) +
                          "...): issue the user with the node's CA");
  }

  LocalUser user;
  user.dir = entry.dir;
  user.puzzle_bits = entry.puzzle_bits;
  POST_TRY_ASSIGN(Bytes cert_raw, read_certificate_file(cert_path, kUserCertificateLabel));
  auto cert = verify_user_certificate(cert_raw, ca, now);
  if (!cert.ok()) return Error{cert.error().code, cert_path + ": " + cert.error().message};
  user.certificate = std::move(*cert);

  std::string passphrase;
  if (!entry.passphrase_file.empty()) {
    POST_TRY_ASSIGN(passphrase, read_passphrase_file(entry.passphrase_file.string()));
  }
  POST_TRY_ASSIGN(user.keys, read_user_keys(key_path, passphrase));
  POST_TRY_ASSIGN(Bytes signing_public, crypto::signing_public_key(user.keys.signing_key));
  POST_TRY_ASSIGN(Bytes agreement_public, crypto::agreement_public_key(user.keys.agreement_key));
  if (signing_public != user.certificate.signing_key ||
      agreement_public != user.certificate.agreement_key) {
    return make_error(CoreErrc::kBadKey,
                      key_path + " does not hold the keys of the certificate " + cert_path);
  }

  auto block_text = read_file(block_path);
  if (!block_text.ok()) {
    return Error{block_text.error().code, block_text.error().message +
                                              " (post-ca user-block --ca CA_DIR --user " + dir +
                                              " makes it)"};
  }
  auto block = past::decode_block(as_bytes(*block_text));
  if (!block.ok()) {
    return Error{block.error().code, block_path + ": " + block.error().message};
  }
  auto block_cert = services::read_user_certificate_block(*block, ca, now);
  if (!block_cert.ok()) {
    return Error{block_cert.error().code, block_path + ": " + block_cert.error().message};
  }
  if (block_cert->encoded != user.certificate.encoded) {
    return make_error(CoreErrc::kBadCertificate,
                      block_path + " holds another certificate than " + cert_path +
                          " (post-ca user-block --ca CA_DIR --user " + dir + " makes it again)");
  }
  user.certificate_block = std::move(*block);
  return user;
}

}  // namespace

Result<std::vector<LocalUser>> load_local_users(const std::vector<UserEntry>& entries,
                                                const CaCertificate& ca, std::int64_t now) {
  std::vector<LocalUser> users;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto user = load_user(entries[i], ca, now);
    if (!user.ok()) return in_entry(i, user.error());
    for (std::size_t j = 0; j < users.size(); ++j) {
      if (users[j].certificate.email == user->certificate.email) {
        return in_entry(
            i, make_error(CoreErrc::kConfigBadValue,
                          entries[i].dir.string() + " is " + user->certificate.email +
                              ", as users[" + std::to_string(j) + "] (" + users[j].dir.string() +
                              ") is: a node serves a user once"));
      }
    }
    users.push_back(std::move(*user));
  }
  return users;
}

}  // namespace post::daemon
