/* post/sdk.h: the whole binary interface between a POST node (the host, postd) and an
 * application plugin (a shared object). C99, no C++ and no host type in it.
 *
 * A plugin exports exactly one symbol, post_plugin_entry_v1, returning a static
 * post_plugin_descriptor: its ABI version, name, version and vtable. The host checks the ABI
 * major version and the struct sizes, then calls init() with a post_host_api table of host
 * functions and the post_host handle of this instance.
 *
 * Compatibility rules (ABI 1.x):
 *   - The major version lives in the entry symbol's name; a host refuses a plugin whose
 *     descriptor says another major version.
 *   - Structs that cross begin with their size (struct_size). New members are only ever
 *     appended, never inserted, removed or changed; each side reads a member only when the
 *     other's struct_size covers it (POST_HAS_MEMBER). A host fills every member it knows.
 *   - Only fixed-width integers, size_t, double, UTF-8 `const char*`, post_bytes, opaque
 *     handles and C function pointers with a `void* ctx` cross. Enumerations travel as
 *     fixed-width integers. No exception, longjmp or C++ type crosses.
 *   - A plugin calls a function a later minor version added (marked "ABI 1.1") only when the
 *     host's table has it: POST_HAS_MEMBER(post_host_api, api, fn) && api->fn != NULL (a host
 *     of ABI 1.0 has a shorter table). Plugins built for 1.0 load in 1.1 hosts unchanged.
 *   - Memory is freed by the side that allocated it. Arguments are borrowed for the duration
 *     of the call (or of the callback invocation); whoever needs them later copies them. The
 *     one exception is a string the host returns through a `char**` out-parameter, which the
 *     plugin frees with post_host_api.free.
 *
 * Errors: functions return a post_status (POST_OK, or a negative POST_ERR_* code) and, when
 * given a non-NULL post_error*, write a NUL-terminated message saying what failed and why.
 *
 * Threading: the host calls a plugin instance's vtable and every callback it registered on
 * the node's executor thread, one call at a time. Every host function may be called from any
 * thread (work the host must do on its executor is posted there). A plugin that needs to
 * block runs its own threads, and has joined them when stop() returns.
 *
 * Lifecycle of an instance:  init -> start -> [drain -> export_state -> (start again |
 * stop)] -> stop -> destroy. On a reload, the host creates the new version's instance beside
 * the old one: new.init, old.drain, old.export_state, new.import_state, new.start, then
 * old.stop and old.destroy. If any step fails, the old instance is started again (start
 * after drain resumes it) and the new one is stopped and destroyed.
 */
#ifndef POST_SDK_H
#define POST_SDK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POST_ABI_MAJOR 1
#define POST_ABI_MINOR 1

/* The name of the one symbol a plugin exports; its type is post_plugin_entry_fn. */
#define POST_PLUGIN_ENTRY_SYMBOL "post_plugin_entry_v1"

#if defined(_WIN32)
#define POST_PLUGIN_EXPORT __declspec(dllexport)
#else
#define POST_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* True when the struct at `s` (which begins with uint32_t struct_size) is large enough to
 * hold `member` of type `type`, i.e. the other side knows that member. */
#define POST_HAS_MEMBER(type, s, member) \
  ((s)->struct_size >= offsetof(type, member) + sizeof(((type*)0)->member))

/* ---------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------- */

typedef int32_t post_status;

#define POST_OK 0
#define POST_ERR_INVALID_ARGUMENT (-1) /* a NULL, malformed or out-of-range argument */
#define POST_ERR_NOT_FOUND (-2)        /* no such key, listener, timer or config entry */
#define POST_ERR_UNAVAILABLE (-3)      /* this host does not provide the service */
#define POST_ERR_IO (-4)               /* an operating system or storage failure */
#define POST_ERR_BAD_STATE (-5)        /* the call is not allowed in the current state */
#define POST_ERR_CANCELLED (-6)        /* the operation was cancelled before completing */
#define POST_ERR_TOO_LARGE (-7)        /* an argument over a documented size limit */
#define POST_ERR_FAILED (-8)           /* anything else; the message says what */

/* Room for an error message, terminating NUL included; longer messages are cut. */
#define POST_ERROR_MESSAGE_SIZE 512

/* An error, written by the callee into storage the caller owns. */
typedef struct post_error {
  post_status code;
  char message[POST_ERROR_MESSAGE_SIZE];
} post_error;

/* ---------------------------------------------------------------------------------------
 * Common types
 * ------------------------------------------------------------------------------------- */

/* The host's handle for one plugin instance (opaque, host-owned). */
typedef struct post_host post_host;
/* A plugin instance (opaque, plugin-owned; created by init, freed by destroy). */
typedef struct post_plugin post_plugin;

/* A byte string, borrowed: valid for the duration of the call or callback only. */
typedef struct post_bytes {
  const uint8_t* data;
  size_t size;
} post_bytes;

/* Log levels, as uint32_t. */
#define POST_LOG_TRACE 0u
#define POST_LOG_DEBUG 1u
#define POST_LOG_INFO 2u
#define POST_LOG_WARN 3u
#define POST_LOG_ERROR 4u

typedef uint64_t post_timer_id;    /* never 0 for a scheduled timer */
typedef uint64_t post_listener_id; /* never 0; stable across reloads of the same plugin */

/* Completion of an asynchronous operation that returns nothing. `message` is "" on
 * success. Runs once on the host's executor, unless the instance was stopped first. */
typedef void (*post_done_fn)(void* ctx, post_status status, const char* message);
/* Completion of an asynchronous operation returning bytes (borrowed for the call). */
typedef void (*post_bytes_fn)(void* ctx, post_status status, const char* message, post_bytes value);
/* A timer firing. */
typedef void (*post_timer_fn)(void* ctx, post_timer_id timer);
/* A connection accepted on a host-owned listening socket. `fd` is a connected, blocking
 * stream socket; from this call on the plugin owns it and must close it. */
typedef void (*post_accept_fn)(void* ctx, post_listener_id listener, int fd);
/* A chunk of exported state, copied by the host before the call returns. */
typedef void (*post_write_fn)(void* ctx, const uint8_t* data, size_t size);
/* A store_put completion: the handle and key that fetch the content back. */
typedef void (*post_store_put_fn)(void* ctx, post_status status, const char* message,
                                  post_bytes handle, post_bytes key);
/* One record read from a log, in order; `last` is 1 for the final call of a read (which
 * carries no record, an empty `record`, when the log is empty past `from`: records are never
 * empty). On an error, the one call has the status and last = 1. */
typedef void (*post_log_record_fn)(void* ctx, post_status status, const char* message,
                                   uint64_t index, post_bytes record, int32_t last);
/* A notification addressed to this application: the local user it is for, the sender's
 * user name (both e-mail style, "alice@example.org") and the payload. */
typedef void (*post_notification_fn)(void* ctx, const char* recipient, const char* sender,
                                     post_bytes payload);
/* A message published to a Scribe topic this instance subscribed to. */
typedef void (*post_scribe_message_fn)(void* ctx, const char* topic, post_bytes payload);
/* An anycast offered to this member of a topic: return 1 to take it (the search ends here),
 * 0 to pass it on. Runs on the executor and must not block. */
typedef int32_t (*post_scribe_anycast_fn)(void* ctx, const char* topic, post_bytes payload);
/* ABI 1.1: an operator's command for this plugin (`postctl command <entry> ARGS...`): `argc`
 * arguments (at most POST_ADMIN_MAX_ARGS, each at most POST_ADMIN_MAX_ARG_BYTES bytes of
 * UTF-8), borrowed for the call. The plugin answers it exactly once with
 * post_host_api.admin_reply(request, ...), from inside this call or later from any thread. */
typedef void (*post_admin_fn)(void* ctx, uint64_t request, const char* const* argv, uint32_t argc);

/* ABI 1.1: bounds of admin commands (see admin_register). */
#define POST_ADMIN_MAX_ARGS 64u
#define POST_ADMIN_MAX_ARG_BYTES 4096u
#define POST_ADMIN_MAX_REPLY_BYTES (1024u * 1024u)
#define POST_ADMIN_TIMEOUT_MS 30000u

/* ---------------------------------------------------------------------------------------
 * The host API table
 *
 * Passed to init(); valid until destroy() returns. The plugin may copy it. Every function
 * takes the instance's post_host* first. Functions that can fail return a post_status and
 * write a message to `err` when it is not NULL. An asynchronous function that returns an
 * error never calls its callback; one that returns POST_OK calls it exactly once, on the
 * executor, unless the instance is stopped first (callbacks pending at stop() are dropped).
 * ------------------------------------------------------------------------------------- */

typedef struct post_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;

  /* Frees a string or buffer the host allocated and handed to the plugin. NULL is ignored. */
  void (*free)(post_host* host, void* ptr);

  /* Writes a line to the node's log, in this plugin's logger. */
  void (*log)(post_host* host, uint32_t level, const char* utf8_message);

  /* The plugin's own config subtree (the `config:` map of its entry in the node's YAML),
   * read-only. Keys are dotted paths ("limits.max_lines"). A missing key gives
   * POST_ERR_NOT_FOUND; a value of the wrong type POST_ERR_INVALID_ARGUMENT; messages name
   * the file, line and key. config_get_string returns a host-allocated string. */
  post_status (*config_get_string)(post_host* host, const char* key, char** out, post_error* err);
  post_status (*config_get_int)(post_host* host, const char* key, int64_t* out, post_error* err);
  post_status (*config_get_bool)(post_host* host, const char* key, int32_t* out, post_error* err);
  /* The whole subtree as YAML text (host-allocated; "{}" when the plugin has none). */
  post_status (*config_yaml)(post_host* host, char** out, post_error* err);

  /* Calls fn(ctx, id) once, delay_ms from now. */
  post_status (*timer_schedule)(post_host* host, uint64_t delay_ms, post_timer_fn fn, void* ctx,
                                post_timer_id* out_id, post_error* err);
  /* Cancels a timer. Called on the executor, the callback does not run after this returns;
   * from another thread it may run once more if it was already due. Unknown ids are
   * ignored. */
  void (*timer_cancel)(post_host* host, post_timer_id id);

  /* Has the host listen on `address` ("a.b.c.d:port", "[v6]:port", "localhost:port"; port
   * 0 picks a free port) and hand each accepted connection to on_accept. The socket belongs
   * to the host and stays open across reloads of this plugin: a new version that listens on
   * the same address gets the same listener id, and connections accepted while no version
   * is serving wait in the host. out_port receives the bound port (may be NULL). Calling it
   * again for the same address replaces the callback. */
  post_status (*listen)(post_host* host, const char* address, post_accept_fn on_accept, void* ctx,
                        post_listener_id* out_id, uint16_t* out_port, post_error* err);
  /* Stops handing connections to this instance. When the serving instance calls it, the host
   * closes the socket. */
  void (*unlisten)(post_host* host, post_listener_id id);

  /* A small durable key-value namespace of this plugin's own (it survives reloads and
   * restarts): one per entry of the node's configuration, named by the entry's name. Keys
   * and values are byte strings; get of a missing key completes with POST_ERR_NOT_FOUND. */
  post_status (*kv_get)(post_host* host, post_bytes key, post_bytes_fn done, void* ctx,
                        post_error* err);
  post_status (*kv_put)(post_host* host, post_bytes key, post_bytes value, post_done_fn done,
                        void* ctx, post_error* err);
  post_status (*kv_delete)(post_host* host, post_bytes key, post_done_fn done, void* ctx,
                           post_error* err);

  /* Metrics, named "<entry>.<name>" by the host (<entry>: the plugin's name in the node's
   * configuration). */
  void (*counter_add)(post_host* host, const char* name, uint64_t delta);
  void (*gauge_set)(post_host* host, const char* name, double value);

  /* POST services. A host that does not offer one returns POST_ERR_UNAVAILABLE with a
   * message saying so (and never calls the callback); plugins must handle that.
   *
   * Scope: topics and log names belong to this plugin (they are prefixed with the plugin's
   * descriptor name, which must then be 1 to 64 bytes without '/'), and notifications travel
   * between instances of the plugin of the same name. Users are e-mail addresses
   * ("alice@example.org"); user, topic and log names are 1 to 254, 128 and 128 bytes of text
   * without control characters. Every callback is required (non-NULL) unless said otherwise.
   * A size over a limit gives POST_ERR_TOO_LARGE, a NULL or malformed argument
   * POST_ERR_INVALID_ARGUMENT, both from the call itself. Registrations (notify_register,
   * scribe_subscribe) end when the instance stops; a new version re-registers in its init. */

  /* Stores `content` (at most 1 GiB) in the secure store (convergent encryption over PAST).
   * done gets the handle and key (32 bytes each) that fetch it back. */
  post_status (*store_put)(post_host* host, post_bytes content, post_store_put_fn done, void* ctx,
                           post_error* err);
  /* Fetches content stored under `handle`, decrypting it with `key` (32 bytes each).
   * POST_ERR_NOT_FOUND through done when no such content is stored. */
  post_status (*store_fetch)(post_host* host, post_bytes handle, post_bytes key, post_bytes_fn done,
                             void* ctx, post_error* err);
  /* Appends a record (1 byte to 64 KiB; larger data goes into the store, and the record holds
   * its handle and key) to log `log_name` (scoped to this plugin) of `user`, a user this node
   * serves (it holds the user's keys; POST_ERR_INVALID_ARGUMENT through done otherwise).
   * Appends to one log complete in the order made. The record's index (0 for the first) comes
   * back through done's message as decimal text. The records are signed, not encrypted. */
  post_status (*log_append)(post_host* host, const char* user, const char* log_name,
                            post_bytes record, post_done_fn done, void* ctx, post_error* err);
  /* Reads up to max_records records (1 or more; at most 1024 are returned per call, page with
   * `from`) of `user`'s log `log_name` (scoped to this plugin) starting at index `from`,
   * checking the writer's signatures.
   *   - A user this node serves: any of the user's logs of this plugin; a log never written is
   *     empty.
   *   - Any other user (hosts of ABI 1.1; a 1.0 host answers POST_ERR_UNAVAILABLE): only a log
   *     the user shared (log_share). Each read looks the user up afresh (certificate checked
   *     against the CA, identity block signed by the user) and fetches the log's newest head;
   *     nothing is cached. A shared log never written is empty. An unknown user, a user with no
   *     identity, and a log the user did not share give POST_ERR_NOT_FOUND through on_record
   *     (once, last=1): "does X have a shared log `members`?" is answered by the status.
   */
  post_status (*log_read)(post_host* host, const char* user, const char* log_name, uint64_t from,
                          uint32_t max_records, post_log_record_fn on_record, void* ctx,
                          post_error* err);
  /* Sends a notification carrying `payload` (at most 16 KiB) from `sender`, a user this node
   * serves (POST_ERR_INVALID_ARGUMENT through done otherwise), to user `recipient`'s instance
   * of this plugin, wherever it runs (delivered once, also when the recipient is offline for a
   * while). done runs once the recipient's node or its delegates took it; POST_ERR_NOT_FOUND
   * for an unknown recipient. */
  post_status (*notify_send)(post_host* host, const char* sender, const char* recipient,
                             post_bytes payload, post_done_fn done, void* ctx, post_error* err);
  /* Registers the callback receiving notifications addressed to this plugin for any user
   * this node serves. A later call replaces the callback. Notifications that arrive while no
   * instance of the plugin is serving wait in the host (a bounded number, in memory). */
  post_status (*notify_register)(post_host* host, post_notification_fn on_notification, void* ctx,
                                 post_error* err);
  /* Scribe groups named by `topic` (scoped to this plugin). on_anycast may be NULL (the
   * member then passes every anycast on). Subscribing again replaces the callbacks;
   * unsubscribing from a topic not subscribed to does nothing. Messages reach the instance
   * only while it serves (after start()). */
  post_status (*scribe_subscribe)(post_host* host, const char* topic,
                                  post_scribe_message_fn on_message,
                                  post_scribe_anycast_fn on_anycast, void* ctx, post_error* err);
  post_status (*scribe_unsubscribe)(post_host* host, const char* topic, post_error* err);
  /* Sends `payload` (at most 1 MiB) to every member of the topic, this node's included when
   * it is one; done runs once the publication has left this node. */
  post_status (*scribe_publish)(post_host* host, const char* topic, post_bytes payload,
                                post_done_fn done, void* ctx, post_error* err);
  /* Offers `payload` (at most 1 MiB) to the topic's members, nearest first, until one takes
   * it; done gets the taker's node id (hex text) as value, or POST_ERR_NOT_FOUND when none
   * did. */
  post_status (*scribe_anycast)(post_host* host, const char* topic, post_bytes payload,
                                post_bytes_fn done, void* ctx, post_error* err);

  /* ---- ABI 1.1 (check POST_HAS_MEMBER(post_host_api, api, <fn>) before calling) ---- */

  /* Shares log `log_name` (scoped to this plugin) of `user`, a user this node serves
   * (POST_ERR_INVALID_ARGUMENT through done otherwise), so that plugins of the same name on
   * any node can read it with log_read. The host names the log's head handle in the user's
   * signed identity block under "plugin/<plugin>/<log_name>", which holds at most 64 bytes:
   * the plugin's name and the log name together at most 56 bytes (POST_ERR_TOO_LARGE from the
   * call otherwise). An identity names at most 64 shared logs (POST_ERR_TOO_LARGE through
   * done). Sharing a log again is harmless; a log stays shared (there is no unshare). done
   * runs once the identity naming the log is stored. The log's records are readable by
   * anyone who can reach the ring: share only what is public to the deployment. */
  post_status (*log_share)(post_host* host, const char* user, const char* log_name,
                           post_done_fn done, void* ctx, post_error* err);
  /* Makes on_command receive this instance's admin commands (`postctl command <entry>
   * ARGS...`, <entry>: the plugin's name in the node's configuration). A later call replaces
   * the callback; the registration ends when the instance stops. Without one, commands for
   * the plugin fail with a message saying it takes none. */
  post_status (*admin_register)(post_host* host, post_admin_fn on_command, void* ctx,
                                post_error* err);
  /* Answers admin command `request` once: `status` POST_OK or a POST_ERR_* code, and
   * `utf8_text` (may be NULL: empty; at most POST_ADMIN_MAX_REPLY_BYTES, or the operator gets
   * an error saying it was too long) printed for the operator. Any thread. A request the
   * plugin leaves unanswered for POST_ADMIN_TIMEOUT_MS, or whose instance stops first, is
   * answered by the host with an error; later or repeated answers, and unknown requests, are
   * ignored. */
  void (*admin_reply)(post_host* host, uint64_t request, post_status status, const char* utf8_text);
} post_host_api;

/* ---------------------------------------------------------------------------------------
 * The plugin descriptor
 * ------------------------------------------------------------------------------------- */

typedef struct post_plugin_vtable {
  uint32_t struct_size;

  /* Creates an instance. `host` identifies it in every host call; `api` is valid until
   * destroy() returns. May register listeners, timers and subscriptions, which deliver
   * nothing before start() succeeds. On failure returns an error and leaves *out NULL. */
  post_status (*init)(post_host* host, const post_host_api* api, post_plugin** out,
                      post_error* err);
  /* Begins serving. Also called after drain() to resume when a reload is abandoned. */
  post_status (*start)(post_plugin* plugin, post_error* err);
  /* Stops taking new work and finishes what is in flight, keeping every resource, so that
   * export_state() sees a quiet instance and start() can resume it. */
  post_status (*drain)(post_plugin* plugin, post_error* err);
  /* Stops everything: timers, own threads (joined before it returns), I/O. Releases the
   * resources the instance owns. Called once, before destroy(), also for an instance that
   * was never started (a reload abandoned after its init). */
  void (*stop)(post_plugin* plugin);
  /* Writes the instance's state through write(ctx, ...), in as many chunks as it likes.
   * Called after drain(); must not change the instance, which may be resumed. Descriptors
   * named in the state stay owned by the exporter: an importer dup()s those it keeps. */
  post_status (*export_state)(post_plugin* plugin, post_write_fn write, void* write_ctx,
                              post_error* err);
  /* Takes over state exported by this or an earlier version of the plugin, before start().
   * The format is the plugin's own; it should carry a version of its own. */
  post_status (*import_state)(post_plugin* plugin, post_bytes state, post_error* err);
  /* Frees the instance. */
  void (*destroy)(post_plugin* plugin);
} post_plugin_vtable;

typedef struct post_plugin_descriptor {
  uint32_t struct_size;
  uint16_t abi_major; /* POST_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;
  const char* name;    /* e.g. "echo"; static storage, copied by the host */
  const char* version; /* e.g. "1.2.0"; static storage, copied by the host */
  const post_plugin_vtable* vtable;
} post_plugin_descriptor;

/* The type of post_plugin_entry_v1. The host passes its own ABI version; a plugin returns
 * NULL if it cannot work with that host. The descriptor has static storage duration. */
typedef const post_plugin_descriptor* (*post_plugin_entry_fn)(uint16_t host_abi_major,
                                                              uint16_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* POST_SDK_H */
