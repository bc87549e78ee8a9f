// Logging: one spdlog logger per layer ("core", "net", "pastry", ...), all writing to one
// shared sink (stderr by default) with one level. A log line says what happened and to
// whom: `dropped frame from 3fa2c1d0: size 9 MiB > 4 MiB limit`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "host/core/result.h"

namespace post::log {

// The logger of `layer`, created on first use. Thread-safe.
std::shared_ptr<spdlog::logger> get(const std::string& layer);

// Sets the level of every logger, present and future: trace, debug, info, warn, error,
// critical, off. Unknown names give CoreErrc::kConfigBadValue.
Status set_level(std::string_view level);

// Sends every logger's output to `path` (appending) as well as stderr.
Status add_file_sink(const std::string& path);

// A prefix that names the node in log lines, e.g. "[3fa2c1d0] ". Processes with one node
// (postd) set it once; the simulator leaves it empty and names nodes in messages.
void set_node_tag(const std::string& tag);

}  // namespace post::log
