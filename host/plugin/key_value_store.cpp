#include "host/plugin/key_value_store.h"

namespace post::plugin {

Result<std::optional<std::string>> MemoryKeyValueStore::get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryKeyValueStore::put(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  entries_.insert_or_assign(std::string(key), std::string(value));
  return ok_status();
}

Status MemoryKeyValueStore::remove(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
  return ok_status();
}

KeyValueStoreFactory MemoryKeyValueStores::factory() {
  return [this](const std::string& plugin_name) -> Result<std::unique_ptr<KeyValueStore>> {
    return std::unique_ptr<KeyValueStore>(
        std::make_unique<SharedKeyValueStore>(store(plugin_name)));
  };
}

std::shared_ptr<MemoryKeyValueStore> MemoryKeyValueStores::store(const std::string& plugin_name) {
  std::lock_guard lock(mu_);
  auto& s = stores_[plugin_name];
  if (!s) s = std::make_shared<MemoryKeyValueStore>();
  return s;
}

}  // namespace post::plugin
