// A user's folder list: which folders exist, under which UIDVALIDITY (and so which log),
// what is subscribed and which senders are blocked. Rebuilt by applying the folder-list log
// in order.
//
// Names are hierarchical with "/" as the delimiter. INBOX always exists; its first level is
// matched case-insensitively ("inbox/x" is "INBOX/x"), every other name byte for byte.
// CREATE does not create missing superiors ("a/b" without "a" is allowed; the IMAP layer may
// append a CreateFolder for each superior first). DELETE removes one name, leaving its
// inferiors. RENAME renames inferiors too, except for INBOX (RFC 3501 6.3.5): see
// RenameFolder in mail_record.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/email/store/mail_record.h"
#include "plugins/email/store/store_error.h"

namespace post::email::store {

// INBOX's UIDVALIDITY in a folder list nothing was applied to yet, so its log is known
// before the first record.
inline constexpr std::uint32_t kInitialInboxUidValidity = 1;

class Mailbox {
 public:
  // INBOX only, under kInitialInboxUidValidity; no subscriptions, nothing blocked.
  Mailbox();

  // Applies the folder-list record at log index `index`, under the same rules as
  // Folder::apply: indices must rise, and a record the state cannot take (create onto an
  // existing name, a stale UIDVALIDITY, delete of INBOX or of a missing folder, rename of a
  // missing folder, onto an existing name or below itself, a folder record) is refused but
  // consumed, changing nothing else.
  StoreStatus apply(const MailRecord& record, std::uint64_t index);

  // The UIDVALIDITY of folder `name` (any INBOX case), or none when it does not exist.
  std::optional<std::uint32_t> uidvalidity(std::string_view name) const;
  bool exists(std::string_view name) const { return uidvalidity(name).has_value(); }
  // Whether some existing folder lies below `name` ("a/b" below "a").
  bool has_inferiors(std::string_view name) const;
  // Folder names (canonical) to UIDVALIDITY, sorted by name.
  const std::map<std::string, std::uint32_t>& folders() const { return folders_; }
  // Subscribed names (canonical), which may include folders that do not exist.
  const std::set<std::string>& subscriptions() const { return subscriptions_; }
  bool subscribed(std::string_view name) const;
  // Whether `address` is on the block list (ASCII case-insensitive).
  bool is_blocked(std::string_view address) const;
  const std::set<std::string>& blocked() const { return blocked_; }

  // The least UIDVALIDITY a new folder (or a renamed-away INBOX's successor) may take; 0 once
  // every 32-bit value has been used.
  std::uint32_t next_uidvalidity() const;
  std::optional<std::uint64_t> last_applied_index() const { return last_index_; }

  bool operator==(const Mailbox&) const = default;

 private:
  StoreStatus create(const CreateFolder& record);
  StoreStatus remove(const DeleteFolder& record);
  StoreStatus rename(const RenameFolder& record);
  void use_uidvalidity(std::uint32_t uidvalidity);

  std::map<std::string, std::uint32_t> folders_;
  std::set<std::string> subscriptions_;
  std::set<std::string> blocked_;
  std::uint64_t next_uidvalidity_ = kInitialInboxUidValidity + 1;
  std::optional<std::uint64_t> last_index_;
};

// `address` lower-cased in ASCII: how the block list stores and compares addresses.
std::string fold_address(std::string_view address);

}  // namespace post::email::store
