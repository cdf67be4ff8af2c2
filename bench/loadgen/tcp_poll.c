/*
 * tcp_poll: polls 127.0.0.1:<port> with the legacy `n` request and measures
 * requests per second and round-trip latency (p50/p99/p999).
 *
 *   pipelined (default): C connections, each keeping K `n` requests in flight;
 *       when replies arrive, as many new `n` bytes go out in one write;
 *   connect-per-poll (-C): C concurrent clients that each connect, send `n`,
 *       read one line and close, then start over, as the original lector does.
 *       Latency is then connect + request + reply.
 *
 * Requests sent during the warm-up (-w) are not counted. Bounded by the
 * deadline (-t) and by -n completed requests. With -e, every reply line is
 * compared with the expected text and mismatches are counted.
 */
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *USAGE =
    "usage: tcp_poll -p PORT [-c CONNECTIONS] [-k PIPELINE_DEPTH] [-t SECONDS] [-w WARMUP_SECONDS]\n"
    "                [-n MAX_REQUESTS] [-C (connect per poll)] [-e EXPECTED_REPLY]\n";

typedef struct {
  int fd;
  int alive;
  uint64_t *sent_at; /* ring of send times of the requests in flight */
  uint32_t head, inflight;
  uint64_t started; /* connect-per-poll: when the connect began */
  int connected;
  char line[64];
  uint32_t line_len;
} conn_t;

static struct sockaddr_in server;
static int epfd;
static const char *expected;
static size_t expected_len;
static uint64_t bad_replies, errors, connects;
static int first_errno;

static void note_error(int e) {
  errors++;
  if (!first_errno) first_errno = e;
}

/* Feeds reply bytes through the line checker; returns completed lines. */
static uint32_t take_lines(conn_t *c, const char *buf, ssize_t n) {
  uint32_t done = 0;
  for (ssize_t i = 0; i < n; i++) {
    char ch = buf[i];
    if (ch == '\n') {
      done++;
      if (expected && (c->line_len != expected_len || memcmp(c->line, expected, expected_len) != 0)) bad_replies++;
      c->line_len = 0;
    } else if (c->line_len < sizeof c->line) {
      c->line[c->line_len++] = ch;
    }
  }
  return done;
}

static int open_connect(conn_t *c, uint32_t idx) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    note_error(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->started = mono_ns();
  c->connected = 0;
  c->line_len = 0;
  if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
    note_error(errno);
    close(fd);
    c->fd = -1;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = idx};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  return 0;
}

int main(int argc, char **argv) {
  int port = -1, per_poll = 0;
  uint64_t nconn = 1, depth = 1, max_requests = UINT64_MAX;
  double seconds = 2, warmup = 0;
  int opt;
  while ((opt = getopt(argc, argv, "p:c:k:t:w:n:Ce:")) != -1) {
    switch (opt) {
      case 'p': port = (int)arg_u64(optarg, USAGE); break;
      case 'c': nconn = arg_u64(optarg, USAGE); break;
      case 'k': depth = arg_u64(optarg, USAGE); break;
      case 't': seconds = arg_double(optarg, USAGE); break;
      case 'w': warmup = arg_double(optarg, USAGE); break;
      case 'n': max_requests = arg_u64(optarg, USAGE); break;
      case 'C': per_poll = 1; break;
      case 'e': expected = optarg; expected_len = strlen(optarg); break;
      default: usage_die(USAGE);
    }
  }
  if (port <= 0 || port > 65535 || nconn < 1 || nconn > 10000 || depth < 1 || depth > 4096 || seconds <= 0 ||
      seconds > 3600 || warmup < 0 || warmup > 60 || (per_poll && depth != 1))
    usage_die(USAGE);

  server.sin_family = AF_INET;
  server.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, LOOPBACK, &server.sin_addr);
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");

  conn_t *conns = calloc(nconn, sizeof *conns);
  if (!conns) die("calloc");
  static char sendbuf[4096];
  memset(sendbuf, 'n', sizeof sendbuf);

  uint64_t t0 = mono_ns();
  uint64_t measure_from = t0 + (uint64_t)(warmup * 1e9);
  uint64_t deadline = measure_from + (uint64_t)(seconds * 1e9);

  uint64_t alive = 0;
  for (uint32_t i = 0; i < nconn; i++) {
    conn_t *c = &conns[i];
    c->sent_at = calloc(depth, sizeof(uint64_t));
    if (!c->sent_at) die("calloc");
    if (per_poll) {
      if (open_connect(c, i) == 0) alive++;
      continue;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) die("connect");
    connects++;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    c->fd = fd;
    c->alive = 1;
    alive++;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  /* Pipelined: every connection sends its first K requests in one write. */
  if (!per_poll) {
    uint64_t now = mono_ns();
    for (uint32_t i = 0; i < nconn; i++) {
      conn_t *c = &conns[i];
      ssize_t w = write(c->fd, sendbuf, depth);
      if (w < 0) die("write");
      for (ssize_t j = 0; j < w; j++) c->sent_at[(c->head + c->inflight++) % depth] = now;
    }
  }

  static hist_t hist;
  hist_init(&hist);
  uint64_t completed = 0, consecutive_errors = 0;
  int measuring = 0;
  static char buf[65536];
  struct epoll_event events[256];

  while (alive > 0 && completed < max_requests) {
    uint64_t now = mono_ns();
    if (now >= deadline) break;
    if (!measuring && now >= measure_from) {
      measuring = 1;
      hist_init(&hist);
      completed = 0;
      errors = 0;
      bad_replies = 0;
      connects = 0;
    }
    int n = epoll_wait(epfd, events, 256, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      uint32_t idx = events[e].data.u32;
      conn_t *c = &conns[idx];
      if (c->fd < 0) continue;
      if (per_poll) {
        if (!c->connected) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == 0 && write(c->fd, "n", 1) != 1) err = errno ? errno : EIO;
          if (err) {
            note_error(err);
            close(c->fd);
            c->fd = -1;
            if (++consecutive_errors > 1000) alive = 0; /* the server is gone: stop */
            else {
              sleep_ns(100000);
              if (open_connect(c, idx) < 0) alive--;
            }
            continue;
          }
          c->connected = 1;
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = idx};
          epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
          continue;
        }
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        uint32_t got = r > 0 ? take_lines(c, buf, r) : 0;
        if (got == 0 && r > 0) continue; /* partial line: wait for the rest */
        close(c->fd);
        c->fd = -1;
        if (got == 0) {
          note_error(r < 0 ? errno : ECONNRESET);
          if (++consecutive_errors > 1000) {
            alive = 0;
            continue;
          }
        } else {
          consecutive_errors = 0;
          uint64_t done_at = mono_ns();
          if (measuring) hist_record(&hist, done_at - c->started);
          completed++;
          connects++;
        }
        if (open_connect(c, idx) < 0) alive--;
        continue;
      }

      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        note_error(r < 0 ? errno : ECONNRESET);
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        alive--;
        continue;
      }
      uint32_t got = take_lines(c, buf, r);
      uint64_t done_at = mono_ns();
      for (uint32_t j = 0; j < got && c->inflight > 0; j++) {
        if (measuring) hist_record(&hist, done_at - c->sent_at[c->head]);
        c->head = (c->head + 1) % depth;
        c->inflight--;
      }
      completed += got;
      if (done_at >= deadline) continue;
      uint64_t refill = depth - c->inflight;
      if (refill > sizeof sendbuf) refill = sizeof sendbuf;
      if (refill) {
        ssize_t w = write(c->fd, sendbuf, refill);
        if (w < 0 && errno != EAGAIN) note_error(errno);
        for (ssize_t j = 0; j < w; j++) c->sent_at[(c->head + c->inflight++) % depth] = done_at;
      }
    }
  }
  uint64_t end = mono_ns();
  if (!measuring) measure_from = end;
  double elapsed = (double)(end - measure_from) / 1e9;
  printf("{\"mode\":\"%s\",\"connections\":%llu,\"depth\":%llu,\"requests\":%llu,\"elapsed_s\":%.6f,"
         "\"requests_per_s\":%.1f,\"connects\":%llu,\"errors\":%llu,\"first_errno\":\"%s\",\"bad_replies\":%llu,",
         per_poll ? "connect-per-poll" : "pipelined", (unsigned long long)nconn, (unsigned long long)depth,
         (unsigned long long)completed, elapsed, elapsed > 0 ? completed / elapsed : 0.0, (unsigned long long)connects,
         (unsigned long long)errors, first_errno ? strerror(first_errno) : "", (unsigned long long)bad_replies);
  hist_print_json(&hist, "");
  printf(",");
  rusage_print_json();
  printf("}\n");
  return 0;
}
