#include "plugins/email/imap/imap_result.h"

namespace post::email {
namespace {

class ImapCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "imap"; }
  std::string message(int value) const override {
    switch (static_cast<ImapErrc>(value)) {
      case ImapErrc::kSyntax: return "command syntax error";
      case ImapErrc::kUnknownCommand: return "unknown command";
      case ImapErrc::kBadTag: return "missing or invalid tag";
      case ImapErrc::kLineTooLong: return "command line too long";
      case ImapErrc::kCommandTooLarge: return "command too large";
      case ImapErrc::kLiteralTooLarge: return "literal too large";
      case ImapErrc::kNestingTooDeep: return "nesting too deep";
      case ImapErrc::kUnsupported: return "unsupported extension";
      case ImapErrc::kBadMailboxName: return "invalid mailbox name";
      case ImapErrc::kBadUtf8: return "invalid UTF-8";
      case ImapErrc::kBadModifiedUtf7: return "invalid modified UTF-7";
      case ImapErrc::kExpectedDone: return "expected DONE";
    }
    return "unknown imap error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& imap_category() {
  static const ImapCategory category;
  return category;
}

std::string_view status_name(ImapStatus status) {
  switch (status) {
    case ImapStatus::kOk: return "OK";
    case ImapStatus::kNo: return "NO";
    case ImapStatus::kBad: return "BAD";
    case ImapStatus::kBye: return "BYE";
  }
  return "BAD";
}

std::string ImapError::reply_line() const {
  std::string line = tag.empty() ? std::string("*") : tag;
  line += ' ';
  line += status_name(status);
  line += ' ';
  line += text;
  line += "\r\n";
  return line;
}

}  // namespace post::email
