#include "plugins/email/imap/imap_mutf7.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace post::email {
namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool is_printable_ascii(std::uint32_t c) {
  return c >= 0x20 && c <= 0x7e;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

ImapError mutf7_error(std::string text) {
  return ImapError{ImapErrc::kBadModifiedUtf7, ImapStatus::kBad, "", std::move(text)};
}

// Decodes the UTF-16BE units of one shift into UTF-8, refusing what may not be there.
ImapResult<void> append_utf16(std::string& out, const std::vector<std::uint16_t>& units) {
  for (std::size_t i = 0; i < units.size(); ++i) {
    std::uint32_t cp = units[i];
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (i + 1 >= units.size() || units[i + 1] < 0xdc00 || units[i + 1] > 0xdfff) {
        return mutf7_error("unpaired surrogate");
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (units[i + 1] - 0xdc00);
      ++i;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      return mutf7_error("unpaired surrogate");
    }
    if (cp == 0) return mutf7_error("NUL in name");
    if (is_printable_ascii(cp)) return mutf7_error("printable ASCII inside a shift");
    append_utf8(out, cp);
  }
  return {};
}

// The next code point of UTF-8 `s` at `i`, advancing `i`; nullopt when invalid.
std::optional<std::uint32_t> next_code_point(std::string_view s, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t length;
  std::uint32_t cp;
  std::uint32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    length = 2;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    length = 3;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    length = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + length > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  i += length;
  return cp;
}

void flush_shift(std::string& out, std::vector<std::uint16_t>& units) {
  if (units.empty()) return;
  out += '&';
  std::uint32_t bits = 0;
  int nbits = 0;
  for (std::uint16_t unit : units) {
    for (int shift = 8; shift >= 0; shift -= 8) {
      bits = (bits << 8) | ((unit >> shift) & 0xff);
      nbits += 8;
      while (nbits >= 6) {
        nbits -= 6;
        out += kBase64[(bits >> nbits) & 0x3f];
      }
    }
  }
  if (nbits > 0) out += kBase64[(bits << (6 - nbits)) & 0x3f];
  out += '-';
  units.clear();
}

}  // namespace

ImapResult<std::string> decode_modified_utf7(std::string_view name) {
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    char c = name[i];
    if (c != '&') {
      if (!is_printable_ascii(static_cast<unsigned char>(c))) {
        return mutf7_error("byte outside printable ASCII");
      }
      out += c;
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    if (j < name.size() && name[j] == '-') {
      out += '&';
      i = j + 1;
      continue;
    }
    std::vector<std::uint16_t> units;
    std::uint32_t bits = 0;
    int nbits = 0;
    for (; j < name.size() && name[j] != '-'; ++j) {
      int v = base64_value(name[j]);
      if (v < 0) return mutf7_error("invalid base64 in a shift");
      bits = ((bits << 6) | static_cast<std::uint32_t>(v)) & 0x3fffff;
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        units.push_back(static_cast<std::uint16_t>((bits >> nbits) & 0xffff));
      }
    }
    if (j >= name.size()) return mutf7_error("shift not closed by '-'");
    if (nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0) {
      return mutf7_error("shift does not end on a whole UTF-16 unit");
    }
    if (units.empty()) return mutf7_error("empty shift");
    IMAP_TRY(append_utf16(out, units));
    i = j + 1;
  }
  return out;
}

bool is_valid_modified_utf7(std::string_view name) {
  return decode_modified_utf7(name).ok();
}

ImapResult<std::string> encode_modified_utf7(std::string_view text) {
  std::string out;
  std::vector<std::uint16_t> units;
  std::size_t i = 0;
  while (i < text.size()) {
    std::optional<std::uint32_t> cp = next_code_point(text, i);
    if (!cp) {
      return ImapError{ImapErrc::kBadUtf8, ImapStatus::kBad, "", "name is not valid UTF-8"};
    }
    if (*cp == 0) return ImapError{ImapErrc::kBadUtf8, ImapStatus::kBad, "", "NUL in name"};
    if (is_printable_ascii(*cp)) {
      flush_shift(out, units);
      out += static_cast<char>(*cp);
      if (*cp == '&') out += '-';
    } else if (*cp >= 0x10000) {
      std::uint32_t v = *cp - 0x10000;
      units.push_back(static_cast<std::uint16_t>(0xd800 + (v >> 10)));
      units.push_back(static_cast<std::uint16_t>(0xdc00 + (v & 0x3ff)));
    } else {
      units.push_back(static_cast<std::uint16_t>(*cp));
    }
  }
  flush_shift(out, units);
  return out;
}

}  // namespace post::email
