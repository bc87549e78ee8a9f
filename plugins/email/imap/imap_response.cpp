#include "plugins/email/imap/imap_response.h"

#include "plugins/email/imap/imap_lexer.h"

namespace post::email {
namespace {

bool fits_quoted(std::string_view s) {
  if (s.size() > kMaxQuotedBytes) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0 || u >= 0x80 || c == '\r' || c == '\n') return false;
  }
  return true;
}

}  // namespace

std::string quote_or_literal(std::string_view s) {
  std::string out;
  if (fits_quoted(s)) {
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return out;
  }
  out = "{" + std::to_string(s.size()) + "}\r\n";
  out.append(s);
  return out;
}

std::string format_nstring(std::optional<std::string_view> s) {
  if (!s) return "NIL";
  return quote_or_literal(*s);
}

std::string format_astring(std::string_view s) {
  bool atom = !s.empty() && !iequals(s, "NIL");
  for (char c : s) {
    if (!is_atom_char(c) && c != ']') {
      atom = false;
      break;
    }
  }
  return atom ? std::string(s) : quote_or_literal(s);
}

std::string format_flags(std::span<const std::string> flags) {
  std::string out = "(";
  for (const std::string& flag : flags) {
    if (out.size() > 1) out += ' ';
    out += flag;
  }
  out += ')';
  return out;
}

std::string format_status_response(std::string_view tag, ImapStatus status, std::string_view text) {
  std::string out = tag.empty() ? std::string("*") : std::string(tag);
  out += ' ';
  out += status_name(status);
  out += ' ';
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
  return out;
}

}  // namespace post::email
