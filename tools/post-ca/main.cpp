// post-ca: the certificate authority of a POST deployment.
//
//   post-ca init --dir D [--name NAME]             make a CA key pair (D/ca.key, D/ca.cert)
//   post-ca issue-node --ca D --out DIR [...]      make a node key pair and certificate
//   post-ca issue-user --ca D --name N --email E --out DIR [--passphrase-file F] [...]
//                                                  make a user's key pairs and certificate,
//                                                  and the certificate as a PAST block
//   post-ca user-block --ca D --user DIR           (re)make DIR/user.block from DIR/user.cert
//   post-ca show FILE                              print a certificate
//
// Keys are written with mode 0600; directories holding them with 0700.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "host/core/certificate.h"
#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/proto/identity.pb.h"
#include "host/past/block.h"
#include "host/post/account.h"

namespace fs = std::filesystem;
using namespace post;

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

int fail(const std::string& message) {
  std::cerr << "post-ca: " << message << "\n";
  return 1;
}

// Creates `dir` (and parents) with mode 0700 if it does not exist.
Status make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(CoreErrc::kIoError, "cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return ok_status();
}

bool exists_any(const std::vector<fs::path>& paths, std::string& which) {
  for (const auto& p : paths) {
    if (fs::exists(p)) {
      which = p.string();
      return true;
    }
  }
  return false;
}

std::string format_time(std::int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Writes `user` as the CA-signed PAST certificate block that nodes publish for the user
// (host/post/account.h), encoded as PAST stores it, to `path`.
Status write_user_block(const CaKey& ca, const UserCertificate& user, const fs::path& path) {
  auto block = services::make_user_certificate_block(ca, user);
  if (!block.ok()) {
    return Error{block.error().code, "cannot make the certificate block of " + user.email + ": " +
                                         block.error().message};
  }
  return write_file(path.string(), to_string(block->encoded), false);
}

int cmd_init(const fs::path& dir, const std::string& name, bool force) {
  std::string existing;
  if (!force && exists_any({dir / "ca.key", dir / "ca.cert"}, existing)) {
    return fail(existing + " exists; refusing to replace a CA (use --force to overwrite)");
  }
  if (auto s = make_private_dir(dir); !s.ok()) return fail(s.error().message);
  auto ca = create_ca(name, wall_clock_seconds());
  if (!ca.ok()) return fail(ca.error().to_string());
  if (auto s = write_private_key((dir / "ca.key").string(), KeyKind::kCa, ca->signing_key);
      !s.ok()) {
    return fail(s.error().message);
  }
  if (auto s = write_file((dir / "ca.cert").string(),
                          armor(kCaCertificateLabel, ca->certificate.encoded), false);
      !s.ok()) {
    return fail(s.error().message);
  }
  std::cout << "created CA \"" << name << "\" in " << dir.string() << "\n"
            << "  key id      " << to_hex(ca->certificate.key_id()) << "\n"
            << "  private key " << (dir / "ca.key").string() << " (mode 0600: keep it offline)\n"
            << "  certificate " << (dir / "ca.cert").string() << " (give it to every node)\n";
  return 0;
}

int cmd_issue_node(const fs::path& ca_dir, const fs::path& out, const std::string& ring, int days,
                   const std::string& node_id_hex, bool force) {
  auto ca = load_ca(ca_dir.string());
  if (!ca.ok()) return fail(ca.error().to_string());
  std::string existing;
  if (!force && exists_any({out / "node.key", out / "node.cert"}, existing)) {
    return fail(existing + " exists; refusing to replace a node identity (use --force)");
  }
  Id node_id;
  if (node_id_hex.empty()) {
    node_id = Id::hash_of(crypto::random_bytes(32));
  } else {
    auto parsed = Id::from_hex(node_id_hex);
    if (!parsed.ok()) return fail("--node-id: " + parsed.error().message);
    node_id = *parsed;
  }
  auto keys = crypto::generate_signing_key();
  std::int64_t now = wall_clock_seconds();
  // Valid from a minute ago, so small clock differences between machines do not matter.
  auto cert = issue_node_certificate(*ca, node_id, keys.public_key, ring, now - 60,
                                     now + days * kSecondsPerDay);
  if (!cert.ok()) return fail(cert.error().to_string());
  if (auto s = make_private_dir(out); !s.ok()) return fail(s.error().message);
  if (auto s = write_private_key((out / "node.key").string(), KeyKind::kNode, keys.private_key);
      !s.ok()) {
    return fail(s.error().message);
  }
  for (auto [name, label, bytes] :
       {std::tuple{"node.cert", kNodeCertificateLabel, &cert->encoded},
        std::tuple{"ca.cert", kCaCertificateLabel, &ca->certificate.encoded}}) {
    if (auto s = write_file((out / name).string(), armor(label, *bytes), false); !s.ok()) {
      return fail(s.error().message);
    }
  }
  std::cout << "issued node " << node_id.to_hex() << "\n"
            << "  ring        " << (ring.empty() ? "(global)" : ring) << "\n"
            << "  valid until " << format_time(cert->not_after) << "\n"
            << "  files       " << (out / "node.key").string() << ", "
            << (out / "node.cert").string() << ", " << (out / "ca.cert").string() << "\n";
  return 0;
}

int cmd_issue_user(const fs::path& ca_dir, const fs::path& out, const std::string& name,
                   const std::string& email, int days, bool force,
                   const fs::path& passphrase_file) {
  auto ca = load_ca(ca_dir.string());
  if (!ca.ok()) return fail(ca.error().to_string());
  std::string passphrase;
  if (!passphrase_file.empty()) {
    auto p = read_passphrase_file(passphrase_file.string());
    if (!p.ok()) return fail(p.error().message);
    passphrase = std::move(*p);
  }
  std::string existing;
  if (!force && exists_any({out / "user.key", out / "user.cert", out / "user.block"}, existing)) {
    return fail(existing + " exists; refusing to replace a user's keys (use --force)");
  }
  auto signing = crypto::generate_signing_key();
  auto agreement = crypto::generate_agreement_key();
  std::int64_t now = wall_clock_seconds();
  auto cert = issue_user_certificate(*ca, name, email, signing.public_key, agreement.public_key,
                                     now - 60, now + days * kSecondsPerDay);
  if (!cert.ok()) return fail(cert.error().message);
  if (auto s = make_private_dir(out); !s.ok()) return fail(s.error().message);
  if (auto s = write_user_keys((out / "user.key").string(),
                               UserKeys{signing.private_key, agreement.private_key}, passphrase);
      !s.ok()) {
    return fail(s.error().message);
  }
  for (auto [file, label, bytes] :
       {std::tuple{"user.cert", kUserCertificateLabel, &cert->encoded},
        std::tuple{"ca.cert", kCaCertificateLabel, &ca->certificate.encoded}}) {
    if (auto s = write_file((out / file).string(), armor(label, *bytes), false); !s.ok()) {
      return fail(s.error().message);
    }
  }
  if (auto s = write_user_block(*ca, *cert, out / "user.block"); !s.ok()) {
    return fail(s.error().message);
  }
  std::cout << "issued user " << name << " <" << email << ">\n"
            << "  signing key   " << to_hex(signing.public_key) << "\n"
            << "  agreement key " << to_hex(agreement.public_key) << "\n"
            << "  valid until   " << format_time(cert->not_after) << "\n"
            << "  files         " << (out / "user.key").string()
            << (passphrase.empty() ? "" : " (protected by the passphrase)")
            << " (mode 0600: only on the nodes this user trusts), " << (out / "user.cert").string()
            << ", " << (out / "ca.cert").string() << ", " << (out / "user.block").string()
            << " (the certificate as a PAST block)\n";
  return 0;
}

// Makes DIR/user.block again from DIR/user.cert (for a user directory issued before
// issue-user wrote one, or a block lost).
int cmd_user_block(const fs::path& ca_dir, const fs::path& user_dir) {
  auto ca = load_ca(ca_dir.string());
  if (!ca.ok()) return fail(ca.error().to_string());
  std::string cert_path = (user_dir / "user.cert").string();
  auto raw = read_certificate_file(cert_path, kUserCertificateLabel);
  if (!raw.ok()) return fail(raw.error().message);
  auto cert = verify_user_certificate(*raw, ca->certificate, wall_clock_seconds());
  if (!cert.ok()) return fail(cert_path + ": " + cert.error().message);
  if (auto s = write_user_block(*ca, *cert, user_dir / "user.block"); !s.ok()) {
    return fail(s.error().message);
  }
  std::cout << "wrote " << (user_dir / "user.block").string() << " for " << cert->name << " <"
            << cert->email << ">\n";
  return 0;
}

int cmd_show(const fs::path& file) {
  auto text = read_file(file.string());
  if (!text.ok()) return fail(text.error().message);
  if (text->find(kCaCertificateLabel) != std::string::npos) {
    auto raw = dearmor(kCaCertificateLabel, *text);
    if (!raw.ok()) return fail(file.string() + ": " + raw.error().message);
    auto ca = parse_ca_certificate(*raw);
    if (!ca.ok()) return fail(file.string() + ": " + ca.error().to_string());
    std::cout << "CA certificate (self-signature valid)\n"
              << "  name    " << ca->name << "\n"
              << "  key id  " << to_hex(ca->key_id()) << "\n"
              << "  created " << format_time(ca->created) << "\n";
    return 0;
  }
  if (text->find(kUserCertificateLabel) != std::string::npos) {
    auto raw = dearmor(kUserCertificateLabel, *text);
    proto::SignedCertificate signed_cert;
    proto::UserCertificateBody body;
    if (!raw.ok() || !signed_cert.ParseFromArray(raw->data(), static_cast<int>(raw->size())) ||
        signed_cert.kind() != proto::SignedCertificate::USER ||
        !body.ParseFromString(signed_cert.body())) {
      return fail(file.string() + ": malformed user certificate");
    }
    std::cout << "user certificate (issuer signature not checked here)\n"
              << "  name          " << body.name() << "\n"
              << "  email         " << body.email() << "\n"
              << "  signing key   " << to_hex(as_bytes(body.signing_key())) << "\n"
              << "  agreement key " << to_hex(as_bytes(body.agreement_key())) << "\n"
              << "  valid from    " << format_time(body.not_before()) << "\n"
              << "  valid to      " << format_time(body.not_after()) << "\n"
              << "  issuer key    " << to_hex(as_bytes(body.ca_key_id())) << "\n"
              << "  serial        " << body.serial() << "\n";
    return 0;
  }
  auto raw = dearmor(kNodeCertificateLabel, *text);
  if (!raw.ok()) return fail(file.string() + ": not a POST certificate file");
  // Shown without checking the issuer: show is for looking, a node checks on every link.
  proto::SignedCertificate signed_cert;
  proto::NodeCertificateBody body;
  if (!signed_cert.ParseFromArray(raw->data(), static_cast<int>(raw->size())) ||
      !body.ParseFromString(signed_cert.body())) {
    return fail(file.string() + ": malformed node certificate");
  }
  std::cout << "node certificate (issuer signature not checked here)\n"
            << "  node id    " << to_hex(as_bytes(body.node_id())) << "\n"
            << "  ring       " << (body.ring().empty() ? "(global)" : body.ring()) << "\n"
            << "  valid from " << format_time(body.not_before()) << "\n"
            << "  valid to   " << format_time(body.not_after()) << "\n"
            << "  issuer key " << to_hex(as_bytes(body.ca_key_id())) << "\n"
            << "  serial     " << body.serial() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"post-ca: certificate authority of a POST deployment"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "post-ca " POST_VERSION);

  fs::path init_dir;
  std::string init_name = "POST CA";
  bool init_force = false;
  auto* init = app.add_subcommand("init", "create a CA key pair and self-signed certificate");
  init->add_option("--dir", init_dir, "directory for ca.key and ca.cert")->required();
  init->add_option("--name", init_name, "the CA's name")->capture_default_str();
  init->add_flag("--force", init_force, "overwrite an existing CA");

  fs::path ca_dir, out_dir;
  std::string ring, node_id_hex;
  int days = 365;
  bool issue_force = false;
  auto* issue = app.add_subcommand("issue-node", "create a node key pair and certificate");
  issue->add_option("--ca", ca_dir, "CA directory (from post-ca init)")->required();
  issue->add_option("--out", out_dir, "directory for node.key, node.cert and ca.cert")->required();
  issue->add_option("--ring", ring, "organisation ring name (default: the global ring)");
  issue->add_option("--days", days, "validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  issue->add_option("--node-id", node_id_hex, "nodeId in hex (default: random, as the CA should)");
  issue->add_flag("--force", issue_force, "overwrite an existing node identity");

  fs::path user_ca_dir, user_out;
  std::string user_name, user_email;
  int user_days = 365;
  bool user_force = false;
  auto* issue_user =
      app.add_subcommand("issue-user",
                         "create a user's signing and agreement key pairs, a certificate binding "
                         "them to the user's name and email, and that certificate as a PAST "
                         "block (user.block) for the nodes that serve the user to publish");
  issue_user->add_option("--ca", user_ca_dir, "CA directory (from post-ca init)")->required();
  issue_user->add_option("--name", user_name, "the user's name, e.g. \"Ada Lovelace\"")
      ->required();
  issue_user->add_option("--email", user_email, "the user's email address (local@domain)")
      ->required();
  issue_user
      ->add_option("--out", user_out, "directory for user.key, user.cert, ca.cert and user.block")
      ->required();
  issue_user->add_option("--days", user_days, "validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  issue_user->add_flag("--force", user_force, "overwrite existing user keys");
  fs::path user_passphrase_file;
  issue_user
      ->add_option("--passphrase-file", user_passphrase_file,
                   "encrypt user.key under the passphrase on this file's first line (mode 0600); "
                   "postd then needs the same file (users: passphrase_file)")
      ->check(CLI::ExistingFile);

  fs::path block_ca_dir, block_user_dir;
  auto* user_block =
      app.add_subcommand("user-block",
                         "write DIR/user.block again from DIR/user.cert (the certificate as a PAST "
                         "block, signed by the CA)");
  user_block->add_option("--ca", block_ca_dir, "CA directory (from post-ca init)")->required();
  user_block->add_option("--user", block_user_dir, "the user's directory (from issue-user)")
      ->required();

  fs::path show_file;
  auto* show = app.add_subcommand("show", "print a certificate file");
  show->add_option("file", show_file, "certificate file")->required();

  CLI11_PARSE(app, argc, argv);
  if (*init) return cmd_init(init_dir, init_name, init_force);
  if (*issue) return cmd_issue_node(ca_dir, out_dir, ring, days, node_id_hex, issue_force);
  if (*issue_user) {
    return cmd_issue_user(user_ca_dir, user_out, user_name, user_email, user_days, user_force,
                          user_passphrase_file);
  }
  if (*user_block) return cmd_user_block(block_ca_dir, block_user_dir);
  if (*show) return cmd_show(show_file);
  return 1;
}
