#include "host/core/log.h"

#include <mutex>
#include <vector>

#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "host/core/errors.h"

namespace post::log {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<spdlog::sink_ptr> sinks;
  std::vector<std::shared_ptr<spdlog::logger>> loggers;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n: %v";
};

// libprotobuf's own messages (e.g. "String field ... contains invalid UTF-8" while parsing
// what a peer sent) go to the "protobuf" logger at debug level: our decoders already report
// the failure, and a peer must not be able to write to a node's log at will. Fatal ones stay
// critical.
void protobuf_log(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  auto logger = get("protobuf");
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    logger->critical("{}:{}: {}", file, line, message);
  } else {
    logger->debug("{}:{}: {}", file, line, message);
  }
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;  // never destroyed: loggers may be used during static teardown
    reg->sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    google::protobuf::SetLogHandler(&protobuf_log);
    return reg;
  }();
  return *r;
}

void apply_pattern_locked(Registry& r) {
  for (auto& l : r.loggers) l->set_pattern(r.pattern);
}

}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& layer) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  for (auto& l : r.loggers) {
    if (l->name() == layer) return l;
  }
  auto logger = std::make_shared<spdlog::logger>(layer, r.sinks.begin(), r.sinks.end());
  logger->set_level(r.level);
  logger->set_pattern(r.pattern);
  logger->flush_on(spdlog::level::trace);  // a daemon log line is on disk when logged
  r.loggers.push_back(logger);
  return logger;
}

Status set_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return make_error(CoreErrc::kConfigBadValue,
                      "unknown log level '" + std::string(level) +
                          "' (trace, debug, info, warn, error, critical, off)");
  }
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.level = parsed;
  for (auto& l : r.loggers) l->set_level(parsed);
  return ok_status();
}

Status add_file_sink(const std::string& path) {
  spdlog::sink_ptr sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(CoreErrc::kIoError, "cannot open log file " + path + ": " + e.what());
  }
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.sinks.push_back(sink);
  for (auto& l : r.loggers) l->sinks().push_back(sink);
  apply_pattern_locked(r);
  return ok_status();
}

void set_node_tag(const std::string& tag) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + tag + "%n: %v";
  apply_pattern_locked(r);
}

}  // namespace post::log
