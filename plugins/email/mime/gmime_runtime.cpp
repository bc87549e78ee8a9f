#include "plugins/email/mime/gmime_runtime.h"

#include <dlfcn.h>
#include <gmime/gmime.h>

#include <mutex>
#include <string>

namespace post::email {
namespace {

constexpr const char* kGMimeSoname = "libgmime-3.0.so.0";

struct InitOutcome {
  bool ok = false;
  std::string detail;
};

InitOutcome initialise_once() {
  // Already loaded as a dependency of this image: just add NODELETE. Otherwise load it.
  void* handle = dlopen(kGMimeSoname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  if (handle == nullptr) handle = dlopen(kGMimeSoname, RTLD_NOW | RTLD_NODELETE);
  if (handle == nullptr) return {false, std::string("cannot pin ") + kGMimeSoname};
  // The handle is deliberately never closed: the library stays for the life of the process.
  if (g_type_from_name("GMimeObject") == 0) g_mime_init();
  if (g_type_from_name("GMimeObject") == 0) return {false, "g_mime_init registered no types"};
  return {true, {}};
}

}  // namespace

MimeStatus ensure_gmime_initialised() {
  static std::once_flag once;
  static InitOutcome outcome;
  std::call_once(once, [] { outcome = initialise_once(); });
  if (!outcome.ok) return mime_error(MimeErrc::kGMimeUnavailable, outcome.detail);
  return mime_ok();
}

}  // namespace post::email
