// Throughput and latency of the crypto layer (host/core/crypto.h): signatures, sealing of
// notifications, bulk AES-256-GCM and SHA-256 over block-sized inputs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <utility>

#include "host/core/crypto.h"

namespace post::crypto {
namespace {

constexpr std::size_t kSignedMessageBytes = 64;
constexpr std::size_t kSealedMessageBytes = 1024;

// Benchmarks must not measure an error path: stop loudly if a setup step fails.
template <class T>
T must(Result<T> r) {
  if (!r.ok()) {
    std::cerr << "crypto_bench setup failed: " << r.error().to_string() << '\n';
    std::abort();
  }
  return std::move(r).value();
}

void BM_Ed25519Sign(benchmark::State& state) {
  const SigningKeyPair keys = generate_signing_key();
  const Bytes message = random_bytes(kSignedMessageBytes);
  for (auto _ : state) benchmark::DoNotOptimize(sign(keys.private_key, message));
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const SigningKeyPair keys = generate_signing_key();
  const Bytes message = random_bytes(kSignedMessageBytes);
  const Bytes signature = must(sign(keys.private_key, message));
  for (auto _ : state) benchmark::DoNotOptimize(verify(keys.public_key, message, signature));
}
BENCHMARK(BM_Ed25519Verify);

void BM_X25519Agreement(benchmark::State& state) {
  const AgreementKeyPair ours = generate_agreement_key();
  const AgreementKeyPair theirs = generate_agreement_key();
  for (auto _ : state) benchmark::DoNotOptimize(x25519(ours.private_key, theirs.public_key));
}
BENCHMARK(BM_X25519Agreement);

void BM_Seal(benchmark::State& state) {
  const AgreementKeyPair recipient = generate_agreement_key();
  const Bytes plaintext = random_bytes(kSealedMessageBytes);
  for (auto _ : state) benchmark::DoNotOptimize(seal(recipient.public_key, plaintext));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plaintext.size()));
}
BENCHMARK(BM_Seal);

void BM_Open(benchmark::State& state) {
  const AgreementKeyPair recipient = generate_agreement_key();
  const Bytes sealed = must(seal(recipient.public_key, random_bytes(kSealedMessageBytes)));
  for (auto _ : state) benchmark::DoNotOptimize(open(recipient.private_key, sealed));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kSealedMessageBytes));
}
BENCHMARK(BM_Open);

void BM_AesGcmEncrypt(benchmark::State& state) {
  const Bytes key = random_bytes(kAesKeyBytes);
  const Bytes nonce = random_bytes(kGcmNonceBytes);
  const Bytes plaintext = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(aes_gcm_encrypt(key, nonce, plaintext));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AesGcmEncrypt)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_AesGcmDecrypt(benchmark::State& state) {
  const Bytes key = random_bytes(kAesKeyBytes);
  const Bytes nonce = random_bytes(kGcmNonceBytes);
  const Bytes sealed =
      must(aes_gcm_encrypt(key, nonce, random_bytes(static_cast<std::size_t>(state.range(0)))));
  for (auto _ : state) benchmark::DoNotOptimize(aes_gcm_decrypt(key, nonce, sealed));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AesGcmDecrypt)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_Sha256(benchmark::State& state) {
  const Bytes data = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(sha256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_RandomBytes32(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(random_bytes(32));
}
BENCHMARK(BM_RandomBytes32);

}  // namespace
}  // namespace post::crypto
