#include "host/core/certificate.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include <algorithm>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/proto/identity.pb.h"

namespace post {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

struct Fixture : ::testing::Test {
  CaKey ca = create_ca("unit CA", kNow - 100).value();
  crypto::SigningKeyPair node_keys = crypto::generate_signing_key();
  Id node_id = Id::hash_of(as_bytes("node"));

  NodeCertificate issue(std::int64_t from = kNow - 10, std::int64_t to = kNow + 1000) {
    return issue_node_certificate(ca, node_id, node_keys.public_key, "acme", from, to).value();
  }
};

using Certificates = Fixture;

TEST_F(Certificates, IssuedNodeCertificateVerifiesAndCarriesItsFields) {
  auto cert = issue();
  auto back = verify_node_certificate(cert.encoded, ca.certificate, kNow);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->node_id, node_id);
  EXPECT_EQ(back->public_key, node_keys.public_key);
  EXPECT_EQ(back->ring, "acme");
  EXPECT_EQ(back->serial, cert.serial);
}

TEST_F(Certificates, CertificateOfAnotherCaIsRefusedAsWrongCa) {
  auto other = create_ca("other CA", kNow).value();
  auto cert = issue();
  auto r = verify_node_certificate(cert.encoded, other.certificate, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CoreErrc::kWrongCa);
}

TEST_F(Certificates, ForgedIssuerIdWithoutTheKeyFailsTheSignature) {
  // A certificate claiming our CA's key id but signed by another key.
  auto other = create_ca("forger", kNow).value();
  CaKey forger{ca.certificate, other.signing_key};
  auto forged =
      issue_node_certificate(forger, node_id, node_keys.public_key, "", kNow - 1, kNow + 1).value();
  auto r = verify_node_certificate(forged.encoded, ca.certificate, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CoreErrc::kBadSignature);
}

TEST_F(Certificates, EveryTamperedByteIsRefused) {
  auto cert = issue();
  for (std::size_t i = 0; i < cert.encoded.size(); ++i) {
    Bytes tampered = cert.encoded;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(verify_node_certificate(tampered, ca.certificate, kNow).ok()) << "byte " << i;
  }
}

TEST_F(Certificates, OutsideTheValidityWindowIsRefused) {
  auto cert = issue(kNow + 10, kNow + 20);
  EXPECT_EQ(verify_node_certificate(cert.encoded, ca.certificate, kNow).error().code,
            CoreErrc::kCertificateExpired);
  EXPECT_TRUE(verify_node_certificate(cert.encoded, ca.certificate, kNow + 10).ok());
  EXPECT_EQ(verify_node_certificate(cert.encoded, ca.certificate, kNow + 20).error().code,
            CoreErrc::kCertificateExpired);
}

TEST_F(Certificates, CaCertificateIsSelfSignedAndChecked) {
  auto parsed = parse_ca_certificate(ca.certificate.encoded);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->name, "unit CA");
  Bytes tampered = ca.certificate.encoded;
  tampered[tampered.size() / 2] ^= 0x40;
  EXPECT_FALSE(parse_ca_certificate(tampered).ok());
  // A node certificate is not a CA certificate.
  EXPECT_FALSE(parse_ca_certificate(issue().encoded).ok());
}

TEST(Armor, RoundTripsAndChecksTheLabel) {
  Bytes data = crypto::random_bytes(200);
  std::string text = armor(kNodeCertificateLabel, data);
  EXPECT_EQ(text.rfind("-----BEGIN POST NODE CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(dearmor(kNodeCertificateLabel, text).value(), data);
  EXPECT_FALSE(dearmor(kCaCertificateLabel, text).ok());
}

class KeyFiles : public Fixture {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("post-keyfile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(KeyFiles, PrivateKeyIsWrittenWithMode0600AndReadBack) {
  std::string path = (dir / "node.key").string();
  ASSERT_TRUE(write_private_key(path, KeyKind::kNode, node_keys.private_key).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_private_key(path, KeyKind::kNode).value(), node_keys.private_key);
  EXPECT_FALSE(read_private_key(path, KeyKind::kCa).ok());
}

TEST_F(KeyFiles, KeyReadableByOthersIsRefusedWithAHint) {
  std::string path = (dir / "loose.key").string();
  ASSERT_TRUE(write_private_key(path, KeyKind::kNode, node_keys.private_key).ok());
  ::chmod(path.c_str(), 0644);
  auto r = read_private_key(path, KeyKind::kNode);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
}

TEST_F(KeyFiles, NodeIdentityLoadsAndRefusesAMismatchedKey) {
  auto cert = issue(wall_clock_seconds() - 10, wall_clock_seconds() + 1000);
  std::string key = (dir / "node.key").string(), crt = (dir / "node.cert").string(),
              ca_crt = (dir / "ca.cert").string();
  ASSERT_TRUE(write_private_key(key, KeyKind::kNode, node_keys.private_key).ok());
  ASSERT_TRUE(write_file(crt, armor(kNodeCertificateLabel, cert.encoded), false).ok());
  ASSERT_TRUE(write_file(ca_crt, armor(kCaCertificateLabel, ca.certificate.encoded), false).ok());
  auto identity = load_node_identity(key, crt, ca_crt, wall_clock_seconds());
  ASSERT_TRUE(identity.ok()) << identity.error().to_string();
  EXPECT_EQ(identity->certificate.node_id, node_id);

  auto other = crypto::generate_signing_key();
  ASSERT_TRUE(write_private_key(key, KeyKind::kNode, other.private_key).ok());
  auto mismatch = load_node_identity(key, crt, ca_crt, wall_clock_seconds());
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("is not the key of"), std::string::npos);
}

// ---- user certificates ----

struct UserCertificates : Fixture {
  crypto::SigningKeyPair signing = crypto::generate_signing_key();
  crypto::AgreementKeyPair agreement = crypto::generate_agreement_key();

  Result<UserCertificate> issue_user(std::string name = "Ada Lovelace",
                                     std::string email = "ada@example.org") {
    return issue_user_certificate(ca, std::move(name), std::move(email), signing.public_key,
                                  agreement.public_key, kNow - 10, kNow + 1000);
  }
};

TEST_F(UserCertificates, IssuedUserCertificateVerifiesAndCarriesBothKeys) {
  auto cert = issue_user();
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  auto back = verify_user_certificate(cert->encoded, ca.certificate, kNow);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->name, "Ada Lovelace");
  EXPECT_EQ(back->email, "ada@example.org");
  EXPECT_EQ(back->signing_key, signing.public_key);
  EXPECT_EQ(back->agreement_key, agreement.public_key);
  EXPECT_EQ(back->serial, cert->serial);
  // A user certificate is not a node certificate, nor the other way round.
  EXPECT_EQ(verify_node_certificate(cert->encoded, ca.certificate, kNow).error().code,
            CoreErrc::kBadCertificate);
  EXPECT_EQ(verify_user_certificate(issue().encoded, ca.certificate, kNow).error().code,
            CoreErrc::kBadCertificate);
}

TEST_F(UserCertificates, AnotherCaTamperingAndExpiryAreRefused) {
  auto cert = issue_user().value();
  CaKey other = create_ca("other CA", kNow).value();
  EXPECT_EQ(verify_user_certificate(cert.encoded, other.certificate, kNow).error().code,
            CoreErrc::kWrongCa);
  for (std::size_t i = 0; i < cert.encoded.size(); ++i) {
    Bytes bad = cert.encoded;
    bad[i] ^= 0x01;
    EXPECT_FALSE(verify_user_certificate(bad, ca.certificate, kNow).ok()) << "byte " << i;
  }
  EXPECT_EQ(verify_user_certificate(cert.encoded, ca.certificate, kNow + 1000).error().code,
            CoreErrc::kCertificateExpired);
  EXPECT_EQ(verify_user_certificate(cert.encoded, ca.certificate, kNow - 11).error().code,
            CoreErrc::kCertificateExpired);
}

TEST_F(UserCertificates, BadNamesEmailsAndKeysAreRefusedWhenIssuing) {
  EXPECT_EQ(issue_user("", "ada@example.org").error().code, CoreErrc::kBadCertificate);
  EXPECT_EQ(issue_user("Ada\nLovelace", "ada@example.org").error().code,
            CoreErrc::kBadCertificate);
  for (const char* email : {"", "ada", "@example.org", "ada@", "a@b@c", "ada lovelace@x.org",
                            "<ada@example.org>"}) {
    auto r = issue_user("Ada", email);
    ASSERT_FALSE(r.ok()) << email;
    EXPECT_EQ(r.error().code, CoreErrc::kBadCertificate) << email;
  }
  EXPECT_EQ(issue_user("Ada", std::string(250, 'a') + "@x.org").error().code,
            CoreErrc::kBadCertificate);
  EXPECT_EQ(issue_user_certificate(ca, "Ada", "ada@example.org", Bytes(31, 1),
                                   agreement.public_key, kNow, kNow + 1)
                .error()
                .code,
            CoreErrc::kBadKey);
}

TEST_F(KeyFiles, UserKeysAreWrittenWithMode0600AndReadBackBoth) {
  std::string path = (dir / "user.key").string();
  auto signing = crypto::generate_signing_key();
  auto agreement = crypto::generate_agreement_key();
  ASSERT_TRUE(write_user_keys(path, UserKeys{signing.private_key, agreement.private_key}).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto keys = read_user_keys(path);
  ASSERT_TRUE(keys.ok()) << keys.error().to_string();
  EXPECT_EQ(keys->signing_key, signing.private_key);
  EXPECT_EQ(keys->agreement_key, agreement.private_key);
  // A node key file is not a user's, and a user's key file is not a node's.
  EXPECT_FALSE(read_private_key(path, KeyKind::kNode).ok());
  std::string node_key = (dir / "node.key").string();
  ASSERT_TRUE(write_private_key(node_key, KeyKind::kNode, node_keys.private_key).ok());
  EXPECT_FALSE(read_user_keys(node_key).ok());
  ::chmod(path.c_str(), 0640);
  auto loose = read_user_keys(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message.find("chmod 600"), std::string::npos);
}

TEST_F(KeyFiles, APassphraseProtectedUserKeyFileOpensOnlyWithItsPassphrase) {
  std::string path = (dir / "user.key").string();
  auto signing = crypto::generate_signing_key();
  auto agreement = crypto::generate_agreement_key();
  const UserKeys keys{signing.private_key, agreement.private_key};
  ASSERT_TRUE(write_user_keys(path, keys, "correct horse").ok());
  EXPECT_TRUE(key_file_is_protected(path));
  // The keys are not in the file in the clear.
  auto text = read_file(path).value();
  auto raw = dearmor(kPrivateKeyLabel, text).value();
  EXPECT_EQ(std::search(raw.begin(), raw.end(), signing.private_key.begin(),
                        signing.private_key.end()),
            raw.end());

  auto opened = read_user_keys(path, "correct horse");
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->signing_key, keys.signing_key);
  EXPECT_EQ(opened->agreement_key, keys.agreement_key);

  auto none = read_user_keys(path);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("passphrase"), std::string::npos) << none.error().message;
  auto wrong = read_user_keys(path, "battery staple");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("wrong passphrase"), std::string::npos);

  // An unprotected file reads with or without a passphrase.
  std::string plain = (dir / "plain.key").string();
  ASSERT_TRUE(write_user_keys(plain, keys).ok());
  EXPECT_FALSE(key_file_is_protected(plain));
  EXPECT_TRUE(read_user_keys(plain, "ignored").ok());
}

TEST(Scrypt, MatchesRfc7914) {
  // RFC 7914 section 12, second vector: "password", "NaCl", N = 1024, r = 8, p = 16.
  auto out = crypto::scrypt(as_bytes(std::string_view("password")),
                            as_bytes(std::string_view("NaCl")), 10, 8, 16, 64);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(to_hex(*out),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
  EXPECT_FALSE(crypto::scrypt({}, {}, 0, 8, 1, 32).ok());
  EXPECT_FALSE(crypto::scrypt({}, {}, 10, 0, 1, 32).ok());
}

TEST(ReadFile, NamesThePathWhenItIsMissing) {
  auto r = read_file("/nonexistent/post.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/post.yaml"), std::string::npos);
}

}  // namespace
}  // namespace post
