#include "host/plugin/key_value_store.h"

#include <gtest/gtest.h>

#include "tests/unit/plugin/plugin_test_support.h"

namespace post::plugin {
namespace {

using testing::TempDir;

// The contract every KeyValueStore keeps.
void expect_store_contract(KeyValueStore& store) {
  auto missing = store.get("absent");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(store.put("k", std::string("v\0w", 3)).ok());
  auto got = store.get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value_or(""), std::string("v\0w", 3));

  ASSERT_TRUE(store.put("k", "replaced").ok());
  EXPECT_EQ(store.get("k")->value_or(""), "replaced");

  ASSERT_TRUE(store.remove("k").ok());
  EXPECT_FALSE(store.get("k")->has_value());
  EXPECT_TRUE(store.remove("never there").ok());
}

TEST(MemoryKeyValueStore, GetsPutsAndRemoves) {
  MemoryKeyValueStore store;
  expect_store_contract(store);
}

TEST(LevelDbKeyValueStore, GetsPutsAndRemoves) {
  TempDir dir;
  auto store = leveldb_store_factory(dir.path())("echo");
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  expect_store_contract(**store);
}

TEST(LevelDbKeyValueStore, KeepsEachPluginsNamespaceApartAndOnDisk) {
  TempDir dir;
  auto factory = leveldb_store_factory(dir.path());
  {
    auto echo = factory("echo");
    auto mail = factory("mail");
    ASSERT_TRUE(echo.ok() && mail.ok());
    ASSERT_TRUE((*echo)->put("k", "echo's").ok());
    EXPECT_FALSE((*mail)->get("k")->has_value());
  }
  auto reopened = factory("echo");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->get("k")->value_or(""), "echo's");
}

TEST(LevelDbKeyValueStore, RefusesADirectoryItCannotCreate) {
  auto store = leveldb_store_factory("/proc/no/such/place")("echo");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("/proc/no/such/place"), std::string::npos);
}

}  // namespace
}  // namespace post::plugin
