#include "plugins/email/smtp/smtp_reply.h"

#include "plugins/email/smtp/smtp_text.h"

namespace post::email {
namespace {

void append_code(std::string& out, int code) {
  if (code < 200 || code > 599) code = 451;  // never emit a malformed code
  out += std::to_string(code);
}

void append_sanitised(std::string& out, std::string_view text) {
  if (text.size() > kMaxReplyTextBytes) text = text.substr(0, kMaxReplyTextBytes);
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 32 && u <= 126 ? c : '?');
  }
}

// Digits of one part of an enhanced code: 1..3 digits.
bool is_code_part(std::string_view part) {
  if (part.empty() || part.size() > 3) return false;
  for (char c : part) {
    if (!is_ascii_digit(c)) return false;
  }
  return true;
}

}  // namespace

void append_reply(std::string& out, const SmtpReply& reply) {
  append_code(out, reply.code);
  out.push_back(' ');
  if (!reply.enhanced_code.empty() && is_valid_enhanced_code(reply.enhanced_code, reply.code)) {
    out += reply.enhanced_code;
    out.push_back(' ');
  }
  append_sanitised(out, reply.text);
  out += "\r\n";
}

void append_multiline_reply(std::string& out, int code, const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    append_code(out, code);
    out.push_back(i + 1 == lines.size() ? ' ' : '-');
    append_sanitised(out, lines[i]);
    out += "\r\n";
  }
}

bool is_valid_enhanced_code(std::string_view enhanced_code, int reply_code) {
  int reply_class = reply_code / 100;
  if (reply_class != 2 && reply_class != 4 && reply_class != 5) return false;
  if (enhanced_code.size() < 5 || enhanced_code[0] != static_cast<char>('0' + reply_class) ||
      enhanced_code[1] != '.') {
    return false;
  }
  std::string_view rest = enhanced_code.substr(2);
  std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  return is_code_part(rest.substr(0, dot)) && is_code_part(rest.substr(dot + 1));
}

SmtpReply resolve_verdict(const SmtpVerdict& verdict, const VerdictDefaults& defaults) {
  const SmtpReply* fallback = &defaults.accept;
  if (verdict.kind == SmtpVerdict::Kind::kTemporaryFailure) fallback = &defaults.temporary_failure;
  if (verdict.kind == SmtpVerdict::Kind::kPermanentFailure) fallback = &defaults.permanent_failure;
  SmtpReply reply = *fallback;
  if (verdict.code != 0 && verdict.code / 100 == fallback->code / 100 && verdict.code % 100 < 60) {
    reply.code = verdict.code;
  }
  if (!verdict.enhanced_code.empty() && is_valid_enhanced_code(verdict.enhanced_code, reply.code)) {
    reply.enhanced_code = verdict.enhanced_code;
  }
  if (!verdict.text.empty()) reply.text = verdict.text;
  return reply;
}

}  // namespace post::email
