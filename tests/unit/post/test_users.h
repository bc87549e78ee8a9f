// Users for the host/post tests: fresh key pairs and a certificate from `ca`, valid around
// `now`.
#pragma once

#include <cstdint>
#include <string>

#include "host/core/certificate.h"
#include "host/core/crypto.h"

namespace post::services {

struct TestUser {
  UserKeys keys;
  UserCertificate certificate;
};

inline TestUser make_test_user(const CaKey& ca, const std::string& email, std::int64_t now) {
  auto signing = crypto::generate_signing_key();
  auto agreement = crypto::generate_agreement_key();
  return TestUser{UserKeys{signing.private_key, agreement.private_key},
                  issue_user_certificate(ca, "Test User", email, signing.public_key,
                                         agreement.public_key, now - 100, now + 100000)
                      .value()};
}

}  // namespace post::services
