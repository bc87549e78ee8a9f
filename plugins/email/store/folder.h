// The state of one folder, rebuilt by applying its log in order, and the queries IMAP asks
// of it: messages by sequence number and by UID, sequence sets, counts, flags, EXPUNGE and
// COPY/MOVE planning.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "plugins/email/store/mail_record.h"
#include "plugins/email/store/store_error.h"

namespace post::email::store {

// One message of a folder.
struct Message {
  std::uint32_t uid = 0;
  Flags flags;
  MessageRef ref;
  bool operator==(const Message&) const = default;
};

// "*" in a sequence set, as in the IMAP engine's SequenceRange (0 is never a number).
inline constexpr std::uint32_t kStar = 0;

// One element of a message-number or UID set as the client wrote it: first..last, either
// order, either end may be kStar.
struct NumberRange {
  std::uint32_t first = 1;
  std::uint32_t last = 1;
};

// The largest UID a folder hands out; an Insert when UIDNEXT has reached it is refused, and
// the writer must start the folder over under a new UIDVALIDITY.
inline constexpr std::uint32_t kMaxUid = 0xFFFFFFFEu;

class Folder {
 public:
  // An empty folder: no messages, UIDNEXT 1, nothing applied yet.
  explicit Folder(std::uint32_t uidvalidity) : uidvalidity_(uidvalidity) {}

  // Applies the record at log index `index`. Indices must rise (kOutOfOrder otherwise, and
  // nothing changes). A record the state cannot take (a folder-list record, an Insert with
  // no UID left, keywords past kMaxKeywordsPerFolder) is refused with its reason but still
  // consumed: the index advances and nothing else changes, so a replay ends in the same
  // state. Insert takes UID = UIDNEXT; SetFlags and Expunge act on the UIDs that still
  // exist and ignore the rest; SnapshotMarker changes nothing. The record should have passed
  // decode() or validate(); apply() does not check its fields again.
  StoreStatus apply(const MailRecord& record, std::uint64_t index);

  std::uint32_t uidvalidity() const { return uidvalidity_; }
  // The UID the next Insert will take.
  std::uint32_t uidnext() const { return uidnext_; }
  // The index of the last record applied (or consumed); none before the first.
  std::optional<std::uint64_t> last_applied_index() const { return last_index_; }

  // MESSAGES, UNSEEN (no \Seen) and the number with \Deleted.
  std::uint32_t message_count() const { return static_cast<std::uint32_t>(messages_.size()); }
  std::uint32_t unseen_count() const { return unseen_; }
  std::uint32_t deleted_count() const { return deleted_; }
  // The number of messages with UID >= `uid`: RECENT for a session that last saw UIDNEXT
  // equal to `uid` (\Recent itself is the server's, per session).
  std::uint32_t count_from_uid(std::uint32_t uid) const;
  // The sequence number of the first message without \Seen (the UNSEEN response code).
  std::optional<std::uint32_t> first_unseen() const;

  // All messages, in UID order; message n (sequence number) is messages()[n - 1].
  std::span<const Message> messages() const { return messages_; }
  // The message with sequence number `sequence` (1-based), or null.
  const Message* by_sequence(std::uint32_t sequence) const;
  // The message with `uid`, or null.
  const Message* by_uid(std::uint32_t uid) const;
  // The sequence number of `uid`, 0 when no message has it.
  std::uint32_t sequence_of(std::uint32_t uid) const;
  // The messages with first <= UID <= last, in UID order.
  std::span<const Message> uid_range(std::uint32_t first, std::uint32_t last) const;
  // Every keyword used in this folder, sorted (for FLAGS and PERMANENTFLAGS).
  const std::vector<std::string>& keywords() const { return keywords_; }

  // Resolves a message-number set ("*" = the number of messages) to ascending sequence
  // numbers without duplicates. Refuses (kNoSuchMessage) a number past the last message,
  // and any set at all in an empty folder, as RFC 3501 6.4.5 wants a BAD/NO for them.
  StoreResult<std::vector<std::uint32_t>> resolve_sequence_set(
      std::span<const NumberRange> set) const;
  // Resolves a UID set ("*" = the highest UID in use; "n:*" includes it even when n is
  // larger) to the ascending UIDs of existing messages. UIDs that do not exist are skipped,
  // so the result may be empty.
  std::vector<std::uint32_t> resolve_uid_set(std::span<const NumberRange> set) const;

  // The UIDs an EXPUNGE removes: those with \Deleted, ascending.
  std::vector<std::uint32_t> deleted_uids() const;
  // The numbers of the untagged EXPUNGE responses that removing `uids` gives, in the order
  // they are sent (each one counts the removals before it: expunging messages 2 and 3 of 4
  // reports 2, 2).
  std::vector<std::uint32_t> expunge_responses(const UidSet& uids) const;

  bool operator==(const Folder&) const = default;

 private:
  friend StoreResult<Folder> decode_snapshot(std::string_view bytes);

  StoreStatus apply_insert(const Insert& insert);
  StoreStatus apply_set_flags(const SetFlags& set_flags);
  void apply_expunge(const Expunge& expunge);
  // Adds `flags`' keywords to the folder's list; refuses past kMaxKeywordsPerFolder.
  StoreStatus remember_keywords(const Flags& flags);
  void count(const Message& message, int sign);

  std::uint32_t uidvalidity_ = 0;
  std::uint32_t uidnext_ = 1;
  std::optional<std::uint64_t> last_index_;
  std::vector<Message> messages_;  // ascending UID
  std::vector<std::string> keywords_;
  std::uint32_t unseen_ = 0;
  std::uint32_t deleted_ = 0;
};

// COPY or MOVE of messages into another folder, worked out before anything is appended.
struct CopyPlan {
  // Append these to the target folder's log, in this order.
  std::vector<Insert> inserts;
  // (source UID, target UID) for each copied message, ascending source UID: the COPYUID
  // response code (RFC 4315). Target UIDs hold while nothing else is appended to the target
  // log in between, which the single writer ensures.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> uid_map;
  // For MOVE, append this to the source log after the inserts (empty for nothing copied).
  Expunge source_expunge;
  // The verified senders of the copied messages, without duplicates: a move into "Junk"
  // appends a Block for each to the folder-list log.
  std::vector<std::string> senders;
};

// Plans copying the messages of `source` whose UIDs are in `uids` (missing ones skipped)
// into `target`, keeping their flags. Refuses (kUidsExhausted) when the target has too few
// UIDs left.
StoreResult<CopyPlan> plan_copy(const Folder& source, std::span<const std::uint32_t> uids,
                                const Folder& target);

}  // namespace post::email::store
