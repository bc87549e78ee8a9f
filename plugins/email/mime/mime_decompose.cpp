#include "plugins/email/mime/mime_decompose.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "plugins/email/mime/gmime_runtime.h"

namespace post::email {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kBlankLine = "\r\n\r\n";

struct GObjectUnref {
  void operator()(void* object) const { g_object_unref(object); }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

std::string text_of(const char* s) {
  return s == nullptr ? std::string() : std::string(s);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trimmed(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string header_value(GMimeObject* object, const char* name) {
  return trimmed(text_of(g_mime_object_get_header(object, name)));
}

std::size_t count_lf(std::string_view s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// True when `text` starts with an RFC 5322 field name (printable ASCII but ':') and a colon,
// allowing obsolete white space before the colon.
bool starts_with_header_field(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] > 32 && text[i] < 127 && text[i] != ':') ++i;
  if (i == 0) return false;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  return i < text.size() && text[i] == ':';
}

// The end of the header block starting at `begin`: just past its blank line, or the end of
// the text when there is none.
std::size_t header_block_end(std::string_view text, std::size_t begin) {
  const std::size_t blank = text.find(kBlankLine, begin);
  return blank == std::string_view::npos ? text.size() : blank + kBlankLine.size();
}

// How many lines start with "Content-Type" (any case) and a colon: an upper bound on the
// entities GMime's recursive parser can build, checked before it runs.
std::size_t count_content_type_lines(std::string_view text) {
  static constexpr std::string_view kName = "content-type";
  std::size_t count = 0;
  for (std::size_t line = 0; line < text.size();) {
    if (text.size() - line >= kName.size()) {
      bool match = true;
      for (std::size_t k = 0; k < kName.size() && match; ++k) {
        match = std::tolower(static_cast<unsigned char>(text[line + k])) == kName[k];
      }
      if (match && starts_with_header_field(text.substr(line))) ++count;
    }
    const std::size_t lf = text.find('\n', line);
    if (lf == std::string_view::npos) break;
    line = lf + 1;
  }
  return count;
}

void append_addresses(InternetAddressList* list, std::vector<MailAddress>& out, int depth) {
  if (list == nullptr || depth > 2) return;
  const int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(address)) {
      append_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), out,
                       depth + 1);
    } else if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
      out.push_back(MailAddress{
          text_of(internet_address_get_name(address)),
          text_of(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address)))});
    }
  }
}

Envelope envelope_of(GMimeMessage* message) {
  Envelope e;
  append_addresses(g_mime_message_get_from(message), e.from, 0);
  append_addresses(g_mime_message_get_sender(message), e.sender, 0);
  append_addresses(g_mime_message_get_reply_to(message), e.reply_to, 0);
  append_addresses(g_mime_message_get_to(message), e.to, 0);
  append_addresses(g_mime_message_get_cc(message), e.cc, 0);
  append_addresses(g_mime_message_get_bcc(message), e.bcc, 0);
  e.subject = text_of(g_mime_message_get_subject(message));
  GMimeObject* object = GMIME_OBJECT(message);
  e.date = header_value(object, "Date");
  if (GDateTime* date = g_mime_message_get_date(message); date != nullptr) {
    e.date_unix = g_date_time_to_unix(date);
  }
  e.message_id = text_of(g_mime_message_get_message_id(message));
  e.in_reply_to = header_value(object, "In-Reply-To");
  return e;
}

std::vector<MimeParameter> parameters_of(GMimeParamList* list) {
  std::vector<MimeParameter> out;
  if (list == nullptr) return out;
  const int n = g_mime_param_list_length(list);
  for (int i = 0; i < n; ++i) {
    GMimeParam* param = g_mime_param_list_get_parameter_at(list, i);
    out.push_back(MimeParameter{text_of(g_mime_param_get_name(param)),
                                text_of(g_mime_param_get_value(param))});
  }
  return out;
}

// Parses `text` (normalised, bounded) with GMime as a message. Null when GMime gives up.
GPtr<GMimeMessage> parse_message(std::string_view text) {
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  g_mime_parser_set_persist_stream(parser.get(), TRUE);
  return GPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

// A byte range [begin, end) of the normalised message.
struct Extent {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Turns GMime's tree into MimeParts whose header blocks, glue and bodies tile the message.
// Every method returns false when GMime's offsets do not fit; the caller then stores the
// message as one opaque part.
class LayoutBuilder {
 public:
  explicit LayoutBuilder(std::string_view text) : text_(text) {}

  bool build_root(GMimeMessage* message, MimePart& root) {
    GMimeObject* content = g_mime_message_get_mime_part(message);
    if (content == nullptr) return false;
    Extent extent;
    if (!build_entity(GMIME_OBJECT(message), content, text_.size(), {}, 0, root, extent)) {
      return false;
    }
    return extent.begin == 0 && extent.end == text_.size();
  }

  std::vector<std::string> take_bodies() { return std::move(bodies_); }

 private:
  // Builds the entity whose headers are those of `owner` (the part itself, or the message for
  // a message's root entity) and whose content is `content`. `limit` is where the enclosing
  // content ends; `outer_boundary` the boundary of the enclosing multipart, if any.
  bool build_entity(GMimeObject* owner, GMimeObject* content, std::size_t limit,
                    std::string_view outer_boundary, int depth, MimePart& part, Extent& extent) {
    if (depth > kMaxMimeDepth || ++entities_ > kMaxMimeParts) return false;
    describe(content, part);

    // A message's Content-* headers may sit in its root part's list rather than its own.
    std::optional<std::size_t> header_begin;
    for (GMimeObject* holder : {owner, content}) {
      GMimeHeaderList* headers = g_mime_object_get_header_list(holder);
      const int header_count = headers == nullptr ? 0 : g_mime_header_list_get_count(headers);
      for (int i = 0; i < header_count; ++i) {
        const gint64 offset =
            g_mime_header_get_offset(g_mime_header_list_get_header_at(headers, i));
        if (offset < 0 || static_cast<std::size_t>(offset) > limit) return false;
        const auto at = static_cast<std::size_t>(offset);
        header_begin = header_begin ? std::min(*header_begin, at) : at;
      }
    }
    const std::size_t scan_from = header_begin.value_or(0);
    std::size_t header_end = header_begin ? std::min(header_block_end(text_, scan_from), limit) : 0;

    // The items, built in order; the cursor is the end of the last one.
    std::vector<Extent> items;
    if (GMIME_IS_MULTIPART(content)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(content);
      part.kind = MimePartKind::kMultipart;
      // Not g_mime_multipart_get_boundary(): without a boundary parameter it invents one and
      // re-encodes the Content-Type header, which can blow up on hostile parameter lists.
      part.boundary = text_of(g_mime_object_get_content_type_parameter(content, "boundary"));
      part.preamble = text_of(g_mime_multipart_get_prologue(multipart));
      part.epilogue = text_of(g_mime_multipart_get_epilogue(multipart));
      if (part.boundary.empty()) return false;
      // A multipart whose boundary never occurs has no children, which IMAP's BODYSTRUCTURE
      // cannot express: such a message is stored opaque.
      const int n = g_mime_multipart_get_count(multipart);
      if (n <= 0) return false;
      part.children.resize(static_cast<std::size_t>(std::max(n, 0)));
      for (int i = 0; i < n; ++i) {
        GMimeObject* child = g_mime_multipart_get_part(multipart, i);
        Extent child_extent;
        if (!build_entity(child, child, limit, part.boundary, depth + 1,
                          part.children[static_cast<std::size_t>(i)], child_extent)) {
          return false;
        }
        items.push_back(child_extent);
      }
    } else if (GMIME_IS_MESSAGE_PART(content)) {
      GMimeMessage* embedded = g_mime_message_part_get_message(GMIME_MESSAGE_PART(content));
      if (embedded == nullptr) return false;
      GMimeObject* embedded_content = g_mime_message_get_mime_part(embedded);
      if (embedded_content == nullptr) return false;
      part.kind = MimePartKind::kMessage;
      part.embedded_envelope = envelope_of(embedded);
      part.children.resize(1);
      Extent child_extent;
      if (!build_entity(GMIME_OBJECT(embedded), embedded_content, limit, outer_boundary, depth + 1,
                        part.children[0], child_extent)) {
        return false;
      }
      items.push_back(child_extent);
    } else if (GMIME_IS_PART(content)) {
      part.kind = MimePartKind::kLeaf;
      GMimeDataWrapper* wrapper = g_mime_part_get_content(GMIME_PART(content));
      GMimeStream* stream = wrapper == nullptr ? nullptr : g_mime_data_wrapper_get_stream(wrapper);
      Extent body{header_end, header_end};
      if (stream != nullptr) {
        if (stream->bound_start < 0) return false;
        body.begin = static_cast<std::size_t>(stream->bound_start);
        body.end = stream->bound_end < 0 ? limit : static_cast<std::size_t>(stream->bound_end);
      } else if (!header_begin) {
        return false;
      }
      if (body.begin > body.end || body.end > limit) return false;
      part.body_index = bodies_.size();
      part.body_size = body.end - body.begin;
      bodies_.emplace_back(text_.substr(body.begin, body.end - body.begin));
      items.push_back(body);
    } else {
      return false;
    }

    // The entity starts at its first header; a header-less entity at its first item.
    const std::size_t first_item = items.empty() ? header_end : items.front().begin;
    if (!header_begin) {
      if (items.empty()) return false;
      header_begin = first_item;
      header_end = first_item;
    }
    header_end = std::min(header_end, first_item);
    if (*header_begin > header_end) return false;
    extent.begin = *header_begin;
    part.header.assign(text_.substr(extent.begin, header_end - extent.begin));

    // Glue between the items; then the entity ends before the next delimiter line of the
    // enclosing multipart (whose CRLF belongs to that delimiter, RFC 2046 5.1.1).
    std::size_t cursor = header_end;
    for (const Extent& item : items) {
      if (item.begin < cursor || item.end < item.begin) return false;
      part.glue.emplace_back(text_.substr(cursor, item.begin - cursor));
      cursor = item.end;
    }
    if (cursor > limit) return false;
    extent.end = entity_end(cursor, limit, outer_boundary);
    part.glue.emplace_back(text_.substr(cursor, extent.end - cursor));

    part.size = extent.end - header_end;
    if (part.kind == MimePartKind::kMessage ||
        (part.kind == MimePartKind::kLeaf && part.type == "text")) {
      part.lines = count_lf(text_.substr(header_end, part.size));
    }
    return true;
  }

  // Where an entity whose last item ends at `cursor` ends: at the line break before the first
  // line in [cursor, limit) that starts with "--" + outer_boundary, else at `limit`.
  std::size_t entity_end(std::size_t cursor, std::size_t limit,
                         std::string_view outer_boundary) const {
    if (outer_boundary.empty()) return limit;
    std::string dash("--");
    dash += outer_boundary;
    std::size_t line = cursor;
    if (line > 0 && text_[line - 1] != '\n') {
      const std::size_t lf = text_.find('\n', line);
      if (lf == std::string_view::npos || lf >= limit) return limit;
      line = lf + 1;
    }
    while (line < limit) {
      if (text_.substr(line, std::min(dash.size(), limit - line)) == dash) {
        std::size_t end = line;
        if (end >= cursor + kCrlf.size() && text_.substr(end - kCrlf.size(), 2) == kCrlf) {
          end -= kCrlf.size();
        } else if (end > cursor && text_[end - 1] == '\n') {
          end -= 1;
        }
        return end;
      }
      const std::size_t lf = text_.find('\n', line);
      if (lf == std::string_view::npos || lf >= limit) break;
      line = lf + 1;
    }
    return limit;
  }

  static void describe(GMimeObject* object, MimePart& part) {
    if (GMimeContentType* type = g_mime_object_get_content_type(object); type != nullptr) {
      part.type = lower(text_of(g_mime_content_type_get_media_type(type)));
      part.subtype = lower(text_of(g_mime_content_type_get_media_subtype(type)));
      part.parameters = parameters_of(g_mime_content_type_get_parameters(type));
    }
    part.id = text_of(g_mime_object_get_content_id(object));
    part.description = header_value(object, "Content-Description");
    const std::string encoding = lower(header_value(object, "Content-Transfer-Encoding"));
    part.encoding = encoding.empty() ? "7bit" : encoding;
    if (GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
        disposition != nullptr) {
      part.disposition = lower(text_of(g_mime_content_disposition_get_disposition(disposition)));
      part.disposition_parameters =
          parameters_of(g_mime_content_disposition_get_parameters(disposition));
    }
    part.language = header_value(object, "Content-Language");
    part.location = header_value(object, "Content-Location");
    part.md5 = header_value(object, "Content-MD5");
  }

  std::string_view text_;
  std::vector<std::string> bodies_;
  std::size_t entities_ = 0;
};

// The layout of a message kept as one opaque text/plain part.
DecomposedMessage opaque_message(std::string_view text, std::size_t header_end) {
  DecomposedMessage out;
  MessageLayout& layout = out.layout;
  layout.mime = false;
  layout.size = text.size();
  layout.leaf_count = 1;
  if (GPtr<GMimeMessage> headers = parse_message(text.substr(0, header_end)); headers) {
    layout.envelope = envelope_of(headers.get());
  }
  MimePart& root = layout.root;
  root.kind = MimePartKind::kLeaf;
  root.header.assign(text.substr(0, header_end));
  root.parameters.push_back(MimeParameter{"charset", "us-ascii"});
  root.body_index = 0;
  root.body_size = text.size() - header_end;
  root.size = root.body_size;
  root.lines = count_lf(text.substr(header_end));
  root.glue = {std::string(), std::string()};
  out.bodies.emplace_back(text.substr(header_end));
  return out;
}

MimeError too_large() {
  return mime_error(MimeErrc::kMessageTooLarge, "message over the 64 MiB limit");
}

}  // namespace

std::string normalise_line_endings(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

MimeResult<DecomposedMessage> decompose(std::string_view rfc5322_message) {
  if (rfc5322_message.size() > kMaxMessageBytes) return too_large();
  if (!starts_with_header_field(rfc5322_message)) {
    return mime_error(MimeErrc::kNotAMessage, "input does not start with a header field");
  }
  if (MimeStatus status = ensure_gmime_initialised(); !status) return status.error();

  const std::string text = normalise_line_endings(rfc5322_message);
  if (text.size() > kMaxMessageBytes) return too_large();
  const std::size_t header_end = header_block_end(text, 0);
  if (header_end > kMaxHeaderBlockBytes) {
    return mime_error(MimeErrc::kHeaderTooLarge, "header block over the 1 MiB limit");
  }
  if (count_content_type_lines(text) > kMaxMimeParts) return opaque_message(text, header_end);

  GPtr<GMimeMessage> message = parse_message(text);
  if (!message) return opaque_message(text, header_end);

  DecomposedMessage out;
  LayoutBuilder builder(text);
  if (!builder.build_root(message.get(), out.layout.root)) return opaque_message(text, header_end);
  out.bodies = builder.take_bodies();
  out.layout.envelope = envelope_of(message.get());
  out.layout.size = text.size();
  out.layout.leaf_count = out.bodies.size();

  // The tiling is exact by construction; check it anyway, it is what storage relies on.
  MimeResult<std::string> again = reassemble(out.layout, std::span<const std::string>(out.bodies));
  if (!again || *again != text) return opaque_message(text, header_end);
  return out;
}

}  // namespace post::email
