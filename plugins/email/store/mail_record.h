// The records of a user's mail logs and their binary codec (format in FORMAT.md).
//
// Each user has one folder-list log (FolderListRecord kinds: folders, subscriptions, the
// block list) and one log per folder (FolderRecord kinds: inserted messages, flag changes,
// expunges, snapshot markers). Both logs have one writer, the user's node, so no record ever
// races another: a record is decided against the state the writer holds and then appended.
//
// The codec is standard-library only (no protobuf: the plugin is unloaded and reloaded at
// run time, and generated protobuf code cannot leave the process-wide descriptor pool).
// decode() is total: every input gives a record or a StoreError, never an exception, and
// reads only within its input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plugins/email/store/store_error.h"

namespace post::email::store {

// First byte of every record and snapshot, and the one format version this code writes and
// reads. A later version that only adds fields keeps version 1 (see FORMAT.md).
inline constexpr std::uint8_t kFormatMagic = 0xE5;
inline constexpr std::uint8_t kFormatVersion = 1;

// The host's limit on one log record (sdk.h, log_append).
inline constexpr std::size_t kMaxRecordBytes = 64 * 1024;
// The MIME layer's layout blob (BODYSTRUCTURE and part offsets); with the part list below it
// keeps an Insert well inside kMaxRecordBytes.
inline constexpr std::size_t kMaxLayoutBytes = 32 * 1024;
// Stored parts of one message (each a 32-byte handle and a 32-byte key: 8 KiB in all).
inline constexpr std::size_t kMaxParts = 128;
// RFC 5321 4.5.3.1: local part (64) + "@" + domain (255).
inline constexpr std::size_t kMaxAddressBytes = 320;
// Keywords (user flags) on one message, and the length of one. Dovecot and Cyrus allow
// similar numbers; clients use a handful.
inline constexpr std::size_t kMaxKeywordsPerMessage = 64;
inline constexpr std::size_t kMaxKeywordBytes = 64;
// Distinct keywords in one folder (the FLAGS response lists them all).
inline constexpr std::size_t kMaxKeywordsPerFolder = 1024;
// Ranges in one UID set (a SetFlags or Expunge record): 4096 ranges of at most 10 bytes
// each stay below kMaxRecordBytes. A writer with a more fragmented set splits it into
// several records.
inline constexpr std::size_t kMaxUidRanges = 4096;
// A folder name (hierarchical, "/"-separated), in bytes, and its depth.
inline constexpr std::size_t kMaxFolderNameBytes = 1024;
inline constexpr std::size_t kMaxFolderDepth = 32;
// The host's limit on stored content (sdk.h, store_put); snapshots go there.
inline constexpr std::size_t kMaxSnapshotBytes = std::size_t{1} << 30;

// The hierarchy delimiter of folder names, and the name of the folder that always exists.
inline constexpr char kHierarchyDelimiter = '/';
inline constexpr std::string_view kInboxName = "INBOX";

using Bytes32 = std::array<std::uint8_t, 32>;

// IMAP system flags (RFC 3501 2.3.2), as bits. \Recent is per session: the server's, not
// stored.
enum SystemFlag : std::uint8_t {
  kSeen = 1,
  kAnswered = 2,
  kFlagged = 4,
  kDeleted = 8,
  kDraft = 16,
};
inline constexpr std::uint8_t kAllSystemFlags = kSeen | kAnswered | kFlagged | kDeleted | kDraft;

// A message's flags: system bits and keywords. Keywords are IMAP atoms not starting with
// "\", kept sorted and without duplicates, compared byte for byte (the IMAP layer folds
// case before it builds records if it wants case-insensitive keywords).
struct Flags {
  std::uint8_t system = 0;
  std::vector<std::string> keywords;

  bool has(SystemFlag flag) const { return (system & flag) != 0; }
  bool operator==(const Flags&) const = default;
};

// Sorts and deduplicates `flags.keywords`.
void normalize(Flags& flags);

// Whether `keyword` may be a keyword: 1..kMaxKeywordBytes bytes of IMAP atom characters
// (RFC 3501 9: no CTL, SP, "(", ")", "{", "%", "*", quote, "\", "]", no 8-bit), not
// starting with "\".
bool is_valid_keyword(std::string_view keyword);

// A stored part of a message: what store_put returned for it.
struct PartRef {
  Bytes32 handle{};
  Bytes32 key{};
  bool operator==(const PartRef&) const = default;
};

// What a folder knows about one message; the body itself is in the secure store.
struct MessageRef {
  Bytes32 message_id{};            // e.g. a hash of the message
  std::uint32_t size = 0;          // RFC822.SIZE, octets
  std::int64_t internal_date = 0;  // INTERNALDATE, unix seconds (may be before 1970)
  std::string sender;              // the verified sender's address ("" when none): Junk blocks it
  std::string layout;              // the MIME layer's opaque layout blob, <= kMaxLayoutBytes
  std::vector<PartRef> parts;      // <= kMaxParts
  bool operator==(const MessageRef&) const = default;
};

// An inclusive range of UIDs, first <= last, neither 0.
struct UidRange {
  std::uint32_t first = 1;
  std::uint32_t last = 1;
  bool operator==(const UidRange&) const = default;
};

// A set of UIDs as ascending, disjoint, non-adjacent ranges (the only form the codec
// writes and accepts).
struct UidSet {
  std::vector<UidRange> ranges;

  // The canonical set holding exactly `uids` (any order, duplicates and zeros ignored).
  static UidSet of(std::span<const std::uint32_t> uids);
  bool contains(std::uint32_t uid) const;
  bool empty() const { return ranges.empty(); }
  // Number of UIDs in the set.
  std::uint64_t count() const;
  bool operator==(const UidSet&) const = default;
};

// ---- folder log records ----

// A message added to the folder (delivery, APPEND, COPY, MOVE). It takes UID = UIDNEXT when
// applied, so every replay assigns the same UIDs.
struct Insert {
  MessageRef message;
  Flags flags;
  bool operator==(const Insert&) const = default;
};

enum class FlagMode : std::uint8_t { kReplace = 0, kAdd = 1, kRemove = 2 };

// STORE: changes the flags of the messages in `uids` that still exist.
struct SetFlags {
  UidSet uids;
  FlagMode mode = FlagMode::kReplace;
  Flags flags;
  bool operator==(const SetFlags&) const = default;
};

// EXPUNGE, UID EXPUNGE, the source half of MOVE: removes the messages in `uids` that still
// exist, whatever their flags (the writer decided).
struct Expunge {
  UidSet uids;
  bool operator==(const Expunge&) const = default;
};

// Says that the folder's state after applying every record up to and including log index
// `covers_index` is stored as a snapshot (encode_snapshot) in the secure store under
// `handle` and `key`. Changes no state.
struct SnapshotMarker {
  std::uint64_t covers_index = 0;
  Bytes32 handle{};
  Bytes32 key{};
  bool operator==(const SnapshotMarker&) const = default;
};

// ---- folder-list log records ----

// A new folder, whose log is folder_log_name(uidvalidity). `uidvalidity` must be above
// every UIDVALIDITY the folder list has used (Mailbox::next_uidvalidity()).
struct CreateFolder {
  std::string name;
  std::uint32_t uidvalidity = 0;
  bool operator==(const CreateFolder&) const = default;
};

// Removes a folder (not INBOX); folders below it stay.
struct DeleteFolder {
  std::string name;
  bool operator==(const DeleteFolder&) const = default;
};

// Renames `from` and every folder below it to `to`, keeping their UIDVALIDITY and logs.
// Renaming INBOX (RFC 3501 6.3.5) hands INBOX's messages to `to` by handing it INBOX's
// log and UIDVALIDITY, and gives INBOX a new, empty log under `new_inbox_uidvalidity`
// (then required, above every one used before; 0 for any other rename). Folders below
// INBOX are not renamed with it.
struct RenameFolder {
  std::string from;
  std::string to;
  std::uint32_t new_inbox_uidvalidity = 0;
  bool operator==(const RenameFolder&) const = default;
};

// SUBSCRIBE (on) and UNSUBSCRIBE (off). A name may be subscribed without existing.
struct Subscribe {
  std::string name;
  bool on = true;
  bool operator==(const Subscribe&) const = default;
};

// Adds (on) or removes (off) a sender address on the user's block list. Addresses compare
// ASCII-case-insensitively and are stored lower-cased.
struct Block {
  std::string address;
  bool on = true;
  bool operator==(const Block&) const = default;
};

using MailRecord = std::variant<Insert, SetFlags, Expunge, SnapshotMarker, CreateFolder,
                                DeleteFolder, RenameFolder, Subscribe, Block>;

// Whether a record belongs in a folder log (else it belongs in the folder-list log).
bool is_folder_record(const MailRecord& record);

// The record's bytes, canonical (decode(encode(r)) == r). Records that break a limit or a
// field rule are encoded all the same, and decode() then refuses them: a writer calls
// validate() first (or decodes its own bytes).
std::string encode(const MailRecord& record);

// Parses one log record. Refuses, with a reason: a bad magic byte or version, an unknown
// kind or a snapshot, malformed or overlong varints, fields running past the end, anything
// over a limit above, unknown flag bits or modes, zero UIDs or UIDVALIDITYs, bad keywords,
// bad folder names, non-canonical UID sets, and bytes after the known fields that are not a
// sequence of length-prefixed extension fields (which are skipped).
StoreResult<MailRecord> decode(std::string_view bytes);

// The field rules and limits decode() applies, for a record built in memory (including
// kMaxRecordBytes on its encoding).
StoreStatus validate(const MailRecord& record);

// Whether `name` is a valid folder name: 1..kMaxFolderNameBytes bytes, no NUL, CR or LF, no
// empty hierarchy level ("a//b", "/a", "a/"), at most kMaxFolderDepth levels.
bool is_valid_folder_name(std::string_view name);

// The name with its first level folded to "INBOX" when it equals "inbox" in any case
// (RFC 3501 5.1: INBOX is case-insensitive); other names unchanged.
std::string canonical_folder_name(std::string_view name);

// The suggested log name of the folder with this UIDVALIDITY ("folder/<uidvalidity>"),
// and of the folder-list log.
std::string folder_log_name(std::uint32_t uidvalidity);
inline constexpr std::string_view kFolderListLogName = "folders";

}  // namespace post::email::store
