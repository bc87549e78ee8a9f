/* abi_surface.c: the whole plugin ABI of post/sdk.h, made visible to libabigail.
 *
 * Compiled (-g -std=c99) into a small shared object by sdk-abi.sh; abidw writes what its
 * debug information says about every exported function, and so about every type they
 * reach. Each public type of sdk.h is reached here by one function named after it, so a
 * report names the type that changed. Constants are macros, which DWARF does not keep: the
 * enumeration below turns each of them into an enumerator, so renumbering one is an ABI
 * change too.
 *
 * When sdk.h gains a type or a constant (a new minor version), add it here as well, then
 * run update-baseline.sh if it is meant to be part of the baseline (see README.md). */
#include "post/sdk.h"

#define POST_ABI_SURFACE __attribute__((visibility("default")))

/* Every constant of ABI 1.x. The minor version is one of them: bumping it means regenerating
 * the baseline, which update-baseline.sh allows only then. */
enum post_abi_constants {
  post_abi_major = POST_ABI_MAJOR,
  post_abi_minor = POST_ABI_MINOR,
  post_abi_ok = POST_OK,
  post_abi_err_invalid_argument = POST_ERR_INVALID_ARGUMENT,
  post_abi_err_not_found = POST_ERR_NOT_FOUND,
  post_abi_err_unavailable = POST_ERR_UNAVAILABLE,
  post_abi_err_io = POST_ERR_IO,
  post_abi_err_bad_state = POST_ERR_BAD_STATE,
  post_abi_err_cancelled = POST_ERR_CANCELLED,
  post_abi_err_too_large = POST_ERR_TOO_LARGE,
  post_abi_err_failed = POST_ERR_FAILED,
  post_abi_error_message_size = POST_ERROR_MESSAGE_SIZE,
  post_abi_log_trace = POST_LOG_TRACE,
  post_abi_log_debug = POST_LOG_DEBUG,
  post_abi_log_info = POST_LOG_INFO,
  post_abi_log_warn = POST_LOG_WARN,
  post_abi_log_error = POST_LOG_ERROR,
  /* ABI 1.1 */
  post_abi_admin_max_args = POST_ADMIN_MAX_ARGS,
  post_abi_admin_max_arg_bytes = POST_ADMIN_MAX_ARG_BYTES,
  post_abi_admin_max_reply_bytes = POST_ADMIN_MAX_REPLY_BYTES,
  post_abi_admin_timeout_ms = POST_ADMIN_TIMEOUT_MS
};

/* The entry symbol itself, with the type the host looks it up as. */
POST_ABI_SURFACE const post_plugin_descriptor* post_plugin_entry_v1(uint16_t host_abi_major,
                                                                    uint16_t host_abi_minor) {
  (void)host_abi_major;
  (void)host_abi_minor;
  return 0;
}
POST_ABI_SURFACE post_plugin_entry_fn post_abi_plugin_entry_fn(void) {
  return post_plugin_entry_v1;
}

POST_ABI_SURFACE void post_abi_constants(enum post_abi_constants c) {
  (void)c;
}

/* Structures and handles. */
POST_ABI_SURFACE void post_abi_status(post_status s) {
  (void)s;
}
POST_ABI_SURFACE void post_abi_error(post_error* e) {
  (void)e;
}
POST_ABI_SURFACE void post_abi_host(post_host* h) {
  (void)h;
}
POST_ABI_SURFACE void post_abi_plugin(post_plugin* p) {
  (void)p;
}
POST_ABI_SURFACE void post_abi_bytes(post_bytes* b) {
  (void)b;
}
POST_ABI_SURFACE void post_abi_timer_id(post_timer_id id) {
  (void)id;
}
POST_ABI_SURFACE void post_abi_listener_id(post_listener_id id) {
  (void)id;
}
POST_ABI_SURFACE void post_abi_host_api(post_host_api* api) {
  (void)api;
}
POST_ABI_SURFACE void post_abi_plugin_vtable(post_plugin_vtable* vtable) {
  (void)vtable;
}
POST_ABI_SURFACE void post_abi_plugin_descriptor(post_plugin_descriptor* d) {
  (void)d;
}

/* Callback types. */
POST_ABI_SURFACE void post_abi_done_fn(post_done_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_bytes_fn(post_bytes_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_timer_fn(post_timer_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_accept_fn(post_accept_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_write_fn(post_write_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_store_put_fn(post_store_put_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_log_record_fn(post_log_record_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_notification_fn(post_notification_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_scribe_message_fn(post_scribe_message_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_scribe_anycast_fn(post_scribe_anycast_fn fn) {
  (void)fn;
}
POST_ABI_SURFACE void post_abi_admin_fn(post_admin_fn fn) {
  (void)fn;
}
