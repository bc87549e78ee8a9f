// Bytes into the log decoders (host/post/log.h), as anyone who can store a block, or a writer
// with its own tools, could make them: nothing may crash, hang or read out of bounds, and what
// a decoder accepts must satisfy the invariants readers rely on and re-encode to the same
// record. The input is used three ways:
//   1. as a head's data (decode_head), and as a whole PAST block opened as a log head;
//   2. as a cluster's content (decode_cluster), checked against the chain position it claims;
//   3. as sealed records under a fixed key (open_records): never accepted without the tag.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "host/core/crypto.h"
#include "host/past/block.h"
#include "host/post/errors.h"
#include "host/post/log.h"

namespace {

using namespace post;
using namespace post::services;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_head(ByteView input) {
  auto head = decode_head(input);
  if (!head.ok()) return;
  check(head->partial_count <= head->record_count);
  check(head->tip.has_value() == (head->chain_records() > 0));
  if (!head->encrypted) {
    check(head->partial.plain.size() == head->partial_count);
    check(head->readers.empty());
    for (const Bytes& r : head->partial.plain) check(r.size() <= kMaxRecordBytes);
  }
  if (head->snapshot) check(head->snapshot->covers <= head->record_count);
  auto again = decode_head(encode_head(*head));
  check(again.ok());
  check(again->record_count == head->record_count && again->tip == head->tip &&
        again->partial_count == head->partial_count && again->encrypted == head->encrypted &&
        again->partial.plain == head->partial.plain &&
        again->partial.ciphertext == head->partial.ciphertext &&
        again->readers.size() == head->readers.size() &&
        again->snapshot.has_value() == head->snapshot.has_value());
}

void fuzz_cluster(ByteView input) {
  auto cluster = decode_cluster(input);
  if (!cluster.ok()) return;
  check(cluster->record_count >= 1 && cluster->record_count <= kMaxClusterRecords);
  check(cluster->prev.has_value() == (cluster->first_index > 0));
  if (!cluster->records.sealed) check(cluster->records.plain.size() == cluster->record_count);
  check(check_cluster_link(*cluster, cluster->log_public_key,
                           cluster->first_index + cluster->record_count)
            .ok());
  check(!check_cluster_link(*cluster, cluster->log_public_key, cluster->first_index).ok());
  auto again = decode_cluster(encode_cluster(*cluster));
  check(again.ok() && again->prev == cluster->prev && again->first_index == cluster->first_index &&
        again->record_count == cluster->record_count &&
        again->records.plain == cluster->records.plain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Bytes log_key(32, 0x42);
  static const ContentKey records_key = crypto::sha256(as_bytes("log_fuzz"));
  const ByteView input(data, size);

  fuzz_head(input);
  if (auto block = past::decode_block(input); block.ok()) {
    // Only a block signed by the log's key opens; the fuzzer cannot sign for log_key.
    check(!open_head(*block, log_key).ok());
  }
  fuzz_cluster(input);

  if (size >= crypto::kGcmNonceBytes) {
    LogRecords sealed;
    sealed.sealed = true;
    sealed.nonce.assign(data, data + crypto::kGcmNonceBytes);
    sealed.ciphertext.assign(data + crypto::kGcmNonceBytes, data + size);
    auto opened = open_records(sealed, &records_key, log_key, 0, 1);
    check(!opened.ok());
  }
  return 0;
}
