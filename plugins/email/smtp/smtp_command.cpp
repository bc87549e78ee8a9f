#include "plugins/email/smtp/smtp_command.h"

#include <array>
#include <limits>
#include <utility>

#include "plugins/email/smtp/smtp_text.h"

namespace post::email {
namespace {

struct VerbName {
  std::string_view name;
  SmtpVerb verb;
};

constexpr std::array<VerbName, 16> kVerbs = {{
    {"HELO", SmtpVerb::kHelo},
    {"EHLO", SmtpVerb::kEhlo},
    {"MAIL", SmtpVerb::kMail},
    {"RCPT", SmtpVerb::kRcpt},
    {"DATA", SmtpVerb::kData},
    {"RSET", SmtpVerb::kRset},
    {"NOOP", SmtpVerb::kNoop},
    {"QUIT", SmtpVerb::kQuit},
    {"VRFY", SmtpVerb::kVrfy},
    {"EXPN", SmtpVerb::kExpn},
    {"HELP", SmtpVerb::kHelp},
    {"AUTH", SmtpVerb::kAuth},
    {"STARTTLS", SmtpVerb::kStartTls},
    {"BDAT", SmtpVerb::kBdat},
    {"TURN", SmtpVerb::kTurn},
    {"ETRN", SmtpVerb::kEtrn},
}};

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool is_esmtp_keyword(std::string_view s) {
  if (s.empty() || s.front() == '-') return false;
  for (char c : s) {
    if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '-') return false;
  }
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF8-non-ascii (RFC 6531 3.3)
bool is_esmtp_value(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool ascii_ok = u >= 33 && u <= 126 && c != '=';
    if (!ascii_ok && u < 0x80) return false;
  }
  return is_valid_utf8(s);
}

// xtext (RFC 3461 4): "+" HEX HEX or a printable ASCII character other than "+" and "=".
bool is_xtext(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (s[i] == '+') {
      if (i + 2 >= s.size() || !is_ascii_hex(s[i + 1]) || !is_ascii_hex(s[i + 2])) {
        return false;
      }
      i += 2;
    } else if (u < 33 || u > 126 || s[i] == '=') {
      return false;
    }
  }
  return !s.empty();
}

// SIZE's value: 1 to kMaxSizeDigits digits, saturating at UINT64_MAX.
std::optional<std::uint64_t> parse_size(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > kMaxSizeDigits) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t size = 0;
  for (char c : *value) {
    if (!is_ascii_digit(c)) return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    size = size > (kMax - digit) / 10 ? kMax : size * 10 + digit;
  }
  return size;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

}  // namespace

SmtpCommand parse_command_line(std::string_view line) {
  std::size_t space = line.find(' ');
  std::string_view verb = line.substr(0, space);
  SmtpCommand command;
  for (const auto& known : kVerbs) {
    if (iequals(verb, known.name)) {
      command.verb = known.verb;
      break;
    }
  }
  if (space != std::string_view::npos) command.argument = trim_spaces(line.substr(space + 1));
  return command;
}

SmtpResult<PathCommand> parse_path_command(std::string_view argument, std::string_view keyword) {
  if (!istarts_with(argument, keyword)) {
    return smtp_error(SmtpErrc::kPathSyntax, "expected " + std::string(keyword) + "<address>");
  }
  std::string_view rest = argument.substr(keyword.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  auto parsed = parse_path_prefix(rest);
  if (!parsed.ok()) return parsed.error();
  PathCommand out;
  out.path = std::move(parsed->path);
  rest.remove_prefix(parsed->length);
  if (!rest.empty() && rest.front() != ' ') {
    return smtp_error(SmtpErrc::kPathSyntax, "text after the path");
  }
  while (true) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    if (out.parameters.size() == kMaxMailParameters) {
      return smtp_error(SmtpErrc::kParameterSyntax, "too many parameters");
    }
    std::size_t end = rest.find(' ');
    std::string_view item = rest.substr(0, end);
    rest.remove_prefix(item.size());
    std::size_t equals = item.find('=');
    EsmtpParameter parameter;
    std::string_view keyword_text = item.substr(0, equals);
    if (!is_esmtp_keyword(keyword_text)) {
      return smtp_error(SmtpErrc::kParameterSyntax, "malformed parameter");
    }
    parameter.keyword = upper(keyword_text);
    if (equals != std::string_view::npos) {
      std::string_view value = item.substr(equals + 1);
      if (!is_esmtp_value(value)) {
        return smtp_error(SmtpErrc::kParameterSyntax, "malformed parameter value");
      }
      parameter.value = std::string(value);
    }
    out.parameters.push_back(std::move(parameter));
  }
  return out;
}

SmtpResult<MailParameters> interpret_mail_parameters(
    const std::vector<EsmtpParameter>& parameters) {
  MailParameters out;
  std::optional<BodyType> body;
  for (const auto& p : parameters) {
    if (p.keyword == "SIZE") {
      std::optional<std::uint64_t> size = parse_size(p.value);
      if (!size) return smtp_error(SmtpErrc::kBadParameterValue, "SIZE needs a number");
      if (out.size && *out.size != *size) {
        return smtp_error(SmtpErrc::kDuplicateParameter, "SIZE given twice");
      }
      out.size = size;
    } else if (p.keyword == "BODY") {
      BodyType value = BodyType::kUnspecified;
      if (p.value && iequals(*p.value, "8BITMIME")) {
        value = BodyType::k8BitMime;
      } else if (p.value && iequals(*p.value, "7BIT")) {
        value = BodyType::k7Bit;
      } else {
        return smtp_error(SmtpErrc::kBadParameterValue, "BODY must be 7BIT or 8BITMIME");
      }
      if (body && *body != value) {
        return smtp_error(SmtpErrc::kDuplicateParameter, "BODY given twice");
      }
      body = value;
      out.body = value;
    } else if (p.keyword == "SMTPUTF8") {
      if (p.value) return smtp_error(SmtpErrc::kBadParameterValue, "SMTPUTF8 takes no value");
      out.smtputf8 = true;
    } else if (p.keyword == "AUTH") {
      if (!p.value || (*p.value != "<>" && !is_xtext(*p.value))) {
        return smtp_error(SmtpErrc::kBadParameterValue, "AUTH needs an xtext mailbox or <>");
      }
      if (out.auth && *out.auth != *p.value) {
        return smtp_error(SmtpErrc::kDuplicateParameter, "AUTH given twice");
      }
      out.auth = *p.value;
    } else {
      return smtp_error(SmtpErrc::kUnknownParameter, "unsupported parameter");
    }
  }
  return out;
}

}  // namespace post::email
