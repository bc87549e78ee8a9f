// Durable writes to block storage: the baseline that PAST inserts are compared with.
//
//   BM_LevelDbSyncedPut/S    raw LevelDB (default options), one synced Put of an S-byte value
//                            under a random 34-byte key per iteration.
//   BM_BlockStorePut/S       LevelDbBlockStore::put of the same sizes and keys: the raw put
//                            plus the wrapper's lookup of the old size and its meta record.
//
// Values are random (incompressible, like encrypted blocks). Times are wall-clock (synced
// writes wait for the disk, not the CPU). The database lives in a fresh directory under
// $POST_BENCH_DIR (default: the system temp directory), removed afterwards; point it at the
// disk you want measured, since a tmpfs makes every sync free.
#include <stdlib.h>

#include <benchmark/benchmark.h>
#include <leveldb/db.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "host/core/crypto.h"
#include "host/core/random.h"
#include "host/past/block_store.h"

namespace post::past {
namespace {

// Benchmarks must not measure an error path: stop loudly if a step fails.
[[noreturn]] void fail(const std::string& what) {
  std::cerr << "leveldb_bench: " << what << '\n';
  std::abort();
}

// A fresh directory for one benchmark run, removed with everything in it when done.
class ScratchDir {
 public:
  ScratchDir() {
    const char* parent = std::getenv("POST_BENCH_DIR");
    std::string pattern =
        (parent ? std::filesystem::path(parent) : std::filesystem::temp_directory_path()) /
        "leveldb_bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) fail("cannot create a directory like " + pattern);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

BlockKey random_key(Rng& rng) {
  return BlockKey{rng.random_id(), static_cast<std::uint16_t>(rng.next())};
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_LevelDbSyncedPut(benchmark::State& state) {
  ScratchDir dir;
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir.db(), &raw);
  if (!s.ok()) fail(s.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  leveldb::WriteOptions synced;
  synced.sync = true;
  const std::string value =
      to_string(crypto::random_bytes(static_cast<std::size_t>(state.range(0))));
  Rng rng(1);
  for (auto _ : state) {
    auto key = random_key(rng).encode();
    s = db->Put(synced, leveldb::Slice(reinterpret_cast<const char*>(key.data()), key.size()),
                value);
    if (!s.ok()) fail(s.ToString());
  }
  report(state);
}
BENCHMARK(BM_LevelDbSyncedPut)->Arg(1 << 10)->Arg(64 << 10)->UseRealTime();

void BM_BlockStorePut(benchmark::State& state) {
  ScratchDir dir;
  auto store = LevelDbBlockStore::open(dir.db());
  if (!store.ok()) fail(store.error().to_string());
  const Bytes value = crypto::random_bytes(static_cast<std::size_t>(state.range(0)));
  Rng rng(1);
  for (auto _ : state) {
    auto status = (*store)->put(random_key(rng), value);
    if (!status.ok()) fail(status.error().to_string());
  }
  report(state);
}
BENCHMARK(BM_BlockStorePut)->Arg(1 << 10)->Arg(64 << 10)->UseRealTime();

}  // namespace
}  // namespace post::past
