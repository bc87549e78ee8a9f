// KeyValueStore: the small durable namespace each plugin gets (post_host_api.kv_*). One
// store per plugin name, kept by the PluginManager across reloads of that plugin.
// Implementations: LevelDbKeyValueStore (a LevelDB database in a directory of the node's
// data dir) and MemoryKeyValueStore (for tests).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "host/core/result.h"

namespace post::plugin {

// Keys and values are byte strings; these bounds keep one plugin from filling the disk
// through a single call. Values over a few hundred KiB belong in the secure store.
inline constexpr std::size_t kMaxKvKeyBytes = 1024;
inline constexpr std::size_t kMaxKvValueBytes = 1 << 20;

class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  // The value of `key`, or nullopt when absent. Thread-safe, like every method here.
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  // Sets `key` to `value`, durably once it returns ok.
  virtual Status put(std::string_view key, std::string_view value) = 0;
  // Removes `key`; absent keys are not an error.
  virtual Status remove(std::string_view key) = 0;
};

// Opens the store of the plugin named by its argument.
using KeyValueStoreFactory =
    std::function<Result<std::unique_ptr<KeyValueStore>>(const std::string& plugin_name)>;

// A store kept elsewhere (shared_ptr), behind the unique_ptr a KeyValueStoreFactory returns,
// so that its owner and the plugin read the same store.
class SharedKeyValueStore final : public KeyValueStore {
 public:
  explicit SharedKeyValueStore(std::shared_ptr<KeyValueStore> store) : store_(std::move(store)) {}
  Result<std::optional<std::string>> get(std::string_view key) override { return store_->get(key); }
  Status put(std::string_view key, std::string_view value) override {
    return store_->put(key, value);
  }
  Status remove(std::string_view key) override { return store_->remove(key); }

 private:
  std::shared_ptr<KeyValueStore> store_;
};

class MemoryKeyValueStore final : public KeyValueStore {
 public:
  Result<std::optional<std::string>> get(std::string_view key) override;
  Status put(std::string_view key, std::string_view value) override;
  Status remove(std::string_view key) override;

 private:
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> entries_;
};

// A factory of in-memory stores that keeps each plugin's store for the factory's lifetime,
// so a test sees a plugin's data survive its reload and unload.
class MemoryKeyValueStores {
 public:
  KeyValueStoreFactory factory();
  // The store of `plugin_name`, created empty on first use.
  std::shared_ptr<MemoryKeyValueStore> store(const std::string& plugin_name);

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemoryKeyValueStore>> stores_;
};

// A factory of LevelDB stores, each plugin's in `<dir>/<plugin name>`.
KeyValueStoreFactory leveldb_store_factory(std::filesystem::path dir);

}  // namespace post::plugin
