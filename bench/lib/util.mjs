// Small helpers shared by the harness: statistics, number formatting, bounded waits.
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

export { delay };

/** Median of the finite numbers in `values` (NaN when there are none). */
export function median(values) {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** `{ median, min, max, runs }` of the finite numbers in `values`. */
export function summarize(values) {
  const xs = values.filter(Number.isFinite);
  return {
    median: median(xs),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
    runs: values,
  };
}

/** 1234567 → "1.23M", 45678 → "45.7k", 12.3 → "12.3". */
export function si(value) {
  if (!Number.isFinite(value)) return 'n/a';
  const a = Math.abs(Number(value.toPrecision(3))); // 999.96 rounds to 1.00k, not 1000
  if (a >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  return value.toPrecision(3);
}

/** Bytes as MiB with one decimal. */
export function mib(bytes) {
  return Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : 'n/a';
}

/** Microseconds, printed with a unit that keeps 3 significant digits. */
export function micros(us) {
  if (!Number.isFinite(us)) return 'n/a';
  if (us >= 1000) return `${(us / 1000).toPrecision(3)} ms`;
  return `${us.toPrecision(3)} µs`;
}

export function percent(x) {
  return Number.isFinite(x) ? `${x < 0.01 && x > 0 ? x.toExponential(1) : x.toFixed(2)}%` : 'n/a';
}

/** "median [min–max]" with a formatter. */
export function spread(s, fmt = si) {
  if (!Number.isFinite(s.median)) return 'n/a';
  if (s.runs.length < 2) return fmt(s.median);
  return `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`;
}

/** Ratio a/b printed as ×1.23, or n/a. */
export function ratio(a, b) {
  const r = a / b;
  return Number.isFinite(r) ? `×${r.toFixed(2)}` : 'n/a';
}

/**
 * Polls `check` every `intervalMs` until it returns a truthy value or
 * `timeoutMs` passes; returns the last value (falsy on timeout).
 */
export async function poll(check, { timeoutMs, intervalMs = 20 }) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() >= deadline) return value;
    await delay(intervalMs);
  }
}

/** Rotates `items` by `k` places: interleaves the order of servers across repeats. */
export function rotate(items, k) {
  if (items.length === 0) return items;
  const s = k % items.length;
  return [...items.slice(s), ...items.slice(0, s)];
}
