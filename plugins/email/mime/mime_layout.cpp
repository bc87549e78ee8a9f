#include "plugins/email/mime/mime_layout.h"

namespace post::email {
namespace {

// Appends the content of `part` to `out`; false when a body is missing or of the wrong size.
bool append_content(const MimePart& part, std::span<const std::string_view> bodies,
                    std::string& out);

bool append_entity(const MimePart& part, std::span<const std::string_view> bodies,
                   std::string& out) {
  out += part.header;
  return append_content(part, bodies, out);
}

bool append_content(const MimePart& part, std::span<const std::string_view> bodies,
                    std::string& out) {
  const std::size_t items = part.kind == MimePartKind::kLeaf ? 1 : part.children.size();
  if (part.glue.size() != items + 1) return false;
  for (std::size_t i = 0; i < items; ++i) {
    out += part.glue[i];
    if (part.kind == MimePartKind::kLeaf) {
      if (part.body_index >= bodies.size()) return false;
      const std::string_view body = bodies[part.body_index];
      if (body.size() != part.body_size) return false;
      out += body;
    } else if (!append_entity(part.children[i], bodies, out)) {
      return false;
    }
  }
  out += part.glue[items];
  return true;
}

MimeError mismatch() {
  return mime_error(MimeErrc::kLayoutMismatch, "the bodies do not match the message layout");
}

}  // namespace

MimeResult<std::string> reassemble(const MessageLayout& layout,
                                   std::span<const std::string_view> bodies) {
  if (bodies.size() != layout.leaf_count) return mismatch();
  std::string out;
  out.reserve(layout.size);
  if (!append_entity(layout.root, bodies, out)) return mismatch();
  return out;
}

MimeResult<std::string> reassemble(const MessageLayout& layout,
                                   std::span<const std::string> bodies) {
  const std::vector<std::string_view> views(bodies.begin(), bodies.end());
  return reassemble(layout, std::span<const std::string_view>(views));
}

MimeResult<std::string> render_part(const MimePart& part,
                                    std::span<const std::string_view> bodies) {
  std::string out;
  if (!append_entity(part, bodies, out)) return mismatch();
  return out;
}

MimeResult<std::string> render_content(const MimePart& part,
                                       std::span<const std::string_view> bodies) {
  std::string out;
  if (!append_content(part, bodies, out)) return mismatch();
  return out;
}

}  // namespace post::email
