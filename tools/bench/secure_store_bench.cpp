// Throughput of the secure store's pure paths (host/post/object.h) against raw crypto over the
// same sizes, in one run, so the ratio is read off one table:
//
//   raw encode:  AES-256-GCM encrypt + SHA-256 of the plaintext (the baseline)
//   raw encode, two hashes: the same plus SHA-256 of the ciphertext: the least sealing can do,
//                since the PAST handle is a hash of the ciphertext
//   seal:        seal_object (pieces, headers, keys, handles, content-hash blocks), no network,
//                all blocks kept; and piece by piece, each block dropped once made, as
//                SecureStore::store does (they differ only for objects in chunks)
//   raw decode:  AES-256-GCM decrypt + SHA-256 of the plaintext
//   open:        open_object from sealed blocks in memory (tag, key and manifest checks)
//
// Sizes: 4 KiB, 64 KiB, 1 MiB (one piece each) and 16 MiB (16 chunks and a manifest).
// Bytes processed are object bytes, so every row's rate is in the same unit.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <utility>

#include "host/core/crypto.h"
#include "host/post/object.h"

namespace post::services {
namespace {

// Benchmarks must not measure an error path: stop loudly if a step fails.
template <class T>
T must(Result<T> r) {
  if (!r.ok()) {
    std::cerr << "secure_store_bench: " << r.error().to_string() << '\n';
    std::abort();
  }
  return std::move(r).value();
}

Bytes object_of(benchmark::State& state) {
  return crypto::random_bytes(static_cast<std::size_t>(state.range(0)));
}

void BM_RawEncode(benchmark::State& state) {
  const Bytes object = object_of(state);
  const Bytes key = crypto::random_bytes(crypto::kAesKeyBytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::sha256(object));
    benchmark::DoNotOptimize(crypto::aes_gcm_encrypt(key, kPieceNonce, object));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_RawEncodeTwoHashes(benchmark::State& state) {
  const Bytes object = object_of(state);
  const Bytes key = crypto::random_bytes(crypto::kAesKeyBytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::sha256(object));
    auto sealed = crypto::aes_gcm_encrypt(key, kPieceNonce, object);
    benchmark::DoNotOptimize(crypto::sha256(*sealed));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Seal(benchmark::State& state) {
  const Bytes object = object_of(state);
  for (auto _ : state) benchmark::DoNotOptimize(must(seal_object(object, {})));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// As SecureStore::store seals: one piece at a time, each released once made (there, once
// PAST has it), so memory stays at a piece or two whatever the object's size.
void BM_SealPieceByPiece(benchmark::State& state) {
  const Bytes object = object_of(state);
  for (auto _ : state) {
    ObjectSealer sealer = must(ObjectSealer::start(object, {}));
    while (!sealer.finished()) benchmark::DoNotOptimize(must(sealer.next()));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_RawDecode(benchmark::State& state) {
  const Bytes key = crypto::random_bytes(crypto::kAesKeyBytes);
  const Bytes sealed = must(crypto::aes_gcm_encrypt(key, kPieceNonce, object_of(state)));
  for (auto _ : state) {
    auto plaintext = crypto::aes_gcm_decrypt(key, kPieceNonce, sealed);
    benchmark::DoNotOptimize(crypto::sha256(*plaintext));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Open(benchmark::State& state) {
  const Bytes object = object_of(state);
  const SealedObject sealed = must(seal_object(object, {}));
  std::map<Id, past::Block> blocks;
  for (const auto& piece : sealed.pieces) blocks[piece.handle] = piece.block;
  // What PAST hands over: the block itself (a lookup returns it by value; the copy is PAST's,
  // not the secure store's, so it is not timed here).
  const BlockSource source = [&](const Id& handle) -> Result<past::Block> {
    return blocks.at(handle);
  };
  std::map<Id, const past::Block*> by_handle;
  for (const auto& [h, b] : blocks) by_handle[h] = &b;
  for (auto _ : state) {
    auto top = open_top(*by_handle.at(sealed.handle), sealed.key, {});
    if (auto* data = std::get_if<Bytes>(&*top)) {
      benchmark::DoNotOptimize(data->data());
      continue;
    }
    const Manifest& manifest = std::get<Manifest>(*top);
    Bytes out(manifest.object_bytes);
    for (const ChunkRef& chunk : manifest.chunks) {
      if (!open_chunk(*by_handle.at(chunk.handle), chunk, {}, out).ok()) std::abort();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  // The same object through open_object, once, to check the timed path opens what was sealed.
  if (must(open_object(sealed.handle, sealed.key, {}, source)) != object) std::abort();
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t size : {4 << 10, 64 << 10, 1 << 20, 16 << 20}) b->Arg(size);
}

BENCHMARK(BM_RawEncode)->Apply(sizes);
BENCHMARK(BM_RawEncodeTwoHashes)->Apply(sizes);
BENCHMARK(BM_Seal)->Apply(sizes);
BENCHMARK(BM_SealPieceByPiece)->Apply(sizes);
BENCHMARK(BM_RawDecode)->Apply(sizes);
BENCHMARK(BM_Open)->Apply(sizes);

}  // namespace
}  // namespace post::services
