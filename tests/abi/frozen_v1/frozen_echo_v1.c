/* frozen_echo_v1: a plugin built once against plugin ABI 1.0 and committed as a binary
 * (frozen_echo_v1.so, see README.md), so that every later host is tested against a plugin
 * it was not built with. Never rebuild the committed binary for a newer SDK: it stands for
 * the plugins already out there. Plain C99 and POSIX; depends on libc only.
 *
 * A line protocol on a host-owned listening socket. Every line comes back unchanged,
 * except three queries:
 *
 *   ?version   answers "frozen-echo 1.0.0 abi 1.0" (the ABI it was built with)
 *   ?count     answers the number of lines served before this one (carried across reloads)
 *   ?greeting  answers the config string "greeting" ("hello" when absent)
 *
 * Config (optional): listen (default "127.0.0.1:0", any port), greeting.
 * Metrics: port (gauge), lines (counter).
 *
 * One worker thread polls a wake-up pipe and the accepted sockets; drain() and stop() join
 * it. drain() keeps the sockets, so start() resumes; stop() closes them. The exported state
 * is the line count, 8 bytes little-endian. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "post/sdk.h"

#define FROZEN_VERSION "1.0.0"
/* Connections beyond this many are closed on arrival: the table is a fixed array. */
#define MAX_CONNECTIONS 32
/* A longer line is answered in pieces of this size. */
#define MAX_LINE_BYTES 1024
#define GREETING_BYTES 256

struct connection {
  int fd;
  size_t pending; /* bytes of an unfinished line in `line` */
  char line[MAX_LINE_BYTES];
};

struct post_plugin {
  post_host* host;
  const post_host_api* api;
  post_listener_id listener;
  char greeting[GREETING_BYTES];
  int wake[2]; /* the worker polls wake[0]; a byte on wake[1] makes it look at `stopping` */

  pthread_mutex_t mu; /* guards everything below */
  struct connection conns[MAX_CONNECTIONS];
  size_t conn_count;
  uint64_t lines;
  int stopping;
  int worker_running;
  pthread_t worker;
};

static post_status fail(post_error* err, post_status code, const char* message) {
  if (err != NULL) {
    err->code = code;
    strncpy(err->message, message, POST_ERROR_MESSAGE_SIZE - 1);
    err->message[POST_ERROR_MESSAGE_SIZE - 1] = '\0';
  }
  return code;
}

static void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the peer went away; its read side sees it */
    data += n;
    size -= (size_t)n;
  }
}

static void wake_worker(post_plugin* p) {
  char byte = 1;
  ssize_t n = write(p->wake[1], &byte, 1);
  (void)n; /* a full pipe already wakes it */
}

/* Answers one complete line (without its newline). Runs on the worker. */
static void answer(post_plugin* p, int fd, const char* line, size_t size) {
  char reply[MAX_LINE_BYTES + 64];
  size_t reply_size;
  uint64_t served;
  pthread_mutex_lock(&p->mu);
  served = p->lines++;
  pthread_mutex_unlock(&p->mu);
  if (size == 8 && memcmp(line, "?version", 8) == 0) {
    reply_size = (size_t)sprintf(reply, "frozen-echo " FROZEN_VERSION " abi %d.%d\n",
                                 POST_ABI_MAJOR, POST_ABI_MINOR);
  } else if (size == 6 && memcmp(line, "?count", 6) == 0) {
    reply_size = (size_t)sprintf(reply, "%llu\n", (unsigned long long)served);
  } else if (size == 9 && memcmp(line, "?greeting", 9) == 0) {
    reply_size = (size_t)sprintf(reply, "%s\n", p->greeting);
  } else {
    memcpy(reply, line, size);
    reply[size] = '\n';
    reply_size = size + 1;
  }
  write_all(fd, reply, reply_size);
  p->api->counter_add(p->host, "lines", 1);
}

/* Reads what `c` has and answers its complete lines; returns 0 when it is closed. */
static int serve_readable(post_plugin* p, struct connection* c) {
  char buf[4096];
  ssize_t n = read(c->fd, buf, sizeof buf);
  ssize_t i;
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  for (i = 0; i < n; ++i) {
    if (buf[i] == '\n') {
      answer(p, c->fd, c->line, c->pending);
      c->pending = 0;
    } else {
      c->line[c->pending++] = buf[i];
      if (c->pending == MAX_LINE_BYTES) {
        answer(p, c->fd, c->line, c->pending);
        c->pending = 0;
      }
    }
  }
  return 1;
}

static void* worker_main(void* arg) {
  post_plugin* p = (post_plugin*)arg;
  struct pollfd fds[MAX_CONNECTIONS + 1];
  for (;;) {
    size_t count;
    size_t i;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    /* Only this thread removes connections, and new ones are appended: entries 0..count-1
     * stay where they are until this iteration ends. */
    count = p->conn_count;
    for (i = 0; i < count; ++i) {
      fds[i + 1].fd = p->conns[i].fd;
      fds[i + 1].events = POLLIN;
      fds[i + 1].revents = 0;
    }
    pthread_mutex_unlock(&p->mu);
    fds[0].fd = p->wake[0];
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    if (poll(fds, count + 1, -1) < 0 && errno != EINTR) return NULL;
    if (fds[0].revents != 0) {
      char drained[64];
      while (read(p->wake[0], drained, sizeof drained) > 0) {
      }
    }
    for (i = 0; i < count; ++i) {
      if (fds[i + 1].revents != 0 && !serve_readable(p, &p->conns[i])) {
        close(p->conns[i].fd);
        p->conns[i].fd = -1;
      }
    }
    /* Compacts the table, dropping closed connections. */
    pthread_mutex_lock(&p->mu);
    {
      size_t kept = 0;
      for (i = 0; i < p->conn_count; ++i) {
        if (p->conns[i].fd < 0) continue;
        if (kept != i) p->conns[kept] = p->conns[i];
        ++kept;
      }
      p->conn_count = kept;
    }
    pthread_mutex_unlock(&p->mu);
  }
}

/* Runs on the host's executor: adopts the connection and wakes the worker. */
static void on_accept(void* ctx, post_listener_id listener, int fd) {
  post_plugin* p = (post_plugin*)ctx;
  (void)listener;
  pthread_mutex_lock(&p->mu);
  if (p->conn_count == MAX_CONNECTIONS) {
    pthread_mutex_unlock(&p->mu);
    close(fd);
    p->api->log(p->host, POST_LOG_WARN, "frozen-echo: connection table full, closed one");
    return;
  }
  p->conns[p->conn_count].fd = fd;
  p->conns[p->conn_count].pending = 0;
  p->conn_count++;
  pthread_mutex_unlock(&p->mu);
  wake_worker(p);
}

static void join_worker(post_plugin* p) {
  pthread_mutex_lock(&p->mu);
  if (!p->worker_running) {
    pthread_mutex_unlock(&p->mu);
    return;
  }
  p->stopping = 1;
  pthread_mutex_unlock(&p->mu);
  wake_worker(p);
  pthread_join(p->worker, NULL);
  pthread_mutex_lock(&p->mu);
  p->worker_running = 0;
  p->stopping = 0;
  pthread_mutex_unlock(&p->mu);
}

/* Makes the wake-up pipe: close-on-exec and non-blocking at both ends. */
static int make_wake_pipe(int wake[2]) {
  int i;
  if (pipe(wake) != 0) return 0;
  for (i = 0; i < 2; ++i) {
    if (fcntl(wake[i], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(wake[i], F_SETFL, fcntl(wake[i], F_GETFL) | O_NONBLOCK) != 0) {
      close(wake[0]);
      close(wake[1]);
      return 0;
    }
  }
  return 1;
}

static post_status frozen_init(post_host* host, const post_host_api* api, post_plugin** out,
                               post_error* err) {
  post_plugin* p;
  char* text = NULL;
  const char* address = "127.0.0.1:0";
  uint16_t port = 0;
  post_status status;
  *out = NULL;
  if (!POST_HAS_MEMBER(post_host_api, api, scribe_anycast)) {
    return fail(err, POST_ERR_UNAVAILABLE, "host API table older than ABI 1.0");
  }
  p = (post_plugin*)calloc(1, sizeof *p);
  if (p == NULL) return fail(err, POST_ERR_FAILED, "out of memory");
  p->host = host;
  p->api = api;
  strcpy(p->greeting, "hello");
  if (!make_wake_pipe(p->wake)) {
    free(p);
    return fail(err, POST_ERR_IO, "frozen-echo: cannot make its wake-up pipe");
  }
  pthread_mutex_init(&p->mu, NULL);
  if (api->config_get_string(host, "greeting", &text, NULL) == POST_OK) {
    strncpy(p->greeting, text, GREETING_BYTES - 1);
    api->free(host, text);
    text = NULL;
  }
  status = api->config_get_string(host, "listen", &text, NULL);
  if (status == POST_OK) address = text;
  status = api->listen(host, address, on_accept, p, &p->listener, &port, err);
  api->free(host, text);
  if (status != POST_OK) {
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return status;
  }
  api->gauge_set(host, "port", (double)port);
  *out = p;
  return POST_OK;
}

static post_status frozen_start(post_plugin* p, post_error* err) {
  pthread_mutex_lock(&p->mu);
  if (p->worker_running) {
    pthread_mutex_unlock(&p->mu);
    return POST_OK;
  }
  p->stopping = 0;
  if (pthread_create(&p->worker, NULL, worker_main, p) != 0) {
    pthread_mutex_unlock(&p->mu);
    return fail(err, POST_ERR_FAILED, "frozen-echo: cannot start its thread");
  }
  p->worker_running = 1;
  pthread_mutex_unlock(&p->mu);
  p->api->log(p->host, POST_LOG_INFO, "frozen-echo " FROZEN_VERSION " serving");
  return POST_OK;
}

static post_status frozen_drain(post_plugin* p, post_error* err) {
  (void)err;
  join_worker(p);
  return POST_OK;
}

static void frozen_stop(post_plugin* p) {
  size_t i;
  join_worker(p);
  pthread_mutex_lock(&p->mu);
  for (i = 0; i < p->conn_count; ++i) close(p->conns[i].fd);
  p->conn_count = 0;
  pthread_mutex_unlock(&p->mu);
}

static post_status frozen_export(post_plugin* p, post_write_fn write_fn, void* ctx,
                                 post_error* err) {
  uint8_t bytes[8];
  uint64_t lines;
  int i;
  (void)err;
  pthread_mutex_lock(&p->mu);
  lines = p->lines;
  pthread_mutex_unlock(&p->mu);
  for (i = 0; i < 8; ++i) bytes[i] = (uint8_t)(lines >> (8 * i));
  write_fn(ctx, bytes, sizeof bytes);
  return POST_OK;
}

static post_status frozen_import(post_plugin* p, post_bytes state, post_error* err) {
  uint64_t lines = 0;
  int i;
  if (state.size != 8) return fail(err, POST_ERR_INVALID_ARGUMENT, "frozen-echo state is 8 bytes");
  for (i = 0; i < 8; ++i) lines |= (uint64_t)state.data[i] << (8 * i);
  pthread_mutex_lock(&p->mu);
  p->lines = lines;
  pthread_mutex_unlock(&p->mu);
  return POST_OK;
}

static void frozen_destroy(post_plugin* p) {
  close(p->wake[0]);
  close(p->wake[1]);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static const post_plugin_vtable kVtable = {sizeof(post_plugin_vtable),
                                           frozen_init,
                                           frozen_start,
                                           frozen_drain,
                                           frozen_stop,
                                           frozen_export,
                                           frozen_import,
                                           frozen_destroy};
static const post_plugin_descriptor kDescriptor = {sizeof(post_plugin_descriptor),
                                                   POST_ABI_MAJOR,
                                                   POST_ABI_MINOR,
                                                   "frozen-echo",
                                                   FROZEN_VERSION,
                                                   &kVtable};

POST_PLUGIN_EXPORT const post_plugin_descriptor* post_plugin_entry_v1(uint16_t major,
                                                                      uint16_t minor) {
  (void)minor;
  return major == POST_ABI_MAJOR ? &kDescriptor : NULL;
}
