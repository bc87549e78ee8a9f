// The property that hot reload of the ePOST plugin needs from the MIME layer: a module that
// links post_email_mime (and so GMime) can be loaded, used, unloaded and loaded again from a
// new file, repeatedly, without GLib/GObject complaining (GMime must not register its GTypes
// twice). This executable does not link GMime itself, so GMime comes and goes only through
// the module, as in postd.
#include <dlfcn.h>
#include <glib.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace {

int g_log_complaints = 0;

void count_and_print(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0) {
    ++g_log_complaints;
  }
  std::fprintf(stderr, "glib log [%s]: %s\n", domain == nullptr ? "" : domain, message);
}

using Probe = int (*)();

TEST(MimeReload, ModuleCanBeLoadedUsedAndUnloadedRepeatedly) {
  // GLib complaints are counted (and would abort with G_DEBUG=fatal-warnings).
  g_log_set_default_handler(count_and_print, nullptr);
  ASSERT_EQ(dlopen("libgmime-3.0.so.0", RTLD_NOW | RTLD_NOLOAD), nullptr)
      << "this test must not link GMime itself, or it proves nothing";

  const std::filesystem::path source = POST_MIME_RELOAD_MODULE;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("mime_reload_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    const std::filesystem::path copy = dir / ("mime_module_" + std::to_string(round) + ".so");
    std::filesystem::copy_file(source, copy, std::filesystem::copy_options::overwrite_existing);
    void* module = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(module, nullptr) << dlerror();
    auto probe = reinterpret_cast<Probe>(dlsym(module, "post_mime_reload_probe"));
    ASSERT_NE(probe, nullptr) << dlerror();
    EXPECT_EQ(probe(), 2);
    EXPECT_EQ(probe(), 2);
    ASSERT_EQ(dlclose(module), 0);
    // The module image is gone (a fresh one is loaded next round) but GMime stays pinned.
    EXPECT_EQ(dlopen(copy.c_str(), RTLD_NOW | RTLD_NOLOAD), nullptr);
    void* gmime = dlopen("libgmime-3.0.so.0", RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(gmime, nullptr);
    if (gmime != nullptr) dlclose(gmime);
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(g_log_complaints, 0);
}

}  // namespace
