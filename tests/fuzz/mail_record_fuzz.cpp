// Bytes into the mail store's decoders: as a log record, as a folder snapshot, and as a
// sequence of length-prefixed records applied to a folder and a folder list. Nothing may
// crash or read out of bounds; every accepted record must pass validate() and survive
// encode/decode unchanged (decode(encode(r)) == r) and re-encode to the accepted bytes
// themselves (minus trailing extension fields); every accepted snapshot must re-encode to a
// snapshot that decodes to an equal folder; and a folder's state after the records must survive a
// snapshot round trip, with the counts it keeps agreeing with its messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plugins/email/store/folder_snapshot.h"
#include "plugins/email/store/mailbox.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using post::fuzz::check;

using namespace post::email::store;

void check_record(const MailRecord& record) {
  check(validate(record).ok());
  std::string encoded = encode(record);
  auto again = decode(encoded);
  check(again.ok() && *again == record && encode(*again) == encoded);
}

void check_folder(const Folder& folder) {
  std::uint32_t unseen = 0, deleted = 0, previous = 0;
  for (const Message& m : folder.messages()) {
    check(m.uid > previous && m.uid < folder.uidnext());
    previous = m.uid;
    unseen += m.flags.has(kSeen) ? 0 : 1;
    deleted += m.flags.has(kDeleted) ? 1 : 0;
    check(folder.by_uid(m.uid) == &m);
  }
  check(unseen == folder.unseen_count() && deleted == folder.deleted_count());
  std::string snapshot = encode_snapshot(folder);
  auto restored = decode_snapshot(snapshot);
  check(restored.ok() && *restored == folder && encode_snapshot(*restored) == snapshot);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // Encoding is canonical: what was accepted re-encodes to the input itself, minus any
  // extension fields at its end.
  if (auto record = decode(input); record.ok()) {
    check_record(*record);
    check(input.starts_with(encode(*record)));
  }
  if (auto folder = decode_snapshot(input); folder.ok()) {
    check_folder(*folder);
    check(input.starts_with(encode_snapshot(*folder)));
  }

  // The input as records, each preceded by a 2-byte big-endian length, into a folder and a
  // folder list at rising indices.
  Folder folder(1);
  Mailbox mailbox;
  std::uint64_t index = 0;
  for (std::size_t pos = 0; pos + 2 <= input.size();) {
    std::size_t length =
        (static_cast<std::uint8_t>(input[pos]) << 8) | static_cast<std::uint8_t>(input[pos + 1]);
    pos += 2;
    if (length > input.size() - pos) break;
    auto record = decode(input.substr(pos, length));
    pos += length;
    if (!record.ok()) continue;
    check_record(*record);
    // Refused records are consumed: the index must advance either way.
    (void)folder.apply(*record, index);
    (void)mailbox.apply(*record, index);
    check(folder.last_applied_index() == index && mailbox.last_applied_index() == index);
    ++index;
    check(folder.apply(*record, index - 1).error().code == StoreErrc::kOutOfOrder);
  }
  check_folder(folder);
  check(mailbox.exists(kInboxName));
  return 0;
}
