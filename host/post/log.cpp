#include "host/post/log.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "host/core/crypto.h"
#include "host/core/frame.h"
#include "host/core/log.h"
#include "host/past/errors.h"
#include "host/post/errors.h"
#include "host/post/proto/log.pb.h"

namespace post::services {
namespace {

namespace pb = proto::services;

constexpr std::string_view kLogKeySalt = "post-log-key-v1";
constexpr std::string_view kRecordsKeySalt = "post-log-records-v1";
constexpr std::string_view kReaderKeyContext = "post-log-key-v1";
constexpr std::string_view kRecordsAssociatedData = "post-log-records-v1";
constexpr std::string_view kSnapshotAssociatedData = "post-log-snapshot-v1";

// crypto::seal of a 32-byte key: ephemeral public key, nonce, ciphertext, tag.
constexpr std::size_t kSealedReaderKeyBytes =
    crypto::kX25519KeyBytes + crypto::kGcmNonceBytes + crypto::kAesKeyBytes + crypto::kGcmTagBytes;
// A snapshot's key under the records key: nonce, ciphertext, tag.
constexpr std::size_t kSealedSnapshotKeyBytes =
    crypto::kGcmNonceBytes + crypto::kAesKeyBytes + crypto::kGcmTagBytes;
// Plain records of a cluster: up to the byte limit, plus the one record that crossed it.
constexpr std::size_t kMaxPlainClusterBytes = kMaxClusterBytes + kMaxRecordBytes;

static_assert(kMaxPlainClusterBytes + kMaxLogReaders * (kSealedReaderKeyBytes + 64) + 4096 <=
                  past::kMaxPayloadBytes,
              "the largest head must fit one PAST block");

Error bad_head(std::string why) {
  return make_error(PostErrc::kMalformedLogHead, std::move(why));
}
Error bad_cluster(std::string why) {
  return make_error(PostErrc::kMalformedCluster, std::move(why));
}

Error with_context(Error error, const std::string& context) {
  error.message = context + ": " + error.message;
  return error;
}

// "post-log-records-v1" || log public key || first_index (8 bytes, big-endian).
Bytes records_associated_data(std::string_view label, ByteView log_public_key,
                              std::uint64_t index) {
  Bytes ad = to_bytes(label);
  append(ad, log_public_key);
  for (int shift = 56; shift >= 0; shift -= 8)
    ad.push_back(static_cast<std::uint8_t>(index >> shift));
  return ad;
}

Bytes reader_key_context(ByteView log_public_key) {
  Bytes context = to_bytes(kReaderKeyContext);
  append(context, log_public_key);
  return context;
}

std::optional<Id> id_field(const std::string& bytes) {
  if (bytes.empty()) return std::nullopt;
  return Id::from_bytes(as_bytes(bytes)).value();
}

void put_records(const LogRecords& records, pb::RecordList* plain, pb::SealedRecords* sealed) {
  if (records.sealed) {
    sealed->set_nonce(to_string(records.nonce));
    sealed->set_ciphertext(to_string(records.ciphertext));
  } else {
    for (const Bytes& r : records.plain) plain->add_records(to_string(r));
  }
}

// Plain records: exactly `count`, each at most kMaxRecordBytes, at most `max_total` bytes.
Result<std::vector<Bytes>> take_plain(const pb::RecordList& list, std::uint64_t count,
                                      std::size_t max_total, PostErrc errc) {
  if (static_cast<std::uint64_t>(list.records_size()) != count) {
    return make_error(errc, "holds " + std::to_string(list.records_size()) + " records; it says " +
                                std::to_string(count));
  }
  std::vector<Bytes> out;
  out.reserve(static_cast<std::size_t>(count));
  std::size_t total = 0;
  for (const std::string& r : list.records()) {
    if (r.size() > kMaxRecordBytes) {
      return make_error(errc, "a record of " + std::to_string(r.size()) + " bytes; the limit is " +
                                  std::to_string(kMaxRecordBytes));
    }
    total += r.size();
    if (total > max_total) {
      return make_error(errc, "records of more than " + std::to_string(max_total) + " bytes");
    }
    out.emplace_back(r.begin(), r.end());
  }
  return out;
}

Result<LogRecords> take_sealed(const pb::SealedRecords& sealed, PostErrc errc) {
  if (sealed.nonce().size() != crypto::kGcmNonceBytes) {
    return make_error(
        errc, "sealed records with a nonce of " + std::to_string(sealed.nonce().size()) + " bytes");
  }
  if (sealed.ciphertext().size() < crypto::kGcmTagBytes) {
    return make_error(errc, "sealed records shorter than a tag");
  }
  LogRecords out;
  out.sealed = true;
  out.nonce = to_bytes(sealed.nonce());
  out.ciphertext = to_bytes(sealed.ciphertext());
  return out;
}

}  // namespace

Status check_log_config(const LogConfig& config) {
  if (config.cluster_records == 0 || config.cluster_records > kMaxClusterRecords) {
    return make_error(PostErrc::kBadOptions,
                      "cluster_records must be 1 to " + std::to_string(kMaxClusterRecords));
  }
  if (config.cluster_bytes == 0 || config.cluster_bytes > kMaxClusterBytes) {
    return make_error(PostErrc::kBadOptions,
                      "cluster_bytes must be 1 to " + std::to_string(kMaxClusterBytes));
  }
  if (!config.encrypt && !config.readers.empty()) {
    return make_error(PostErrc::kBadOptions, "readers given for an unencrypted log");
  }
  if (config.readers.size() > kMaxLogReaders) {
    return make_error(PostErrc::kBadOptions,
                      "more than " + std::to_string(kMaxLogReaders) + " readers");
  }
  for (const Bytes& r : config.readers) {
    if (r.size() != crypto::kX25519KeyBytes) {
      return make_error(PostErrc::kBadOptions, "a reader key of " + std::to_string(r.size()) +
                                                   " bytes; X25519 keys have 32");
    }
  }
  return ok_status();
}

// ---- heads ------------------------------------------------------------------------------

Bytes encode_head(const LogHead& head) {
  pb::LogHead m;
  m.set_format(kLogFormat);
  m.set_record_count(head.record_count);
  if (head.tip) m.set_tip(to_string(head.tip->view()));
  m.set_partial_count(head.partial_count);
  if (head.partial.sealed) {
    put_records(head.partial, nullptr, m.mutable_sealed_partial());
  } else if (!head.partial.plain.empty()) {
    put_records(head.partial, m.mutable_plain_partial(), nullptr);
  }
  if (head.snapshot) {
    pb::SnapshotRef* s = m.mutable_snapshot();
    s->set_handle(to_string(head.snapshot->handle.view()));
    if (head.encrypted) {
      s->set_sealed_key(to_string(head.snapshot->sealed_key));
    } else {
      s->set_key(to_string(head.snapshot->key));
    }
    s->set_covers(head.snapshot->covers);
    s->set_object_bytes(head.snapshot->object_bytes);
  }
  m.set_encrypted(head.encrypted);
  for (const ReaderKey& r : head.readers) {
    pb::ReaderKey* k = m.add_readers();
    k->set_reader_public_key(to_string(r.reader_public_key));
    k->set_sealed_key(to_string(r.sealed_key));
  }
  return wire::encode_message(m);
}

Result<LogHead> decode_head(ByteView data) {
  if (data.size() > past::kMaxPayloadBytes) {
    return bad_head("a head of " + std::to_string(data.size()) + " bytes");
  }
  pb::LogHead m;
  if (!m.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return bad_head("not a LogHead record (" + std::to_string(data.size()) + " bytes)");
  }
  if (m.format() != kLogFormat) {
    return bad_head("format " + std::to_string(m.format()) + "; this version reads " +
                    std::to_string(kLogFormat));
  }
  LogHead head;
  head.record_count = m.record_count();
  head.partial_count = m.partial_count();
  head.encrypted = m.encrypted();
  if (head.partial_count > head.record_count) {
    return bad_head("a partial cluster of " + std::to_string(head.partial_count) +
                    " records in a log of " + std::to_string(head.record_count));
  }
  if (head.partial_count >= kMaxClusterRecords) {
    return bad_head("a partial cluster of " + std::to_string(head.partial_count) + " records");
  }
  if (!m.tip().empty() && m.tip().size() != Id::kBytes) {
    return bad_head("a tip of " + std::to_string(m.tip().size()) + " bytes");
  }
  head.tip = id_field(m.tip());
  if (head.tip.has_value() != (head.chain_records() > 0)) {
    return bad_head(head.tip ? "a tip but no full cluster" : "full clusters but no tip");
  }
  if (head.encrypted) {
    if (m.has_plain_partial()) return bad_head("plain records in an encrypted log");
    if (m.has_sealed_partial()) {
      POST_TRY_ASSIGN(head.partial, take_sealed(m.sealed_partial(), PostErrc::kMalformedLogHead));
    } else if (head.partial_count > 0) {
      return bad_head("a partial cluster but no sealed records");
    }
  } else {
    if (m.has_sealed_partial()) return bad_head("sealed records in an unencrypted log");
    if (m.readers_size() > 0) return bad_head("reader keys in an unencrypted log");
    POST_TRY_ASSIGN(head.partial.plain,
                    take_plain(m.plain_partial(), head.partial_count, kMaxPlainClusterBytes,
                               PostErrc::kMalformedLogHead));
  }
  if (m.has_snapshot()) {
    const pb::SnapshotRef& s = m.snapshot();
    if (s.handle().size() != Id::kBytes) {
      return bad_head("a snapshot handle of " + std::to_string(s.handle().size()) + " bytes");
    }
    SnapshotRef ref;
    ref.handle = Id::from_bytes(as_bytes(s.handle())).value();
    if (head.encrypted) {
      if (!s.key().empty() || s.sealed_key().size() != kSealedSnapshotKeyBytes) {
        return bad_head("an encrypted log's snapshot key must be sealed, " +
                        std::to_string(kSealedSnapshotKeyBytes) + " bytes");
      }
      ref.sealed_key = to_bytes(s.sealed_key());
    } else {
      if (s.key().size() != ref.key.size() || !s.sealed_key().empty()) {
        return bad_head("a snapshot key of " + std::to_string(s.key().size()) + " bytes");
      }
      std::copy(s.key().begin(), s.key().end(), ref.key.begin());
    }
    if (s.covers() > head.record_count) {
      return bad_head("a snapshot covering " + std::to_string(s.covers()) + " of " +
                      std::to_string(head.record_count) + " records");
    }
    ref.covers = s.covers();
    ref.object_bytes = s.object_bytes();
    head.snapshot = std::move(ref);
  }
  if (static_cast<std::size_t>(m.readers_size()) > kMaxLogReaders) {
    return bad_head(std::to_string(m.readers_size()) + " readers; the limit is " +
                    std::to_string(kMaxLogReaders));
  }
  for (const pb::ReaderKey& r : m.readers()) {
    if (r.reader_public_key().size() != crypto::kX25519KeyBytes ||
        r.sealed_key().size() != kSealedReaderKeyBytes) {
      return bad_head("a reader key entry of the wrong size");
    }
    head.readers.push_back({to_bytes(r.reader_public_key()), to_bytes(r.sealed_key())});
  }
  return head;
}

Result<LogHead> open_head(const past::Block& block, ByteView log_public_key) {
  if (block.kind != past::BlockKind::kPublicKey) {
    return make_error(PostErrc::kWrongBlockKind, "a log head must be a public-key block, not " +
                                                     std::string(past::kind_name(block.kind)));
  }
  POST_TRY(past::validate_block(past::public_key_handle(log_public_key), block, {}));
  POST_TRY_ASSIGN(LogHead head, decode_head(block.data));
  head.log_public_key = block.public_key;
  head.version = block.timestamp;
  return head;
}

// ---- clusters ---------------------------------------------------------------------------

Bytes encode_cluster(const LogCluster& cluster) {
  pb::LogCluster m;
  m.set_format(kLogFormat);
  m.set_log_public_key(to_string(cluster.log_public_key));
  if (cluster.prev) m.set_prev(to_string(cluster.prev->view()));
  m.set_first_index(cluster.first_index);
  m.set_record_count(cluster.record_count);
  if (cluster.records.sealed) {
    put_records(cluster.records, nullptr, m.mutable_sealed());
  } else {
    put_records(cluster.records, m.mutable_plain(), nullptr);
  }
  return wire::encode_message(m);
}

Result<LogCluster> decode_cluster(ByteView content) {
  if (content.size() > past::kMaxBlockBytes) {
    return bad_cluster("a cluster of " + std::to_string(content.size()) + " bytes");
  }
  pb::LogCluster m;
  if (!m.ParseFromArray(content.data(), static_cast<int>(content.size()))) {
    return bad_cluster("not a LogCluster record (" + std::to_string(content.size()) + " bytes)");
  }
  if (m.format() != kLogFormat) {
    return bad_cluster("format " + std::to_string(m.format()) + "; this version reads " +
                       std::to_string(kLogFormat));
  }
  if (m.log_public_key().size() != crypto::kEd25519PublicKeyBytes) {
    return bad_cluster("a log key of " + std::to_string(m.log_public_key().size()) + " bytes");
  }
  if (m.record_count() == 0 || m.record_count() > kMaxClusterRecords) {
    return bad_cluster(std::to_string(m.record_count()) + " records; a cluster holds 1 to " +
                       std::to_string(kMaxClusterRecords));
  }
  if (m.first_index() > std::numeric_limits<std::uint64_t>::max() - m.record_count()) {
    return bad_cluster("record indexes overflow");
  }
  if (!m.prev().empty() && m.prev().size() != Id::kBytes) {
    return bad_cluster("a prev link of " + std::to_string(m.prev().size()) + " bytes");
  }
  if (m.prev().empty() != (m.first_index() == 0)) {
    return bad_cluster(m.prev().empty() ? "no prev link but records before it"
                                        : "a prev link from the first cluster");
  }
  LogCluster cluster;
  cluster.log_public_key = to_bytes(m.log_public_key());
  cluster.prev = id_field(m.prev());
  cluster.first_index = m.first_index();
  cluster.record_count = m.record_count();
  if (m.has_plain()) {
    POST_TRY_ASSIGN(cluster.records.plain,
                    take_plain(m.plain(), cluster.record_count, kMaxPlainClusterBytes,
                               PostErrc::kMalformedCluster));
  } else if (m.has_sealed()) {
    POST_TRY_ASSIGN(cluster.records, take_sealed(m.sealed(), PostErrc::kMalformedCluster));
  } else {
    return bad_cluster("no records");
  }
  return cluster;
}

Status check_cluster_link(const LogCluster& cluster, ByteView log_public_key,
                          std::uint64_t expected_end) {
  if (!std::equal(cluster.log_public_key.begin(), cluster.log_public_key.end(),
                  log_public_key.begin(), log_public_key.end())) {
    return make_error(PostErrc::kBrokenChain, "a cluster of another log");
  }
  if (cluster.first_index + cluster.record_count != expected_end) {
    return make_error(PostErrc::kBrokenChain,
                      "a cluster of records " + std::to_string(cluster.first_index) + " to " +
                          std::to_string(cluster.first_index + cluster.record_count) +
                          " where the chain needs records ending at " +
                          std::to_string(expected_end));
  }
  return ok_status();
}

// ---- keys and sealing -------------------------------------------------------------------

Result<Bytes> derive_log_key(ByteView user_private_key, std::string_view log_name) {
  if (user_private_key.size() != crypto::kEd25519PrivateKeyBytes) {
    return make_error(CoreErrc::kBadKey,
                      "a user key of " + std::to_string(user_private_key.size()) + " bytes");
  }
  return crypto::hkdf_sha256(user_private_key, as_bytes(kLogKeySalt), as_bytes(log_name),
                             crypto::kEd25519PrivateKeyBytes);
}

Result<ContentKey> derive_records_key(ByteView log_private_key) {
  POST_TRY_ASSIGN(Bytes public_key, crypto::signing_public_key(log_private_key));
  POST_TRY_ASSIGN(Bytes okm, crypto::hkdf_sha256(log_private_key, as_bytes(kRecordsKeySalt),
                                                 public_key, crypto::kAesKeyBytes));
  ContentKey key;
  std::copy(okm.begin(), okm.end(), key.begin());
  return key;
}

Result<ReaderKey> seal_records_key(const ContentKey& key, ByteView log_public_key,
                                   ByteView reader_public_key) {
  POST_TRY_ASSIGN(Bytes sealed,
                  crypto::seal(reader_public_key, key, reader_key_context(log_public_key)));
  return ReaderKey{Bytes(reader_public_key.begin(), reader_public_key.end()), std::move(sealed)};
}

Result<ContentKey> open_records_key(const LogHead& head, ByteView reader_private_key) {
  POST_TRY_ASSIGN(Bytes public_key, crypto::agreement_public_key(reader_private_key));
  for (const ReaderKey& r : head.readers) {
    if (r.reader_public_key != public_key) continue;
    auto opened =
        crypto::open(reader_private_key, r.sealed_key, reader_key_context(head.log_public_key));
    if (!opened.ok() || opened->size() != crypto::kAesKeyBytes) {
      return make_error(PostErrc::kDecryptFailed, "the records key sealed to this reader");
    }
    ContentKey key;
    std::copy(opened->begin(), opened->end(), key.begin());
    return key;
  }
  return make_error(
      PostErrc::kNotALogReader,
      "the head lists " + std::to_string(head.readers.size()) + " readers, not this one");
}

Result<LogRecords> seal_records(const std::vector<Bytes>& records, const ContentKey& key,
                                ByteView log_public_key, std::uint64_t first_index) {
  pb::RecordList list;
  for (const Bytes& r : records) list.add_records(to_string(r));
  LogRecords out;
  out.sealed = true;
  out.nonce = crypto::random_bytes(crypto::kGcmNonceBytes);
  POST_TRY_ASSIGN(out.ciphertext,
                  crypto::aes_gcm_encrypt(key, out.nonce, wire::encode_message(list),
                                          records_associated_data(kRecordsAssociatedData,
                                                                  log_public_key, first_index)));
  return out;
}

Result<std::vector<Bytes>> open_records(const LogRecords& records, const ContentKey* key,
                                        ByteView log_public_key, std::uint64_t first_index,
                                        std::uint64_t expected_count) {
  if (!records.sealed) {
    if (records.plain.size() != expected_count) {
      return bad_cluster("holds " + std::to_string(records.plain.size()) + " records, not " +
                         std::to_string(expected_count));
    }
    return records.plain;
  }
  if (key == nullptr) return make_error(PostErrc::kNotALogReader, "the records are sealed");
  auto plaintext = crypto::aes_gcm_decrypt(
      *key, records.nonce, records.ciphertext,
      records_associated_data(kRecordsAssociatedData, log_public_key, first_index));
  if (!plaintext.ok()) {
    return make_error(PostErrc::kDecryptFailed,
                      "records from index " + std::to_string(first_index));
  }
  pb::RecordList list;
  if (!list.ParseFromArray(plaintext->data(), static_cast<int>(plaintext->size()))) {
    return bad_cluster("sealed records that are not a RecordList");
  }
  return take_plain(list, expected_count, kMaxPlainClusterBytes, PostErrc::kMalformedCluster);
}

namespace {

Result<Bytes> seal_snapshot_key(const ContentKey& records_key, const ContentKey& key,
                                ByteView log_public_key, std::uint64_t covers) {
  Bytes out = crypto::random_bytes(crypto::kGcmNonceBytes);
  POST_TRY_ASSIGN(Bytes ct,
                  crypto::aes_gcm_encrypt(
                      records_key, out, key,
                      records_associated_data(kSnapshotAssociatedData, log_public_key, covers)));
  append(out, ct);
  return out;
}

Result<ContentKey> open_snapshot_key(const ContentKey& records_key, const SnapshotRef& ref,
                                     ByteView log_public_key) {
  ByteView sealed = ref.sealed_key;
  auto key = crypto::aes_gcm_decrypt(
      records_key, sealed.first(crypto::kGcmNonceBytes), sealed.subspan(crypto::kGcmNonceBytes),
      records_associated_data(kSnapshotAssociatedData, log_public_key, ref.covers));
  if (!key.ok() || key->size() != crypto::kAesKeyBytes) {
    return make_error(PostErrc::kDecryptFailed, "the snapshot's sealed key");
  }
  ContentKey out;
  std::copy(key->begin(), key->end(), out.begin());
  return out;
}

// Runs `fn` on `clock`'s executor, for results known before any PAST message.
void later(net::Clock& clock, std::function<void()> fn) {
  clock.schedule(net::Duration::zero(), std::move(fn));
}

}  // namespace

// ---- LogWriter --------------------------------------------------------------------------

// What an append writes: full clusters (oldest first), then the head.
struct LogWriter::AppendPlan {
  std::vector<past::Block> clusters;
  std::uint64_t first_index = 0;  // the group's first record's
  std::uint64_t record_count = 0;
  std::optional<Id> tip;
  std::vector<Bytes> partial;
  std::size_t partial_bytes = 0;
  std::vector<std::function<void(Result<std::uint64_t>)>> dones;  // one per record, in order
};

LogWriter::LogWriter(past::PastNode& past, SecureStore& store, net::Clock& clock, Bytes private_key,
                     Bytes public_key, LogConfig config)
    : past_(past),
      store_(store),
      clock_(clock),
      private_key_(std::move(private_key)),
      public_key_(std::move(public_key)),
      config_(std::move(config)) {
  head_.log_public_key = public_key_;
  head_.encrypted = config_.encrypt;
}

LogWriter::~LogWriter() = default;

void LogWriter::open(past::PastNode& past, SecureStore& store, net::Clock& clock,
                     Bytes log_private_key, LogConfig config,
                     std::function<void(Result<std::unique_ptr<LogWriter>>)> done) {
  auto fail = [&clock, &done](Error e) {
    later(clock, [done = std::move(done), e = std::move(e)] { done(e); });
  };
  if (auto s = check_log_config(config); !s.ok()) return fail(std::move(s).error());
  auto public_key = crypto::signing_public_key(log_private_key);
  if (!public_key.ok()) return fail(std::move(public_key).error());
  std::unique_ptr<LogWriter> writer(new LogWriter(past, store, clock, std::move(log_private_key),
                                                  std::move(*public_key), std::move(config)));
  if (writer->config_.encrypt) {
    auto key = derive_records_key(writer->private_key_);
    if (!key.ok()) return fail(std::move(key).error());
    writer->records_key_ = *key;
    for (const Bytes& reader : writer->config_.readers) {
      auto sealed = seal_records_key(*key, writer->public_key_, reader);
      if (!sealed.ok()) return fail(std::move(sealed).error());
      writer->reader_keys_.push_back(std::move(*sealed));
    }
  }
  const Id handle = past::public_key_handle(writer->public_key_);
  auto holder = std::make_shared<std::unique_ptr<LogWriter>>(std::move(writer));
  past.lookup(handle, [holder, done = std::move(done)](Result<past::Block> block) {
    LogWriter& w = **holder;
    if (!block.ok()) {
      if (block.error().code != past::PastErrc::kNotFound) {
        done(with_context(std::move(block).error(), "looking up the log head"));
        return;
      }
    } else {
      auto head = open_head(*block, w.public_key_);
      Status resumed = head.ok() ? w.resume(*head) : Status(std::move(head).error());
      if (!resumed.ok()) {
        done(with_context(std::move(resumed).error(), "the log head in PAST"));
        return;
      }
    }
    done(std::move(*holder));
  });
}

Status LogWriter::resume(const LogHead& head) {
  if (head.encrypted != config_.encrypt) {
    return make_error(PostErrc::kBadOptions, head.encrypted
                                                 ? "the log is encrypted; the config is not"
                                                 : "the log is not encrypted; the config is");
  }
  const ContentKey* key = records_key_ ? &*records_key_ : nullptr;
  POST_TRY_ASSIGN(partial_, open_records(head.partial, key, public_key_, head.chain_records(),
                                         head.partial_count));
  partial_bytes_ = 0;
  for (const Bytes& r : partial_) partial_bytes_ += r.size();
  head_ = head;
  return ok_status();
}

void LogWriter::enqueue(std::function<void()> op) {
  queue_.push_back(std::move(op));
  if (busy_) return;
  busy_ = true;
  std::weak_ptr<char> alive = alive_;
  later(clock_, [this, alive] {
    if (alive.expired() || queue_.empty()) return;
    auto next = std::move(queue_.front());
    queue_.pop_front();
    next();
  });
}

void LogWriter::op_done() {
  if (queue_.empty()) {
    busy_ = false;
    return;
  }
  std::weak_ptr<char> alive = alive_;
  later(clock_, [this, alive] {
    if (alive.expired() || queue_.empty()) return;
    auto next = std::move(queue_.front());
    queue_.pop_front();
    next();
  });
}

bool LogWriter::snapshot_due() const {
  if (config_.snapshot_every == 0) return false;
  const std::uint64_t covered = head_.snapshot ? head_.snapshot->covers : 0;
  return head_.record_count - covered >= config_.snapshot_every;
}

Result<LogHead> LogWriter::build_head(std::uint64_t record_count, std::optional<Id> tip,
                                      const std::vector<Bytes>& partial,
                                      std::optional<SnapshotRef> snapshot) const {
  LogHead next;
  next.log_public_key = public_key_;
  next.version = head_.version + 1;
  next.record_count = record_count;
  next.tip = tip;
  next.partial_count = partial.size();
  next.snapshot = std::move(snapshot);
  next.encrypted = config_.encrypt;
  if (config_.encrypt) {
    next.readers = reader_keys_;
    if (!partial.empty()) {
      POST_TRY_ASSIGN(next.partial, seal_records(partial, *records_key_, public_key_,
                                                 record_count - partial.size()));
    }
  } else {
    next.partial.plain = partial;
  }
  return next;
}

void LogWriter::append(Bytes record, std::function<void(Result<std::uint64_t>)> done) {
  ++stats_.appends;
  if (record.size() > kMaxRecordBytes) {
    ++stats_.append_failures;
    later(clock_, [done = std::move(done), size = record.size()] {
      done(make_error(PostErrc::kRecordTooLarge,
                      "a record of " + std::to_string(size) + " bytes; the limit is " +
                          std::to_string(kMaxRecordBytes) +
                          " (store larger payloads through the secure store)"));
    });
    return;
  }
  if (!open_group_ || open_group_->size() >= kMaxAppendGroup) {
    open_group_ = std::make_shared<AppendGroup>();
    enqueue([this, group = open_group_] {
      if (open_group_ == group) open_group_.reset();  // later appends form the next group
      run_appends(std::move(*group));
    });
  }
  open_group_->push_back(PendingAppend{std::move(record), std::move(done)});
}

void LogWriter::run_appends(AppendGroup group) {
  auto plan = std::make_shared<AppendPlan>();
  plan->partial = partial_;
  plan->partial_bytes = partial_bytes_;
  plan->tip = head_.tip;
  plan->record_count = head_.record_count;
  plan->first_index = head_.record_count;
  std::uint64_t chain = head_.chain_records();
  std::optional<Error> error;
  auto flush = [&] {
    LogCluster cluster;
    cluster.log_public_key = public_key_;
    cluster.prev = plan->tip;
    cluster.first_index = chain;
    cluster.record_count = plan->partial.size();
    if (records_key_) {
      auto sealed = seal_records(plan->partial, *records_key_, public_key_, chain);
      if (!sealed.ok()) {
        error = std::move(sealed).error();
        return;
      }
      cluster.records = std::move(*sealed);
    } else {
      cluster.records.plain = std::move(plan->partial);
    }
    past::Block block = past::make_content_block(encode_cluster(cluster));
    plan->tip = past::handle_of(block);
    plan->clusters.push_back(std::move(block));
    chain += cluster.record_count;
    plan->partial.clear();
    plan->partial_bytes = 0;
  };
  for (PendingAppend& append : group) {
    plan->dones.push_back(std::move(append.done));
    if (error) continue;
    if (!plan->partial.empty() &&
        plan->partial_bytes + append.record.size() > config_.cluster_bytes) {
      flush();
      if (error) continue;
    }
    ++plan->record_count;
    plan->partial_bytes += append.record.size();
    plan->partial.push_back(std::move(append.record));
    if (plan->partial.size() >= config_.cluster_records ||
        plan->partial_bytes >= config_.cluster_bytes) {
      flush();
    }
  }
  if (error) {
    std::weak_ptr<char> alive = alive_;
    stats_.append_failures += plan->dones.size();
    for (auto& done : plan->dones) done(*error);
    if (!alive.expired()) op_done();
    return;
  }
  write_clusters(std::move(plan), 0);
}

void LogWriter::write_clusters(std::shared_ptr<AppendPlan> plan, std::size_t next) {
  std::weak_ptr<char> alive = alive_;
  // Answers every append of the group: its own index, or the group's error.
  auto finish = [this, alive, plan](Status result) {
    auto dones = std::move(plan->dones);
    if (!result.ok()) stats_.append_failures += dones.size();
    for (std::size_t i = 0; i < dones.size(); ++i) {
      if (result.ok()) {
        dones[i](plan->first_index + i);
      } else {
        dones[i](result.error());
      }
    }
    if (!alive.expired()) op_done();
  };
  if (next < plan->clusters.size()) {
    past_.insert(
        plan->clusters[next], [this, alive, plan, next, finish](Result<past::InsertResult> r) {
          if (alive.expired()) return;
          if (!r.ok()) {
            finish(with_context(
                std::move(r).error(),
                "storing the cluster " + past::handle_of(plan->clusters[next]).short_hex()));
            return;
          }
          ++stats_.clusters_written;
          write_clusters(plan, next + 1);
        });
    return;
  }
  auto head = build_head(plan->record_count, plan->tip, plan->partial, head_.snapshot);
  if (!head.ok()) {
    finish(std::move(head).error());
    return;
  }
  write_head(std::move(*head), plan->partial, [this, plan, finish](Status s) {
    if (!s.ok()) {
      finish(std::move(s).error());
      return;
    }
    partial_bytes_ = plan->partial_bytes;
    finish(ok_status());
  });
}

void LogWriter::write_head(LogHead next, std::vector<Bytes> partial,
                           std::function<void(Status)> done) {
  auto block = past::make_public_key_block(private_key_, next.version, encode_head(next));
  if (!block.ok()) {
    later(clock_, [done = std::move(done), e = std::move(block).error()] { done(e); });
    return;
  }
  std::weak_ptr<char> alive = alive_;
  past_.insert(*block, [this, alive, next = std::move(next), partial = std::move(partial),
                        done = std::move(done)](Result<past::InsertResult> r) mutable {
    if (alive.expired()) return;
    if (!r.ok()) {
      done(with_context(std::move(r).error(),
                        "storing log head version " + std::to_string(next.version)));
      return;
    }
    ++stats_.heads_written;
    head_ = std::move(next);
    partial_ = std::move(partial);
    done(ok_status());
  });
}

void LogWriter::snapshot(Bytes blob, std::function<void(Result<SnapshotRef>)> done) {
  auto op = std::make_shared<std::pair<Bytes, std::function<void(Result<SnapshotRef>)>>>(
      std::move(blob), std::move(done));
  open_group_.reset();  // appends after the snapshot are not covered by it: a group of their own
  enqueue([this, op] {
    std::weak_ptr<char> alive = alive_;
    auto finish = [this, alive, op](Result<SnapshotRef> result) {
      auto user_done = std::move(op->second);
      user_done(std::move(result));
      if (!alive.expired()) op_done();
    };
    store_.store(std::move(op->first), {}, [this, alive, finish](Result<StoredObject> stored) {
      if (alive.expired()) return;
      if (!stored.ok()) {
        finish(with_context(std::move(stored).error(), "storing the snapshot"));
        return;
      }
      SnapshotRef ref;
      ref.handle = stored->handle;
      ref.key = stored->key;
      ref.covers = head_.record_count;
      ref.object_bytes = stored->object_bytes;
      if (records_key_) {
        auto sealed = seal_snapshot_key(*records_key_, ref.key, public_key_, ref.covers);
        if (!sealed.ok()) {
          finish(std::move(sealed).error());
          return;
        }
        ref.sealed_key = std::move(*sealed);
      }
      auto head = build_head(head_.record_count, head_.tip, partial_, ref);
      if (!head.ok()) {
        finish(std::move(head).error());
        return;
      }
      write_head(std::move(*head), partial_, [this, ref, finish](Status s) {
        if (!s.ok()) {
          finish(std::move(s).error());
          return;
        }
        ++stats_.snapshots;
        finish(ref);
      });
    });
  });
}

// ---- LogReader --------------------------------------------------------------------------

struct LogReader::Walk {
  LogHead head;
  std::uint64_t stop_index = 0;
  std::size_t max_records = 0;
  std::uint64_t expected_end = 0;
  std::optional<Id> next;
  std::vector<std::vector<LogRecord>> pieces;  // newest piece first, each oldest first
  std::size_t collected = 0;
  std::function<void(Result<std::vector<LogRecord>>)> done;
};

LogReader::LogReader(past::PastNode& past, SecureStore& store, Bytes log_public_key,
                     Bytes reader_private_key)
    : past_(past),
      store_(store),
      log_public_key_(std::move(log_public_key)),
      reader_private_key_(std::move(reader_private_key)) {}

LogReader::~LogReader() = default;

Result<LogHead> LogReader::accept_head(const past::Block& block) {
  auto head = open_head(block, log_public_key_);
  if (!head.ok()) {
    ++stats_.refused;
    return head;
  }
  if (last_.version > 0) {
    std::optional<Error> refusal;
    if (head->version < last_.version) {
      refusal =
          make_error(PostErrc::kRolledBack, "head version " + std::to_string(head->version) +
                                                " after version " + std::to_string(last_.version));
    } else if (head->version == last_.version && block.data != last_data_) {
      refusal = make_error(PostErrc::kForkedLog,
                           "two heads with version " + std::to_string(head->version));
    } else if (head->record_count < last_.record_count) {
      refusal = make_error(PostErrc::kBrokenChain,
                           "head version " + std::to_string(head->version) + " has " +
                               std::to_string(head->record_count) + " records; version " +
                               std::to_string(last_.version) + " had " +
                               std::to_string(last_.record_count));
    }
    if (refusal) {
      ++stats_.refused;
      log::get("post")->warn("log {}: refused head: {}",
                             past::public_key_handle(log_public_key_).short_hex(),
                             refusal->message);
      return std::move(*refusal);
    }
  }
  last_ = *head;
  last_data_ = block.data;
  return head;
}

void LogReader::refresh(std::function<void(Result<LogHead>)> done) {
  std::weak_ptr<char> alive = alive_;
  past_.lookup(past::public_key_handle(log_public_key_),
               [this, alive, done = std::move(done)](Result<past::Block> block) {
                 if (alive.expired()) return;
                 ++stats_.heads_fetched;
                 if (!block.ok()) {
                   done(with_context(std::move(block).error(), "looking up the log head"));
                   return;
                 }
                 done(accept_head(*block));
               });
}

Result<const ContentKey*> LogReader::records_key(const LogHead& head) {
  if (!head.encrypted) return static_cast<const ContentKey*>(nullptr);
  if (!records_key_) {
    if (reader_private_key_.empty()) {
      return make_error(PostErrc::kNotALogReader, "the log is encrypted; this reader has no key");
    }
    POST_TRY_ASSIGN(records_key_, open_records_key(head, reader_private_key_));
  }
  return &*records_key_;
}

Result<std::vector<Bytes>> LogReader::open_partial(const LogHead& head) {
  POST_TRY_ASSIGN(const ContentKey* key, records_key(head));
  return open_records(head.partial, key, log_public_key_, head.chain_records(), head.partial_count);
}

void LogReader::walk(const LogHead& head, std::uint64_t stop_index, std::size_t max_records,
                     std::function<void(Result<std::vector<LogRecord>>)> done) {
  auto w = std::make_shared<Walk>();
  w->head = head;
  w->stop_index = stop_index;
  w->max_records = max_records;
  w->expected_end = head.chain_records();
  w->next = head.tip;
  w->done = std::move(done);
  auto partial = open_partial(head);
  if (!partial.ok()) {
    ++stats_.refused;
    w->done(with_context(std::move(partial).error(), "the head's partial cluster"));
    return;
  }
  std::vector<LogRecord> piece;
  for (std::size_t i = 0; i < partial->size(); ++i) {
    piece.push_back({head.chain_records() + i, std::move((*partial)[i])});
  }
  w->collected = piece.size();
  w->pieces.push_back(std::move(piece));
  walk_next(std::move(w));
}

void LogReader::walk_next(std::shared_ptr<Walk> w) {
  if (w->collected >= w->max_records || w->expected_end <= w->stop_index || !w->next) {
    std::vector<LogRecord> all;
    for (auto it = w->pieces.rbegin(); it != w->pieces.rend(); ++it) {
      for (LogRecord& r : *it) {
        if (r.index >= w->stop_index) all.push_back(std::move(r));
      }
    }
    if (all.size() > w->max_records) {
      all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(w->max_records));
    }
    w->done(std::move(all));
    return;
  }
  const Id handle = *w->next;
  std::weak_ptr<char> alive = alive_;
  past_.lookup(handle, [this, alive, w, handle](Result<past::Block> block) {
    if (alive.expired()) return;
    ++stats_.clusters_fetched;
    const std::string name = "the cluster " + handle.short_hex() + " ending at record " +
                             std::to_string(w->expected_end);
    auto fail = [&](Error e) {
      ++stats_.refused;
      w->done(with_context(std::move(e), name));
    };
    if (!block.ok()) return fail(std::move(block).error());
    if (block->kind != past::BlockKind::kContentHash) {
      return fail(make_error(PostErrc::kWrongBlockKind, "a cluster must be a content-hash block"));
    }
    auto cluster = decode_cluster(block->content);
    if (!cluster.ok()) return fail(std::move(cluster).error());
    if (auto s = check_cluster_link(*cluster, log_public_key_, w->expected_end); !s.ok()) {
      return fail(std::move(s).error());
    }
    auto key = records_key(w->head);
    if (!key.ok()) return fail(std::move(key).error());
    auto records = open_records(cluster->records, *key, log_public_key_, cluster->first_index,
                                cluster->record_count);
    if (!records.ok()) return fail(std::move(records).error());
    std::vector<LogRecord> piece;
    for (std::size_t i = 0; i < records->size(); ++i) {
      piece.push_back({cluster->first_index + i, std::move((*records)[i])});
    }
    w->collected += piece.size();
    w->pieces.push_back(std::move(piece));
    w->expected_end = cluster->first_index;
    w->next = cluster->prev;
    walk_next(w);
  });
}

void LogReader::read_backwards(std::size_t max_count,
                               std::function<void(Result<std::vector<LogRecord>>)> done) {
  std::weak_ptr<char> alive = alive_;
  refresh([this, alive, max_count, done = std::move(done)](Result<LogHead> head) mutable {
    if (alive.expired()) return;
    if (!head.ok()) return done(std::move(head).error());
    walk(*head, 0, max_count, [done = std::move(done)](Result<std::vector<LogRecord>> r) {
      if (r.ok()) std::reverse(r->begin(), r->end());
      done(std::move(r));
    });
  });
}

void LogReader::read_since(std::uint64_t position,
                           std::function<void(Result<std::vector<LogRecord>>)> done) {
  std::weak_ptr<char> alive = alive_;
  refresh([this, alive, position, done = std::move(done)](Result<LogHead> head) mutable {
    if (alive.expired()) return;
    if (!head.ok()) return done(std::move(head).error());
    if (position > head->record_count) {
      ++stats_.refused;
      return done(make_error(PostErrc::kRolledBack,
                             "position " + std::to_string(position) + " beyond the head's " +
                                 std::to_string(head->record_count) + " records"));
    }
    walk(*head, position, std::numeric_limits<std::size_t>::max(), std::move(done));
  });
}

void LogReader::latest_snapshot(std::function<void(Result<LogSnapshot>)> done) {
  std::weak_ptr<char> alive = alive_;
  refresh([this, alive, done = std::move(done)](Result<LogHead> head) mutable {
    if (alive.expired()) return;
    if (!head.ok()) return done(std::move(head).error());
    if (!head->snapshot) return done(make_error(PostErrc::kNoSnapshot, "in the current head"));
    const SnapshotRef ref = *head->snapshot;
    ContentKey key = ref.key;
    if (head->encrypted) {
      auto records = records_key(*head);
      if (!records.ok()) return done(std::move(records).error());
      auto opened = open_snapshot_key(**records, ref, log_public_key_);
      if (!opened.ok()) return done(std::move(opened).error());
      key = *opened;
    }
    store_.fetch(ref.handle, key,
                 [alive, covers = ref.covers, done = std::move(done)](Result<Bytes> blob) {
                   if (alive.expired()) return;
                   if (!blob.ok())
                     return done(with_context(std::move(blob).error(), "fetching the snapshot"));
                   done(LogSnapshot{std::move(*blob), covers});
                 });
  });
}

}  // namespace post::services
