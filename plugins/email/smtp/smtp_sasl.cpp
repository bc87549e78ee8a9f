#include "plugins/email/smtp/smtp_sasl.h"

#include <cstdint>

#include "plugins/email/smtp/smtp_text.h"

namespace post::email {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

SmtpResult<std::string> decode_base64(std::string_view text) {
  std::size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  if (padding > 0 && (text.size() + padding) % 4 != 0) {
    return smtp_error(SmtpErrc::kBadBase64, "wrong base64 padding");
  }
  if (text.size() % 4 == 1) return smtp_error(SmtpErrc::kBadBase64, "truncated base64");
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    int value = base64_value(c);
    if (value < 0) return smtp_error(SmtpErrc::kBadBase64, "not a base64 character");
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                      static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

SmtpResult<PlainCredentials> parse_plain_response(std::string_view decoded) {
  std::size_t first = decoded.find('\0');
  if (first == std::string_view::npos) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response without separators");
  }
  std::size_t second = decoded.find('\0', first + 1);
  if (second == std::string_view::npos || decoded.find('\0', second + 1) != decoded.npos) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response needs exactly two NULs");
  }
  PlainCredentials out;
  out.authzid = decoded.substr(0, first);
  out.authcid = decoded.substr(first + 1, second - first - 1);
  out.password = decoded.substr(second + 1);
  if (out.authcid.empty() || out.password.empty()) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response with empty user or password");
  }
  if (out.authzid.size() > kMaxSaslFieldBytes || out.authcid.size() > kMaxSaslFieldBytes ||
      out.password.size() > kMaxSaslFieldBytes) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN field longer than 255 bytes");
  }
  if (!is_valid_utf8(out.authzid) || !is_valid_utf8(out.authcid) || !is_valid_utf8(out.password)) {
    return smtp_error(SmtpErrc::kBadSaslResponse, "PLAIN response is not UTF-8");
  }
  return out;
}

}  // namespace post::email
