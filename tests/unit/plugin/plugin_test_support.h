// Shared by the plugin tests: where the fixture plugins were built, a plugin directory to
// copy them into, and a blocking line client for the echo plugin.
#pragma once

#include <unistd.h>

#include <cstdlib>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/support/line_client.h"
#include "tests/support/test_support.h"

namespace post::plugin::testing {

// Paths of the plugins built with the tests (compile definitions from CMake).
inline const std::filesystem::path kEchoPlugin = POST_PLUGIN_ECHO;
inline const std::filesystem::path kEchoV2Plugin = POST_PLUGIN_ECHO_V2;
inline const std::filesystem::path kEchoBadImportPlugin = POST_PLUGIN_ECHO_BAD_IMPORT;
inline const std::filesystem::path kCPlugin = POST_PLUGIN_C;
inline const std::filesystem::path kWrongAbiPlugin = POST_PLUGIN_WRONG_ABI;
inline const std::filesystem::path kMissingEntryPlugin = POST_PLUGIN_MISSING_ENTRY;
inline const std::filesystem::path kFailingInitPlugin = POST_PLUGIN_FAILING_INIT;

using post::testing::TempDir;

using post::testing::LineClient;

}  // namespace post::plugin::testing
