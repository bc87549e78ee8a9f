/* bench_plugin: a benchmark-only plugin for tools/bench/plugin_bench.cpp. It times host
 * functions called the way every plugin calls them: through the post_host_api table the host
 * hands to init().
 *
 * It has the host listen on 127.0.0.1 (a free port, reported as the gauge "port"). Each
 * connection carries one request line, "<function> <calls>\n", where <function> is
 * counter_add (name "calls", delta 1), gauge_set (name "level") or kv_get (key "bench-key",
 * which the benchmark stores beforehand). The plugin makes <calls> calls of that function one
 * after the other and answers "<nanoseconds>\n", CLOCK_MONOTONIC around all of them, then
 * closes the connection. kv_get is asynchronous, so its calls are chained: each is made from
 * the completion of the one before, and the time covers every call and its completion. A
 * request it cannot serve is answered "error <reason>\n".
 *
 * The request is read in the accept callback, on the host's executor, with a blocking read.
 * That is fine here, where the client writes its line as soon as it connects and nothing else
 * uses the executor, and wrong for a real plugin (which reads on a thread of its own, as echo
 * does).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "post/sdk.h"

/* A request line longer than this is refused. */
#define BENCH_MAX_REQUEST 64
/* A client that connects and sends nothing holds the executor at most this long. */
#define BENCH_REQUEST_TIMEOUT_SECONDS 5

static const char kKvKey[] = "bench-key";

struct post_plugin {
  post_host* host;
  const post_host_api* api;
  /* The kv_get chain in progress: its connection (-1 when none), calls left, start time. */
  int kv_fd;
  uint64_t kv_left;
  uint64_t kv_start_ns;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static post_status fail(post_error* err, post_status code, const char* message) {
  if (err != NULL) {
    err->code = code;
    strncpy(err->message, message, POST_ERROR_MESSAGE_SIZE - 1);
    err->message[POST_ERROR_MESSAGE_SIZE - 1] = '\0';
  }
  return code;
}

/* Writes `line` to `fd` and closes it. */
static void answer(int fd, const char* line) {
  size_t size = strlen(line);
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, line + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += (size_t)n;
  }
  close(fd);
}

static void answer_time(int fd, uint64_t ns) {
  char line[32];
  snprintf(line, sizeof line, "%llu\n", (unsigned long long)ns);
  answer(fd, line);
}

static void answer_error(int fd, const char* what, const char* message) {
  char line[POST_ERROR_MESSAGE_SIZE + 64];
  snprintf(line, sizeof line, "error %s: %s\n", what, message);
  answer(fd, line);
}

static post_bytes kv_key(void) {
  post_bytes key;
  key.data = (const uint8_t*)kKvKey;
  key.size = sizeof kKvKey - 1;
  return key;
}

static void on_kv_get(void* ctx, post_status status, const char* message, post_bytes value);

/* Makes the next kv_get of the chain; answers and ends the chain if the host refuses it. */
static void next_kv_get(post_plugin* p) {
  post_error err;
  if (p->api->kv_get(p->host, kv_key(), on_kv_get, p, &err) != POST_OK) {
    answer_error(p->kv_fd, "kv_get", err.message);
    p->kv_fd = -1;
  }
}

static void on_kv_get(void* ctx, post_status status, const char* message, post_bytes value) {
  post_plugin* p = (post_plugin*)ctx;
  (void)value;
  if (status != POST_OK) {
    answer_error(p->kv_fd, "kv_get", message);
    p->kv_fd = -1;
    return;
  }
  if (--p->kv_left > 0) {
    next_kv_get(p);
    return;
  }
  answer_time(p->kv_fd, now_ns() - p->kv_start_ns);
  p->kv_fd = -1;
}

/* Reads one line from `fd` into `line` (NUL-terminated, newline dropped); 0 on failure. */
static int read_request(int fd, char* line, size_t size) {
  size_t used = 0;
  struct timeval timeout;
  timeout.tv_sec = BENCH_REQUEST_TIMEOUT_SECONDS;
  timeout.tv_usec = 0;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  while (used + 1 < size) {
    ssize_t n = read(fd, line + used, size - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    used += (size_t)n;
    line[used] = '\0';
    char* nl = strchr(line, '\n');
    if (nl != NULL) {
      *nl = '\0';
      return 1;
    }
  }
  return 0;
}

static void on_accept(void* ctx, post_listener_id listener, int fd) {
  post_plugin* p = (post_plugin*)ctx;
  char line[BENCH_MAX_REQUEST];
  char function[BENCH_MAX_REQUEST];
  unsigned long long calls = 0;
  uint64_t i;
  uint64_t start;
  (void)listener;
  if (!read_request(fd, line, sizeof line) || sscanf(line, "%63s %llu", function, &calls) != 2 ||
      calls == 0) {
    answer_error(fd, "request", "expected \"<function> <calls>\"");
    return;
  }
  if (strcmp(function, "counter_add") == 0) {
    start = now_ns();
    for (i = 0; i < calls; ++i) p->api->counter_add(p->host, "calls", 1);
    answer_time(fd, now_ns() - start);
  } else if (strcmp(function, "gauge_set") == 0) {
    start = now_ns();
    for (i = 0; i < calls; ++i) p->api->gauge_set(p->host, "level", (double)i);
    answer_time(fd, now_ns() - start);
  } else if (strcmp(function, "kv_get") == 0) {
    if (p->kv_fd >= 0) {
      answer_error(fd, "kv_get", "a kv_get run is in progress");
      return;
    }
    p->kv_fd = fd;
    p->kv_left = calls;
    p->kv_start_ns = now_ns();
    next_kv_get(p);
  } else {
    answer_error(fd, function, "not a function this plugin times");
  }
}

static post_status bench_init(post_host* host, const post_host_api* api, post_plugin** out,
                              post_error* err) {
  post_plugin* p;
  uint16_t port = 0;
  if (!POST_HAS_MEMBER(post_host_api, api, gauge_set)) {
    return fail(err, POST_ERR_UNAVAILABLE, "host API table without metrics");
  }
  p = (post_plugin*)calloc(1, sizeof *p);
  if (p == NULL) return fail(err, POST_ERR_FAILED, "out of memory");
  p->host = host;
  p->api = api;
  p->kv_fd = -1;
  if (api->listen(host, "127.0.0.1:0", on_accept, p, NULL, &port, err) != POST_OK) {
    free(p);
    return err != NULL ? err->code : POST_ERR_FAILED;
  }
  api->gauge_set(host, "port", (double)port);
  *out = p;
  return POST_OK;
}

static post_status bench_start(post_plugin* p, post_error* err) {
  (void)p;
  (void)err;
  return POST_OK;
}

static post_status bench_drain(post_plugin* p, post_error* err) {
  (void)p;
  (void)err;
  return POST_OK;
}

static void bench_stop(post_plugin* p) {
  if (p->kv_fd >= 0) close(p->kv_fd); /* its completions are dropped from here on */
  p->kv_fd = -1;
}

static post_status bench_export(post_plugin* p, post_write_fn write, void* ctx, post_error* err) {
  (void)p;
  (void)write;
  (void)ctx;
  (void)err;
  return POST_OK;
}

static post_status bench_import(post_plugin* p, post_bytes state, post_error* err) {
  (void)p;
  (void)state;
  (void)err;
  return POST_OK;
}

static void bench_destroy(post_plugin* p) {
  free(p);
}

static const post_plugin_vtable kVtable = {sizeof(post_plugin_vtable),
                                           bench_init,
                                           bench_start,
                                           bench_drain,
                                           bench_stop,
                                           bench_export,
                                           bench_import,
                                           bench_destroy};
static const post_plugin_descriptor kDescriptor = {
    sizeof(post_plugin_descriptor), POST_ABI_MAJOR, POST_ABI_MINOR, "bench", "1.0.0", &kVtable};

POST_PLUGIN_EXPORT const post_plugin_descriptor* post_plugin_entry_v1(uint16_t major,
                                                                      uint16_t minor) {
  (void)minor;
  return major == POST_ABI_MAJOR ? &kDescriptor : NULL;
}
