// How a message travels in a POP3 multi-line response (RFC 1939 3): lines ending in CRLF,
// a leading "." doubled, a line of "." at the end. Used by Pop3Session for RETR and TOP;
// standalone so that it can be tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace post::email {

// The lines of `content` as this file sends them: a line ends at LF, or at a CR that ends
// the content; a CR right before the LF belongs to the line ending, any other CR is data. A
// last line without an ending still counts as a line; "" has no line.
//
// With `top_lines`, only the header (the lines up to and including the first empty line)
// and the first *top_lines lines after it (RFC 1939 7, TOP); a message without an empty line
// is all header.

// Octets of the selected lines, each with CRLF, before byte-stuffing: the size in "+OK <size>
// octets".
std::uint64_t pop3_content_size(std::string_view content,
                                std::optional<std::uint64_t> top_lines = std::nullopt);

// Appends the selected lines to `out`, each with CRLF and a leading "." doubled, then the
// terminating ".<CRLF>".
void append_pop3_content(std::string& out, std::string_view content,
                         std::optional<std::uint64_t> top_lines = std::nullopt);

}  // namespace post::email
