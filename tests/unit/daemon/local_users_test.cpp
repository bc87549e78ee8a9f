// LocalUsers: a user directory as `post-ca issue-user` makes it loads; each way it can be
// wrong (a key others can read, another CA, files that do not belong together, a user listed
// twice) is refused with the entry and the file named.
#include "host/daemon/local_users.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host/core/errors.h"
#include "host/post/account.h"
#include "tests/support/test_support.h"
#include "tests/unit/post/test_users.h"

namespace post::daemon {
namespace {

using ::testing::HasSubstr;

class LocalUsers : public ::testing::Test {
 protected:
  // Writes what `post-ca issue-user` writes for a new user of `issuer` into `name`.
  std::filesystem::path issue(const std::string& name, const std::string& email,
                              const CaKey& issuer) {
    std::filesystem::path d = std::filesystem::path(dir.path()) / name;
    std::filesystem::create_directories(d);
    auto user = services::make_test_user(issuer, email, now);
    EXPECT_TRUE(write_user_keys((d / "user.key").string(), user.keys).ok());
    EXPECT_TRUE(write_file((d / "user.cert").string(),
                           armor(kUserCertificateLabel, user.certificate.encoded), false)
                    .ok());
    EXPECT_TRUE(write_file((d / "ca.cert").string(),
                           armor(kCaCertificateLabel, issuer.certificate.encoded), false)
                    .ok());
    auto block = services::make_user_certificate_block(issuer, user.certificate);
    EXPECT_TRUE(block.ok());
    EXPECT_TRUE(write_file((d / "user.block").string(), to_string(block->encoded), false).ok());
    return d;
  }

  std::string error_of(const std::vector<UserEntry>& entries) {
    auto users = load_local_users(entries, ca.certificate, now);
    return users.ok() ? "<no error>" : users.error().message;
  }

  testing::TempDir dir;
  std::int64_t now = wall_clock_seconds();
  CaKey ca = create_ca("node CA", now).value();
};

TEST_F(LocalUsers, LoadsWhatPostCaIssues) {
  auto alice = issue("alice", "alice@example.org", ca);
  auto bob = issue("bob", "bob@example.org", ca);
  auto users = load_local_users({{alice, 0, {}}, {bob, 7, {}}}, ca.certificate, now);
  ASSERT_TRUE(users.ok()) << users.error().message;
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].certificate.email, "alice@example.org");
  EXPECT_EQ((*users)[1].puzzle_bits, 7u);
  EXPECT_EQ(past::handle_of((*users)[1].certificate_block),
            past::certificate_handle(services::user_certificate_name("bob@example.org")));
  EXPECT_TRUE(load_local_users({}, ca.certificate, now)->empty());
}

TEST_F(LocalUsers, APassphraseProtectedKeyLoadsWithItsPassphraseFileOnly) {
  auto alice = issue("alice", "alice@example.org", ca);
  auto plain = read_user_keys((alice / "user.key").string()).value();
  ASSERT_TRUE(write_user_keys((alice / "user.key").string(), plain, "open sesame").ok());
  const auto secret = std::filesystem::path(dir.path()) / "alice.pass";
  ASSERT_TRUE(write_file(secret.string(), "open sesame\n", /*private_file=*/true).ok());

  auto users = load_local_users({{alice, 0, secret}}, ca.certificate, now);
  ASSERT_TRUE(users.ok()) << users.error().message;
  EXPECT_EQ((*users)[0].keys.signing_key, plain.signing_key);

  EXPECT_THAT(error_of({{alice, 0, {}}}), HasSubstr("protected by a passphrase"));
  const auto wrong = std::filesystem::path(dir.path()) / "wrong.pass";
  ASSERT_TRUE(write_file(wrong.string(), "open barley\n", true).ok());
  EXPECT_THAT(error_of({{alice, 0, wrong}}), HasSubstr("wrong passphrase"));
  ::chmod(secret.c_str(), 0644);
  EXPECT_THAT(error_of({{alice, 0, secret}}), HasSubstr("chmod 600"));
}

TEST_F(LocalUsers, AKeyOthersCanReadIsRefused) {
  auto alice = issue("alice", "alice@example.org", ca);
  ::chmod((alice / "user.key").c_str(), 0640);
  std::string error = error_of({{alice, 0, {}}});
  EXPECT_THAT(error, HasSubstr("users[0]: " + (alice / "user.key").string() + " has mode 0640"));
  EXPECT_THAT(error, HasSubstr("chmod 600"));
}

TEST_F(LocalUsers, AUserOfAnotherCaIsRefused) {
  CaKey other = create_ca("other CA", now).value();
  auto eve = issue("eve", "eve@example.org", other);
  auto users = load_local_users({{eve, 0, {}}}, ca.certificate, now);
  ASSERT_FALSE(users.ok());
  EXPECT_EQ(users.error().code, CoreErrc::kWrongCa);
  EXPECT_THAT(users.error().message,
              HasSubstr((eve / "ca.cert").string() + " is the CA \"other CA\""));
  EXPECT_THAT(users.error().message, HasSubstr("not this node's CA \"node CA\""));
}

TEST_F(LocalUsers, FilesThatDoNotBelongTogetherAreRefused) {
  auto alice = issue("alice", "alice@example.org", ca);
  auto bob = issue("bob", "bob@example.org", ca);
  // Bob's block in Alice's directory.
  std::filesystem::copy_file(bob / "user.block", alice / "user.block",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(error_of({{alice, 0, {}}}), HasSubstr("holds another certificate than"));
  // Bob's keys with Alice's certificate.
  auto carol = issue("carol", "carol@example.org", ca);
  std::filesystem::copy_file(bob / "user.key", carol / "user.key",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(error_of({{carol, 0, {}}}), HasSubstr("does not hold the keys of the certificate"));
  // No block: the message says how to make one.
  auto dave = issue("dave", "dave@example.org", ca);
  std::filesystem::remove(dave / "user.block");
  EXPECT_THAT(error_of({{dave, 0, {}}}), HasSubstr("post-ca user-block"));
}

TEST_F(LocalUsers, OneUserTwiceIsRefused) {
  auto alice = issue("alice", "alice@example.org", ca);
  auto again = issue("alice2", "alice@example.org", ca);
  EXPECT_THAT(error_of({{alice, 0, {}}, {again, 0, {}}}),
              HasSubstr("users[1]: " + again.string() + " is alice@example.org, as users[0]"));
}

}  // namespace
}  // namespace post::daemon
