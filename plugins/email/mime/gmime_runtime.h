// GMime's process-wide state, for a library that lives in a plugin which is dlclose()d and
// loaded again on hot reload.
#pragma once

#include "plugins/email/mime/mime_error.h"

namespace post::email {

// Makes GMime usable in this process; decompose() calls it, and so may the plugin at load.
//
// (a) Pins libgmime-3.0.so.0 with RTLD_NODELETE, so unloading the plugin never unloads
//     GMime: GObject (itself never unloaded) cannot unregister GTypes, and a second copy of
//     GMime would try to register "GMimeObject" and friends again.
// (b) Calls g_mime_init() once per process, not once per plugin image: a reloaded plugin has
//     fresh statics, so the process-wide fact checked is whether GMime's GTypes exist.
//
// g_mime_shutdown() is never called. Thread-safe within one plugin image; two images that
// initialise concurrently are not expected (postd loads plugins from one thread). Returns
// kGMimeUnavailable when the library cannot be found in the process.
MimeStatus ensure_gmime_initialised();

}  // namespace post::email
