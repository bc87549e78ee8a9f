// LevelDB behind KeyValueStore: one database per plugin, in <dir>/<plugin name>.
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "host/plugin/errors.h"
#include "host/plugin/key_value_store.h"

namespace post::plugin {
namespace {

class LevelDbKeyValueStore final : public KeyValueStore {
 public:
  explicit LevelDbKeyValueStore(std::unique_ptr<leveldb::DB> db) : db_(std::move(db)) {}

  Result<std::optional<std::string>> get(std::string_view key) override {
    std::string value;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), to_slice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return make_error(PluginErrc::kIoError, "key-value get: " + s.ToString());
    return std::optional<std::string>(std::move(value));
  }
  Status put(std::string_view key, std::string_view value) override {
    leveldb::Status s = db_->Put(write_options(), to_slice(key), to_slice(value));
    if (!s.ok()) return make_error(PluginErrc::kIoError, "key-value put: " + s.ToString());
    return ok_status();
  }
  Status remove(std::string_view key) override {
    leveldb::Status s = db_->Delete(write_options(), to_slice(key));
    if (!s.ok()) return make_error(PluginErrc::kIoError, "key-value delete: " + s.ToString());
    return ok_status();
  }

 private:
  static leveldb::Slice to_slice(std::string_view s) { return {s.data(), s.size()}; }
  // A write is on disk (fsync) when put or remove returns: plugins use the store for the
  // little state that must survive a crash, not for bulk data.
  static leveldb::WriteOptions write_options() {
    leveldb::WriteOptions o;
    o.sync = true;
    return o;
  }

  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

KeyValueStoreFactory leveldb_store_factory(std::filesystem::path dir) {
  return [dir = std::move(dir)](
             const std::string& plugin_name) -> Result<std::unique_ptr<KeyValueStore>> {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return make_error(PluginErrc::kIoError,
                        "cannot create " + dir.string() + ": " + ec.message());
    }
    leveldb::Options options;
    options.create_if_missing = true;
    leveldb::DB* raw = nullptr;
    std::string path = (dir / plugin_name).string();
    leveldb::Status s = leveldb::DB::Open(options, path, &raw);
    if (!s.ok()) {
      return make_error(PluginErrc::kIoError,
                        "cannot open key-value store " + path + ": " + s.ToString());
    }
    return std::unique_ptr<KeyValueStore>(
        std::make_unique<LevelDbKeyValueStore>(std::unique_ptr<leveldb::DB>(raw)));
  };
}

}  // namespace post::plugin
