// POST's single-writer logs (Mislove et al., "POST", section 3.4). A log belongs to one
// writer, who holds the log's Ed25519 key. Its head is the PAST public-key block of that key
// (handle = past::public_key_handle(log public key)): it names the newest full cluster (the
// tip), holds the records of the partially filled cluster inline, counts the records, and
// names the latest snapshot. Full clusters are PAST content-hash blocks, each naming the
// previous one, so the records are a hash chain from the signed head backwards. Records may be
// encrypted for a set of readers: the head then carries the log's records key sealed to each
// reader's X25519 key. Format: docs/protocol/log.md; records: host/post/proto/log.proto.
//
// The first part of this header is pure (encoding, decoding, checking, sealing), for the
// classes below, the fuzzer and benchmarks. LogWriter and LogReader are sans-I/O like
// SecureStore: they talk to PAST through PastNode's asynchronous API, run on the clock's
// executor (call them only there), and run callbacks there, never inside the call that
// started the operation.
//
// One user with several logs uses one key per log: derive_log_key() derives it from the
// user's key and the log's name, so the user needs to keep only the one key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "host/core/bytes.h"
#include "host/core/id.h"
#include "host/core/result.h"
#include "host/net/clock.h"
#include "host/past/block.h"
#include "host/past/past_node.h"
#include "host/post/piece.h"
#include "host/post/secure_store.h"

namespace post::services {

// The record format version this code writes and reads.
inline constexpr std::uint32_t kLogFormat = 1;

// The largest record. Logs hold small entries (a message's handle and key, a folder
// operation); a larger payload goes through the secure store and the record holds its handle
// and key (StoredObject). The bound keeps a cluster, and the head's partial cluster, a small
// block.
inline constexpr std::size_t kMaxRecordBytes = 64 * 1024;

// Cluster bounds a LogConfig may ask for, and a decoder accepts: at most kMaxClusterRecords
// records, and records of at most kMaxClusterBytes in all (plus, in a decoded cluster, one last
// record that made it cross the byte limit). With kMaxLogReaders sealed keys the head still
// fits a PAST block (past::kMaxPayloadBytes).
inline constexpr std::size_t kMaxClusterRecords = 4096;
inline constexpr std::size_t kMaxClusterBytes = 1024 * 1024;
inline constexpr std::size_t kMaxLogReaders = 1024;

// The most appends LogWriter writes with one head (see LogWriter::append).
inline constexpr std::size_t kMaxAppendGroup = 256;

struct LogConfig {
  // A cluster is full, and stored as a block of its own, when it holds cluster_records records,
  // or when its records reach cluster_bytes (a record that would take a non-empty cluster over
  // cluster_bytes starts the next cluster). 1..kMaxClusterRecords and 1..kMaxClusterBytes.
  std::size_t cluster_records = 64;
  std::size_t cluster_bytes = 256 * 1024;
  // LogWriter::snapshot_due() turns true once this many records were appended since the
  // latest snapshot; 0: never. The application then calls snapshot() with its state.
  std::uint64_t snapshot_every = 0;
  // Encrypt records (and the snapshot's key) for `readers`, X25519 public keys of 32 bytes
  // (at most kMaxLogReaders). The writer can always read its own log.
  bool encrypt = false;
  std::vector<Bytes> readers;
};

// Checks the bounds above (kBadOptions).
Status check_log_config(const LogConfig& config);

// Records of one cluster or of the head's partial cluster: in the clear, or sealed.
struct LogRecords {
  std::vector<Bytes> plain;  // unencrypted logs
  bool sealed = false;       // encrypted logs: nonce and ciphertext hold a RecordList
  Bytes nonce;
  Bytes ciphertext;
};

struct SnapshotRef {
  Id handle;
  ContentKey key{};          // unencrypted logs; zero in encrypted ones until opened
  Bytes sealed_key;          // encrypted logs: nonce || AES-256-GCM(records key, key) || tag
  std::uint64_t covers = 0;  // the snapshot reflects records [0, covers)
  std::uint64_t object_bytes = 0;
};

struct ReaderKey {
  Bytes reader_public_key;  // X25519
  Bytes sealed_key;         // crypto::seal of the records key
};

// A decoded, consistent head. `log_public_key` and `version` come from the PAST block.
struct LogHead {
  Bytes log_public_key;
  std::uint64_t version = 0;  // the block's timestamp; 0: no head written yet
  std::uint64_t record_count = 0;
  std::optional<Id> tip;  // the newest full cluster; none when no cluster is full yet
  std::uint64_t partial_count = 0;
  LogRecords partial;
  std::optional<SnapshotRef> snapshot;
  bool encrypted = false;
  std::vector<ReaderKey> readers;

  // Records in full clusters: the index the partial cluster starts at.
  std::uint64_t chain_records() const { return record_count - partial_count; }
};

struct LogCluster {
  Bytes log_public_key;
  std::optional<Id> prev;  // none exactly for the first cluster (first_index 0)
  std::uint64_t first_index = 0;
  std::uint64_t record_count = 0;
  LogRecords records;
};

// Serializes `head` as a LogHead record (version and key are the block's, not in the record).
Bytes encode_head(const LogHead& head);

// Decodes a LogHead record and checks it is consistent on its own: format, field sizes,
// partial_count <= record_count, a tip exactly when chain_records() > 0, plain partial records
// exactly partial_count of them (each at most kMaxRecordBytes) or a sealed partial exactly
// when encrypted, a snapshot covering at most record_count, readers only when encrypted.
// Refuses with kMalformedLogHead; never throws.
Result<LogHead> decode_head(ByteView data);

// The head in `block`, believed only if it is the public-key block of `log_public_key` with a
// valid signature (past::validate_block: PastErrc on failure, kWrongBlockKind for another
// kind) and its data decodes (decode_head).
Result<LogHead> open_head(const past::Block& block, ByteView log_public_key);

// Serializes `cluster` as a LogCluster record (a content-hash block's content).
Bytes encode_cluster(const LogCluster& cluster);

// Decodes a LogCluster record and checks it on its own: format, a 32-byte log key, 1 to
// kMaxClusterRecords records, a prev link exactly when first_index > 0, plain records exactly
// record_count of them (each at most kMaxRecordBytes). Refuses with kMalformedCluster.
Result<LogCluster> decode_cluster(ByteView content);

// Checks that `cluster` is the one the chain expects: of the log `log_public_key`, holding the
// records that end just before `expected_end` (first_index + record_count == expected_end).
// kBrokenChain otherwise.
Status check_cluster_link(const LogCluster& cluster, ByteView log_public_key,
                          std::uint64_t expected_end);

// The Ed25519 seed of the log `log_name` of the user whose Ed25519 seed is `user_private_key`:
// HKDF-SHA-256(ikm = user key, salt = "post-log-key-v1", info = name). Refuses a key that is
// not 32 bytes (CoreErrc::kBadKey).
Result<Bytes> derive_log_key(ByteView user_private_key, std::string_view log_name);

// The records key of an encrypted log: HKDF-SHA-256(ikm = log seed, salt =
// "post-log-records-v1", info = log public key). Only the writer derives it; readers open
// their sealed copy (open_records_key).
Result<ContentKey> derive_records_key(ByteView log_private_key);

// The records key sealed to `reader_public_key` (crypto::seal, context "post-log-key-v1" ||
// log public key), and its inverse for the reader's X25519 private key: kNotALogReader when
// the head holds no key for that reader, kDecryptFailed when it does not open.
Result<ReaderKey> seal_records_key(const ContentKey& key, ByteView log_public_key,
                                   ByteView reader_public_key);
Result<ContentKey> open_records_key(const LogHead& head, ByteView reader_private_key);

// Seals `records` (a RecordList) under `key` with a fresh random nonce, bound to the log and to
// the index of the first record (associated data), so that a sealed cluster cannot be
// replayed at another place or in another log. open_records is the inverse: kDecryptFailed
// for a wrong key or place or tampering, kMalformedCluster when the plaintext is not
// `expected_count` records of at most kMaxRecordBytes.
Result<LogRecords> seal_records(const std::vector<Bytes>& records, const ContentKey& key,
                                ByteView log_public_key, std::uint64_t first_index);
Result<std::vector<Bytes>> open_records(const LogRecords& records, const ContentKey* key,
                                        ByteView log_public_key, std::uint64_t first_index,
                                        std::uint64_t expected_count);

// ---- writer and reader -------------------------------------------------------------------

struct LogRecord {
  std::uint64_t index = 0;  // 0 for the first record of the log
  Bytes data;
  friend bool operator==(const LogRecord&, const LogRecord&) = default;
};

struct LogSnapshot {
  Bytes blob;
  std::uint64_t covers = 0;  // the snapshot reflects records [0, covers)
};

struct LogWriterStats {
  std::uint64_t appends = 0;
  std::uint64_t append_failures = 0;
  std::uint64_t clusters_written = 0;
  std::uint64_t heads_written = 0;
  std::uint64_t snapshots = 0;
};

class LogWriter {
 public:
  // Opens the log of the Ed25519 seed `log_private_key` for writing: looks its head up in
  // PAST and continues from it (after the last record it holds), or starts an empty log when
  // PAST has none (nothing is written until the first append). `store` (for snapshots), `past`
  // and `clock` are not owned and must outlive the writer. `done` runs once: the writer, or an
  // error: kBadOptions, a bad key (CoreErrc::kBadKey), a PAST lookup error other than
  // kNotFound, a head that does not open (open_head) or, for an encrypted log, whose partial
  // records do not open. Only one writer may write a log at a time: two would fork it (PAST
  // refuses the second's head with PastErrc::kStaleTimestamp, which append then reports).
  static void open(past::PastNode& past, SecureStore& store, net::Clock& clock,
                   Bytes log_private_key, LogConfig config,
                   std::function<void(Result<std::unique_ptr<LogWriter>>)> done);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Appends `record`. Operations run one at a time in the order called. `done` runs once: with
  // the record's index after PAST acknowledged the cluster(s) the append filled and then the
  // new head, or with an error (kRecordTooLarge, or the PAST insert error); on error the log
  // is as before the call (a cluster block inserted before a failed head write is unreferenced
  // and harmless).
  //
  // Group commit: appends called while the writer is busy (up to kMaxAppendGroup of them, with
  // no snapshot() between) are written together when their turn comes: their records fill
  // clusters as one and one head write covers them all, so a busy log costs one PAST round
  // trip per group instead of one per record. Each done still gets its own record's index, in
  // the order called; when the group's write fails, every append of the group gets the error
  // and the log is as before the group.
  void append(Bytes record, std::function<void(Result<std::uint64_t>)> done);

  // Stores `blob` through the secure store and a head naming it as covering every record
  // appended so far. `done` runs with what the head now names, or the error.
  void snapshot(Bytes blob, std::function<void(Result<SnapshotRef>)> done);

  // True when config().snapshot_every records were appended since the latest snapshot.
  bool snapshot_due() const;

  // What the last head PAST acknowledged says (version 0: none written yet).
  const LogHead& head() const { return head_; }
  const Bytes& public_key() const { return public_key_; }
  const LogConfig& config() const { return config_; }
  const LogWriterStats& stats() const { return stats_; }

 private:
  LogWriter(past::PastNode& past, SecureStore& store, net::Clock& clock, Bytes private_key,
            Bytes public_key, LogConfig config);

  struct AppendPlan;
  struct PendingAppend {
    Bytes record;
    std::function<void(Result<std::uint64_t>)> done;
  };
  using AppendGroup = std::vector<PendingAppend>;

  Status resume(const LogHead& head);
  void enqueue(std::function<void()> op);
  void op_done();
  void run_appends(AppendGroup group);
  void write_clusters(std::shared_ptr<AppendPlan> plan, std::size_t next);
  void write_head(LogHead next, std::vector<Bytes> partial, std::function<void(Status)> done);
  Result<LogHead> build_head(std::uint64_t record_count, std::optional<Id> tip,
                             const std::vector<Bytes>& partial,
                             std::optional<SnapshotRef> snapshot) const;

  past::PastNode& past_;
  SecureStore& store_;
  net::Clock& clock_;
  Bytes private_key_;
  Bytes public_key_;
  LogConfig config_;
  std::optional<ContentKey> records_key_;  // encrypted logs
  std::vector<ReaderKey> reader_keys_;     // sealed once, at open
  LogWriterStats stats_;

  LogHead head_;                // as acknowledged by PAST
  std::vector<Bytes> partial_;  // head_'s partial records, in the clear
  std::size_t partial_bytes_ = 0;

  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  // The group of appends the newest queued operation will write; appends join it until it
  // starts, fills up or a snapshot is queued behind it.
  std::shared_ptr<AppendGroup> open_group_;

  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

struct LogReaderStats {
  std::uint64_t heads_fetched = 0;
  std::uint64_t clusters_fetched = 0;
  std::uint64_t refused = 0;  // heads or clusters refused (rollback, broken chain, ...)
};

class LogReader {
 public:
  // A reader of the log of `log_public_key` (Ed25519, 32 bytes). `reader_private_key` is this
  // reader's X25519 key for encrypted logs (empty for none). `past` and `store` are not owned
  // and must outlive the reader.
  LogReader(past::PastNode& past, SecureStore& store, Bytes log_public_key,
            Bytes reader_private_key = {});
  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // Checks `block` as the log's head (open_head) against what this reader saw before, and
  // remembers it when it is newer. Refuses a version below the newest seen (kRolledBack), the
  // newest seen version with other contents (kForkedLog), and a newer head with fewer records
  // (kBrokenChain). Accepting the same head again is fine.
  Result<LogHead> accept_head(const past::Block& block);

  // Looks the head up in PAST and accepts it (accept_head). `done` gets the head or the error
  // (PastErrc::kNotFound for a log with no head yet).
  void refresh(std::function<void(Result<LogHead>)> done);

  // The newest `max_count` records of the current head, newest first, walking the chain back
  // only as far as needed. Errors: refresh()'s, a cluster lookup's (PastErrc), a cluster that
  // does not decode or link (kMalformedCluster, kBrokenChain, kWrongBlockKind), records that
  // do not open (kNotALogReader, kDecryptFailed).
  void read_backwards(std::size_t max_count,
                      std::function<void(Result<std::vector<LogRecord>>)> done);

  // The records with index >= `position` of the current head, oldest first, walking back only
  // to the cluster holding `position`. A position beyond the head's record count is a head
  // that went back (kRolledBack): positions come from heads of this log. Errors as
  // read_backwards.
  void read_since(std::uint64_t position, std::function<void(Result<std::vector<LogRecord>>)> done);

  // The latest snapshot of the current head, fetched through the secure store. kNoSnapshot
  // when the head names none.
  void latest_snapshot(std::function<void(Result<LogSnapshot>)> done);

  // The newest head accepted (version 0: none yet).
  const LogHead& last_head() const { return last_; }
  const LogReaderStats& stats() const { return stats_; }

 private:
  struct Walk;
  Result<std::vector<Bytes>> open_partial(const LogHead& head);
  Result<const ContentKey*> records_key(const LogHead& head);
  void walk(const LogHead& head, std::uint64_t stop_index, std::size_t max_records,
            std::function<void(Result<std::vector<LogRecord>>)> done);
  void walk_next(std::shared_ptr<Walk> w);

  past::PastNode& past_;
  SecureStore& store_;
  Bytes log_public_key_;
  Bytes reader_private_key_;
  std::optional<ContentKey> records_key_;
  LogHead last_;
  Bytes last_data_;  // the signed data of last_, to tell a fork from a repeat
  LogReaderStats stats_;

  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace post::services
