#include "host/plugin/plugin_library.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "host/plugin/errors.h"
#include "tests/unit/plugin/plugin_test_support.h"

namespace post::plugin {
namespace {

using namespace post::plugin::testing;

class PluginLibraryTest : public ::testing::Test {
 protected:
  TempDir runtime_;
};

TEST_F(PluginLibraryTest, LoadsTheEchoPluginWrittenWithTheCppWrapper) {
  auto lib = PluginLibrary::open("echo", kEchoPlugin, runtime_.path());
  ASSERT_TRUE(lib.ok()) << lib.error().to_string();
  EXPECT_EQ((*lib)->name(), "echo");
  EXPECT_EQ((*lib)->version(), "1.0.0");
  EXPECT_EQ((*lib)->abi_major(), POST_ABI_MAJOR);
  EXPECT_NE((*lib)->vtable().init, nullptr);
  EXPECT_NE((*lib)->vtable().destroy, nullptr);
}

TEST_F(PluginLibraryTest, LoadsThePluginWrittenInPlainC) {
  auto lib = PluginLibrary::open("c", kCPlugin, runtime_.path());
  ASSERT_TRUE(lib.ok()) << lib.error().to_string();
  EXPECT_EQ((*lib)->name(), "c-plugin");
  EXPECT_EQ((*lib)->version(), "0.1.0");
}

TEST_F(PluginLibraryTest, LeavesNoCopyBehindInTheRuntimeDirectory) {
  auto lib = PluginLibrary::open("echo", kEchoPlugin, runtime_.path());
  ASSERT_TRUE(lib.ok()) << lib.error().to_string();
  EXPECT_TRUE(std::filesystem::is_empty(runtime_.path()));
}

TEST_F(PluginLibraryTest, TwoVersionsOfOnePluginLoadSideBySide) {
  auto v1 = PluginLibrary::open("echo", kEchoPlugin, runtime_.path());
  auto v2 = PluginLibrary::open("echo", kEchoV2Plugin, runtime_.path());
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_EQ((*v1)->version(), "1.0.0");
  EXPECT_EQ((*v2)->version(), "2.0.0");
  EXPECT_NE((*v1)->vtable().init, (*v2)->vtable().init);
}

TEST_F(PluginLibraryTest, ARebuiltFileAtTheSamePathIsLoadedAfresh) {
  TempDir plugins;
  auto path = std::filesystem::path(plugins.path()) / "echo.so";
  std::filesystem::copy_file(kEchoPlugin, path);
  auto first = PluginLibrary::open("echo", path, runtime_.path());
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  std::filesystem::copy_file(kEchoV2Plugin, path,
                             std::filesystem::copy_options::overwrite_existing);
  auto second = PluginLibrary::open("echo", path, runtime_.path());
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ((*first)->version(), "1.0.0");
  EXPECT_EQ((*second)->version(), "2.0.0");  // not the image the loader already holds
}

TEST_F(PluginLibraryTest, RefusesAPluginBuiltForAnotherAbiMajorVersion) {
  auto lib = PluginLibrary::open("future", kWrongAbiPlugin, runtime_.path());
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().code, PluginErrc::kAbiMismatch);
  EXPECT_NE(lib.error().message.find("plugin 'future'"), std::string::npos) << lib.error().message;
  EXPECT_NE(lib.error().message.find("built for plugin ABI 2.0, this host speaks 1.1"),
            std::string::npos)
      << lib.error().message;
}

TEST_F(PluginLibraryTest, RefusesASharedObjectWithoutTheEntrySymbol) {
  auto lib = PluginLibrary::open("stranger", kMissingEntryPlugin, runtime_.path());
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().code, PluginErrc::kMissingEntry);
  EXPECT_NE(lib.error().message.find("plugin 'stranger'"), std::string::npos);
  EXPECT_NE(lib.error().message.find("does not export post_plugin_entry_v1"), std::string::npos)
      << lib.error().message;
}

TEST_F(PluginLibraryTest, RefusesAPathWithNoFile) {
  auto lib = PluginLibrary::open("ghost", "/nonexistent/ghost.so", runtime_.path());
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().code, PluginErrc::kNotFound);
  EXPECT_NE(lib.error().message.find("plugin 'ghost' (/nonexistent/ghost.so): no such file"),
            std::string::npos)
      << lib.error().message;
}

TEST_F(PluginLibraryTest, RefusesAFileThatIsNotASharedObjectWithTheLoadersMessage) {
  TempDir plugins;
  std::string path = plugins.file("text.so");
  std::ofstream out(path);
  for (int i = 0; i < 100; ++i) out << "not an ELF file, just text long enough to have a header\n";
  out.close();
  auto lib = PluginLibrary::open("text", path, runtime_.path());
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().code, PluginErrc::kLoadFailed);
  EXPECT_NE(lib.error().message.find("plugin 'text'"), std::string::npos);
  EXPECT_NE(lib.error().message.find(path + ": invalid ELF header"), std::string::npos)
      << lib.error().message;
}

// The dynamic symbols a shared object defines, as `nm -D --defined-only` lists them.
std::set<std::string> defined_dynamic_symbols(const std::filesystem::path& so) {
  std::set<std::string> names;
  std::string command = "nm -D --defined-only '" + so.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {"<popen failed>"};
  char line[1024];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    names.insert(s.substr(s.rfind(' ') + 1));
  }
  if (::pclose(pipe) != 0) names.insert("<nm failed>");
  return names;
}

TEST(PluginExports, EveryPluginExportsOnlyTheEntrySymbol) {
  for (const auto& so : {kEchoPlugin, kEchoV2Plugin, kCPlugin, kFailingInitPlugin}) {
    EXPECT_EQ(defined_dynamic_symbols(so), std::set<std::string>{"post_plugin_entry_v1"}) << so;
  }
}

}  // namespace
}  // namespace post::plugin
