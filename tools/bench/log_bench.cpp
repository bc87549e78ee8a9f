// Single-writer logs (host/post/log.h): the CPU cost of what every append and every read
// does, and whole appends and reads on a simulated 16-node PAST ring (k = 3).
//
//   head:     build a head holding a partial cluster of `n` 100-byte records, sign it as a PAST
//             public-key block, then open it as a reader does (signature check and decode);
//             every append writes one head
//   cluster:  encode a full cluster of 64 100-byte records and decode it again, plain and
//             sealed (AES-256-GCM under the records key)
//   ring:     LogWriter::append of 100-byte records (clusters of 64) and LogReader::read_since
//             of the whole log, in wall-clock time for the whole simulated ring (every node's
//             PAST and Pastry work runs in this one thread); counters give virtual time
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "host/core/crypto.h"
#include "host/post/log.h"
#include "tools/post-sim/past_scenario.h"

namespace post::services {
namespace {

using namespace std::chrono_literals;

template <class T>
T must(Result<T> r) {
  if (!r.ok()) {
    std::cerr << "log_bench: " << r.error().to_string() << '\n';
    std::abort();
  }
  return std::move(r).value();
}

constexpr std::size_t kRecordBytes = 100;

std::vector<Bytes> records(std::size_t n) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(crypto::random_bytes(kRecordBytes));
  return out;
}

void BM_HeadSignAndOpen(benchmark::State& state) {
  const auto key = crypto::generate_signing_key();
  LogHead head;
  head.record_count = 1000 + static_cast<std::uint64_t>(state.range(0));
  head.tip = Id::hash_of(as_bytes("tip"));
  head.partial_count = static_cast<std::uint64_t>(state.range(0));
  head.partial.plain = records(static_cast<std::size_t>(state.range(0)));
  std::uint64_t version = 1;
  for (auto _ : state) {
    auto block = must(past::make_public_key_block(key.private_key, version++, encode_head(head)));
    benchmark::DoNotOptimize(must(open_head(block, key.public_key)));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ClusterEncodeDecode(benchmark::State& state) {
  const bool sealed = state.range(0) != 0;
  const auto key = crypto::generate_signing_key();
  const ContentKey records_key = must(derive_records_key(key.private_key));
  const auto list = records(64);
  for (auto _ : state) {
    LogCluster c;
    c.log_public_key = key.public_key;
    c.prev = Id::hash_of(as_bytes("prev"));
    c.first_index = 64;
    c.record_count = list.size();
    if (sealed) {
      c.records = must(seal_records(list, records_key, key.public_key, c.first_index));
    } else {
      c.records.plain = list;
    }
    auto block = past::make_content_block(encode_cluster(c));
    auto d = must(decode_cluster(block.content));
    benchmark::DoNotOptimize(
        must(open_records(d.records, &records_key, key.public_key, d.first_index, 64)));
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetBytesProcessed(state.iterations() * 64 * static_cast<std::int64_t>(kRecordBytes));
}

// A 16-node ring with a writer on one node and a reader on another.
struct Ring {
  std::unique_ptr<sim::PastRing> ring;
  std::map<sim::SimNode, std::unique_ptr<SecureStore>> stores;
  std::unique_ptr<LogWriter> writer;
  std::unique_ptr<LogReader> reader;

  Ring() {
    sim::SimRingConfig rc;
    rc.nodes = 16;
    rc.seed = 5;
    rc.pastry.leaf_set_size = 8;
    past::PastConfig pc;
    pc.replicas = 3;
    ring = std::make_unique<sim::PastRing>(rc, pc);
    ring->build();
    ring->ring().run_for(20s);
    auto m = ring->ring().members();
    for (auto n : {m[1], m[9]}) {
      stores[n] = must(SecureStore::create(*ring->past(n), ring->ring().network().clock(n), {}));
    }
    const auto key = crypto::generate_signing_key();
    LogConfig config;
    config.cluster_records = 64;
    auto w = wait<Result<std::unique_ptr<LogWriter>>>([&](auto done) {
      LogWriter::open(*ring->past(m[1]), *stores[m[1]], ring->ring().network().clock(m[1]),
                      key.private_key, config, done);
    });
    writer = must(std::move(w));
    reader = std::make_unique<LogReader>(*ring->past(m[9]), *stores[m[9]], key.public_key);
  }

  template <class T, class Op>
  T wait(Op op) {
    std::optional<T> out;
    op([&](T r) { out.emplace(std::move(r)); });
    while (!out && ring->ring().network().step()) {
    }
    if (!out) std::abort();
    return std::move(*out);
  }
};

void BM_RingAppend(benchmark::State& state) {
  Ring r;
  const Bytes data = crypto::random_bytes(kRecordBytes);
  const auto start = r.ring->ring().network().now();
  for (auto _ : state) {
    must(r.wait<Result<std::uint64_t>>([&](auto done) { r.writer->append(data, done); }));
  }
  const double virtual_ms =
      std::chrono::duration<double, std::milli>(r.ring->ring().network().now() - start).count();
  state.SetItemsProcessed(state.iterations());
  state.counters["virtual_ms_per_append"] = virtual_ms / static_cast<double>(state.iterations());
}

void BM_RingReadSince(benchmark::State& state) {
  Ring r;
  const Bytes data = crypto::random_bytes(kRecordBytes);
  const auto n = static_cast<std::uint64_t>(state.range(0));
  for (std::uint64_t i = 0; i < n; ++i) {
    must(r.wait<Result<std::uint64_t>>([&](auto done) { r.writer->append(data, done); }));
  }
  for (auto _ : state) {
    auto all = must(
        r.wait<Result<std::vector<LogRecord>>>([&](auto done) { r.reader->read_since(0, done); }));
    if (all.size() != n) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_HeadSignAndOpen)->Arg(0)->Arg(32);
BENCHMARK(BM_ClusterEncodeDecode)->Arg(0)->Arg(1);
BENCHMARK(BM_RingAppend)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingReadSince)->Arg(1024)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace post::services
