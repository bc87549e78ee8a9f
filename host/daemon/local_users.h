// LocalUsers: the users a node serves (node.yaml's `users:`), each read from a directory made
// by `post-ca issue-user` and checked before postd starts serving: the private keys, the
// certificate, the CA it was issued by and the certificate block the node publishes for the
// user. postd refuses to start on any mismatch, naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "host/core/certificate.h"
#include "host/core/result.h"
#include "host/daemon/node_config.h"
#include "host/past/block.h"

namespace post::daemon {

struct LocalUser {
  std::filesystem::path dir;
  UserKeys keys;                  // user.key
  UserCertificate certificate;    // user.cert
  past::Block certificate_block;  // user.block: the CA-signed PAST certificate block
  std::uint32_t puzzle_bits = 0;  // asked of senders
};

// Reads the users of `entries` in order. Each directory must hold user.key (mode 0600 or
// stricter; CoreErrc::kBadKey otherwise, the message says to chmod it), user.cert (a user
// certificate of `ca`, valid at `now`, for the keys in user.key), ca.cert (`ca` itself:
// kWrongCa otherwise) and user.block (the certificate block of that same certificate, signed
// by `ca`). Two entries for one email are refused (kConfigBadValue). Every message names the
// entry ("users[1]") and the file.
Result<std::vector<LocalUser>> load_local_users(const std::vector<UserEntry>& entries,
                                                const CaCertificate& ca, std::int64_t now);

}  // namespace post::daemon
