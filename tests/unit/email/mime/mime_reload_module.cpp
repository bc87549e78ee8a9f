// A test-only plugin stand-in: a MODULE that links post_email_mime, as the ePOST plugin does,
// and decomposes a message when asked. mime_reload_test.cpp loads and unloads copies of it.
#include <span>
#include <string>
#include <string_view>

#include "plugins/email/mime/mime_decompose.h"

namespace {

constexpr std::string_view kMessage =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.org\r\n"
    "Subject: =?UTF-8?Q?reload_=E2=9C=93?=\r\n"
    "Content-Type: multipart/mixed; boundary=r\r\n"
    "\r\n"
    "--r\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "one\r\n"
    "--r\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "--r--\r\n";

}  // namespace

// Returns the number of leaves of the sample message when it decomposes as MIME, round-trips
// and has the decoded subject; -1 otherwise.
extern "C" __attribute__((visibility("default"))) int post_mime_reload_probe() {
  auto d = post::email::decompose(kMessage);
  if (!d.ok() || !d->layout.mime) return -1;
  if (d->layout.envelope.subject != "reload \xE2\x9C\x93") return -1;
  auto again = post::email::reassemble(d->layout, std::span<const std::string>(d->bodies));
  if (!again.ok() || *again != kMessage) return -1;
  return static_cast<int>(d->bodies.size());
}
