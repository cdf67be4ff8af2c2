/*
 * udp_send: sends readings to 127.0.0.1:<port> with sendmmsg, at a fixed
 * datagram rate or flat out, and prints what it sent as one JSON object.
 *
 *   legacy form: each datagram is one bare float, as the original Medidor sends
 *                (`0.123`, no newline);
 *   native form: `name value [ts [seq]]` lines joined with LF, N lines per
 *                datagram (-b) or as many as fit in B bytes (-B). The timestamp
 *                is the send time from CLOCK_REALTIME in Unix seconds with
 *                microseconds, so a subscriber can measure delivery latency.
 *
 * Bounded: stops at the deadline (-t), after -n datagrams or after -N readings,
 * whichever comes first.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *USAGE =
    "usage: udp_send -p PORT [-r DATAGRAMS_PER_S (0 = flat out)] [-t SECONDS] [-n MAX_DATAGRAMS]\n"
    "                [-N MAX_READINGS] [-f legacy|native] [-b LINES_PER_DATAGRAM] [-B FILL_BYTES]\n"
    "                [-s SENSORS] [-P NAME_PREFIX] [-T (timestamp)] [-S (sender seq)] [-q SNDBUF_BYTES]\n";

#define BURST 64
#define MAX_DGRAM 65507

int main(int argc, char **argv) {
  int port = -1;
  double rate = 0, seconds = 2;
  uint64_t max_datagrams = UINT64_MAX, max_readings = UINT64_MAX;
  int native = 0, with_ts = 0, with_seq = 0;
  uint64_t lines_per = 1, fill_bytes = 0, sensors = 1, sndbuf = 0;
  const char *prefix = "s";
  int opt;
  while ((opt = getopt(argc, argv, "p:r:t:n:N:f:b:B:s:P:TSq:")) != -1) {
    switch (opt) {
      case 'p': port = (int)arg_u64(optarg, USAGE); break;
      case 'r': rate = arg_double(optarg, USAGE); break;
      case 't': seconds = arg_double(optarg, USAGE); break;
      case 'n': max_datagrams = arg_u64(optarg, USAGE); break;
      case 'N': max_readings = arg_u64(optarg, USAGE); break;
      case 'f':
        if (!strcmp(optarg, "native")) native = 1;
        else if (!strcmp(optarg, "legacy")) native = 0;
        else usage_die(USAGE);
        break;
      case 'b': lines_per = arg_u64(optarg, USAGE); break;
      case 'B': fill_bytes = arg_u64(optarg, USAGE); break;
      case 's': sensors = arg_u64(optarg, USAGE); break;
      case 'P': prefix = optarg; break;
      case 'T': with_ts = 1; break;
      case 'S': with_seq = 1; break;
      case 'q': sndbuf = arg_u64(optarg, USAGE); break;
      default: usage_die(USAGE);
    }
  }
  if (port <= 0 || port > 65535 || seconds <= 0 || seconds > 3600 || rate < 0 || lines_per < 1 || sensors < 1 ||
      sensors > 1000000 || fill_bytes > MAX_DGRAM || strlen(prefix) > 100)
    usage_die(USAGE);
  if (!native && (lines_per != 1 || fill_bytes)) usage_die(USAGE);

  /* Sensor names, formatted once. */
  char **names = calloc(sensors, sizeof *names);
  size_t *name_len = calloc(sensors, sizeof *name_len);
  uint64_t *seqs = calloc(sensors, sizeof *seqs);
  if (!names || !name_len || !seqs) die("calloc");
  for (uint64_t i = 0; i < sensors; i++) {
    char tmp[128];
    int n = sensors == 1 ? snprintf(tmp, sizeof tmp, "%s", prefix) : snprintf(tmp, sizeof tmp, "%s%llu", prefix, (unsigned long long)i);
    names[i] = strdup(tmp);
    name_len[i] = (size_t)n;
  }

  prctl(PR_SET_TIMERSLACK, 1UL); /* short sleeps must be short: the default slack is 50 us */
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(int)) < 0) die("SO_SNDBUF");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, LOOPBACK, &addr.sin_addr);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");

  size_t cap = fill_bytes ? fill_bytes : (native ? lines_per * 180 : 32);
  if (cap > MAX_DGRAM) cap = MAX_DGRAM;
  char *bufs = malloc(BURST * cap);
  if (!bufs) die("malloc");
  struct mmsghdr msgs[BURST];
  struct iovec iov[BURST];
  uint32_t msg_lines[BURST];
  memset(msgs, 0, sizeof msgs);

  uint64_t datagrams = 0, readings = 0, bytes = 0, errors = 0, value_k = 0, sensor_i = 0, bursts = 0;
  int first_errno = 0;
  uint64_t start = mono_ns(), start_real = real_ns();
  uint64_t deadline = start + (uint64_t)(seconds * 1e9);
  double ns_per_dgram = rate > 0 ? 1e9 / rate : 0;

  for (;;) {
    uint64_t now = mono_ns();
    if (now >= deadline || datagrams >= max_datagrams || readings >= max_readings) break;
    uint64_t want = BURST;
    if (rate > 0) {
      uint64_t due = (uint64_t)((double)(now - start) / ns_per_dgram) + 1;
      if (due <= datagrams) {
        uint64_t next = start + (uint64_t)((double)datagrams * ns_per_dgram);
        uint64_t wait = next > now ? next - now : 0;
        /* Never spin: sleep at least 50 us and send what fell due meanwhile as one burst
           (at 200k/s about 10 datagrams, far below any receive buffer). */
        if (wait < 50000) wait = 50000;
        if (wait > 1000000) wait = 1000000;
        sleep_ns(wait);
        continue;
      }
      want = due - datagrams;
      if (want > BURST) want = BURST;
    }
    if (want > max_datagrams - datagrams) want = max_datagrams - datagrams;

    /* One timestamp per burst: a burst takes a few microseconds. */
    char ts[40];
    int ts_len = 0;
    if (with_ts) {
      uint64_t r = real_ns();
      ts_len = u64toa(r / 1000000000ull, ts);
      ts[ts_len++] = '.';
      uint64_t us = (r % 1000000000ull) / 1000;
      for (int d = 5; d >= 0; d--) {
        ts[ts_len + d] = (char)('0' + us % 10);
        us /= 10;
      }
      ts_len += 6;
    } else if (with_seq) {
      memcpy(ts, "-1", 2);
      ts_len = 2;
    }

    uint64_t n = 0, burst_readings = 0;
    for (; n < want; n++) {
      char *p = bufs + n * cap;
      size_t len = 0;
      uint32_t lines = 0;
      if (!native) {
        /* A sawtooth in [0, 1): 0.123 */
        uint64_t v = value_k++ % 1000;
        p[0] = '0';
        p[1] = '.';
        p[2] = (char)('0' + v / 100);
        p[3] = (char)('0' + v / 10 % 10);
        p[4] = (char)('0' + v % 10);
        len = 5;
        lines = 1;
      } else {
        while (readings + burst_readings + lines < max_readings) {
          char line[256];
          size_t l = 0;
          uint64_t s = sensor_i;
          memcpy(line, names[s], name_len[s]);
          l = name_len[s];
          uint64_t v = value_k % 1000;
          line[l++] = ' ';
          line[l++] = '0';
          line[l++] = '.';
          line[l++] = (char)('0' + v / 100);
          line[l++] = (char)('0' + v / 10 % 10);
          line[l++] = (char)('0' + v % 10);
          if (ts_len) {
            line[l++] = ' ';
            memcpy(line + l, ts, (size_t)ts_len);
            l += (size_t)ts_len;
          }
          if (with_seq) {
            line[l++] = ' ';
            l += (size_t)u64toa(seqs[s] + 1, line + l);
          }
          size_t need = (lines ? 1 : 0) + l;
          if (fill_bytes ? len + need > cap : lines >= lines_per) break;
          if (len + need > cap) break;
          if (lines) p[len++] = '\n';
          memcpy(p + len, line, l);
          len += l;
          lines++;
          value_k++;
          seqs[s]++;
          sensor_i = (sensor_i + 1) % sensors;
        }
        if (lines == 0) break;
      }
      iov[n].iov_base = p;
      iov[n].iov_len = len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      msg_lines[n] = lines;
      burst_readings += lines;
    }
    if (n == 0) break;

    int sent = sendmmsg(fd, msgs, (unsigned)n, 0);
    bursts++;
    if (sent < 0) {
      if (errno == EINTR) continue;
      /* ECONNREFUSED: nobody on the port yet (ICMP); ENOBUFS/EAGAIN: local congestion. Counted, never fatal. */
      if (!first_errno) first_errno = errno;
      errors++;
      if (errors > 1000000) break;
      continue;
    }
    for (int i = 0; i < sent; i++) {
      readings += msg_lines[i];
      bytes += iov[i].iov_len;
    }
    datagrams += (uint64_t)sent;
    /* Lines built but not sent (short sendmmsg) were counted in seqs; resend is not attempted: they count as not sent. */
    for (uint64_t i = (uint64_t)sent; i < n; i++) errors++;
  }
  uint64_t end = mono_ns(), end_real = real_ns();
  double elapsed = (double)(end - start) / 1e9;
  printf("{\"datagrams\":%llu,\"readings\":%llu,\"bytes\":%llu,\"elapsed_s\":%.6f,\"datagrams_per_s\":%.1f,"
         "\"readings_per_s\":%.1f,\"target_rate\":%.1f,\"errors\":%llu,\"first_errno\":\"%s\",\"bursts\":%llu,"
         "\"start_real_ms\":%.3f,\"end_real_ms\":%.3f,",
         (unsigned long long)datagrams, (unsigned long long)readings, (unsigned long long)bytes, elapsed,
         datagrams / elapsed, readings / elapsed, rate, (unsigned long long)errors,
         first_errno ? strerror(first_errno) : "", (unsigned long long)bursts, start_real / 1e6, end_real / 1e6);
  rusage_print_json();
  printf("}\n");
  close(fd);
  return 0;
}
