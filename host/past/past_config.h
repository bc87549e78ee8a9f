// PastConfig: the settings of a node's PAST layer (postd's `past:` section; see
// config/node.example.yaml).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "host/net/clock.h"

namespace post::past {

using net::Duration;

struct PastConfig {
  // k: replicas of every block, on the k nodes numerically closest to its handle.
  int replicas = 3;
  // Most bytes of blocks this node keeps for others (its replicas); an insert that would
  // pass it is refused with PastErrc::kQuotaExceeded.
  std::uint64_t quota_bytes = std::uint64_t{1} << 30;
  // Most bytes of immutable blocks kept in the lookup cache (least recently used go first).
  std::uint64_t cache_bytes = 16 * 1024 * 1024;
  // How long a replica, or a node asked in maintenance, has to answer one request.
  Duration request_timeout = std::chrono::seconds(5);
  // How long an insert or a lookup may take in all before it fails with kTimeout.
  Duration insert_timeout = std::chrono::seconds(30);
  Duration lookup_timeout = std::chrono::seconds(30);
  // Replica maintenance runs this often, and this long after the leaf set changes.
  Duration maintenance_interval = std::chrono::seconds(60);
  Duration maintenance_delay = std::chrono::seconds(2);
  // Most handles one summary reply lists (the rest come in the next round).
  std::size_t max_summary_handles = 512;
  // Most block bytes in one fetch reply (and handles asked for in one fetch request).
  std::size_t max_fetch_bytes = 4 * 1024 * 1024;
  std::size_t max_fetch_handles = 64;

  friend bool operator==(const PastConfig&, const PastConfig&) = default;
};

}  // namespace post::past
