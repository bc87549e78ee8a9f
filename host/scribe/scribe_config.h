// ScribeConfig: the settings of a node's Scribe layer (postd's `scribe:` section; see
// config/node.example.yaml).
#pragma once

#include <chrono>
#include <cstddef>

#include "host/net/clock.h"

namespace post::scribe {

using net::Duration;

// Largest payload a publication or an anycast carries (the admin endpoint and applications
// refuse bigger ones; larger data goes into PAST and its handle into the message).
inline constexpr std::size_t kMaxPayloadBytes = 1024 * 1024;

struct ScribeConfig {
  // Parents tell their children this often that they still forward the group.
  Duration heartbeat_interval = std::chrono::seconds(10);
  // A child that heard nothing from its parent this long subscribes again.
  Duration parent_timeout = std::chrono::seconds(30);
  // A subscription not acknowledged this long is sent again.
  Duration subscribe_timeout = std::chrono::seconds(10);
  // How many recent publications per group are remembered to drop duplicates.
  std::size_t dedupe_window = 1024;
  // Most children a node keeps per group; one more and it pushes its farthest child (by
  // measured RTT) down to one of the others (the paper's bottleneck remover). 0: no limit.
  std::size_t max_children = 64;
  // An anycast not answered this long fails.
  Duration anycast_timeout = std::chrono::seconds(30);
  // An anycast that visited this many nodes gives up (a bound on its message size).
  std::size_t max_anycast_visits = 4096;

  friend bool operator==(const ScribeConfig&, const ScribeConfig&) = default;
};

}  // namespace post::scribe
