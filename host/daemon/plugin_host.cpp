#include "host/daemon/plugin_host.h"

#include <algorithm>

#include "host/core/errors.h"
#include "host/core/log.h"
#include "host/plugin/errors.h"

namespace post::daemon {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("plugin");
  return l;
}

// The configuration with its plugin part left out, to tell whether an edit changed more.
NodeConfig without_plugins(NodeConfig c) {
  c.plugins.clear();
  return c;
}

}  // namespace

PluginHost::PluginHost(boost::asio::io_context& io, const NodeConfig& config,
                       plugin::PluginManagerOptions options)
    : io_(io), config_(config) {
  options.plugin_dirs = config.plugin_dirs;
  manager_ = std::make_unique<plugin::PluginManager>(io, std::move(options));
  for (const auto& e : config.plugins) entries_.push_back(Entry{e, e.enabled, {}});
}

PluginHost::~PluginHost() = default;

Status PluginHost::start() {
  for (auto& entry : entries_) {
    if (entry.enabled) (void)load(entry);
  }
  if (config_.plugin_watch.enabled) {
    POST_TRY_ASSIGN(
        watcher_, FileWatcher::create(io_, config_.plugin_watch.debounce,
                                      [this](const auto& changed) { on_files_changed(changed); }));
    rewatch();
  }
  return {};
}

std::vector<PluginStatus> PluginHost::status() const {
  std::vector<PluginStatus> out;
  for (const auto& entry : entries_) {
    PluginStatus s{entry.config.name, entry.config.path, entry.enabled,
                   manager_->find(entry.config.name), entry.error};
    if (s.info && !s.info->last_error.empty()) s.error = s.info->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

PluginHost::Entry* PluginHost::find(const std::string& name) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.config.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

plugin::PluginSpec PluginHost::spec(const Entry& entry) const {
  return plugin::PluginSpec{entry.config.name, entry.config.path, entry.config.config};
}

Status PluginHost::load(Entry& entry) {
  if (manager_->find(entry.config.name)) return {};
  Status s = manager_->load(spec(entry));
  if (s.ok()) {
    entry.error.clear();
    auto info = manager_->find(entry.config.name);
    logger()->info("plugin '{}' ({} {}) serving, from {}", entry.config.name, info->plugin_name,
                   info->version, entry.config.path.string());
  } else {
    entry.error = s.error().message;
    logger()->error("plugin '{}' ({}) not loaded: {}", entry.config.name, entry.config.location,
                    entry.error);
  }
  return s;
}

Status PluginHost::unload(Entry& entry) {
  entry.error.clear();
  if (!manager_->find(entry.config.name)) return {};
  POST_TRY(manager_->unload(entry.config.name));
  logger()->info("plugin '{}' unloaded", entry.config.name);
  return {};
}

Status PluginHost::refresh(Entry& entry) {
  if (!manager_->find(entry.config.name)) return load(entry);
  Status s = manager_->reload(spec(entry));
  auto info = manager_->find(entry.config.name);
  if (s.ok()) {
    entry.error.clear();
    logger()->info("plugin '{}' reloaded: {} {} serving", entry.config.name, info->plugin_name,
                   info->version);
  } else {
    logger()->error("plugin '{}': reload failed, {} keeps serving: {}", entry.config.name,
                    info ? info->version : std::string("nothing"), s.error().message);
  }
  return s;
}

Status PluginHost::reload(const std::string& name) {
  Entry* entry = find(name);
  if (entry == nullptr) {
    return make_error(plugin::PluginErrc::kNotLoaded,
                      "no plugin named '" + name + "' is configured");
  }
  if (!entry->enabled) {
    return make_error(plugin::PluginErrc::kNotLoaded,
                      "plugin '" + name + "' is disabled: enable it first");
  }
  return refresh(*entry);
}

Status PluginHost::enable(const std::string& name) {
  Entry* entry = find(name);
  if (entry == nullptr) {
    return make_error(plugin::PluginErrc::kNotLoaded,
                      "no plugin named '" + name + "' is configured");
  }
  entry->enabled = true;
  return load(*entry);
}

Status PluginHost::disable(const std::string& name) {
  Entry* entry = find(name);
  if (entry == nullptr) {
    return make_error(plugin::PluginErrc::kNotLoaded,
                      "no plugin named '" + name + "' is configured");
  }
  entry->enabled = false;
  return unload(*entry);
}

Status PluginHost::reload_config() {
  if (config_.source.empty()) {
    return make_error(CoreErrc::kIoError, "the configuration was not read from a file");
  }
  auto fresh = load_node_config(config_.source);
  if (!fresh.ok()) {
    config_error_ = fresh.error().message;
    logger()->error("configuration not applied: {}", config_error_);
    return fresh.error();
  }
  config_error_.clear();
  apply(*fresh);
  return {};
}

void PluginHost::apply(const NodeConfig& fresh) {
  if (without_plugins(fresh) != without_plugins(config_)) {
    logger()->warn(
        "{} changed outside its plugins: list; those changes take effect when postd "
        "restarts",
        config_.source.string());
  }
  // Entries gone from the file.
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool kept = std::any_of(fresh.plugins.begin(), fresh.plugins.end(),
                            [&](const PluginEntry& e) { return e.name == it->config.name; });
    if (kept) {
      ++it;
      continue;
    }
    if (auto s = unload(*it); !s.ok()) {
      logger()->error("plugin '{}': {}", it->config.name, s.error().message);
    }
    it = entries_.erase(it);
  }
  // New and changed entries, in the file's order.
  std::vector<Entry> next;
  for (const auto& e : fresh.plugins) {
    Entry* old = find(e.name);
    if (old == nullptr) {
      next.push_back(Entry{e, e.enabled, {}});
      applied_.insert(e.name);
      if (e.enabled) (void)load(next.back());
      continue;
    }
    Entry entry = std::move(*old);
    if (!(entry.config == e)) {
      applied_.insert(e.name);
      entry.config = e;
      entry.enabled = e.enabled;
      if (e.enabled) {
        (void)refresh(entry);
      } else if (auto s = unload(entry); !s.ok()) {
        logger()->error("plugin '{}': {}", e.name, s.error().message);
      }
    }
    next.push_back(std::move(entry));
  }
  entries_ = std::move(next);
  config_.plugins = fresh.plugins;
  rewatch();
}

void PluginHost::on_files_changed(const std::set<fs::path>& changed) {
  bool config_changed = false;
  std::vector<std::string> rebuilt;
  for (const auto& file : changed) {
    if (!config_.source.empty() && file == fs::absolute(config_.source).lexically_normal()) {
      config_changed = true;
      continue;
    }
    for (const auto& entry : entries_) {
      if (entry.enabled && entry.config.path == file) rebuilt.push_back(entry.config.name);
    }
  }
  applied_.clear();
  if (config_changed) {
    logger()->info("{} changed; applying its plugins: list", config_.source.string());
    (void)reload_config();
  }
  for (const auto& name : rebuilt) {
    Entry* entry = find(name);
    // An entry the configuration edit loaded or reloaded has its new file already.
    if (entry == nullptr || !entry->enabled || applied_.contains(name)) continue;
    logger()->info("plugin '{}': {} changed; reloading", name, entry->config.path.string());
    (void)refresh(*entry);
  }
}

void PluginHost::rewatch() {
  if (!watcher_) return;
  std::vector<fs::path> files;
  if (!config_.source.empty()) files.push_back(config_.source);
  for (const auto& entry : entries_) files.push_back(entry.config.path);
  if (auto s = watcher_->watch(files); !s.ok()) {
    logger()->warn("plugin files are not followed: {}", s.error().message);
  }
}

}  // namespace post::daemon
