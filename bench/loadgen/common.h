/*
 * Shared helpers for the load generators: clocks, a log-linear latency
 * histogram, fast integer formatting and option parsing.
 *
 * Every generator talks to 127.0.0.1 only (there is no host option on
 * purpose) and every loop is bounded by a count and by a deadline.
 */
#ifndef OPC_BENCH_COMMON_H
#define OPC_BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define LOOPBACK "127.0.0.1"

static inline uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
  nanosleep(&ts, NULL);
}

static inline void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static inline void usage_die(const char *usage) {
  fputs(usage, stderr);
  exit(2);
}

static inline double arg_double(const char *s, const char *usage) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end) usage_die(usage);
  return v;
}

static inline uint64_t arg_u64(const char *s, const char *usage) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') usage_die(usage);
  return (uint64_t)v;
}

/* Writes v in decimal at p; returns the number of bytes written. */
static inline int u64toa(uint64_t v, char *p) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (int i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
  return n;
}

/*
 * Log-linear histogram of nanosecond values: exact below 128, then 64
 * sub-buckets per power of two (worst-case error 1/128 of the value).
 * Fixed size, no allocation while recording.
 */
#define H_SUB 64
#define H_BUCKETS (2 * H_SUB + 58 * H_SUB)

typedef struct {
  uint64_t counts[H_BUCKETS];
  uint64_t total;
  uint64_t max;
  uint64_t min;
  double sum;
} hist_t;

static inline void hist_init(hist_t *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

static inline int hist_index(uint64_t v) {
  if (v < 2 * H_SUB) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - 6; /* v >> shift is in [64, 128) */
  int idx = 2 * H_SUB + (shift - 1) * H_SUB + (int)((v >> shift) - H_SUB);
  return idx < H_BUCKETS ? idx : H_BUCKETS - 1;
}

static inline uint64_t hist_value(int idx) {
  if (idx < 2 * H_SUB) return (uint64_t)idx;
  int shift = (idx - 2 * H_SUB) / H_SUB + 1;
  uint64_t sub = (uint64_t)((idx - 2 * H_SUB) % H_SUB + H_SUB);
  return (sub << shift) + ((1ull << shift) >> 1);
}

static inline void hist_record(hist_t *h, uint64_t v) {
  h->counts[hist_index(v)]++;
  h->total++;
  h->sum += (double)v;
  if (v > h->max) h->max = v;
  if (v < h->min) h->min = v;
}

static inline void hist_merge(hist_t *into, const hist_t *from) {
  for (int i = 0; i < H_BUCKETS; i++) into->counts[i] += from->counts[i];
  into->total += from->total;
  into->sum += from->sum;
  if (from->max > into->max) into->max = from->max;
  if (from->min < into->min) into->min = from->min;
}

/* The value at quantile q (0..1), in nanoseconds; 0 when empty. */
static inline uint64_t hist_quantile(const hist_t *h, double q) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > h->total) rank = h->total;
  uint64_t seen = 0;
  for (int i = 0; i < H_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      uint64_t v = hist_value(i);
      if (v > h->max) v = h->max;
      if (v < h->min) v = h->min;
      return v;
    }
  }
  return h->max;
}

/* Prints the latency summary as JSON members (microseconds), no braces. */
static inline void hist_print_json(const hist_t *h, const char *prefix) {
  printf("\"%ssamples\":%llu,\"%sp50_us\":%.3f,\"%sp90_us\":%.3f,\"%sp99_us\":%.3f,\"%sp999_us\":%.3f,\"%smax_us\":%.3f,"
         "\"%smean_us\":%.3f",
         prefix, (unsigned long long)h->total, prefix, hist_quantile(h, 0.50) / 1e3, prefix,
         hist_quantile(h, 0.90) / 1e3, prefix, hist_quantile(h, 0.99) / 1e3, prefix, hist_quantile(h, 0.999) / 1e3,
         prefix, h->total ? h->max / 1e3 : 0.0, prefix, h->total ? h->sum / (double)h->total / 1e3 : 0.0);
}

/* This process's CPU time so far (user + system), as JSON members, no braces. */
static inline void rusage_print_json(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

#endif
