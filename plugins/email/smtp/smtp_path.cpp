#include "plugins/email/smtp/smtp_path.h"

#include <optional>
#include <utility>

#include "plugins/email/smtp/smtp_text.h"

namespace post::email {
namespace {

// RFC 5322 3.2.3 atext, plus UTF8-non-ascii (RFC 6531 3.3); UTF-8 validity is checked on the
// whole local part afterwards.
bool is_atext(char c) {
  if (is_ascii_alpha(c) || is_ascii_digit(c) || is_non_ascii(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// RFC 5321 qtextSMTP: printable ASCII but '"' and '\', plus UTF8-non-ascii.
bool is_qtext(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 32 && u <= 126 && c != '"' && c != '\\') || u >= 0x80;
}

// RFC 5321 dcontent: printable ASCII but '[', '\' and ']'.
bool is_dcontent(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != '[' && c != '\\' && c != ']';
}

// A label character: Let-dig / "-", or a byte of a U-label.
bool is_label_char(char c) {
  return is_ascii_alpha(c) || is_ascii_digit(c) || c == '-' || is_non_ascii(c);
}

bool is_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char previous = 0;
  for (char c : s) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    previous = c;
  }
  return true;
}

// Snum "." Snum "." Snum "." Snum, each 0-255 in at most three digits.
bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    int value = 0;
    while (i < s.size() && is_ascii_digit(s[i]) && digits < 4) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// Counts the 16-bit units of colon-separated IPv6 groups; an IPv4 tail counts two. Returns
// -1 when a group is malformed.
int ipv6_units(std::string_view part, bool ipv4_tail_allowed) {
  if (part.empty()) return 0;
  int units = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = part.find(':', start);
    std::string_view group =
        part.substr(start, colon == std::string_view::npos ? part.npos : colon - start);
    bool last = colon == std::string_view::npos;
    if (last && ipv4_tail_allowed && group.find('.') != std::string_view::npos) {
      if (!is_ipv4_literal(group)) return -1;
      units += 2;
    } else {
      if (group.empty() || group.size() > 4) return -1;
      for (char c : group) {
        if (!is_ascii_hex(c)) return -1;
      }
      units += 1;
    }
    if (units > 8) return -1;
    if (last) return units;
    start = colon + 1;
  }
}

// RFC 5321 IPv6-addr after "IPv6:": full, compressed, and both with an IPv4 tail. "::"
// stands for at least two zero groups, so at most six units may surround it.
bool is_ipv6_literal(std::string_view s) {
  std::size_t gap = s.find("::");
  if (gap == std::string_view::npos) return ipv6_units(s, true) == 8;
  if (s.find("::", gap + 1) != std::string_view::npos) return false;
  std::string_view right = s.substr(gap + 2);
  int left_units = ipv6_units(s.substr(0, gap), false);
  int right_units = ipv6_units(right, true);
  return left_units >= 0 && right_units >= 0 && left_units + right_units <= 6;
}

// General-address-literal = Standardized-tag ":" 1*dcontent, the tag an Ldh-str.
bool is_general_literal(std::string_view s) {
  std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  std::string_view tag = s.substr(0, colon);
  if (tag.back() == '-') return false;
  for (char c : tag) {
    if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '-') return false;
  }
  return true;  // the content was checked as dcontent while reading it
}

class PathParser {
 public:
  explicit PathParser(std::string_view text) : s_(text) {}

  SmtpResult<PathPrefix> parse() {
    if (!take('<')) return fail(SmtpErrc::kPathSyntax, "path must be enclosed in <>");
    PathPrefix out;
    if (take('>')) {
      out.path.null = true;
      out.length = i_;
      return out;
    }
    if (peek() == '@') {
      if (auto error = skip_source_route()) return std::move(*error);
    }
    bool quoted = peek() == '"';
    std::size_t local_start = i_;
    if (auto error = quoted ? read_quoted_string(out.path.local_part)
                            : read_dot_string(out.path.local_part)) {
      return std::move(*error);
    }
    if (i_ - local_start > kMaxLocalPartBytes) {
      return fail(SmtpErrc::kPathTooLong, "local part longer than 64 bytes");
    }
    if (!is_valid_utf8(out.path.local_part)) {
      return fail(SmtpErrc::kBadUtf8, "local part is not valid UTF-8");
    }
    if (!quoted && peek() == '>' && iequals(out.path.local_part, "postmaster")) {
      ++i_;
      out.length = i_;
      return out;
    }
    if (!take('@')) return fail(SmtpErrc::kPathSyntax, "address has no @domain");
    if (peek() == '[') {
      if (auto error = read_address_literal(out.path.domain)) return std::move(*error);
    } else {
      if (auto error = read_domain(out.path.domain)) return std::move(*error);
    }
    if (!take('>')) return fail(SmtpErrc::kPathSyntax, "unexpected character in path");
    if (i_ > kMaxPathBytes) return fail(SmtpErrc::kPathTooLong, "path longer than 256 bytes");
    out.length = i_;
    return out;
  }

 private:
  using MaybeError = std::optional<SmtpError>;

  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool take(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  static SmtpError fail(SmtpErrc code, const char* detail) { return smtp_error(code, detail); }

  // A-d-l ":" where A-d-l = At-domain *( "," At-domain ): read and forgotten (RFC 5321 C).
  MaybeError skip_source_route() {
    std::string ignored;
    do {
      if (!take('@')) return fail(SmtpErrc::kPathSyntax, "bad source route");
      ignored.clear();
      if (auto error = read_domain(ignored)) return error;
    } while (take(','));
    if (!take(':')) return fail(SmtpErrc::kPathSyntax, "bad source route");
    return std::nullopt;
  }

  MaybeError read_dot_string(std::string& out) {
    std::size_t start = i_;
    while (i_ < s_.size() && (is_atext(s_[i_]) || s_[i_] == '.')) ++i_;
    out.assign(s_.substr(start, i_ - start));
    if (!is_dot_string(out)) return fail(SmtpErrc::kLocalPartSyntax, "bad local part");
    return std::nullopt;
  }

  MaybeError read_quoted_string(std::string& out) {
    ++i_;  // the opening quote
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return std::nullopt;
      }
      if (c == '\\') {
        // quoted-pairSMTP = %d92 %d32-126
        if (i_ + 1 >= s_.size()) break;
        auto next = static_cast<unsigned char>(s_[i_ + 1]);
        if (next < 32 || next > 126) {
          return fail(SmtpErrc::kLocalPartSyntax, "bad escape in quoted local part");
        }
        out.push_back(s_[i_ + 1]);
        i_ += 2;
        continue;
      }
      if (!is_qtext(c)) return fail(SmtpErrc::kLocalPartSyntax, "bad quoted local part");
      out.push_back(c);
      ++i_;
    }
    return fail(SmtpErrc::kLocalPartSyntax, "unterminated quoted local part");
  }

  // Domain = sub-domain *("." sub-domain); a sub-domain is an LDH label or a U-label.
  MaybeError read_domain(std::string& out) {
    std::size_t start = i_;
    while (true) {
      std::size_t label_start = i_;
      while (i_ < s_.size() && is_label_char(s_[i_])) ++i_;
      std::string_view label = s_.substr(label_start, i_ - label_start);
      if (label.empty()) return fail(SmtpErrc::kDomainSyntax, "empty domain label");
      if (label.front() == '-' || label.back() == '-') {
        return fail(SmtpErrc::kDomainSyntax, "domain label begins or ends with a hyphen");
      }
      if (label.size() > kMaxDomainLabelBytes) {
        return fail(SmtpErrc::kDomainSyntax, "domain label longer than 63 bytes");
      }
      if (i_ - start > kMaxDomainBytes) {
        return fail(SmtpErrc::kPathTooLong, "domain longer than 255 bytes");
      }
      if (!take('.')) break;
    }
    out.assign(s_.substr(start, i_ - start));
    if (!is_valid_utf8(out)) return fail(SmtpErrc::kBadUtf8, "domain is not valid UTF-8");
    return std::nullopt;
  }

  MaybeError read_address_literal(std::string& out) {
    std::size_t start = i_;
    ++i_;  // "["
    std::size_t content_start = i_;
    while (i_ < s_.size() && is_dcontent(s_[i_])) ++i_;
    std::string_view content = s_.substr(content_start, i_ - content_start);
    if (!take(']')) return fail(SmtpErrc::kAddressLiteralSyntax, "bad address literal");
    bool valid = false;
    if (istarts_with(content, "IPv6:")) {
      valid = is_ipv6_literal(content.substr(5));
    } else if (content.find(':') != std::string_view::npos) {
      valid = is_general_literal(content);
    } else {
      valid = is_ipv4_literal(content);
    }
    if (!valid) return fail(SmtpErrc::kAddressLiteralSyntax, "bad address literal");
    if (i_ - start > kMaxDomainBytes) {
      return fail(SmtpErrc::kPathTooLong, "domain longer than 255 bytes");
    }
    out.assign(s_.substr(start, i_ - start));
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::string SmtpPath::mailbox() const {
  if (null) return {};
  std::string out;
  if (is_dot_string(local_part)) {
    out = local_part;
  } else {
    out.push_back('"');
    for (char c : local_part) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  if (!domain.empty()) {
    out.push_back('@');
    out += domain;
  }
  return out;
}

bool SmtpPath::has_non_ascii() const {
  return post::email::has_non_ascii(local_part) || post::email::has_non_ascii(domain);
}

SmtpResult<PathPrefix> parse_path_prefix(std::string_view text) {
  return PathParser(text).parse();
}

SmtpResult<SmtpPath> parse_path(std::string_view text) {
  auto parsed = parse_path_prefix(text);
  if (!parsed.ok()) return parsed.error();
  if (parsed->length != text.size()) {
    return smtp_error(SmtpErrc::kPathSyntax, "text after the path");
  }
  return std::move(parsed).value().path;
}

}  // namespace post::email
