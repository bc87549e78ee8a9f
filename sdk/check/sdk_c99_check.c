/* Compiled as -std=c99 -pedantic -Werror on every build: post/sdk.h must stay plain C99. */
#include "post/sdk.h"

/* A minimal vtable, so the function pointer types are checked too. */
static post_status check_start(post_plugin* plugin, post_error* err) {
  (void)plugin;
  (void)err;
  return POST_OK;
}

int post_sdk_c99_check(const post_host_api* api);
int post_sdk_c99_check(const post_host_api* api) {
  post_plugin_vtable vtable = {0};
  vtable.struct_size = (uint32_t)sizeof vtable;
  vtable.start = check_start;
  return POST_HAS_MEMBER(post_host_api, api, scribe_anycast) && vtable.start != 0;
}
