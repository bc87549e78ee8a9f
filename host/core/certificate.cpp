#include "host/core/certificate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "host/core/crypto.h"
#include "host/core/errors.h"
#include "host/core/frame.h"
#include "host/core/proto/identity.pb.h"

namespace post {
namespace {

constexpr std::string_view kSignatureContext = "post-cert-v1";
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;

Bytes signed_bytes(proto::SignedCertificate::Kind kind, const std::string& body) {
  Bytes out(kSignatureContext.begin(), kSignatureContext.end());
  out.push_back(static_cast<std::uint8_t>(kind));
  append(out, as_bytes(body));
  return out;
}

Result<Bytes> sign_certificate(ByteView ca_key, proto::SignedCertificate::Kind kind,
                               const std::string& body) {
  POST_TRY_ASSIGN(Bytes signature, crypto::sign(ca_key, signed_bytes(kind, body)));
  proto::SignedCertificate cert;
  cert.set_kind(kind);
  cert.set_body(body);
  cert.set_signature(to_string(signature));
  return wire::encode_message(cert);
}

Error bad_certificate(const std::string& why) {
  return make_error(CoreErrc::kBadCertificate, why);
}

Status check_issuer(const std::string& ca_key_id, const CaCertificate& ca) {
  Bytes ca_id = ca.key_id();
  if (!constant_time_equal(as_bytes(ca_key_id), ca_id)) {
    return make_error(CoreErrc::kWrongCa, "issued by CA key " +
                                              to_hex(as_bytes(ca_key_id)).substr(0, 16) +
                                              ", expected " + to_hex(ca_id).substr(0, 16));
  }
  return ok_status();
}

Status check_validity(std::int64_t not_before, std::int64_t not_after, std::int64_t now) {
  if (now < not_before || now >= not_after) {
    return make_error(CoreErrc::kCertificateExpired,
                      "valid from " + std::to_string(not_before) + " to " +
                          std::to_string(not_after) + ", now is " + std::to_string(now));
  }
  return ok_status();
}

std::uint64_t random_serial() {
  std::uint64_t serial = 0;
  crypto::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&serial), sizeof serial));
  return serial;
}

// Why `email` is not an address of the form local@domain, or "".
std::string email_problem(const std::string& email) {
  if (email.empty() || email.size() > kMaxEmailBytes) {
    return "the email address must be 1 to " + std::to_string(kMaxEmailBytes) + " bytes";
  }
  auto at = email.find('@');
  if (at == 0 || at == std::string::npos || at + 1 >= email.size() ||
      email.find('@', at + 1) != std::string::npos) {
    return "'" + email + "' is not an email address (local@domain)";
  }
  for (char c : email) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',') {
      return "the email address '" + email + "' holds a space, control or <>, character";
    }
  }
  return "";
}

std::string name_problem(const std::string& name) {
  if (name.empty() || name.size() > kMaxUserNameBytes) {
    return "the user's name must be 1 to " + std::to_string(kMaxUserNameBytes) + " bytes";
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "the user's name holds a control character";
  }
  return "";
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

Bytes CaCertificate::key_id() const {
  auto d = crypto::sha256(public_key);
  return Bytes(d.begin(), d.end());
}

std::int64_t wall_clock_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<CaKey> create_ca(std::string name, std::int64_t now) {
  auto keys = crypto::generate_signing_key();
  proto::CaCertificateBody body;
  body.set_version(1);
  body.set_name(name);
  body.set_public_key(to_string(keys.public_key));
  body.set_created(now);
  POST_TRY_ASSIGN(Bytes encoded, sign_certificate(keys.private_key, proto::SignedCertificate::CA,
                                                  body.SerializeAsString()));
  CaKey ca;
  ca.certificate = CaCertificate{std::move(name), keys.public_key, now, std::move(encoded)};
  ca.signing_key = keys.private_key;
  return ca;
}

Result<CaCertificate> parse_ca_certificate(ByteView encoded) {
  POST_TRY_ASSIGN(auto cert,
                  wire::decode_message<proto::SignedCertificate>(encoded, "CA certificate"));
  if (cert.kind() != proto::SignedCertificate::CA) return bad_certificate("not a CA certificate");
  POST_TRY_ASSIGN(auto body, wire::decode_message<proto::CaCertificateBody>(as_bytes(cert.body()),
                                                                            "CA certificate body"));
  if (body.version() != 1) return bad_certificate("unknown CA certificate version");
  if (body.public_key().size() != crypto::kEd25519PublicKeyBytes) {
    return bad_certificate("CA public key is not 32 bytes");
  }
  if (!crypto::verify(as_bytes(body.public_key()),
                      signed_bytes(proto::SignedCertificate::CA, cert.body()),
                      as_bytes(cert.signature()))) {
    return make_error(CoreErrc::kBadSignature, "CA certificate self-signature does not verify");
  }
  return CaCertificate{body.name(), to_bytes(body.public_key()), body.created(),
                       Bytes(encoded.begin(), encoded.end())};
}

Result<NodeCertificate> issue_node_certificate(const CaKey& ca, const Id& node_id,
                                               ByteView node_public_key, std::string ring,
                                               std::int64_t not_before, std::int64_t not_after) {
  if (node_public_key.size() != crypto::kEd25519PublicKeyBytes) {
    return make_error(CoreErrc::kBadKey, "node public key is not 32 bytes");
  }
  if (not_after <= not_before) {
    return make_error(CoreErrc::kBadCertificate, "validity ends before it starts");
  }
  std::uint64_t serial = random_serial();
  proto::NodeCertificateBody body;
  body.set_version(1);
  body.set_node_id(to_string(node_id.view()));
  body.set_public_key(to_string(node_public_key));
  body.set_ring(ring);
  body.set_not_before(not_before);
  body.set_not_after(not_after);
  body.set_ca_key_id(to_string(ca.certificate.key_id()));
  body.set_serial(serial);
  POST_TRY_ASSIGN(Bytes encoded, sign_certificate(ca.signing_key, proto::SignedCertificate::NODE,
                                                  body.SerializeAsString()));
  return NodeCertificate{node_id,
                         Bytes(node_public_key.begin(), node_public_key.end()),
                         std::move(ring),
                         not_before,
                         not_after,
                         serial,
                         ca.certificate.key_id(),
                         std::move(encoded)};
}

Result<NodeCertificate> verify_node_certificate(ByteView encoded, const CaCertificate& ca,
                                                std::int64_t now) {
  POST_TRY_ASSIGN(auto cert,
                  wire::decode_message<proto::SignedCertificate>(encoded, "node certificate"));
  if (cert.kind() != proto::SignedCertificate::NODE)
    return bad_certificate("not a node certificate");
  POST_TRY_ASSIGN(auto body, wire::decode_message<proto::NodeCertificateBody>(
                                 as_bytes(cert.body()), "node certificate body"));
  if (body.version() != 1) {
    return bad_certificate("unknown node certificate version " + std::to_string(body.version()));
  }
  POST_TRY(check_issuer(body.ca_key_id(), ca));
  if (!crypto::verify(ca.public_key, signed_bytes(proto::SignedCertificate::NODE, cert.body()),
                      as_bytes(cert.signature()))) {
    return make_error(CoreErrc::kBadSignature, "node certificate signature does not verify");
  }
  auto node_id = Id::from_bytes(as_bytes(body.node_id()));
  if (!node_id.ok()) return bad_certificate("node id is not 32 bytes");
  if (body.public_key().size() != crypto::kEd25519PublicKeyBytes) {
    return bad_certificate("node public key is not 32 bytes");
  }
  POST_TRY(check_validity(body.not_before(), body.not_after(), now));
  return NodeCertificate{*node_id,
                         to_bytes(body.public_key()),
                         body.ring(),
                         body.not_before(),
                         body.not_after(),
                         body.serial(),
                         to_bytes(body.ca_key_id()),
                         Bytes(encoded.begin(), encoded.end())};
}

Result<UserCertificate> issue_user_certificate(const CaKey& ca, std::string name,
                                               std::string email, ByteView signing_key,
                                               ByteView agreement_key, std::int64_t not_before,
                                               std::int64_t not_after) {
  if (signing_key.size() != crypto::kEd25519PublicKeyBytes ||
      agreement_key.size() != crypto::kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey, "a user's public keys are 32 bytes each");
  }
  if (auto why = name_problem(name); !why.empty()) return bad_certificate(why);
  if (auto why = email_problem(email); !why.empty()) return bad_certificate(why);
  if (not_after <= not_before) return bad_certificate("validity ends before it starts");
  proto::UserCertificateBody body;
  body.set_version(1);
  body.set_name(name);
  body.set_email(email);
  body.set_signing_key(to_string(signing_key));
  body.set_agreement_key(to_string(agreement_key));
  body.set_not_before(not_before);
  body.set_not_after(not_after);
  body.set_ca_key_id(to_string(ca.certificate.key_id()));
  body.set_serial(random_serial());
  POST_TRY_ASSIGN(Bytes encoded, sign_certificate(ca.signing_key, proto::SignedCertificate::USER,
                                                  body.SerializeAsString()));
  return UserCertificate{std::move(name),
                         std::move(email),
                         Bytes(signing_key.begin(), signing_key.end()),
                         Bytes(agreement_key.begin(), agreement_key.end()),
                         not_before,
                         not_after,
                         body.serial(),
                         ca.certificate.key_id(),
                         std::move(encoded)};
}

Result<UserCertificate> verify_user_certificate(ByteView encoded, const CaCertificate& ca,
                                                std::int64_t now) {
  POST_TRY_ASSIGN(auto cert,
                  wire::decode_message<proto::SignedCertificate>(encoded, "user certificate"));
  if (cert.kind() != proto::SignedCertificate::USER) {
    return bad_certificate("not a user certificate");
  }
  POST_TRY_ASSIGN(auto body, wire::decode_message<proto::UserCertificateBody>(
                                 as_bytes(cert.body()), "user certificate body"));
  if (body.version() != 1) {
    return bad_certificate("unknown user certificate version " + std::to_string(body.version()));
  }
  POST_TRY(check_issuer(body.ca_key_id(), ca));
  if (!crypto::verify(ca.public_key, signed_bytes(proto::SignedCertificate::USER, cert.body()),
                      as_bytes(cert.signature()))) {
    return make_error(CoreErrc::kBadSignature, "user certificate signature does not verify");
  }
  if (body.signing_key().size() != crypto::kEd25519PublicKeyBytes ||
      body.agreement_key().size() != crypto::kX25519KeyBytes) {
    return bad_certificate("a user's public keys are 32 bytes each");
  }
  if (auto why = name_problem(body.name()); !why.empty()) return bad_certificate(why);
  if (auto why = email_problem(body.email()); !why.empty()) return bad_certificate(why);
  POST_TRY(check_validity(body.not_before(), body.not_after(), now));
  return UserCertificate{body.name(),
                         body.email(),
                         to_bytes(body.signing_key()),
                         to_bytes(body.agreement_key()),
                         body.not_before(),
                         body.not_after(),
                         body.serial(),
                         to_bytes(body.ca_key_id()),
                         Bytes(encoded.begin(), encoded.end())};
}

// ---- files ------------------------------------------------------------------------------

std::string armor(std::string_view label, ByteView data) {
  std::string b64 = crypto::base64_encode(data);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out += b64.substr(i, 64);
    out += '\n';
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

Result<Bytes> dearmor(std::string_view label, std::string_view text) {
  std::string begin = "-----BEGIN " + std::string(label) + "-----";
  std::string end = "-----END " + std::string(label) + "-----";
  auto b = text.find(begin);
  auto e = text.find(end);
  if (b == std::string_view::npos || e == std::string_view::npos || e < b) {
    return make_error(CoreErrc::kDecodeFailed, "expected a '" + std::string(label) + "' block");
  }
  auto inner = text.substr(b + begin.size(), e - b - begin.size());
  return crypto::base64_decode(inner);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(CoreErrc::kIoError, "cannot read " + path + ": " + errno_text());
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > kMaxFileBytes) {
      return make_error(CoreErrc::kIoError, path + " is larger than 16 MiB");
    }
  }
  if (in.bad()) return make_error(CoreErrc::kIoError, "cannot read " + path + ": " + errno_text());
  return out;
}

Status write_file(const std::string& path, std::string_view contents, bool private_file) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_file ? 0600 : 0644);
  if (fd < 0) return make_error(CoreErrc::kIoError, "cannot create " + tmp + ": " + errno_text());
  std::size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(CoreErrc::kIoError, "cannot write " + tmp + ": " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    return make_error(CoreErrc::kIoError, "cannot write " + tmp + ": " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    return make_error(CoreErrc::kIoError, "cannot rename " + tmp + " to " + path + ": " + why);
  }
  return ok_status();
}

namespace {
proto::PrivateKeyFile::Kind to_proto(KeyKind k) {
  switch (k) {
    case KeyKind::kCa: return proto::PrivateKeyFile::CA;
    case KeyKind::kNode: return proto::PrivateKeyFile::NODE;
    case KeyKind::kUser: return proto::PrivateKeyFile::USER;
  }
  return proto::PrivateKeyFile::KIND_UNSPECIFIED;
}
}  // namespace

Status write_private_key(const std::string& path, KeyKind kind, ByteView signing_key) {
  proto::PrivateKeyFile file;
  file.set_version(1);
  file.set_kind(to_proto(kind));
  file.set_signing_key(to_string(signing_key));
  std::string text = armor(kPrivateKeyLabel, wire::encode_message(file));
  return write_file(path, text, /*private_file=*/true);
}

namespace {

// A key file of `kind`, checked for its mode, armor, kind and signing key.
Bytes key_file_associated_data(KeyKind kind) {
  Bytes ad = to_bytes("post-key-file-v1");
  ad.push_back(static_cast<std::uint8_t>(to_proto(kind)));
  return ad;
}

// Scrypt cost of new protected key files: N = 2^15, r = 8, p = 1 (RFC 7914's interactive
// setting: about 32 MiB and a tenth of a second).
constexpr unsigned kScryptLog2N = 15;
constexpr unsigned kScryptR = 8;
constexpr unsigned kScryptP = 1;

// Refuses a secret file (`what`: "a private key", "a passphrase") that others can read.
Status check_private_mode(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(CoreErrc::kIoError, "cannot read " + path + ": " + errno_text());
  }
  if ((st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(CoreErrc::kBadKey, path + " has mode " + mode + "; " + what +
                                             " must not be readable by others (chmod 600 " +
                                             path + ")");
  }
  return ok_status();
}

Result<proto::PrivateKeyFile> read_key_file(const std::string& path, KeyKind kind,
                                            std::string_view passphrase = {}) {
  POST_TRY(check_private_mode(path, "a private key"));
  POST_TRY_ASSIGN(std::string text, read_file(path));
  auto raw = dearmor(kPrivateKeyLabel, text);
  if (!raw.ok()) return make_error(CoreErrc::kBadKey, path + ": " + raw.error().message);
  auto file = wire::decode_message<proto::PrivateKeyFile>(*raw, path);
  if (!file.ok()) return make_error(CoreErrc::kBadKey, file.error().message);
  if (file->version() != 1 || file->kind() != to_proto(kind)) {
    return make_error(CoreErrc::kBadKey, path + " holds a different kind of key");
  }
  if (file->has_protected_keys()) {
    if (passphrase.empty()) {
      return make_error(CoreErrc::kBadKey, path + " is protected by a passphrase; none was given");
    }
    const auto& p = file->protected_keys();
    auto key = crypto::scrypt(as_bytes(passphrase), as_bytes(p.salt()), p.log2_n(), p.r(), p.p(),
                              crypto::kAesKeyBytes);
    if (!key.ok()) return make_error(CoreErrc::kBadKey, path + ": " + key.error().message);
    auto inner = crypto::aes_gcm_decrypt(*key, as_bytes(p.nonce()), as_bytes(p.ciphertext()),
                                         key_file_associated_data(kind));
    if (!inner.ok()) {
      return make_error(CoreErrc::kBadKey, path + ": wrong passphrase (or a damaged file)");
    }
    auto opened = wire::decode_message<proto::PrivateKeyFile>(*inner, path);
    if (!opened.ok() || opened->kind() != to_proto(kind) || opened->has_protected_keys()) {
      return make_error(CoreErrc::kBadKey, path + ": the protected keys are malformed");
    }
    file = std::move(opened);
  }
  if (file->signing_key().size() != crypto::kEd25519PrivateKeyBytes) {
    return make_error(CoreErrc::kBadKey, path + ": signing key is not 32 bytes");
  }
  return std::move(*file);
}

}  // namespace

Result<Bytes> read_private_key(const std::string& path, KeyKind kind) {
  POST_TRY_ASSIGN(auto file, read_key_file(path, kind));
  return to_bytes(file.signing_key());
}

Status write_user_keys(const std::string& path, const UserKeys& keys,
                       std::string_view passphrase) {
  proto::PrivateKeyFile file;
  file.set_version(1);
  file.set_kind(to_proto(KeyKind::kUser));
  file.set_signing_key(to_string(keys.signing_key));
  file.set_agreement_key(to_string(keys.agreement_key));
  if (!passphrase.empty()) {
    proto::PrivateKeyFile outer;
    outer.set_version(1);
    outer.set_kind(to_proto(KeyKind::kUser));
    auto* p = outer.mutable_protected_keys();
    Bytes salt = crypto::random_bytes(16);
    Bytes nonce = crypto::random_bytes(crypto::kGcmNonceBytes);
    POST_TRY_ASSIGN(Bytes key, crypto::scrypt(as_bytes(passphrase), salt, kScryptLog2N, kScryptR,
                                              kScryptP, crypto::kAesKeyBytes));
    POST_TRY_ASSIGN(Bytes sealed, crypto::aes_gcm_encrypt(key, nonce, wire::encode_message(file),
                                                          key_file_associated_data(KeyKind::kUser)));
    p->set_salt(to_string(salt));
    p->set_log2_n(kScryptLog2N);
    p->set_r(kScryptR);
    p->set_p(kScryptP);
    p->set_nonce(to_string(nonce));
    p->set_ciphertext(to_string(sealed));
    file = std::move(outer);
  }
  return write_file(path, armor(kPrivateKeyLabel, wire::encode_message(file)),
                    /*private_file=*/true);
}

bool key_file_is_protected(const std::string& path) {
  auto text = read_file(path);
  if (!text.ok()) return false;
  auto raw = dearmor(kPrivateKeyLabel, *text);
  if (!raw.ok()) return false;
  auto file = wire::decode_message<proto::PrivateKeyFile>(*raw, path);
  return file.ok() && file->has_protected_keys();
}

Result<std::string> read_passphrase_file(const std::string& path) {
  POST_TRY(check_private_mode(path, "a passphrase"));
  POST_TRY_ASSIGN(std::string text, read_file(path));
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return make_error(CoreErrc::kBadKey, path + " holds no passphrase");
  return line;
}

Result<UserKeys> read_user_keys(const std::string& path, std::string_view passphrase) {
  POST_TRY_ASSIGN(auto file, read_key_file(path, KeyKind::kUser, passphrase));
  if (file.agreement_key().size() != crypto::kX25519KeyBytes) {
    return make_error(CoreErrc::kBadKey, path + ": agreement key is not 32 bytes");
  }
  return UserKeys{to_bytes(file.signing_key()), to_bytes(file.agreement_key())};
}

Result<Bytes> read_certificate_file(const std::string& path, std::string_view label) {
  POST_TRY_ASSIGN(std::string text, read_file(path));
  auto raw = dearmor(label, text);
  if (!raw.ok()) return make_error(CoreErrc::kBadCertificate, path + ": " + raw.error().message);
  return raw;
}

Result<NodeIdentity> load_node_identity(const std::string& key_path,
                                        const std::string& certificate_path,
                                        const std::string& ca_certificate_path, std::int64_t now) {
  POST_TRY_ASSIGN(Bytes ca_raw, read_certificate_file(ca_certificate_path, kCaCertificateLabel));
  auto ca = parse_ca_certificate(ca_raw);
  if (!ca.ok()) {
    return make_error(CoreErrc::kBadCertificate,
                      ca_certificate_path + ": " + ca.error().to_string());
  }
  POST_TRY_ASSIGN(Bytes cert_raw, read_certificate_file(certificate_path, kNodeCertificateLabel));
  auto cert = verify_node_certificate(cert_raw, *ca, now);
  if (!cert.ok()) {
    return Error{cert.error().code, certificate_path + ": " + cert.error().message};
  }
  POST_TRY_ASSIGN(Bytes key, read_private_key(key_path, KeyKind::kNode));
  POST_TRY_ASSIGN(Bytes public_key, crypto::signing_public_key(key));
  if (public_key != cert->public_key) {
    return make_error(CoreErrc::kBadKey,
                      key_path + " is not the key of the certificate " + certificate_path);
  }
  return NodeIdentity{std::move(*cert), std::move(key), std::move(*ca)};
}

Result<CaKey> load_ca(const std::string& dir) {
  std::string cert_path = dir + "/ca.cert";
  POST_TRY_ASSIGN(Bytes raw, read_certificate_file(cert_path, kCaCertificateLabel));
  auto cert = parse_ca_certificate(raw);
  if (!cert.ok()) return Error{cert.error().code, cert_path + ": " + cert.error().message};
  POST_TRY_ASSIGN(Bytes key, read_private_key(dir + "/ca.key", KeyKind::kCa));
  POST_TRY_ASSIGN(Bytes public_key, crypto::signing_public_key(key));
  if (public_key != cert->public_key) {
    return make_error(CoreErrc::kBadKey, dir + "/ca.key does not match " + cert_path);
  }
  return CaKey{std::move(*cert), std::move(key)};
}

}  // namespace post
