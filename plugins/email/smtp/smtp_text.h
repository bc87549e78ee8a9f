// ASCII and UTF-8 helpers shared by the SMTP parsers. Locale-independent: SMTP keywords are
// ASCII and compare case-insensitively in ASCII only.
#pragma once

#include <string_view>

#include "plugins/email/common/ascii.h"

namespace post::email {

constexpr char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
constexpr bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_ascii_hex(char c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_non_ascii(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}

// True when `text` begins with `prefix`, ignoring ASCII case.
bool istarts_with(std::string_view text, std::string_view prefix);

// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence. Pure ASCII is well-formed.
bool is_valid_utf8(std::string_view text);

// True when some byte of `text` is outside ASCII.
bool has_non_ascii(std::string_view text);

}  // namespace post::email
