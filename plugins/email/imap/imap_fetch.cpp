#include "plugins/email/imap/imap_fetch.h"

#include "plugins/email/imap/imap_lexer.h"
#include "plugins/email/imap/imap_response.h"

namespace post::email {
namespace {

// Longest client word echoed back in an error text.
constexpr std::size_t kMaxEchoedWordBytes = 32;

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A fetch attribute or section-text name: letters, digits, '.', '-'.
std::string read_name(ImapLexer& lexer) {
  std::string name;
  while (is_name_char(lexer.peek())) {
    name += lexer.peek();
    lexer.advance(1);
  }
  return to_upper(name);
}

// RFC 5322 field-name: 1*ftext, printable ASCII except ':'.
bool is_header_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') return false;
  }
  return true;
}

ImapResult<std::vector<std::string>> parse_header_list(ImapLexer& lexer) {
  IMAP_TRY(lexer.expect_space("header field list"));
  if (!lexer.consume('(')) return lexer.error("Invalid header field list");
  std::vector<std::string> fields;
  for (;;) {
    IMAP_TRY_ASSIGN(std::string field, lexer.parse_astring("header field name"));
    if (!is_header_field_name(field)) return lexer.error("Invalid header field name");
    fields.push_back(std::move(field));
    if (lexer.consume(')')) return fields;
    if (!lexer.consume(' ')) return lexer.error("Invalid header field list");
  }
}

// section = "[" [section-spec] "]", the lexer standing on '['.
ImapResult<BodySection> parse_section(ImapLexer& lexer) {
  lexer.advance(1);  // '['
  BodySection section;
  if (lexer.consume(']')) return section;
  while (is_digit(lexer.peek())) {
    IMAP_TRY_ASSIGN(std::uint32_t part, lexer.parse_nz_number("section part"));
    section.part.push_back(part);
    if (!lexer.consume('.')) break;
    if (!is_digit(lexer.peek())) {
      if (lexer.peek() == ']') return lexer.error("Invalid section");
      break;
    }
  }
  if (!lexer.consume(']')) {
    std::string text = read_name(lexer);
    if (text == "HEADER") {
      section.text = SectionText::kHeader;
    } else if (text == "HEADER.FIELDS") {
      section.text = SectionText::kHeaderFields;
    } else if (text == "HEADER.FIELDS.NOT") {
      section.text = SectionText::kHeaderFieldsNot;
    } else if (text == "TEXT") {
      section.text = SectionText::kText;
    } else if (text == "MIME" && !section.part.empty()) {
      section.text = SectionText::kMime;
    } else {
      return lexer.error("Invalid section");
    }
    if (section.text == SectionText::kHeaderFields ||
        section.text == SectionText::kHeaderFieldsNot) {
      IMAP_TRY_ASSIGN(section.header_fields, parse_header_list(lexer));
    }
    if (!lexer.consume(']')) return lexer.error("Invalid section");
  }
  return section;
}

ImapResult<FetchItem> parse_fetch_att(ImapLexer& lexer) {
  if (lexer.at_end() || lexer.peek() == ' ' || lexer.peek() == ')') {
    return lexer.error("Missing fetch attribute");
  }
  std::string name = read_name(lexer);
  FetchItem item;
  if (name == "BODY" || name == "BODY.PEEK") {
    item.peek = name == "BODY.PEEK";
    if (lexer.peek() != '[') {
      if (item.peek) return lexer.error("Invalid fetch attribute BODY.PEEK");
      item.attribute = FetchAttribute::kBody;
      return item;
    }
    item.attribute = FetchAttribute::kBodySection;
    IMAP_TRY_ASSIGN(item.section, parse_section(lexer));
    if (lexer.consume('<')) {
      FetchPartial partial;
      IMAP_TRY_ASSIGN(partial.origin, lexer.parse_number("partial origin"));
      if (!lexer.consume('.')) return lexer.error("Invalid partial range");
      IMAP_TRY_ASSIGN(partial.count, lexer.parse_nz_number("partial length"));
      if (!lexer.consume('>')) return lexer.error("Invalid partial range");
      item.partial = partial;
    }
    return item;
  }
  static constexpr struct {
    std::string_view name;
    FetchAttribute attribute;
  } kSimple[] = {
      {"ENVELOPE", FetchAttribute::kEnvelope},
      {"FLAGS", FetchAttribute::kFlags},
      {"INTERNALDATE", FetchAttribute::kInternalDate},
      {"RFC822", FetchAttribute::kRfc822},
      {"RFC822.HEADER", FetchAttribute::kRfc822Header},
      {"RFC822.SIZE", FetchAttribute::kRfc822Size},
      {"RFC822.TEXT", FetchAttribute::kRfc822Text},
      {"BODYSTRUCTURE", FetchAttribute::kBodyStructure},
      {"UID", FetchAttribute::kUid},
  };
  for (const auto& simple : kSimple) {
    if (name == simple.name) {
      item.attribute = simple.attribute;
      return item;
    }
  }
  if (name.empty() || name.size() > kMaxEchoedWordBytes) {
    return lexer.error("Invalid fetch attribute");
  }
  return lexer.error("Unknown fetch attribute " + name);
}

void append_macro(std::vector<FetchItem>& items, std::initializer_list<FetchAttribute> list) {
  for (FetchAttribute attribute : list) {
    FetchItem item;
    item.attribute = attribute;
    items.push_back(item);
  }
}

}  // namespace

ImapResult<std::vector<FetchItem>> parse_fetch_items(ImapLexer& lexer) {
  std::vector<FetchItem> items;
  if (lexer.consume('(')) {
    for (;;) {
      IMAP_TRY_ASSIGN(FetchItem item, parse_fetch_att(lexer));
      items.push_back(std::move(item));
      if (lexer.consume(')')) return items;
      if (lexer.at_end()) return lexer.error("Unterminated fetch attribute list");
      if (!lexer.consume(' ')) return lexer.error("Invalid fetch attribute list");
    }
  }
  using A = FetchAttribute;
  if (lexer.consume_word("ALL")) {
    append_macro(items, {A::kFlags, A::kInternalDate, A::kRfc822Size, A::kEnvelope});
  } else if (lexer.consume_word("FAST")) {
    append_macro(items, {A::kFlags, A::kInternalDate, A::kRfc822Size});
  } else if (lexer.consume_word("FULL")) {
    append_macro(items, {A::kFlags, A::kInternalDate, A::kRfc822Size, A::kEnvelope, A::kBody});
  } else {
    IMAP_TRY_ASSIGN(FetchItem item, parse_fetch_att(lexer));
    items.push_back(std::move(item));
  }
  return items;
}

std::string format_fetch_item_name(const FetchItem& item) {
  switch (item.attribute) {
    case FetchAttribute::kEnvelope: return "ENVELOPE";
    case FetchAttribute::kFlags: return "FLAGS";
    case FetchAttribute::kInternalDate: return "INTERNALDATE";
    case FetchAttribute::kRfc822: return "RFC822";
    case FetchAttribute::kRfc822Header: return "RFC822.HEADER";
    case FetchAttribute::kRfc822Size: return "RFC822.SIZE";
    case FetchAttribute::kRfc822Text: return "RFC822.TEXT";
    case FetchAttribute::kBody: return "BODY";
    case FetchAttribute::kBodyStructure: return "BODYSTRUCTURE";
    case FetchAttribute::kUid: return "UID";
    case FetchAttribute::kBodySection: break;
  }
  std::string out = "BODY[";
  for (std::size_t i = 0; i < item.section.part.size(); ++i) {
    if (i > 0) out += '.';
    out += std::to_string(item.section.part[i]);
  }
  std::string_view text;
  switch (item.section.text) {
    case SectionText::kNone: break;
    case SectionText::kHeader: text = "HEADER"; break;
    case SectionText::kHeaderFields: text = "HEADER.FIELDS"; break;
    case SectionText::kHeaderFieldsNot: text = "HEADER.FIELDS.NOT"; break;
    case SectionText::kText: text = "TEXT"; break;
    case SectionText::kMime: text = "MIME"; break;
  }
  if (!text.empty()) {
    if (!item.section.part.empty()) out += '.';
    out += text;
  }
  if (item.section.text == SectionText::kHeaderFields ||
      item.section.text == SectionText::kHeaderFieldsNot) {
    out += " (";
    for (std::size_t i = 0; i < item.section.header_fields.size(); ++i) {
      if (i > 0) out += ' ';
      out += format_astring(item.section.header_fields[i]);
    }
    out += ')';
  }
  out += ']';
  if (item.partial) out += "<" + std::to_string(item.partial->origin) + ">";
  return out;
}

bool fetch_item_sets_seen(const FetchItem& item) {
  switch (item.attribute) {
    case FetchAttribute::kRfc822:
    case FetchAttribute::kRfc822Text: return true;
    case FetchAttribute::kBodySection: return !item.peek;
    default: return false;
  }
}

}  // namespace post::email
