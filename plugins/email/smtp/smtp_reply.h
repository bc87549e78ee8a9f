// SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 2034, RFC 3463), and the
// verdicts a caller gives the session for recipients and messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace post::email {

// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its code and CRLF. Text past
// this many bytes is cut, which leaves room for the code and an enhanced code.
inline constexpr std::size_t kMaxReplyTextBytes = 480;

struct SmtpReply {
  int code = 0;               // 200..599 (or 3xx)
  std::string enhanced_code;  // "class.subject.detail", or empty where RFC 2034 omits it
  std::string text;
};

// Appends `reply` as one line "<code> [<enhanced>] <text>\r\n". Bytes of the text outside
// printable ASCII become '?', and text past kMaxReplyTextBytes is cut, so no text, whoever
// supplied it, can end the line early or inject a reply.
void append_reply(std::string& out, const SmtpReply& reply);

// Appends a multi-line reply "<code>-<line>" ... "<code> <last line>" (RFC 5321 4.2.1), with
// the same sanitising as append_reply(). Appends nothing for an empty `lines`.
void append_multiline_reply(std::string& out, int code, const std::vector<std::string>& lines);

// True for "c.s.d" with c the class digit of `reply_code` (2, 4 or 5), s and d of one to
// three digits (RFC 3463 2).
bool is_valid_enhanced_code(std::string_view enhanced_code, int reply_code);

// The caller's answer to a recipient or a message: accept, or refuse for now (4xx, the
// client retries) or for good (5xx). Anything left empty or 0 takes the session's default
// for that question; a code or enhanced code of the wrong class is replaced by the default.
struct SmtpVerdict {
  enum class Kind { kAccept, kTemporaryFailure, kPermanentFailure };

  Kind kind = Kind::kAccept;
  int code = 0;               // e.g. 550, 551, 553; 0 = default
  std::string enhanced_code;  // e.g. "5.1.1"; empty = default
  std::string text;           // the human part of the reply; empty = default

  static SmtpVerdict accept(std::string text = {}) {
    return {Kind::kAccept, 0, {}, std::move(text)};
  }
  // 250 2.0.0 "Ok: queued as <queue_id>", the usual answer to a stored message.
  static SmtpVerdict queued(std::string_view queue_id) {
    return accept("Ok: queued as " + std::string(queue_id));
  }
  static SmtpVerdict temporary_failure(std::string text = {}, std::string enhanced_code = {}) {
    return {Kind::kTemporaryFailure, 0, std::move(enhanced_code), std::move(text)};
  }
  static SmtpVerdict permanent_failure(std::string text = {}, std::string enhanced_code = {}) {
    return {Kind::kPermanentFailure, 0, std::move(enhanced_code), std::move(text)};
  }
};

// Default replies for each kind of verdict to one question.
struct VerdictDefaults {
  SmtpReply accept;
  SmtpReply temporary_failure;
  SmtpReply permanent_failure;
};

// The reply for `verdict`: its code, enhanced code and text where they are valid for its
// kind, the defaults for the rest.
SmtpReply resolve_verdict(const SmtpVerdict& verdict, const VerdictDefaults& defaults);

}  // namespace post::email
