#include "plugins/email/render/mail_text.h"

#include <array>
#include <cstdint>
#include <optional>

namespace post::email {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void append_utf8(std::uint32_t code, std::string& out) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// windows-1252 0x80..0x9F (0 where the code page leaves the byte undefined: kept as U+0080+).
constexpr std::array<std::uint16_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

enum class SingleByteCharset { kLatin1, kLatin9, kCp1252 };

std::optional<SingleByteCharset> single_byte_charset(std::string_view charset) {
  const std::string name = to_ascii_lower(charset);
  if (name == "iso-8859-1" || name == "iso8859-1" || name == "iso_8859-1" || name == "latin1" ||
      name == "latin-1" || name == "l1" || name == "iso-ir-100" || name == "cp819") {
    return SingleByteCharset::kLatin1;
  }
  if (name == "iso-8859-15" || name == "iso8859-15" || name == "iso_8859-15" || name == "latin-9" ||
      name == "latin9") {
    return SingleByteCharset::kLatin9;
  }
  if (name == "windows-1252" || name == "cp1252" || name == "x-cp1252") {
    return SingleByteCharset::kCp1252;
  }
  return std::nullopt;
}

std::uint32_t code_point(unsigned char byte, SingleByteCharset charset) {
  if (charset == SingleByteCharset::kCp1252 && byte >= 0x80 && byte < 0xA0) {
    const std::uint16_t mapped = kCp1252High[byte - 0x80];
    return mapped == 0 ? byte : mapped;
  }
  if (charset == SingleByteCharset::kLatin9) {
    switch (byte) {
      case 0xA4: return 0x20AC;
      case 0xA6: return 0x0160;
      case 0xA8: return 0x0161;
      case 0xB4: return 0x017D;
      case 0xB8: return 0x017E;
      case 0xBC: return 0x0152;
      case 0xBD: return 0x0153;
      case 0xBE: return 0x0178;
      default: break;
    }
  }
  return byte;
}

// One encoded-word "=?charset?X?text?=" at the start of `s`.
struct EncodedWord {
  std::string_view charset;  // without an RFC 2231 "*language" suffix
  std::string bytes;         // the decoded text, still in `charset`
  std::size_t length = 0;    // bytes of `s` the word takes
};

std::optional<EncodedWord> parse_encoded_word(std::string_view s) {
  if (s.size() < 8 || s.substr(0, 2) != "=?") return std::nullopt;
  const std::size_t charset_end = s.find('?', 2);
  if (charset_end == std::string_view::npos || charset_end == 2) return std::nullopt;
  if (charset_end + 2 >= s.size() || s[charset_end + 2] != '?') return std::nullopt;
  const char encoding = ascii_lower(s[charset_end + 1]);
  if (encoding != 'b' && encoding != 'q') return std::nullopt;
  const std::size_t text_begin = charset_end + 3;
  const std::size_t text_end = s.find("?=", text_begin);
  if (text_end == std::string_view::npos) return std::nullopt;
  const std::string_view text = s.substr(text_begin, text_end - text_begin);
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return std::nullopt;
  }
  EncodedWord word;
  word.charset = s.substr(2, charset_end - 2);
  if (const std::size_t star = word.charset.find('*'); star != std::string_view::npos) {
    word.charset = word.charset.substr(0, star);
  }
  word.bytes = encoding == 'b' ? decode_base64_lenient(text) : decode_quoted_printable(text, true);
  word.length = text_end + 2;
  return word;
}

// The length of the longest prefix of `s` of at most `limit` bytes that does not end inside
// a UTF-8 sequence (at least 1 byte when `s` is not empty).
std::size_t utf8_cut(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return s.size();
  std::size_t cut = limit;
  for (int back = 0; back < 4 && cut > 0; ++back) {
    if ((static_cast<unsigned char>(s[cut]) & 0xC0) != 0x80) return cut;
    --cut;
  }
  return limit;  // not UTF-8 here: cut anywhere
}

}  // namespace

std::vector<HeaderField> split_header_fields(std::string_view header_block) {
  std::vector<HeaderField> fields;
  std::size_t pos = 0;
  while (pos < header_block.size()) {
    std::size_t lf = header_block.find('\n', pos);
    const std::size_t line_end = lf == std::string_view::npos ? header_block.size() : lf + 1;
    const std::string_view line = header_block.substr(pos, line_end - pos);
    if (line == "\r\n" || line == "\n" || line == "\r") break;  // the blank line
    if (is_wsp(line.front()) && !fields.empty()) {
      HeaderField& last = fields.back();
      const char* begin = last.lines.data();
      last.lines = std::string_view(begin, last.lines.size() + line.size());
    } else {
      HeaderField field;
      field.lines = line;
      if (!is_wsp(line.front())) {
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
          std::string_view name = line.substr(0, colon);
          while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
          field.name = name;
        }
      }
      fields.push_back(field);
    }
    pos = line_end;
  }
  for (HeaderField& field : fields) {
    std::string_view rest = field.lines;
    if (!field.name.empty()) rest.remove_prefix(rest.find(':') + 1);
    if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
    if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
    field.value = rest;
  }
  return fields;
}

std::string unfold_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n') out += c;
  }
  std::size_t begin = 0;
  while (begin < out.size() && is_wsp(out[begin])) ++begin;
  std::size_t end = out.size();
  while (end > begin && is_wsp(out[end - 1])) --end;
  return out.substr(begin, end - begin);
}

std::string decode_header_words(std::string_view value) {
  std::string out;
  std::string pending;          // bytes of adjacent encoded-words, not yet converted
  std::string pending_charset;  // their charset
  std::string gap;              // white space after the last encoded-word, held back
  bool after_word = false;

  const auto flush = [&] {
    if (!pending.empty()) out += to_utf8(pending, pending_charset);
    pending.clear();
  };

  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '=' && i + 1 < value.size() && value[i + 1] == '?') {
      if (std::optional<EncodedWord> word = parse_encoded_word(value.substr(i)); word) {
        if (!after_word || !iequals(word->charset, pending_charset)) {
          flush();
          pending_charset.assign(word->charset);
        }
        gap.clear();  // white space between encoded-words is not text
        pending += word->bytes;
        after_word = true;
        i += word->length;
        continue;
      }
    }
    if (after_word && is_wsp(value[i])) {
      gap += value[i++];
      continue;
    }
    flush();
    out += gap;
    gap.clear();
    after_word = false;
    out += value[i++];
  }
  flush();
  out += gap;
  return out;
}

bool needs_header_encoding(std::string_view utf8) {
  for (char c : utf8) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x7F || (u < 0x20 && c != '\t')) return true;
  }
  return utf8.find("=?") != std::string_view::npos;
}

std::string encode_header_words(std::string_view utf8) {
  if (!needs_header_encoding(utf8)) return std::string(utf8);
  static constexpr std::string_view kPrefix = "=?UTF-8?B?";
  static constexpr std::string_view kSuffix = "?=";
  // 60 base64 characters (45 bytes) fill a word to 72 of the 75 allowed.
  constexpr std::size_t kBytesPerWord =
      (kMaxEncodedWordBytes - kPrefix.size() - kSuffix.size()) / 4 * 3;
  std::string out;
  while (!utf8.empty()) {
    const std::size_t take = utf8_cut(utf8, kBytesPerWord);
    if (!out.empty()) out += ' ';
    out += kPrefix;
    out += encode_base64(utf8.substr(0, take));
    out += kSuffix;
    utf8.remove_prefix(take);
  }
  return out;
}

std::string decode_quoted_printable(std::string_view text, bool q_encoding) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (q_encoding && c == '_') {
      out += ' ';
      continue;
    }
    if (c == '=') {
      if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
        i += 2;  // soft line break
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        i += 1;  // soft line break, bare LF
        continue;
      }
      if (i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
        out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
        i += 2;
        continue;
      }
    }
    out += c;
  }
  return out;
}

std::string decode_transfer_encoding(std::string_view body, std::string_view encoding) {
  if (iequals(encoding, "base64")) return decode_base64_lenient(body);
  if (iequals(encoding, "quoted-printable")) return decode_quoted_printable(body);
  return std::string(body);
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  const std::optional<SingleByteCharset> single = single_byte_charset(charset);
  if (!single) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (char c : bytes) append_utf8(code_point(static_cast<unsigned char>(c), *single), out);
  return out;
}

}  // namespace post::email
