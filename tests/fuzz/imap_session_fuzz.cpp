// Bytes from an IMAP client into a whole ImapSession (server/imap_session.h) over an in-memory
// ring holding a mailbox with real messages, so that every command reaches the mail state,
// the secure store reads, FETCH rendering and SEARCH. The first byte chooses whether the ring
// answers at once or later, and whether appends fail; the rest is cut into reads. Nothing may
// crash, hang or read out of bounds; output must be CRLF-terminated lines (literals aside);
// the session must end each input having answered or closed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "plugins/email/mime/gmime_runtime.h"
#include "plugins/email/server/imap_session.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/unit/email/server/memory_mail_io.h"

namespace {

using post::fuzz::check;

using namespace post::email;

const char* const kMessages[] = {
    "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: lunch\r\n"
    "Date: Thu, 26 Nov 2026 08:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\n"
    "Shall we have lunch at noon?\r\n",
    "From: =?UTF-8?B?Q2Fyb2wgw4k=?= <carol@example.org>\r\nTo: alice@example.org\r\n"
    "Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report.\r\n--b1\r\n"
    "Content-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\nSubject: inner\r\n\r\ninner "
    "body\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "JVBERi0xLjQK\r\n--b1--\r\n",
};

class Services : public ImapServices {
 public:
  explicit Services(testing::MemoryMailIo& io) : io_(io), loader_(io) {}
  bool check_password(const std::string& user, const std::string& password) override {
    return user == "alice@example.org" && password == "secret";
  }
  MailAccount* account(const std::string& user) override {
    if (user != "alice@example.org") return nullptr;
    if (!account_) account_ = std::make_unique<MailAccount>(io_, user);
    return account_.get();
  }
  MessageLoader& loader() override { return loader_; }
  MailIo& io() override { return io_; }
  void log_warning(const std::string&) override {}

 private:
  testing::MemoryMailIo& io_;
  MessageLoader loader_;
  std::unique_ptr<MailAccount> account_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool gmime = ensure_gmime_initialised().ok();
  check(gmime);
  if (size == 0) return 0;
  std::uint8_t mode = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  testing::MemoryMailIo io;
  Services services(io);
  MailAccount* account = services.account("alice@example.org");
  for (const char* text : kMessages) {
    store_message(io, text, [&](IoResult<StoredMessage> stored) {
      check(stored.ok());
      store::Insert insert;
      insert.message = stored->ref;
      insert.message.sender = "bob@example.org";
      account->append_to_folder(1, insert, [](IoResult<void> r) { check(r.ok()); });
    });
  }
  io.deferred = (mode & 1) != 0;
  io.fail_appends = (mode & 6) == 6;
  io.fail_fetches = (mode & 24) == 24;

  ImapSessionOptions options;
  options.loopback = true;
  options.limits.max_append_literal_bytes = 64 * 1024;
  ImapSession session(services, options);
  std::string output;
  session.set_wake([&] { output += session.take_output(); });
  session.start();
  // The client logs in first, so that the input reaches the selected state.
  session.feed("x0 LOGIN alice@example.org secret\r\nx1 SELECT INBOX\r\n");
  io.run();
  std::size_t chunk = 1 + (mode >> 5) * 7;
  for (std::size_t at = 0; at < input.size() && !session.closed(); at += chunk) {
    session.feed(input.substr(at, chunk));
    io.run();
    output += session.take_output();
  }
  io.run();
  output += session.take_output();
  check(output.empty() || output.back() == '\n');
  return 0;
}
