#include "plugins/email/pop3/pop3_content.h"

namespace post::email {
namespace {

// Calls `emit(line)` for each selected line of `content` (see the header), without its ending.
template <class Emit>
void for_each_selected_line(std::string_view content, std::optional<std::uint64_t> top_lines,
                            Emit&& emit) {
  bool in_header = true;
  std::uint64_t body_lines = 0;
  std::size_t pos = 0;
  while (pos < content.size()) {
    if (!in_header && top_lines && body_lines >= *top_lines) return;
    std::size_t lf = content.find('\n', pos);
    std::string_view line;
    if (lf == std::string_view::npos) {
      line = content.substr(pos);
      pos = content.size();
    } else {
      line = content.substr(pos, lf - pos);
      pos = lf + 1;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    emit(line);
    if (in_header) {
      if (line.empty()) in_header = false;
    } else {
      ++body_lines;
    }
  }
}

}  // namespace

std::uint64_t pop3_content_size(std::string_view content, std::optional<std::uint64_t> top_lines) {
  std::uint64_t size = 0;
  for_each_selected_line(content, top_lines,
                         [&](std::string_view line) { size += line.size() + 2; });
  return size;
}

void append_pop3_content(std::string& out, std::string_view content,
                         std::optional<std::uint64_t> top_lines) {
  out.reserve(out.size() + content.size() + content.size() / 32 + 8);
  for_each_selected_line(content, top_lines, [&](std::string_view line) {
    if (!line.empty() && line.front() == '.') out.push_back('.');
    out.append(line);
    out.append("\r\n");
  });
  out.append(".\r\n");
}

}  // namespace post::email
