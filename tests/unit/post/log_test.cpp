// Single-writer logs on a small simulated ring of PAST nodes: records come back in order across
// clusters (backwards and since a position), snapshots let a reader start without walking
// past them, a restarted writer continues the log, encrypted logs open only for their
// readers, and rolled-back heads, forked heads and inconsistent or corrupted clusters are
// errors. The pure decoders are tested at the end.
#include "host/post/log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "host/core/crypto.h"
#include "host/core/random.h"
#include "host/past/errors.h"
#include "host/post/errors.h"
#include "tools/post-sim/past_scenario.h"

namespace post::services {
namespace {

using namespace std::chrono_literals;
using sim::PastRing;
using sim::SimNode;

constexpr int kReplicas = 3;

template <class T>
std::string describe(const Result<T>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

Bytes record(std::uint64_t i) {
  return to_bytes("record " + std::to_string(i));
}

std::vector<LogRecord> expected(std::uint64_t from, std::uint64_t to) {
  std::vector<LogRecord> out;
  for (std::uint64_t i = from; i < to; ++i) out.push_back({i, record(i)});
  return out;
}

class LogRing : public ::testing::Test {
 protected:
  LogRing() : key_(crypto::generate_signing_key()) {
    sim::SimRingConfig ring;
    ring.nodes = 16;
    ring.seed = 23;
    ring.pastry.leaf_set_size = 8;
    past::PastConfig past;
    past.replicas = kReplicas;
    ring_ = std::make_unique<PastRing>(ring, past);
    EXPECT_TRUE(ring_->build().failed.empty());
    ring_->ring().run_for(20s);
  }

  std::vector<SimNode> members() { return ring_->ring().members(); }
  net::Clock& clock(SimNode n) { return ring_->ring().network().clock(n); }

  SecureStore& secure(SimNode node) {
    auto& slot = secure_[node];
    if (!slot) slot = SecureStore::create(*ring_->past(node), clock(node), {}).value();
    return *slot;
  }

  // Starts `op` with a callback and runs the ring until it answers (two virtual minutes).
  template <class T>
  T wait(const std::function<void(std::function<void(T)>)>& op) {
    std::optional<T> out;
    op([&](T r) { out.emplace(std::move(r)); });
    for (int i = 0; i < 120 && !out; ++i) ring_->ring().run_for(1s);
    EXPECT_TRUE(out.has_value()) << "no answer within two virtual minutes";
    if (!out) std::abort();
    return std::move(*out);
  }

  Result<std::unique_ptr<LogWriter>> open_writer(SimNode node, LogConfig config, const Bytes& key) {
    return wait<Result<std::unique_ptr<LogWriter>>>([&](auto done) {
      LogWriter::open(*ring_->past(node), secure(node), clock(node), key, config, done);
    });
  }
  std::unique_ptr<LogWriter> writer(SimNode node, LogConfig config) {
    auto w = open_writer(node, std::move(config), key_.private_key);
    EXPECT_TRUE(w.ok()) << describe(w);
    return w.ok() ? std::move(*w) : nullptr;
  }
  std::unique_ptr<LogReader> reader(SimNode node, Bytes reader_key = {}) {
    return std::make_unique<LogReader>(*ring_->past(node), secure(node), key_.public_key,
                                       std::move(reader_key));
  }

  Result<std::uint64_t> append(LogWriter& w, Bytes data) {
    return wait<Result<std::uint64_t>>([&](auto done) { w.append(std::move(data), done); });
  }
  void append_range(LogWriter& w, std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t i = from; i < to; ++i) {
      auto index = append(w, record(i));
      ASSERT_TRUE(index.ok()) << describe(index);
      ASSERT_EQ(*index, i);
    }
  }
  Result<SnapshotRef> snapshot(LogWriter& w, Bytes blob) {
    return wait<Result<SnapshotRef>>([&](auto done) { w.snapshot(std::move(blob), done); });
  }
  Result<std::vector<LogRecord>> backwards(LogReader& r, std::size_t n) {
    return wait<Result<std::vector<LogRecord>>>([&](auto done) { r.read_backwards(n, done); });
  }
  Result<std::vector<LogRecord>> since(LogReader& r, std::uint64_t position) {
    return wait<Result<std::vector<LogRecord>>>([&](auto done) { r.read_since(position, done); });
  }
  Result<LogHead> refresh(LogReader& r) {
    return wait<Result<LogHead>>([&](auto done) { r.refresh(done); });
  }
  Result<LogSnapshot> latest_snapshot(LogReader& r) {
    return wait<Result<LogSnapshot>>([&](auto done) { r.latest_snapshot(done); });
  }
  void insert(SimNode from, const past::Block& block) {
    auto r = wait<Result<past::InsertResult>>(
        [&](auto done) { ring_->past(from)->insert(block, done); });
    ASSERT_TRUE(r.ok()) << describe(r);
  }

  const Id head_handle() const { return past::public_key_handle(key_.public_key); }

  // The head block as one replica holds it now.
  past::Block stored_head() {
    auto holders = ring_->holders(head_handle());
    EXPECT_FALSE(holders.empty());
    auto bytes = ring_->store(holders.at(0))->get(past::BlockKey{head_handle()});
    EXPECT_TRUE(bytes.ok() && *bytes);
    return past::decode_block(**bytes).value();
  }
  // Puts `block` under `handle` into the store of every node holding `handle`.
  void overwrite_replicas(const Id& handle, const Bytes& encoded) {
    auto holders = ring_->holders(handle);
    ASSERT_EQ(holders.size(), static_cast<std::size_t>(kReplicas));
    for (SimNode h : holders)
      ASSERT_TRUE(ring_->store(h)->put(past::BlockKey{handle}, encoded).ok());
  }

  crypto::SigningKeyPair key_;
  std::unique_ptr<PastRing> ring_;
  std::map<SimNode, std::unique_ptr<SecureStore>> secure_;
};

LogConfig small_clusters(std::size_t records = 4) {
  LogConfig c;
  c.cluster_records = records;
  return c;
}

TEST_F(LogRing, RecordsComeBackInOrderBackwardsAndSinceAPositionAcrossClusters) {
  auto m = members();
  auto w = writer(m[1], small_clusters(4));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->head().version, 0u);
  append_range(*w, 0, 11);  // clusters [0,4) and [4,8), partial [8,11)
  EXPECT_EQ(w->stats().clusters_written, 2u);
  EXPECT_EQ(w->stats().heads_written, 11u);
  EXPECT_EQ(w->head().version, 11u);
  EXPECT_EQ(w->head().record_count, 11u);
  EXPECT_EQ(w->head().partial_count, 3u);

  auto r = reader(m[9]);
  auto newest = backwards(*r, 2);
  ASSERT_TRUE(newest.ok()) << describe(newest);
  EXPECT_EQ(*newest, (std::vector<LogRecord>{{10, record(10)}, {9, record(9)}}));
  EXPECT_EQ(r->stats().clusters_fetched, 0u) << "the partial cluster in the head was enough";

  auto five = backwards(*r, 5);
  ASSERT_TRUE(five.ok()) << describe(five);
  auto want = expected(6, 11);
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(*five, want);
  EXPECT_EQ(r->stats().clusters_fetched, 1u);

  auto all = backwards(*r, 100);
  ASSERT_TRUE(all.ok()) << describe(all);
  want = expected(0, 11);
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(*all, want);

  auto from0 = since(*r, 0);
  ASSERT_TRUE(from0.ok()) << describe(from0);
  EXPECT_EQ(*from0, expected(0, 11));

  const auto fetched = r->stats().clusters_fetched;
  auto from6 = since(*r, 6);
  ASSERT_TRUE(from6.ok()) << describe(from6);
  EXPECT_EQ(*from6, expected(6, 11));
  EXPECT_EQ(r->stats().clusters_fetched - fetched, 1u) << "only the cluster holding record 6";

  auto from8 = since(*r, 8);
  ASSERT_TRUE(from8.ok());
  EXPECT_EQ(*from8, expected(8, 11));
  auto none = since(*r, 11);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto beyond = since(*r, 12);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, PostErrc::kRolledBack) << beyond.error().to_string();

  // One more record fills the third cluster: the head's partial cluster is then empty.
  append_range(*w, 11, 12);
  EXPECT_EQ(w->stats().clusters_written, 3u);
  EXPECT_EQ(w->head().partial_count, 0u);
  auto after = since(*r, 0);
  ASSERT_TRUE(after.ok()) << describe(after);
  EXPECT_EQ(*after, expected(0, 12));
}

TEST_F(LogRing, AppendsMadeWhileTheWriterIsBusyShareOneHeadWriteAndKeepTheirOrder) {
  auto m = members();
  auto w = writer(m[2], small_clusters(4));
  ASSERT_TRUE(w);
  // Eleven appends in one turn form one group (the writer starts it in a later turn) that
  // crosses two cluster boundaries; a snapshot then closes the group, so the two appends after
  // it are a group of their own, not covered by the snapshot.
  std::map<std::uint64_t, Result<std::uint64_t>> answers;
  std::vector<std::uint64_t> order;
  auto answer = [&](std::uint64_t i) {
    return [&, i](Result<std::uint64_t> r) {
      order.push_back(i);
      answers.emplace(i, std::move(r));
    };
  };
  for (std::uint64_t i = 0; i < 11; ++i) w->append(record(i), answer(i));
  std::optional<Result<SnapshotRef>> snap;
  w->snapshot(to_bytes("state after 11"), [&](Result<SnapshotRef> r) { snap.emplace(r); });
  for (std::uint64_t i = 11; i < 13; ++i) w->append(record(i), answer(i));
  for (int i = 0; i < 120 && answers.size() < 13; ++i) ring_->ring().run_for(1s);
  ASSERT_EQ(answers.size(), 13u);
  for (std::uint64_t i = 0; i < 13; ++i) {
    ASSERT_TRUE(answers.at(i).ok()) << i << ": " << describe(answers.at(i));
    EXPECT_EQ(*answers.at(i), i);
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  ASSERT_TRUE(snap && snap->ok()) << (snap ? describe(*snap) : "no answer");
  EXPECT_EQ((*snap)->covers, 11u) << "the snapshot covers what was appended before it, only";
  EXPECT_EQ(w->stats().appends, 13u);
  // One head for the group of eleven, one for the snapshot, one for the last two.
  EXPECT_EQ(w->stats().heads_written, 3u);
  EXPECT_EQ(w->stats().clusters_written, 3u);
  EXPECT_EQ(w->head().record_count, 13u);

  auto r = reader(m[9]);
  auto all = since(*r, 0);
  ASSERT_TRUE(all.ok()) << describe(all);
  EXPECT_EQ(*all, expected(0, 13));

  // A group is never larger than kMaxAppendGroup: more appends make more groups.
  answers.clear();
  const std::uint64_t n = kMaxAppendGroup * 2 + 1;
  for (std::uint64_t i = 13; i < 13 + n; ++i) w->append(record(i), answer(i));
  for (int i = 0; i < 120 && answers.size() < n; ++i) ring_->ring().run_for(1s);
  ASSERT_EQ(answers.size(), n);
  for (auto& [i, a] : answers) ASSERT_TRUE(a.ok() && *a == i) << i << ": " << describe(a);
  EXPECT_EQ(w->stats().heads_written, 3u + 3u);

  // When the group's head write fails (a second writer moved the log on), every append of the
  // group gets the error and the first writer's log is as before.
  auto other = writer(m[5], small_clusters(4));
  ASSERT_TRUE(other);
  const std::uint64_t count = 13 + n;
  ASSERT_EQ(other->head().record_count, count);
  auto theirs = append(*other, record(count));
  ASSERT_TRUE(theirs.ok()) << describe(theirs);
  answers.clear();
  for (std::uint64_t i = 0; i < 3; ++i) w->append(record(1000 + i), answer(i));
  for (int i = 0; i < 120 && answers.size() < 3; ++i) ring_->ring().run_for(1s);
  ASSERT_EQ(answers.size(), 3u);
  for (auto& [i, a] : answers) {
    ASSERT_FALSE(a.ok()) << i;
    EXPECT_EQ(a.error().code, past::PastErrc::kStaleTimestamp) << a.error().to_string();
  }
  EXPECT_EQ(w->head().record_count, count);
  EXPECT_EQ(w->stats().append_failures, 3u);
}

TEST_F(LogRing, AByteLimitClosesClustersAndOversizedRecordsAreRefused) {
  auto m = members();
  LogConfig c;
  c.cluster_records = 100;
  c.cluster_bytes = 40;
  auto w = writer(m[2], c);
  ASSERT_TRUE(w);
  // "record N" is 8 bytes: a cluster takes five of them (40 bytes) and is then full.
  append_range(*w, 0, 12);
  EXPECT_EQ(w->stats().clusters_written, 2u);
  EXPECT_EQ(w->head().partial_count, 2u);
  // A record that would take the partial cluster over the limit closes it first.
  auto big = append(*w, Bytes(35, 'x'));
  ASSERT_TRUE(big.ok()) << describe(big);
  EXPECT_EQ(w->stats().clusters_written, 3u);
  EXPECT_EQ(w->head().partial_count, 1u);

  auto too_large = append(*w, Bytes(kMaxRecordBytes + 1, 'y'));
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, PostErrc::kRecordTooLarge);
  EXPECT_EQ(w->head().record_count, 13u);

  auto r = reader(m[12]);
  auto all = since(*r, 0);
  ASSERT_TRUE(all.ok()) << describe(all);
  auto want = expected(0, 12);
  want.push_back({12, Bytes(35, 'x')});
  EXPECT_EQ(*all, want);
}

TEST_F(LogRing, ASnapshotLetsAReaderStartWithoutWalkingPastIt) {
  auto m = members();
  LogConfig c = small_clusters(4);
  c.snapshot_every = 8;
  auto w = writer(m[3], c);
  ASSERT_TRUE(w);
  auto r = reader(m[10]);
  auto none = latest_snapshot(*r);
  ASSERT_FALSE(none.ok());  // no head at all yet
  EXPECT_EQ(none.error().code, past::PastErrc::kNotFound) << none.error().to_string();

  append_range(*w, 0, 7);
  EXPECT_FALSE(w->snapshot_due());
  auto still_none = latest_snapshot(*r);
  ASSERT_FALSE(still_none.ok());
  EXPECT_EQ(still_none.error().code, PostErrc::kNoSnapshot) << still_none.error().to_string();

  append_range(*w, 7, 9);
  EXPECT_TRUE(w->snapshot_due());
  const Bytes state = to_bytes("folder state after nine records");
  auto ref = snapshot(*w, state);
  ASSERT_TRUE(ref.ok()) << describe(ref);
  EXPECT_EQ(ref->covers, 9u);
  EXPECT_FALSE(w->snapshot_due());
  append_range(*w, 9, 14);  // clusters [0,4) [4,8) [8,12), partial [12,14)

  auto snap = latest_snapshot(*r);
  ASSERT_TRUE(snap.ok()) << describe(snap);
  EXPECT_EQ(snap->blob, state);
  EXPECT_EQ(snap->covers, 9u);

  const auto before = r->stats().clusters_fetched;
  auto rest = since(*r, snap->covers);
  ASSERT_TRUE(rest.ok()) << describe(rest);
  EXPECT_EQ(*rest, expected(9, 14));
  EXPECT_EQ(r->stats().clusters_fetched - before, 1u) << "only the cluster [8,12)";

  const auto before_all = r->stats().clusters_fetched;
  ASSERT_TRUE(since(*r, 0).ok());
  EXPECT_EQ(r->stats().clusters_fetched - before_all, 3u);
}

TEST_F(LogRing, ARestartedWriterContinuesTheLogWithoutLossOrDuplicates) {
  auto m = members();
  {
    auto first = writer(m[1], small_clusters(4));
    ASSERT_TRUE(first);
    append_range(*first, 0, 6);
    auto ref = snapshot(*first, to_bytes("six"));
    ASSERT_TRUE(ref.ok());
  }
  // Another node, the same key: it picks up the head in PAST.
  auto second = writer(m[7], small_clusters(4));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->head().record_count, 6u);
  EXPECT_EQ(second->head().version, 7u);
  ASSERT_TRUE(second->head().snapshot.has_value());
  append_range(*second, 6, 13);
  auto r = reader(m[14]);
  auto all = since(*r, 0);
  ASSERT_TRUE(all.ok()) << describe(all);
  EXPECT_EQ(*all, expected(0, 13));
  auto snap = latest_snapshot(*r);
  ASSERT_TRUE(snap.ok()) << describe(snap);
  EXPECT_EQ(snap->covers, 6u);

  // The log is not encrypted: a writer configured to encrypt it is refused.
  LogConfig encrypted = small_clusters(4);
  encrypted.encrypt = true;
  auto wrong = open_writer(m[8], encrypted, key_.private_key);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, PostErrc::kBadOptions) << wrong.error().to_string();
}

TEST_F(LogRing, AReaderRefusesARolledBackOrForkedHead) {
  auto m = members();
  auto w = writer(m[2], small_clusters(4));
  ASSERT_TRUE(w);
  append_range(*w, 0, 5);
  const past::Block old_head = stored_head();
  ASSERT_EQ(old_head.timestamp, 5u);
  append_range(*w, 5, 7);

  auto r = reader(m[11]);
  auto seen = refresh(*r);
  ASSERT_TRUE(seen.ok()) << describe(seen);
  EXPECT_EQ(seen->version, 7u);

  // Every replica rolled back to version 5 (a validly signed, older head).
  overwrite_replicas(head_handle(), old_head.encoded);
  auto rolled = since(*r, 0);
  ASSERT_FALSE(rolled.ok());
  EXPECT_EQ(rolled.error().code, PostErrc::kRolledBack) << rolled.error().to_string();
  // A reader that never saw the newer head cannot tell, and reads the five records.
  auto fresh = reader(m[13]);
  auto five = since(*fresh, 0);
  ASSERT_TRUE(five.ok()) << describe(five);
  EXPECT_EQ(*five, expected(0, 5));

  // Fed directly: the older head is refused, the one already seen is fine.
  auto direct = r->accept_head(old_head);
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.error().code, PostErrc::kRolledBack);
  EXPECT_EQ(r->last_head().version, 7u);

  // The key holder signs a second, different version 7: a fork.
  LogHead forged = r->last_head();
  forged.partial.plain.back() = to_bytes("rewritten history");
  auto fork = past::make_public_key_block(key_.private_key, 7, encode_head(forged));
  ASSERT_TRUE(fork.ok());
  auto forked = r->accept_head(*fork);
  ASSERT_FALSE(forked.ok());
  EXPECT_EQ(forked.error().code, PostErrc::kForkedLog) << forked.error().to_string();

  // A newer version that drops records.
  LogHead shrunk = r->last_head();
  shrunk.record_count -= 1;
  shrunk.partial_count -= 1;
  shrunk.partial.plain.pop_back();
  auto shrink = past::make_public_key_block(key_.private_key, 8, encode_head(shrunk));
  ASSERT_TRUE(shrink.ok());
  auto shrank = r->accept_head(*shrink);
  ASSERT_FALSE(shrank.ok());
  EXPECT_EQ(shrank.error().code, PostErrc::kBrokenChain) << shrank.error().to_string();
  EXPECT_EQ(r->stats().refused, 4u);

  // A head signed by another key is no head of this log.
  auto other = crypto::generate_signing_key();
  auto alien = past::make_public_key_block(other.private_key, 9, encode_head(r->last_head()));
  ASSERT_TRUE(alien.ok());
  EXPECT_FALSE(r->accept_head(*alien).ok());
}

TEST_F(LogRing, InconsistentClustersFromTheKeyHolderBreakTheChain) {
  auto m = members();
  auto w = writer(m[4], small_clusters(4));
  ASSERT_TRUE(w);
  append_range(*w, 0, 9);  // clusters [0,4) [4,8), partial [8,9)
  const LogHead honest = w->head();
  ASSERT_TRUE(honest.tip.has_value());

  // Publishes a head version `v` whose tip is `cluster` (inserted first).
  auto publish = [&](const LogCluster& cluster, std::uint64_t v) {
    past::Block block = past::make_content_block(encode_cluster(cluster));
    insert(m[5], block);
    LogHead head = honest;
    head.tip = past::handle_of(block);
    auto signed_head = past::make_public_key_block(key_.private_key, v, encode_head(head));
    ASSERT_TRUE(signed_head.ok());
    insert(m[5], *signed_head);
  };
  auto expect_broken = [&](const char* what) {
    SCOPED_TRACE(what);
    auto r = reader(m[15]);
    auto read = since(*r, 0);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, PostErrc::kBrokenChain) << read.error().to_string();
  };

  // A tip whose count does not reach the head's chain: records [4,7) where [4,8) belong.
  LogCluster short_tip;
  short_tip.log_public_key = key_.public_key;
  short_tip.prev = std::nullopt;
  short_tip.first_index = 4;
  short_tip.record_count = 3;
  short_tip.records.plain = {record(4), record(5), record(6)};
  // The real first cluster's handle: the honest tip's prev.
  auto tip_bytes =
      ring_->store(ring_->holders(*honest.tip).at(0))->get(past::BlockKey{*honest.tip});
  ASSERT_TRUE(tip_bytes.ok() && *tip_bytes);
  auto honest_tip = decode_cluster(past::decode_block(**tip_bytes)->content);
  ASSERT_TRUE(honest_tip.ok());
  short_tip.prev = honest_tip->prev;
  publish(short_tip, honest.version + 1);
  expect_broken("short tip");

  // A tip that fits, whose prev link names a cluster ending elsewhere (the tip itself, [4,8),
  // where [0,4) belongs).
  LogCluster bad_link = *honest_tip;
  bad_link.prev = honest.tip;
  publish(bad_link, honest.version + 2);
  expect_broken("prev link to the wrong cluster");

  // A cluster of another log in this log's chain.
  LogCluster foreign = *honest_tip;
  foreign.log_public_key = crypto::generate_signing_key().public_key;
  publish(foreign, honest.version + 3);
  expect_broken("cluster of another log");

  // The honest head again (a newer version of it): the log reads.
  auto again =
      past::make_public_key_block(key_.private_key, honest.version + 4, encode_head(honest));
  ASSERT_TRUE(again.ok());
  insert(m[5], *again);
  auto r = reader(m[15]);
  auto read = since(*r, 0);
  ASSERT_TRUE(read.ok()) << describe(read);
  EXPECT_EQ(*read, expected(0, 9));
}

TEST_F(LogRing, CorruptedClusterReplicasAreRoutedAroundOrReported) {
  auto m = members();
  auto w = writer(m[6], small_clusters(4));
  ASSERT_TRUE(w);
  append_range(*w, 0, 10);
  const Id tip = *w->head().tip;
  auto holders = ring_->holders(tip);
  ASSERT_EQ(holders.size(), static_cast<std::size_t>(kReplicas));
  auto held = ring_->store(holders[0])->get(past::BlockKey{tip});
  ASSERT_TRUE(held.ok() && *held);
  Bytes content = past::decode_block(**held)->content;
  content[content.size() / 2] ^= 0x10;
  const Bytes corrupted = past::make_content_block(content).encoded;

  // One bad replica: PAST refuses it and takes another.
  ASSERT_TRUE(ring_->store(holders[0])->put(past::BlockKey{tip}, corrupted).ok());
  auto r = reader(m[12]);
  auto ok = since(*r, 0);
  ASSERT_TRUE(ok.ok()) << describe(ok);
  EXPECT_EQ(*ok, expected(0, 10));

  // Every replica bad: an error naming the cluster, never wrong records.
  overwrite_replicas(tip, corrupted);
  auto r2 = reader(m[13]);
  auto bad = since(*r2, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, past::PastErrc::kNotFound) << bad.error().to_string();
  EXPECT_NE(bad.error().message.find(tip.short_hex()), std::string::npos)
      << bad.error().to_string();
  // Records in the head's partial cluster still read.
  auto newest = since(*r2, 8);
  ASSERT_TRUE(newest.ok()) << describe(newest);
  EXPECT_EQ(*newest, expected(8, 10));
}

TEST_F(LogRing, AnEncryptedLogOpensForItsReadersOnly) {
  auto m = members();
  auto alice = crypto::generate_agreement_key();
  auto bob = crypto::generate_agreement_key();
  auto carol = crypto::generate_agreement_key();
  LogConfig c = small_clusters(3);
  c.encrypt = true;
  c.readers = {alice.public_key, bob.public_key};
  auto w = writer(m[1], c);
  ASSERT_TRUE(w);
  append_range(*w, 0, 7);  // clusters [0,3) [3,6), partial [6,7)
  const Bytes state = to_bytes("the secret folder state");
  ASSERT_TRUE(snapshot(*w, state).ok());

  for (const auto* who : {&alice, &bob}) {
    auto r = reader(m[9], who->private_key);
    auto all = since(*r, 0);
    ASSERT_TRUE(all.ok()) << describe(all);
    EXPECT_EQ(*all, expected(0, 7));
    auto snap = latest_snapshot(*r);
    ASSERT_TRUE(snap.ok()) << describe(snap);
    EXPECT_EQ(snap->blob, state);
  }
  auto outsider = reader(m[10], carol.private_key);
  auto refused = since(*outsider, 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, PostErrc::kNotALogReader) << refused.error().to_string();
  auto keyless = reader(m[10]);
  auto refused2 = backwards(*keyless, 1);
  ASSERT_FALSE(refused2.ok());
  EXPECT_EQ(refused2.error().code, PostErrc::kNotALogReader) << refused2.error().to_string();

  // No stored block holds a record in the clear.
  for (SimNode n : members()) {
    ring_->store(n)->for_each([&](const past::BlockKey& key, std::uint64_t) {
      auto bytes = ring_->store(n)->get(key);
      EXPECT_TRUE(bytes.ok() && *bytes);
      const std::string s(reinterpret_cast<const char*>((*bytes)->data()), (*bytes)->size());
      EXPECT_EQ(s.find("record "), std::string::npos) << "node " << n;
      EXPECT_EQ(s.find("secret folder"), std::string::npos) << "node " << n;
      return true;
    });
  }

  // A restarted writer (it derives the records key from the log key) continues the log.
  w.reset();
  auto again = writer(m[2], c);
  ASSERT_TRUE(again);
  append_range(*again, 7, 8);
  auto r = reader(m[11], alice.private_key);
  auto all = since(*r, 0);
  ASSERT_TRUE(all.ok()) << describe(all);
  EXPECT_EQ(*all, expected(0, 8));
}

// ---- pure functions -----------------------------------------------------------------------

TEST(LogFormat, HeadsRoundTripAndInconsistentHeadsAreRefused) {
  LogHead head;
  head.record_count = 10;
  head.tip = Id::hash_of(to_bytes("tip"));
  head.partial_count = 2;
  head.partial.plain = {to_bytes("a"), to_bytes("b")};
  auto decoded = decode_head(encode_head(head));
  ASSERT_TRUE(decoded.ok()) << describe(decoded);
  EXPECT_EQ(decoded->record_count, 10u);
  EXPECT_EQ(decoded->tip, head.tip);
  EXPECT_EQ(decoded->partial.plain, head.partial.plain);
  EXPECT_EQ(decoded->chain_records(), 8u);

  auto refused = [](LogHead h) {
    auto r = decode_head(encode_head(h));
    return !r.ok() && r.error().code == make_error_code(PostErrc::kMalformedLogHead);
  };
  LogHead no_tip = head;
  no_tip.tip.reset();
  EXPECT_TRUE(refused(no_tip));
  LogHead count_mismatch = head;
  count_mismatch.partial_count = 3;
  EXPECT_TRUE(refused(count_mismatch));
  LogHead more_partial_than_records = head;
  more_partial_than_records.record_count = 1;
  more_partial_than_records.tip.reset();
  EXPECT_TRUE(refused(more_partial_than_records));
  LogHead snapshot_ahead = head;
  snapshot_ahead.snapshot = SnapshotRef{Id{}, {}, {}, 11, 0};
  EXPECT_TRUE(refused(snapshot_ahead));
  LogHead big_record = head;
  big_record.partial.plain[0] = Bytes(kMaxRecordBytes + 1, 0);
  EXPECT_TRUE(refused(big_record));
  LogHead empty_tip_fine;
  EXPECT_TRUE(decode_head(encode_head(empty_tip_fine)).ok());
  EXPECT_FALSE(decode_head(to_bytes("\xff\xff not a head")).ok());
}

TEST(LogFormat, ClustersRoundTripAndInconsistentClustersAreRefused) {
  const Bytes log_key(32, 7);
  LogCluster c;
  c.log_public_key = log_key;
  c.prev = Id::hash_of(to_bytes("prev"));
  c.first_index = 4;
  c.record_count = 2;
  c.records.plain = {to_bytes("x"), to_bytes("y")};
  auto d = decode_cluster(encode_cluster(c));
  ASSERT_TRUE(d.ok()) << describe(d);
  EXPECT_EQ(d->prev, c.prev);
  EXPECT_TRUE(check_cluster_link(*d, log_key, 6).ok());
  auto link = check_cluster_link(*d, log_key, 7);
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code, PostErrc::kBrokenChain);
  EXPECT_FALSE(check_cluster_link(*d, Bytes(32, 8), 6).ok());

  auto refused = [](LogCluster x) {
    auto r = decode_cluster(encode_cluster(x));
    return !r.ok() && r.error().code == make_error_code(PostErrc::kMalformedCluster);
  };
  LogCluster first_with_prev = c;
  first_with_prev.first_index = 0;
  EXPECT_TRUE(refused(first_with_prev));
  LogCluster later_without_prev = c;
  later_without_prev.prev.reset();
  EXPECT_TRUE(refused(later_without_prev));
  LogCluster miscounted = c;
  miscounted.record_count = 3;
  EXPECT_TRUE(refused(miscounted));
  LogCluster empty = c;
  empty.record_count = 0;
  empty.records.plain.clear();
  EXPECT_TRUE(refused(empty));
  LogCluster short_key = c;
  short_key.log_public_key = Bytes(31, 7);
  EXPECT_TRUE(refused(short_key));
}

TEST(LogFormat, SealedRecordsOpenOnlyAtTheirPlaceUnderTheirKey) {
  auto log = crypto::generate_signing_key();
  auto key = derive_records_key(log.private_key);
  ASSERT_TRUE(key.ok());
  const std::vector<Bytes> records = {to_bytes("one"), to_bytes("two")};
  auto sealed = seal_records(records, *key, log.public_key, 10);
  ASSERT_TRUE(sealed.ok());
  auto opened = open_records(*sealed, &*key, log.public_key, 10, 2);
  ASSERT_TRUE(opened.ok()) << describe(opened);
  EXPECT_EQ(*opened, records);
  auto moved = open_records(*sealed, &*key, log.public_key, 11, 2);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, PostErrc::kDecryptFailed);
  auto miscounted = open_records(*sealed, &*key, log.public_key, 10, 3);
  ASSERT_FALSE(miscounted.ok());
  EXPECT_EQ(miscounted.error().code, PostErrc::kMalformedCluster);
  EXPECT_FALSE(open_records(*sealed, nullptr, log.public_key, 10, 2).ok());

  // Per-log keys: one user, two names, two different keys; the same name, the same key.
  auto user = crypto::generate_signing_key();
  auto inbox = derive_log_key(user.private_key, "inbox");
  auto folders = derive_log_key(user.private_key, "folders");
  ASSERT_TRUE(inbox.ok() && folders.ok());
  EXPECT_NE(*inbox, *folders);
  EXPECT_EQ(*inbox, *derive_log_key(user.private_key, "inbox"));
  EXPECT_FALSE(derive_log_key(Bytes(31, 0), "inbox").ok());
}

TEST(LogFormat, ConfigBoundsAreChecked) {
  EXPECT_TRUE(check_log_config({}).ok());
  LogConfig zero;
  zero.cluster_records = 0;
  EXPECT_FALSE(check_log_config(zero).ok());
  LogConfig huge;
  huge.cluster_bytes = kMaxClusterBytes + 1;
  EXPECT_FALSE(check_log_config(huge).ok());
  LogConfig readers_unencrypted;
  readers_unencrypted.readers = {Bytes(32, 1)};
  EXPECT_FALSE(check_log_config(readers_unencrypted).ok());
  LogConfig bad_reader;
  bad_reader.encrypt = true;
  bad_reader.readers = {Bytes(31, 1)};
  EXPECT_FALSE(check_log_config(bad_reader).ok());
}

}  // namespace
}  // namespace post::services
