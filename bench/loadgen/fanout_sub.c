/*
 * fanout_sub: opens C subscriber connections to 127.0.0.1:<port>, sends
 * `SUB <pattern> 0` on each, waits for every `OK SUB`, prints `ready` on
 * stdout, then reads `PUB <name> <value> <ts> <seq>` lines and counts them.
 *
 * Delivery latency is CLOCK_REALTIME at receipt minus the reading's timestamp
 * (the sender wrote its own send time there), so sender, server and
 * subscribers must share the machine's clock. Seq jumps on a connection are
 * readings that subscriber missed.
 *
 * Ends when every connection has seen -e pushes, or -i ms after the last push
 * once pushes have started, or at the deadline (-t), whichever comes first.
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
    "usage: fanout_sub -p PORT -P PATTERN [-c SUBSCRIBERS] [-t MAX_SECONDS] [-e EXPECTED_PER_SUBSCRIBER]\n"
    "                  [-i IDLE_MS]\n";

#define CONN_BUF 65536

typedef struct {
  int fd;
  char *buf;
  size_t len;
  uint64_t received;
  uint64_t last_seq;
  uint64_t gaps;
  int subscribed;
  int open;
} sub_t;

int main(int argc, char **argv) {
  int port = -1;
  const char *pattern = NULL;
  uint64_t nsub = 1, expected = UINT64_MAX;
  double seconds = 10, idle_ms = 1000;
  int opt;
  while ((opt = getopt(argc, argv, "p:P:c:t:e:i:")) != -1) {
    switch (opt) {
      case 'p': port = (int)arg_u64(optarg, USAGE); break;
      case 'P': pattern = optarg; break;
      case 'c': nsub = arg_u64(optarg, USAGE); break;
      case 't': seconds = arg_double(optarg, USAGE); break;
      case 'e': expected = arg_u64(optarg, USAGE); break;
      case 'i': idle_ms = arg_double(optarg, USAGE); break;
      default: usage_die(USAGE);
    }
  }
  if (port <= 0 || port > 65535 || !pattern || strlen(pattern) > 128 || nsub < 1 || nsub > 10000 || seconds <= 0 ||
      seconds > 3600 || idle_ms <= 0)
    usage_die(USAGE);

  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, LOOPBACK, &server.sin_addr);
  int epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  sub_t *subs = calloc(nsub, sizeof *subs);
  if (!subs) die("calloc");

  char cmd[160];
  int cmd_len = snprintf(cmd, sizeof cmd, "SUB %s 0\n", pattern);
  uint64_t t0 = mono_ns();
  uint64_t deadline = t0 + (uint64_t)(seconds * 1e9);
  for (uint32_t i = 0; i < nsub; i++) {
    sub_t *s = &subs[i];
    s->buf = malloc(CONN_BUF);
    if (!s->buf) die("malloc");
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0) die("socket");
    if (connect(s->fd, (struct sockaddr *)&server, sizeof server) < 0) die("connect");
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (write(s->fd, cmd, (size_t)cmd_len) != cmd_len) die("write");
    fcntl(s->fd, F_SETFL, O_NONBLOCK);
    s->open = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) die("epoll_ctl");
  }

  static hist_t hist;
  hist_init(&hist);
  uint64_t subscribed = 0, open = nsub, done_subs = 0, bad_lines = 0, err_lines = 0, total = 0, gaps = 0;
  uint64_t first_at = 0, last_at = 0, closed_by_server = 0;
  int ready_printed = 0;
  char first_err[160] = "";
  struct epoll_event events[256];

  while (open > 0) {
    uint64_t now = mono_ns();
    if (now >= deadline) break;
    if (expected != UINT64_MAX && done_subs >= nsub) break;
    if (last_at && now - last_at > (uint64_t)(idle_ms * 1e6)) break;
    if (!ready_printed && subscribed == nsub) {
      printf("ready\n");
      fflush(stdout);
      ready_printed = 1;
    }
    int n = epoll_wait(epfd, events, 256, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      sub_t *s = &subs[events[e].data.u32];
      if (!s->open) continue;
      ssize_t r = read(s->fd, s->buf + s->len, CONN_BUF - s->len);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        closed_by_server++;
        close(s->fd);
        s->open = 0;
        open--;
        continue;
      }
      s->len += (size_t)r;
      uint64_t recv_real = real_ns();
      uint64_t recv_mono = mono_ns();
      char *p = s->buf, *end = s->buf + s->len;
      for (;;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        *nl = 0;
        if (p[0] == 'P' && p[1] == 'U' && p[2] == 'B' && p[3] == ' ') {
          /* PUB <name> <value> <ts> <seq> */
          char *f = p + 4;
          f = strchr(f, ' ');
          char *ts = f ? strchr(f + 1, ' ') : NULL;
          char *seq = ts ? strchr(ts + 1, ' ') : NULL;
          if (!seq) {
            bad_lines++;
          } else {
            double ts_ms = strtod(ts + 1, NULL);
            uint64_t sq = strtoull(seq + 1, NULL, 10);
            double lat_ns = (double)recv_real - ts_ms * 1e6;
            hist_record(&hist, lat_ns > 0 ? (uint64_t)lat_ns : 0);
            if (s->received && sq > s->last_seq + 1) s->gaps += sq - s->last_seq - 1;
            s->last_seq = sq;
            s->received++;
            total++;
            if (s->received == expected) done_subs++;
            if (!first_at) first_at = recv_mono;
            last_at = recv_mono;
          }
        } else if (!strncmp(p, "OK SUB", 6)) {
          if (!s->subscribed) {
            s->subscribed = 1;
            subscribed++;
          }
        } else if (!strncmp(p, "ERR", 3)) {
          err_lines++;
          if (!first_err[0]) snprintf(first_err, sizeof first_err, "%s", p);
        } else {
          bad_lines++;
        }
        p = nl + 1;
      }
      s->len = (size_t)(end - p);
      if (s->len == CONN_BUF) {
        bad_lines++; /* a line longer than the buffer: drop it */
        s->len = 0;
      } else if (s->len) {
        memmove(s->buf, p, s->len);
      }
    }
  }
  for (uint32_t i = 0; i < nsub; i++) gaps += subs[i].gaps;
  double window = first_at && last_at > first_at ? (double)(last_at - first_at) / 1e9 : 0;
  for (char *q = first_err; *q; q++)
    if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) *q = '?';
  printf("{\"subscribers\":%llu,\"subscribed\":%llu,\"received\":%llu,\"expected_per_subscriber\":%lld,"
         "\"gaps\":%llu,\"window_s\":%.6f,\"pushes_per_s\":%.1f,\"bad_lines\":%llu,\"err_lines\":%llu,"
         "\"first_err\":\"%s\",\"closed_by_server\":%llu,",
         (unsigned long long)nsub, (unsigned long long)subscribed, (unsigned long long)total,
         expected == UINT64_MAX ? -1LL : (long long)expected, (unsigned long long)gaps, window,
         window > 0 ? total / window : 0.0, (unsigned long long)bad_lines, (unsigned long long)err_lines, first_err,
         (unsigned long long)closed_by_server);
  hist_print_json(&hist, "latency_");
  printf(",");
  rusage_print_json();
  printf("}\n");
  return 0;
}
