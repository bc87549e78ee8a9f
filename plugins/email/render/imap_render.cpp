#include "plugins/email/render/imap_render.h"

#include <algorithm>
#include <vector>

#include "plugins/email/imap/imap_response.h"
#include "plugins/email/render/mail_text.h"

namespace post::email {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// A text value of a response: NIL when empty, else the string (encoded-words if needed).
std::string encoded_nstring(std::string_view utf8) {
  if (utf8.empty()) return "NIL";
  return quote_or_literal(encode_header_words(utf8));
}

std::string plain_nstring(std::string_view s) {
  if (s.empty()) return "NIL";
  return quote_or_literal(s);
}

void append_address(const MailAddress& address, std::string& out) {
  out += '(';
  out += encoded_nstring(address.name);
  out += " NIL ";
  const std::size_t at = address.address.rfind('@');
  if (at == std::string::npos) {
    out += quote_or_literal(address.address);
    out += " \"\"";
  } else {
    out += quote_or_literal(std::string_view(address.address).substr(0, at));
    out += ' ';
    out += quote_or_literal(std::string_view(address.address).substr(at + 1));
  }
  out += ')';
}

void append_address_list(const std::vector<MailAddress>& list, std::string& out) {
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const MailAddress& address : list) append_address(address, out);
  out += ')';
}

void append_parameters(const std::vector<MimeParameter>& parameters, std::string& out) {
  if (parameters.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  for (const MimeParameter& parameter : parameters) {
    if (!first) out += ' ';
    first = false;
    out += quote_or_literal(parameter.name);
    out += ' ';
    out += quote_or_literal(encode_header_words(parameter.value));
  }
  out += ')';
}

bool has_field(std::string_view header_block, std::string_view name) {
  const std::vector<HeaderField> fields = split_header_fields(header_block);
  return std::any_of(fields.begin(), fields.end(),
                     [&](const HeaderField& field) { return iequals(field.name, name); });
}

void append_disposition(const MimePart& part, std::string& out) {
  if (part.disposition.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  out += quote_or_literal(part.disposition);
  out += ' ';
  append_parameters(part.disposition_parameters, out);
  out += ')';
}

// Content-Language as a list of its comma-separated tags, or NIL.
void append_language(std::string_view language, std::string& out) {
  std::vector<std::string> tags;
  while (!language.empty()) {
    const std::size_t comma = language.find(',');
    std::string tag = unfold_header_value(language.substr(0, comma));
    if (!tag.empty()) tags.push_back(std::move(tag));
    if (comma == std::string_view::npos) break;
    language.remove_prefix(comma + 1);
  }
  if (tags.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) out += ' ';
    out += quote_or_literal(tags[i]);
  }
  out += ')';
}

void append_body_structure(const MimePart& part, bool extensible, std::string& out) {
  out += '(';
  if (part.kind == MimePartKind::kMultipart) {
    for (const MimePart& child : part.children) append_body_structure(child, extensible, out);
    out += ' ';
    out += quote_or_literal(part.subtype);
    if (extensible) {
      out += ' ';
      append_parameters(part.parameters, out);
      out += ' ';
      append_disposition(part, out);
      out += ' ';
      append_language(part.language, out);
      out += ' ';
      out += plain_nstring(part.location);
    }
    out += ')';
    return;
  }

  out += quote_or_literal(part.type);
  out += ' ';
  out += quote_or_literal(part.subtype);
  out += ' ';
  if (part.parameters.empty() && part.type == "text" && !has_field(part.header, "Content-Type")) {
    out += "(\"charset\" \"us-ascii\")";
  } else {
    append_parameters(part.parameters, out);
  }
  out += ' ';
  out += part.id.empty() ? std::string("NIL") : quote_or_literal("<" + part.id + ">");
  out += ' ';
  out += encoded_nstring(part.description);
  out += ' ';
  out += quote_or_literal(part.encoding.empty() ? std::string_view("7bit") : part.encoding);
  out += ' ';
  out += std::to_string(part.size);
  if (part.kind == MimePartKind::kMessage) {
    out += ' ';
    out += format_envelope(part.embedded_envelope.value_or(Envelope{}));
    out += ' ';
    if (part.children.empty()) {
      append_body_structure(MimePart{}, extensible, out);
    } else {
      append_body_structure(part.children.front(), extensible, out);
    }
    out += ' ';
    out += std::to_string(part.lines);
  } else if (part.type == "text") {
    out += ' ';
    out += std::to_string(part.lines);
  }
  if (extensible) {
    out += ' ';
    out += plain_nstring(part.md5);
    out += ' ';
    append_disposition(part, out);
    out += ' ';
    append_language(part.language, out);
    out += ' ';
    out += plain_nstring(part.location);
  }
  out += ')';
}

// The entity that part numbers `numbers` lead to from the message whose root is `root`, or
// null when there is none (see render_section).
const MimePart* find_part(const MimePart& root, std::span<const std::uint32_t> numbers) {
  const MimePart* message = &root;  // the root entity of the message the numbers are in
  const MimePart* current = nullptr;
  for (const std::uint32_t n : numbers) {
    if (n == 0) return nullptr;
    if (current != nullptr) {
      if (current->kind == MimePartKind::kMultipart) {
        if (n > current->children.size()) return nullptr;
        current = &current->children[n - 1];
        continue;
      }
      if (current->kind != MimePartKind::kMessage || current->children.empty()) return nullptr;
      message = &current->children.front();
    }
    if (message->kind == MimePartKind::kMultipart) {
      if (n > message->children.size()) return nullptr;
      current = &message->children[n - 1];
    } else {
      if (n != 1) return nullptr;
      current = message;
    }
  }
  return current;
}

bool is_header_text(SectionText text) {
  return text == SectionText::kHeader || text == SectionText::kHeaderFields ||
         text == SectionText::kHeaderFieldsNot;
}

// A header section (HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT) of `header_block`.
std::string header_section(std::string_view header_block, const BodySection& section) {
  switch (section.text) {
    case SectionText::kHeader: return std::string(header_block);
    case SectionText::kHeaderFields:
      return filter_header_fields(header_block, section.header_fields, false);
    case SectionText::kHeaderFieldsNot:
      return filter_header_fields(header_block, section.header_fields, true);
    default: return std::string();
  }
}

}  // namespace

std::string format_envelope(const Envelope& envelope) {
  std::string out = "(";
  out += plain_nstring(envelope.date);
  out += ' ';
  out += encoded_nstring(envelope.subject);
  out += ' ';
  append_address_list(envelope.from, out);
  out += ' ';
  append_address_list(envelope.sender.empty() ? envelope.from : envelope.sender, out);
  out += ' ';
  append_address_list(envelope.reply_to.empty() ? envelope.from : envelope.reply_to, out);
  out += ' ';
  append_address_list(envelope.to, out);
  out += ' ';
  append_address_list(envelope.cc, out);
  out += ' ';
  append_address_list(envelope.bcc, out);
  out += ' ';
  out += plain_nstring(envelope.in_reply_to);
  out += ' ';
  out += envelope.message_id.empty() ? std::string("NIL")
                                     : quote_or_literal("<" + envelope.message_id + ">");
  out += ')';
  return out;
}

std::string format_body_structure(const MimePart& part, bool extensible) {
  std::string out;
  append_body_structure(part, extensible, out);
  return out;
}

bool section_needs_bodies(const BodySection& section) {
  return !(is_header_text(section.text) || section.text == SectionText::kMime);
}

bool section_is_top_header(const BodySection& section) {
  return section.part.empty() && is_header_text(section.text);
}

RenderResult<std::string> render_section(const MessageLayout& layout,
                                         std::span<const std::string_view> bodies,
                                         const BodySection& section) {
  if (section.part.empty()) {
    if (is_header_text(section.text)) return header_section(layout.header(), section);
    if (section.text == SectionText::kText) return render_content(layout.root, bodies);
    if (section.text == SectionText::kMime) return std::string();
    return reassemble(layout, bodies);
  }
  const MimePart* part = find_part(layout.root, section.part);
  if (part == nullptr) return std::string();
  switch (section.text) {
    case SectionText::kNone: return render_content(*part, bodies);
    case SectionText::kMime: return part->header;
    default: break;
  }
  if (part->kind != MimePartKind::kMessage || part->children.empty()) return std::string();
  const MimePart& embedded = part->children.front();
  if (section.text == SectionText::kText) return render_content(embedded, bodies);
  return header_section(embedded.header, section);
}

std::string header_only_section(std::string_view header_block, const BodySection& section) {
  if (!section_is_top_header(section)) return std::string();
  return header_section(header_block, section);
}

std::string filter_header_fields(std::string_view header_block, std::span<const std::string> names,
                                 bool exclude) {
  std::string out;
  for (const HeaderField& field : split_header_fields(header_block)) {
    const bool named = !field.name.empty() &&
                       std::any_of(names.begin(), names.end(),
                                   [&](const std::string& n) { return iequals(field.name, n); });
    if (named != exclude) {
      out += field.lines;
      // A last field without a line ending (a header-only message) still ends its line.
      if (out.back() != '\n') out += kCrlf;
    }
  }
  out += kCrlf;
  return out;
}

std::string apply_partial(std::string_view bytes, std::optional<FetchPartial> partial) {
  if (!partial) return std::string(bytes);
  if (partial->origin >= bytes.size()) return std::string();
  return std::string(bytes.substr(partial->origin, partial->count));
}

}  // namespace post::email
