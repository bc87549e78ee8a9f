// Bytes as an incoming message into decompose() (plugins/email/mime). Nothing may crash, leak
// or read out of bounds, and every accepted message must come back from its layout and bodies
// byte for byte: reassemble(decompose(x)) == normalise_line_endings(x). That holds for
// messages kept as MIME structure and for those stored as one opaque part alike (the
// library's documented invariant). The layout's bookkeeping must agree with the bodies, and a
// refusal must be one of the documented ones.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "plugins/email/mime/mime_decompose.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using post::fuzz::check;

using namespace post::email;

// Every leaf's body index is in range and its size matches; returns the number of leaves.
std::size_t check_part(const MimePart& part, const DecomposedMessage& d, int depth) {
  check(depth <= kMaxMimeDepth + 1);
  if (part.kind == MimePartKind::kLeaf) {
    check(part.children.empty());
    check(part.glue.size() == 2);
    check(part.body_index < d.bodies.size());
    check(d.bodies[part.body_index].size() == part.body_size);
    return 1;
  }
  check(part.glue.size() == part.children.size() + 1);
  if (part.kind == MimePartKind::kMessage) check(part.children.size() == 1);
  std::size_t leaves = 0;
  for (const MimePart& child : part.children) leaves += check_part(child, d, depth + 1);
  return leaves;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  MimeResult<DecomposedMessage> result = decompose(input);
  if (!result.ok()) {
    const MimeErrc code = result.error().code;
    check(code == MimeErrc::kNotAMessage || code == MimeErrc::kMessageTooLarge ||
          code == MimeErrc::kHeaderTooLarge);
    return 0;
  }
  const DecomposedMessage& d = *result;
  check(d.layout.leaf_count == d.bodies.size());
  check(check_part(d.layout.root, d, 0) == d.bodies.size());
  const std::string normalised = normalise_line_endings(input);
  check(d.layout.size == normalised.size());
  MimeResult<std::string> again = reassemble(d.layout, std::span<const std::string>(d.bodies));
  check(again.ok() && *again == normalised);
  return 0;
}
