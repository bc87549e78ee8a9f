// PluginMetrics: the counters and gauges plugins report (post_host_api.counter_add,
// gauge_set), named "<plugin>.<name>". Thread-safe. An exporter for operators comes later;
// for now postctl and tests read snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace post::plugin {

// The host keeps at most this many distinct metric names; names beyond it are
// dropped, so a plugin that names metrics after its input cannot grow the host without
// bound.
inline constexpr std::size_t kMaxMetricsPerHost = 10000;

class PluginMetrics {
 public:
  void counter_add(const std::string& name, std::uint64_t delta);
  void gauge_set(const std::string& name, double value);

  // The value of a counter or gauge, nullopt when never set.
  std::optional<std::uint64_t> counter(const std::string& name) const;
  std::optional<double> gauge(const std::string& name) const;

  std::map<std::string, std::uint64_t> counters() const;
  std::map<std::string, double> gauges() const;

 private:
  bool full_locked(const std::string& name) const;

  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> counters_;
  std::map<std::string, double> gauges_;
};

}  // namespace post::plugin
