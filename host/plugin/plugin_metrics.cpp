#include "host/plugin/plugin_metrics.h"

namespace post::plugin {

bool PluginMetrics::full_locked(const std::string& name) const {
  return counters_.size() + gauges_.size() >= kMaxMetricsPerHost && !counters_.contains(name) &&
         !gauges_.contains(name);
}

void PluginMetrics::counter_add(const std::string& name, std::uint64_t delta) {
  std::lock_guard lock(mu_);
  if (full_locked(name)) return;
  counters_[name] += delta;
}

void PluginMetrics::gauge_set(const std::string& name, double value) {
  std::lock_guard lock(mu_);
  if (full_locked(name)) return;
  gauges_[name] = value;
}

std::optional<std::uint64_t> PluginMetrics::counter(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> PluginMetrics::gauge(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = gauges_.find(name);
  if (it == gauges_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::uint64_t> PluginMetrics::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

std::map<std::string, double> PluginMetrics::gauges() const {
  std::lock_guard lock(mu_);
  return gauges_;
}

}  // namespace post::plugin
